//! Data subjects' requests: each authority's queue of open requests with their deadlines, and
//! each request as the aggregate sees it (folded with its own `record`). Personal data (the
//! subject's identification, the answer) stay sealed; the application opens them for the
//! authority's data administrators.

use crate::fold::{self, Sequences};
use crate::projection::{Projection, ProjectionError};
use crate::writes::Writes;
use chrono::{DateTime, NaiveDate, Utc};
use imi_domain::subject_request::{SubjectRequest, SubjectRequestEvent, SubjectRequestSummary};
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};
use std::collections::BTreeMap;

pub const NAME: &str = "subject_requests";

/// The aggregate type in the log.
pub const SUBJECT_REQUEST: &str = "SubjectRequest";

pub struct SubjectRequests;

/// One row of `subject_requests`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Row {
    id: String,
    authority_id: String,
    exchange: String,
    status: String,
    due_on: NaiveDate,
    recorded_at: DateTime<Utc>,
    summary: SubjectRequestSummary,
}

#[async_trait::async_trait]
impl Projection for SubjectRequests {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/subject_requests.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[SUBJECT_REQUEST])
    }

    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let decoded: Vec<(&FeedEvent, SubjectRequestEvent)> = events
            .iter()
            .filter(|e| e.aggregate_type == SUBJECT_REQUEST)
            .map(|e| {
                e.event::<SubjectRequestEvent>()
                    .map(|event| (e, event))
                    .map_err(|err| ProjectionError::unreadable(e, err))
            })
            .collect::<Result<_, _>>()?;
        if decoded.is_empty() {
            return Ok(Writes::default());
        }
        let mut ids: Vec<String> = decoded
            .iter()
            .map(|(e, _)| e.aggregate_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        let mut sequences = Sequences::load(db, &ids).await?;
        let stored: Vec<SubjectRequestSummary> = fold::load_rows(
            db,
            "SELECT summary FROM subject_requests WHERE id = ANY($1)",
            &ids,
        )
        .await?;
        let mut states: BTreeMap<String, SubjectRequest> = BTreeMap::new();
        for summary in stored {
            states.insert(summary.id.clone(), SubjectRequest::from_summary(summary));
        }
        for (e, event) in decoded {
            sequences.check(e)?;
            states
                .entry(e.aggregate_id.clone())
                .or_default()
                .record(event);
        }
        let rows: Vec<Row> = states
            .values()
            .filter_map(|s| s.summary())
            .map(|s| Row {
                id: s.id.clone(),
                authority_id: s.authority_id.clone(),
                exchange: s.exchange.clone(),
                status: format!("{:?}", s.status),
                due_on: s.due_on,
                recorded_at: s.recorded_at,
                summary: s.clone(),
            })
            .collect();
        let mut writes = Writes::default();
        writes.replace("subject_requests", "id", &ids, &rows)?;
        writes.sequences(&sequences);
        Ok(writes)
    }
}

/// One request by id.
pub async fn get<'e>(
    db: impl PgExecutor<'e>,
    id: &str,
) -> Result<Option<SubjectRequestSummary>, sqlx::Error> {
    let row: Option<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT summary FROM {NAME}.subject_requests WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(fold::decode).transpose()
}

/// The open requests of `authority_id`, the nearest deadline first.
pub async fn open_of<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
) -> Result<Vec<SubjectRequestSummary>, sqlx::Error> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT summary FROM {NAME}.subject_requests
          WHERE authority_id = $1 AND status <> 'Closed' ORDER BY due_on, id"
    ))
    .bind(authority_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(fold::decode).collect()
}
