//! What awaits each authority's (and, where a request is assigned, each user's) action on
//! information requests, derived from each request's summary after every batch.

use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::request_fold::fold_requests;
use crate::writes::Writes;
use chrono::{DateTime, NaiveDate, Utc};
use imi_domain::request::{RequestStatus, RequestSummary};
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};

pub const NAME: &str = "request_inbox";

pub struct RequestInbox;

/// One action awaiting an authority on a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxItem {
    pub request_id: String,
    pub authority_id: String,
    /// `send`, `approve-request`, `accept`, `agree-answer-date`, `reply`, `approve-reply`,
    /// `review-reply`, `referral`.
    pub action: String,
    /// The users it is assigned to; empty: any user of the authority with the needed role.
    pub users: Vec<String>,
    pub area: String,
    pub due_date: Option<NaiveDate>,
    pub since: DateTime<Utc>,
}

/// The actions awaiting someone on the request `s` describes.
pub fn items(s: &RequestSummary) -> Vec<InboxItem> {
    use RequestStatus as S;
    let item = |authority: &str, action: &str, users: Vec<String>| InboxItem {
        request_id: s.request_id.clone(),
        authority_id: authority.to_string(),
        action: action.to_string(),
        users,
        area: s.area.code().to_string(),
        due_date: s.dispatched().then(|| s.due_date()),
        since: s.dates.last_activity_at,
    };
    let requesting = &s.requesting.authority_id;
    let responding = &s.responding.authority_id;
    let req_handlers: Vec<String> = s.requesting_handlers.iter().cloned().collect();
    let resp_handlers: Vec<String> = s.responding_handlers.iter().cloned().collect();
    let mut out = Vec::new();
    match s.status {
        S::Draft => out.push(item(requesting, "send", req_handlers.clone())),
        S::AwaitingApproval => out.push(item(&s.requesting_coordinator, "approve-request", vec![])),
        S::Sent => out.push(item(responding, "accept", resp_handlers)),
        S::Accepted | S::PartiallyAnswered | S::AdditionalInformationRequested => {
            match (&s.responding_coordinator, s.reply_awaiting_approval) {
                (Some(c), true) => out.push(item(c, "approve-reply", vec![])),
                _ => out.push(item(responding, "reply", resp_handlers)),
            }
        }
        S::Answered => out.push(item(requesting, "review-reply", req_handlers.clone())),
        S::InReferral => {
            if let Some(referral) = &s.referral {
                for c in s.referral_coordinators() {
                    let waiting = match referral.participation.get(c) {
                        None => true,
                        Some(true) => !referral.opinions.contains(c),
                        Some(false) => false,
                    };
                    if waiting {
                        out.push(item(c, "referral", vec![]));
                    }
                }
            }
        }
        S::Closed | S::Withdrawn => {}
    }
    if !s.status.ended() && s.dates.counter_proposed_answer_date.is_some() {
        out.push(item(requesting, "agree-answer-date", req_handlers));
    }
    out
}

#[async_trait::async_trait]
impl Projection for RequestInbox {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        2
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/request_inbox.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[crate::request_fold::REQUEST])
    }

    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let mut writes = Writes::default();
        let touched = fold_requests(db, events, &mut writes).await?;
        if touched.is_empty() {
            return Ok(Writes::default());
        }
        let ids: Vec<String> = touched.keys().cloned().collect();
        let rows: Vec<InboxItem> = touched
            .values()
            .filter_map(|t| t.summary())
            .flat_map(|s| items(&s))
            .collect();
        writes.replace("items", "request_id", &ids, &rows)?;
        Ok(writes)
    }
}

/// An item's place in an inbox's order (oldest first): where the next page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxKey {
    pub since: DateTime<Utc>,
    pub request_id: String,
    pub action: String,
}

impl InboxKey {
    /// `since` in microseconds (the column's precision), the request and the action.
    pub fn encode(&self) -> String {
        format!(
            "{}|{}|{}",
            self.since.timestamp_micros(),
            self.action,
            self.request_id
        )
    }

    /// The key [`encode`](Self::encode) wrote, or `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '|');
        let since = DateTime::from_timestamp_micros(parts.next()?.parse().ok()?)?;
        let action = parts.next()?.to_string();
        let request_id = parts.next()?.to_string();
        Some(Self {
            since,
            request_id,
            action,
        })
    }
}

impl InboxItem {
    pub fn key(&self) -> InboxKey {
        InboxKey {
            since: self.since,
            request_id: self.request_id.clone(),
            action: self.action.clone(),
        }
    }
}

/// What awaits `authority_id`; with `user_id`, only what is assigned to that user or to no
/// one in particular. Oldest first, the `limit` items after `after`.
pub async fn of_authority<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
    user_id: Option<&str>,
    after: Option<&InboxKey>,
    limit: i64,
) -> Result<Vec<InboxItem>, sqlx::Error> {
    // The texts compare byte by byte (the table's collation, whatever the database's): the
    // keyset comparison and the order agree. The page is chosen before its rows become JSON: a
    // busy authority's inbox holds thousands of items, and turning each into JSON before the
    // sort took 8 ms of the query's 8.5 at scale 1.0 (docs/BENCHMARKS.md).
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(i) FROM (
           SELECT * FROM {NAME}.items
            WHERE authority_id = $1
              AND ($2::text IS NULL OR cardinality(users) = 0 OR $2 = ANY(users))
              AND ($3::timestamptz IS NULL
                   OR (since, request_id, action) > ($3, $4, $5))
            ORDER BY since, request_id, action
            LIMIT $6) i
          ORDER BY since, request_id, action"
    ))
    .bind(authority_id)
    .bind(user_id)
    .bind(after.map(|k| k.since))
    .bind(after.map(|k| k.request_id.as_str()))
    .bind(after.map(|k| k.action.as_str()))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(fold::decode).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_back_as_written_and_nothing_else_reads_as_a_key() {
        let key = InboxKey {
            since: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            request_id: "r|with|bars".into(),
            action: "approve-reply".into(),
        };
        assert_eq!(InboxKey::decode(&key.encode()), Some(key));
        for bad in ["", "x|reply|r", "12", "12|reply"] {
            assert_eq!(InboxKey::decode(bad), None, "{bad}");
        }
    }
}
