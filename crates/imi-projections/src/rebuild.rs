//! Blue/green rebuild: a projection's current code builds into shadow tables from the start of
//! the log while the live tables keep serving; once the shadow has caught up with the horizon it
//! is swapped in, in one transaction.

use crate::projection::{schema_of, Projection, ProjectionError, Slot};
use crate::runner::{apply_batch_counted, checkpoint, create_tables, REBUILD_BATCH};
use imi_store::feed::FeedPosition;
use sqlx::PgPool;
use std::time::Instant;

/// Where a rebuild stands, reported after every batch.
#[derive(Clone, Copy, Debug)]
pub struct RebuildProgress {
    pub at: FeedPosition,
    pub head_position: i64,
    /// Events the checkpoint moved past, of every type.
    pub events_applied: u64,
    /// Of those, the events of the types the projection reads...
    pub events_read: u64,
    /// ...against how many such events the log held when the rebuild started (or since, if
    /// more): what a progress bar shows.
    pub events_to_read: u64,
    pub events_per_second: f64,
}

#[derive(Clone, Copy, Debug)]
pub struct RebuildReport {
    pub events_applied: u64,
    /// Of those, the events of the types the projection reads.
    pub events_read: u64,
    pub seconds: f64,
    pub at: FeedPosition,
}

/// Rebuilds `projection` from position 0 into its shadow slot, then swaps it in.
pub async fn rebuild(
    pool: &PgPool,
    projection: &dyn Projection,
    mut progress: impl FnMut(RebuildProgress),
) -> Result<RebuildReport, ProjectionError> {
    let name = projection.name();
    // One rebuild at a time per projection, across processes.
    let mut guard = pool.acquire().await?.detach();
    let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
        .bind(format!("imi.projection.rebuild:{name}"))
        .fetch_one(&mut guard)
        .await?;
    if !free {
        return Err(ProjectionError::Database(sqlx::Error::Protocol(format!(
            "a rebuild of {name} is already running"
        ))));
    }

    empty_shadow(pool, projection).await?;
    let to_read = events_read_by(pool, projection).await?;

    let started = Instant::now();
    let mut applied: u64 = 0;
    let mut read: u64 = 0;
    loop {
        let batch = apply_batch_counted(pool, projection, Slot::Shadow, REBUILD_BATCH).await?;
        let n = batch.moved;
        applied += n as u64;
        read += batch.read as u64;
        let mut conn = pool.acquire().await?;
        let at = checkpoint(&mut conn, name, Slot::Shadow)
            .await?
            .unwrap_or_default();
        let head: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
            .fetch_one(&mut *conn)
            .await?;
        progress(RebuildProgress {
            at,
            head_position: head,
            events_applied: applied,
            events_read: read,
            events_to_read: to_read.max(read),
            events_per_second: applied as f64 / started.elapsed().as_secs_f64().max(1e-9),
        });
        if n == 0 {
            // Never swap in tables older than the live ones: a reader would see time go back.
            let live = checkpoint(&mut conn, name, Slot::Live).await?;
            if live.is_none_or(|live| at >= live) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    swap_in(pool, projection).await?;
    let mut conn = pool.acquire().await?;
    let at = checkpoint(&mut conn, name, Slot::Live)
        .await?
        .unwrap_or_default();
    drop(guard);
    Ok(RebuildReport {
        events_applied: applied,
        events_read: read,
        seconds: started.elapsed().as_secs_f64(),
        at,
    })
}

/// How many events in the log are of the types `projection` reads (all of them when it reads
/// every type).
pub async fn events_read_by(
    pool: &PgPool,
    projection: &dyn Projection,
) -> Result<u64, ProjectionError> {
    let count: i64 = match projection.aggregate_types() {
        None => {
            sqlx::query_scalar("SELECT count(*) FROM events")
                .fetch_one(pool)
                .await?
        }
        Some(types) => {
            sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = ANY($1)")
                .bind(types)
                .fetch_one(pool)
                .await?
        }
    };
    Ok(count as u64)
}

/// Empty shadow tables with a checkpoint at the start of the log, for a rebuild or a diff.
pub(crate) async fn empty_shadow(
    pool: &PgPool,
    projection: &dyn Projection,
) -> Result<(), ProjectionError> {
    let name = projection.name();
    let mut tx = pool.begin().await?;
    create_tables(&mut tx, projection, Slot::Shadow).await?;
    sqlx::query(
        "INSERT INTO projections (name, slot, version) VALUES ($1, 'shadow', $2)
         ON CONFLICT (name, slot) DO UPDATE
           SET version = $2, xid = 0, position = 0, events_applied = 0,
               started_at = now(), updated_at = now()",
    )
    .bind(name)
    .bind(projection.version())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces the live tables and checkpoint with the shadow's, atomically. The live runner
/// is held off by the live apply lock and continues from the shadow's checkpoint.
async fn swap_in(pool: &PgPool, projection: &dyn Projection) -> Result<(), ProjectionError> {
    let name = projection.name();
    let live = schema_of(name, Slot::Live);
    let shadow = schema_of(name, Slot::Shadow);
    let retired = format!("{name}__retired");
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(format!("imi.projection.apply:{name}:live"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{retired}\" CASCADE"))
        .execute(&mut *tx)
        .await?;
    let live_exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(&live)
            .fetch_one(&mut *tx)
            .await?;
    if live_exists {
        sqlx::query(&format!("ALTER SCHEMA \"{live}\" RENAME TO \"{retired}\""))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(&format!("ALTER SCHEMA \"{shadow}\" RENAME TO \"{live}\""))
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{retired}\" CASCADE"))
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM projections WHERE name = $1 AND slot = 'live'")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE projections SET slot = 'live', updated_at = now() WHERE name = $1 AND slot = 'shadow'",
    )
    .bind(name)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
