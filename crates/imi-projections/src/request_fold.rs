//! What the request projections share: decoding a batch's InformationRequest events, checking
//! each request's sequence, and folding them over the aggregate's own state (kept per request
//! in the projection's `request_states`), so every read model derives from exactly what the
//! aggregate decides on (its [`RequestSummary`] and [`RequestDetails`]).

use crate::fold::{self, Sequences};
use crate::projection::ProjectionError;
use crate::writes::Writes;
use imi_domain::request::{InformationRequest, RequestDetails, RequestEvent, RequestSummary};
use imi_store::feed::FeedEvent;
use sqlx::PgConnection;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The aggregate type of information requests in the log.
pub const REQUEST: &str = "InformationRequest";

/// A request the batch touched: its state after the batch and the batch's events of it.
/// Shared, not copied, by the members of a group rebuild ([`crate::shared_fold`]).
pub struct Touched<'a> {
    pub request: Arc<InformationRequest>,
    pub events: Vec<(&'a FeedEvent, Arc<RequestEvent>)>,
}

impl Touched<'_> {
    pub fn summary(&self) -> Option<RequestSummary> {
        self.request.summary()
    }
    pub fn details(&self) -> Option<RequestDetails> {
        self.request.details()
    }
}

/// The batch's InformationRequest events, decoded, in feed order.
pub fn request_events(
    events: &[FeedEvent],
) -> Result<Vec<(&FeedEvent, RequestEvent)>, ProjectionError> {
    events
        .iter()
        .filter(|e| e.aggregate_type == REQUEST)
        .map(|e| {
            e.event::<RequestEvent>()
                .map(|event| (e, event))
                .map_err(|err| ProjectionError::unreadable(e, err))
        })
        .collect()
}

/// Folds the batch's request events over the stored states, adds the new states and
/// sequences to `writes`, and answers the touched requests by id; empty when the batch holds
/// none. In a rebuild the states and sequences are those of its memory
/// ([`crate::fold_memory`]); among members applying a batch together, the fold of the first
/// stands for the others' ([`crate::shared_fold`]).
pub async fn fold_requests<'a>(
    db: &mut PgConnection,
    events: &'a [FeedEvent],
    writes: &mut Writes,
) -> Result<BTreeMap<String, Touched<'a>>, ProjectionError> {
    let memory = crate::fold_memory::current();
    if let Some((touched, sequences)) = crate::shared_fold::reuse(events) {
        // Live, this member keeps its sequences but not the states, which the first member
        // keeps: a state is the largest value a batch writes, and the live path then keeps
        // what a group rebuild keeps. A state this member kept from an earlier fold of its own
        // is now behind: dropped. When it next folds alone, it folds those requests'
        // histories from the log ([`fold_history_of_missing`]), as after a group rebuild.
        if memory.is_none() {
            forget_states(writes, &touched, &sequences);
        }
        return Ok(touched);
    }
    let decoded = request_events(events)?;
    let mut touched: BTreeMap<String, Touched> = BTreeMap::new();
    if decoded.is_empty() {
        return Ok(touched);
    }
    let ids: Vec<String> = decoded
        .iter()
        .map(|(e, _)| e.aggregate_id.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if let Some(memory) = memory {
        // A rebuild: the states stay in its memory between batches.
        let taken = crate::fold_memory::take::<InformationRequest>(&memory, db, &ids).await?;
        let mut sequences = Sequences::known(taken.iter().map(|(id, (_, s))| (id.clone(), *s)));
        for (id, (request, _)) in taken {
            touched.insert(
                id,
                Touched {
                    request: Arc::new(request),
                    events: vec![],
                },
            );
        }
        fold_into(&mut touched, &mut sequences, decoded)?;
        let states = touched.iter().map(|(id, t)| {
            (
                id.clone(),
                InformationRequest::clone(&t.request),
                sequences.last(id),
            )
        });
        crate::fold_memory::give_back(&memory, db, states).await?;
        crate::shared_fold::keep(events, &touched, &sequences)?;
        return Ok(touched);
    }
    let (mut sequences, mut stored) =
        fold::load_states::<InformationRequest>(db, "request_states", "request_id", &ids).await?;
    fold_history_of_missing(db, &ids, &sequences, &mut stored).await?;
    for (id, request) in stored {
        touched.insert(
            id,
            Touched {
                request: Arc::new(request),
                events: vec![],
            },
        );
    }
    fold_into(&mut touched, &mut sequences, decoded)?;
    write_states(writes, &touched, &sequences)?;
    crate::shared_fold::keep(events, &touched, &sequences)?;
    Ok(touched)
}

