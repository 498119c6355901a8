//! The projection engine: one per process, it keeps up to date every projection whose active
//! lock it holds, reading the feed once per batch for all of them.
//!
//! The projections that are caught up form the *group*. A group batch is one transaction: it
//! takes every member's apply lock, reads their checkpoints under them, reads the feed once
//! from the lowest checkpoint, hands each member the events after its own checkpoint (only
//! those of the aggregate types it reads), each in its own savepoint so that a failing member
//! is rolled back alone, and moves the checkpoints of all members that applied with one
//! statement. Round trips are what a batch costs: each member's writes travel with the next
//! member's savepoint, the last one's with the checkpoints' move. Since each member gets exactly the events after its checkpoint, read under its
//! apply lock, in feed order and below the horizon, nothing is skipped or applied twice, even
//! when members stand at different positions (a rebuild swapped in, a member just joined).
//!
//! The group is dealt into *lanes* ([`Engine::with_lanes`], [`deal`]): each lane is such a batch, in a
//! transaction and on a connection of its own, and the lanes run at once. The request
//! projections of a lane given the same events share one fold of them ([`crate::shared_fold`]):
//! the first loads and folds the requests, the others write the result into their own tables. A projection's
//! batch costs mostly round trips, so lanes overlap one projection's waits with another's
//! work; each lane commits (and wakes those waiting for its projections) as soon as it is
//! done. Lanes hold disjoint members and take their locks in name order, so they never
//! wait for each other. After a round that read a backlog ([`MERGE_AT`]), the next runs every
//! member in one lane: under load one transaction carries more events at a lower cost each.
//!
//! A projection that lags (just taken over, new, rebuilding, or failed in a group batch)
//! catches up alone, with its own batches ([`crate::runner::apply_batch`]), in a task of its
//! own so that the group does not wait for it; once a batch finds it at the horizon it joins
//! the group. One active engine per projection across processes: the session advisory locks
//! of [`ActiveLocks`]; a standby engine retries the locks it lacks and takes a projection over
//! once its holder releases it.

use crate::active::{ActiveLocks, Lease};
use crate::projection::{read_by, schema_of, Projection, ProjectionError, Slot};
use crate::runner::{active_lock, apply_batch, apply_lock, ensure_slot, LIVE_BATCH};
use imi_store::feed;
use imi_store::wake::{self, PROGRESS_CHANNEL};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How often the locks of projections held elsewhere are tried again.
const TAKE_OVER_EVERY: Duration = Duration::from_millis(1_000);
/// How long a failed projection waits before it tries again alone.
const RETRY_AFTER: Duration = Duration::from_millis(1_000);
/// Longest sleep between polls when no wake-up arrives: an event can become readable without
/// a signal (it sat above the horizon behind a transaction that wrote no event).
const MAX_POLL: Duration = Duration::from_millis(1_000);
const MIN_POLL: Duration = Duration::from_millis(5);

enum State {
    /// Another process (or nobody yet) holds its active lock.
    Standby,
    /// Catching up alone, in a task of its own.
    CatchingUp { lease: Lease, task: JoinHandle<()> },
    /// Caught up: applied by the group's batches.
    Grouped { lease: Lease },
}

impl State {
    fn lease(&self) -> Option<&Lease> {
        match self {
            State::Standby => None,
            State::CatchingUp { lease, .. } | State::Grouped { lease } => Some(lease),
        }
    }
}

/// Why the engine woke.
enum Woke {
    Commit,
    Done(Option<(usize, Result<(), ProjectionError>)>),
    Stop,
    Timeout,
}

/// What a group batch did.
struct Batch {
    /// Events read from the feed (0: every member is at the horizon).
    read: usize,
    /// Whether a committed event waits above the horizon ([`feed::LowestRead::held`]).
    held: bool,
    /// Members whose apply failed (rolled back to their savepoint), by index.
    failed: Vec<(usize, ProjectionError)>,
}

