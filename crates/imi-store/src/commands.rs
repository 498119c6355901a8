//! Running commands through cqrs-es on postgres-es, with metadata, conflict mapping and the
//! post-commit wake-up of projectors.

use crate::feed::{self, FeedPosition};
use crate::guard::{self, GuardError};
use crate::metadata::CommandMetadata;
use crate::processing_log::Processing;
use crate::repository::{self, EventRepository};
use crate::wake::Wake;
use cqrs_es::persist::{EventUpcaster, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, CqrsFramework};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

mod batch;
pub use batch::Decided;

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
    config: AggregateConfig,
    /// The services commands decided set-wise use ([`CommandBus::execute_many`]); `None`: this
    /// bus decides one command at a time only.
    batch_services: Option<A::Services>,
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
            config,
            batch_services: None,
        }
    }

    /// Lets [`CommandBus::execute_many`] decide with `services` (the same as the bus's).
    pub fn with_batches(mut self, services: A::Services) -> Self {
        self.batch_services = Some(services);
        self
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
        self.execute_writing(id, command, metadata, vec![]).await
    }

    /// [`CommandBus::execute`] for a command that writes personal data: `writes`, its entries
    /// in the processing log, are appended in the statement that appends its events, so they
    /// are recorded exactly when the events are (not for a refusal, a conflict, or a retry
    /// answered from the events of its first run).
    pub async fn execute_writing(
        &self,
        id: &str,
        command: A::Command,
        metadata: CommandMetadata,
        writes: Vec<Processing>,
    ) -> Result<Option<FeedPosition>, CommandError<A::Error>> {
        let span = tracing::debug_span!(
            target: crate::trace::TARGET,
            "command",
            aggregate = A::TYPE,
            aggregate_id = id
        );
        let executed = self.execute_traced(id, command, metadata, writes);
        tracing::Instrument::instrument(executed, span).await
    }

    async fn execute_traced(
        &self,
        id: &str,
        command: A::Command,
        metadata: CommandMetadata,
        writes: Vec<Processing>,
    ) -> Result<Option<FeedPosition>, CommandError<A::Error>> {
        // A retried request (same idempotency key, same actor, same aggregate) already wrote
        // its events: answer with their position instead of running the command again.
        if let Some(key) = &metadata.idempotency_key {
            let done = feed::last_of_request(&self.pool, A::TYPE, id, key, &metadata.acting_user)
                .await
                .map_err(database_error)?;
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
                        GuardError::Database(e) => database_error(e),
                    })?,
            )
        };
        let (executed, appended) = repository::recording_position(
            writes,
            self.cqrs
                .execute_with_metadata(id, command, metadata.into_map()),
        )
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
            .map_err(database_error)
    }
}

/// Whether a database error says the database cannot be reached or ended the connection
/// (retrying later may help), rather than that the statement itself failed: a broken or timed
/// out connection, a closed pool, a connection that no longer speaks the protocol (a server
/// gone mid-message), SQLSTATE class 08 (connection exception), and 57P01 admin shutdown,
/// 57P02 crash shutdown, 57P03 cannot connect now, 53300 too many connections.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| unavailable_code(&c)),
        _ => false,
    }
}

fn unavailable_code(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// Whether `error` or one of its sources is a database error that [`is_unavailable`].
pub fn unavailable_in(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<sqlx::Error>().is_some_and(is_unavailable) {
            return true;
        }
        current = e.source();
    }
    false
}

/// Why the database could not serve, in words an operator or a client can act on: the first
/// database error in `error`'s chain that [`is_unavailable`] (a full pool is told apart from a
/// database refusing connections, whose own message is kept: "too many clients already").
pub fn unavailable_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = Some(error);
    while let Some(e) = current {
        match e.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::PoolTimedOut) => {
                return "no connection became free in time: the connection pool is exhausted"
                    .to_string()
            }
            Some(sqlx::Error::PoolClosed) => return "the connection pool is closed".to_string(),
            Some(sqlx::Error::Database(db)) if db.code().is_some_and(|c| unavailable_code(&c)) => {
                return format!("the database says: {}", db.message())
            }
            Some(error) if is_unavailable(error) => {
                return "the connection to the database was lost".to_string()
            }
            _ => {}
        }
        current = e.source();
    }
    "the database could not be reached".to_string()
}

/// A database error outside cqrs-es: unavailable or internal.
fn database_error<E: std::error::Error>(error: sqlx::Error) -> CommandError<E> {
    if is_unavailable(&error) {
        CommandError::Unavailable(Box::new(error))
    } else {
        CommandError::Internal(Box::new(error))
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
            } else if unavailable_in(e.as_ref()) {
                CommandError::Unavailable(e)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// A database error with a given SQLSTATE, as PostgreSQL would send it.
    #[derive(Debug)]
    struct State(&'static str);

    impl std::fmt::Display for State {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for State {}

    impl sqlx::error::DatabaseError for State {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn db(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(State(code)))
    }

    #[test]
    fn lost_connections_are_unavailable_and_failed_statements_are_not() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        for unavailable in [
            sqlx::Error::Io(reset),
            sqlx::Error::Protocol("unexpected message".into()),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            db("08006"),
            db("08003"),
            db("57P01"),
            db("57P02"),
            db("57P03"),
        ] {
            assert!(is_unavailable(&unavailable), "{unavailable:?}");
        }
        for failed in [
            sqlx::Error::RowNotFound,
            db("23505"),
            db("42P01"),
            db("57014"),
            db("22021"),
        ] {
            assert!(!is_unavailable(&failed), "{failed:?}");
        }
    }

    #[test]
    fn cqrs_errors_with_a_lost_connection_inside_are_unavailable() {
        let wrapped: Box<dyn std::error::Error + Send + Sync> = Box::new(db("57P01"));
        let error: AggregateError<std::io::Error> = AggregateError::UnexpectedError(wrapped);
        assert!(matches!(classify(error), CommandError::Unavailable(_)));
        let wrapped: Box<dyn std::error::Error + Send + Sync> = Box::new(db("42P01"));
        let error: AggregateError<std::io::Error> = AggregateError::UnexpectedError(wrapped);
        assert!(matches!(classify(error), CommandError::Internal(_)));
        let error: CommandError<std::io::Error> = database_error(sqlx::Error::PoolTimedOut);
        assert!(matches!(error, CommandError::Unavailable(_)));
    }
}
