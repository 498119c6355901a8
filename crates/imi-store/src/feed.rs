//! The global feed: every committed event, in (transaction id, position) order, read only
//! below the horizon `imi_feed_horizon()`: the oldest transaction still in progress that may
//! write events (migration 0036).
//!
//! Positions come from an identity column, so they are handed out at insert time, not at
//! commit: a transaction can commit an event with a lower position after a reader already saw a
//! higher one. A reader that keeps `position > last` skips it for good. Below the horizon every
//! transaction that may write events has ended, so nothing can still appear there; ordering by
//! transaction id first and checkpointing the pair (xid, position) then yields each event
//! exactly once.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sqlx::{PgConnection, PgExecutor, Row};
use std::collections::HashMap;

/// A point in the feed: the transaction that wrote an event and the event's position.
/// Ordered as the feed is: by transaction id, then position.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct FeedPosition {
    pub xid: i64,
    pub position: i64,
}

impl FeedPosition {
    /// Before the first event.
    pub const START: FeedPosition = FeedPosition {
        xid: 0,
        position: 0,
    };
}

impl std::fmt::Display for FeedPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.xid, self.position)
    }
}

/// One event as the feed delivers it.
///
/// Its payload and metadata are kept as the JSON text read, and parsed only by the reader that
/// needs them: a projection straight into its typed event ([`FeedEvent::event`]). Parsed into a
/// `serde_json::Value` on the way (a map per object, a string per key), then into the event,
/// then dropped, they took about a third of a long rebuild's CPU (docs/BENCHMARKS.md).
#[derive(Clone, Debug)]
pub struct FeedEvent {
    pub at: FeedPosition,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// `null` for an event of a type its reader does not read ([`read_of`]).
    pub payload: Box<RawValue>,
    pub metadata: Box<RawValue>,
    pub recorded_at: DateTime<Utc>,
}

impl FeedEvent {
    /// The payload as the aggregate's event type `T`.
    pub fn event<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.payload.get())
    }

    /// The payload as a JSON value.
    pub fn payload_value(&self) -> serde_json::Value {
        json_value(&self.payload)
    }

    /// The metadata as a JSON value.
    pub fn metadata_value(&self) -> serde_json::Value {
        json_value(&self.metadata)
    }

    /// The metadata's text fields `keys` (each `None` where it has none or it is not text),
    /// read in one pass over the metadata's JSON, the other fields skipped.
    pub fn metadata_texts<const N: usize>(&self, keys: [&str; N]) -> [Option<String>; N] {
        let mut json = serde_json::Deserializer::from_str(self.metadata.get());
        serde::Deserializer::deserialize_map(&mut json, Texts(keys))
            .unwrap_or_else(|_| std::array::from_fn(|_| None))
    }
}

/// Picks the text fields `0` out of a JSON object ([`FeedEvent::metadata_texts`]).
struct Texts<'k, const N: usize>([&'k str; N]);

impl<'de, const N: usize> serde::de::Visitor<'de> for Texts<'_, N> {
    type Value = [Option<String>; N];

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = std::array::from_fn(|_| None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.0.iter().position(|k| *k == key) {
                Some(i) => {
                    if let serde_json::Value::String(text) = map.next_value()? {
                        found[i] = Some(text);
                    }
                }
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// Two events are equal when every field is, their JSON as text.
impl PartialEq for FeedEvent {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
            && self.aggregate_type == other.aggregate_type
            && self.aggregate_id == other.aggregate_id
            && self.sequence == other.sequence
            && self.event_type == other.event_type
            && self.event_version == other.event_version
            && self.payload.get() == other.payload.get()
            && self.metadata.get() == other.metadata.get()
            && self.recorded_at == other.recorded_at
    }
}

/// JSON text read from the log as a value (`null` should it not parse, which the log's
/// `json` columns rule out).
fn json_value(raw: &RawValue) -> serde_json::Value {
    serde_json::from_str(raw.get()).unwrap_or_default()
}

/// JSON text as a raw value.
pub fn raw_json(value: &serde_json::Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).unwrap_or_else(|_| null())
}

/// `null`, as a raw value.
pub fn null() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

