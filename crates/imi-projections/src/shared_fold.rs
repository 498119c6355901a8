//! One fold of each batch's requests for the request projections that apply it together: those
//! rebuilt together ([`crate::rebuild::rebuild_together`]) and those of one lane of the live
//! engine ([`crate::engine`], [`live`]). The first member that folds a batch, the owner, folds it
//! as a projection alone does; the members after it that are given the same request events
//! share its result (the states, their sequences and the decoded events behind `Arc`s, not
//! copies) instead of loading, decoding and folding the same requests again.
//!
//! - In a rebuild with a memory ([`crate::fold_memory`]) only the owner's shadow receives the
//!   states and sequences the memory writes out; when the batches are done, the rebuild copies
//!   the sequences into the other members' shadows, not the states: a member folds a request's
//!   history from the log when it next meets the request on its own
//!   ([`crate::request_fold`]). The owner must fold every batch first, which the
//!   group's fixed order gives: a batch folded first by another member would leave states where
//!   the owner does not look, so it fails the rebuild instead.
//! - Otherwise (live, or a rebuild without a memory) each sharer writes the shared states and
//!   sequences into its own tables, as its own fold would have. Members at the same checkpoint
//!   hold the same states (each is the fold of the same events), so the owner's loaded states
//!   stand for every sharer's. A live member given other events (it stands elsewhere) folds
//!   on its own, and its fold is not shared.
//!
//! The alert projections of a live lane share less: the states and sequences the first loaded
//! for a batch ([`loaded_alerts`]). Each folds them itself, in memory (some read every step of
//! the fold), so a batch costs them one load instead of one each.

use crate::alert_fold::ALERT;
use crate::fold::Sequences;
use crate::projection::ProjectionError;
use crate::request_fold::{Touched, REQUEST};
use imi_domain::alert::Alert;
use imi_domain::request::{InformationRequest, RequestEvent};
use imi_store::feed::FeedEvent;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

tokio::task_local! {
    static SHARED: Arc<Mutex<Shared>>;
}

/// Folds shared since the process started (see [`folds_shared`]).
static SHARED_FOLDS: AtomicU64 = AtomicU64::new(0);

/// A group's fold of the current batch, and who made it.
#[derive(Default)]
pub(crate) struct Shared {
    /// A live lane's batch: the first member to fold owns the batch; others that fold (given
    /// other events) neither fail nor replace it.
    live: bool,
    /// The member applying now (its index in the group).
    member: usize,
    owner: Option<usize>,
    /// The members that took the owner's fold.
    sharers: BTreeSet<usize>,
    batch: Option<Folded>,
    /// The alerts' states and sequences as loaded for a live batch, before its events.
    alerts: Option<(BatchKey, LoadedAlerts)>,
}

/// Alert states and their sequences, as [`crate::fold::load_states`] answers them.
pub(crate) type LoadedAlerts = (Sequences, BTreeMap<String, Alert>);

/// A batch's requests as the owner's fold left them.
struct Folded {
    key: BatchKey,
    requests: Vec<FoldedRequest>,
}

/// A request's id, its state and last sequence after the batch, and the batch's events of it
/// by feed position.
type FoldedRequest = (
    String,
    Arc<InformationRequest>,
    i64,
    Vec<(i64, Arc<RequestEvent>)>,
);

/// A batch's request events by their first and last feed positions and their number: batches
/// never overlap, so it names one batch.
pub(crate) type BatchKey = (i64, i64, usize);

/// The key of the events of `aggregate_type` in `events`.
fn key_of(events: &[FeedEvent], aggregate_type: &str) -> BatchKey {
    let mut of_type = events.iter().filter(|e| e.aggregate_type == aggregate_type);
    let Some(first) = of_type.next() else {
        return (0, 0, 0);
    };
    let (last, more) = of_type.fold((first, 0), |(_, n), e| (e, n + 1));
    (first.at.position, last.at.position, more + 1)
}

pub(crate) fn new() -> Arc<Mutex<Shared>> {
    Arc::default()
}

/// Runs `f` (a group rebuild's batches) sharing the folds of `shared`.
pub(crate) async fn scope<F: Future>(shared: Arc<Mutex<Shared>>, f: F) -> F::Output {
    SHARED.scope(shared, f).await
}

/// Runs `f` (one batch of a live lane) sharing its members' folds.
pub(crate) async fn live<F: Future>(f: F) -> F::Output {
    let shared = Shared {
        live: true,
        ..Shared::default()
    };
    SHARED.scope(Arc::new(Mutex::new(shared)), f).await
}

