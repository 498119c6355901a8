//! The history of an exchange for auditors: every event of its aggregate, and every event of
//! another aggregate written by the same commands (same correlation id), in feed position
//! order, with who acted, when, why (correlation and causation) and its place in the hash chain.
//! Personal data stay sealed: each sealed value shows as `{"sealed": "<key id>"}`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgPool, Row};

/// One event of an exchange's history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// The payload with every sealed value replaced by `{"sealed": "<key id>"}`.
    pub payload: Value,
    pub acting_user: Option<String>,
    pub acting_authority: Option<String>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: Option<String>,
    pub hash: String,
}

/// Whether `value` has the shape of a sealed value (see `imi_domain::sealed`).
fn is_sealed(map: &serde_json::Map<String, Value>) -> bool {
    map.len() == 4
        && ["key", "alg", "nonce", "ct"]
            .iter()
            .all(|k| map.contains_key(*k))
}

/// `value` with every sealed value masked.
pub fn mask_sealed(value: Value) -> Value {
    match value {
        Value::Object(map) if is_sealed(&map) => {
            serde_json::json!({ "sealed": map.get("key").cloned().unwrap_or(Value::Null) })
        }
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, mask_sealed(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(mask_sealed).collect()),
        other => other,
    }
}

/// Which events of other aggregates, recorded by the exchange's commands, a history shows.
#[derive(Clone, Debug)]
pub enum Related<'a> {
    /// All of them (the operator's view).
    All,
    /// Only those of these authorities (an auditor's Member State's).
    Authorities(&'a [String]),
}

/// A page of the history of `aggregate_type`/`aggregate_id`: events after `after` (a
/// position), at most `limit`, oldest first. Empty when the exchange has no events.
pub async fn of_exchange(
    pool: &PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
    related: Related<'_>,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    let authorities = match related {
        Related::All => None,
        Related::Authorities(ids) => Some(ids),
    };
    let rows = sqlx::query(
        "WITH own AS (
             SELECT DISTINCT metadata->>'correlation_id' AS correlation_id FROM events
              WHERE aggregate_type = $1 AND aggregate_id = $2
         )
         SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version,
                payload::jsonb AS payload, metadata::jsonb AS metadata, recorded_at,
                encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
           FROM events
          WHERE position > $3
            AND ((aggregate_type = $1 AND aggregate_id = $2)
                 OR (metadata->>'correlation_id' IN (SELECT correlation_id FROM own)
                     AND ($5::text[] IS NULL
                          OR (aggregate_type = 'Authority' AND aggregate_id = ANY($5)))))
          ORDER BY position
          LIMIT $4",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(after.unwrap_or(0))
    .bind(limit)
    .bind(authorities)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let metadata: Value = row.try_get("metadata")?;
            let text = |key: &str| {
                metadata
                    .get(key)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            Ok(HistoryEntry {
                position: row.try_get("position")?,
                aggregate_type: row.try_get("aggregate_type")?,
                aggregate_id: row.try_get("aggregate_id")?,
                sequence: row.try_get("sequence")?,
                event_type: row.try_get("event_type")?,
                event_version: row.try_get("event_version")?,
                payload: mask_sealed(row.try_get("payload")?),
                acting_user: text("acting_user"),
                acting_authority: text("acting_authority"),
                correlation_id: text("correlation_id"),
                causation_id: text("causation_id"),
                recorded_at: row.try_get("recorded_at")?,
                prev_hash: row.try_get("prev_hash")?,
                hash: row.try_get("hash")?,
            })
        })
        .collect()
}