/// The columns of a feed row, as [`decode`] reads them (`txid`: the transaction id as a bigint).
macro_rules! feed_columns {
    () => {
        "xid::text::bigint AS txid, position, aggregate_type, aggregate_id, sequence,
         event_type, event_version, payload, metadata, recorded_at"
    };
}

const READ_SQL: &str = concat!(
    "
SELECT ",
    feed_columns!(),
    "
  FROM events
 WHERE (xid, position) > ($1::bigint::text::xid8, $2)
   AND xid < (SELECT imi_feed_horizon())
 -- events.xid, not the bigint alias: the order must come from the (xid, position) index.
 ORDER BY events.xid, events.position
 LIMIT $3"
);

/// The checkpoints of the projections named in `$1` (live slots), as a JSON array of
/// `[name, xid, position]` on the first row, whether a committed event waits above the horizon
/// (`held`, on the first row too), and up to `$2` events after the lowest checkpoint, below the
/// horizon: the rows of [`READ_SQL`] from there (one row without an event when there is none).
#[doc(hidden)]
pub const READ_AFTER_LOWEST_SQL: &str = concat!(
    "
WITH at AS (
  SELECT name, xid, position FROM projections WHERE slot = 'live' AND name = ANY($1)
), lowest AS (
  SELECT xid AS from_xid, position AS from_position FROM at ORDER BY xid, position LIMIT 1
), horizon AS (
  SELECT imi_feed_horizon() AS xid
)
SELECT CASE WHEN row_number() OVER () = 1
            THEN (SELECT jsonb_agg(jsonb_build_array(name, xid, position)) FROM at) END
         AS checkpoints,
       CASE WHEN row_number() OVER () = 1
            -- The newest visible event, from the end of the feed's index: a search for any
            -- event at or above the horizon was planned as a scan of the whole log.
            THEN (SELECT max(xid) FROM events) >= (SELECT xid FROM horizon) END
         AS held,
       e.*
  FROM lowest
  LEFT JOIN LATERAL (
   SELECT ",
    feed_columns!(),
    "
     FROM events
    WHERE (xid, position) > (from_xid::text::xid8, from_position)
      AND events.xid < (SELECT xid FROM horizon)
    ORDER BY events.xid, events.position
    LIMIT $2) AS e ON true"
);

/// The same rows as [`READ_SQL`], with the payload and metadata only of the events of the
/// types in `$4` (NULL for the others).
const READ_OF_SQL: &str = "
SELECT xid::text::bigint AS txid, position, aggregate_type, aggregate_id, sequence,
       event_type, event_version,
       CASE WHEN aggregate_type = ANY($4) THEN payload END AS payload,
       CASE WHEN aggregate_type = ANY($4) THEN metadata END AS metadata,
       recorded_at
  FROM events
 WHERE (xid, position) > ($1::bigint::text::xid8, $2)
   AND xid < (SELECT imi_feed_horizon())
 ORDER BY events.xid, events.position
 LIMIT $3";

/// The statements that begin a projector's batch ([`crate::pool::begin_with`]): the
/// transaction declares it writes no events, so that being open it does not hold the feed's
/// horizon back (the events table refuses its inserts from then on), and its commit does not
/// wait for the WAL flush: what it writes is derived from the log and commits with its
/// checkpoint, so a crash loses at most batches that are then applied again. One round trip
/// with the `BEGIN`: a lane's batch is a few events, and its cost is its round trips.
pub const PROJECTOR_BATCH: &str =
    "BEGIN; SELECT imi_writes_no_events(); SET LOCAL synchronous_commit = off";

/// Reads up to `limit` events after `after`, below the current horizon.
pub async fn read(
    db: &mut PgConnection,
    after: FeedPosition,
    limit: i64,
) -> Result<Vec<FeedEvent>, sqlx::Error> {
    read_of(db, after, limit, None).await
}

/// What [`read_after_lowest`] read.
#[derive(Debug, Default)]
pub struct LowestRead {
    /// The live checkpoints of the projections that have one.
    pub at: HashMap<String, FeedPosition>,
    /// The events after the lowest of them, below the horizon, in feed order.
    pub events: Vec<FeedEvent>,
    /// Whether a committed event waits above the horizon (behind a transaction still open):
    /// it becomes readable without a commit to wake anyone, so a reader looks again soon.
    pub held: bool,
}