/// How many times a member took another's fold of a batch instead of folding it, since the
/// process started.
pub fn folds_shared() -> u64 {
    SHARED_FOLDS.load(Ordering::Relaxed)
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Marks member `n` of the group as the one applying now (nothing outside a group).
pub(crate) fn applying(n: usize) {
    let _ = SHARED.try_with(|shared| lock(shared).member = n);
}

/// The owner's fold of the batch `events` and the requests' sequences after it, for a member
/// after it; `None` outside a group, or for the member that is to fold the batch itself.
pub(crate) fn reuse<'a>(
    events: &'a [FeedEvent],
) -> Option<(BTreeMap<String, Touched<'a>>, Sequences)> {
    let shared = SHARED.try_with(Arc::clone).ok()?;
    let mut shared = lock(&shared);
    let member = shared.member;
    let batch = shared
        .batch
        .as_ref()
        .filter(|b| b.key == key_of(events, REQUEST))?;
    let by_position: HashMap<i64, &'a FeedEvent> = events
        .iter()
        .filter(|e| e.aggregate_type == REQUEST)
        .map(|e| (e.at.position, e))
        .collect();
    let touched = batch
        .requests
        .iter()
        .map(|(id, request, _, batch_events)| {
            let events = batch_events
                .iter()
                .map(|(position, event)| Some((*by_position.get(position)?, Arc::clone(event))))
                .collect::<Option<_>>()?;
            let request = Arc::clone(request);
            Some((id.clone(), Touched { request, events }))
        })
        .collect::<Option<_>>()?;
    let sequences = Sequences::moved(
        batch
            .requests
            .iter()
            .map(|(id, _, sequence, _)| (id.clone(), *sequence)),
    );
    shared.sharers.insert(member);
    SHARED_FOLDS.fetch_add(1, Ordering::Relaxed);
    Some((touched, sequences))
}

/// Keeps the fold the applying member just made of a batch, and the sequences it left, for the
/// members after it (nothing outside a group); in a rebuild, refused unless that member is the
/// owner.
pub(crate) fn keep(
    events: &[FeedEvent],
    touched: &BTreeMap<String, Touched>,
    sequences: &Sequences,
) -> Result<(), ProjectionError> {
    let Ok(shared) = SHARED.try_with(Arc::clone) else {
        return Ok(());
    };
    let mut shared = lock(&shared);
    let member = shared.member;
    match shared.owner {
        None => shared.owner = Some(member),
        Some(owner) if owner == member => {}
        Some(_) if shared.live => return Ok(()),
        Some(owner) => {
            return Err(sqlx::Error::Protocol(format!(
                "member {member} of a group rebuild folded a batch before its owner {owner}"
            ))
            .into())
        }
    }
    let requests = touched
        .iter()
        .map(|(id, t)| {
            let events = t
                .events
                .iter()
                .map(|(e, event)| (e.at.position, Arc::clone(event)))
                .collect();
            (
                id.clone(),
                Arc::clone(&t.request),
                sequences.last(id),
                events,
            )
        })
        .collect();
    shared.batch = Some(Folded {
        key: key_of(events, REQUEST),
        requests,
    });
    Ok(())
}

/// The alert states and sequences another member of the live lane loaded for the alert events
/// of `events` (the same ones); `None` outside a live lane or for the first to load them.
pub(crate) fn loaded_alerts(events: &[FeedEvent]) -> Option<LoadedAlerts> {
    let shared = SHARED.try_with(Arc::clone).ok()?;
    let shared = lock(&shared);
    let (key, loaded) = shared.alerts.as_ref().filter(|_| shared.live)?;
    if *key != key_of(events, ALERT) {
        return None;
    }
    SHARED_FOLDS.fetch_add(1, Ordering::Relaxed);
    Some(loaded.clone())
}

/// Keeps the alert states and sequences just loaded for the alert events of `events`, for the
/// live lane's other members (the first load of a batch only; nothing outside a live lane).
pub(crate) fn keep_loaded_alerts(events: &[FeedEvent], loaded: &LoadedAlerts) {
    let Ok(shared) = SHARED.try_with(Arc::clone) else {
        return;
    };
    let mut shared = lock(&shared);
    if shared.live && shared.alerts.is_none() {
        shared.alerts = Some((key_of(events, ALERT), loaded.clone()));
    }
}

/// The member whose shadow holds the states written out of the memory (the first member
/// when none folded), and those that took its folds.
pub(crate) fn owner_and_sharers(shared: &Mutex<Shared>) -> (usize, Vec<usize>) {
    let shared = lock(shared);
    (
        shared.owner.unwrap_or(0),
        shared.sharers.iter().copied().collect(),
    )
}