/// The lane of each of `names` among `lanes`: each group goes whole into the lane with the fewest
/// projections so far (groups in the order given, a name in the first group that holds it),
/// then the other projections, in name order, one by one into the lane with the fewest.
pub fn deal(names: &[&str], groups: &[Vec<&str>], lanes: usize) -> Vec<usize> {
    let lanes = lanes.max(1);
    let mut lane_of: Vec<Option<usize>> = vec![None; names.len()];
    let mut sizes = vec![0usize; lanes];
    let fewest = |sizes: &[usize]| (0..sizes.len()).min_by_key(|&l| sizes[l]).unwrap_or(0);
    for group in groups {
        let members: Vec<usize> = (0..names.len())
            .filter(|&i| lane_of[i].is_none() && group.contains(&names[i]))
            .collect();
        if members.is_empty() {
            continue;
        }
        let lane = fewest(&sizes);
        for i in members {
            lane_of[i] = Some(lane);
            sizes[lane] += 1;
        }
    }
    let mut rest: Vec<usize> = (0..names.len()).filter(|&i| lane_of[i].is_none()).collect();
    rest.sort_by_key(|&i| names[i]);
    for i in rest {
        let lane = fewest(&sizes);
        lane_of[i] = Some(lane);
        sizes[lane] += 1;
    }
    lane_of.into_iter().map(|l| l.unwrap_or(0)).collect()
}

/// Keeps a set of projections up to date for as long as its task runs.
pub struct Engine {
    pool: PgPool,
    projections: Vec<Arc<dyn Projection>>,
    locks: Arc<ActiveLocks>,
    wake: Option<watch::Receiver<u64>>,
    stop: Option<watch::Receiver<bool>>,
    limit: i64,
    lanes: usize,
    /// Projections that share a lane (see [`Engine::with_lane_groups`]).
    groups: Vec<Vec<&'static str>>,
    /// The lane of each projection, dealt once when the engine starts ([`deal`]).
    lane_of: Vec<usize>,
    /// The longest wait between looks at the feed when nothing wakes the engine.
    max_poll: Duration,
    /// A round that read at least this many events is followed by one in a single lane
    /// (`usize::MAX`: never).
    merge_at: usize,
}

/// Lanes when none are set: one connection each while a batch runs.
pub const DEFAULT_LANES: usize = 3;

/// Events read by a round past which the next round runs its lanes as one transaction. Lanes
/// keep a waiting client's wait short while the engine keeps up: each commits as soon as its own
/// projections are done. But each lane's batch has fixed costs (its transaction, locks, feed
/// read, checkpoints' move, and a round trip or two per member whatever the events), and rounds
/// in lanes are shorter, so each carries fewer events. Once events come faster than that (a
/// round read this many), one transaction for every member carries more events at a lower cost
/// each, and the engine keeps up with more (docs/BENCHMARKS.md, "Lanes merged under a backlog").
pub const MERGE_AT: usize = 16;

impl Engine {
    pub fn new(pool: PgPool, projections: Vec<Arc<dyn Projection>>) -> Self {
        Self {
            locks: Arc::new(ActiveLocks::new(pool.clone())),
            pool,
            projections,
            wake: None,
            stop: None,
            limit: LIVE_BATCH,
            lanes: DEFAULT_LANES,
            groups: Vec::new(),
            lane_of: Vec::new(),
            max_poll: MAX_POLL,
            merge_at: MERGE_AT,
        }
    }

    /// After a round that read at least `events`, run the next one in a single lane (see
    /// [`MERGE_AT`]); 0: always in the lanes.
    pub fn with_merge_at(mut self, events: usize) -> Self {
        self.merge_at = if events == 0 { usize::MAX } else { events };
        self
    }

    /// Look at the feed at least every `max` when nothing wakes the engine (1 s unless set).
    pub fn with_max_poll(mut self, max: Duration) -> Self {
        self.max_poll = max.max(MIN_POLL);
        self
    }

    /// Keep each group of projections (by name) in one lane: a client that waits for all of a
    /// group is then released by one lane's commit rather than by the last of several.
    pub fn with_lane_groups(mut self, groups: Vec<Vec<&'static str>>) -> Self {
        self.groups = groups;
        self
    }

    /// Run the group's batch in `lanes` transactions at once (at least one).
    pub fn with_lanes(mut self, lanes: usize) -> Self {
        self.lanes = lanes.max(1);
        self
    }

