//! The monitoring view of information requests: who is involved, area, question set,
//! status, dates and deadlines; no content, no personal data, no attachments. Each row keeps
//! the request's [`RequestSummary`], on which the gateway asks the domain policy
//! ([`imi_domain::request::view_level`]) what the caller may see.

use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::request_fold::fold_requests;
use crate::writes::{self, Writes};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use imi_domain::request::{RequestSummary, ACCEPTANCE_DAYS};
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use std::collections::BTreeSet;

pub const NAME: &str = "request_monitoring";

pub struct RequestMonitoring;

/// One request (one row of `requests`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitoringRow {
    pub request_id: String,
    pub area: String,
    pub question_set: String,
    pub status: String,
    pub requesting_authority: String,
    pub requesting_member_state: String,
    pub responding_authority: String,
    pub responding_member_state: String,
    pub requesting_coordinator: String,
    pub responding_coordinator: Option<String>,
    pub watchers: Vec<String>,
    pub drafted_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub acceptance_due_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub proposed_answer_date: NaiveDate,
    pub agreed_answer_date: Option<NaiveDate>,
    pub fully_answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub last_activity_at: DateTime<Utc>,
    pub personal_data_blocked: bool,
    pub rating_timeliness: Option<i16>,
    pub rating_effort: Option<i16>,
    pub summary: RequestSummary,
}

/// Every authority that may see the request at all.
pub fn watchers(s: &RequestSummary) -> Vec<String> {
    let mut w: BTreeSet<&str> = BTreeSet::new();
    w.insert(&s.requesting.authority_id);
    w.insert(&s.requesting_coordinator);
    w.extend(s.requesting.linked_coordinators.iter().map(String::as_str));
    w.extend(s.requesting.linked_authorities.iter().map(String::as_str));
    if s.dispatched() {
        w.insert(&s.responding.authority_id);
        w.extend(s.responding_coordinator.as_deref());
        w.extend(s.responding.linked_coordinators.iter().map(String::as_str));
        w.extend(s.responding.linked_authorities.iter().map(String::as_str));
        w.extend(s.forwarded_from.iter().map(String::as_str));
    }
    w.into_iter().map(str::to_string).collect()
}

impl MonitoringRow {
    pub fn of(s: RequestSummary, acceptance_from: Option<DateTime<Utc>>) -> Self {
        let d = &s.dates;
        Self {
            request_id: s.request_id.clone(),
            area: s.area.code().to_string(),
            question_set: s.question_set.clone(),
            status: s.status.as_str().to_string(),
            requesting_authority: s.requesting.authority_id.clone(),
            requesting_member_state: s.requesting.member_state.code().to_string(),
            responding_authority: s.responding.authority_id.clone(),
            responding_member_state: s.responding.member_state.code().to_string(),
            requesting_coordinator: s.requesting_coordinator.clone(),
            responding_coordinator: s.responding_coordinator.clone(),
            watchers: watchers(&s),
            drafted_at: d.drafted_at,
            sent_at: d.sent_at,
            acceptance_due_at: acceptance_from.map(|t| t + Duration::days(ACCEPTANCE_DAYS)),
            accepted_at: d.accepted_at,
            proposed_answer_date: d.proposed_answer_date,
            agreed_answer_date: d.agreed_answer_date,
            fully_answered_at: d.fully_answered_at,
            closed_at: d.closed_at,
            withdrawn_at: d.withdrawn_at,
            last_activity_at: d.last_activity_at,
            personal_data_blocked: s.personal_data_blocked(),
            rating_timeliness: s.rating.map(|r| r.timeliness.into()),
            rating_effort: s.rating.map(|r| r.effort.into()),
            summary: s,
        }
    }
}

#[async_trait::async_trait]
impl Projection for RequestMonitoring {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        5
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/request_monitoring.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[crate::request_fold::REQUEST])
    }

    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let mut writes = Writes::default();
        let touched = fold_requests(db, events, &mut writes).await?;
        if touched.is_empty() {
            return Ok(Writes::default());
        }
        let ids: Vec<String> = touched.keys().cloned().collect();
        let rows: Vec<MonitoringRow> = touched.values().filter_map(monitoring_row).collect();
        writes.replace("requests", "request_id", &ids, &rows)?;
        let ids = writes::literal(&ids);
        writes.sql(format!(
            "DELETE FROM watched WHERE request_id = ANY({ids}::text[]);
             INSERT INTO watched (watcher, request_id)
             SELECT DISTINCT unnest(watchers), request_id FROM requests
              WHERE request_id = ANY({ids}::text[])"
        ));
        Ok(writes)
    }
}

