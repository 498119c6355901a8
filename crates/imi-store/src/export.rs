//! A verifiable export of the event log: NDJSON, one event a line with every column its hash
//! covers, between a header that states the hash recipe and a trailer that names every chain's
//! head. [`verify_export`] checks such a file alone, without the database, and names the first
//! line that breaks. The recipe is in docs/AUDIT.md, with a short independent verifier.

use crate::audit::event_hash_parts;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};

/// The format named in every export's header.
pub const FORMAT: &str = "imi-event-export/1";

/// How an event's hash is computed, as the header states it.
pub const RECIPE: &str = "hash = sha256(prev_hash || aggregate_type US aggregate_id US sequence \
    US event_type US event_version US payload US metadata), US = 0x1F, text in UTF-8, sequence in \
    decimal, payload and metadata exactly as the line's strings hold them; prev_hash is absent \
    (no bytes) for sequence 1 and else the hash of the aggregate's previous event; hashes are \
    lowercase hex";

/// Which events to export.
#[derive(Clone, Debug, Default)]
pub struct ExportFilter {
    /// Only events after this position.
    pub since: Option<i64>,
    /// Only this aggregate (`Type/id`).
    pub aggregate: Option<(String, String)>,
}

/// One line of an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    Header {
        format: String,
        recipe: String,
        exported_at: DateTime<Utc>,
        since: Option<i64>,
        aggregate: Option<String>,
    },
    Event(ExportedEvent),
    Trailer {
        events: u64,
        /// Every exported chain's last event: `Type/id` → (sequence, hash).
        heads: BTreeMap<String, Head>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedEvent {
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// The payload's JSON text exactly as stored (the hash covers this text).
    pub payload: String,
    pub metadata: String,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: Option<String>,
    pub hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub sequence: i64,
    pub hash: String,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the events: {0}")]
    Database(#[from] sqlx::Error),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the export: {0}")]
    Json(#[from] serde_json::Error),
}

/// What an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub events: u64,
    pub chains: u64,
    pub last_position: Option<i64>,
}

/// Streams the events `filter` selects, in position order, to `out`.
pub async fn export(
    pool: &PgPool,
    filter: &ExportFilter,
    out: &mut impl Write,
) -> Result<ExportSummary, ExportError> {
    let header = Line::Header {
        format: FORMAT.to_string(),
        recipe: RECIPE.to_string(),
        exported_at: Utc::now(),
        since: filter.since,
        aggregate: filter.aggregate.as_ref().map(|(t, i)| format!("{t}/{i}")),
    };
    write_line(out, &header)?;
    // Committed events only, in a stable snapshot: a repeatable-read transaction.
    let mut tx = crate::pool::begin(pool).await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;
    let (aggregate_type, aggregate_id) = filter.aggregate.clone().unzip();
    let mut rows = sqlx::query(
        "SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version,
                payload::text AS payload, metadata::text AS metadata, recorded_at,
                encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
           FROM events
          WHERE position > $1
            AND ($2::text IS NULL OR (aggregate_type = $2 AND aggregate_id = $3))
          ORDER BY position",
    )
    .bind(filter.since.unwrap_or(0))
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch(&mut *tx);
    let mut summary = ExportSummary::default();
    let mut heads = BTreeMap::new();
    while let Some(row) = rows.try_next().await? {
        let event = ExportedEvent {
            position: row.try_get("position")?,
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            sequence: row.try_get("sequence")?,
            event_type: row.try_get("event_type")?,
            event_version: row.try_get("event_version")?,
            payload: row.try_get("payload")?,
            metadata: row.try_get("metadata")?,
            recorded_at: row.try_get("recorded_at")?,
            prev_hash: row.try_get("prev_hash")?,
            hash: row.try_get("hash")?,
        };
        heads.insert(
            format!("{}/{}", event.aggregate_type, event.aggregate_id),
            Head {
                sequence: event.sequence,
                hash: event.hash.clone(),
            },
        );
        summary.events += 1;
        summary.last_position = Some(event.position);
        write_line(out, &Line::Event(event))?;
    }
    drop(rows);
    tx.commit().await?;
    summary.chains = heads.len() as u64;
    write_line(
        out,
        &Line::Trailer {
            events: summary.events,
            heads,
        },
    )?;
    out.flush()?;
    Ok(summary)
}

fn write_line(out: &mut impl Write, line: &Line) -> Result<(), ExportError> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// What a sound export holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportCheck {
    pub events: u64,
    pub chains: u64,
}

/// The first line (1-based) where an export breaks, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct ExportBreak {
    pub line: u64,
    pub problem: String,
}

