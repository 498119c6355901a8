//! A rebuild's memory of folded aggregates: during a blue/green rebuild, and only there (entered
//! explicitly by [`crate::rebuild::rebuild_with`], a memory per member of a group, see
//! [`scope`]), the request and alert folds keep each aggregate's state and last sequence in
//! memory from one batch to the next, instead of reading and rewriting them in the shadow's
//! `request_states`/`alert_states` and `sequences` in every batch.
//!
//! The memory is bounded: past its capacity, the aggregates folded longest ago are written to
//! the shadow's tables in the batch's transaction, and taken back out of them (read and
//! deleted) should a later batch touch them again, so an aggregate is always in exactly one of
//! the two places. [`flush`] writes what is still held before the shadow is swapped in. Until
//! then the shadow's tables lack what the memory holds, which is safe because nobody else uses
//! them: a shadow is never resumed (every rebuild starts from an empty one, and a diff builds
//! its own without a memory), and a failed rebuild drops its memory with its shadow.
//!
//! Sequences are still checked, in memory: an event must be its aggregate's next one.
//!
//! The scope also marks a rebuild's batches for [`crate::fold::insert_rows`], which writes
//! them with `COPY`.

use imi_domain::alert::Alert;
use imi_domain::request::InformationRequest;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::PgConnection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::{Arc, Mutex, MutexGuard};

tokio::task_local! {
    static MEMORY: Arc<Mutex<Memory>>;
}

/// Rows written per statement when the memory writes aggregates out.
const WRITE_CHUNK: usize = 5_000;

/// A rebuild's memory, shared by the tasks that apply and send a member's batches.
pub(crate) type Handle = Arc<Mutex<Memory>>;

/// The folded aggregates a rebuild holds.
pub(crate) struct Memory {
    capacity: usize,
    /// Counts batches: an aggregate remembers the last one that folded it.
    clock: u64,
    requests: Held<InformationRequest>,
    alerts: Held<Alert>,
}

impl Memory {
    /// A memory of at most `capacity` aggregates (at least one).
    pub(crate) fn new(capacity: usize) -> Arc<Mutex<Self>> {
        Arc::new(Mutex::new(Self {
            capacity: capacity.max(1),
            clock: 0,
            requests: Held::default(),
            alerts: Held::default(),
        }))
    }
}

struct Entry<S> {
    state: S,
    sequence: i64,
    used: u64,
}

pub(crate) struct Held<S> {
    entries: HashMap<String, Entry<S>>,
    /// Hashes of the ids written out to the tables: an id not among them was never written, so
    /// a batch that does not hold it starts it afresh without asking the database.
    written: HashSet<u64>,
}

impl<S> Default for Held<S> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            written: HashSet::new(),
        }
    }
}

fn hash(id: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(id)
}

/// A kind of aggregate the memory holds, with the shadow's table of its states.
pub(crate) trait Kind:
    Clone + Default + Serialize + DeserializeOwned + Send + Unpin + 'static
{
    /// `(KEY text PRIMARY KEY, state jsonb NOT NULL)`.
    const STATES: &'static str;
    const KEY: &'static str;
    fn held(memory: &mut Memory) -> &mut Held<Self>;
}

impl Kind for InformationRequest {
    const STATES: &'static str = "request_states";
    const KEY: &'static str = "request_id";
    fn held(memory: &mut Memory) -> &mut Held<Self> {
        &mut memory.requests
    }
}

impl Kind for Alert {
    const STATES: &'static str = "alert_states";
    const KEY: &'static str = "alert_id";
    fn held(memory: &mut Memory) -> &mut Held<Self> {
        &mut memory.alerts
    }
}

/// Runs `f` (a rebuild's batches, or a task they start) with `memory`, if any: the folds that
/// `apply` calls inside it keep their states there, and the writes go as a rebuild's.
pub(crate) async fn scope<F: Future>(memory: Option<Arc<Mutex<Memory>>>, f: F) -> F::Output {
    match memory {
        Some(memory) => MEMORY.scope(memory, f).await,
        None => f.await,
    }
}

/// The memory of the rebuild this task runs, if any.
pub(crate) fn current() -> Option<Arc<Mutex<Memory>>> {
    MEMORY.try_with(Arc::clone).ok()
}

fn lock(memory: &Mutex<Memory>) -> MutexGuard<'_, Memory> {
    // A panic while holding it leaves nothing half-changed that a rebuild would go on with: the
    // rebuild fails with it.
    memory.lock().unwrap_or_else(|e| e.into_inner())
}

