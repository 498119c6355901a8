//! Status of every projection: its checkpoint, the horizon, and how far behind it is.

use imi_store::feed::{self, FeedPosition};
use serde::Serialize;
use sqlx::{PgPool, Row};

#[derive(Clone, Debug, Serialize)]
pub struct ProjectionStatus {
    pub name: String,
    pub slot: String,
    pub version: i32,
    pub checkpoint: FeedPosition,
    pub events_applied: i64,
    pub horizon_xid: i64,
    pub head_position: i64,
    pub lag_events: i64,
    pub lag_seconds: f64,
}

/// Status of every slot in the bookkeeping table (live ones and rebuilds in progress).
pub async fn all(pool: &PgPool) -> Result<Vec<ProjectionStatus>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT name, slot, version, xid, position, events_applied
           FROM projections ORDER BY name, slot",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let checkpoint = FeedPosition {
            xid: r.try_get("xid")?,
            position: r.try_get("position")?,
        };
        let log = feed::status(pool, checkpoint).await?;
        out.push(ProjectionStatus {
            name: r.try_get("name")?,
            slot: r.try_get("slot")?,
            version: r.try_get("version")?,
            checkpoint,
            events_applied: r.try_get("events_applied")?,
            horizon_xid: log.horizon_xid,
            head_position: log.head_position,
            lag_events: log.lag_events,
            lag_seconds: log.lag_seconds,
        });
    }
    Ok(out)
}
