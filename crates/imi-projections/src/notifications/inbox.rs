//! A user's notifications in the app: the list (newest first, unread or all), the live stream
//! (in feed order after a cursor) and marking as read.
//!
//! A user sees the notifications addressed to them and those addressed to their authority,
//! narrowed to the holders of a role (in an area) where the notification says so; never the
//! registration code's mail, which is for the invitation's address alone. The read
//! state lives in `public.notification_reads`, outside the rebuildable projection.

use super::NAME;
use crate::users;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgExecutor, Postgres, QueryBuilder};

/// A place in the notifications' feed order: after it come only notifications applied later.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cursor {
    pub xid: i64,
    pub position: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}:{}:{}", self.xid, self.position, self.id)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, ':');
        let xid = parts.next()?.parse().ok()?;
        let position = parts.next()?.parse().ok()?;
        let id = parts.next()?.to_string();
        (!id.is_empty()).then_some(Self { xid, position, id })
    }
}

/// One notification as its recipient sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub xid: i64,
    pub position: i64,
    pub kind: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub params: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

impl Notification {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            xid: self.xid,
            position: self.position,
            id: self.id.clone(),
        }
    }
}

/// A page of a user's notifications.
#[derive(Clone, Debug, PartialEq)]
pub struct UserNotifications {
    pub items: Vec<Notification>,
    pub has_more: bool,
}

/// The notifications `user_id` of `authority_id` may see: pushes the `FROM ... WHERE` part.
/// The outbox's keys compare byte by byte (`COLLATE "C"`), the users' roles under the
/// database's collation: their join names the roles', so that their key's index serves it.
fn visible<'a>(q: &mut QueryBuilder<'a, Postgres>, user_id: &'a str, authority_id: &'a str) {
    let roles = users::NAME;
    q.push(format!(
        " FROM {NAME}.notifications n
          LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.user_id = "
    ))
    .push_bind(user_id)
    .push(" WHERE n.recipient_authority = ")
    .push_bind(authority_id)
    // The registration code is for the invitation's address only, never shown in the app.
    .push(format!(
        " AND n.kind <> '{}'",
        super::kinds::REGISTRATION_CODE
    ))
    .push(" AND (n.recipient_user = ")
    .push_bind(user_id)
    .push(format!(
        " OR (n.recipient_user IS NULL AND (n.role IS NULL OR EXISTS (
              SELECT 1 FROM {roles}.user_roles ur
               WHERE ur.authority_id = n.recipient_authority COLLATE \"default\" AND ur.user_id = "
    ))
    .push_bind(user_id)
    .push(" AND ur.role = n.role AND (n.area IS NULL OR ur.area = n.area)))))");
}

const COLUMNS: &str = "SELECT n.id, n.xid, n.position, n.kind, n.aggregate_type, n.aggregate_id,
       n.params, n.created_at, r.user_id IS NOT NULL AS read";

type RowTuple = (
    String,
    i64,
    i64,
    String,
    String,
    String,
    serde_json::Value,
    DateTime<Utc>,
    bool,
);

fn from_tuple(t: RowTuple) -> Notification {
    Notification {
        id: t.0,
        xid: t.1,
        position: t.2,
        kind: t.3,
        aggregate_type: t.4,
        aggregate_id: t.5,
        params: t.6,
        created_at: t.7,
        read: t.8,
    }
}

/// A user's notifications, newest first, older than `before` when given.
pub async fn user_notifications(
    db: impl PgExecutor<'_>,
    user_id: &str,
    authority_id: &str,
    before: Option<&Cursor>,
    limit: usize,
    unread_only: bool,
) -> Result<UserNotifications, sqlx::Error> {
    let mut q = QueryBuilder::new(COLUMNS);
    visible(&mut q, user_id, authority_id);
    if unread_only {
        q.push(" AND r.user_id IS NULL");
    }
    if let Some(c) = before {
        q.push(" AND (n.xid, n.position, n.id) < (")
            .push_bind(c.xid)
            .push(", ")
            .push_bind(c.position)
            .push(", ")
            .push_bind(c.id.clone())
            .push(")");
    }
    q.push(" ORDER BY n.xid DESC, n.position DESC, n.id DESC LIMIT ")
        .push_bind(limit as i64 + 1);
    let mut items: Vec<Notification> = q
        .build_query_as::<RowTuple>()
        .fetch_all(db)
        .await?
        .into_iter()
        .map(from_tuple)
        .collect();
    let has_more = items.len() > limit;
    items.truncate(limit);
    Ok(UserNotifications { items, has_more })
}

/// A user's notifications after `after` (all of them when `None`), oldest first: the live
/// stream's next batch.
pub async fn stream_after(
    db: impl PgExecutor<'_>,
    user_id: &str,
    authority_id: &str,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Vec<Notification>, sqlx::Error> {
    let mut q = QueryBuilder::new(COLUMNS);
    visible(&mut q, user_id, authority_id);
    if let Some(c) = after {
        q.push(" AND (n.xid, n.position, n.id) > (")
            .push_bind(c.xid)
            .push(", ")
            .push_bind(c.position)
            .push(", ")
            .push_bind(c.id.clone())
            .push(")");
    }
    q.push(" ORDER BY n.xid, n.position, n.id LIMIT ")
        .push_bind(limit as i64);
    Ok(q.build_query_as::<RowTuple>()
        .fetch_all(db)
        .await?
        .into_iter()
        .map(from_tuple)
        .collect())
}

/// The newest notification's cursor a user may see: where a live stream that wants only new
/// notifications starts.
pub async fn latest_cursor(
    db: impl PgExecutor<'_>,
    user_id: &str,
    authority_id: &str,
) -> Result<Option<Cursor>, sqlx::Error> {
    Ok(
        user_notifications(db, user_id, authority_id, None, 1, false)
            .await?
            .items
            .first()
            .map(Notification::cursor),
    )
}

/// How many notifications the user has not read.
pub async fn unread_count(
    db: impl PgExecutor<'_>,
    user_id: &str,
    authority_id: &str,
) -> Result<i64, sqlx::Error> {
    unread(user_id, authority_id)
        .build_query_scalar()
        .fetch_one(db)
        .await
}

fn unread<'a>(user_id: &'a str, authority_id: &'a str) -> QueryBuilder<'a, Postgres> {
    let mut q = QueryBuilder::new("SELECT count(*)");
    visible(&mut q, user_id, authority_id);
    q.push(" AND r.user_id IS NULL");
    q
}

/// The statement [`unread_count`] runs ($1 to $4: the user, the authority, the user twice),
/// for its plan to be checked: it joins the outbox to the users' roles and to the reads as
/// every read of the inbox does.
#[doc(hidden)]
pub fn unread_count_sql() -> String {
    unread("", "").sql().to_string()
}

/// Marks as read those of `ids` the user may see (others are ignored); returns how many were
/// newly marked.
pub async fn mark_read(
    db: impl PgExecutor<'_>,
    user_id: &str,
    authority_id: &str,
    ids: &[String],
) -> Result<u64, sqlx::Error> {
    let mut q =
        QueryBuilder::new("INSERT INTO notification_reads (user_id, notification_id) SELECT ");
    q.push_bind(user_id).push(", n.id");
    visible(&mut q, user_id, authority_id);
    q.push(" AND r.user_id IS NULL AND n.id = ANY(")
        .push_bind(ids.to_vec())
        .push(") ON CONFLICT DO NOTHING");
    Ok(q.build().execute(db).await?.rows_affected())
}
