//! The full view of information requests: the summary, the content and every step with its
//! reason. Personal data stay sealed as the events carry them; the gateway opens them only
//! for callers whose view level includes them ([`imi_domain::request::view_level`]).

use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::request_fold::{fold_requests, Touched};
use crate::writes::Writes;
use chrono::{DateTime, Utc};
use imi_domain::request::{RequestDetails, RequestEvent, RequestSummary};
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};

pub const NAME: &str = "request_full";

pub struct RequestFull;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FullRow {
    pub request_id: String,
    pub summary: RequestSummary,
    pub details: RequestDetails,
    pub updated_at: DateTime<Utc>,
}

/// One event of a request as the full view lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub request_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub at: DateTime<Utc>,
    /// `user:<id>` or `system:<process>`.
    pub by_user: Option<String>,
    pub by_authority: Option<String>,
    pub payload: serde_json::Value,
}

#[async_trait::async_trait]
impl Projection for RequestFull {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        3
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/request_full.sql")
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
        let mut rows = Vec::new();
        let mut steps = Vec::new();
        for (id, t) in &touched {
            rows.extend(full_row(id, t));
            steps.extend(t.events.iter().map(|(e, event)| StepRow::of(id, e, event)));
        }
        writes.replace("requests", "request_id", &ids, &rows)?;
        writes.insert("steps", &steps)?;
        Ok(writes)
    }
}

/// The full row of a request the fold left as `t` (`None` before its draft).
pub(crate) fn full_row(id: &str, t: &Touched) -> Option<FullRow> {
    let (summary, details) = (t.summary()?, t.details()?);
    let updated_at = t
        .events
        .last()
        .map(|(e, _)| e.recorded_at)
        .unwrap_or(summary.dates.last_activity_at);
    Some(FullRow {
        request_id: id.to_string(),
        summary,
        details,
        updated_at,
    })
}

/// A step as written: [`Step`] with the payload as read from the log, not parsed.
#[derive(Serialize)]
struct StepRow<'a> {
    request_id: &'a str,
    sequence: i64,
    event_type: &'a str,
    at: DateTime<Utc>,
    by_user: Option<String>,
    by_authority: Option<String>,
    payload: &'a serde_json::value::RawValue,
}

impl<'a> StepRow<'a> {
    fn of(id: &'a str, e: &'a FeedEvent, event: &RequestEvent) -> Self {
        let [by_user, by_authority] = e.metadata_texts(["acting_user", "acting_authority"]);
        StepRow {
            request_id: id,
            sequence: e.sequence,
            event_type: &e.event_type,
            at: event.at(),
            by_user,
            by_authority,
            payload: &e.payload,
        }
    }
}

/// The step an event of the request is in the full view.
pub(crate) fn step_of(id: &str, e: &FeedEvent, event: &RequestEvent) -> Step {
    let [by_user, by_authority] = e.metadata_texts(["acting_user", "acting_authority"]);
    Step {
        request_id: id.to_string(),
        sequence: e.sequence,
        event_type: e.event_type.clone(),
        at: event.at(),
        by_user,
        by_authority,
        payload: e.payload_value(),
    }
}

pub async fn get<'e>(
    db: impl PgExecutor<'e>,
    request_id: &str,
) -> Result<Option<FullRow>, sqlx::Error> {
    let row: Option<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(r) FROM {NAME}.requests r WHERE request_id = $1"
    ))
    .bind(request_id)
    .fetch_optional(db)
    .await?;
    row.map(fold::decode).transpose()
}

/// The request's row and its steps in sequence order, in one statement: one round trip, and
/// both as of one moment.
pub async fn get_with_steps<'e>(
    db: impl PgExecutor<'e>,
    request_id: &str,
) -> Result<Option<(FullRow, Vec<Step>)>, sqlx::Error> {
    let row: Option<(serde_json::Value, serde_json::Value)> = sqlx::query_as(&format!(
        "SELECT to_jsonb(r),
                coalesce((SELECT jsonb_agg(to_jsonb(s) ORDER BY s.sequence) FROM {NAME}.steps s
                           WHERE s.request_id = r.request_id), '[]')
           FROM {NAME}.requests r WHERE r.request_id = $1"
    ))
    .bind(request_id)
    .fetch_optional(db)
    .await?;
    row.map(|(full, steps)| Ok((fold::decode(full)?, fold::decode(steps)?)))
        .transpose()
}

pub async fn steps<'e>(
    db: impl PgExecutor<'e>,
    request_id: &str,
) -> Result<Vec<Step>, sqlx::Error> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(s) FROM {NAME}.steps s WHERE request_id = $1 ORDER BY sequence"
    ))
    .bind(request_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(fold::decode).collect()
}
