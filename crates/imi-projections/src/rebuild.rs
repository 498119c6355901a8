//! Blue/green rebuild: a projection's current code builds into shadow tables from the start of
//! the log while the live tables keep serving; once the shadow has caught up with the horizon it
//! is swapped in, in one transaction.

use crate::fold_memory::{self, Handle, Memory};
use crate::projection::{schema_of, Projection, ProjectionError, Slot};
use crate::runner::{
    apply_lock, apply_rebuild_batch, checkpoint, create_reader_indexes, create_tables,
    fast_compression, set_search_path, REBUILD_BATCH,
};
use crate::shared_fold;
use futures::{StreamExt, TryStreamExt};
use imi_store::feed::{self, FeedPosition};
use sqlx::{PgConnection, PgPool};
use std::time::{Duration, Instant};

/// Aggregates a rebuild's fold memory holds by default (see [`RebuildOptions::memory`]): some
/// 100 MB if a request's state takes about 4 KB in memory (2 KB as JSON).
pub const REBUILD_MEMORY: usize = 25_000;

/// How a rebuild runs.
#[derive(Clone, Copy, Debug)]
pub struct RebuildOptions {
    /// Events per batch.
    pub batch: i64,
    /// How many folded aggregates (requests, alerts) it keeps in memory between batches
    /// (`crate::fold_memory`); 0: none, every batch reads and writes them in the shadow's
    /// tables as the live path does.
    pub memory: usize,
    /// Longest a batch may take: past it the rebuild stops with an error (its batch rolled
    /// back, nothing swapped in) rather than wait for ever. A batch of 50,000 events takes
    /// seconds; a rebuild at scale 1.0 was once seen to stop progressing with its batch's
    /// transaction idle and its process idle (docs/BENCHMARKS.md): most likely sqlx 0.8's TLS,
    /// which can stall a connection on a large write (`imi_store::pool::connect_options`).
    pub stall: Duration,
    /// Whether the members of a group apply each batch each in a transaction of their own, so
    /// that the server writes one member's rows while the next one computes its own
    /// (`runner::apply_rebuild_batch`); otherwise in one transaction, one after the other.
    /// Apart takes a connection per member besides the rebuild's two: with a pool smaller
    /// than that, they share one.
    pub apart: bool,
}

/// Default of [`RebuildOptions::stall`].
pub const REBUILD_STALL: Duration = Duration::from_secs(600);

impl Default for RebuildOptions {
    fn default() -> Self {
        Self {
            batch: REBUILD_BATCH,
            memory: REBUILD_MEMORY,
            stall: REBUILD_STALL,
            apart: true,
        }
    }
}

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
    progress: impl FnMut(RebuildProgress),
) -> Result<RebuildReport, ProjectionError> {
    rebuild_with(pool, projection, RebuildOptions::default(), progress).await
}

/// [`rebuild`], run as `options` say.
pub async fn rebuild_with(
    pool: &PgPool,
    projection: &dyn Projection,
    options: RebuildOptions,
    progress: impl FnMut(RebuildProgress),
) -> Result<RebuildReport, ProjectionError> {
    let mut reports = rebuild_together(pool, &[projection], options, progress).await?;
    Ok(reports.remove(0))
}

/// Rebuilds `projections` together, as [`rebuild_with`] rebuilds one: each batch is read from
/// the feed once for all of them, applied by each in turn in one transaction, and the
/// requests it touches are folded once for all ([`crate::shared_fold`]); each member keeps
/// what else it folds (alerts: some watch each event's state, so their folds are not shared)
/// in a memory of its own. Progress counts the events of all of them; a report per
/// projection, in their order.
pub async fn rebuild_together(
    pool: &PgPool,
    projections: &[&dyn Projection],
    options: RebuildOptions,
    mut progress: impl FnMut(RebuildProgress),
) -> Result<Vec<RebuildReport>, ProjectionError> {
    let refuse = |why: String| Err(ProjectionError::Database(sqlx::Error::Protocol(why)));
    if projections.is_empty() {
        return Ok(vec![]);
    }
    // One rebuild at a time per projection, across processes: the locks live as long as this
    // connection.
    let mut guard = pool.acquire().await?.detach();
    let mut locked = Ok(());
    for p in projections {
        let name = p.name();
        let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
            .bind(format!("imi.projection.rebuild:{name}"))
            .fetch_one(&mut guard)
            .await?;
        if !free {
            locked = Err(format!("a rebuild of {name} is already running"));
            break;
        }
    }
    let outcome = match locked {
        Ok(()) => rebuild_locked(pool, projections, options, &mut progress).await,
        Err(why) => refuse(why),
    };
    release(guard).await;
    outcome
}

/// Gives up the rebuild locks held by `guard`'s session and closes it: at once, whatever the
/// outcome, not when the server notices the connection gone, so that a rebuild or a diff
/// started right after finds them free.
pub(crate) async fn release(mut guard: sqlx::PgConnection) {
    let _ = sqlx::query("SELECT pg_advisory_unlock_all()")
        .execute(&mut guard)
        .await;
    let _ = sqlx::Connection::close(guard).await;
}