/// The live checkpoints of the projections `names` (those that have one), and up to `limit`
/// events after the lowest of them, below the horizon, in feed order: [`read`] from there, in
/// one round trip with the checkpoints. Read the checkpoints under the projections' apply
/// locks, taken in an earlier statement of the transaction.
pub async fn read_after_lowest(
    db: &mut PgConnection,
    names: &[&str],
    limit: i64,
) -> Result<LowestRead, sqlx::Error> {
    let rows = sqlx::query(READ_AFTER_LOWEST_SQL)
        .bind(names)
        .bind(limit)
        .fetch_all(db)
        .await?;
    let mut read = LowestRead {
        events: Vec::with_capacity(rows.len()),
        ..LowestRead::default()
    };
    for row in &rows {
        let checkpoints: Option<sqlx::types::Json<Vec<(String, i64, i64)>>> =
            row.try_get("checkpoints")?;
        for (name, xid, position) in checkpoints.map(|c| c.0).unwrap_or_default() {
            read.at.insert(name, FeedPosition { xid, position });
        }
        read.held |= row.try_get::<Option<bool>, _>("held")?.unwrap_or(false);
        // The row of the checkpoints when no event follows them.
        if row.try_get::<Option<i64>, _>("position")?.is_some() {
            read.events.push(decode(row)?);
        }
    }
    // The statement's order is the feed's; sorting keeps it so whatever plan it runs with.
    read.events.sort_by_key(|e| e.at);
    Ok(read)
}

/// [`read`] for a reader of the events of `types` only (`None`: of every type): the same
/// events, so the reader's checkpoint moves past all of them, but those of other types come
/// without payload and metadata (both `null`, not upcast): they are neither sent nor decoded.
pub async fn read_of(
    db: &mut PgConnection,
    after: FeedPosition,
    limit: i64,
    types: Option<&[&str]>,
) -> Result<Vec<FeedEvent>, sqlx::Error> {
    let query = sqlx::query(if types.is_some() {
        READ_OF_SQL
    } else {
        READ_SQL
    })
    .bind(after.xid)
    .bind(after.position)
    .bind(limit);
    let query = match types {
        Some(types) => query.bind(types),
        None => query,
    };
    let rows = query.fetch_all(db).await?;
    rows.iter().map(decode).collect()
}

/// A row as the current code reads it: upcast to the event's current version.
fn decode(row: &sqlx::postgres::PgRow) -> Result<FeedEvent, sqlx::Error> {
    let mut event = decode_recorded(row)?;
    crate::upcasting::upcast(&mut event);
    Ok(event)
}

fn decode_recorded(row: &sqlx::postgres::PgRow) -> Result<FeedEvent, sqlx::Error> {
    Ok(FeedEvent {
        at: FeedPosition {
            xid: row.try_get("txid")?,
            position: row.try_get("position")?,
        },
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: raw(row, "payload")?,
        metadata: raw(row, "metadata")?,
        recorded_at: row.try_get("recorded_at")?,
    })
}

/// A JSON column as its text (`null` when NULL).
fn raw(row: &sqlx::postgres::PgRow, column: &str) -> Result<Box<RawValue>, sqlx::Error> {
    Ok(row
        .try_get::<Option<sqlx::types::Json<Box<RawValue>>>, _>(column)?
        .map_or_else(null, |json| json.0))
}

/// Where the log stands for a reader at `checkpoint`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FeedStatus {
    /// The horizon: every transaction below it that may write events has ended.
    pub horizon_xid: i64,
    /// The highest position written so far (committed or not).
    pub head_position: i64,
    /// Committed events after the checkpoint (below the horizon or not).
    pub lag_events: i64,
    /// Age of the oldest event not yet read, in seconds (0 when none).
    pub lag_seconds: f64,
}

