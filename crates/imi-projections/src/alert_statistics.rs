//! Alert statistics by Member State: one row of facts per alert (area, kind, status, Member
//! States, dates, the PQ 3-day rule), never content or personal data, and the counters they
//! add up to per Member State and area, moved with the facts in each batch's transaction
//! (the old fact's contribution subtracted, the new one's added); queries sum the counters.

use crate::alert_fold;
use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::writes::{self, Writes};
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
        2
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
    ) -> Result<Writes, ProjectionError> {
        let mut writes = Writes::default();
        let Some(folded) = alert_fold::fold_alerts(db, events, &mut writes).await? else {
            return Ok(Writes::default());
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
        let json = serde_json::to_string(&rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        // With the states, in the same round trip: its values inlined.
        writes.sql(writes::inlined(
            &apply_sql(),
            &[
                &format!("{}::text[]", writes::literal(&folded.changed)),
                &format!("{}::jsonb", writes::dollar_quoted(&json)),
            ],
        ));
        Ok(writes)
    }
}

/// The columns of `counters` after its key.
const COUNTERS: [&str; 8] = [
    "sent",
    "received",
    "open",
    "closed",
    "withdrawn",
    "objections",
    "pq_in_time",
    "pq_late",
];

/// The columns of `facts` after its key.
const FACTS: [&str; 11] = [
    "area",
    "kind",
    "status",
    "initiating_member_state",
    "member_state_of_establishment",
    "recipient_member_states",
    "objecting_member_states",
    "drafted_at",
    "broadcast_at",
    "ended_at",
    "broadcast_in_time",
];

/// One statement per batch: replaces the facts of the changed alerts (`$1`) by their new
/// rows (`$2`) and moves the counters by the difference: each old fact's contribution
/// subtracted, each new one's added. A counter row that falls to zero is deleted, so the
/// table holds the same rows however the feed was cut into batches.
fn apply_sql() -> String {
    let cols = COUNTERS.join(", ");
    let summed = COUNTERS.map(|c| format!("sum({c}) AS {c}")).join(", ");
    let zero = |t: &str| COUNTERS.map(|c| format!("{t}{c} = 0")).join(" AND ");
    let added = COUNTERS
        .map(|c| format!("coalesce(counters.{c}, 0) + d.{c} AS {c}"))
        .join(", ");
    let set = COUNTERS.map(|c| format!("{c} = excluded.{c}")).join(", ");
    let facts_set = FACTS.map(|c| format!("{c} = excluded.{c}")).join(", ");
    format!(
        "WITH incoming AS (SELECT * FROM jsonb_populate_recordset(NULL::facts, $2)),
              before AS (SELECT * FROM facts WHERE alert_id = ANY($1)),
              gone AS (
                DELETE FROM facts WHERE alert_id = ANY($1)
                   AND alert_id NOT IN (SELECT alert_id FROM incoming)),
              after AS (
                INSERT INTO facts SELECT * FROM incoming
                ON CONFLICT (alert_id) DO UPDATE SET {facts_set}
                RETURNING *),
              changes AS (
                SELECT 1 AS sign, * FROM after UNION ALL SELECT -1, * FROM before),
              -- What each version of a broadcast alert counts, and for whom. Recipients are
              -- unique per alert (the keys of its recipients' map); objections are counted
              -- once per alert and Member State.
              parts AS (
                SELECT initiating_member_state AS member_state, area, sign AS sent,
                       0 AS received,
                       CASE WHEN status NOT IN ('Closed', 'Withdrawn') THEN sign ELSE 0 END
                         AS open,
                       CASE WHEN status = 'Closed' THEN sign ELSE 0 END AS closed,
                       CASE WHEN status = 'Withdrawn' THEN sign ELSE 0 END AS withdrawn,
                       0 AS objections,
                       CASE WHEN broadcast_in_time THEN sign ELSE 0 END AS pq_in_time,
                       CASE WHEN NOT broadcast_in_time THEN sign ELSE 0 END AS pq_late
                  FROM changes WHERE broadcast_at IS NOT NULL
                UNION ALL
                SELECT r.m, area, 0, sign, 0, 0, 0, 0, 0, 0
                  FROM changes, unnest(recipient_member_states) AS r(m)
                 WHERE broadcast_at IS NOT NULL
                UNION ALL
                SELECT o.m, area, 0, 0, 0, 0, 0, sign, 0, 0
                  FROM changes,
                       LATERAL (SELECT DISTINCT unnest(objecting_member_states)) AS o(m)
                 WHERE broadcast_at IS NOT NULL),
              delta AS (
                SELECT member_state, area, {summed} FROM parts
                 GROUP BY member_state, area
                HAVING NOT ({zero_sums})),
              counted AS (
                SELECT d.member_state, d.area, {added}
                  FROM delta d LEFT JOIN counters
                    ON (counters.member_state, counters.area) = (d.member_state, d.area)),
              dropped AS (
                DELETE FROM counters USING counted a
                 WHERE (counters.member_state, counters.area) = (a.member_state, a.area)
                   AND {zero_a}),
              kept AS (
                INSERT INTO counters (member_state, area, {cols})
                SELECT member_state, area, {cols} FROM counted a WHERE NOT ({zero_a})
                ON CONFLICT (member_state, area) DO UPDATE SET {set})
         SELECT count(*) FROM after",
        zero_sums = COUNTERS.map(|c| format!("sum({c}) = 0")).join(" AND "),
        zero_a = zero("a."),
    )
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
    let fields = COUNTERS.map(|c| format!("'{c}', sum({c})")).join(", ");
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT jsonb_build_object('member_state', member_state, {fields})
           FROM {NAME}.counters
          WHERE $1::text IS NULL OR area = upper($1)
          GROUP BY member_state
         HAVING sum(sent) + sum(received) > 0
          ORDER BY member_state COLLATE \"C\""
    ))
    .bind(area)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(fold::decode).collect()
}
