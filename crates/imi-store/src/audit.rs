//! Verification of the hash chains: recomputes every event's hash from its stored text, outside
//! the database, and names the first event where a chain breaks.

use futures::TryStreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};

/// The first broken link found, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub position: i64,
    pub problem: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    pub events_checked: u64,
    pub aggregates_checked: u64,
    pub first_broken: Option<BrokenLink>,
}

/// The hash the database's `event_hash` computes, recomputed here:
/// sha256(prev_hash || type US id US sequence US event_type US version US payload US metadata).
pub fn event_hash(prev: Option<&[u8]>, fields: [&str; 7]) -> [u8; 32] {
    event_hash_parts(prev, &fields)
}

/// sha256(prev || parts joined by the unit separator), as the database's chain triggers hash.
pub fn event_hash_parts(prev: Option<&[u8]>, parts: &[impl AsRef<str>]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    if let Some(prev) = prev {
        hasher.update(prev);
    }
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update([0x1f]);
        }
        hasher.update(part.as_ref().as_bytes());
    }
    hasher.finalize().into()
}

/// Walks every chain in (aggregate, sequence) order.
pub async fn verify(pool: &PgPool) -> Result<AuditReport, sqlx::Error> {
    let mut rows = sqlx::query(
        "SELECT aggregate_type, aggregate_id, sequence, position, event_type, event_version,
                payload::text AS payload, metadata::text AS metadata, prev_hash, hash
           FROM events ORDER BY aggregate_type, aggregate_id, sequence",
    )
    .fetch(pool);
    let mut report = AuditReport::default();
    let mut chain: Option<(String, String, i64, Vec<u8>)> = None;
    while let Some(row) = rows.try_next().await? {
        let aggregate_type: String = row.try_get("aggregate_type")?;
        let aggregate_id: String = row.try_get("aggregate_id")?;
        let sequence: i64 = row.try_get("sequence")?;
        let prev_hash: Option<Vec<u8>> = row.try_get("prev_hash")?;
        let hash: Vec<u8> = row.try_get("hash")?;
        let same_chain = chain
            .as_ref()
            .is_some_and(|(t, i, _, _)| *t == aggregate_type && *i == aggregate_id);
        if !same_chain {
            report.aggregates_checked += 1;
        }
        let (expected_sequence, expected_prev) = match (&chain, same_chain) {
            (Some((_, _, last, h)), true) => (last + 1, Some(h.clone())),
            _ => (1, None),
        };
        let problem = if sequence != expected_sequence {
            Some(format!(
                "sequence {sequence} follows {}: events are missing",
                expected_sequence - 1
            ))
        } else if prev_hash != expected_prev {
            Some("prev_hash does not match the previous event's hash".to_string())
        } else {
            let fields = [
                aggregate_type.as_str(),
                aggregate_id.as_str(),
                &sequence.to_string(),
                &row.try_get::<String, _>("event_type")?,
                &row.try_get::<String, _>("event_version")?,
                &row.try_get::<String, _>("payload")?,
                &row.try_get::<String, _>("metadata")?,
            ];
            (event_hash(prev_hash.as_deref(), fields).as_slice() != hash.as_slice())
                .then(|| "hash does not match the event's stored content".to_string())
        };
        report.events_checked += 1;
        if let Some(problem) = problem {
            report.first_broken = Some(BrokenLink {
                aggregate_type,
                aggregate_id,
                sequence,
                position: row.try_get("position")?,
                problem,
            });
            return Ok(report);
        }
        chain = Some((aggregate_type, aggregate_id, sequence, hash));
    }
    Ok(report)
}
