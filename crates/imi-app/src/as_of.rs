//! Exchanges and authorities as they stood at a point of the log, and what changed in an
//! exchange between two points.
//!
//! The exchange's events up to the point are folded with the aggregate's own apply (through
//! its upcasters, as the repository loads them) into the rows the live read models derive
//! from the same state ([`imi_projections::as_of`]); the view is then shaped by the same code
//! as the live view, opening personal data through the same [`crate::opening::Opener`], which
//! logs the reading (operations `request.content.asOf`, `alert.asOf`).
//!
//! Who reads what: the caller must be allowed to see the exchange now (on its whole history)
//! AND as it stood at the point, and reads it at the lower of the two levels. A participant
//! that left it, or one that had not received it yet (a draft not yet sent), finds it
//! unknown, exactly as a missing one; a level that grew since never reveals more of the past
//! than the caller saw then, and one that shrank (blocking) never more than the caller may
//! see now. An auditor of a Member State that took part reads it at the level without
//! personal data ([`imi_domain::request::audit_level`], [`imi_domain::alert::audit_level`]).
//!
//! An authority's directory entry is folded the same way from its own events (with the
//! directory projection's own fold); the caller sees it as of the point when it may see it
//! now and it was listed then, each part beyond the directory fields as it may read it both
//! now and then.

use crate::alerts::{unknown_alert, AlertView};
use crate::directory::AuthorityRead;
use crate::error::{AppError, AppResult};
use crate::requests::{unknown_request, RequestView};
use crate::{input, App, Caller};
use chrono::{DateTime, Utc};
use imi_domain::access::{ActorContext, AuthorityView};
use imi_domain::authority::AuthorityStatus;
use imi_domain::reference::Language;
use imi_domain::{alert as a, request as r};
use imi_projections::as_of::{self as rows, AlertAt, RequestAt};
pub use imi_store::as_of::AsOf;
use imi_store::feed::FeedEvent;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Finer reasons for a point clients name wrongly (with code BAD_USER_INPUT).
pub mod reason {
    /// A position after the last event of the log.
    pub const BEYOND_FEED: &str = "BEYOND_FEED";
    /// A time that is not RFC 3339.
    pub const MALFORMED_TIME: &str = "MALFORMED_TIME";
}

/// The point a client names: exactly one of a feed position (>= 0) or an RFC 3339 time.
pub fn point(position: Option<i64>, at: Option<&str>) -> AppResult<AsOf> {
    match (position, at) {
        (Some(p), None) if p >= 0 => Ok(AsOf::Position(p)),
        (Some(_), None) => Err(AppError::bad_input("a position is 0 or more")),
        (None, Some(at)) => DateTime::parse_from_rfc3339(at.trim())
            .map(|t| AsOf::Time(t.with_timezone(&Utc)))
            .map_err(|e| {
                AppError::bad_input(format!(
                    "`{at}` is not an RFC 3339 time (e.g. 2026-05-01T12:00:00Z): {e}"
                ))
                .with_reason(reason::MALFORMED_TIME)
            }),
        _ => Err(AppError::bad_input(
            "name a point by exactly one of `position` or `at`",
        )),
    }
}

/// A point as the command line names it: a position (digits) or an RFC 3339 time.
pub fn parse(text: &str) -> AppResult<AsOf> {
    match text.trim().parse::<i64>() {
        Ok(position) => point(Some(position), None),
        Err(_) => point(None, Some(text)),
    }
}

fn unreadable(e: imi_projections::ProjectionError) -> AppError {
    AppError::internal("folding an exchange's events", &e)
}

/// One field of a view that differs between two points, at the caller's level.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    /// `status`, `content.questions[0].answer`, …
    pub path: String,
    /// `None`: not shown then.
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// An event recorded between two points.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeEvent {
    pub position: i64,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub recorded_at: DateTime<Utc>,
    pub acting_user: Option<String>,
    pub acting_authority: Option<String>,
}

/// What changed in an exchange between two points, as the caller may see it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExchangeDiff {
    pub fields: Vec<FieldChange>,
    /// The events after `from` up to `to` that the caller may know of: the steps (entries)
    /// the view at `to` shows; every event of the exchange for an auditor.
    pub events: Vec<ChangeEvent>,
}

impl App {
    /// Refuses a position after the log's last event.
    async fn checked(&self, point: AsOf) -> AppResult<AsOf> {
        if let AsOf::Position(p) = point {
            let head = imi_store::as_of::head_position(&self.reads)
                .await
                .map_err(|e| AppError::database("reading the log's head", &e))?;
            if p > head {
                return Err(AppError::bad_input(format!(
                    "position {p} is beyond the feed (its last position is {head})"
                ))
                .with_reason(reason::BEYOND_FEED));
            }
        }
        Ok(point)
    }

