//! One aggregate's events up to a point of the log, as the repository hands them to the
//! aggregate: through the aggregate's upcasters, in sequence order. Folding them with the
//! aggregate's own `apply` gives the state the system held at that point.
//!
//! A point is a feed position (the events at or before it) or a time (the events recorded at
//! or before it). An aggregate's positions rise with its sequence (a command appends after
//! reading the previous event), so either cut keeps a prefix of its history.

use crate::feed::{FeedEvent, FeedPosition};
use chrono::{DateTime, Utc};
use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use sqlx::{PgPool, Row};

/// A point of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsOf {
    /// At or before this feed position.
    Position(i64),
    /// Recorded at or before this time.
    Time(DateTime<Utc>),
}

impl AsOf {
    /// Whether `e` is at or before this point.
    pub fn includes(self, e: &FeedEvent) -> bool {
        match self {
            AsOf::Position(p) => e.at.position <= p,
            AsOf::Time(t) => e.recorded_at <= t,
        }
    }

    /// The events of `events` (one aggregate's, oldest first) up to this point.
    pub fn prefix(self, events: &[FeedEvent]) -> &[FeedEvent] {
        let n = events.iter().take_while(|e| self.includes(e)).count();
        &events[..n]
    }
}

/// The highest position written so far (0 for an empty log).
pub async fn head_position(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
        .fetch_one(pool)
        .await
}

/// Every event of `aggregate_type`/`aggregate_id`, upcast by `upcasters`, oldest first (the
/// caller keeps those up to its point, a prefix: [`AsOf::includes`]).
pub async fn events_of(
    pool: &PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
    upcasters: &[Box<dyn EventUpcaster>],
) -> Result<Vec<FeedEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT xid::text::bigint AS txid, position, sequence, event_type, event_version,
                payload, metadata, recorded_at
           FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2
          ORDER BY sequence",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let serialized = SerializedEvent {
                aggregate_id: aggregate_id.to_string(),
                sequence: row.try_get::<i64, _>("sequence")? as usize,
                aggregate_type: aggregate_type.to_string(),
                event_type: row.try_get("event_type")?,
                event_version: row.try_get("event_version")?,
                payload: row.try_get("payload")?,
                metadata: row.try_get("metadata")?,
            };
            let upcast = upcast(serialized, upcasters);
            Ok(FeedEvent {
                at: FeedPosition {
                    xid: row.try_get("txid")?,
                    position: row.try_get("position")?,
                },
                aggregate_type: upcast.aggregate_type,
                aggregate_id: upcast.aggregate_id,
                sequence: upcast.sequence as i64,
                event_type: upcast.event_type,
                event_version: upcast.event_version,
                payload: crate::feed::raw_json(&upcast.payload),
                metadata: crate::feed::raw_json(&upcast.metadata),
                recorded_at: row.try_get("recorded_at")?,
            })
        })
        .collect()
}

/// `event` through every upcaster that takes it, in order, as cqrs-es's event store does.
fn upcast(mut event: SerializedEvent, upcasters: &[Box<dyn EventUpcaster>]) -> SerializedEvent {
    for upcaster in upcasters {
        if upcaster.can_upcast(&event.event_type, &event.event_version) {
            event = upcaster.upcast(event);
        }
    }
    event
}
