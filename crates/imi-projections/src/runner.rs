//! The projector runner: applies the feed to a projection, batch by batch, moving the
//! checkpoint in the same transaction as the batch (exactly-once effect, crash-safe).
//!
//! Two locks keep runners apart: a session advisory lock makes one runner per projection the
//! active one across processes (the others stand by), and every batch also takes a
//! transaction advisory lock and re-reads the checkpoint under it, so even two runners that both
//! believe they are active never apply the same events.

use crate::active::{ActiveLocks, Lease};
use crate::fold_memory::Handle;
use crate::projection::{
    read_by, schema_of, split_reader_indexes, Projection, ProjectionError, Slot,
};
use imi_store::feed::{self, FeedPosition};
use imi_store::wake::{self, CHANNEL, PROGRESS_CHANNEL};
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool, Row};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::task::AbortOnDropHandle;

/// Events per batch while following the live feed.
pub const LIVE_BATCH: i64 = 1_000;
/// Events per batch while rebuilding: larger batches fold more changes to one row into one
/// write (measured in docs/BENCHMARKS.md: 10,000 -> 50,000 took a directory rebuild from
/// ~42,000 to ~70,000 events/s, for ~120 MB more peak memory).
pub const REBUILD_BATCH: i64 = 50_000;
/// Longest sleep between polls when no wake-up arrives.
const MAX_POLL: Duration = Duration::from_millis(1_000);
const MIN_POLL: Duration = Duration::from_millis(5);

pub(crate) fn apply_lock(name: &str, slot: Slot) -> String {
    format!("imi.projection.apply:{name}:{}", slot.as_str())
}

pub(crate) fn active_lock(name: &str) -> String {
    format!("imi.projection.active:{name}")
}

/// Creates the slot's schema, tables and checkpoint row if they do not exist yet.
/// Returns the version the slot was built with.
pub async fn ensure_slot(
    pool: &PgPool,
    projection: &dyn Projection,
    slot: Slot,
) -> Result<i32, ProjectionError> {
    let name = projection.name();
    let mut tx = imi_store::pool::begin(pool).await?;
    lock(&mut tx, &apply_lock(name, slot)).await?;
    let existing: Option<i32> =
        sqlx::query_scalar("SELECT version FROM projections WHERE name = $1 AND slot = $2")
            .bind(name)
            .bind(slot.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(version) = existing {
        return Ok(version);
    }
    create_tables(&mut tx, projection, slot).await?;
    sqlx::query("INSERT INTO projections (name, slot, version) VALUES ($1, $2, $3)")
        .bind(name)
        .bind(slot.as_str())
        .bind(projection.version())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(projection.version())
}

/// Drops and recreates the slot's schema, then runs the projection's DDL in it: all of it for
/// the live slot; for a shadow, without the indexes only readers use
/// ([`create_reader_indexes`] once the shadow is full).
pub(crate) async fn create_tables(
    db: &mut PgConnection,
    projection: &dyn Projection,
    slot: Slot,
) -> Result<(), ProjectionError> {
    let schema = schema_of(projection.name(), slot);
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&mut *db)
        .await?;
    sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
        .execute(&mut *db)
        .await?;
    set_search_path(db, &schema).await?;
    let (tables, reader_indexes) = split_reader_indexes(projection.tables_sql());
    run_script(db, tables).await?;
    if slot == Slot::Live {
        run_script(db, reader_indexes).await?;
    }
    sqlx::query("SELECT set_config('search_path', 'public', true)")
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// Creates the indexes [`create_tables`] left out of a shadow, once its tables are full.
pub(crate) async fn create_reader_indexes(
    db: &mut PgConnection,
    projection: &dyn Projection,
) -> Result<(), ProjectionError> {
    let (_, reader_indexes) = split_reader_indexes(projection.tables_sql());
    if reader_indexes.is_empty() {
        return Ok(());
    }
    set_search_path(db, &schema_of(projection.name(), Slot::Shadow)).await?;
    // Each index is one sort: in memory up to this much (PostgreSQL's default is 64 MB).
    sqlx::query("SELECT set_config('maintenance_work_mem', '256MB', true)")
        .execute(&mut *db)
        .await?;
    run_script(db, reader_indexes).await?;
    Ok(())
}

/// Runs a multi-statement script: a query without arguments goes over the simple query
/// protocol, which accepts several statements.
async fn run_script(db: &mut PgConnection, script: &'static str) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(db, script).await.map(|_| ())
}

pub(crate) async fn set_search_path(
    db: &mut PgConnection,
    schema: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('search_path', $1, true)")
        .bind(format!("\"{schema}\""))
        .execute(db)
        .await
        .map(|_| ())
}

async fn lock(db: &mut PgConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(key)
        .execute(db)
        .await
        .map(|_| ())
}

/// The checkpoint of a slot.
pub async fn checkpoint(
    db: &mut PgConnection,
    name: &str,
    slot: Slot,
) -> Result<Option<FeedPosition>, sqlx::Error> {
    let row = sqlx::query("SELECT xid, position FROM projections WHERE name = $1 AND slot = $2")
        .bind(name)
        .bind(slot.as_str())
        .fetch_optional(db)
        .await?;
    row.map(|r| {
        Ok(FeedPosition {
            xid: r.try_get("xid")?,
            position: r.try_get("position")?,
        })
    })
    .transpose()
}

/// Applies the next batch of at most `limit` events to the slot, in one transaction with its
/// checkpoint. Returns how many events its checkpoint moved past (0: caught up with the
/// horizon); `apply` sees only those of the types the projection reads.
pub async fn apply_batch(
    pool: &PgPool,
    projection: &dyn Projection,
    slot: Slot,
    limit: i64,
) -> Result<usize, ProjectionError> {
    Ok(apply_batch_counted(pool, projection, slot, limit)
        .await?
        .moved)
}

/// What one batch did: the events its checkpoint moved past, and those of them `apply` read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchCount {
    pub moved: usize,
    pub read: usize,
}