    async fn events(&self, aggregate_type: &str, id: &str) -> AppResult<Vec<FeedEvent>> {
        let upcasters = imi_store::upcasting::upcasters(aggregate_type);
        imi_store::as_of::events_of(&self.reads, aggregate_type, id, &upcasters)
            .await
            .map_err(|e| AppError::database("reading an exchange's events", &e))
    }

    /// Request `id` as it stood at `point`, at the caller's level (see the module).
    pub async fn request_as_of(
        &self,
        caller: &Caller,
        id: &str,
        point: AsOf,
    ) -> AppResult<RequestView> {
        let reader = self.reader(caller).await?;
        let id = input::id(id)?;
        let point = self.checked(point).await?;
        let events = self.events("InformationRequest", &id).await?;
        let (past, level) = request_at(&reader, &events, point)?.ok_or_else(unknown_request)?;
        Ok(RequestView::as_of(reader, level, past))
    }

    /// Alert `id` as it stood at `point`, at the caller's level (see the module).
    pub async fn alert_as_of(
        &self,
        caller: &Caller,
        id: &str,
        point: AsOf,
    ) -> AppResult<AlertView> {
        let reader = self.reader(caller).await?;
        let id = input::id(id)?;
        let point = self.checked(point).await?;
        let events = self.events("Alert", &id).await?;
        let (past, level) = alert_at(&reader, &events, point)?.ok_or_else(unknown_alert)?;
        self.alert_view_of(&reader, past, level).await
    }

    async fn alert_view_of(
        &self,
        reader: &Arc<ActorContext>,
        past: AlertAt,
        level: a::AlertViewLevel,
    ) -> AppResult<AlertView> {
        let summary = &past.overview.summary;
        let view = AlertView::overview(reader, summary, level, past.overview.updated_at);
        self.with_details(reader, summary, view, Some(past.details))
            .await
    }

    /// Authority `id` as the directory showed it at `point`, with titles in `language`; `None`
    /// when the caller may not see it now or it was not listed then (not yet created, or
    /// invited but not registered). The parts beyond the directory fields show as the caller
    /// may read them both now and then; its contact person is the one it had then (opening it
    /// is logged as `directory.contactPerson.asOf`).
    pub async fn authority_as_of(
        &self,
        caller: &Caller,
        id: &str,
        language: &Language,
        point: AsOf,
    ) -> AppResult<Option<AuthorityRead>> {
        let id = input::id(id)?;
        let point = self.checked(point).await?;
        let Some(now) = self.authority(caller, &id, language).await? else {
            return Ok(None);
        };
        let events = self.events("Authority", &id).await?;
        let Some(past) =
            rows::authority(point.prefix(&events), Some(language.code())).map_err(unreadable)?
        else {
            return Ok(None);
        };
        if past.entry.status == AuthorityStatus::Invited {
            return Ok(None);
        }
        let reader = self.actor_context(caller).await?;
        let then = AuthorityRead::for_reader(past.entry, reader.as_deref());
        Ok(then
            .may(AuthorityView::Directory)
            .then(|| AuthorityRead::as_of(then, &now, past.contact_person)))
    }

    /// What changed in `exchange` (`InformationRequest/<id>` or `Alert/<id>`) after `from` up
    /// to `to`: the fields of the caller's view that differ, and the events recorded between
    /// that the caller may know of. NOT_FOUND when the caller may not see it at `to`.
    pub async fn exchange_diff(
        &self,
        caller: &Caller,
        exchange: &str,
        from: AsOf,
        to: AsOf,
    ) -> AppResult<ExchangeDiff> {
        let reader = self.reader(caller).await?;
        let (aggregate_type, id) = exchange.split_once('/').ok_or_else(|| {
            AppError::bad_input("an exchange is `InformationRequest/<id>` or `Alert/<id>`")
        })?;
        let id = input::id(id)?;
        let (from, to) = (self.checked(from).await?, self.checked(to).await?);
        let events = self.events(aggregate_type, &id).await?;
        if from.prefix(&events).len() > to.prefix(&events).len() {
            return Err(AppError::bad_input("`from` comes after `to`"));
        }
        let between = &events[from.prefix(&events).len()..to.prefix(&events).len()];
        let (before, after, shown, auditing) = match aggregate_type {
            "InformationRequest" => {
                let (past, level) =
                    request_at(&reader, &events, to)?.ok_or_else(unknown_request)?;
                let auditing = r::view_level(&reader, &past.monitoring.summary).is_none();
                let (after, shown) = self
                    .request_fields(RequestView::as_of(reader.clone(), level, past))
                    .await?;
                let before = match request_at(&reader, &events, from)? {
                    Some((past, level)) => {
                        self.request_fields(RequestView::as_of(reader.clone(), level, past))
                            .await?
                            .0
                    }
                    None => BTreeMap::new(),
                };
                (before, after, shown, auditing)
            }
            "Alert" => {
                let (past, level) = alert_at(&reader, &events, to)?.ok_or_else(unknown_alert)?;
                let auditing = a::view_level(Some(&reader), &past.overview.summary).is_none();
                let view = self.alert_view_of(&reader, past, level).await?;
                let shown = view.history.iter().flatten().map(|e| e.sequence).collect();
                let after = alert_fields(&view);
                let before = match alert_at(&reader, &events, from)? {
                    Some((past, level)) => {
                        alert_fields(&self.alert_view_of(&reader, past, level).await?)
                    }
                    None => BTreeMap::new(),
                };
                (before, after, shown, auditing)
            }
            _ => {
                return Err(AppError::bad_input(
                    "an exchange is `InformationRequest/<id>` or `Alert/<id>`",
                ))
            }
        };
        Ok(ExchangeDiff {
            fields: changes(before, after),
            events: between
                .iter()
                .filter(|e| auditing || shown.contains(&e.sequence))
                .map(change_event)
                .collect(),
        })
    }

