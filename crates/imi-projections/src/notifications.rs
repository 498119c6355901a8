//! The notification outbox: every event IMI announces becomes one notification per recipient
//! (an authority, the holders of a role in it, or one user), with where its e-mail goes.
//!
//! The projection only says what is to be announced; it is rebuilt from the log like any
//! other. What happened to a notification since (mailed, read) is operational state kept
//! beside it in the public schema under the same deterministic id, so a rebuild never resends
//! a mail nor marks a read notification unread. Senders and the in-app stream follow the
//! rows in feed order (`xid`, `position`), the order they are applied in, so a reader that
//! remembers the last pair it saw misses nothing.
//!
//! Which events announce what to whom lives in [`announce`] (one function per aggregate type).

mod announce;
mod inbox;

pub use announce::kinds;
pub use inbox::{
    latest_cursor, mark_read, stream_after, unread_count, unread_count_sql, user_notifications,
    Cursor, Notification, UserNotifications,
};

use crate::fold::TypedSequences;
use crate::projection::{Projection, ProjectionError};
use crate::writes::Writes;
use chrono::{DateTime, Utc};
use imi_domain::sealed::Sealed;
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;
use std::collections::{BTreeMap, BTreeSet};

pub const NAME: &str = "notifications";

/// The aggregate types whose events may announce something; each one's sequence is checked.
pub const ANNOUNCING: [&str; 4] = ["Authority", "InformationRequest", "Alert", "SubjectRequest"];

pub struct Notifications;

/// Where a notification's e-mail goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTo {
    /// The sealed address the row carries (an invited authority has no users yet).
    Sealed,
    /// The recipient user's own address (from their sealed identity).
    User,
    /// The recipient authority's office address (its contact details).
    Authority,
    /// In-app only.
    None,
}

/// Who a notification is for and what it says, before it gets its id and position.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub kind: &'static str,
    pub recipient_authority: Option<String>,
    pub recipient_user: Option<String>,
    /// With `role`: only the holders of that role (in that area when given).
    pub area: Option<String>,
    pub role: Option<String>,
    pub email_to: EmailTo,
    pub email: Option<Sealed>,
    pub params: serde_json::Value,
}

impl Draft {
    /// To every user of `authority`, mailed to its office address.
    pub fn to_authority(kind: &'static str, authority: &str, params: serde_json::Value) -> Self {
        Self {
            kind,
            recipient_authority: Some(authority.to_string()),
            recipient_user: None,
            area: None,
            role: None,
            email_to: EmailTo::Authority,
            email: None,
            params,
        }
    }

    /// To one user of `authority`, mailed to the user.
    pub fn to_user(
        kind: &'static str,
        authority: &str,
        user: &str,
        params: serde_json::Value,
    ) -> Self {
        Self {
            recipient_user: Some(user.to_string()),
            email_to: EmailTo::User,
            ..Self::to_authority(kind, authority, params)
        }
    }

    /// Shown in the app only, never mailed.
    pub fn in_app_only(mut self) -> Self {
        self.email_to = EmailTo::None;
        self
    }

    /// Only the holders of `role` (in `area` when given); still mailed to the office address.
    pub fn for_role(mut self, area: Option<&str>, role: &str) -> Self {
        self.area = area.map(str::to_string);
        self.role = Some(role.to_string());
        self
    }
}

/// One row of `notifications`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub id: String,
    pub xid: i64,
    pub position: i64,
    pub kind: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub recipient_authority: Option<String>,
    pub recipient_user: Option<String>,
    pub area: Option<String>,
    pub role: Option<String>,
    pub email_to: EmailTo,
    pub email: Option<Sealed>,
    pub params: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// What an invitation left for later events (one row of `invitations`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvitationRow {
    pub authority_id: String,
    pub invited_by: String,
    pub email: Sealed,
}

/// Who a request involves (one row of `requests`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRow {
    pub request_id: String,
    pub area: String,
    pub requesting: String,
    pub responding: String,
    pub requesting_coordinator: String,
    pub responding_coordinator: Option<String>,
    /// Whether the request ever reached the responding side: until then nothing of it is
    /// announced there.
    pub dispatched: bool,
}

/// Who an alert involves (one row of `alerts`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub alert_id: String,
    pub initiating: String,
    pub coordinator: Option<String>,
    pub closing_coordinator: Option<String>,
    /// Every authority the alert reached: initiating, coordinators, postboxes, recipients.
    pub involved: Vec<String>,
}

impl AlertRow {
    pub fn involve(&mut self, authority: &str) {
        if !self.involved.iter().any(|a| a == authority) {
            self.involved.push(authority.to_string());
        }
    }
}

/// The batch's state the announcements read and change.
#[derive(Default)]
pub struct Memory {
    pub invitations: BTreeMap<String, InvitationRow>,
    pub requests: BTreeMap<String, RequestRow>,
    pub alerts: BTreeMap<String, AlertRow>,
    changed_invitations: BTreeSet<String>,
    changed_requests: BTreeSet<String>,
    changed_alerts: BTreeSet<String>,
}

