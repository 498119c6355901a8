//! Commands through cqrs-es on postgres-es: metadata on every event, snapshots, conflicts.

use crate::support::migrated;
use imi_domain::actor::Actor;
use imi_domain::authority::{user_key_id, AuthorityCommand, NewUser};
use imi_domain::command::Issued;
use imi_domain::error::DomainError;
use imi_domain::reference::{Language, MemberState};
use imi_store::authority_bus::{authority_bus, AuthorityBus};
use imi_store::commands::{AggregateConfig, CommandError};
use imi_store::feed::FeedPosition;
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::{PgPool, Row};
use std::collections::BTreeMap;
use std::sync::Arc;

async fn bus(pool: &PgPool, config: AggregateConfig) -> AuthorityBus {
    authority_bus(pool.clone(), config, Wake::local_only())
}

async fn register(pool: &PgPool, bus: &AuthorityBus, id: &str) -> Option<FeedPosition> {
    let keys = KeyRing::new(pool.clone(), MasterKey::generate());
    let identity = keys
        .seal(
            &user_key_id("u-1"),
            &serde_json::json!({"name": "Erika Mustermann"}),
        )
        .await
        .unwrap();
    let command = AuthorityCommand::RegisterNationalCoordinator {
        member_state: MemberState::parse("DE").unwrap(),
        official_name: "Bundesverwaltungsamt".into(),
        informal_titles: BTreeMap::new(),
        first_user: NewUser {
            user_id: "u-1".into(),
            identity,
        },
    };
    let system = Actor::system("test");
    bus.execute(
        id,
        Issued::new(system.clone(), command),
        CommandMetadata::for_actor(&system),
    )
    .await
    .unwrap()
}

fn set_title(title: &str) -> Issued<AuthorityCommand> {
    Issued::new(
        lda(),
        AuthorityCommand::SetInformalTitle {
            language: Language::parse("en").unwrap(),
            title: Some(title.into()),
        },
    )
}

fn lda() -> Actor {
    Actor::User {
        user_id: "u-1".into(),
        authority_id: "a-1".into(),
    }
}

#[tokio::test]
async fn every_event_carries_the_command_metadata_and_the_feed_position_is_returned() {
    let pool = migrated().await;
    let bus = bus(&pool, AggregateConfig::default()).await;
    register(&pool, &bus, "a-1").await;
    let meta = CommandMetadata::for_actor(&lda())
        .with_idempotency_key(Some("key-1".into()))
        .with_reason(Some("rebranding".into()));
    let correlation = meta.correlation_id.clone();
    let at = bus
        .execute("a-1", set_title("German NIMIC"), meta)
        .await
        .unwrap()
        .unwrap();
    let row = sqlx::query(
        "SELECT metadata::jsonb AS m, position FROM events WHERE aggregate_id = 'a-1' AND sequence = 3",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let m: serde_json::Value = row.get("m");
    assert_eq!(m["acting_user"], "user:u-1");
    assert_eq!(m["acting_authority"], "a-1");
    assert_eq!(m["correlation_id"], correlation.as_str());
    assert_eq!(m["idempotency_key"], "key-1");
    assert_eq!(m["reason"], "rebranding");
    assert_eq!(at.position, row.get::<i64, _>("position"));
}

#[tokio::test]
async fn a_refused_command_writes_nothing() {
    let pool = migrated().await;
    let bus = bus(&pool, AggregateConfig::default()).await;
    register(&pool, &bus, "a-1").await;
    let stranger = Actor::User {
        user_id: "u-9".into(),
        authority_id: "a-9".into(),
    };
    let err = bus
        .execute(
            "a-1",
            Issued::new(stranger.clone(), set_title("x").command),
            CommandMetadata::for_actor(&stranger),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CommandError::Domain(DomainError::Forbidden(_))
    ));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn snapshots_are_taken_when_configured_and_loading_from_them_works() {
    let pool = migrated().await;
    let bus = bus(
        &pool,
        AggregateConfig {
            snapshot_every: Some(2),
        },
    )
    .await;
    register(&pool, &bus, "a-1").await;
    let read_ahead = imi_store::repository::loads_read_ahead(&pool);
    for i in 0..5 {
        bus.execute(
            "a-1",
            set_title(&format!("title {i}")),
            CommandMetadata::for_actor(&lda()),
        )
        .await
        .unwrap();
    }
    let snapshots: i64 = sqlx::query_scalar("SELECT count(*) FROM snapshots")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(snapshots >= 1);
    // The aggregate loaded from its snapshot still knows its LDA and its current title.
    let unchanged = bus
        .execute(
            "a-1",
            set_title("title 4"),
            CommandMetadata::for_actor(&lda()),
        )
        .await
        .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 7, "setting the current title again records nothing");
    assert!(unchanged.is_some());
    // Each load read the snapshot and the events after it in one statement.
    assert_eq!(
        imi_store::repository::loads_read_ahead(&pool),
        read_ahead + 6
    );
}