/// [`apply_batch`], also telling how many of the events the projection read (a rebuild's
/// progress counts those).
pub async fn apply_batch_counted(
    pool: &PgPool,
    projection: &dyn Projection,
    slot: Slot,
    limit: i64,
) -> Result<BatchCount, ProjectionError> {
    let name = projection.name();
    // Writes no events (so does not hold the feed back) and skips the WAL flush (derived data
    // that commits with its checkpoint).
    let mut tx = imi_store::pool::begin_with(pool, feed::PROJECTOR_BATCH).await?;
    // Fencing: whoever holds this applies; the checkpoint is read only after it is held.
    lock(&mut tx, &apply_lock(name, slot)).await?;
    let Some(after) = checkpoint(&mut tx, name, slot).await? else {
        return Ok(BatchCount::default());
    };
    let events = feed::read(&mut tx, after, limit).await?;
    let Some(last) = events.last().map(|e| e.at) else {
        return Ok(BatchCount::default());
    };
    let span = tracing::debug_span!(
        target: imi_store::trace::TARGET,
        "projection.batch",
        projection = name,
        slot = slot.as_str(),
        events = events.len()
    );
    let read =
        tracing::Instrument::instrument(commit_batch(tx, projection, slot, &events, last), span)
            .await?;
    if slot == Slot::Live {
        wake::projections_moved_to(pool, [name], last);
    }
    Ok(BatchCount {
        moved: events.len(),
        read,
    })
}

/// A feed read made ahead, on a connection of its own, for the batch that starts at `after`.
pub(crate) struct Ahead {
    after: FeedPosition,
    events: Vec<imi_store::feed::FeedEvent>,
}

/// The read ahead of the next batch, under way.
pub(crate) type Reading = tokio::task::JoinHandle<Result<Ahead, sqlx::Error>>;

/// A member's batch on its way on a task of its own: its writes sent, its checkpoint moved,
/// its transaction committed. Dropped, the task stops and the transaction rolls back.
pub(crate) type Sending = AbortOnDropHandle<Result<(), ProjectionError>>;

/// What a rebuild's batch did, and what it left under way.
pub(crate) struct RebuildBatch {
    /// Events the checkpoints moved past.
    pub moved: usize,
    /// Of those, the events each member read.
    pub read: Vec<usize>,
    /// The read of the next batch, when this one was full.
    pub ahead: Option<Reading>,
    /// Apart: each member's batch still on its way, in the members' order, for the next batch
    /// to await member by member.
    pub sending: Vec<Sending>,
}

