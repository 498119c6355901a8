//! A test projection that records every event it applies, one row per event: applying an
//! event twice violates its primary key, losing one leaves a gap.

use imi_projections::writes::Writes;
use imi_projections::{Projection, ProjectionError};
use imi_store::feed::FeedEvent;
use sqlx::PgConnection;
use std::time::Duration;

pub struct Ledger {
    pub runner: &'static str,
    /// Pause after each row, so a test can stop the runner in the middle of a batch.
    pub pause: Duration,
}

pub const NAME: &str = "test_ledger";

#[async_trait::async_trait]
impl Projection for Ledger {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables_sql(&self) -> &'static str {
        "CREATE TABLE applied (position bigint PRIMARY KEY, aggregate_id text NOT NULL,
                               sequence bigint NOT NULL, runner text NOT NULL)"
    }
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        for e in events {
            sqlx::query(
                "INSERT INTO applied (position, aggregate_id, sequence, runner) VALUES ($1, $2, $3, $4)",
            )
            .bind(e.at.position)
            .bind(&e.aggregate_id)
            .bind(e.sequence)
            .bind(self.runner)
            .execute(&mut *db)
            .await?;
            if !self.pause.is_zero() {
                tokio::time::sleep(self.pause).await;
            }
        }
        Ok(Writes::default())
    }
}

pub async fn migrated() -> sqlx::PgPool {
    let db = imi_testkit::fresh_database().await;
    imi_store::migrate(&db.pool).await.unwrap();
    db.pool
}

/// Appends `n` single-event aggregates named `prefix-i`.
pub async fn append(pool: &sqlx::PgPool, prefix: &str, n: usize) {
    for i in 0..n {
        insert_event(pool, format!("{prefix}-{i}")).await;
    }
}

/// [`append`] in one transaction: the events share one transaction id.
pub async fn append_together(pool: &sqlx::PgPool, prefix: &str, n: usize) {
    let mut tx = pool.begin().await.unwrap();
    for i in 0..n {
        insert_event(&mut *tx, format!("{prefix}-{i}")).await;
    }
    tx.commit().await.unwrap();
}

async fn insert_event(db: impl sqlx::PgExecutor<'_>, aggregate_id: String) {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Test', $1, 1, 'Happened', '1', '{}', '{}')",
    )
    .bind(aggregate_id)
    .execute(db)
    .await
    .unwrap();
}

/// Asserts the ledger holds every event exactly once and the checkpoint is at the last one.
pub async fn assert_complete(pool: &sqlx::PgPool) {
    let events: Vec<i64> = sqlx::query_scalar("SELECT position FROM events ORDER BY position")
        .fetch_all(pool)
        .await
        .unwrap();
    let applied: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT position FROM {NAME}.applied ORDER BY position"
    ))
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(applied, events, "the ledger must hold every event once");
    let (position, count): (i64, i64) = sqlx::query_as(
        "SELECT position, events_applied FROM projections WHERE name = $1 AND slot = 'live'",
    )
    .bind(NAME)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(count as usize, events.len());
    assert_eq!(Some(&position), events.iter().max());
}

/// Applies batches until the slot has every committed event: the horizon is cluster-wide, so
/// other tests' transactions may hold it back for a moment.
pub async fn drain(pool: &sqlx::PgPool, projection: &dyn Projection, limit: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        imi_projections::runner::apply_batch(pool, projection, imi_projections::Slot::Live, limit)
            .await
            .unwrap();
        let behind: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events e, projections p
              WHERE p.name = $1 AND p.slot = 'live'
                AND (e.xid::text::bigint, e.position) > (p.xid, p.position)",
        )
        .bind(projection.name())
        .fetch_one(pool)
        .await
        .unwrap();
        if behind == 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "could not catch up");
    }
}

/// Waits until the first `n` events are below the feed's horizon: a transaction of another
/// test that the horizon cannot tell apart from a writer (one creating a database) may hold
/// it back for a moment.
pub async fn below_horizon(pool: &sqlx::PgPool, n: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let visible: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE xid < (SELECT imi_feed_horizon())",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if visible >= n {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "horizon held back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