/// Checks an export alone: its header, every event's hash and link to its chain's previous
/// event, positions strictly rising (nothing reordered), and the trailer's count and chain heads
/// (nothing removed at a chain's end, no tail cut off).
pub fn verify_export(input: impl BufRead) -> Result<ExportCheck, ExportBreak> {
    let broken = |line: u64, problem: String| ExportBreak { line, problem };
    let mut chains: BTreeMap<String, (i64, String)> = BTreeMap::new();
    let mut events = 0u64;
    let mut last_position = None;
    let mut header_seen = false;
    let mut whole_history = true;
    let mut n = 0u64;
    for text in input.lines() {
        n += 1;
        let text = text.map_err(|e| broken(n, format!("unreadable: {e}")))?;
        let line: Line = serde_json::from_str(&text)
            .map_err(|e| broken(n, format!("not a line of an export: {e}")))?;
        match line {
            Line::Header {
                format,
                recipe,
                since,
                ..
            } => {
                if n != 1 {
                    return Err(broken(n, "a header after the first line".into()));
                }
                if format != FORMAT || recipe != RECIPE {
                    return Err(broken(n, format!("unknown format {format}")));
                }
                whole_history = since.is_none_or(|s| s <= 0);
                header_seen = true;
            }
            _ if !header_seen => return Err(broken(n, "the header is missing".into())),
            Line::Event(e) => {
                if last_position.is_some_and(|p| e.position <= p) {
                    return Err(broken(
                        n,
                        format!(
                            "position {} after {}: lines were reordered",
                            e.position,
                            last_position.unwrap_or_default()
                        ),
                    ));
                }
                last_position = Some(e.position);
                let chain = format!("{}/{}", e.aggregate_type, e.aggregate_id);
                match chains.get(&chain) {
                    Some((sequence, hash)) => {
                        if e.sequence != sequence + 1 {
                            return Err(broken(
                                n,
                                format!(
                                    "{chain} sequence {} follows {sequence}: a line is missing \
                                     or out of order",
                                    e.sequence
                                ),
                            ));
                        }
                        if e.prev_hash.as_deref() != Some(hash.as_str()) {
                            return Err(broken(
                                n,
                                format!("{chain} sequence {}: prev_hash is not the previous event's hash", e.sequence),
                            ));
                        }
                    }
                    // A chain's first event in an export of the whole history is its first.
                    None if (whole_history || e.sequence == 1)
                        && (e.sequence != 1 || e.prev_hash.is_some()) =>
                    {
                        return Err(broken(
                            n,
                            format!(
                                "{chain} starts at sequence {}: its earlier events are missing",
                                e.sequence
                            ),
                        ));
                    }
                    // A chain's first event (an export since a position may start mid-chain:
                    // its first link is taken as stated and checked from there on).
                    None => {}
                }
                let prev = match e.prev_hash.as_deref().map(hex::decode).transpose() {
                    Ok(prev) => prev,
                    Err(_) => return Err(broken(n, "prev_hash is not hex".into())),
                };
                let sequence = e.sequence.to_string();
                let parts = [
                    e.aggregate_type.as_str(),
                    e.aggregate_id.as_str(),
                    sequence.as_str(),
                    e.event_type.as_str(),
                    e.event_version.as_str(),
                    e.payload.as_str(),
                    e.metadata.as_str(),
                ];
                let computed = hex::encode(event_hash_parts(prev.as_deref(), &parts));
                if computed != e.hash {
                    return Err(broken(
                        n,
                        format!(
                            "{chain} sequence {}: the hash does not match the line's content",
                            e.sequence
                        ),
                    ));
                }
                chains.insert(chain, (e.sequence, e.hash));
                events += 1;
            }
            Line::Trailer {
                events: stated,
                heads,
            } => {
                if stated != events {
                    return Err(broken(
                        n,
                        format!("the trailer counts {stated} events, the file holds {events}"),
                    ));
                }
                for (chain, head) in &heads {
                    match chains.get(chain) {
                        Some((sequence, hash))
                            if *sequence == head.sequence && *hash == head.hash => {}
                        Some((sequence, _)) => {
                            return Err(broken(
                                n,
                                format!(
                                    "{chain} ends at sequence {sequence}, its head is {}: its \
                                     last events are missing",
                                    head.sequence
                                ),
                            ))
                        }
                        None => {
                            return Err(broken(
                                n,
                                format!("{chain} is named in the trailer but has no events"),
                            ))
                        }
                    }
                }
                if let Some(chain) = chains.keys().find(|c| !heads.contains_key(*c)) {
                    return Err(broken(n, format!("{chain} has no head in the trailer")));
                }
                return Ok(ExportCheck {
                    events,
                    chains: chains.len() as u64,
                });
            }
        }
    }
    Err(broken(
        n + 1,
        "the trailer is missing: the file was cut off".into(),
    ))
}
