//! The event repository under cqrs-es: postgres-es for every read, and an append of our own that
//! returns each event's feed position (`INSERT ... RETURNING`), so a command learns where its
//! events stand without reading them back. The append writes the same columns, in the same
//! order and with the same values as postgres-es's, into the same tables; unlike postgres-es it
//! checks the snapshot's optimistic lock before committing, not after.

use crate::feed::FeedPosition;
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use postgres_es::PostgresEventRepository;
use serde_json::Value;
use sqlx::{PgPool, Row};
use std::cell::Cell;

tokio::task_local! {
    /// Where the append of the command running in this task reports its last event's position.
    static APPENDED: Cell<Option<FeedPosition>>;
}

/// Runs `f` (a command's execution) and returns its result with the feed position of the last
/// event it appended, if it appended any.
pub async fn recording_position<T>(
    f: impl std::future::Future<Output = T>,
) -> (T, Option<FeedPosition>) {
    APPENDED
        .scope(Cell::new(None), async {
            let result = f.await;
            (result, APPENDED.with(Cell::get))
        })
        .await
}

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
        let mut tx = crate::pool::begin(&self.pool).await?;
        let mut last = None;
        for event in events {
            let row = sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 RETURNING xid::text::bigint AS txid, position",
            )
            .bind(A::TYPE)
            .bind(&event.aggregate_id)
            .bind(event.sequence as i64)
            .bind(&event.event_type)
            .bind(&event.event_version)
            .bind(&event.payload)
            .bind(&event.metadata)
            .fetch_one(&mut *tx)
            .await?;
            last = Some(FeedPosition {
                xid: row.try_get("txid")?,
                position: row.try_get("position")?,
            });
        }
        if let Some((aggregate_id, payload, current_snapshot)) = snapshot {
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
        }
        tx.commit().await?;
        Ok(last)
    }
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
        self.reads
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.reads.get_snapshot::<A>(aggregate_id).await
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
