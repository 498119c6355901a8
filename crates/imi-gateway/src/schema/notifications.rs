//! A user's notifications: the list (newest first, all or unread), the unread count, marking
//! as read, and a live subscription; and, for data administrators, the status of the mail
//! outbox and of the scheduled deadlines.
//!
//! Texts are rendered in the caller's language (English as the visible fallback). The live
//! stream follows the `notifications` projection's checkpoint, which every gateway process
//! watches through the database (LISTEN and polling), so each process delivers whatever
//! process wrote the event.

use super::relay::{decode_cursor, encode_cursor, page_size, PageInfo, DEFAULT_PAGE_SIZE};
use super::{app, caller, data, request};
use crate::errors::ApiError;
use crate::live::ProjectionWatch;
use async_graphql::{Context, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures::stream::{self, Stream};
use imi_app::notifications::{Cursor, NotificationView};
use imi_domain::reference::Language;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The `notifications` projection's checkpoint, for the live stream.
pub struct NotificationWatch(pub ProjectionWatch);

/// Most ids one `markNotificationsRead` takes.
pub const MAX_MARK: usize = 500;

const CURSOR_KIND: &str = "Notification";

#[derive(Default)]
pub struct NotificationsQuery;

#[derive(Default)]
pub struct NotificationsMutation;

#[derive(Default)]
pub struct NotificationsSubscription;

/// Something IMI announced to the caller.
#[derive(SimpleObject, Clone)]
pub struct Notification {
    pub id: ID,
    /// `registration_code`, `awaiting_validation`, `authority_validated`, ...
    pub kind: String,
    /// What it is about: `Authority`, `InformationRequest`, `Alert`, and its id.
    pub aggregate_type: String,
    pub aggregate_id: ID,
    /// In the caller's language.
    pub subject: String,
    pub body: String,
    /// The language of `subject` and `body` (English when the caller's is not written yet).
    pub language: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
    /// Where this notification stands in the caller's list (a connection cursor).
    pub cursor: String,
}

impl From<NotificationView> for Notification {
    fn from(n: NotificationView) -> Self {
        Self {
            cursor: encode_cursor(CURSOR_KIND, &n.cursor.encode()),
            id: ID(n.id),
            kind: n.kind,
            aggregate_type: n.aggregate_type,
            aggregate_id: ID(n.aggregate_id),
            subject: n.subject,
            body: n.body,
            language: n.language,
            created_at: n.created_at,
            read: n.read,
        }
    }
}

#[derive(SimpleObject)]
pub struct NotificationEdge {
    pub cursor: String,
    pub node: Notification,
}

/// A page of notifications, newest first (a Relay connection).
#[derive(SimpleObject)]
pub struct NotificationConnection {
    pub edges: Vec<NotificationEdge>,
    pub page_info: PageInfo,
    /// How many of the caller's notifications are unread (all pages).
    pub unread_count: i64,
}

/// How the mail outbox and the scheduler stand.
#[derive(SimpleObject)]
pub struct NotificationStatus {
    /// Notifications with mail no sender has claimed yet.
    pub pending: i64,
    pub sending: i64,
    pub retrying: i64,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
    /// The latest failures: notification id and error.
    pub recent_failures: Vec<DeliveryFailure>,
    /// Time rules pending and not yet due.
    pub deadlines_scheduled: i64,
    /// Time rules due that the scheduler has not acted on yet.
    pub deadlines_due: i64,
    pub deadlines_done: i64,
    /// Rules the aggregate refused when they fell due (they no longer applied).
    pub deadlines_refused: i64,
    pub next_deadline_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct DeliveryFailure {
    pub notification_id: ID,
    pub error: String,
}

fn language_arg(ctx: &Context<'_>, language: Option<String>) -> Result<Language, ApiError> {
    match language {
        Some(code) => Language::parse(code.trim())
            .map_err(|_| ApiError::bad_input(format!("unknown language code {code:?}"))),
        None => Ok(request(ctx)?.language.clone()),
    }
}

#[Object]
impl NotificationsQuery {
    /// The caller's notifications, newest first; only unread ones with `unreadOnly`.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "DEFAULT_PAGE_SIZE")] first: i32,
        after: Option<String>,
        unread_only: Option<bool>,
        language: Option<String>,
    ) -> async_graphql::Result<NotificationConnection> {
        let caller = caller(ctx)?;
        let limit = page_size(first)? as usize;
        let language = language_arg(ctx, language)?;
        let before = match &after {
            Some(c) => Some(
                Cursor::decode(&decode_cursor(CURSOR_KIND, c)?)
                    .ok_or_else(|| ApiError::bad_input("invalid cursor"))?,
            ),
            None => None,
        };
        let page = app(ctx)?
            .notifications(
                &caller,
                before.as_ref(),
                limit,
                unread_only.unwrap_or(false),
                &language,
            )
            .await
            .map_err(ApiError::from)?;
        let unread_count = page.unread_count;
        let edges: Vec<NotificationEdge> = page
            .notifications
            .into_iter()
            .map(|n| {
                let node = Notification::from(n);
                NotificationEdge {
                    cursor: node.cursor.clone(),
                    node,
                }
            })
            .collect();
        Ok(NotificationConnection {
            page_info: PageInfo::of(
                page.has_next_page,
                after.is_some(),
                edges.first().map(|e| &e.cursor),
                edges.last().map(|e| &e.cursor),
            ),
            edges,
            unread_count,
        })
    }

    /// How many of the caller's notifications are unread.
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(app(ctx)?
            .unread_notification_count(&caller(ctx)?)
            .await
            .map_err(ApiError::from)?)
    }

    /// The mail outbox and the scheduled deadlines. For data administrators (of IMI
    /// coordinators) only; it holds no personal data.
    async fn notification_status(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<NotificationStatus> {
        let status = app(ctx)?
            .notification_status(&caller(ctx)?)
            .await
            .map_err(ApiError::from)?;
        let (outbox, deadlines) = (status.outbox, status.deadlines);
        Ok(NotificationStatus {
            pending: outbox.pending,
            sending: outbox.sending,
            retrying: outbox.retrying,
            sent: outbox.sent,
            failed: outbox.failed,
            skipped: outbox.skipped,
            oldest_pending_at: outbox.oldest_pending_at,
            recent_failures: outbox
                .recent_failures
                .into_iter()
                .map(|(id, error)| DeliveryFailure {
                    notification_id: ID(id),
                    error,
                })
                .collect(),
            deadlines_scheduled: deadlines.scheduled,
            deadlines_due: deadlines.due,
            deadlines_done: deadlines.done,
            deadlines_refused: deadlines.refused,
            next_deadline_at: deadlines.next_due_at,
        })
    }
}

#[Object]
impl NotificationsMutation {
    /// Marks the caller's notifications `ids` as read (ids the caller cannot see are ignored).
    /// Returns how many were newly marked.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<i32> {
        let caller = caller(ctx)?;
        if ids.len() > MAX_MARK {
            return Err(
                ApiError::bad_input(format!("at most {MAX_MARK} notifications at once")).into(),
            );
        }
        let ids: Vec<String> = ids.into_iter().map(|id| id.0).collect();
        let marked = app(ctx)?
            .mark_notifications_read(&caller, &ids)
            .await
            .map_err(ApiError::from)?;
        Ok(marked as i32)
    }
}