/// The log's status as seen from `checkpoint`.
pub async fn status<'e>(
    db: impl PgExecutor<'e>,
    checkpoint: FeedPosition,
) -> Result<FeedStatus, sqlx::Error> {
    let row = sqlx::query(
        "
SELECT (SELECT imi_feed_horizon())::text::bigint AS horizon,
       (SELECT coalesce(max(position), 0) FROM events) AS head,
       count(*) AS lag,
       coalesce(extract(epoch FROM now() - min(recorded_at))::float8, 0) AS lag_seconds
  FROM events
 WHERE (xid, position) > ($1::bigint::text::xid8, $2)",
    )
    .bind(checkpoint.xid)
    .bind(checkpoint.position)
    .fetch_one(db)
    .await?;
    Ok(FeedStatus {
        horizon_xid: row.try_get("horizon")?,
        head_position: row.try_get("head")?,
        lag_events: row.try_get("lag")?,
        lag_seconds: row.try_get::<f64, _>("lag_seconds")?.max(0.0),
    })
}

/// The events of the aggregates `ids` of `aggregate_type`, each up to and with its sequence
/// in `through` (paired with `ids`), in sequence order per aggregate and upcast as the feed
/// serves them: what a projection folds again for an aggregate whose state it does not keep.
pub async fn read_histories(
    db: &mut PgConnection,
    aggregate_type: &str,
    ids: &[String],
    through: &[i64],
) -> Result<Vec<FeedEvent>, sqlx::Error> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        feed_columns!(),
        "
           FROM unnest($2::text[], $3::bigint[]) AS k(id, through)
           JOIN public.events e
             ON e.aggregate_type = $1 AND e.aggregate_id = k.id AND e.sequence <= k.through
          ORDER BY e.aggregate_id, e.sequence"
    ))
    .bind(aggregate_type)
    .bind(ids)
    .bind(through)
    .fetch_all(db)
    .await?;
    rows.iter().map(decode).collect()
}

/// The feed position of the latest event of one aggregate, if it has any: what a client that
/// just wrote must wait for before it reads its write.
pub async fn last_of_aggregate<'e>(
    db: impl PgExecutor<'e>,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Option<FeedPosition>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT xid::text::bigint AS xid, position FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2
          ORDER BY sequence DESC LIMIT 1",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
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

/// The feed position of the latest event that one client request (by its idempotency key and
/// acting user) wrote to an aggregate, if any.
pub async fn last_of_request<'e>(
    db: impl PgExecutor<'e>,
    aggregate_type: &str,
    aggregate_id: &str,
    idempotency_key: &str,
    acting_user: &str,
) -> Result<Option<FeedPosition>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT xid::text::bigint AS xid, position FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2
            AND metadata ->> 'idempotency_key' = $3 AND metadata ->> 'acting_user' = $4
          ORDER BY sequence DESC LIMIT 1",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(idempotency_key)
    .bind(acting_user)
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

#[cfg(test)]
mod tests {
    use super::{null, raw_json, FeedEvent, FeedPosition};
    use serde_json::json;

    fn with_metadata(metadata: serde_json::Value) -> FeedEvent {
        FeedEvent {
            at: FeedPosition::START,
            aggregate_type: "Authority".into(),
            aggregate_id: "a".into(),
            sequence: 1,
            event_type: "AuthorityRenamed".into(),
            event_version: "1".into(),
            payload: null(),
            metadata: raw_json(&metadata),
            recorded_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn metadata_texts_are_picked_by_key_and_anything_else_is_none() {
        let e = with_metadata(json!({
            "correlation_id": "c-1",
            "acting_user": "user:\"x\"\n",
            "nested": {"acting_authority": "not this one"},
            "acting_authority": 7,
        }));
        assert_eq!(
            e.metadata_texts(["acting_user", "acting_authority", "reason"]),
            [Some("user:\"x\"\n".to_string()), None, None]
        );
        assert_eq!(e.metadata_texts(["correlation_id"]), [Some("c-1".into())]);
        assert_eq!(with_metadata(json!(null)).metadata_texts(["a"]), [None]);
    }

    #[test]
    fn events_are_equal_by_their_json_text() {
        let e = with_metadata(json!({"a": "1"}));
        assert_eq!(e, e.clone());
        assert_ne!(e, with_metadata(json!({"a": "2"})));
        assert_eq!(e.metadata_value(), json!({"a": "1"}));
        assert_eq!(e.payload_value(), serde_json::Value::Null);
    }
}