/// The monitoring row of a request the fold left as `t` (`None` before its draft).
pub(crate) fn monitoring_row(t: &crate::request_fold::Touched) -> Option<MonitoringRow> {
    let summary = t.summary()?;
    let acceptance_from = if summary.status == imi_domain::request::RequestStatus::Sent {
        latest_dispatch(t, &summary)
    } else {
        None
    };
    Some(MonitoringRow::of(summary, acceptance_from))
}

/// When the current responding authority received the request: the last dispatch or
/// forward; from the stored row when the batch holds neither.
fn latest_dispatch(
    t: &crate::request_fold::Touched,
    summary: &RequestSummary,
) -> Option<DateTime<Utc>> {
    use imi_domain::request::RequestEvent as E;
    let in_batch = t.events.iter().rev().find_map(|(_, e)| match e.as_ref() {
        E::RequestSent { at, .. } | E::RequestForwarded { at, .. } => Some(*at),
        _ => None,
    });
    // Without one in the batch, the dispatch was the request's sending (the forward case
    // always carries its event): sent_at.
    in_batch.or(summary.dates.sent_at)
}

// --- Queries --------------------------------------------------------------------------

/// Which requests to list: those `watcher` may see, narrowed by the other filters (all must
/// hold). Ordered by request id; page with `after` and `limit`.
#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    pub watcher: String,
    pub status: Option<String>,
    pub area: Option<String>,
    /// The requesting or the responding authority's Member State.
    pub member_state: Option<String>,
    /// The requesting or the responding authority.
    pub authority: Option<String>,
    pub drafted_from: Option<DateTime<Utc>>,
    pub drafted_until: Option<DateTime<Utc>>,
    pub after: Option<String>,
    pub limit: i64,
}

pub async fn get<'e>(
    db: impl PgExecutor<'e>,
    request_id: &str,
) -> Result<Option<MonitoringRow>, sqlx::Error> {
    let row: Option<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(r) FROM {NAME}.requests r WHERE request_id = $1"
    ))
    .bind(request_id)
    .fetch_optional(db)
    .await?;
    row.map(fold::decode).transpose()
}

/// The rows of `request_ids` (those that exist), in one query.
pub async fn get_many<'e>(
    db: impl PgExecutor<'e>,
    request_ids: &[String],
) -> Result<Vec<MonitoringRow>, sqlx::Error> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(r) FROM {NAME}.requests r WHERE request_id = ANY($1)"
    ))
    .bind(request_ids)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(fold::decode).collect()
}

pub async fn list<'e>(
    db: impl PgExecutor<'e>,
    filter: &RequestFilter,
) -> Result<Vec<MonitoringRow>, sqlx::Error> {
    let rows: Vec<serde_json::Value> = list_query(filter)
        .build_query_scalar()
        .fetch_all(db)
        .await?;
    rows.into_iter().map(fold::decode).collect()
}

/// The statement [`list`] runs for `filter`, for its plan to be checked.
#[doc(hidden)]
pub fn list_sql(filter: &RequestFilter) -> String {
    list_query(filter).sql().to_string()
}

fn list_query(filter: &RequestFilter) -> QueryBuilder<'_, Postgres> {
    // In the watcher's key order; the other filters are checked on the way. Both keys compare
    // byte by byte, so the join goes through the requests' key.
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT to_jsonb(r) FROM {NAME}.watched w \
           JOIN {NAME}.requests r ON r.request_id = w.request_id \
          WHERE w.watcher = "
    ));
    q.push_bind(&filter.watcher);
    if let Some(status) = &filter.status {
        q.push(" AND r.status = ").push_bind(status);
    }
    if let Some(area) = &filter.area {
        q.push(" AND r.area = ").push_bind(area);
    }
    if let Some(ms) = &filter.member_state {
        q.push(" AND (r.requesting_member_state = ")
            .push_bind(ms)
            .push(" OR r.responding_member_state = ")
            .push_bind(ms)
            .push(")");
    }
    if let Some(a) = &filter.authority {
        q.push(" AND (r.requesting_authority = ")
            .push_bind(a)
            .push(" OR r.responding_authority = ")
            .push_bind(a)
            .push(")");
    }
    if let Some(from) = filter.drafted_from {
        q.push(" AND r.drafted_at >= ").push_bind(from);
    }
    if let Some(until) = filter.drafted_until {
        q.push(" AND r.drafted_at < ").push_bind(until);
    }
    if let Some(after) = &filter.after {
        q.push(" AND w.request_id > ").push_bind(after);
    }
    q.push(" ORDER BY w.request_id LIMIT ")
        .push_bind(filter.limit);
    q
}