#[Subscription]
impl NotificationsSubscription {
    /// The caller's new notifications, live, as they are announced (in any gateway process).
    /// Needs a token in the websocket's `connection_init` payload; ends when it expires.
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        language: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = Notification>> {
        let principal = request(ctx)?.principal()?;
        let caller = caller(ctx)?;
        let language = language_arg(ctx, language)?;
        let app = app(ctx)?.clone();
        let mut checkpoint = data::<Arc<NotificationWatch>>(ctx)?.0.subscribe();
        checkpoint.borrow_and_update();
        let after = app
            .latest_notification(&caller)
            .await
            .map_err(ApiError::from)?;
        let live = Live {
            _open: data::<crate::metrics::Metrics>(ctx)?.subscription_opened(),
            app,
            caller,
            language,
            checkpoint,
            after,
            expires_at: principal.expires_at,
            queue: VecDeque::new(),
        };
        Ok(stream::unfold(live, Live::next))
    }
}

/// The state of one `notifications` subscription.
struct Live {
    _open: crate::metrics::SubscriptionOpen,
    app: imi_app::App,
    caller: imi_app::Caller,
    language: Language,
    checkpoint: watch::Receiver<crate::live::Position>,
    after: Option<Cursor>,
    expires_at: DateTime<Utc>,
    queue: VecDeque<NotificationView>,
}

impl Live {
    async fn next(mut self) -> Option<(Notification, Self)> {
        loop {
            if let Some(n) = self.queue.pop_front() {
                self.after = Some(n.cursor.clone());
                return Some((Notification::from(n), self));
            }
            let until_expiry = (self.expires_at - Utc::now()).to_std().ok()?;
            tokio::select! {
                moved = self.checkpoint.changed() => moved.ok()?,
                _ = tokio::time::sleep(until_expiry) => return None,
            }
            match self
                .app
                .notifications_after(&self.caller, self.after.as_ref(), 100, &self.language)
                .await
            {
                Ok(batch) => self.queue.extend(batch),
                Err(error) => {
                    tracing::warn!(?error, "notifications subscription: cannot read");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}