#[tokio::test]
async fn concurrent_writes_to_one_aggregate_surface_as_conflicts_and_lose_nothing() {
    let pool = migrated().await;
    let bus = Arc::new(bus(&pool, AggregateConfig::default()).await);
    register(&pool, &bus, "a-1").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let bus = bus.clone();
        tasks.push(tokio::spawn(async move {
            bus.execute(
                "a-1",
                set_title(&format!("title {i}")),
                CommandMetadata::for_actor(&lda()),
            )
            .await
        }));
    }
    let mut ok = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(CommandError::Conflict) => conflicts += 1,
            Err(other) => panic!("expected success or conflict, got {other:?}"),
        }
    }
    assert!(ok >= 1);
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 2 + ok, "{conflicts} conflicts");
    let report = imi_store::audit::verify(&pool).await.unwrap();
    assert_eq!(report.first_broken, None);
}

#[tokio::test]
async fn a_retried_request_with_the_same_idempotency_key_runs_once() {
    let pool = migrated().await;
    let bus = bus(&pool, AggregateConfig::default()).await;
    register(&pool, &bus, "a-1").await;
    let meta = || CommandMetadata::for_actor(&lda()).with_idempotency_key(Some("req-7".into()));
    let first = bus.execute("a-1", set_title("One"), meta()).await.unwrap();
    // The retry carries the same key; even a different body is not applied again.
    let retry = bus.execute("a-1", set_title("Two"), meta()).await.unwrap();
    assert_eq!(first, retry);
    // A new request (a new key) runs.
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 3);
    let other = bus
        .execute(
            "a-1",
            set_title("Three"),
            CommandMetadata::for_actor(&lda()).with_idempotency_key(Some("req-8".into())),
        )
        .await
        .unwrap();
    assert_ne!(other, first);
}

#[tokio::test]
async fn a_command_answers_with_the_position_of_its_last_event() {
    let pool = migrated().await;
    let bus = bus(&pool, AggregateConfig::default()).await;
    // Registration writes two events; the answer is the second one's place in the feed.
    let at = register(&pool, &bus, "a-1").await.unwrap();
    let (xid, position): (i64, i64) = sqlx::query_as(
        "SELECT xid::text::bigint, position FROM events WHERE aggregate_id = 'a-1' AND sequence = 2",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(at, FeedPosition { xid, position });
    // A command that records nothing answers with the aggregate's latest event.
    bus.execute("a-1", set_title("Same"), CommandMetadata::for_actor(&lda()))
        .await
        .unwrap();
    let again = bus
        .execute("a-1", set_title("Same"), CommandMetadata::for_actor(&lda()))
        .await
        .unwrap()
        .unwrap();
    let last: i64 = sqlx::query_scalar("SELECT max(position) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(again.position, last);
}

#[tokio::test]
async fn events_are_stored_as_postgres_es_stores_them() {
    let pool = migrated().await;
    let bus = bus(&pool, AggregateConfig::default()).await;
    register(&pool, &bus, "a-1").await;
    let stored: Vec<(i64, serde_json::Value, String, serde_json::Value, String)> = sqlx::query_as(
        "SELECT sequence, payload::jsonb, payload::text, metadata::jsonb, metadata::text
           FROM events WHERE aggregate_id = 'a-1' ORDER BY sequence",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(stored.len() >= 2, "a registration appends several events");
    // postgres-es binds each event's payload and metadata as values, one INSERT per event; the
    // text stored (which the hash chain covers and the export carries) must not differ.
    for (sequence, payload, payload_text, metadata, metadata_text) in stored {
        let (p, m): (String, String) = sqlx::query_as(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             VALUES ('Copy', 'a-1', $1, 'Copied', '1', $2, $3)
             RETURNING payload::text, metadata::text",
        )
        .bind(sequence)
        .bind(&payload)
        .bind(&metadata)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!((p, m), (payload_text, metadata_text), "event {sequence}");
    }
}
