//! The event log is append-only and hash-chained; `audit::verify` finds any change made
//! around the triggers.

use crate::support::{insert, migrated, tamper};
use imi_store::audit;
use serde_json::json;
use sqlx::Row;

#[tokio::test]
async fn update_delete_and_truncate_are_refused() {
    let pool = migrated().await;
    insert(&pool, "a", 1, json!({"n": 1})).await.unwrap();
    for sql in [
        "UPDATE events SET payload = '{\"n\": 2}'",
        "DELETE FROM events",
        "TRUNCATE events",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        let code = err.as_database_error().and_then(|d| d.code()).unwrap();
        assert_eq!(code, "IM002", "{sql}");
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn events_are_chained_and_the_chain_verifies_outside_the_database() {
    let pool = migrated().await;
    for s in 1..=3 {
        insert(&pool, "a", s, json!({"n": s, "text": "é ü"}))
            .await
            .unwrap();
    }
    insert(&pool, "b", 1, json!({})).await.unwrap();
    let rows = sqlx::query(
        "SELECT sequence, prev_hash, hash FROM events WHERE aggregate_id = 'a' ORDER BY sequence",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let hashes: Vec<Vec<u8>> = rows.iter().map(|r| r.get("hash")).collect();
    assert_eq!(rows[0].get::<Option<Vec<u8>>, _>("prev_hash"), None);
    assert_eq!(
        rows[1].get::<Option<Vec<u8>>, _>("prev_hash"),
        Some(hashes[0].clone())
    );
    assert_eq!(
        rows[2].get::<Option<Vec<u8>>, _>("prev_hash"),
        Some(hashes[1].clone())
    );
    let report = audit::verify(&pool).await.unwrap();
    assert_eq!(report.events_checked, 4);
    assert_eq!(report.aggregates_checked, 2);
    assert_eq!(report.first_broken, None);
}

#[tokio::test]
async fn audit_names_the_first_altered_event() {
    let pool = migrated().await;
    for s in 1..=3 {
        insert(&pool, "a", s, json!({"amount": s})).await.unwrap();
    }
    tamper(
        &pool,
        "UPDATE events SET payload = '{\"amount\": 1000}' WHERE aggregate_id = 'a' AND sequence = 2",
    )
    .await;
    let broken = audit::verify(&pool).await.unwrap().first_broken.unwrap();
    assert_eq!((broken.aggregate_id.as_str(), broken.sequence), ("a", 2));
    assert!(broken.problem.contains("hash"), "{}", broken.problem);
}

#[tokio::test]
async fn audit_names_a_deleted_event() {
    let pool = migrated().await;
    for s in 1..=3 {
        insert(&pool, "a", s, json!({})).await.unwrap();
    }
    tamper(
        &pool,
        "DELETE FROM events WHERE aggregate_id = 'a' AND sequence = 2",
    )
    .await;
    let broken = audit::verify(&pool).await.unwrap().first_broken.unwrap();
    assert_eq!(broken.sequence, 3);
    assert!(broken.problem.contains("missing"), "{}", broken.problem);
}

#[tokio::test]
async fn audit_names_a_rehashed_event_by_its_successor() {
    let pool = migrated().await;
    for s in 1..=2 {
        insert(&pool, "a", s, json!({"v": s})).await.unwrap();
    }
    // The tamperer recomputes the altered event's own hash, but not its successor's link.
    tamper(
        &pool,
        "UPDATE events e SET payload = '{\"v\": 9}' WHERE aggregate_id = 'a' AND sequence = 1;
         UPDATE events e SET hash = event_hash(NULL, e) WHERE aggregate_id = 'a' AND sequence = 1",
    )
    .await;
    let broken = audit::verify(&pool).await.unwrap().first_broken.unwrap();
    assert_eq!(broken.sequence, 2);
    assert!(broken.problem.contains("prev_hash"), "{}", broken.problem);
}

#[tokio::test]
async fn an_event_without_its_predecessor_is_refused() {
    let pool = migrated().await;
    let err = insert(&pool, "a", 2, json!({})).await.unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("IM001")
    );
}

#[tokio::test]
async fn an_event_that_would_precede_its_predecessor_in_the_feed_is_refused() {
    let pool = migrated().await;
    // `old` takes its transaction id, then a younger transaction writes sequence 1.
    let mut old = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *old)
        .await
        .unwrap();
    insert(&pool, "a", 1, json!({})).await.unwrap();
    let err = insert(&mut *old, "a", 2, json!({})).await.unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("40001")
    );
}
