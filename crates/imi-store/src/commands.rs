//! Running commands through cqrs-es on postgres-es, with metadata, conflict mapping and the
//! post-commit wake-up of projectors.

use crate::feed::{self, FeedPosition};
use crate::guard::{self, GuardError};
use crate::metadata::CommandMetadata;
use crate::repository::{self, EventRepository};
use crate::wake::Wake;
use cqrs_es::persist::{EventUpcaster, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, CqrsFramework};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

/// How one aggregate type is loaded: from all its events, or from a snapshot taken every
/// `snapshot_every` events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AggregateConfig {
    pub snapshot_every: Option<usize>,
}

/// Why a command did not append its events.
#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    /// The aggregate refused the command.
    #[error(transparent)]
    Domain(E),
    /// Another write to the same aggregate (or a unique rule of the log) won: retry.
    #[error("conflicting write: reload and try again")]
    Conflict,
    /// The database could not be reached.
    #[error("event store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else; the source is logged, never shown to clients.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

type Store<A> = PersistedEventStore<EventRepository, A>;

/// The guard keys of a command (see [`crate::guard`]), given the id of the aggregate it is sent
/// to: the scopes of the cross-aggregate rules it must decide alone. No key, no lock.
pub type GuardKeys<C> = Arc<dyn Fn(&str, &C) -> Vec<String> + Send + Sync>;

/// Sends commands to aggregates of type `A`.
pub struct CommandBus<A: Aggregate> {
    cqrs: CqrsFramework<A, Store<A>>,
    pool: PgPool,
    wake: Wake,
    guard: Option<GuardKeys<A::Command>>,
    guard_timeout: Duration,
}

impl<A: Aggregate> CommandBus<A> {
    pub fn new(
        pool: PgPool,
        config: AggregateConfig,
        upcasters: Vec<Box<dyn EventUpcaster>>,
        services: A::Services,
        wake: Wake,
    ) -> Self {
        let repo = EventRepository::new(pool.clone());
        let store = match config.snapshot_every {
            Some(every) => PersistedEventStore::new_snapshot_store(repo, every.max(1)),
            None => PersistedEventStore::new_event_store(repo),
        }
        .with_upcasters(upcasters);
        Self {
            cqrs: CqrsFramework::new(store, vec![], services),
            pool,
            wake,
            guard: None,
            guard_timeout: guard::DEFAULT_TIMEOUT,
        }
    }

    /// Serializes the commands for which `keys` names guard keys: each runs (load, decide,
    /// append) while it holds an advisory lock per key.
    pub fn with_guard(
        mut self,
        keys: impl Fn(&str, &A::Command) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.guard = Some(Arc::new(keys));
        self
    }

    /// How long a guarded command waits for its keys before it fails as a conflict.
    pub fn with_guard_timeout(mut self, timeout: Duration) -> Self {
        self.guard_timeout = timeout;
        self
    }

    /// Executes `command` on aggregate `id`. On success returns the feed position of the
    /// aggregate's latest event, which a client can wait for before it reads its write.
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
        metadata: CommandMetadata,
    ) -> Result<Option<FeedPosition>, CommandError<A::Error>> {
        // A retried request (same idempotency key, same actor, same aggregate) already wrote
        // its events: answer with their position instead of running the command again.
        if let Some(key) = &metadata.idempotency_key {
            let done = feed::last_of_request(&self.pool, A::TYPE, id, key, &metadata.acting_user)
                .await
                .map_err(|e| CommandError::Internal(Box::new(e)))?;
            if done.is_some() {
                return Ok(done);
            }
        }
        let keys = match &self.guard {
            Some(guard) => guard(id, &command),
            None => vec![],
        };
        let held = if keys.is_empty() {
            None
        } else {
            Some(
                guard::acquire(&self.pool, &keys, self.guard_timeout)
                    .await
                    .map_err(|e| match e {
                        GuardError::Timeout(_) => CommandError::Conflict,
                        GuardError::Database(e) => CommandError::Unavailable(Box::new(e)),
                    })?,
            )
        };
        let (executed, appended) = repository::recording_position(self.cqrs.execute_with_metadata(
            id,
            command,
            metadata.into_map(),
        ))
        .await;
        // The events are committed (or not written): the next command under these keys sees
        // them.
        if let Some(held) = held {
            held.release().await;
        }
        executed.map_err(classify)?;
        if appended.is_some() {
            self.wake.events_committed();
            return Ok(appended);
        }
        // The command recorded nothing: answer with the aggregate's latest event.
        feed::last_of_aggregate(&self.pool, A::TYPE, id)
            .await
            .map_err(|e| CommandError::Internal(Box::new(e)))
    }
}

/// Sorts cqrs-es's errors into what a client can act on.
fn classify<E: std::error::Error>(error: AggregateError<E>) -> CommandError<E> {
    match error {
        AggregateError::UserError(e) => CommandError::Domain(e),
        AggregateError::AggregateConflict => CommandError::Conflict,
        AggregateError::DatabaseConnectionError(e) => CommandError::Unavailable(e),
        AggregateError::DeserializationError(e) => CommandError::Internal(e),
        AggregateError::UnexpectedError(e) => {
            if is_conflict(e.as_ref()) {
                CommandError::Conflict
            } else {
                CommandError::Internal(e)
            }
        }
    }
}

/// Serialization failures (the hash chain's order guard), unique violations (one-per-state
/// rules) and lock timeouts are conflicts between writers, not faults.
fn is_conflict(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(sqlx::Error::Database(db)) = e.downcast_ref::<sqlx::Error>() {
            return matches!(db.code().as_deref(), Some("40001" | "40P01" | "23505"));
        }
        current = e.source();
    }
    false
}
