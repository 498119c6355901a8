//! One fold of each batch's requests for the request projections rebuilt together
//! ([`crate::rebuild::rebuild_together`]). The first member that folds a batch, the owner,
//! folds it over the rebuild's memory ([`crate::fold_memory`]) as a rebuild of one projection
//! does; the members after it share its result (the states and decoded events behind `Arc`s,
//! not copies) instead of decoding and folding the same requests again. So only the owner's
//! shadow receives the states and sequences the memory writes out; when the batches are done,
//! the rebuild copies them into the other members' shadows.
//!
//! The owner must fold every batch first, which the group's fixed order gives: a batch folded
//! first by another member would leave states where the owner does not look, so it fails the
//! rebuild instead.

use crate::projection::ProjectionError;
use crate::request_fold::{Touched, REQUEST};
use imi_domain::request::{InformationRequest, RequestEvent};
use imi_store::feed::FeedEvent;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

tokio::task_local! {
    static SHARED: Arc<Mutex<Shared>>;
}

/// A group rebuild's fold of the current batch, and who made it.
#[derive(Default)]
pub(crate) struct Shared {
    /// The member applying now (its index in the group).
    member: usize,
    owner: Option<usize>,
    /// The members that took the owner's fold.
    sharers: BTreeSet<usize>,
    batch: Option<Folded>,
}

/// A batch's requests as the owner's fold left them.
struct Folded {
    key: BatchKey,
    requests: Vec<FoldedRequest>,
}

/// A request's id, its state after the batch, and the batch's events of it by feed position.
type FoldedRequest = (
    String,
    Arc<InformationRequest>,
    Vec<(i64, Arc<RequestEvent>)>,
);

/// A batch's request events by their first and last feed positions and their number: batches
/// never overlap, so it names one batch.
pub(crate) type BatchKey = (i64, i64, usize);

/// The key of the request events of `events`.
fn key(events: &[FeedEvent]) -> BatchKey {
    let mut requests = events.iter().filter(|e| e.aggregate_type == REQUEST);
    let Some(first) = requests.next() else {
        return (0, 0, 0);
    };
    let (last, more) = requests.fold((first, 0), |(_, n), e| (e, n + 1));
    (first.at.position, last.at.position, more + 1)
}

pub(crate) fn new() -> Arc<Mutex<Shared>> {
    Arc::default()
}

/// Runs `f` (a group rebuild's batches) sharing the folds of `shared`.
pub(crate) async fn scope<F: Future>(shared: Arc<Mutex<Shared>>, f: F) -> F::Output {
    SHARED.scope(shared, f).await
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// Marks member `n` of the group as the one applying now (nothing outside a group).
pub(crate) fn applying(n: usize) {
    let _ = SHARED.try_with(|shared| lock(shared).member = n);
}

/// The owner's fold of the batch `events`, for a member after it; `None` outside a group, or
/// for the member that is to fold the batch itself.
pub(crate) fn reuse<'a>(events: &'a [FeedEvent]) -> Option<BTreeMap<String, Touched<'a>>> {
    let shared = SHARED.try_with(Arc::clone).ok()?;
    let mut shared = lock(&shared);
    let member = shared.member;
    let batch = shared.batch.as_ref().filter(|b| b.key == key(events))?;
    let by_position: HashMap<i64, &'a FeedEvent> = events
        .iter()
        .filter(|e| e.aggregate_type == REQUEST)
        .map(|e| (e.at.position, e))
        .collect();
    let touched = batch
        .requests
        .iter()
        .map(|(id, request, batch_events)| {
            let events = batch_events
                .iter()
                .map(|(position, event)| Some((*by_position.get(position)?, Arc::clone(event))))
                .collect::<Option<_>>()?;
            let request = Arc::clone(request);
            Some((id.clone(), Touched { request, events }))
        })
        .collect::<Option<_>>()?;
    shared.sharers.insert(member);
    Some(touched)
}

/// Keeps the fold the applying member just made of a batch for the members after it (nothing
/// outside a group); refused unless that member is the owner.
pub(crate) fn keep(
    events: &[FeedEvent],
    touched: &BTreeMap<String, Touched>,
) -> Result<(), ProjectionError> {
    let Ok(shared) = SHARED.try_with(Arc::clone) else {
        return Ok(());
    };
    let mut shared = lock(&shared);
    let member = shared.member;
    match shared.owner {
        None => shared.owner = Some(member),
        Some(owner) if owner == member => {}
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
            (id.clone(), Arc::clone(&t.request), events)
        })
        .collect();
    shared.batch = Some(Folded {
        key: key(events),
        requests,
    });
    Ok(())
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
