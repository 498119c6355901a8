//! The event repository under cqrs-es: postgres-es for every read, and an append of our own that
//! returns each event's feed position (`INSERT ... RETURNING`), so a command learns where its
//! events stand without reading them back. The append writes the same columns, in the same
//! order and with the same values as postgres-es's, into the same tables; unlike postgres-es it
//! checks the snapshot's optimistic lock before committing, not after.
//!
//! A command's events and the processing-log entries of the personal data it writes are
//! appended by one statement, which commits on its own unless a snapshot is written with them:
//! the log records a write exactly when the write happened, and the command pays one round trip
//! and one commit for both instead of four round trips and two commits.
//!
//! A command's load reads the snapshot and the events after it in one statement
//! ([`EventRepository::get_snapshot`] reads ahead; cqrs-es's `get_last_events` that follows in
//! the same command takes what was read): one round trip instead of two, both from one view
//! of the database.

use crate::event_rows::{insert_events, EventRows};
use crate::feed::FeedPosition;
use crate::per_database::Counter;
use crate::processing_log::Processing;
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use postgres_es::PostgresEventRepository;
use serde_json::Value;
use sqlx::{PgPool, Row};
use std::cell::{Cell, RefCell};

tokio::task_local! {
    /// Where the append of the command running in this task reports its last event's position.
    static APPENDED: Cell<Option<FeedPosition>>;
    /// The events after the snapshot that the command running in this task read with it.
    static READ_AHEAD: RefCell<Option<ReadAhead>>;
    /// The processing-log entries of the personal data the command running in this task
    /// writes, appended with its events.
    static WRITES: Vec<Processing>;
}

/// The events of one aggregate after a sequence, read with its snapshot.
struct ReadAhead {
    aggregate_type: &'static str,
    aggregate_id: String,
    after: usize,
    events: Vec<SerializedEvent>,
}

/// Loads that took their events from the snapshot's statement, by database (for tests).
static READ_AHEAD_USED: Counter = Counter::new();

/// How many loads in `pool`'s database so far took their events from the statement that read
/// their snapshot.
pub fn loads_read_ahead(pool: &PgPool) -> u64 {
    READ_AHEAD_USED.get(pool)
}

/// The snapshot (first row, if any) and the events after it, in one statement: both parts read
/// the same view of the database.
const SNAPSHOT_AND_AFTER: &str = "
SELECT true AS snapshot, last_sequence AS sequence, current_snapshot, NULL::text AS event_type,
       NULL::text AS event_version, payload, NULL::json AS metadata
  FROM snapshots
 WHERE aggregate_type = $1 AND aggregate_id = $2
UNION ALL
SELECT false, sequence, NULL, event_type, event_version, payload, metadata
  FROM events
 WHERE aggregate_type = $1 AND aggregate_id = $2
   AND sequence > coalesce((SELECT last_sequence FROM snapshots
                             WHERE aggregate_type = $1 AND aggregate_id = $2), 0)
 ORDER BY snapshot DESC, sequence";

/// The events of one aggregate after a sequence (bound, so that one prepared statement serves
/// every sequence).
const EVENTS_AFTER: &str = "
SELECT sequence, event_type, event_version, payload, metadata
  FROM events
 WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
 ORDER BY sequence";

/// An event of `aggregate_type` `aggregate_id` from a row with its sequence, type, version,
/// payload and metadata, as stored (not upcast).
pub(crate) fn event_of(
    aggregate_type: &str,
    aggregate_id: &str,
    row: &sqlx::postgres::PgRow,
) -> Result<SerializedEvent, sqlx::Error> {
    let sequence: i64 = row.try_get("sequence")?;
    Ok(SerializedEvent::new(
        aggregate_id.to_string(),
        usize::try_from(sequence).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        aggregate_type.to_string(),
        row.try_get("event_type")?,
        row.try_get("event_version")?,
        row.try_get("payload")?,
        row.try_get("metadata")?,
    ))
}