/// The states and last sequences of `ids` (sorted, distinct) for a batch to fold: taken out of
/// the memory, or out of the shadow's tables for those written there earlier; a new aggregate
/// starts at its default state and sequence 0.
pub(crate) async fn take<S: Kind>(
    memory: &Mutex<Memory>,
    db: &mut PgConnection,
    ids: &[String],
) -> Result<BTreeMap<String, (S, i64)>, sqlx::Error> {
    let mut taken = BTreeMap::new();
    let mut written = Vec::new();
    {
        let mut m = lock(memory);
        let held = S::held(&mut m);
        for id in ids {
            match held.entries.remove(id) {
                Some(entry) => {
                    taken.insert(id.clone(), (entry.state, entry.sequence));
                }
                None if held.written.contains(&hash(id)) => written.push(id.clone()),
                None => {
                    taken.insert(id.clone(), (S::default(), 0));
                }
            }
        }
    }
    if !written.is_empty() {
        // The keys' collation named, as in `Sequences::load`: these statements serve every
        // projection that keeps such a memory.
        let states: Vec<(String, sqlx::types::Json<S>)> = sqlx::query_as(&format!(
            "DELETE FROM {} WHERE {} = ANY($1) RETURNING {1} COLLATE \"default\", state",
            S::STATES,
            S::KEY
        ))
        .bind(&written)
        .fetch_all(&mut *db)
        .await?;
        let sequences: HashMap<String, i64> = sqlx::query_as(
            "DELETE FROM sequences WHERE aggregate_id = ANY($1)
             RETURNING aggregate_id COLLATE \"default\", sequence",
        )
        .bind(&written)
        .fetch_all(&mut *db)
        .await?
        .into_iter()
        .collect();
        let mut states: HashMap<String, S> = states.into_iter().map(|(id, s)| (id, s.0)).collect();
        for id in written {
            // A hash shared with another id written out: this one is new.
            let state = states.remove(&id).unwrap_or_default();
            let sequence = sequences.get(&id).copied().unwrap_or(0);
            taken.insert(id, (state, sequence));
        }
    }
    Ok(taken)
}

/// Gives a batch's states back to the memory, then writes out to the shadow's tables the
/// aggregates folded longest ago while it holds more than its capacity.
pub(crate) async fn give_back<S: Kind>(
    memory: &Mutex<Memory>,
    db: &mut PgConnection,
    states: impl IntoIterator<Item = (String, S, i64)>,
) -> Result<(), sqlx::Error> {
    let out = {
        let mut m = lock(memory);
        m.clock += 1;
        let (clock, capacity) = (m.clock, m.capacity);
        let held = S::held(&mut m);
        for (id, state, sequence) in states {
            held.entries.insert(
                id,
                Entry {
                    state,
                    sequence,
                    used: clock,
                },
            );
        }
        if held.entries.len() <= capacity {
            return Ok(());
        }
        // Down to three quarters, so that writing out happens in chunks, not every batch.
        let keep = capacity - capacity / 4;
        let mut by_age: Vec<(u64, String)> = held
            .entries
            .iter()
            .map(|(id, e)| (e.used, id.clone()))
            .collect();
        by_age.sort_unstable();
        by_age.truncate(held.entries.len() - keep);
        take_out(held, by_age.into_iter().map(|(_, id)| id))
    };
    write_out::<S>(db, out).await
}

/// Removes `ids` from `held`, marked as written.
fn take_out<S>(held: &mut Held<S>, ids: impl Iterator<Item = String>) -> Vec<(String, S, i64)> {
    ids.filter_map(|id| {
        let entry = held.entries.remove(&id)?;
        held.written.insert(hash(&id));
        Some((id, entry.state, entry.sequence))
    })
    .collect()
}

/// Writes aggregates taken out of the memory to the shadow's tables (where they are not: an
/// aggregate is either held or written).
async fn write_out<S: Kind>(
    db: &mut PgConnection,
    out: Vec<(String, S, i64)>,
) -> Result<(), sqlx::Error> {
    for chunk in out.chunks(WRITE_CHUNK) {
        let mut ids = Vec::with_capacity(chunk.len());
        let mut states = Vec::with_capacity(chunk.len());
        let mut sequences = Vec::with_capacity(chunk.len());
        for (id, state, sequence) in chunk {
            ids.push(id.as_str());
            // As text, parsed once by the server (no JSON tree built on the way).
            states
                .push(serde_json::to_string(state).map_err(|e| sqlx::Error::Encode(Box::new(e)))?);
            sequences.push(*sequence);
        }
        sqlx::query(&format!(
            "INSERT INTO {} ({}, state)
             SELECT k, s::jsonb FROM unnest($1::text[], $2::text[]) AS t(k, s)",
            S::STATES,
            S::KEY
        ))
        .bind(&ids)
        .bind(&states)
        .execute(&mut *db)
        .await?;
        sqlx::query(
            "INSERT INTO sequences (aggregate_id, sequence)
             SELECT * FROM unnest($1::text[], $2::bigint[])",
        )
        .bind(&ids)
        .bind(&sequences)
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

/// Writes every aggregate still held to the shadow's tables (`db`'s search path), leaving the
/// memory empty: the shadow then holds what the live path would have built.
pub(crate) async fn flush(
    memory: &Mutex<Memory>,
    db: &mut PgConnection,
) -> Result<(), sqlx::Error> {
    let (requests, alerts) = {
        let mut m = lock(memory);
        let ids: Vec<String> = m.requests.entries.keys().cloned().collect();
        let requests = take_out(&mut m.requests, ids.into_iter());
        let ids: Vec<String> = m.alerts.entries.keys().cloned().collect();
        let alerts = take_out(&mut m.alerts, ids.into_iter());
        (requests, alerts)
    };
    write_out::<InformationRequest>(db, requests).await?;
    write_out::<Alert>(db, alerts).await
}
