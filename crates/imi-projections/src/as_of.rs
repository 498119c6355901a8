//! Read-model rows of one exchange as of a point of the log: its events up to that point
//! (`imi_store::as_of::events_until`) folded with the aggregate's own apply, then turned into
//! exactly the rows the live projections derive from the same state, by the same functions.
//! The application shapes them with the same code as the live views, so a view as of the
//! latest position equals the live view. Times in the rows' own columns are rounded to the
//! microsecond as PostgreSQL stores them in the read models' tables (the events keep
//! nanoseconds; the rows' `summary` documents keep the events' text).

use crate::alert_fold::alert_events;
use crate::alert_full::{self, AlertDetails};
use crate::alert_overview::AlertEntry;
use crate::directory::DirectoryEntry;
use crate::projection::ProjectionError;
use crate::request_fold::{request_events, Touched};
use crate::request_full::{self, FullRow, Step};
use crate::request_monitoring::{self, MonitoringRow};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use imi_domain::alert::Alert;
use imi_domain::authority::Authority;
use imi_domain::request::InformationRequest;
use imi_domain::sealed::Sealed;
use imi_store::feed::FeedEvent;

/// `t` as a `timestamptz` column stores it: to the microsecond, half to even (PostgreSQL's
/// `rint`).
pub(crate) fn stored(t: DateTime<Utc>) -> DateTime<Utc> {
    let micro = TimeDelta::microseconds(1);
    let down = t.duration_trunc(micro).unwrap_or(t);
    let rest = (t - down).num_nanoseconds().unwrap_or(0);
    let odd = down.timestamp_subsec_micros() % 2 == 1;
    if rest > 500 || (rest == 500 && odd) {
        down + micro
    } else {
        down
    }
}

fn stored_opt(t: &mut Option<DateTime<Utc>>) {
    *t = t.map(stored);
}

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
        .map(|(e, event)| {
            let mut step = request_full::step_of(&id, e, event);
            step.at = stored(step.at);
            step
        })
        .collect();
    let touched = Touched {
        request: std::sync::Arc::new(request),
        events: events
            .into_iter()
            .map(|(e, event)| (e, std::sync::Arc::new(event)))
            .collect(),
    };
    let (Some(mut monitoring), Some(mut full)) = (
        request_monitoring::monitoring_row(&touched),
        request_full::full_row(&id, &touched),
    ) else {
        return Ok(None);
    };
    let m = &mut monitoring;
    m.drafted_at = stored(m.drafted_at);
    m.last_activity_at = stored(m.last_activity_at);
    for t in [
        &mut m.sent_at,
        &mut m.acceptance_due_at,
        &mut m.accepted_at,
        &mut m.fully_answered_at,
        &mut m.closed_at,
        &mut m.withdrawn_at,
    ] {
        stored_opt(t);
    }
    full.updated_at = stored(full.updated_at);
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
            updated_at: stored(last.recorded_at),
        },
        details: AlertDetails {
            content: content.clone(),
            entries: alert_full::entries_of(&events)
                .into_iter()
                .map(|mut entry| {
                    entry.at = stored(entry.at);
                    entry
                })
                .collect(),
        },
    }))
}

/// An authority as the directory and the contact persons' table held it.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthorityAt {
    pub entry: DirectoryEntry,
    /// Sealed; `None` when it named none.
    pub contact_person: Option<Sealed>,
}

/// The authority whose whole history up to a point is `events` (`None` before it was
/// created), its titles ordered for `language`.
pub fn authority(
    events: &[FeedEvent],
    language: Option<&str>,
) -> Result<Option<AuthorityAt>, ProjectionError> {
    let Some(entry) = crate::directory::entry_at(events, language)? else {
        return Ok(None);
    };
    Ok(Some(AuthorityAt {
        entry,
        contact_person: crate::users::contact_person_at(events)?,
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
        crate::request_fold::REQUEST => {
            serde_json::to_value(InformationRequest::<()>::from_events(
                request_events(events)?.into_iter().map(|(_, e)| e),
            ))
        }
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
