//! How the outbox stands: how many notifications wait to be mailed, are being sent, wait for
//! a retry, were sent, failed or were skipped; and the last failures.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxStatus {
    /// Notifications with mail that no sender has claimed yet.
    pub pending: i64,
    pub sending: i64,
    pub retrying: i64,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    /// When the oldest pending notification was created.
    pub oldest_pending_at: Option<DateTime<Utc>>,
    /// The latest failures (id, error), newest first.
    pub recent_failures: Vec<(String, String)>,
}

/// The outbox's status; all zero before the outbox projection exists.
pub async fn outbox(pool: &PgPool) -> Result<OutboxStatus, sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT to_regclass('notifications.notifications') IS NOT NULL")
            .fetch_one(pool)
            .await?;
    if !exists {
        return Ok(OutboxStatus::default());
    }
    let (pending, oldest_pending_at): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*), min(n.created_at)
           FROM notifications.notifications n
           LEFT JOIN notification_deliveries d ON d.notification_id = n.id
          WHERE n.email_to <> 'none' AND d.notification_id IS NULL",
    )
    .fetch_one(pool)
    .await?;
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM notification_deliveries GROUP BY state")
            .fetch_all(pool)
            .await?;
    let count = |state: &str| {
        counts
            .iter()
            .find(|(s, _)| s == state)
            .map_or(0, |(_, n)| *n)
    };
    let recent_failures: Vec<(String, String)> = sqlx::query_as(
        "SELECT notification_id, coalesce(last_error, '') FROM notification_deliveries
          WHERE state IN ('failed', 'retry') ORDER BY updated_at DESC LIMIT 10",
    )
    .fetch_all(pool)
    .await?;
    Ok(OutboxStatus {
        pending,
        sending: count("sending"),
        retrying: count("retry"),
        sent: count("sent"),
        failed: count("failed"),
        skipped: count("skipped"),
        oldest_pending_at,
        recent_failures,
    })
}
