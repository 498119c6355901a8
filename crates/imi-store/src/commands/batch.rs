//! Many commands decided and appended set-wise: the scheduler's deletions of exchanges past
//! their retention, hundreds at a time, where one command at a time pays about eight round
//! trips each.
//!
//! The same decisions as [`CommandBus::execute`]: each aggregate is loaded (snapshot, then its
//! later events, upcast) and decides its command with the bus's services; a retried command
//! (same idempotency key and actor) is answered as done without deciding again. What differs
//! is only how it reaches the database: one query for the idempotency keys, one for the
//! snapshots, one for the events, and one `INSERT` appending every decided event, each at its
//! aggregate's next sequence, through the hash-chain trigger like any other append. The
//! `INSERT` is one statement: all of it is written or nothing; a concurrent write to any of
//! the aggregates (the sequence taken, the chain's order guard) fails it as a
//! [`CommandError::Conflict`], and the caller decides those commands again one at a time.
//! Snapshots are not written here: they only lag, and the next command taking one counts
//! from the aggregate's sequence as usual.

use super::{classify, database_error, CommandBus, CommandError};
use crate::event_rows::{insert_events, EventRows};
use crate::metadata::CommandMetadata;
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use cqrs_es::{Aggregate, AggregateError, DomainEvent};
use sqlx::Row;
use std::collections::HashMap;

/// What became of one command of a batch.
#[derive(Debug)]
pub enum Decided<E> {
    /// Its events were appended (none if the aggregate had nothing to record).
    Appended,
    /// A command with its idempotency key was already recorded: nothing written.
    AlreadyRecorded,
    /// The aggregate refused it: nothing written for it.
    Refused(E),
}

/// An aggregate as loaded for the batch, with the last sequence it holds.
struct Loaded<A> {
    aggregate: A,
    sequence: i64,
}

impl<A: Aggregate> CommandBus<A> {
    /// Decides `commands` (aggregate id, command, metadata) in order and appends every
    /// resulting event in one statement; one outcome per command, in order. Commands to the
    /// same aggregate follow each other on it. Fails as a whole (nothing written) on a
    /// database error or a conflicting write; refused with [`CommandError::Internal`] on a
    /// bus without [`CommandBus::with_batches`] or with guard keys (a guarded command must
    /// hold its keys while it decides).
    pub async fn execute_many(
        &self,
        commands: Vec<(String, A::Command, CommandMetadata)>,
    ) -> Result<Vec<Decided<A::Error>>, CommandError<A::Error>> {
        let Some(services) = self
            .batch_services
            .as_ref()
            .filter(|_| self.guard.is_none())
        else {
            return Err(CommandError::Internal(
                "this command bus decides one command at a time".into(),
            ));
        };
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let span = tracing::debug_span!(
            target: crate::trace::TARGET,
            "commands",
            aggregate = A::TYPE,
            commands = commands.len()
        );
        tracing::Instrument::instrument(self.decide_many(services, commands), span).await
    }

    async fn decide_many(
        &self,
        services: &A::Services,
        commands: Vec<(String, A::Command, CommandMetadata)>,
    ) -> Result<Vec<Decided<A::Error>>, CommandError<A::Error>> {
        let ids: Vec<String> = {
            let mut ids: Vec<String> = commands.iter().map(|(id, _, _)| id.clone()).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        // Loaded first, then the idempotency keys looked up: a command recorded by another
        // writer in between is then found recorded, not decided again on a state that
        // already holds its fact (the other order would refuse it as done twice).
        let mut loaded = self.load(&ids).await?;
        let recorded = self.recorded(&commands).await.map_err(database_error)?;
        let mut rows = EventRows::default();
        let mut outcomes = Vec::with_capacity(commands.len());
        // The area's retention delays are read once for the whole batch.
        let decisions = crate::retention::reading_delays_once(async {
            for (i, (id, command, metadata)) in commands.into_iter().enumerate() {
                if recorded[i] {
                    outcomes.push(Decided::AlreadyRecorded);
                    continue;
                }
                let entry = loaded.entry(id.clone()).or_insert_with(|| Loaded {
                    aggregate: A::default(),
                    sequence: 0,
                });
                let sink = EventSink::default();
                if let Err(refusal) = entry.aggregate.handle(command, services, &sink).await {
                    outcomes.push(Decided::Refused(refusal));
                    continue;
                }
                let metadata = serde_json::to_string(&metadata.into_map())
                    .map_err(|e| CommandError::Internal(Box::new(e)))?;
                for event in sink.collect().await {
                    entry.sequence += 1;
                    let payload = serde_json::to_string(&event)
                        .map_err(|e| CommandError::Internal(Box::new(e)))?;
                    rows.push(
                        &id,
                        entry.sequence,
                        event.event_type(),
                        event.event_version(),
                        payload,
                        metadata.clone(),
                    );
                }
                outcomes.push(Decided::Appended);
            }
            Ok::<_, CommandError<A::Error>>(())
        })
        .await;
        decisions?;
        if !rows.is_empty() {
            self.append(rows).await?;
            self.wake.events_committed();
        }
        Ok(outcomes)
    }

    /// For each command, whether its idempotency key was already recorded by its actor on its
    /// aggregate.
    async fn recorded(
        &self,
        commands: &[(String, A::Command, CommandMetadata)],
    ) -> Result<Vec<bool>, sqlx::Error> {
        let keyed: Vec<(String, String, String)> = commands
            .iter()
            .filter_map(|(id, _, m)| {
                m.idempotency_key
                    .clone()
                    .map(|k| (id.clone(), k, m.acting_user.clone()))
            })
            .collect();
        if keyed.is_empty() {
            return Ok(vec![false; commands.len()]);
        }
        let (ids, keys, users): (Vec<_>, Vec<_>, Vec<_>) = unzip3(keyed);
        let found: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT e.aggregate_id, e.metadata ->> 'idempotency_key'
               FROM unnest($2::text[], $3::text[], $4::text[]) AS c(id, key, actor)
               JOIN events e ON e.aggregate_type = $1 AND e.aggregate_id = c.id
                AND e.metadata ->> 'idempotency_key' = c.key
                AND e.metadata ->> 'acting_user' = c.actor",
        )
        .bind(A::TYPE)
        .bind(&ids)
        .bind(&keys)
        .bind(&users)
        .fetch_all(&self.pool)
        .await?;
        Ok(commands
            .iter()
            .map(|(id, _, m)| {
                m.idempotency_key
                    .as_ref()
                    .is_some_and(|k| found.iter().any(|(i, f)| i == id && f == k))
            })
            .collect())
    }

