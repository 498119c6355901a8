//! Does a projection's current code rebuild the tables it serves? A shadow build from the
//! start of the log is compared, row by row, with the live tables at the same checkpoint.
//!
//! An analyst runs it after changing a projection's apply without bumping its version, or to
//! check that live tables were not changed by hand: any row that differs is printed. The
//! shadow uses the rebuild's slot (and its lock, so a rebuild and a diff never run at once)
//! and is dropped afterwards; the live tables are only read.
//!
//! The live slot keeps moving while the shadow is built, so the two are compared in one
//! snapshot in which both checkpoints are equal: each slot's tables commit with its checkpoint,
//! so equal checkpoints mean both applied exactly the same events.

use crate::projection::{schema_of, Projection, ProjectionError, Slot};
use crate::runner::{apply_batch, checkpoint, REBUILD_BATCH};
use imi_store::feed::FeedPosition;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use std::time::{Duration, Instant};

/// The rows of one table that are in only one of the two builds.
#[derive(Clone, Debug, PartialEq)]
pub struct TableDiff {
    pub table: String,
    /// Rows of the live table the shadow build does not hold (as JSON objects).
    pub live_only: Vec<Value>,
    /// Rows the shadow build holds that the live table does not.
    pub shadow_only: Vec<Value>,
}

/// What a diff found: the checkpoint both builds were compared at, and per table the rows
/// in only one of them (tables without differences are left out).
#[derive(Clone, Debug, PartialEq)]
pub struct DiffReport {
    pub at: FeedPosition,
    pub tables_compared: usize,
    pub events_applied: u64,
    pub differences: Vec<TableDiff>,
}

impl DiffReport {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Builds `projection` from the start of the log into its shadow slot and compares it with
/// the live tables at an equal checkpoint. Fails when the two do not meet within `catch_up`
/// once the shadow has caught up (no projector keeps the live slot moving), or when a
/// rebuild is running.
pub async fn diff(
    pool: &PgPool,
    projection: &dyn Projection,
    catch_up: Duration,
) -> Result<DiffReport, ProjectionError> {
    let name = projection.name();
    let mut guard = pool.acquire().await?.detach();
    let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
        .bind(format!("imi.projection.rebuild:{name}"))
        .fetch_one(&mut guard)
        .await?;
    if !free {
        crate::rebuild::release(guard).await;
        return Err(busy(format!("a rebuild or a diff of {name} is running")));
    }
    let outcome = build_and_compare(pool, projection, catch_up).await;
    let dropped = drop_shadow(pool, projection).await;
    crate::rebuild::release(guard).await;
    let report = outcome?;
    dropped?;
    Ok(report)
}

async fn build_and_compare(
    pool: &PgPool,
    projection: &dyn Projection,
    catch_up: Duration,
) -> Result<DiffReport, ProjectionError> {
    let name = projection.name();
    crate::rebuild::empty_shadow(pool, projection).await?;
    // The diff covers at least every event committed when it starts: a transaction still open
    // elsewhere holds the feed's horizon back, and comparing below it would call an earlier
    // state of the log its end.
    let target = committed_head(pool).await?;

    let mut applied = 0u64;
    let mut deadline = None;
    loop {
        let n = apply_batch(pool, projection, Slot::Shadow, REBUILD_BATCH).await?;
        applied += n as u64;
        if n > 0 {
            continue;
        }
        let deadline = *deadline.get_or_insert_with(|| Instant::now() + catch_up);
        // One snapshot for both checkpoints and both sets of tables.
        let mut tx = imi_store::pool::begin(pool).await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let live = checkpoint(&mut tx, name, Slot::Live).await?;
        let shadow = checkpoint(&mut tx, name, Slot::Shadow)
            .await?
            .unwrap_or_default();
        match live {
            Some(live) if live == shadow && shadow >= target => {
                let (tables_compared, differences) = compare(&mut tx, name).await?;
                return Ok(DiffReport {
                    at: shadow,
                    tables_compared,
                    events_applied: applied,
                    differences,
                });
            }
            _ if Instant::now() > deadline => {
                return Err(busy(format!(
                    "the live {name} (at {}) and its shadow build (at {}) did not meet \
                     in time: is a process with the projectors role running?",
                    live.map_or("no checkpoint".to_string(), |l| l.to_string()),
                    shadow
                )));
            }
            // The live slot is ahead: the shadow applies what it has not yet.
            Some(live) if live > shadow => continue,
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// The feed position of the last event committed so far (START when the log is empty).
async fn committed_head(pool: &PgPool) -> Result<FeedPosition, ProjectionError> {
    let head: Option<(i64, i64)> = sqlx::query_as(
        "SELECT xid::text::bigint, position FROM events ORDER BY xid DESC, position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(
        head.map_or(FeedPosition::START, |(xid, position)| FeedPosition {
            xid,
            position,
        }),
    )
}

/// Tables whose live rows may be fewer than a build from the start holds: the requests'
/// folded states, which the members of a lane after the first do not keep (they fold a
/// request's history from the log when they need it, `request_fold`). A row the live table
/// holds must still be the shadow's.
const KEPT_IN_PART: &[&str] = &["request_states"];

/// Per table of the live schema, the rows only one side holds (`EXCEPT ALL`, so duplicates
/// count too; for the tables of [`KEPT_IN_PART`], the live table's only).
async fn compare(
    db: &mut PgConnection,
    name: &str,
) -> Result<(usize, Vec<TableDiff>), ProjectionError> {
    let (live, shadow) = (schema_of(name, Slot::Live), schema_of(name, Slot::Shadow));
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .bind(&live)
    .fetch_all(&mut *db)
    .await?;
    let mut differences = Vec::new();
    for table in &tables {
        let only = |a: &str, b: &str| {
            format!(
                "SELECT to_jsonb(t) FROM \"{a}\".\"{table}\" t
                 EXCEPT ALL SELECT to_jsonb(t) FROM \"{b}\".\"{table}\" t"
            )
        };
        let live_only: Vec<Value> = sqlx::query_scalar(&only(&live, &shadow))
            .fetch_all(&mut *db)
            .await?;
        let shadow_only: Vec<Value> = if KEPT_IN_PART.contains(&table.as_str()) {
            Vec::new()
        } else {
            sqlx::query_scalar(&only(&shadow, &live))
                .fetch_all(&mut *db)
                .await?
        };
        if !live_only.is_empty() || !shadow_only.is_empty() {
            differences.push(TableDiff {
                table: table.clone(),
                live_only,
                shadow_only,
            });
        }
    }
    Ok((tables.len(), differences))
}

async fn drop_shadow(pool: &PgPool, projection: &dyn Projection) -> Result<(), ProjectionError> {
    let name = projection.name();
    let mut tx = imi_store::pool::begin(pool).await?;
    sqlx::query(&format!(
        "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
        schema_of(name, Slot::Shadow)
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM projections WHERE name = $1 AND slot = 'shadow'")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

fn busy(message: String) -> ProjectionError {
    ProjectionError::Database(sqlx::Error::Protocol(message))
}
