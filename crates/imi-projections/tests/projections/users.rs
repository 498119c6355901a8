//! The users of each authority: roles, LDA flag, activity, password resets, sealed identities.

use crate::directory::{assert_rebuild_equals_incremental, build};
use crate::scene::{dump_schema, Scene, SECRETS};
use imi_domain::authority::{AuthorityEvent, UserRole};
use imi_projections::users::{self, AuthorityUsers, UserEntry, UserQuery};
use imi_store::sealing::Opened;
use std::collections::{BTreeMap, BTreeSet};

fn ids(users: &[UserEntry]) -> Vec<&str> {
    users.iter().map(|u| u.user_id.as_str()).collect()
}

async fn list(pool: &sqlx::PgPool, authority: &str, q: UserQuery) -> Vec<String> {
    let q = UserQuery { limit: 50, ..q };
    let found = users::of_authority(pool, authority, &q).await.unwrap();
    ids(&found).into_iter().map(String::from).collect()
}

#[tokio::test]
async fn a_rebuilt_users_projection_equals_the_incrementally_built_one() {
    let scene = Scene::full().await;
    assert_rebuild_equals_incremental(&scene.pool, &AuthorityUsers).await;
}

#[tokio::test]
async fn users_carry_roles_lda_activity_and_password_resets() {
    let scene = Scene::full().await;
    build(&scene.pool, &AuthorityUsers).await;
    let pool = &scene.pool;

    let handler = users::get(pool, "blaek", "blaek-handler")
        .await
        .unwrap()
        .unwrap();
    assert!(!handler.local_data_administrator);
    assert!(!handler.active);
    assert_eq!(
        handler.roles,
        BTreeMap::from([("PQ".to_string(), BTreeSet::from([UserRole::RequestHandler]))])
    );
    assert!(handler.has_role("PQ", UserRole::RequestHandler));
    assert_eq!(handler.password_resets, 2);
    assert_eq!(
        handler.last_password_reset_by_user.as_deref(),
        Some("blaek-lda")
    );
    assert_eq!(
        handler.last_password_reset_by_authority.as_deref(),
        Some("blaek")
    );
    assert!(handler.last_password_reset_at.is_some());
    assert!(handler.updated_at > handler.registered_at);

    let lda = users::get(pool, "blaek", "blaek-lda")
        .await
        .unwrap()
        .unwrap();
    assert!(lda.local_data_administrator && lda.active);
    assert!(lda.roles.is_empty());
    assert_eq!(lda.password_resets, 1);
    assert_eq!(lda.last_password_reset_by_user.as_deref(), Some("zab-lda"));
    assert_eq!(lda.last_password_reset_by_authority.as_deref(), Some("zab"));

    // Lists and filters.
    assert_eq!(
        list(pool, "blaek", UserQuery::default()).await,
        ["blaek-handler", "blaek-lda"]
    );
    let active = UserQuery {
        active_only: true,
        ..Default::default()
    };
    assert_eq!(list(pool, "blaek", active).await, ["blaek-lda"]);
    let ldas = UserQuery {
        local_data_administrators_only: true,
        ..Default::default()
    };
    assert_eq!(list(pool, "blaek", ldas).await, ["blaek-lda"]);
    let handlers = UserQuery {
        area: Some("PQ".into()),
        role: Some(UserRole::RequestHandler),
        ..Default::default()
    };
    assert_eq!(list(pool, "blaek", handlers).await, ["blaek-handler"]);
    let revoked = UserQuery {
        role: Some(UserRole::Allocator),
        ..Default::default()
    };
    assert!(list(pool, "blaek", revoked).await.is_empty());
    let page = UserQuery {
        after: Some("blaek-handler".into()),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(list(pool, "blaek", page).await, ["blaek-lda"]);

    // The validating coordinator's data administrators, who manage blaek's LDAs.
    let das = users::data_administrators(pool, "zab", "PQ", None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&das), ["zab-lda"]);
    let nimic_das = users::data_administrators(pool, "nimic-de", "SD", None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&nimic_das), ["de-lda"]);
    assert!(users::data_administrators(pool, "blaek", "PQ", None, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn identities_stay_sealed_as_the_events_carry_them() {
    let scene = Scene::full().await;
    build(&scene.pool, &AuthorityUsers).await;
    // No clear personal data anywhere in the projection.
    for (table, rows) in dump_schema(&scene.pool, "authority_users").await {
        for row in rows {
            for secret in SECRETS {
                assert!(!row.contains(secret), "{table}: {row}");
            }
        }
    }
    // Each identity is the event's, byte for byte, and opens with the key ring.
    let events: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT payload FROM events WHERE event_type = 'UserRegistered' ORDER BY position",
    )
    .fetch_all(&scene.pool)
    .await
    .unwrap();
    assert_eq!(events.len(), 6);
    let (authorities, registered): (Vec<String>, Vec<AuthorityEvent>) = {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT aggregate_id FROM events WHERE event_type = 'UserRegistered' ORDER BY position",
        )
        .fetch_all(&scene.pool)
        .await
        .unwrap();
        let events = events
            .into_iter()
            .map(|p| serde_json::from_value(p).unwrap())
            .collect();
        (ids, events)
    };
    for (authority, event) in authorities.iter().zip(registered) {
        let AuthorityEvent::UserRegistered {
            user_id, identity, ..
        } = event
        else {
            unreachable!()
        };
        let user = users::get(&scene.pool, authority, &user_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user.identity, identity);
        let opened: Opened<serde_json::Value> = scene.keys.open(&user.identity).await.unwrap();
        let Opened::Value(clear) = opened else {
            panic!("not erased")
        };
        assert_eq!(clear["login"], user_id.as_str());
    }
    // Erasing a user's key erases their identity here too, without touching the projection.
    scene
        .keys
        .erase("User/blaek-handler", "test", "data subject's request")
        .await
        .unwrap();
    let handler = users::get(&scene.pool, "blaek", "blaek-handler")
        .await
        .unwrap()
        .unwrap();
    let opened: Opened<serde_json::Value> = scene.keys.open(&handler.identity).await.unwrap();
    assert!(opened.is_erased());
}
