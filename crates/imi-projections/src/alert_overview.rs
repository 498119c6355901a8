//! Alerts at the high level: every alert's summary (involved authorities in each role, area,
//! kind, status, dates; no content, no personal data) and, per authority, the alerts it has
//! access to. The gateway decides each caller's view level from the summary
//! ([`imi_domain::alert::view_level`]).

use crate::alert_fold;
use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::writes::Writes;
use chrono::{DateTime, Utc};
use imi_domain::alert::{AlertStatus, AlertSummary};
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};

pub const NAME: &str = "alert_overview";

pub struct AlertOverviewProjection;

#[async_trait::async_trait]
impl Projection for AlertOverviewProjection {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/alert_overview.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[crate::alert_fold::ALERT])
    }
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let mut writes = Writes::default();
        let Some(folded) = alert_fold::fold_alerts(db, events, &mut writes).await? else {
            return Ok(Writes::default());
        };
        let mut rows = Vec::new();
        let mut access = Vec::new();
        for id in &folded.changed {
            let Some(summary) = folded.alerts[id].summary() else {
                continue;
            };
            rows.push(Row::of(summary, folded.updated_at[id]));
            for (authority_id, (ms, how)) in summary.involved() {
                access.push(AccessRow {
                    alert_id: id.clone(),
                    authority_id,
                    member_state: ms.code().to_string(),
                    involvement: how.iter().map(|h| format!("{h:?}")).collect(),
                });
            }
        }
        writes.replace("alerts", "alert_id", &folded.changed, &rows)?;
        writes.replace("alert_access", "alert_id", &folded.changed, &access)?;
        Ok(writes)
    }
}

#[derive(Serialize, Deserialize)]
struct Row {
    alert_id: String,
    kind: String,
    area: String,
    status: String,
    initiating_authority: String,
    initiating_member_state: String,
    member_state_of_establishment: Option<String>,
    coordinator: Option<String>,
    closing_coordinator: Option<String>,
    recipient_member_states: Vec<String>,
    drafted_at: DateTime<Utc>,
    broadcast_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    summary: AlertSummary,
}

impl Row {
    fn of(s: &AlertSummary, updated_at: DateTime<Utc>) -> Self {
        Row {
            alert_id: s.alert_id.clone(),
            kind: s.kind.as_str().to_string(),
            area: s.area.code().to_string(),
            status: s.status.as_str().to_string(),
            initiating_authority: s.initiating_authority.clone(),
            initiating_member_state: s.initiating_member_state.code().to_string(),
            member_state_of_establishment: s
                .member_state_of_establishment
                .as_ref()
                .map(|m| m.code().to_string()),
            coordinator: s.coordinator.clone(),
            closing_coordinator: s.closure.as_ref().map(|c| c.closing_coordinator.clone()),
            recipient_member_states: s
                .recipient_member_states
                .keys()
                .map(|m| m.code().to_string())
                .collect(),
            drafted_at: s.drafted_at,
            broadcast_at: s.broadcast_at,
            ended_at: s.ended_at,
            updated_at,
            summary: s.clone(),
        }
    }
}

#[derive(Serialize)]
struct AccessRow {
    alert_id: String,
    authority_id: String,
    member_state: String,
    involvement: Vec<String>,
}

// --- Queries --------------------------------------------------------------------------

/// An alert as the overview holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertEntry {
    pub summary: AlertSummary,
    pub updated_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Read {
    summary: AlertSummary,
    updated_at: DateTime<Utc>,
}

/// One alert by id.
pub async fn get<'e>(
    db: impl PgExecutor<'e>,
    alert_id: &str,
) -> Result<Option<AlertEntry>, sqlx::Error> {
    let row: Option<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT jsonb_build_object('summary', summary, 'updated_at', updated_at)
           FROM {NAME}.alerts WHERE alert_id = $1"
    ))
    .bind(alert_id)
    .fetch_optional(db)
    .await?;
    row.map(|v| {
        fold::decode::<Read>(v).map(|r| AlertEntry {
            summary: r.summary,
            updated_at: r.updated_at,
        })
    })
    .transpose()
}

/// The alerts of `alert_ids` (those that exist) by id, in one query.
pub async fn get_many<'e>(
    db: impl PgExecutor<'e>,
    alert_ids: &[String],
) -> Result<std::collections::HashMap<String, AlertEntry>, sqlx::Error> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT jsonb_build_object('summary', summary, 'updated_at', updated_at)
           FROM {NAME}.alerts WHERE alert_id = ANY($1)"
    ))
    .bind(alert_ids)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|v| {
            fold::decode::<Read>(v).map(|r| {
                let entry = AlertEntry {
                    summary: r.summary,
                    updated_at: r.updated_at,
                };
                (entry.summary.alert_id.clone(), entry)
            })
        })
        .collect()
}

/// Which alerts of an authority to list.
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    pub status: Option<AlertStatus>,
    /// A legislative area code.
    pub area: Option<String>,
    /// `SD` or `PQ`.
    pub kind: Option<String>,
    /// Only those where the authority is involved this way (`Initiating`, `Recipient`, ...).
    pub involvement: Option<String>,
}

/// The alerts `authority_id` has access to, by id, after `after`, at most `limit`.
pub async fn for_authority<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
    filter: &AlertFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AlertEntry>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT jsonb_build_object('summary', a.summary, 'updated_at', a.updated_at)
           FROM {NAME}.alert_access x JOIN {NAME}.alerts a USING (alert_id)
          WHERE x.authority_id = "
    ));
    q.push_bind(authority_id.to_string());
    if let Some(status) = filter.status {
        q.push(" AND a.status = ").push_bind(status.as_str());
    }
    if let Some(area) = &filter.area {
        q.push(" AND a.area = ")
            .push_bind(area.to_ascii_uppercase());
    }
    if let Some(kind) = &filter.kind {
        q.push(" AND a.kind = ")
            .push_bind(kind.to_ascii_uppercase());
    }
    if let Some(how) = &filter.involvement {
        q.push(" AND ")
            .push_bind(how.clone())
            .push(" = ANY(x.involvement)");
    }
    if let Some(after) = after {
        q.push(" AND a.alert_id COLLATE \"C\" > ")
            .push_bind(after.to_string());
    }
    q.push(" ORDER BY a.alert_id COLLATE \"C\" LIMIT ")
        .push_bind(limit);
    let rows: Vec<serde_json::Value> = q.build_query_scalar().fetch_all(db).await?;
    rows.into_iter()
        .map(|v| {
            fold::decode::<Read>(v).map(|r| AlertEntry {
                summary: r.summary,
                updated_at: r.updated_at,
            })
        })
        .collect()
}