impl RebuildBatch {
    fn nothing(members: usize) -> Self {
        Self {
            moved: 0,
            read: vec![0; members],
            ahead: None,
            sending: Vec::new(),
        }
    }
}

/// A rebuild's batch for one projection or several rebuilt together (`members`, whose shadow
/// checkpoints stand at the same position, each folding with its memory in `memories`):
/// [`apply_batch_counted`], reading the feed once for
/// all of them and only for the types they read (the others' payloads are neither sent nor
/// decoded), and taking its events from `ahead` when that read starts at the checkpoint found
/// under the apply locks (it was made from where the previous batch left the checkpoints;
/// otherwise the batch reads afresh). When the batch is full, it starts reading the next one
/// ahead while it applies this one, so that decoding the feed and applying overlap.
///
/// The members apply the batch one after the other, in their order, and move their
/// checkpoints either in one transaction or, `apart`, each in a transaction of its own: see
/// [`apply_apart`]. `sending` is what the previous batch left on its way (apart only).
pub(crate) async fn apply_rebuild_batch(
    pool: &PgPool,
    members: &[&dyn Projection],
    memories: &[Option<Handle>],
    limit: i64,
    ahead: Option<Reading>,
    sending: Vec<Sending>,
    apart: bool,
) -> Result<RebuildBatch, ProjectionError> {
    let slot = Slot::Shadow;
    let ahead = match ahead {
        Some(reading) => match reading.await {
            Ok(read) => Some(read?),
            Err(e) => return Err(sqlx::Error::Protocol(format!("feed read ahead: {e}")).into()),
        },
        None => None,
    };
    if apart {
        return apply_apart(pool, members, slot, memories, limit, ahead, sending).await;
    }
    // Only members apart leave batches on their way; should any come, they end first.
    for task in sending {
        joined(task).await?;
    }
    // A projector's batch (see apply_batch_counted), in one transaction.
    let mut tx = imi_store::pool::begin_with(pool, feed::PROJECTOR_BATCH).await?;
    fast_compression(&mut tx).await?;
    // Fencing: whoever holds these applies; the checkpoints are read only after they are held.
    let mut after = None;
    for member in members {
        let Some(at) = lock_checkpoint(&mut tx, *member, slot).await? else {
            return Ok(RebuildBatch::nothing(members.len()));
        };
        if after.is_some_and(|after| after != at) {
            return Err(standing_apart(*member, Some(at)));
        }
        after = Some(at);
    }
    let Some(after) = after else {
        return Ok(RebuildBatch::nothing(members.len()));
    };
    let Some((batch, next)) = read_batch(pool, &mut tx, members, after, limit, ahead).await? else {
        return Ok(RebuildBatch::nothing(members.len()));
    };
    let (moved, last) = (batch.moved, batch.last);
    let mut read = Vec::with_capacity(members.len());
    let applied = async {
        for (n, member) in members.iter().enumerate() {
            crate::shared_fold::applying(n);
            let apply = apply_and_move(&mut tx, *member, slot, &batch.events, moved, last);
            let apply = crate::fold_memory::scope(memories[n].clone(), apply);
            read.push(
                tracing::Instrument::instrument(apply, batch_span(*member, slot, moved)).await?,
            );
        }
        tx.commit().await?;
        Ok::<_, ProjectionError>(())
    }
    .await;
    if let Err(e) = applied {
        if let Some(next) = next {
            next.abort();
        }
        return Err(e);
    }
    Ok(RebuildBatch {
        moved,
        read,
        ahead: next,
        sending: Vec::new(),
    })
}

