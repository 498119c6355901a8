//! The processing log's record of personal data written: one entry per exchange for each
//! command that wrote some, in the very transaction of its events; none for a command refused,
//! nor for a retry answered from its first run.

use crate::support::{read_models, start, Scene};
use imi_app::caller::Caller;
use imi_domain::authority::{user_key_id, AuthorityCommand, NewUser};
use serde_json::json;

async fn register(scene: &Scene, by: &Caller, authority: &str, user_id: &str) -> bool {
    let identity = scene
        .app
        .seal(
            &user_key_id(user_id),
            &json!({ "name": "Erika Mustermann" }),
        )
        .await
        .expect("seal");
    let command = AuthorityCommand::RegisterUser {
        user: NewUser {
            user_id: user_id.to_string(),
            identity,
        },
        local_data_administrator: false,
    };
    scene
        .app
        .execute(by, authority, command, &read_models())
        .await
        .is_ok()
}

/// The write entries of `exchange`: operation, fields, acting user and authority, and whether
/// the entry was written in the transaction of the registration's event (`now()` is the
/// transaction's start: an entry of a later transaction would hold a later time).
async fn writes(
    scene: &Scene,
    exchange: &str,
    authority: &str,
) -> Vec<(String, Vec<String>, String, String, bool)> {
    sqlx::query_as(
        "SELECT l.operation, l.fields, l.acting_user, l.acting_authority,
                EXISTS (SELECT 1 FROM events e
                         WHERE e.aggregate_type = 'Authority' AND e.aggregate_id = $2
                           AND e.event_type = 'UserRegistered' AND e.recorded_at = l.at)
           FROM processing_log l
          WHERE l.exchange = $1 AND l.kind = 'write'
          ORDER BY l.id",
    )
    .bind(exchange)
    .bind(authority)
    .fetch_all(&scene.app.pool)
    .await
    .expect("processing log")
}

#[tokio::test]
async fn a_write_is_recorded_with_its_events_once_and_a_refusal_not_at_all() {
    let scene = start().await;
    let de = scene.nimic("DE").await;
    let fr = scene.nimic("FR").await;
    let (de_user, de_authority) = de.user_ids().expect("a user");
    let (de_user, de_authority) = (de_user.to_string(), de_authority.to_string());
    let user = uuid::Uuid::now_v7().to_string();
    let exchange = user_key_id(&user);

    // Written: one entry, by the administrator, in the events' transaction.
    let retried = de
        .clone()
        .with_idempotency_key(Some("register-erika".into()));
    assert!(register(&scene, &retried, &de_authority, &user).await);
    let expected = vec![(
        "Authority.RegisterUser".to_string(),
        vec!["user.identity".to_string()],
        format!("user:{de_user}"),
        de_authority.clone(),
        true,
    )];
    assert_eq!(writes(&scene, &exchange, &de_authority).await, expected);

    // The client's retry is answered from the first run: nothing written, nothing recorded.
    assert!(register(&scene, &retried, &de_authority, &user).await);
    // Refused by the domain (the user exists; another Member State's administrator): the
    // values were sealed, but nothing was written, so nothing is recorded.
    assert!(!register(&scene, &de, &de_authority, &user).await);
    assert!(
        !register(
            &scene,
            &fr,
            &de_authority,
            &uuid::Uuid::now_v7().to_string()
        )
        .await
    );
    assert_eq!(writes(&scene, &exchange, &de_authority).await, expected);
    let refused: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM processing_log WHERE kind = 'write' AND acting_user = $1",
    )
    .bind(format!("user:{}", fr.user_ids().expect("a user").0))
    .fetch_one(&scene.app.pool)
    .await
    .expect("count");
    assert_eq!(refused, 0, "a refused command records no write");
}
