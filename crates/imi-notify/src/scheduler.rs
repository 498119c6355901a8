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

use crate::undefined_table;
use imi_domain::actor::Actor;
use imi_domain::authority::Clock;
use imi_domain::command::Issued;
use imi_domain::error::DomainError;
use imi_projections::deadlines::{self, Deadline};
use imi_store::commands::{CommandBus, CommandError};
use imi_store::metadata::CommandMetadata;
use serde::de::DeserializeOwned;
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use std::collections::HashMap;
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
}

/// What the scheduler did with one deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acted {
    Done,
    Refused(String),
    Later(String),
}

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
    /// How often the active scheduler seals the event log's chain heads (None: never).
    pub seal_every: Option<Duration>,
}

impl Scheduler {
    pub fn new(pool: PgPool, clock: Arc<dyn Clock>) -> Self {
        Self {
            pool,
            clock,
            dispatch: HashMap::new(),
            keys: None,
            tick: Duration::from_secs(5),
            seal_every: Some(SEAL_EVERY),
        }
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
    pub async fn run_due(&self) -> Result<Vec<(Deadline, Acted)>, sqlx::Error> {
        let mut done = Vec::new();
        loop {
            let due = match deadlines::due(&self.pool, self.clock.now(), 100).await {
                Ok(due) => due,
                Err(e) if undefined_table(&e) => return Ok(done),
                Err(e) => return Err(e),
            };
            let mut progressed = false;
            for deadline in due {
                let acted = self.act(&deadline).await?;
                progressed |= !matches!(acted, Acted::Later(_));
                done.push((deadline, acted));
            }
            if !progressed {
                return Ok(done);
            }
        }
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
        let mut metadata = CommandMetadata::for_actor(&Actor::system(PROCESS))
            .with_idempotency_key(Some(deadline.id.clone()));
        metadata.causation_id = Some(deadline.id.clone());
        let acted = match dispatch
            .issue(&deadline.aggregate_id, &deadline.command, metadata)
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
    /// deadlines every `tick` and whenever `wake` signals new events.
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
            tokio::select! {
                _ = wake.changed() => {}
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