    /// The aggregates `ids` as their snapshots and later events make them (absent: no event).
    async fn load(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Loaded<A>>, CommandError<A::Error>> {
        let mut loaded: HashMap<String, Loaded<A>> = HashMap::new();
        if ids.is_empty() {
            return Ok(loaded);
        }
        if self.config.snapshot_every.is_some() {
            let snapshots = sqlx::query(
                "SELECT aggregate_id, last_sequence, payload FROM snapshots
                  WHERE aggregate_type = $1 AND aggregate_id = ANY($2)",
            )
            .bind(A::TYPE)
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(database_error)?;
            for row in snapshots {
                let id: String = row.try_get("aggregate_id").map_err(database_error)?;
                let payload: serde_json::Value = row.try_get("payload").map_err(database_error)?;
                let aggregate: A = serde_json::from_value(payload)
                    .map_err(|e| CommandError::Internal(Box::new(e)))?;
                let sequence: i64 = row.try_get("last_sequence").map_err(database_error)?;
                loaded.insert(
                    id,
                    Loaded {
                        aggregate,
                        sequence,
                    },
                );
            }
        }
        let after: Vec<i64> = ids
            .iter()
            .map(|id| loaded.get(id).map_or(0, |l| l.sequence))
            .collect();
        let upcasters = crate::upcasting::upcasters(A::TYPE);
        let events = sqlx::query(
            "SELECT e.aggregate_id, e.sequence, e.event_type, e.event_version, e.payload
               FROM unnest($2::text[], $3::bigint[]) AS a(id, after)
               JOIN events e ON e.aggregate_type = $1 AND e.aggregate_id = a.id
                AND e.sequence > a.after
              ORDER BY e.aggregate_id, e.sequence",
        )
        .bind(A::TYPE)
        .bind(ids)
        .bind(&after)
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?;
        for row in events {
            let id: String = row.try_get("aggregate_id").map_err(database_error)?;
            let sequence: i64 = row.try_get("sequence").map_err(database_error)?;
            let event = upcast(
                &upcasters,
                SerializedEvent {
                    aggregate_id: id.clone(),
                    sequence: sequence as usize,
                    aggregate_type: A::TYPE.to_string(),
                    event_type: row.try_get("event_type").map_err(database_error)?,
                    event_version: row.try_get("event_version").map_err(database_error)?,
                    payload: row.try_get("payload").map_err(database_error)?,
                    metadata: serde_json::Value::Null,
                },
            );
            let event: A::Event = serde_json::from_value(event.payload)
                .map_err(|e| classify(AggregateError::DeserializationError(Box::new(e))))?;
            let entry = loaded.entry(id).or_insert_with(|| Loaded {
                aggregate: A::default(),
                sequence: 0,
            });
            entry.aggregate.apply(event);
            entry.sequence = sequence;
        }
        Ok(loaded)
    }

    /// Appends `rows` in one statement, in their order (an aggregate's events in sequence).
    async fn append(&self, rows: EventRows) -> Result<(), CommandError<A::Error>> {
        let span = tracing::debug_span!(
            target: crate::trace::TARGET,
            "append",
            aggregate = A::TYPE,
            events = rows.len()
        );
        let insert = rows
            .bind(sqlx::query(insert_events!()).bind(A::TYPE))
            .execute(&self.pool);
        tracing::Instrument::instrument(insert, span)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db)
                    if matches!(db.code().as_deref(), Some("40001" | "40P01" | "23505")) =>
                {
                    CommandError::Conflict
                }
                _ => database_error(e),
            })?;
        Ok(())
    }
}

/// `event` brought to its current version, as cqrs-es's loading does.
fn upcast(upcasters: &[Box<dyn EventUpcaster>], mut event: SerializedEvent) -> SerializedEvent {
    for upcaster in upcasters {
        if upcaster.can_upcast(&event.event_type, &event.event_version) {
            event = upcaster.upcast(event);
        }
    }
    event
}

fn unzip3<A, B, C>(v: Vec<(A, B, C)>) -> (Vec<A>, Vec<B>, Vec<C>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for (a, b, c) in v {
        out.0.push(a);
        out.1.push(b);
        out.2.push(c);
    }
    out
}