/// Folds from the log the requests of `ids` whose sequence is known but whose state is not
/// kept, into `stored`: a group rebuild and a live lane keep the states in their first
/// member's tables only ([`crate::rebuild`], [`crate::shared_fold`]), and the others fold a
/// request's history again when they next meet it on their own (in a lane, the first member's
/// fold stands for theirs).
async fn fold_history_of_missing(
    db: &mut PgConnection,
    ids: &[String],
    sequences: &Sequences,
    stored: &mut BTreeMap<String, InformationRequest>,
) -> Result<(), ProjectionError> {
    let (missing, through): (Vec<String>, Vec<i64>) = ids
        .iter()
        .filter(|id| sequences.last(id) > 0 && !stored.contains_key(*id))
        .map(|id| (id.clone(), sequences.last(id)))
        .unzip();
    if missing.is_empty() {
        return Ok(());
    }
    let history = imi_store::feed::read_histories(db, REQUEST, &missing, &through).await?;
    let mut replayed = Sequences::known([]);
    for e in &history {
        replayed.check(e)?;
        let event = e
            .event::<RequestEvent>()
            .map_err(|err| ProjectionError::unreadable(e, err))?;
        stored
            .entry(e.aggregate_id.clone())
            .or_default()
            .record(event);
    }
    for (id, last) in missing.iter().zip(through) {
        if replayed.last(id) != last {
            return Err(sqlx::Error::Protocol(format!(
                "the log holds {} events of {REQUEST} {id} where the projection applied {last}",
                replayed.last(id)
            ))
            .into());
        }
    }
    Ok(())
}

/// The folded states of the touched requests and their sequences, into `writes`.
fn write_states(
    writes: &mut Writes,
    touched: &BTreeMap<String, Touched>,
    sequences: &Sequences,
) -> Result<(), ProjectionError> {
    writes.states(
        "request_states",
        "request_id",
        touched
            .iter()
            .map(|(id, t)| (id.as_str(), t.request.as_ref())),
    )?;
    writes.sequences(sequences);
    Ok(())
}

/// The sequences of the touched requests into `writes`, and the deletion of their states.
fn forget_states(writes: &mut Writes, touched: &BTreeMap<String, Touched>, sequences: &Sequences) {
    let ids: Vec<String> = touched.keys().cloned().collect();
    writes.sql(format!(
        "DELETE FROM request_states WHERE request_id = ANY({}::text[])",
        crate::writes::literal(&ids)
    ));
    writes.sequences(sequences);
}

/// Folds `decoded` (in feed order) over `touched`, checking each request's sequence.
fn fold_into<'a>(
    touched: &mut BTreeMap<String, Touched<'a>>,
    sequences: &mut Sequences,
    decoded: Vec<(&'a FeedEvent, RequestEvent)>,
) -> Result<(), ProjectionError> {
    for (e, event) in decoded {
        sequences.check(e)?;
        let t = touched
            .entry(e.aggregate_id.clone())
            .or_insert_with(|| Touched {
                request: Arc::default(),
                events: vec![],
            });
        // The state is this fold's own until the fold is kept: no copy is made here.
        Arc::make_mut(&mut t.request).record(event.clone());
        t.events.push((e, Arc::new(event)));
    }
    Ok(())
}
