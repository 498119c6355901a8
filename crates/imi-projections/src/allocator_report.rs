//! The allocators' report: per authority, its outgoing and incoming requests with the
//! handlers assigned, status, dates and progress. No personal data and no content, by
//! construction: it is built from the summary and the number of answers only.

use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::request_fold::fold_requests;
use crate::writes::Writes;
use chrono::{DateTime, NaiveDate, Utc};
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};

pub const NAME: &str = "allocator_report";

pub struct AllocatorReport;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    pub request_id: String,
    pub authority_id: String,
    /// `requesting` or `responding`.
    pub side: String,
    pub area: String,
    pub question_set: String,
    pub status: String,
    pub other_authority: String,
    pub handlers: Vec<String>,
    pub questions: i32,
    pub answered: i32,
    pub drafted_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub due_date: NaiveDate,
    pub fully_answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[async_trait::async_trait]
impl Projection for AllocatorReport {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        3
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/allocator_report.sql")
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
        for t in touched.values() {
            let (Some(s), Some(d)) = (t.summary(), t.details()) else {
                continue;
            };
            let questions = d.draft.questions.len() as i32;
            let answered = d
                .draft
                .questions
                .iter()
                .filter(|q| d.answers.contains_key(*q))
                .count() as i32;
            let mut sides = vec![(
                "requesting",
                &s.requesting.authority_id,
                &s.responding.authority_id,
                &s.requesting_handlers,
            )];
            if s.dispatched() {
                sides.push((
                    "responding",
                    &s.responding.authority_id,
                    &s.requesting.authority_id,
                    &s.responding_handlers,
                ));
            }
            for (side, authority, other, handlers) in sides {
                rows.push(ReportRow {
                    request_id: s.request_id.clone(),
                    authority_id: authority.clone(),
                    side: side.into(),
                    area: s.area.code().into(),
                    question_set: s.question_set.clone(),
                    status: s.status.as_str().into(),
                    other_authority: other.clone(),
                    handlers: handlers.iter().cloned().collect(),
                    questions,
                    answered,
                    drafted_at: s.dates.drafted_at,
                    sent_at: s.dates.sent_at,
                    accepted_at: s.dates.accepted_at,
                    due_date: s.due_date(),
                    fully_answered_at: s.dates.fully_answered_at,
                    closed_at: s.dates.closed_at,
                });
            }
        }
        writes.replace("requests", "request_id", &ids, &rows)?;
        Ok(writes)
    }
}

/// The report of `authority_id`: its requests, oldest first.
pub async fn of_authority<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
) -> Result<Vec<ReportRow>, sqlx::Error> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(r) FROM {NAME}.requests r WHERE authority_id = $1
          ORDER BY drafted_at, request_id"
    ))
    .bind(authority_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(fold::decode).collect()
}