/// The members of a group apart: member n begins a transaction of its own once its batch
/// before has committed (`previous[n]`), computes its writes, and leaves them to a task that
/// sends them, moves its checkpoint and commits, while the members after it compute theirs and
/// the next batch begins: the server writes one member's rows while this process folds and
/// encodes the next ones', across batches too (the owner folds the next batch while the
/// others' rows of this one go in). A member's batch is still atomic with its checkpoint; a
/// failure may leave the members at different checkpoints, which fails the rebuild (a later
/// member finds its checkpoint apart, or its task's error surfaces), so nothing is swapped in.
async fn apply_apart(
    pool: &PgPool,
    members: &[&dyn Projection],
    slot: Slot,
    memories: &[Option<Handle>],
    limit: i64,
    mut ahead: Option<Ahead>,
    previous: Vec<Sending>,
) -> Result<RebuildBatch, ProjectionError> {
    let mut previous = previous.into_iter();
    let mut sending = Vec::with_capacity(members.len());
    let mut read = Vec::with_capacity(members.len());
    let mut next = None;
    let applied = async {
        let mut begun = None;
        for (n, member) in members.iter().enumerate() {
            if let Some(before) = previous.next() {
                joined(before).await?;
            }
            let mut tx = imi_store::pool::begin_with(pool, feed::PROJECTOR_BATCH).await?;
            fast_compression(&mut tx).await?;
            let at = lock_checkpoint(&mut tx, *member, slot).await?;
            let batch: &Batch = match (&begun, at) {
                (None, None) => return Ok(None),
                (None, Some(after)) => {
                    let Some((batch, reading)) =
                        read_batch(pool, &mut tx, members, after, limit, ahead.take()).await?
                    else {
                        return Ok(None);
                    };
                    next = reading;
                    begun.insert(batch)
                }
                (Some(batch), Some(at)) if at == batch.after => batch,
                (Some(_), at) => return Err(standing_apart(*member, at)),
            };
            crate::shared_fold::applying(n);
            let name = member.name();
            let of_member = read_by(*member, &batch.events);
            read.push(of_member.len());
            let writes = async {
                if of_member.is_empty() {
                    return Ok(crate::writes::Writes::default());
                }
                set_search_path(&mut tx, &schema_of(name, slot)).await?;
                member.apply(&mut tx, &of_member).await
            };
            let (moved, last) = (batch.moved, batch.last);
            let writes = crate::fold_memory::scope(memories[n].clone(), writes);
            let writes =
                tracing::Instrument::instrument(writes, batch_span(*member, slot, moved)).await?;
            let send = async move {
                writes.send(&mut tx).await?;
                move_checkpoint(&mut tx, name, slot, moved, last).await?;
                tx.commit().await?;
                Ok::<_, ProjectionError>(())
            };
            // The task that sends them runs in the member's memory scope, as its apply did.
            sending.push(AbortOnDropHandle::new(tokio::spawn(
                crate::fold_memory::scope(memories[n].clone(), send),
            )));
        }
        Ok(begun.map(|batch| batch.moved))
    }
    .await;
    match applied {
        Ok(Some(moved)) => Ok(RebuildBatch {
            moved,
            read,
            ahead: next,
            sending,
        }),
        // Nothing to apply, or a member failed: every task still on its way is awaited, so
        // that no transaction outlives a batch that ends the rebuild.
        outcome => {
            if let Some(next) = next {
                next.abort();
            }
            let mut failed = outcome.err();
            for task in previous.chain(sending) {
                if let Err(e) = joined(task).await {
                    failed.get_or_insert(e);
                }
            }
            match failed {
                Some(e) => Err(e),
                None => Ok(RebuildBatch::nothing(members.len())),
            }
        }
    }
}

/// Takes the member's apply lock in `tx`, then reads its checkpoint under it.
async fn lock_checkpoint(
    tx: &mut PgConnection,
    member: &dyn Projection,
    slot: Slot,
) -> Result<Option<FeedPosition>, sqlx::Error> {
    lock(tx, &apply_lock(member.name(), slot)).await?;
    checkpoint(tx, member.name(), slot).await
}

fn standing_apart(member: &dyn Projection, at: Option<FeedPosition>) -> ProjectionError {
    let name = member.name();
    sqlx::Error::Protocol(match at {
        Some(at) => format!("{name} stands at {at}, apart from the projections rebuilt with it"),
        None => format!("{name} has no checkpoint, unlike the projections rebuilt with it"),
    })
    .into()
}

/// A rebuild batch's events, as [`read_batch`] read them.
struct Batch {
    /// The checkpoint the batch starts after.
    after: FeedPosition,
    /// The events the members read.
    events: Vec<imi_store::feed::FeedEvent>,
    /// How many events the checkpoints move past (those of other types included).
    moved: usize,
    /// The position of the last of them.
    last: FeedPosition,
}

