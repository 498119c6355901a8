//! The authorities this process loaded lately, as their events left them, so that loading one
//! again reads only the events appended since: one statement instead of two (the snapshot,
//! then the events after it), and no fold of what was folded before. Every command and every
//! read loads its caller's authority, and commands load the authorities their rules name.
//!
//! An entry is the aggregate after the event at `sequence`, and that event's hash. A load reads
//! the events from `sequence` on, that event included: unless it comes back with the same
//! hash, the entry is dropped and the authority loaded afresh (the database was re-created or
//! restored under the same name). Events are never changed or removed and an aggregate's
//! sequences have no gaps, so the entry folded with the rows after it is the state a load from
//! the start gives. Entries are kept by database (one process may serve several) and
//! authority, at most [`ENTRIES`], the least recently used dropped first.

use crate::per_database::Counter;
use crate::repository::event_of;
use crate::wake::database;
use cqrs_es::persist::EventUpcaster;
use cqrs_es::{Aggregate, EventEnvelope};
use imi_domain::authority::{Authority, AuthoritySummary};
use lru::LruCache;
use sqlx::{PgPool, Row};
use std::num::NonZeroUsize;
use std::sync::{LazyLock, Mutex, MutexGuard};

/// At most this many authorities are kept (a few KB each): a third of the EU's 12,600, the
/// recently used ones.
pub const ENTRIES: usize = 4_096;

struct Entry {
    aggregate: Authority,
    sequence: i64,
    hash: Vec<u8>,
}

type Key = (String, String);

static CACHE: LazyLock<Mutex<LruCache<Key, Entry>>> = LazyLock::new(|| {
    Mutex::new(LruCache::new(
        NonZeroUsize::new(ENTRIES).expect("ENTRIES is not zero"),
    ))
});

/// Loads that started from a kept entry, by database, for tests and benchmarks.
static HITS: Counter = Counter::new();

fn cache() -> MutexGuard<'static, LruCache<Key, Entry>> {
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

/// How many loads in `pool`'s database so far started from a kept entry.
pub fn hits(pool: &PgPool) -> u64 {
    HITS.get(pool)
}

/// The events of an authority from a sequence on, with their hashes.
const FROM: &str = "
SELECT sequence, event_type, event_version, payload, metadata, hash
  FROM events
 WHERE aggregate_type = 'Authority' AND aggregate_id = $1 AND sequence >= $2
 ORDER BY sequence";

/// The summary of authority `id` in `pool`'s database as its events leave it (`None` before
/// it exists), read through the cache.
pub async fn load(
    pool: &PgPool,
    upcasters: &[Box<dyn EventUpcaster>],
    id: &str,
) -> Result<Option<AuthoritySummary>, LoadError> {
    let key = (database(pool), id.to_string());
    let kept = cache()
        .get(&key)
        .map(|e| (e.aggregate.clone(), e.sequence, e.hash.clone()));
    if let Some((aggregate, sequence, hash)) = kept {
        if let Some(entry) =
            fold_from(pool, upcasters, id, aggregate, sequence, Some(&hash)).await?
        {
            HITS.add(pool);
            return Ok(keep(key, id, entry));
        }
        cache().pop(&key);
    }
    let (aggregate, sequence) = snapshot(pool, id).await?;
    let entry = match fold_from(pool, upcasters, id, aggregate, sequence, None).await? {
        Some(entry) => entry,
        // The snapshot's own event is missing: fold every event instead.
        None => fold_from(pool, upcasters, id, Authority::default(), 0, None)
            .await?
            .ok_or_else(|| LoadError(format!("authority {id}: no consistent history")))?,
    };
    Ok(keep(key, id, entry))
}

/// Keeps `entry` if the authority has events at all, and returns its summary.
fn keep(key: Key, id: &str, entry: Entry) -> Option<AuthoritySummary> {
    let summary = entry.aggregate.summary(id);
    if entry.sequence > 0 {
        cache().put(key, entry);
    }
    summary
}

/// The latest snapshot of the authority, or none (sequence 0); a snapshot that no longer
/// deserializes counts as none, as cqrs-es treats it.
async fn snapshot(pool: &PgPool, id: &str) -> Result<(Authority, i64), LoadError> {
    let row: Option<(i64, serde_json::Value)> = sqlx::query_as(
        "SELECT last_sequence, payload FROM snapshots
          WHERE aggregate_type = 'Authority' AND aggregate_id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(database_error)?;
    Ok(row
        .and_then(|(sequence, payload)| Some((serde_json::from_value(payload).ok()?, sequence)))
        .unwrap_or_default())
}

/// `aggregate` (the state after the event at `sequence`, 0: before any) folded with the later
/// events. With `hash`, the event at `sequence` must still have it. `None` when the event at
/// `sequence` is not there or not the same.
async fn fold_from(
    pool: &PgPool,
    upcasters: &[Box<dyn EventUpcaster>],
    id: &str,
    mut aggregate: Authority,
    mut sequence: i64,
    hash: Option<&[u8]>,
) -> Result<Option<Entry>, LoadError> {
    let rows = sqlx::query(FROM)
        .bind(id)
        .bind(sequence.max(1))
        .fetch_all(pool)
        .await
        .map_err(database_error)?;
    let mut rows = rows.iter();
    let mut last_hash = Vec::new();
    if sequence > 0 {
        let Some(first) = rows.next() else {
            return Ok(None);
        };
        let (at, first_hash): (i64, Vec<u8>) = (
            first.try_get("sequence").map_err(database_error)?,
            first.try_get("hash").map_err(database_error)?,
        );
        if at != sequence || hash.is_some_and(|h| h != first_hash.as_slice()) {
            return Ok(None);
        }
        last_hash = first_hash;
    }
    for row in rows {
        let event = event_of("Authority", id, row).map_err(database_error)?;
        let event = upcasters.iter().fold(event, |event, upcaster| {
            if upcaster.can_upcast(&event.event_type, &event.event_version) {
                upcaster.upcast(event)
            } else {
                event
            }
        });
        sequence = event.sequence as i64;
        let envelope = EventEnvelope::<Authority>::try_from(event)
            .map_err(|e| LoadError(format!("authority {id}: {e}")))?;
        aggregate.apply(envelope.payload);
        last_hash = row.try_get("hash").map_err(database_error)?;
    }
    Ok(Some(Entry {
        aggregate,
        sequence,
        hash: last_hash,
    }))
}

/// Why an authority could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(pub String);

fn database_error(e: sqlx::Error) -> LoadError {
    LoadError(format!("database: {e}"))
}