impl Memory {
    pub fn remember_invitation(&mut self, row: InvitationRow) {
        self.changed_invitations.insert(row.authority_id.clone());
        self.invitations.insert(row.authority_id.clone(), row);
    }

    pub fn remember_request(&mut self, row: RequestRow) {
        self.changed_requests.insert(row.request_id.clone());
        self.requests.insert(row.request_id.clone(), row);
    }

    pub fn remember_alert(&mut self, row: AlertRow) {
        self.changed_alerts.insert(row.alert_id.clone());
        self.alerts.insert(row.alert_id.clone(), row);
    }

    /// Loads what the batch's aggregates left in earlier batches, and their sequences: one
    /// round trip.
    async fn load(
        db: &mut PgConnection,
        events: &[&FeedEvent],
    ) -> Result<(TypedSequences, Self), sqlx::Error> {
        let ids = |kind: &str| -> Vec<String> {
            events
                .iter()
                .filter(|e| e.aggregate_type == kind)
                .map(|e| e.aggregate_id.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        let (types, aggregate_ids) = TypedSequences::keys(events);
        let rows = |select: &str| format!("(SELECT coalesce(jsonb_agg({select}), '[]')");
        let (sequences, invitations, requests, alerts): (Value, Value, Value, Value) =
            sqlx::query_as(&format!(
                "SELECT ({}),
                        {} FROM invitations i WHERE authority_id = ANY($3)),
                        {} FROM requests r WHERE request_id = ANY($4)),
                        {} FROM alerts a WHERE alert_id = ANY($5))",
                TypedSequences::SELECT_JSON,
                rows("to_jsonb(i)"),
                rows("to_jsonb(r)"),
                rows("to_jsonb(a)"),
            ))
            .bind(&types)
            .bind(&aggregate_ids)
            .bind(ids("Authority"))
            .bind(ids("InformationRequest"))
            .bind(ids("Alert"))
            .fetch_one(&mut *db)
            .await?;
        let mut memory = Memory::default();
        for row in crate::fold::decode::<Vec<InvitationRow>>(invitations)? {
            memory.invitations.insert(row.authority_id.clone(), row);
        }
        for row in crate::fold::decode::<Vec<RequestRow>>(requests)? {
            memory.requests.insert(row.request_id.clone(), row);
        }
        for row in crate::fold::decode::<Vec<AlertRow>>(alerts)? {
            memory.alerts.insert(row.alert_id.clone(), row);
        }
        Ok((TypedSequences::from_json(sequences)?, memory))
    }

    /// Writes back what the batch changed.
    fn store(&self, writes: &mut Writes) -> Result<(), sqlx::Error> {
        let changed: Vec<String> = self.changed_invitations.iter().cloned().collect();
        let rows: Vec<&InvitationRow> = changed
            .iter()
            .filter_map(|id| self.invitations.get(id))
            .collect();
        writes.replace("invitations", "authority_id", &changed, &rows)?;
        let changed: Vec<String> = self.changed_requests.iter().cloned().collect();
        let rows: Vec<&RequestRow> = changed
            .iter()
            .filter_map(|id| self.requests.get(id))
            .collect();
        writes.replace("requests", "request_id", &changed, &rows)?;
        let changed: Vec<String> = self.changed_alerts.iter().cloned().collect();
        let rows: Vec<&AlertRow> = changed
            .iter()
            .filter_map(|id| self.alerts.get(id))
            .collect();
        writes.replace("alerts", "alert_id", &changed, &rows)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Projection for Notifications {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        3
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/notifications.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&ANNOUNCING)
    }

    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let events: Vec<&FeedEvent> = events
            .iter()
            .filter(|e| ANNOUNCING.contains(&e.aggregate_type.as_str()))
            .collect();
        if events.is_empty() {
            return Ok(Writes::default());
        }
        let (mut sequences, mut memory) = Memory::load(db, &events).await?;
        let mut rows = Vec::new();
        for e in events {
            sequences.check(e)?;
            let drafts = announce::announce(e, &mut memory)?;
            rows.extend(drafts.into_iter().enumerate().map(|(n, d)| Row {
                id: format!("{}/{}/{}/{n}", e.aggregate_type, e.aggregate_id, e.sequence),
                xid: e.at.xid,
                position: e.at.position,
                kind: d.kind.to_string(),
                aggregate_type: e.aggregate_type.clone(),
                aggregate_id: e.aggregate_id.clone(),
                recipient_authority: d.recipient_authority,
                recipient_user: d.recipient_user,
                area: d.area,
                role: d.role,
                email_to: d.email_to,
                email: d.email,
                params: d.params,
                created_at: e.recorded_at,
            }));
        }
        let mut writes = Writes::default();
        writes.insert("notifications", &rows)?;
        memory.store(&mut writes)?;
        writes.typed_sequences(&sequences);
        Ok(writes)
    }
}
