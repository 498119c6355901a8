//! A user's notifications: the list (newest first, all or unread), the unread count, marking
//! as read, and the batches of a live stream; and, for data administrators, how the mail
//! outbox and the scheduled deadlines stand.
//!
//! A user reads only what was announced to them: to them by name, or to their authority
//! (narrowed to the holders of a role where the announcement says so). Texts are rendered in
//! the reader's language (English as the visible fallback).

use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::App;
use chrono::{DateTime, Utc};
use imi_domain::reference::Language;
use imi_projections::notifications as inbox;

pub use imi_notify::status::OutboxStatus;
pub use imi_projections::deadlines::DeadlineStatus;
pub use imi_projections::notifications::Cursor;

/// Refused to a caller who is not a data administrator.
pub const STATUS_FOR_DATA_ADMINISTRATORS: &str =
    "only data administrators of IMI coordinators see the notification status";

/// Something IMI announced to the caller, in their language.
#[derive(Clone, Debug, PartialEq)]
pub struct NotificationView {
    pub id: String,
    /// `registration_code`, `awaiting_validation`, `authority_validated`, ...
    pub kind: String,
    /// What it is about: `Authority`, `InformationRequest`, `Alert`, and its id.
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub subject: String,
    pub body: String,
    /// The language of `subject` and `body`.
    pub language: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
    /// Where it stands in the caller's list.
    pub cursor: Cursor,
}

impl NotificationView {
    fn of(n: inbox::Notification, language: &Language) -> Self {
        // The code is for the invited authority's mail only; in the app it is never shown.
        let text = imi_notify::texts::render(&n.kind, &n.params, language.code(), None);
        Self {
            cursor: n.cursor(),
            id: n.id,
            kind: n.kind,
            aggregate_type: n.aggregate_type,
            aggregate_id: n.aggregate_id,
            subject: text.subject,
            body: text.body,
            language: text.language.to_string(),
            created_at: n.created_at,
            read: n.read,
        }
    }
}

/// A page of the caller's notifications, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct NotificationPage {
    pub notifications: Vec<NotificationView>,
    pub has_next_page: bool,
    /// How many of the caller's notifications are unread (all pages).
    pub unread_count: i64,
}

/// How the mail outbox and the scheduler stand (no personal data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationStatus {
    pub outbox: OutboxStatus,
    pub deadlines: DeadlineStatus,
}

/// The user whose inbox it is: the platform has none.
fn recipient(caller: &Caller) -> AppResult<(&str, &str)> {
    caller
        .user_ids()
        .ok_or_else(|| AppError::forbidden("only users have notifications"))
}

impl App {
    /// The caller's notifications older than `before`, newest first (at most `limit`); only
    /// unread ones with `unread_only`.
    pub async fn notifications(
        &self,
        caller: &Caller,
        before: Option<&Cursor>,
        limit: usize,
        unread_only: bool,
        language: &Language,
    ) -> AppResult<NotificationPage> {
        let (user_id, authority_id) = recipient(caller)?;
        let page = inbox::user_notifications(
            &self.reads,
            user_id,
            authority_id,
            before,
            limit,
            unread_only,
        )
        .await
        .map_err(|e| AppError::database("reading notifications", &e))?;
        let unread_count = self.unread_notification_count(caller).await?;
        Ok(NotificationPage {
            notifications: page
                .items
                .into_iter()
                .map(|n| NotificationView::of(n, language))
                .collect(),
            has_next_page: page.has_more,
            unread_count,
        })
    }

    /// How many of the caller's notifications are unread.
    pub async fn unread_notification_count(&self, caller: &Caller) -> AppResult<i64> {
        let (user_id, authority_id) = recipient(caller)?;
        inbox::unread_count(&self.reads, user_id, authority_id)
            .await
            .map_err(|e| AppError::database("counting notifications", &e))
    }

    /// Marks the caller's notifications `ids` as read (ids the caller cannot see are ignored);
    /// returns how many were newly marked.
    pub async fn mark_notifications_read(&self, caller: &Caller, ids: &[String]) -> AppResult<u64> {
        let (user_id, authority_id) = recipient(caller)?;
        inbox::mark_read(&self.pool, user_id, authority_id, ids)
            .await
            .map_err(|e| AppError::database("marking notifications read", &e))
    }

    /// Where the caller's list ends now: a live stream that wants only new notifications
    /// starts after it.
    pub async fn latest_notification(&self, caller: &Caller) -> AppResult<Option<Cursor>> {
        let (user_id, authority_id) = recipient(caller)?;
        inbox::latest_cursor(&self.reads, user_id, authority_id)
            .await
            .map_err(|e| AppError::database("reading notifications", &e))
    }

    /// The caller's notifications after `after` (all when `None`), oldest first, at most
    /// `limit`: a live stream's next batch.
    pub async fn notifications_after(
        &self,
        caller: &Caller,
        after: Option<&Cursor>,
        limit: usize,
        language: &Language,
    ) -> AppResult<Vec<NotificationView>> {
        let (user_id, authority_id) = recipient(caller)?;
        let batch = inbox::stream_after(&self.reads, user_id, authority_id, after, limit)
            .await
            .map_err(|e| AppError::database("streaming notifications", &e))?;
        Ok(batch
            .into_iter()
            .map(|n| NotificationView::of(n, language))
            .collect())
    }

    /// The mail outbox and the scheduled deadlines, for data administrators only.
    pub async fn notification_status(&self, caller: &Caller) -> AppResult<NotificationStatus> {
        if !self.is_data_administrator(caller).await? {
            return Err(AppError::forbidden(STATUS_FOR_DATA_ADMINISTRATORS));
        }
        let outbox = imi_notify::status::outbox(&self.reads)
            .await
            .map_err(|e| AppError::database("reading the outbox status", &e))?;
        let deadlines = imi_projections::deadlines::status(&self.reads, self.clock.now())
            .await
            .map_err(|e| AppError::database("reading the deadlines", &e))?;
        Ok(NotificationStatus { outbox, deadlines })
    }
}
