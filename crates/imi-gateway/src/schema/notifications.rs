//! A user's notifications: the list (newest first, all or unread), the unread count, marking
//! as read, and a live subscription; and, for data administrators, the status of the mail
//! outbox and of the scheduled deadlines.
//!
//! Texts are rendered in the caller's language (English as the visible fallback). The live
//! stream follows the `notifications` projection's checkpoint, which every gateway process
//! watches through the database (LISTEN and polling), so each process delivers whatever
//! process wrote the event.

use super::relay::{decode_cursor, encode_cursor, page_size, PageInfo, DEFAULT_PAGE_SIZE};
use super::{data, request, services};
use crate::errors::{ApiError, Code};
use crate::live::ProjectionWatch;
use async_graphql::{Context, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures::stream::{self, Stream};
use imi_domain::reference::Language;
use imi_notify::texts;
use imi_projections::notifications::{self as inbox, Cursor};
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

impl Notification {
    fn of(n: inbox::Notification, language: &Language) -> Self {
        // The code is for the invited authority's mail only; in the app it is never shown.
        let text = texts::render(&n.kind, &n.params, language.code(), None);
        let cursor = encode_cursor(CURSOR_KIND, &n.cursor().encode());
        Self {
            id: ID(n.id),
            kind: n.kind,
            aggregate_type: n.aggregate_type,
            aggregate_id: ID(n.aggregate_id),
            subject: text.subject,
            body: text.body,
            language: text.language.to_string(),
            created_at: n.created_at,
            read: n.read,
            cursor,
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
        let principal = request(ctx)?.principal()?;
        let limit = page_size(first)? as usize;
        let language = language_arg(ctx, language)?;
        let before = match &after {
            Some(c) => Some(
                Cursor::decode(&decode_cursor(CURSOR_KIND, c)?)
                    .ok_or_else(|| ApiError::bad_input("invalid cursor"))?,
            ),
            None => None,
        };
        let pool = &services(ctx)?.pool;
        let page = inbox::user_notifications(
            pool,
            &principal.user_id,
            &principal.authority_id,
            before.as_ref(),
            limit,
            unread_only.unwrap_or(false),
        )
        .await
        .map_err(|e| ApiError::database("reading notifications", &e))?;
        let unread_count = inbox::unread_count(pool, &principal.user_id, &principal.authority_id)
            .await
            .map_err(|e| ApiError::database("counting notifications", &e))?;
        let edges: Vec<NotificationEdge> = page
            .items
            .into_iter()
            .map(|n| {
                let node = Notification::of(n, &language);
                NotificationEdge {
                    cursor: node.cursor.clone(),
                    node,
                }
            })
            .collect();
        Ok(NotificationConnection {
            page_info: PageInfo {
                has_next_page: page.has_more,
                has_previous_page: after.is_some(),
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
            unread_count,
        })
    }

    /// How many of the caller's notifications are unread.
    async fn unread_notification_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let principal = request(ctx)?.principal()?;
        Ok(inbox::unread_count(
            &services(ctx)?.pool,
            &principal.user_id,
            &principal.authority_id,
        )
        .await
        .map_err(|e| ApiError::database("counting notifications", &e))?)
    }

    /// The mail outbox and the scheduled deadlines. For data administrators (of IMI
    /// coordinators) only; it holds no personal data.
    async fn notification_status(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<NotificationStatus> {
        let services = services(ctx)?;
        if !super::app(ctx)?
            .is_data_administrator(&super::caller(ctx)?)
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::new(
                Code::Forbidden,
                "only data administrators of IMI coordinators see the notification status",
            )
            .into());
        }
        let outbox = imi_notify::status::outbox(&services.pool)
            .await
            .map_err(|e| ApiError::database("reading the outbox status", &e))?;
        let deadlines = imi_projections::deadlines::status(&services.pool, services.clock.now())
            .await
            .map_err(|e| ApiError::database("reading the deadlines", &e))?;
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
        let principal = request(ctx)?.principal()?;
        if ids.len() > MAX_MARK {
            return Err(
                ApiError::bad_input(format!("at most {MAX_MARK} notifications at once")).into(),
            );
        }
        let ids: Vec<String> = ids.into_iter().map(|id| id.0).collect();
        let marked = inbox::mark_read(
            &services(ctx)?.pool,
            &principal.user_id,
            &principal.authority_id,
            &ids,
        )
        .await
        .map_err(|e| ApiError::database("marking notifications read", &e))?;
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
        let language = language_arg(ctx, language)?;
        let pool = services(ctx)?.pool.clone();
        let mut checkpoint = data::<Arc<NotificationWatch>>(ctx)?.0.subscribe();
        checkpoint.borrow_and_update();
        let after = inbox::latest_cursor(&pool, &principal.user_id, &principal.authority_id)
            .await
            .map_err(|e| ApiError::database("reading notifications", &e))?;
        let live = Live {
            pool,
            user_id: principal.user_id.clone(),
            authority_id: principal.authority_id.clone(),
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
    pool: sqlx::PgPool,
    user_id: String,
    authority_id: String,
    language: Language,
    checkpoint: watch::Receiver<imi_store::feed::FeedPosition>,
    after: Option<Cursor>,
    expires_at: DateTime<Utc>,
    queue: VecDeque<inbox::Notification>,
}

impl Live {
    async fn next(mut self) -> Option<(Notification, Self)> {
        loop {
            if let Some(n) = self.queue.pop_front() {
                self.after = Some(n.cursor());
                let node = Notification::of(n, &self.language);
                return Some((node, self));
            }
            let until_expiry = (self.expires_at - Utc::now()).to_std().ok()?;
            tokio::select! {
                moved = self.checkpoint.changed() => moved.ok()?,
                _ = tokio::time::sleep(until_expiry) => return None,
            }
            match inbox::stream_after(
                &self.pool,
                &self.user_id,
                &self.authority_id,
                self.after.as_ref(),
                100,
            )
            .await
            {
                Ok(batch) => self.queue.extend(batch),
                Err(error) => {
                    tracing::warn!(%error, "notifications subscription: cannot read");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}
