//! The scheduler: acts on every time rule when it falls due.
//!
//! It is driven by the log and a clock: the `deadlines` projection holds each pending rule
//! with the system command that acts on it; when the clock passes a rule's due time the
//! scheduler issues that command as `Actor::System { process: "scheduler" }`. What follows
//! (an expiry, a reminder, a period's end) is an event like any other, so the outbox announces
//! it and the views show it.
//!
//! Never twice: each command carries the deadline's id as its idempotency key (a retried
//! command returns the first one's result without writing), aggregates refuse to record the
//! same fact twice, and what was done is kept in `deadline_actions`. One process at a time:
//! the scheduler holds a session advisory lock; others wait as standbys and take over when it
//! goes.
//!
//! Retention: blocking is a command like the others; deletion is a command that records the
//! fact, then the erasure of the exchange's data key (with its attachments' bytes). The
//! deletion rule is done only once the key is erased; a retried command answers as the first
//! (same idempotency key), so an erasure interrupted after the event is completed later.
//! Deletions due together are decided, recorded and erased set-wise (a statement per step
//! for up to [`BATCH`] exchanges by default), with the same guarantees.

use crate::undefined_table;
use imi_domain::actor::Actor;
use imi_domain::authority::Clock;
use imi_domain::command::Issued;
use imi_domain::error::DomainError;
use imi_projections::deadlines::{self, Deadline};
use imi_store::commands::{CommandBus, CommandError, Decided};
use imi_store::metadata::CommandMetadata;
use serde::de::DeserializeOwned;
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The process name system commands carry.
pub const PROCESS: &str = "scheduler";

/// The advisory lock only the active scheduler holds.
const LOCK: &str = "imi.scheduler.active";

/// Why a deadline's command did not go through.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The aggregate refused it: the rule no longer applies (done by someone, already
    /// recorded). Final.
    #[error("refused: {0}")]
    Refused(String),
    /// Try again at the next tick (conflict, database unavailable, unreadable command).
    #[error("{0}")]
    Later(String),
}

/// Issues a deadline's command to one aggregate type.
#[async_trait::async_trait]
pub trait Dispatch: Send + Sync {
    async fn issue(
        &self,
        aggregate_id: &str,
        command: &serde_json::Value,
        metadata: CommandMetadata,
    ) -> Result<(), DispatchError>;

    /// Issues many deadlines' commands (aggregate id, command, metadata), one outcome each, in
    /// order. One at a time unless the aggregate type decides them set-wise.
    async fn issue_many(
        &self,
        commands: Vec<(String, serde_json::Value, CommandMetadata)>,
    ) -> Vec<Result<(), DispatchError>> {
        let mut outcomes = Vec::with_capacity(commands.len());
        for (aggregate_id, command, metadata) in commands {
            outcomes.push(self.issue(&aggregate_id, &command, metadata).await);
        }
        outcomes
    }
}