/// The body of [`rebuild_together`], under its locks.
async fn rebuild_locked(
    pool: &PgPool,
    projections: &[&dyn Projection],
    options: RebuildOptions,
    progress: &mut impl FnMut(RebuildProgress),
) -> Result<Vec<RebuildReport>, ProjectionError> {
    // The log is counted once per set of types read (a group reads the same), not per member:
    // at the EU's size a count takes seconds.
    let mut counted: Vec<(Option<&[&str]>, u64)> = Vec::new();
    let mut to_read = Vec::with_capacity(projections.len());
    for p in projections {
        empty_shadow(pool, *p).await?;
        let types = p.aggregate_types();
        let count = match counted.iter().find(|(t, _)| *t == types) {
            Some((_, count)) => *count,
            None => {
                let count = events_read_by(pool, *p).await?;
                counted.push((types, count));
                count
            }
        };
        to_read.push(count);
    }

    let started = Instant::now();
    // A memory per member: each folds on its own, but for the requests of a group, whose
    // first member folds for all (its memory holds them; the others' stay empty).
    let memories: Vec<Option<Handle>> = projections
        .iter()
        .map(|_| (options.memory > 0).then(|| Memory::new(options.memory)))
        .collect();
    let shared = shared_fold::new();
    let batches = build_shadow(
        pool,
        projections,
        &memories,
        options,
        to_read.iter().sum(),
        started,
        progress,
    );
    // A single projection folds on its own: nothing to share, nothing to copy.
    let (mut applied, mut read) = if projections.len() > 1 {
        shared_fold::scope(shared.clone(), batches).await?
    } else {
        batches.await?
    };
    if options.memory > 0 {
        // What the memories still hold goes into the shadows before anything trusts them. The
        // members that took the first one's folds of requests take its sequences, not its
        // states: they fold a request's history from the log when they next meet it on their
        // own (`request_fold`), which costs a few reads per request then instead of a copy of
        // every state now (at the EU's size, gigabytes each; docs/BENCHMARKS.md). Like a
        // batch, each transaction here declares it writes no events, so that the live feed
        // never waits for it (feed.rs).
        for (p, memory) in projections.iter().zip(&memories) {
            let Some(memory) = memory else { continue };
            let mut tx = imi_store::pool::begin_with(pool, feed::PROJECTOR_BATCH).await?;
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(apply_lock(p.name(), Slot::Shadow))
                .execute(&mut *tx)
                .await?;
            set_search_path(&mut tx, &schema_of(p.name(), Slot::Shadow)).await?;
            fast_compression(&mut tx).await?;
            fold_memory::flush(memory, &mut tx).await?;
            tx.commit().await?;
        }
        let (owner, sharers) = shared_fold::owner_and_sharers(&shared);
        let from = schema_of(projections[owner].name(), Slot::Shadow);
        // Each copy on a connection of its own, two at a time (the machine's cores): the
        // server makes them side by side.
        let copies: Vec<_> = sharers
            .into_iter()
            .map(|n| {
                let to = schema_of(projections[n].name(), Slot::Shadow);
                let from = from.clone();
                async move {
                    let mut tx = imi_store::pool::begin_with(pool, feed::PROJECTOR_BATCH).await?;
                    fast_compression(&mut tx).await?;
                    sqlx::Executor::execute(
                        &mut *tx,
                        format!(
                            "INSERT INTO \"{to}\".sequences (aggregate_id, sequence)
                           SELECT aggregate_id, sequence FROM \"{from}\".sequences"
                        )
                        .as_str(),
                    )
                    .await?;
                    tx.commit().await
                }
            })
            .collect();
        futures::stream::iter(copies)
            .buffer_unordered(2)
            .try_collect::<Vec<()>>()
            .await?;
    }
    // Side by side too: what each leaves to the end, the indexes only readers use, then the
    // planner's statistics.
    let analyses: Vec<_> = projections
        .iter()
        .map(|p| async move {
            let mut tx = imi_store::pool::begin_with(pool, feed::PROJECTOR_BATCH).await?;
            set_search_path(&mut tx, &schema_of(p.name(), Slot::Shadow)).await?;
            p.finish_rebuild(&mut tx).await?;
            create_reader_indexes(&mut tx, *p).await?;
            analyze_shadow(&mut tx, *p).await?;
            tx.commit().await.map_err(ProjectionError::from)
        })
        .collect();
    futures::stream::iter(analyses)
        .buffer_unordered(2)
        .try_collect::<Vec<()>>()
        .await?;

    // The live slots went on while the shadows were finished (at the EU's size the indexes
    // take a while): those it left behind catch up, their indexes now kept row by row, until
    // each is swapped in no older than its live slot.
    let mut swapped = vec![None; projections.len()];
    let mut waiting: Vec<usize> = (0..projections.len()).collect();
    while !waiting.is_empty() {
        let behind: Vec<&dyn Projection> = waiting.iter().map(|&n| projections[n]).collect();
        // Without memories: these batches are the live path's.
        let none = vec![None; behind.len()];
        // (Progress was reported up to the first catch-up: these few batches go unreported.)
        let (more, more_read) =
            build_shadow(pool, &behind, &none, options, 0, started, &mut |_| {}).await?;
        applied += more;
        for (&n, r) in waiting.iter().zip(more_read) {
            read[n] += r;
        }
        let mut still = Vec::new();
        for n in waiting {
            match swap_in(pool, projections[n]).await? {
                Some(at) => swapped[n] = Some(at),
                None => still.push(n),
            }
        }
        waiting = still;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(swapped
        .into_iter()
        .zip(read)
        .map(|(at, read)| RebuildReport {
            events_applied: applied,
            events_read: read,
            seconds,
            at: at.unwrap_or_default(),
        })
        .collect())
}

/// Applies batches to the shadows until they stand at the horizon and no older than the live
/// slots; returns the events they moved past and those each read.
async fn build_shadow(
    pool: &PgPool,
    projections: &[&dyn Projection],
    memories: &[Option<Handle>],
    options: RebuildOptions,
    to_read: u64,
    started: Instant,
    progress: &mut impl FnMut(RebuildProgress),
) -> Result<(u64, Vec<u64>), ProjectionError> {
    let first = projections[0].name();
    let mut applied: u64 = 0;
    let mut read = vec![0u64; projections.len()];
    let mut ahead = None;
    let mut sending = Vec::new();
    // A connection per member, the read ahead's and the locks' (`rebuild_together`).
    let apart = options.apart
        && projections.len() > 1
        && pool.options().get_max_connections() as usize >= projections.len() + 2;
    loop {
        let batch = apply_rebuild_batch(
            pool,
            projections,
            memories,
            options.batch,
            ahead.take(),
            std::mem::take(&mut sending),
            apart,
        );
        let Ok(batch) = tokio::time::timeout(options.stall, batch).await else {
            return Err(ProjectionError::Database(sqlx::Error::Protocol(format!(
                "a rebuild batch of {first} took more than {} s: the rebuild stopped",
                options.stall.as_secs_f64()
            ))));
        };
        let batch = batch?;
        let n = batch.moved;
        (ahead, sending) = (batch.ahead, batch.sending);
        applied += n as u64;
        for (total, r) in read.iter_mut().zip(batch.read) {
            *total += r as u64;
        }
        let read_in_all: u64 = read.iter().sum();
        let mut conn = pool.acquire().await?;
        // The members move together: the first one's checkpoint is every one's (apart, once
        // its batch on its way has committed).
        let at = checkpoint(&mut conn, first, Slot::Shadow)
            .await?
            .unwrap_or_default();
        let head: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
            .fetch_one(&mut *conn)
            .await?;
        progress(RebuildProgress {
            at,
            head_position: head,
            events_applied: applied,
            events_read: read_in_all,
            events_to_read: to_read.max(read_in_all),
            events_per_second: applied as f64 / started.elapsed().as_secs_f64().max(1e-9),
        });
        if n == 0 {
            // Never swap in tables older than the live ones: a reader would see time go back.
            let mut older = false;
            for p in projections {
                let live = checkpoint(&mut conn, p.name(), Slot::Live).await?;
                older |= live.is_some_and(|live| at < live);
            }
            if !older {
                return Ok((applied, read));
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
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
    let mut tx = imi_store::pool::begin(pool).await?;
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

/// Gathers the planner's statistics of the shadow's tables before they serve: a rebuild
/// writes them whole, and until autovacuum comes by the planner would guess (measured at
/// scale 1.0: an exchange's 7 steps read by a parallel scan planned for 74,275 rows, 30 ms
/// instead of 0.1 ms; docs/BENCHMARKS.md).
async fn analyze_shadow(
    db: &mut PgConnection,
    projection: &dyn Projection,
) -> Result<(), ProjectionError> {
    let schema = schema_of(projection.name(), Slot::Shadow);
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = $1",
    )
    .bind(&schema)
    .fetch_all(&mut *db)
    .await?;
    if !tables.is_empty() {
        sqlx::query(&format!("ANALYZE {}", tables.join(", ")))
            .execute(&mut *db)
            .await?;
    }
    Ok(())
}

/// Replaces the live tables and checkpoint with the shadow's, atomically, and answers the
/// checkpoint they now stand at; answers `None` and changes nothing when the live slot has moved
/// past the shadow (a reader would see time go back). The live runner is held off by the live
/// apply lock and continues from the shadow's checkpoint.
async fn swap_in(
    pool: &PgPool,
    projection: &dyn Projection,
) -> Result<Option<FeedPosition>, ProjectionError> {
    let name = projection.name();
    let live = schema_of(name, Slot::Live);
    let shadow = schema_of(name, Slot::Shadow);
    let retired = format!("{name}__retired");
    let mut tx = imi_store::pool::begin(pool).await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(format!("imi.projection.apply:{name}:live"))
        .execute(&mut *tx)
        .await?;
    let at = checkpoint(&mut tx, name, Slot::Shadow)
        .await?
        .unwrap_or_default();
    if checkpoint(&mut tx, name, Slot::Live)
        .await?
        .is_some_and(|live| at < live)
    {
        return Ok(None);
    }
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
    Ok(Some(at))
}