    /// Wake on `wake`, which ticks on commits of events (this process's, and others' through
    /// the process's one LISTEN, see [`imi_store::wake::Wake::listen`]).
    pub fn with_wake(mut self, wake: watch::Receiver<u64>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Hold the active locks on `locks` (shared with other engines or runners of the process).
    pub fn with_locks(mut self, locks: Arc<ActiveLocks>) -> Self {
        self.locks = locks;
        self
    }

    /// Return (after the batch in progress) once `stop` turns true.
    pub fn with_stop(mut self, stop: watch::Receiver<bool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// At most `limit` events per group batch.
    pub fn with_batch_limit(mut self, limit: i64) -> Self {
        self.limit = limit.max(1);
        self
    }

    /// Stop asked, or its sender gone (nobody can ask any more: as good as asked).
    fn stopping(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| *s.borrow() || s.has_changed().is_err())
    }

    /// Runs until stopped (`Ok`), the task is dropped, or a batch fails for a reason no single
    /// projection explains (`Err`, e.g. the database went away). Gives every lock up on return.
    pub async fn run(mut self) -> Result<(), ProjectionError> {
        let names: Vec<&str> = self.projections.iter().map(|p| p.name()).collect();
        self.lane_of = deal(&names, &self.groups, self.lanes);
        let mut states: Vec<State> = self.projections.iter().map(|_| State::Standby).collect();
        let (done_tx, mut done_rx) =
            mpsc::unbounded_channel::<(usize, Result<(), ProjectionError>)>();
        let outcome = self.drive(&mut states, &done_tx, &mut done_rx).await;
        for (i, state) in states.into_iter().enumerate() {
            if state.lease().is_some() {
                wake::not_applied_here(&self.pool, self.projections[i].name());
            }
            match state {
                State::Standby => {}
                State::CatchingUp { lease, task } => {
                    task.abort();
                    let _ = task.await;
                    self.locks.release(&lease).await;
                }
                State::Grouped { lease } => self.locks.release(&lease).await,
            }
        }
        outcome
    }

    async fn drive(
        &mut self,
        states: &mut [State],
        done_tx: &mpsc::UnboundedSender<(usize, Result<(), ProjectionError>)>,
        done_rx: &mut mpsc::UnboundedReceiver<(usize, Result<(), ProjectionError>)>,
    ) -> Result<(), ProjectionError> {
        let mut next_take = Instant::now();
        let mut poll = MIN_POLL;
        let mut was_held = false;
        let mut merged = false;
        loop {
            if self.stopping() {
                return Ok(());
            }
            // Take over the projections nobody here holds, when their lock is free.
            if Instant::now() >= next_take {
                for (i, state) in states.iter_mut().enumerate() {
                    if matches!(state, State::Standby) {
                        let name = self.projections[i].name();
                        if let Some(lease) = self.locks.try_take(&active_lock(name)).await? {
                            tracing::info!(projection = name, "engine active");
                            let task = self.catch_up(i, Duration::ZERO, done_tx);
                            *state = State::CatchingUp { lease, task };
                        }
                    }
                }
                next_take = Instant::now() + TAKE_OVER_EVERY;
            }
            // Those that caught up join the group; those that failed try again later.
            while let Ok((i, result)) = done_rx.try_recv() {
                self.finished(states, i, result, done_tx);
            }
            let members: Vec<usize> = (0..states.len())
                .filter(|&i| matches!(states[i], State::Grouped { .. }))
                .collect();
            let (mut read, mut held) = (0, false);
            if !members.is_empty() {
                let batch = self.batch_in_lanes(&members, merged).await?;
                (read, held) = (batch.read, batch.held);
                merged = read >= self.merge_at;
                for (i, error) in batch.failed {
                    let name = self.projections[i].name();
                    tracing::error!(projection = name, %error, "projection failed; it retries alone");
                    self.leave_group(states, i, RETRY_AFTER, done_tx);
                }
            }
            if read as i64 >= self.limit {
                // A backlog: the next batch at once.
                continue;
            }
            // Events wait above the horizon behind an open transaction: look again soon (later
            // and later while the same wait goes on without progress). Otherwise every event
            // committed so far was read, and the next one wakes the engine (a commit here, or
            // another process's NOTIFY): the poll only covers a lost notification, and grows
            // while nothing comes.
            if held && (read > 0 || !was_held) {
                poll = MIN_POLL;
            }
            was_held = held;
            // Wake at once on a commit, a projection done catching up, or a stop.
            let (wake, stop) = (&mut self.wake, &mut self.stop);
            let woken = async {
                match wake.as_mut() {
                    Some(rx) => {
                        if rx.changed().await.is_err() {
                            std::future::pending::<()>().await
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            let stopped = async {
                match stop.as_mut() {
                    Some(s) => {
                        let _ = s.changed().await;
                    }
                    None => std::future::pending().await,
                }
            };
            let take_due = states.iter().any(|s| matches!(s, State::Standby));
            let until = if take_due {
                next_take.min(Instant::now() + poll)
            } else {
                Instant::now() + poll
            };
            let woke = tokio::select! {
                _ = woken => Woke::Commit,
                done = done_rx.recv() => Woke::Done(done),
                _ = stopped => Woke::Stop,
                _ = tokio::time::sleep_until(until) => Woke::Timeout,
            };
            match woke {
                Woke::Done(Some((i, result))) => self.finished(states, i, result, done_tx),
                Woke::Commit | Woke::Done(None) | Woke::Stop => {}
                Woke::Timeout => poll = (poll * 2).min(self.max_poll),
            }
            // Keep the lock connection alive; give up what was lost with it (another engine
            // may be active for those now), and try to take them again later.
            let held: Vec<(usize, &Lease)> = states
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.lease().map(|l| (i, l)))
                .collect();
            let leases: Vec<&Lease> = held.iter().map(|(_, l)| *l).collect();
            let alive = self.locks.hold_all(&leases).await;
            let lost: Vec<usize> = held
                .iter()
                .zip(alive)
                .filter(|(_, alive)| !alive)
                .map(|((i, _), _)| *i)
                .collect();
            for i in lost {
                tracing::warn!(
                    projection = self.projections[i].name(),
                    "lost the active lock; standing by"
                );
                wake::not_applied_here(&self.pool, self.projections[i].name());
                if let State::CatchingUp { task, .. } =
                    std::mem::replace(&mut states[i], State::Standby)
                {
                    task.abort();
                    let _ = task.await;
                }
            }
        }
    }

    /// A projection's catch-up task ended.
    fn finished(
        &self,
        states: &mut [State],
        i: usize,
        result: Result<(), ProjectionError>,
        done_tx: &mpsc::UnboundedSender<(usize, Result<(), ProjectionError>)>,
    ) {
        let State::CatchingUp { .. } = &states[i] else {
            // Lost its lock meanwhile: a stale report.
            return;
        };
        let State::CatchingUp { lease, .. } = std::mem::replace(&mut states[i], State::Standby)
        else {
            unreachable!("matched above")
        };
        let name = self.projections[i].name();
        match result {
            Ok(()) => {
                tracing::debug!(projection = name, "caught up: joins the group");
                states[i] = State::Grouped { lease };
            }
            Err(error) => {
                tracing::error!(projection = name, %error, "projection failed; retrying");
                let task = self.catch_up(i, RETRY_AFTER, done_tx);
                states[i] = State::CatchingUp { lease, task };
            }
        }
    }

    fn leave_group(
        &self,
        states: &mut [State],
        i: usize,
        delay: Duration,
        done_tx: &mpsc::UnboundedSender<(usize, Result<(), ProjectionError>)>,
    ) {
        if let State::Grouped { lease } = std::mem::replace(&mut states[i], State::Standby) {
            let task = self.catch_up(i, delay, done_tx);
            states[i] = State::CatchingUp { lease, task };
        }
    }

    /// Brings projection `i` to the horizon alone, after `delay`: creates its tables if new,
    /// rebuilds it blue/green if its code's version changed, then applies batches until one
    /// finds it caught up. Reports on `done`.
    fn catch_up(
        &self,
        i: usize,
        delay: Duration,
        done: &mpsc::UnboundedSender<(usize, Result<(), ProjectionError>)>,
    ) -> JoinHandle<()> {
        let (pool, projection, done) =
            (self.pool.clone(), self.projections[i].clone(), done.clone());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let result = async {
                let p = projection.as_ref();
                let live_version = ensure_slot(&pool, p, Slot::Live).await?;
                if live_version != p.version() {
                    tracing::info!(
                        projection = p.name(),
                        from = live_version,
                        to = p.version(),
                        "version changed: rebuilding blue/green"
                    );
                    crate::rebuild::rebuild(&pool, p, |_| {}).await?;
                }
                while apply_batch(&pool, p, Slot::Live, LIVE_BATCH).await? as i64 >= LIVE_BATCH {}
                Ok(())
            }
            .await;
            let _ = done.send((i, result));
        })
    }

    /// One group batch over `members`, each in the lane dealt to it (all in one when
    /// `merged`), the lanes run at once. Read: the most any lane read (a backlog in one lane
    /// means another batch).
    async fn batch_in_lanes(
        &self,
        members: &[usize],
        merged: bool,
    ) -> Result<Batch, ProjectionError> {
        let count = if merged { 1 } else { self.lanes.max(1) };
        let mut lanes: Vec<Vec<usize>> = vec![Vec::new(); count];
        for &i in members {
            lanes[if merged { 0 } else { self.lane_of[i] }].push(i);
        }
        lanes.retain(|lane| !lane.is_empty());
        // Each lane's members share their folds of the batch (crate::shared_fold).
        let outcomes = futures::future::join_all(
            lanes
                .iter()
                .map(|lane| crate::shared_fold::live(self.batch(lane))),
        )
        .await;
        let mut all = Batch {
            read: 0,
            held: false,
            failed: Vec::new(),
        };
        for outcome in outcomes {
            let batch = outcome?;
            all.read = all.read.max(batch.read);
            all.held |= batch.held;
            all.failed.extend(batch.failed);
        }
        Ok(all)
    }

    /// One group batch over `members` (indexes into the projections), in one transaction.
    async fn batch(&self, members: &[usize]) -> Result<Batch, ProjectionError> {
        // Locks in name order: two engines locking overlapping sets never deadlock.
        let mut members: Vec<usize> = members.to_vec();
        members.sort_by_key(|&i| self.projections[i].name());
        let names: Vec<&str> = members
            .iter()
            .map(|&i| self.projections[i].name())
            .collect();
        let keys: Vec<String> = names.iter().map(|n| apply_lock(n, Slot::Live)).collect();
        let started = Instant::now();

        // A projector's batch (see runner::apply_batch_counted), its apply locks taken in the
        // same round trip as the BEGIN.
        let begin = format!(
            "{}; SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest({}::text[]) AS k",
            feed::PROJECTOR_BATCH,
            crate::writes::literal(&keys)
        );
        let mut tx = imi_store::pool::begin_with(&self.pool, begin).await?;
        // Fencing: the checkpoints are read in a later statement than the locks, so under them.
        let feed::LowestRead { at, events, held } =
            feed::read_after_lowest(&mut tx, &names, self.limit).await?;
        let Some(last) = events.last().map(|e| e.at) else {
            // No member has a checkpoint, or every one is at the horizon.
            return Ok(Batch {
                read: 0,
                held,
                failed: Vec::new(),
            });
        };

        let mut moved: Vec<&str> = Vec::new();
        let mut counts: Vec<i64> = Vec::new();
        let mut failed = Vec::new();
        let read_at = started.elapsed();
        let mut spent: Vec<(&str, Duration)> = Vec::new();
        // The members that apply: those behind the batch's end, with the events after their
        // own checkpoint that they read. All of them are in `events`, since the read started at
        // the lowest checkpoint and is contiguous in feed order.
        let mut applying = Vec::new();
        for (n, &i) in members.iter().enumerate() {
            let projection = self.projections[i].as_ref();
            let Some(checkpoint) = at.get(projection.name()).copied() else {
                continue;
            };
            if checkpoint >= last {
                // Ahead of this batch (e.g. a rebuild swapped in): the group passes it later.
                continue;
            }
            let after = &events[events.partition_point(|e| e.at <= checkpoint)..];
            let read = read_by(projection, after);
            if read.is_empty() {
                moved.push(projection.name());
                counts.push(after.len() as i64);
            } else {
                applying.push((n, i, read, after.len() as i64));
            }
        }
        // Each member applies in a savepoint of its own with its `search_path`; both are opened
        // in the round trip of the previous member's writes when those succeed.
        let start_of = |n: usize, i: usize| {
            let schema = schema_of(self.projections[i].name(), Slot::Live);
            format!("SAVEPOINT member_{n}; SET LOCAL search_path = \"{schema}\"")
        };
        // The last member's writes carry the checkpoints' move, its own included.
        let mut started_next = false;
        let mut checkpoints_moved = false;
        for (k, (n, i, read, count)) in applying.iter().enumerate() {
            let projection = self.projections[*i].as_ref();
            let member_started = Instant::now();
            if !started_next {
                sqlx::Executor::execute(&mut *tx, start_of(*n, *i).as_str()).await?;
            }
            let next = match applying.get(k + 1) {
                Some((n, i, ..)) => start_of(*n, *i),
                None => {
                    let names = moved.iter().copied().chain([projection.name()]);
                    let counts = counts.iter().copied().chain([*count]);
                    move_checkpoints(names, counts, last)
                }
            };
            crate::shared_fold::applying(*n);
            let applied = match projection.apply(&mut tx, read).await {
                Ok(writes) => writes
                    .send_then(&mut tx, Some(&next))
                    .await
                    .map_err(ProjectionError::from),
                Err(error) => Err(error),
            };
            match applied {
                Ok(()) => {
                    started_next = true;
                    checkpoints_moved = k + 1 == applying.len();
                    spent.push((projection.name(), member_started.elapsed()));
                    moved.push(projection.name());
                    counts.push(*count);
                }
                Err(error) => {
                    // Its writes failed or never went: the next member was not started.
                    sqlx::Executor::execute(
                        &mut *tx,
                        format!("ROLLBACK TO SAVEPOINT member_{n}").as_str(),
                    )
                    .await?;
                    started_next = false;
                    failed.push((*i, error));
                }
            }
        }
        if moved.is_empty() {
            // Nothing applied: roll back (dropping the transaction does).
            return Ok(Batch {
                read: events.len(),
                held,
                failed,
            });
        }
        if !checkpoints_moved {
            // No member applied last: the move goes on its own.
            let sql = move_checkpoints(moved.iter().copied(), counts.iter().copied(), last);
            sqlx::Executor::execute(&mut *tx, sql.as_str()).await?;
        }
        tx.commit().await?;
        wake::projections_moved_to(&self.pool, moved.iter().copied(), last);
        tracing::debug!(
            events = events.len(),
            read_ms = read_at.as_secs_f64() * 1e3,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            members = ?spent
                .iter()
                .map(|(n, d)| format!("{n}:{:.1}", d.as_secs_f64() * 1e3))
                .collect::<Vec<_>>(),
            "group batch"
        );
        Ok(Batch {
            read: events.len(),
            held,
            failed,
        })
    }
}

/// The statement moving the live checkpoints of `names` past their counts of events to `last`,
/// and telling listening processes; its values inlined, so that it can travel with a member's
/// writes. It fails, and with it the batch, unless it moved every one of them.
pub fn move_checkpoints<'a>(
    names: impl Iterator<Item = &'a str>,
    counts: impl Iterator<Item = i64>,
    last: feed::FeedPosition,
) -> String {
    let names: Vec<String> = names.map(str::to_string).collect();
    let counts: Vec<String> = counts.map(|n| n.to_string()).collect();
    let expected = names.len();
    format!(
        "WITH moved AS (
           UPDATE public.projections p
              SET xid = {xid}, position = {position}, events_applied = p.events_applied + m.n,
                  updated_at = now()
             FROM unnest({names}::text[], '{{{counts}}}'::bigint[]) AS m(name, n)
            WHERE p.name = m.name AND p.slot = 'live'
           RETURNING 1)
         SELECT CASE WHEN count(*) = {expected} THEN 0
                     ELSE ('moved ' || count(*) || ' checkpoints of {expected}')::int END,
                pg_notify({channel}, '')
           FROM moved",
        xid = last.xid,
        position = last.position,
        names = crate::writes::literal(&names),
        counts = counts.join(","),
        channel = crate::writes::dollar_quoted(PROGRESS_CHANNEL),
    )
}

#[cfg(test)]
mod tests {
    use super::deal;

    #[test]
    fn a_group_shares_one_lane_and_the_others_fill_the_emptiest() {
        let names = ["e", "a", "d", "c", "b", "f"];
        let lanes = deal(&names, &[vec!["c", "d", "zz"], vec!["c", "f"]], 3);
        assert_eq!(lanes[3], lanes[2], "c and d share a lane");
        // c went with the first group; f alone from the second, into an empty lane.
        assert_ne!(lanes[5], lanes[2]);
        let mut sizes = [0; 3];
        for l in &lanes {
            sizes[*l] += 1;
        }
        assert_eq!(sizes, [2, 2, 2], "the rest fill the emptiest lanes");
    }

    #[test]
    fn without_groups_the_projections_are_dealt_in_name_order() {
        let lanes = deal(&["c", "a", "b", "d"], &[], 2);
        // a, b, c, d go to lanes 0, 1, 0, 1.
        assert_eq!(lanes, vec![0, 0, 1, 1]);
    }
}