/// Runs `f` (a command's execution) and returns its result with the feed position of the last
/// event it appended, if it appended any. `writes` are appended to the processing log with its
/// events, if it appends any.
pub async fn recording_position<T>(
    writes: Vec<Processing>,
    f: impl std::future::Future<Output = T>,
) -> (T, Option<FeedPosition>) {
    APPENDED
        .scope(Cell::new(None), async {
            let result = WRITES
                .scope(writes, READ_AHEAD.scope(RefCell::new(None), f))
                .await;
            (result, APPENDED.with(Cell::get))
        })
        .await
}

/// A command's events, and the processing-log entries of what it writes, in one statement:
/// the events in order through the hash-chain trigger, then the entries through theirs.
const APPEND: &str = concat!(
    "WITH appended AS (",
    insert_events!(),
    "
    RETURNING xid::text::bigint AS txid, position
), logged AS (
    INSERT INTO processing_log (exchange, kind, operation, fields, level, acting_user, acting_authority)
    SELECT w.exchange, w.kind, w.operation, w.fields, w.level, w.acting_user, w.acting_authority
      FROM ROWS FROM (json_to_recordset($8::json) AS (exchange text, kind text, operation text,
           fields text[], level text, acting_user text, acting_authority text))
           WITH ORDINALITY AS w(exchange, kind, operation, fields, level, acting_user,
           acting_authority, n)
     ORDER BY w.n
)
SELECT txid, position FROM appended ORDER BY position DESC LIMIT 1"
);

pub struct EventRepository {
    reads: PostgresEventRepository,
    pool: PgPool,
}

impl EventRepository {
    pub fn new(pool: PgPool) -> Self {
        Self {
            reads: PostgresEventRepository::new(pool.clone()),
            pool,
        }
    }

    async fn append<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot: Option<(String, Value, usize)>,
    ) -> Result<Option<FeedPosition>, sqlx::Error> {
        if events.is_empty() && snapshot.is_none() {
            return Ok(None);
        }
        // Without a snapshot the statement is a transaction of its own.
        let mut tx = match snapshot {
            Some(_) => Some(crate::pool::begin(&self.pool).await?),
            None => None,
        };
        let last = if events.is_empty() {
            None
        } else {
            let writes = WRITES
                .try_with(|w| writes_json(w))
                .unwrap_or_else(|_| "[]".into());
            let text =
                |v: &Value| serde_json::to_string(v).map_err(|e| sqlx::Error::Encode(e.into()));
            let mut rows = EventRows::default();
            for e in events {
                rows.push(
                    &e.aggregate_id,
                    e.sequence as i64,
                    e.event_type.clone(),
                    e.event_version.clone(),
                    text(&e.payload)?,
                    text(&e.metadata)?,
                );
            }
            let query = rows.bind(sqlx::query(APPEND).bind(A::TYPE)).bind(writes);
            let row = match tx.as_mut() {
                Some(tx) => query.fetch_one(&mut **tx).await?,
                None => query.fetch_one(&self.pool).await?,
            };
            Some(FeedPosition {
                xid: row.try_get("txid")?,
                position: row.try_get("position")?,
            })
        };
        if let (Some((aggregate_id, payload, current_snapshot)), Some(mut tx)) = (snapshot, tx) {
            let last_sequence = events.last().map_or(0, |e| e.sequence) as i64;
            let written = if current_snapshot == 1 {
                sqlx::query(
                    "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(A::TYPE)
                .bind(&aggregate_id)
                .bind(last_sequence)
                .bind(current_snapshot as i64)
                .bind(&payload)
                .execute(&mut *tx)
                .await?
            } else {
                sqlx::query(
                    "UPDATE snapshots SET last_sequence = $3, payload = $6, current_snapshot = $4
                      WHERE aggregate_type = $1 AND aggregate_id = $2 AND current_snapshot = $5",
                )
                .bind(A::TYPE)
                .bind(&aggregate_id)
                .bind(last_sequence)
                .bind(current_snapshot as i64)
                .bind(current_snapshot as i64 - 1)
                .bind(&payload)
                .execute(&mut *tx)
                .await?
            };
            if written.rows_affected() != 1 {
                // Another writer moved the snapshot: nothing of this command may stay.
                tx.rollback().await?;
                return Err(sqlx::Error::RowNotFound);
            }
            tx.commit().await?;
        }
        Ok(last)
    }
}