/// Issues `commands` to `bus` set-wise ([`CommandBus::execute_many`]): one outcome each, in
/// order. A batch that conflicts with another write, or a bus that decides one command at a
/// time, falls back to `one_at_a_time`'s [`Dispatch::issue`] for each command.
pub async fn issue_many_on<A, C>(
    bus: &CommandBus<A>,
    one_at_a_time: &dyn Dispatch,
    commands: Vec<(String, serde_json::Value, CommandMetadata)>,
) -> Vec<Result<(), DispatchError>>
where
    A: cqrs_es::Aggregate<Command = Issued<C>, Error = DomainError>,
    C: DeserializeOwned + Send + Sync + 'static,
{
    let mut outcomes: Vec<Option<Result<(), DispatchError>>> = Vec::new();
    let mut readable = Vec::new();
    for (i, (aggregate_id, command, metadata)) in commands.iter().enumerate() {
        match serde_json::from_value::<C>(command.clone()) {
            Ok(c) => {
                outcomes.push(None);
                readable.push((
                    i,
                    (
                        aggregate_id.clone(),
                        Issued::new(Actor::system(PROCESS), c),
                        metadata.clone(),
                    ),
                ));
            }
            Err(e) => outcomes.push(Some(Err(DispatchError::Later(format!(
                "unreadable command: {e}"
            ))))),
        }
    }
    let (places, batch): (Vec<usize>, Vec<_>) = readable.into_iter().unzip();
    match bus.execute_many(batch).await {
        Ok(decided) => {
            for (i, decided) in places.into_iter().zip(decided) {
                outcomes[i] = Some(match decided {
                    Decided::Appended | Decided::AlreadyRecorded => Ok(()),
                    Decided::Refused(e) => Err(DispatchError::Refused(e.to_string())),
                });
            }
        }
        Err(CommandError::Unavailable(e)) => {
            for i in places {
                outcomes[i] = Some(Err(DispatchError::Later(format!(
                    "event store unavailable: {e}"
                ))));
            }
        }
        Err(why) => {
            tracing::debug!(%why, "deciding one command at a time");
            for i in places {
                let (aggregate_id, command, metadata) = &commands[i];
                outcomes[i] = Some(
                    one_at_a_time
                        .issue(aggregate_id, command, metadata.clone())
                        .await,
                );
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every command has an outcome"))
        .collect()
}

#[async_trait::async_trait]
impl<A, C> Dispatch for CommandBus<A>
where
    A: cqrs_es::Aggregate<Command = Issued<C>, Error = DomainError>,
    C: DeserializeOwned + Send + Sync + 'static,
    CommandBus<A>: Send + Sync,
{
    async fn issue(
        &self,
        aggregate_id: &str,
        command: &serde_json::Value,
        metadata: CommandMetadata,
    ) -> Result<(), DispatchError> {
        let command: C = serde_json::from_value(command.clone())
            .map_err(|e| DispatchError::Later(format!("unreadable command: {e}")))?;
        match self
            .execute(
                aggregate_id,
                Issued::new(Actor::system(PROCESS), command),
                metadata,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(CommandError::Domain(e)) => Err(DispatchError::Refused(e.to_string())),
            Err(e) => Err(DispatchError::Later(e.to_string())),
        }
    }

    async fn issue_many(
        &self,
        commands: Vec<(String, serde_json::Value, CommandMetadata)>,
    ) -> Vec<Result<(), DispatchError>> {
        issue_many_on(self, self, commands).await
    }
}

/// What the scheduler did with one deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acted {
    Done,
    Refused(String),
    Later(String),
}

/// How many due deadlines the scheduler reads at a time by default.
pub const BATCH: i64 = 500;

/// The least time between two runs that new events prompted: under a steady write load every
/// commit wakes the scheduler, and a rule is due days or months after the event that set it,
/// so looking once per this gap (or per tick, if shorter) is prompt enough and keeps the due
/// query off every write.
pub const SETTLE: Duration = Duration::from_secs(1);

/// Seals against the removal of whole tails are taken daily (`imi audit seal` takes one at once).
pub const SEAL_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

pub struct Scheduler {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    dispatch: HashMap<String, Arc<dyn Dispatch>>,
    /// Erases the data keys of exchanges whose deletion delay passed.
    keys: Option<imi_store::sealing::KeyRing>,
    /// How often the active scheduler looks for due deadlines.
    pub tick: Duration,
    /// How many due deadlines it reads at a time: the most deletions acted on together.
    pub batch: i64,
    /// How often the active scheduler seals the event log's chain heads (None: never).
    pub seal_every: Option<Duration>,
    /// How many times the active scheduler has looked for due deadlines.
    looks: Arc<AtomicU64>,
}

impl Scheduler {
    pub fn new(pool: PgPool, clock: Arc<dyn Clock>) -> Self {
        Self {
            pool,
            clock,
            dispatch: HashMap::new(),
            keys: None,
            tick: Duration::from_secs(5),
            batch: BATCH,
            seal_every: Some(SEAL_EVERY),
            looks: Arc::default(),
        }
    }

    /// How many times the active scheduler has looked for due deadlines (for its status).
    pub fn looks(&self) -> Arc<AtomicU64> {
        self.looks.clone()
    }

    /// Routes the deadlines of `aggregate_type` to `dispatch`.
    pub fn route(mut self, aggregate_type: &str, dispatch: Arc<dyn Dispatch>) -> Self {
        self.dispatch.insert(aggregate_type.to_string(), dispatch);
        self
    }

    /// Deletes personal data with `keys` when their deletion delay passes (without it,
    /// deletion rules wait).
    pub fn erasing(mut self, keys: imi_store::sealing::KeyRing) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Acts on every deadline due now; returns what it did (for tests and the CLI).
    /// Deletions go set-wise, up to [`Scheduler::batch`] at a time (see [`Scheduler::act_on_deletions`]);
    /// the other rules one at a time, in the order they fell due.
    pub async fn run_due(&self) -> Result<Vec<(Deadline, Acted)>, sqlx::Error> {
        let mut done = Vec::new();
        loop {
            let due = match deadlines::due(&self.pool, self.clock.now(), self.batch).await {
                Ok(due) => due,
                Err(e) if undefined_table(&e) => return Ok(done),
                Err(e) => return Err(e),
            };
            let mut progressed = false;
            let mut deletions = Vec::new();
            for deadline in due {
                if self.deletes_set_wise(&deadline) {
                    deletions.push(deadline);
                    continue;
                }
                // A rule due after deletions acts after them (an exchange's blocking, due
                // before its deletion, acts before it).
                for (deadline, acted) in self
                    .act_on_deletions(std::mem::take(&mut deletions))
                    .await?
                {
                    progressed |= !matches!(acted, Acted::Later(_));
                    done.push((deadline, acted));
                }
                let acted = self.act(&deadline).await?;
                progressed |= !matches!(acted, Acted::Later(_));
                done.push((deadline, acted));
            }
            for (deadline, acted) in self.act_on_deletions(deletions).await? {
                progressed |= !matches!(acted, Acted::Later(_));
                done.push((deadline, acted));
            }
            if !progressed {
                return Ok(done);
            }
        }
    }

    fn deletes_set_wise(&self, deadline: &Deadline) -> bool {
        deadline.rule == deadlines::rules::DELETION
            && self.keys.is_some()
            && self.dispatch.contains_key(&deadline.aggregate_type)
    }

    /// The metadata of a deadline's command: the system process, the deadline's id as
    /// idempotency key (a retried command answers as the first) and as causation.
    fn metadata(deadline: &Deadline) -> CommandMetadata {
        let mut metadata = CommandMetadata::for_actor(&Actor::system(PROCESS))
            .with_idempotency_key(Some(deadline.id.clone()));
        metadata.causation_id = Some(deadline.id.clone());
        metadata
    }

    /// Acts on deletion rules set-wise, per aggregate type, with the guarantees of
    /// [`Scheduler::act`]: the commands decided and their facts appended in one statement
    /// ([`Dispatch::issue_many`]), then the data keys of those recorded (now or by an earlier,
    /// interrupted run: the same idempotency key answers as done) erased in one statement and
    /// their attachments' bytes removed, then what was done recorded in `deadline_actions` in
    /// one statement. A rule is recorded as done only once its key is erased; a run
    /// interrupted before leaves it due, and the next run finds the fact recorded and erases
    /// the key.
    async fn act_on_deletions(
        &self,
        deletions: Vec<Deadline>,
    ) -> Result<Vec<(Deadline, Acted)>, sqlx::Error> {
        let mut by_type: Vec<(String, Vec<Deadline>)> = Vec::new();
        for deadline in deletions {
            match by_type
                .iter_mut()
                .find(|(t, _)| *t == deadline.aggregate_type)
            {
                Some((_, group)) => group.push(deadline),
                None => by_type.push((deadline.aggregate_type.clone(), vec![deadline])),
            }
        }
        let mut done = Vec::new();
        for (aggregate_type, group) in by_type {
            let (Some(dispatch), Some(keys)) = (self.dispatch.get(&aggregate_type), &self.keys)
            else {
                unreachable!("deletes_set_wise checked both");
            };
            let commands = group
                .iter()
                .map(|d| (d.aggregate_id.clone(), d.command.clone(), Self::metadata(d)))
                .collect();
            let mut acted: Vec<Acted> = dispatch
                .issue_many(commands)
                .await
                .into_iter()
                .map(|issued| match issued {
                    Ok(()) => Acted::Done,
                    Err(DispatchError::Refused(why)) => Acted::Refused(why),
                    Err(DispatchError::Later(why)) => Acted::Later(why),
                })
                .collect();
            let key_ids: Vec<String> = group
                .iter()
                .zip(&acted)
                .filter(|(_, a)| **a == Acted::Done)
                .map(|(d, _)| format!("{}/{}", d.aggregate_type, d.aggregate_id))
                .collect();
            if !key_ids.is_empty() {
                if let Err(e) = imi_store::retention::delete_personal_data_of_many(
                    &self.pool, keys, &key_ids, PROCESS,
                )
                .await
                {
                    let why = format!("erasing {} data keys: {e}", key_ids.len());
                    for a in acted.iter_mut().filter(|a| **a == Acted::Done) {
                        *a = Acted::Later(why.clone());
                    }
                }
            }
            let mut ids = Vec::new();
            let mut outcomes = Vec::new();
            let mut details = Vec::new();
            for (deadline, a) in group.iter().zip(&acted) {
                match a {
                    Acted::Done => {
                        ids.push(deadline.id.clone());
                        outcomes.push("done");
                        details.push(None);
                    }
                    Acted::Refused(why) => {
                        ids.push(deadline.id.clone());
                        outcomes.push("refused");
                        details.push(Some(why.clone()));
                    }
                    Acted::Later(why) => {
                        tracing::warn!(deadline = %deadline.id, %why, "deadline not acted on; retrying later");
                    }
                }
            }
            if !ids.is_empty() {
                sqlx::query(
                    "INSERT INTO deadline_actions (deadline_id, outcome, detail)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                     ON CONFLICT (deadline_id) DO NOTHING",
                )
                .bind(&ids)
                .bind(&outcomes)
                .bind(&details)
                .execute(&self.pool)
                .await?;
            }
            done.extend(group.into_iter().zip(acted));
        }
        Ok(done)
    }

    async fn act(&self, deadline: &Deadline) -> Result<Acted, sqlx::Error> {
        let Some(dispatch) = self.dispatch.get(&deadline.aggregate_type) else {
            return Ok(Acted::Later(format!(
                "no route for {} deadlines",
                deadline.aggregate_type
            )));
        };
        let deletion = deadline.rule == deadlines::rules::DELETION;
        if deletion && self.keys.is_none() {
            return Ok(Acted::Later("no key ring to erase data keys with".into()));
        }
        let acted = match dispatch
            .issue(
                &deadline.aggregate_id,
                &deadline.command,
                Self::metadata(deadline),
            )
            .await
        {
            Ok(()) if deletion => {
                let key_id = format!("{}/{}", deadline.aggregate_type, deadline.aggregate_id);
                let keys = self.keys.as_ref().expect("checked above");
                match imi_store::retention::delete_personal_data(&self.pool, keys, &key_id, PROCESS)
                    .await
                {
                    Ok(_) => Acted::Done,
                    Err(e) => {
                        let why = format!("erasing {key_id}: {e}");
                        tracing::warn!(deadline = %deadline.id, %why, "retrying later");
                        return Ok(Acted::Later(why));
                    }
                }
            }
            Ok(()) => Acted::Done,
            Err(DispatchError::Refused(why)) => Acted::Refused(why),
            Err(DispatchError::Later(why)) => {
                tracing::warn!(deadline = %deadline.id, %why, "deadline not acted on; retrying later");
                return Ok(Acted::Later(why));
            }
        };
        let (outcome, detail) = match &acted {
            Acted::Done => ("done", None),
            Acted::Refused(why) => ("refused", Some(why.as_str())),
            Acted::Later(_) => unreachable!("returned above"),
        };
        sqlx::query(
            "INSERT INTO deadline_actions (deadline_id, outcome, detail) VALUES ($1, $2, $3)
             ON CONFLICT (deadline_id) DO NOTHING",
        )
        .bind(&deadline.id)
        .bind(outcome)
        .bind(detail)
        .execute(&self.pool)
        .await?;
        Ok(acted)
    }

    /// Runs until `stop` turns true: waits for the scheduler lock (standby), then acts on due
    /// deadlines every `tick` and whenever `wake` signals new events (at most once per
    /// [`SETTLE`], or per tick if shorter).
    pub async fn run(&self, mut wake: watch::Receiver<u64>, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            match self.lock().await {
                Ok(Some(conn)) => {
                    tracing::info!("scheduler active");
                    self.active(conn, &mut wake, &mut stop).await;
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "scheduler: cannot reach the database"),
            }
            // A stop seen while active is marked seen: `changed` below would wait a tick.
            if *stop.borrow() {
                return;
            }
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(self.tick) => {}
            }
        }
    }

    /// Acts while holding the lock on `conn`; closes `conn` (releasing the lock) on return.
    async fn active(
        &self,
        mut conn: PoolConnection<Postgres>,
        wake: &mut watch::Receiver<u64>,
        stop: &mut watch::Receiver<bool>,
    ) {
        loop {
            if *stop.borrow() {
                let _ = conn.close().await;
                return;
            }
            self.looks.fetch_add(1, Ordering::Relaxed);
            if let Err(error) = self.run_due().await {
                tracing::warn!(%error, "scheduler: database error");
            }
            if let Some(every) = self.seal_every {
                match imi_store::seals::seal_if_due(&self.pool, every).await {
                    Ok(Some(seal)) => {
                        tracing::info!(
                            seal = seal.seal,
                            heads = seal.heads_changed,
                            hash = %seal.hash,
                            "the event log was sealed"
                        );
                        // Daily too: the processing log's entries past its retention.
                        match imi_store::processing_log::prune_expired(&self.pool, self.clock.now())
                            .await
                        {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(entries = n, "the processing log was pruned"),
                            Err(error) => {
                                tracing::warn!(%error, "scheduler: pruning the processing log")
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "scheduler: sealing the event log"),
                }
            }
            // Still holding the lock? (The connection may have been lost.)
            if sqlx::query("SELECT 1").execute(&mut *conn).await.is_err() {
                let _ = conn.close().await;
                return;
            }
            let ran = std::time::Instant::now();
            tokio::select! {
                _ = wake.changed() => {
                    // New events: look again, but not sooner than the settle gap after this run.
                    let settle = SETTLE.min(self.tick).saturating_sub(ran.elapsed());
                    tokio::select! {
                        _ = stop.changed() => {}
                        _ = tokio::time::sleep(settle) => {}
                    }
                }
                _ = stop.changed() => {}
                _ = tokio::time::sleep(self.tick) => {}
            }
        }
    }

    /// The scheduler lock on a dedicated connection, if free.
    async fn lock(&self) -> Result<Option<PoolConnection<Postgres>>, sqlx::Error> {
        let mut conn = imi_store::pool::acquire(&self.pool).await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1)::bigint)")
            .bind(LOCK)
            .fetch_one(&mut *conn)
            .await?;
        Ok(got.then_some(conn))
    }
}