/// A batch's events after `after` for `members`, from `ahead` when it was read from there
/// (otherwise read on `db`), and the read of the next batch started when this one is full;
/// `None` when there are none. Members that all read the same types (one projection, or the
/// request group) get the batch without the events of other types, dropped from it once here:
/// `read_by` then lends every member the batch instead of copying the events it reads for each.
async fn read_batch(
    pool: &PgPool,
    db: &mut PgConnection,
    members: &[&dyn Projection],
    after: FeedPosition,
    limit: i64,
    ahead: Option<Ahead>,
) -> Result<Option<(Batch, Option<Reading>)>, sqlx::Error> {
    let types = types_read_by(members);
    let events = match ahead {
        Some(ahead) if ahead.after == after => ahead.events,
        _ => feed::read_of(db, after, limit, types.as_deref()).await?,
    };
    let Some(last) = events.last().map(|e| e.at) else {
        return Ok(None);
    };
    let next = (events.len() as i64 >= limit).then(|| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut conn = pool.acquire().await?;
            let events = feed::read_of(&mut conn, last, limit, types.as_deref()).await?;
            Ok(Ahead {
                after: last,
                events,
            })
        })
    });
    let moved = events.len();
    let events = if members
        .windows(2)
        .all(|w| w[0].aggregate_types() == w[1].aggregate_types())
    {
        only_read_by(members[0], events)
    } else {
        events
    };
    Ok(Some((
        Batch {
            after,
            events,
            moved,
            last,
        },
        next,
    )))
}

/// Waits for a member's batch on its way; its error, if it failed.
async fn joined(task: Sending) -> Result<(), ProjectionError> {
    task.await
        .map_err(|e| sqlx::Error::Protocol(format!("a member's writes: {e}")))?
}

/// The span of one member's batch.
fn batch_span(member: &dyn Projection, slot: Slot, events: usize) -> tracing::Span {
    tracing::debug_span!(
        target: imi_store::trace::TARGET,
        "projection.batch",
        projection = member.name(),
        slot = slot.as_str(),
        events = events
    )
}

/// `events` without those `projection` does not read.
fn only_read_by(
    projection: &dyn Projection,
    mut events: Vec<imi_store::feed::FeedEvent>,
) -> Vec<imi_store::feed::FeedEvent> {
    if let Some(types) = projection.aggregate_types() {
        events.retain(|e| types.contains(&e.aggregate_type.as_str()));
    }
    events
}

/// The aggregate types `members` read, together (`None`: every type).
fn types_read_by(members: &[&dyn Projection]) -> Option<Vec<&'static str>> {
    let mut types = Vec::new();
    for member in members {
        for t in member.aggregate_types()? {
            if !types.contains(t) {
                types.push(*t);
            }
        }
    }
    Some(types)
}

/// Compresses the large values the transaction writes (folded states, summaries) with lz4
/// where the server has it: a rebuild writes every state at least once, and pglz, the default,
/// took 1.8 times as long per state (docs/BENCHMARKS.md). Values read back the same way.
pub(crate) async fn fast_compression(db: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings
          WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)",
    )
    .execute(db)
    .await
    .map(|_| ())
}

/// Applies the events of `events` the projection reads and moves the checkpoint to `last`,
/// then commits; returns how many it read. Waiters in other processes learn of it at commit
/// (live slot only: nobody waits for a rebuild's shadow).
async fn commit_batch(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    projection: &dyn Projection,
    slot: Slot,
    events: &[imi_store::feed::FeedEvent],
    last: FeedPosition,
) -> Result<usize, ProjectionError> {
    let read = apply_and_move(&mut tx, projection, slot, events, events.len(), last).await?;
    tx.commit().await?;
    Ok(read)
}