/// The entries as `json_to_recordset` reads them.
fn writes_json(writes: &[Processing]) -> String {
    let entries: Vec<Value> = writes
        .iter()
        .map(|w| {
            serde_json::json!({
                "exchange": w.exchange,
                "kind": w.kind.as_str(),
                "operation": w.operation,
                "fields": w.fields,
                "level": w.level,
                "acting_user": w.acting_user,
                "acting_authority": w.acting_authority,
            })
        })
        .collect();
    Value::Array(entries).to_string()
}

fn persistence_error(error: sqlx::Error) -> PersistenceError {
    match &error {
        sqlx::Error::RowNotFound => PersistenceError::OptimisticLockError,
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            PersistenceError::OptimisticLockError
        }
        e if crate::commands::is_unavailable(e) => {
            PersistenceError::ConnectionError(Box::new(error))
        }
        _ => PersistenceError::UnknownError(Box::new(error)),
    }
}

impl PersistedEventRepository for EventRepository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reads.get_events::<A>(aggregate_id).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let read = READ_AHEAD
            .try_with(|cell| cell.borrow_mut().take())
            .ok()
            .flatten();
        if let Some(read) = read.filter(|r| {
            r.aggregate_type == A::TYPE
                && r.aggregate_id == aggregate_id
                && r.after == last_sequence
        }) {
            READ_AHEAD_USED.add(&self.pool);
            return Ok(read.events);
        }
        let rows = sqlx::query(EVENTS_AFTER)
            .bind(A::TYPE)
            .bind(aggregate_id)
            .bind(last_sequence as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(persistence_error)?;
        rows.iter()
            .map(|row| event_of(A::TYPE, aggregate_id, row))
            .collect::<Result<_, _>>()
            .map_err(persistence_error)
    }

    /// Reads the events after the snapshot in the same statement, kept for the
    /// `get_last_events` that follows in this task (inside [`recording_position`]).
    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        let rows = sqlx::query(SNAPSHOT_AND_AFTER)
            .bind(A::TYPE)
            .bind(aggregate_id)
            .fetch_all(&self.pool)
            .await
            .map_err(persistence_error)?;
        let read = || -> Result<_, sqlx::Error> {
            let mut snapshot = None;
            let mut events = Vec::new();
            for row in &rows {
                if row.try_get("snapshot")? {
                    snapshot = Some(SerializedSnapshot {
                        aggregate_id: aggregate_id.to_string(),
                        aggregate: row.try_get("payload")?,
                        current_sequence: row.try_get::<i64, _>("sequence")? as usize,
                        current_snapshot: row.try_get::<i64, _>("current_snapshot")? as usize,
                    });
                } else {
                    events.push(event_of(A::TYPE, aggregate_id, row)?);
                }
            }
            Ok((snapshot, events))
        };
        let (snapshot, events) = read().map_err(persistence_error)?;
        let after = snapshot.as_ref().map_or(0, |s| s.current_sequence);
        // Outside a command's scope there is nowhere to keep them: they are read again.
        let _ = READ_AHEAD.try_with(|cell| {
            *cell.borrow_mut() = Some(ReadAhead {
                aggregate_type: A::TYPE,
                aggregate_id: aggregate_id.to_string(),
                after,
                events,
            })
        });
        Ok(snapshot)
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        let span = tracing::debug_span!(
            target: crate::trace::TARGET,
            "append",
            aggregate = A::TYPE,
            events = events.len()
        );
        let last = tracing::Instrument::instrument(self.append::<A>(events, snapshot_update), span)
            .await
            .map_err(persistence_error)?;
        // Outside a recording scope (a caller that does not ask) there is nowhere to report.
        let _ = APPENDED.try_with(|cell| cell.set(last));
        Ok(())
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_all_events::<A>().await
    }
}
