//! Alert work queues: per authority, the alerts waiting for it (to acknowledge, disseminate,
//! broadcast, broadcast additional information, comment, object, close), as the domain's
//! [`imi_domain::alert::AlertSummary::queues`] says.

use crate::alert_fold;
use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::writes::Writes;
use chrono::{DateTime, Utc};
use imi_domain::alert::AlertQueue;
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use std::collections::{BTreeMap, BTreeSet};

/// An alert's queue entries: (authority, queue) and since when.
type Entries = BTreeMap<(String, String), DateTime<Utc>>;

pub const NAME: &str = "alert_queue";

pub struct AlertQueueProjection;

#[async_trait::async_trait]
impl Projection for AlertQueueProjection {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/alert_queue.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[crate::alert_fold::ALERT])
    }
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let ids: Vec<String> = alert_fold::alert_events(events)?
            .iter()
            .map(|(e, _)| e.aggregate_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Each alert's entries as stored, then as each event leaves them: an entry that stays
        // keeps the time it entered its queue, a new one takes its event's time.
        let stored: Vec<QueueEntry> = fold::load_rows(
            db,
            "SELECT to_jsonb(q) - 'area' - 'kind' FROM queue q WHERE alert_id = ANY($1)",
            &ids,
        )
        .await?;
        let mut current: BTreeMap<String, Entries> = BTreeMap::new();
        for q in stored {
            current
                .entry(q.alert_id)
                .or_default()
                .insert((q.authority_id, q.queue), q.since);
        }
        let mut writes = Writes::default();
        let Some(folded) = alert_fold::fold_alerts_seeing(db, events, &mut writes, |alert, e| {
            let Some(summary) = alert.summary() else {
                return;
            };
            let before = current.remove(&e.aggregate_id).unwrap_or_default();
            let after: Entries = summary
                .queues()
                .into_iter()
                .map(|(authority, queue)| {
                    let key = (authority, queue.as_str().to_string());
                    let since = before.get(&key).copied().unwrap_or(e.recorded_at);
                    (key, since)
                })
                .collect();
            current.insert(e.aggregate_id.clone(), after);
        })
        .await?
        else {
            return Ok(Writes::default());
        };
        let mut rows = Vec::new();
        for id in &folded.changed {
            let Some(summary) = folded.alerts[id].summary() else {
                continue;
            };
            for ((authority_id, queue), since) in current.remove(id).unwrap_or_default() {
                rows.push(Row {
                    authority_id,
                    alert_id: id.clone(),
                    queue,
                    area: summary.area.code().to_string(),
                    kind: summary.kind.as_str().to_string(),
                    since,
                });
            }
        }
        writes.replace("queue", "alert_id", &folded.changed, &rows)?;
        Ok(writes)
    }
}

#[derive(Serialize)]
struct Row {
    authority_id: String,
    alert_id: String,
    queue: String,
    area: String,
    kind: String,
    since: DateTime<Utc>,
}

/// One alert waiting in one queue of one authority.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct QueueEntry {
    pub authority_id: String,
    pub alert_id: String,
    /// [`AlertQueue::as_str`].
    pub queue: String,
    pub since: DateTime<Utc>,
}

/// The alerts waiting for `authority_id` (in `queue`, or in any), by queue then alert id,
/// after the (queue, alert id) `after`, at most `limit`.
pub async fn for_authority<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
    queue: Option<AlertQueue>,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<QueueEntry>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT jsonb_build_object('authority_id', authority_id, 'alert_id', alert_id,
                                   'queue', queue, 'since', since)
           FROM {NAME}.queue WHERE authority_id = "
    ));
    q.push_bind(authority_id.to_string());
    if let Some(queue) = queue {
        q.push(" AND queue = ").push_bind(queue.as_str());
    }
    if let Some((queue, alert_id)) = after {
        q.push(" AND (queue COLLATE \"C\", alert_id COLLATE \"C\") > (")
            .push_bind(queue.to_string())
            .push(", ")
            .push_bind(alert_id.to_string())
            .push(")");
    }
    q.push(" ORDER BY queue COLLATE \"C\", alert_id COLLATE \"C\" LIMIT ")
        .push_bind(limit);
    let rows: Vec<serde_json::Value> = q.build_query_scalar().fetch_all(db).await?;
    rows.into_iter().map(fold::decode).collect()
}
