//! Alert statistics by Member State: one row of facts per alert (area, kind, status, Member
//! States, dates, the PQ 3-day rule), never content or personal data, aggregated at query
//! time.

use crate::alert_fold;
use crate::fold;
use crate::projection::{Projection, ProjectionError};
use chrono::{DateTime, Utc};
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};

pub const NAME: &str = "alert_statistics";

pub struct AlertStatisticsProjection;

#[async_trait::async_trait]
impl Projection for AlertStatisticsProjection {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/alert_statistics.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[crate::alert_fold::ALERT])
    }
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<(), ProjectionError> {
        let Some(folded) = alert_fold::fold_alerts(db, events).await? else {
            return Ok(());
        };
        let rows: Vec<Fact> = folded
            .changed
            .iter()
            .filter_map(|id| folded.alerts[id].summary())
            .map(|s| Fact {
                alert_id: s.alert_id.clone(),
                area: s.area.code().to_string(),
                kind: s.kind.as_str().to_string(),
                status: s.status.as_str().to_string(),
                initiating_member_state: s.initiating_member_state.code().to_string(),
                member_state_of_establishment: s
                    .member_state_of_establishment
                    .as_ref()
                    .map(|m| m.code().to_string()),
                recipient_member_states: s
                    .recipient_member_states
                    .keys()
                    .map(|m| m.code().to_string())
                    .collect(),
                objecting_member_states: s
                    .closure
                    .iter()
                    .flat_map(|c| c.objecting_member_states.iter())
                    .map(|m| m.code().to_string())
                    .collect(),
                drafted_at: s.drafted_at,
                broadcast_at: s.broadcast_at,
                ended_at: s.ended_at,
                broadcast_in_time: s.broadcast_in_time,
            })
            .collect();
        fold::replace_rows(db, "facts", "alert_id", &folded.changed, &rows).await?;
        Ok(())
    }
}

#[derive(Serialize)]
struct Fact {
    alert_id: String,
    area: String,
    kind: String,
    status: String,
    initiating_member_state: String,
    member_state_of_establishment: Option<String>,
    recipient_member_states: Vec<String>,
    objecting_member_states: Vec<String>,
    drafted_at: DateTime<Utc>,
    broadcast_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    broadcast_in_time: Option<bool>,
}

/// The alert figures of one Member State.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct MemberStateStatistics {
    pub member_state: String,
    /// Alerts it broadcast.
    pub sent: i64,
    /// Alerts broadcast to it.
    pub received: i64,
    /// Of those it sent: still open, closed, withdrawn.
    pub open: i64,
    pub closed: i64,
    pub withdrawn: i64,
    /// Closure proposals it objected to.
    pub objections: i64,
    /// PQ alerts it sent whose 3-day deadline passed: broadcast in time, and late (or never).
    pub pq_in_time: i64,
    pub pq_late: i64,
}

/// Figures per Member State (those with at least one broadcast alert sent or received), in
/// `area` if given, by Member State code.
pub async fn by_member_state<'e>(
    db: impl PgExecutor<'e>,
    area: Option<&str>,
) -> Result<Vec<MemberStateStatistics>, sqlx::Error> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        // One pass per figure's grouping, not a scan of every fact per Member State and
        // figure. Recipients are unique per alert (the keys of its recipients' map).
        "WITH f AS (SELECT * FROM {NAME}.facts WHERE broadcast_at IS NOT NULL
                      AND ($1::text IS NULL OR area = upper($1))),
              sent AS (
                SELECT initiating_member_state AS m, count(*) AS sent,
                       count(*) FILTER (WHERE status NOT IN ('Closed', 'Withdrawn')) AS open,
                       count(*) FILTER (WHERE status = 'Closed') AS closed,
                       count(*) FILTER (WHERE status = 'Withdrawn') AS withdrawn,
                       count(*) FILTER (WHERE broadcast_in_time) AS pq_in_time,
                       count(*) FILTER (WHERE broadcast_in_time = false) AS pq_late
                  FROM f GROUP BY 1),
              received AS (
                SELECT m, count(*) AS received
                  FROM (SELECT unnest(recipient_member_states) AS m FROM f) r
                 GROUP BY m),
              objections AS (
                SELECT m, count(*) AS objections
                  FROM (SELECT DISTINCT alert_id, unnest(objecting_member_states) AS m FROM f) o
                 GROUP BY m),
              ms AS (SELECT m FROM sent UNION SELECT m FROM received)
         SELECT jsonb_build_object(
                  'member_state', ms.m,
                  'sent', coalesce(s.sent, 0),
                  'received', coalesce(r.received, 0),
                  'open', coalesce(s.open, 0),
                  'closed', coalesce(s.closed, 0),
                  'withdrawn', coalesce(s.withdrawn, 0),
                  'objections', coalesce(o.objections, 0),
                  'pq_in_time', coalesce(s.pq_in_time, 0),
                  'pq_late', coalesce(s.pq_late, 0))
           FROM ms LEFT JOIN sent s USING (m) LEFT JOIN received r USING (m)
                   LEFT JOIN objections o USING (m)
          ORDER BY ms.m COLLATE \"C\""
    ))
    .bind(area)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(fold::decode).collect()
}