/// Applies the events of `events` the projection reads and moves the checkpoint past the
/// batch's `moved` events to `last`, in the caller's transaction; returns how many it read.
async fn apply_and_move(
    tx: &mut PgConnection,
    projection: &dyn Projection,
    slot: Slot,
    events: &[imi_store::feed::FeedEvent],
    moved: usize,
    last: FeedPosition,
) -> Result<usize, ProjectionError> {
    let name = projection.name();
    let read = read_by(projection, events);
    if !read.is_empty() {
        set_search_path(&mut *tx, &schema_of(name, slot)).await?;
        projection
            .apply(&mut *tx, &read)
            .await?
            .send(&mut *tx)
            .await?;
    }
    move_checkpoint(tx, name, slot, moved, last).await?;
    Ok(read.len())
}

/// Moves a slot's checkpoint past a batch's `moved` events to `last`, telling waiters of a
/// live slot (at commit).
async fn move_checkpoint(
    tx: &mut PgConnection,
    name: &str,
    slot: Slot,
    moved: usize,
    last: FeedPosition,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH moved AS (
           UPDATE public.projections
              SET xid = $3, position = $4, events_applied = events_applied + $5,
                  updated_at = now()
            WHERE name = $1 AND slot = $2
           RETURNING slot)
         SELECT pg_notify($6, '') FROM moved WHERE slot = 'live'",
    )
    .bind(name)
    .bind(slot.as_str())
    .bind(last.xid)
    .bind(last.position)
    .bind(moved as i64)
    .bind(PROGRESS_CHANNEL)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Keeps one projection's live slot up to date, for as long as the task runs.
pub struct Runner {
    pool: PgPool,
    projection: Arc<dyn Projection>,
    local_wake: Option<watch::Receiver<u64>>,
    /// Whether the wake receiver also ticks on other processes' commits (then no LISTEN here).
    shared_wake: bool,
    locks: Arc<ActiveLocks>,
    stop: Option<watch::Receiver<bool>>,
}

impl Runner {
    /// A runner with its own lock connection and its own LISTEN (standalone use).
    pub fn new(pool: PgPool, projection: Arc<dyn Projection>) -> Self {
        Self {
            locks: Arc::new(ActiveLocks::new(pool.clone())),
            pool,
            projection,
            local_wake: None,
            shared_wake: false,
            stop: None,
        }
    }

    /// Also wake on commits made in this process (no round trip through NOTIFY).
    pub fn with_local_wake(mut self, wake: watch::Receiver<u64>) -> Self {
        self.local_wake = Some(wake);
        self
    }

    /// Wake on `wake`, which ticks on commits of this process and of others (one LISTEN for
    /// the whole process, see [`imi_store::wake::Wake::listen`]): the runner opens none.
    pub fn with_shared_wake(mut self, wake: watch::Receiver<u64>) -> Self {
        self.local_wake = Some(wake);
        self.shared_wake = true;
        self
    }

    /// Hold the active lock on `locks`, shared with the process's other runners.
    pub fn with_locks(mut self, locks: Arc<ActiveLocks>) -> Self {
        self.locks = locks;
        self
    }

    /// Return (after the batch in progress) once `stop` turns true.
    pub fn with_stop(mut self, stop: watch::Receiver<bool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Stop asked, or its sender gone (nobody can ask any more: as good as asked).
    fn stopping(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| *s.borrow() || s.has_changed().is_err())
    }

    /// Runs until stopped (`Ok`), the task is dropped, or an error occurs. Waits while another
    /// runner holds the projection; rebuilds blue/green first when the code's version is new.
    pub async fn run(mut self) -> Result<(), ProjectionError> {
        let name = self.projection.name();
        let key = active_lock(name);
        let lease = loop {
            if self.stopping() {
                return Ok(());
            }
            if let Some(lease) = self.locks.try_take(&key).await? {
                break lease;
            }
            self.pause(MAX_POLL).await;
        };
        tracing::info!(projection = name, "runner active");
        let outcome = self.active(&lease).await;
        wake::not_applied_here(&self.pool, name);
        self.locks.release(&lease).await;
        outcome
    }

    async fn pause(&mut self, how_long: Duration) {
        match self.stop.as_mut() {
            Some(stop) => {
                tokio::select! {
                    _ = stop.changed() => {}
                    _ = tokio::time::sleep(how_long) => {}
                }
            }
            None => tokio::time::sleep(how_long).await,
        }
    }

