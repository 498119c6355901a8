//! Read-model rows of one exchange as of a point of the log: its events up to that point
//! (`imi_store::as_of::events_until`) folded with the aggregate's own apply, then turned into
//! exactly the rows the live projections derive from the same state, by the same functions.
//! The application shapes them with the same code as the live views, so a view as of the
//! latest position equals the live view.

use crate::alert_fold::alert_events;
use crate::alert_full::{self, AlertDetails};
use crate::alert_overview::AlertEntry;
use crate::projection::ProjectionError;
use crate::request_fold::{request_events, Touched};
use crate::request_full::{self, FullRow, Step};
use crate::request_monitoring::{self, MonitoringRow};
use imi_domain::alert::Alert;
use imi_domain::authority::Authority;
use imi_domain::request::InformationRequest;
use imi_store::feed::FeedEvent;

/// A request as the monitoring and full read models held it.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestAt {
    pub monitoring: MonitoringRow,
    pub full: FullRow,
    pub steps: Vec<Step>,
}

/// The request whose whole history up to a point is `events` (`None` before its draft).
pub fn request(events: &[FeedEvent]) -> Result<Option<RequestAt>, ProjectionError> {
    let events = request_events(events)?;
    let Some((first, _)) = events.first() else {
        return Ok(None);
    };
    let id = first.aggregate_id.clone();
    let mut request = InformationRequest::<()>::default();
    for (_, event) in &events {
        request.record(event.clone());
    }
    let steps = events
        .iter()
        .map(|(e, event)| request_full::step_of(&id, e, event))
        .collect();
    let touched = Touched { request, events };
    let (Some(monitoring), Some(full)) = (
        request_monitoring::monitoring_row(&touched),
        request_full::full_row(&id, &touched),
    ) else {
        return Ok(None);
    };
    Ok(Some(RequestAt {
        monitoring,
        full,
        steps,
    }))
}

/// An alert as the overview and full read models held it.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertAt {
    pub overview: AlertEntry,
    pub details: AlertDetails,
}

/// The alert whose whole history up to a point is `events` (`None` before its draft).
pub fn alert(events: &[FeedEvent]) -> Result<Option<AlertAt>, ProjectionError> {
    let events = alert_events(events)?;
    let mut alert = Alert::<()>::default();
    for (_, event) in &events {
        alert.fold(event.clone());
    }
    let (Some(summary), Some(content), Some((last, _))) =
        (alert.summary(), alert.content(), events.last())
    else {
        return Ok(None);
    };
    Ok(Some(AlertAt {
        overview: AlertEntry {
            summary: summary.clone(),
            updated_at: last.recorded_at,
        },
        details: AlertDetails {
            content: content.clone(),
            entries: alert_full::entries_of(&events),
        },
    }))
}

/// The state of the aggregate of `aggregate_type` whose history up to a point is `events`, in
/// its snapshot form (personal data sealed as the events carry them); `None` without events
/// or for an unknown type.
pub fn state(
    aggregate_type: &str,
    events: &[FeedEvent],
) -> Result<Option<serde_json::Value>, ProjectionError> {
    if events.is_empty() {
        return Ok(None);
    }
    let state = match aggregate_type {
        crate::request_fold::REQUEST => serde_json::to_value(InformationRequest::<()>::from_events(
            request_events(events)?.into_iter().map(|(_, e)| e),
        )),
        crate::alert_fold::ALERT => serde_json::to_value(Alert::<()>::from_events(
            alert_events(events)?.into_iter().map(|(_, e)| e),
        )),
        crate::fold::AUTHORITY => serde_json::to_value(Authority::<()>::from_events(
            crate::fold::authority_events(events)?
                .into_iter()
                .map(|(_, e)| e),
        )),
        _ => return Ok(None),
    };
    Ok(state.ok())
}
