//! What the Alert projections share: reading a batch's Alert events, and folding them over the
//! alerts they touch with the domain's own `apply`, so every alert read model agrees with the
//! aggregate (its summary, its queues) by construction.
//!
//! Each alert projection keeps, in its own schema, the folded state of every alert
//! (`alert_states (alert_id text PRIMARY KEY, state jsonb NOT NULL)`: the aggregate's snapshot
//! form, personal data sealed as in the events) and the last sequence per alert
//! (`sequences`), and derives its tables from the changed alerts.

use crate::fold::{self, Sequences};
use crate::projection::ProjectionError;
use crate::writes::Writes;
use imi_domain::alert::{Alert, AlertEvent};
use imi_store::feed::FeedEvent;
use sqlx::PgConnection;
use std::collections::{BTreeMap, BTreeSet};

/// The aggregate type of alerts in the log.
pub const ALERT: &str = "Alert";

/// The batch's Alert events, decoded, in feed order.
pub fn alert_events(
    events: &[FeedEvent],
) -> Result<Vec<(&FeedEvent, AlertEvent)>, ProjectionError> {
    events
        .iter()
        .filter(|e| e.aggregate_type == ALERT)
        .map(|e| {
            e.event::<AlertEvent>()
                .map(|event| (e, event))
                .map_err(|err| ProjectionError::unreadable(e, err))
        })
        .collect()
}

/// A batch folded over the alerts it touches.
pub struct FoldedAlerts<'a> {
    /// Every alert of the batch as the batch leaves it.
    pub alerts: BTreeMap<String, Alert>,
    /// Ids of the alerts the batch changed, sorted.
    pub changed: Vec<String>,
    /// The batch's events, in feed order.
    pub events: Vec<(&'a FeedEvent, AlertEvent)>,
    /// When each changed alert last changed.
    pub updated_at: BTreeMap<String, chrono::DateTime<chrono::Utc>>,
}

/// Folds the batch's Alert events over the stored states (checking each alert's sequence),
/// adds the states and sequences to `writes`, and returns the result; `None` without Alert events.
pub async fn fold_alerts<'a>(
    db: &mut PgConnection,
    events: &'a [FeedEvent],
    writes: &mut Writes,
) -> Result<Option<FoldedAlerts<'a>>, ProjectionError> {
    fold_alerts_seeing(db, events, writes, |_, _| {}).await
}

/// [`fold_alerts`], showing `seen` each alert as each event leaves it: for read models whose
/// rows depend on when something happened, so that they do not depend on how the feed was cut
/// into batches.
pub async fn fold_alerts_seeing<'a>(
    db: &mut PgConnection,
    events: &'a [FeedEvent],
    writes: &mut Writes,
    mut seen: impl FnMut(&Alert, &FeedEvent),
) -> Result<Option<FoldedAlerts<'a>>, ProjectionError> {
    let batch = events;
    let events = alert_events(batch)?;
    if events.is_empty() {
        return Ok(None);
    }
    let ids: Vec<String> = events
        .iter()
        .map(|(e, _)| e.aggregate_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let memory = crate::fold_memory::current();
    let (mut sequences, mut alerts) = match &memory {
        // A rebuild: the states stay in its memory between batches.
        Some(memory) => {
            let taken = crate::fold_memory::take::<Alert>(memory, db, &ids).await?;
            let sequences = Sequences::known(taken.iter().map(|(id, (_, s))| (id.clone(), *s)));
            let alerts = taken.into_iter().map(|(id, (a, _))| (id, a)).collect();
            (sequences, alerts)
        }
        // Live: the states as another member of the lane loaded them for the same events.
        None => match crate::shared_fold::loaded_alerts(batch) {
            Some(loaded) => loaded,
            None => {
                let loaded =
                    fold::load_states::<Alert>(db, "alert_states", "alert_id", &ids).await?;
                crate::shared_fold::keep_loaded_alerts(batch, &loaded);
                loaded
            }
        },
    };
    let mut updated_at = BTreeMap::new();
    for (e, event) in &events {
        sequences.check(e)?;
        let alert = alerts.entry(e.aggregate_id.clone()).or_default();
        alert.fold(event.clone());
        seen(alert, e);
        updated_at.insert(e.aggregate_id.clone(), e.recorded_at);
    }
    match &memory {
        Some(memory) => {
            let states = ids
                .iter()
                .map(|id| (id.clone(), alerts[id].clone(), sequences.last(id)));
            crate::fold_memory::give_back(memory, db, states).await?;
        }
        None => {
            let states = ids.iter().map(|id| (id.as_str(), &alerts[id]));
            writes.states("alert_states", "alert_id", states)?;
            writes.sequences(&sequences);
        }
    }
    Ok(Some(FoldedAlerts {
        alerts,
        changed: ids,
        events,
        updated_at,
    }))
}