    async fn active(&mut self, lease: &Lease) -> Result<(), ProjectionError> {
        let name = self.projection.name();
        let live_version = ensure_slot(&self.pool, self.projection.as_ref(), Slot::Live).await?;
        if live_version != self.projection.version() {
            tracing::info!(
                projection = name,
                from = live_version,
                to = self.projection.version(),
                "version changed: rebuilding blue/green"
            );
            crate::rebuild::rebuild(&self.pool, self.projection.as_ref(), |_| {}).await?;
        }
        let mut listener = if self.shared_wake {
            None
        } else {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(CHANNEL).await?;
            Some(listener)
        };
        let mut poll = MIN_POLL;
        loop {
            if self.stopping() {
                tracing::info!(projection = name, "runner stopped");
                return Ok(());
            }
            let applied =
                apply_batch(&self.pool, self.projection.as_ref(), Slot::Live, LIVE_BATCH).await?;
            if applied as i64 == LIVE_BATCH {
                continue;
            }
            if applied > 0 {
                poll = MIN_POLL;
            }
            // Events may sit above the horizon behind an open transaction: poll adaptively,
            // and wake at once on a commit signal from this or another process.
            let (local_wake, stop_rx) = (&mut self.local_wake, &mut self.stop);
            let local = async {
                match local_wake.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            let remote = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            };
            let stop = async {
                match stop_rx.as_mut() {
                    Some(s) => {
                        let _ = s.changed().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = local => { poll = MIN_POLL; }
                notice = remote => { notice?; poll = MIN_POLL; }
                _ = stop => {}
                _ = tokio::time::sleep(poll) => { poll = (poll * 2).min(MAX_POLL); }
            }
            // Keep the lock's connection alive, and stop if it was lost.
            if !self.locks.holds(lease).await {
                return Err(ProjectionError::LostActiveLock(name.to_string()));
            }
        }
    }
}

/// How often a waiter re-reads from the database the checkpoints of projections this process
/// applies: a safety net (another process may have taken one over), not the way waiters
/// learn of progress.
const WAIT_RECHECK: Duration = Duration::from_millis(100);

/// Waits until every named live projection has applied the event at `target`, at most
/// `timeout`. Returns whether they all did. Woken when checkpoints move (in this process at
/// once, in others through the process's LISTEN, see [`imi_store::wake::Wake::listen`]).
/// Where this process applies a projection, its checkpoint is known here
/// ([`wake::committed_here`]); the database is asked only for the others, and for all of them
/// every [`WAIT_RECHECK`].
pub async fn wait_for(
    pool: &PgPool,
    names: &[&str],
    target: FeedPosition,
    timeout: Duration,
) -> Result<bool, sqlx::Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut recheck = tokio::time::Instant::now() + WAIT_RECHECK;
    let mut moved = wake::watch_projections();
    loop {
        // Marked seen before reading: a move after the read still wakes the wait below.
        moved.borrow_and_update();
        let behind: Vec<(&str, bool)> = names
            .iter()
            .filter_map(|&name| match wake::committed_here(pool, name) {
                Some(at) if at >= target => None,
                at => Some((name, at.is_some())),
            })
            .collect();
        if behind.is_empty() {
            return Ok(true);
        }
        let now = tokio::time::Instant::now();
        if behind.iter().any(|(_, here)| !here) || now >= recheck {
            let names: Vec<&str> = behind.iter().map(|(name, _)| *name).collect();
            if behind_in_database(pool, &names, target).await? == 0 {
                return Ok(true);
            }
            recheck = now + WAIT_RECHECK;
        }
        if now >= deadline {
            return Ok(false);
        }
        tokio::select! {
            _ = moved.changed() => {}
            _ = tokio::time::sleep_until(deadline.min(recheck)) => {}
        }
    }
}

/// How many of the named live projections have not applied the event at `target`.
async fn behind_in_database(
    pool: &PgPool,
    names: &[&str],
    target: FeedPosition,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM unnest($1::text[]) AS n(name)
          WHERE NOT EXISTS (SELECT 1 FROM projections p
                             WHERE p.name = n.name AND p.slot = 'live'
                               AND (p.xid, p.position) >= ($2, $3))",
    )
    .bind(names)
    .bind(target.xid)
    .bind(target.position)
    .fetch_one(pool)
    .await
}