    /// The fields of a request view and its content, flattened, and the sequences of the
    /// steps it shows (listed as events, not as fields).
    async fn request_fields(
        &self,
        view: RequestView,
    ) -> AppResult<(BTreeMap<String, Value>, BTreeSet<i64>)> {
        let content = self.request_content(&view).await?;
        let mut value = to_json(&view);
        let mut shown = BTreeSet::new();
        if let (Value::Object(map), Some(mut content)) = (&mut value, content) {
            shown = content.steps.iter().map(|s| s.sequence).collect();
            content.steps.clear();
            let mut content = to_json(&content);
            if let Value::Object(c) = &mut content {
                c.remove("steps");
            }
            map.insert("content".into(), content);
        }
        Ok((flatten(value), shown))
    }
}

/// Request rows at `point` and the level the reader reads them at; `None`: unknown to them.
fn request_at(
    reader: &ActorContext,
    events: &[FeedEvent],
    point: AsOf,
) -> AppResult<Option<(RequestAt, r::RequestViewLevel)>> {
    let level = |s: &r::RequestSummary| r::view_level(reader, s).max(r::audit_level(reader, s));
    let Some(now) = rows::request(events).map_err(unreadable)? else {
        return Ok(None);
    };
    let Some(past) = rows::request(point.prefix(events)).map_err(unreadable)? else {
        return Ok(None);
    };
    let (Some(now), Some(then)) = (
        level(&now.monitoring.summary),
        level(&past.monitoring.summary),
    ) else {
        return Ok(None);
    };
    Ok(Some((past, now.min(then))))
}

/// Alert rows at `point` and the level the reader reads them at; `None`: unknown to them.
fn alert_at(
    reader: &ActorContext,
    events: &[FeedEvent],
    point: AsOf,
) -> AppResult<Option<(AlertAt, a::AlertViewLevel)>> {
    let level = |s: &a::AlertSummary| a::view_level(Some(reader), s).max(a::audit_level(reader, s));
    let Some(now) = rows::alert(events).map_err(unreadable)? else {
        return Ok(None);
    };
    let Some(past) = rows::alert(point.prefix(events)).map_err(unreadable)? else {
        return Ok(None);
    };
    let (Some(now), Some(then)) = (level(&now.overview.summary), level(&past.overview.summary))
    else {
        return Ok(None);
    };
    Ok(Some((past, now.min(then))))
}

fn alert_fields(view: &AlertView) -> BTreeMap<String, Value> {
    let mut fields = flatten(to_json(view));
    fields.retain(|path, _| !path.starts_with("history"));
    fields
}

fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Every leaf of `value` by path (`a.b[2].c`); empty lists and objects are leaves too.
pub fn flatten(value: Value) -> BTreeMap<String, Value> {
    fn walk(path: String, value: Value, out: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    let p = if path.is_empty() {
                        k
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(p, v, out);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for (i, v) in items.into_iter().enumerate() {
                    walk(format!("{path}[{i}]"), v, out);
                }
            }
            leaf => {
                out.insert(path, leaf);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(String::new(), value, &mut out);
    out
}

/// The paths whose values differ, in path order.
pub fn changes(
    mut before: BTreeMap<String, Value>,
    mut after: BTreeMap<String, Value>,
) -> Vec<FieldChange> {
    let paths: BTreeSet<String> = before.keys().chain(after.keys()).cloned().collect();
    paths
        .into_iter()
        .filter_map(|path| {
            let (b, a) = (before.remove(&path), after.remove(&path));
            (b != a).then_some(FieldChange {
                path,
                before: b,
                after: a,
            })
        })
        .collect()
}

pub fn change_event(e: &FeedEvent) -> ChangeEvent {
    let [acting_user, acting_authority] = e.metadata_texts(["acting_user", "acting_authority"]);
    ChangeEvent {
        position: e.at.position,
        sequence: e.sequence,
        event_type: e.event_type.clone(),
        event_version: e.event_version.clone(),
        recorded_at: e.recorded_at,
        acting_user,
        acting_authority,
    }
}
