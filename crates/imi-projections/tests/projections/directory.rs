//! The authority directory: built incrementally or rebuilt blue/green, the tables are equal;
//! it holds no personal data.

use crate::ledger::{drain, migrated};
use imi_domain::actor::Actor;
use imi_domain::authority::{user_key_id, Authority, AuthorityCommand, NewUser};
use imi_domain::command::Issued;
use imi_domain::reference::{Language, MemberState};
use imi_projections::directory::{self, AuthorityDirectory, DirectorySearch};
use imi_projections::rebuild::rebuild;
use imi_projections::runner::{apply_batch, ensure_slot, LIVE_BATCH};
use imi_projections::Slot;
use imi_store::commands::{AggregateConfig, CommandBus};
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use std::collections::BTreeMap;

const STATES: [&str; 4] = ["DE", "FR", "IT", "PL"];

/// Registers a NIMIC per state and edits their titles; returns the pool.
async fn history() -> sqlx::PgPool {
    let pool = migrated().await;
    let bus: CommandBus<Authority> = CommandBus::new(
        pool.clone(),
        AggregateConfig::default(),
        vec![],
        (),
        Wake::local_only(),
    );
    let keys = KeyRing::new(pool.clone(), MasterKey::generate());
    for ms in STATES {
        let user = format!("u-{ms}");
        let identity = keys
            .seal(
                &user_key_id(&user),
                &serde_json::json!({"name": "Secret Person", "email": "secret@example.eu"}),
            )
            .await
            .unwrap();
        let system = Actor::system("test");
        bus.execute(
            &format!("a-{ms}"),
            Issued::new(
                system.clone(),
                AuthorityCommand::RegisterNationalCoordinator {
                    member_state: MemberState::parse(ms).unwrap(),
                    official_name: format!("National IMI Coordinator {ms}"),
                    informal_titles: BTreeMap::from([(
                        Language::parse("en").unwrap(),
                        format!("NIMIC {ms}"),
                    )]),
                    first_user: NewUser {
                        user_id: user.clone(),
                        identity,
                    },
                },
            ),
            CommandMetadata::for_actor(&system),
        )
        .await
        .unwrap();
        let lda = Actor::User {
            user_id: user,
            authority_id: format!("a-{ms}"),
        };
        for (lang, title) in [
            ("fr", Some("Coordinateur")),
            ("de", Some("Koordinator")),
            ("en", None),
        ] {
            bus.execute(
                &format!("a-{ms}"),
                Issued::new(
                    lda.clone(),
                    AuthorityCommand::SetInformalTitle {
                        language: Language::parse(lang).unwrap(),
                        title: title.map(|t| format!("{t} {ms}")),
                    },
                ),
                CommandMetadata::for_actor(&lda),
            )
            .await
            .unwrap();
        }
    }
    pool
}

async fn dump(pool: &sqlx::PgPool) -> (Vec<String>, Vec<String>) {
    let authorities = sqlx::query_scalar(
        "SELECT a::text FROM authority_directory.authorities a ORDER BY authority_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let titles = sqlx::query_scalar(
        "SELECT t::text FROM authority_directory.informal_titles t ORDER BY authority_id, language",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    (authorities, titles)
}

async fn build_incrementally(pool: &sqlx::PgPool) {
    ensure_slot(pool, &AuthorityDirectory, Slot::Live)
        .await
        .unwrap();
    // Small batches, so events of one authority are split across batches.
    drain(pool, &AuthorityDirectory, 3).await;
}

#[tokio::test]
async fn a_rebuilt_directory_equals_the_incrementally_built_one() {
    let pool = history().await;
    build_incrementally(&pool).await;
    let incremental = dump(&pool).await;
    assert_eq!(incremental.0.len(), STATES.len());
    assert_eq!(incremental.1.len(), 2 * STATES.len());

    let report = rebuild(&pool, &AuthorityDirectory, |_| {}).await.unwrap();
    assert_eq!(report.events_applied, 5 * STATES.len() as u64);
    assert_eq!(dump(&pool).await, incremental);
    // The live slot continues from the rebuilt checkpoint: nothing left to apply.
    assert_eq!(
        apply_batch(&pool, &AuthorityDirectory, Slot::Live, LIVE_BATCH)
            .await
            .unwrap(),
        0
    );
    let slots: Vec<String> =
        sqlx::query_scalar("SELECT slot FROM projections WHERE name = 'authority_directory'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(slots, ["live"]);
}

#[tokio::test]
async fn the_old_tables_serve_while_the_shadow_builds() {
    let pool = history().await;
    build_incrementally(&pool).await;
    // A rebuild in progress: the shadow exists beside the live tables.
    let mut progress = Vec::new();
    let before = dump(&pool).await;
    rebuild(&pool, &AuthorityDirectory, |p| {
        progress.push(p.events_applied);
    })
    .await
    .unwrap();
    assert!(!progress.is_empty());
    assert_eq!(dump(&pool).await, before);
}

#[tokio::test]
async fn search_finds_authorities_by_title_in_any_language_and_by_member_state() {
    let pool = history().await;
    build_incrementally(&pool).await;
    let hits = directory::search(
        &pool,
        &DirectorySearch {
            text: Some("koordinator de".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].authority_id, "a-DE");
    assert_eq!(hits[0].informal_titles["fr"], "Coordinateur DE");
    assert!(!hits[0].informal_titles.contains_key("en"), "removed title");
    let french = directory::search(
        &pool,
        &DirectorySearch {
            member_state: Some("FR".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(french.len(), 1);
    let page = directory::search(
        &pool,
        &DirectorySearch {
            after: Some("a-DE".into()),
            limit: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ids: Vec<_> = page.iter().map(|e| e.authority_id.as_str()).collect();
    assert_eq!(ids, ["a-FR", "a-IT"]);
}

#[tokio::test]
async fn the_directory_holds_no_personal_data() {
    let pool = history().await;
    build_incrementally(&pool).await;
    let (authorities, titles) = dump(&pool).await;
    for row in authorities.iter().chain(titles.iter()) {
        assert!(!row.contains("Secret"), "{row}");
        assert!(!row.contains("secret@example.eu"), "{row}");
        assert!(
            !row.contains("u-"),
            "user ids are not directory data: {row}"
        );
    }
}
