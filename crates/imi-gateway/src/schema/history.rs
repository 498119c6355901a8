//! Exchanges' histories for auditors: `exchangeHistory(exchange:)`, a Relay page of every event
//! of an exchange in which an authority of the auditor's Member State took part, with who
//! acted and the hash chain, personal data sealed; `exchangeDiff(exchange:, from:, to:)`, what
//! changed between two points of the log; and the `AsOf` input the single-item queries take.
//! The use cases decide who may (`imi_app::history`, `imi_app::as_of`).

use super::relay::{decode_number_cursor, encode_cursor, page_size, PageInfo};
use super::{app, caller};
use crate::errors::ApiError;
use async_graphql::{Context, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Default)]
pub struct HistoryQuery;

/// One event of an exchange's history.
#[derive(SimpleObject)]
pub struct HistoryEvent {
    /// Its place in the global feed.
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: ID,
    /// Its place in its aggregate's chain, from 1.
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// The event as recorded; each sealed value (personal data) shows as `{"sealed": key}`.
    pub payload: Json<serde_json::Value>,
    /// `user:<id>` or `system:<process>`.
    pub acting_user: Option<String>,
    pub acting_authority: Option<ID>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub recorded_at: DateTime<Utc>,
    /// The hash of the aggregate's previous event (hex); null for its first.
    pub prev_hash: Option<String>,
    /// sha256 over the previous hash and the event (hex; docs/AUDIT.md).
    pub hash: String,
}

#[derive(SimpleObject)]
pub struct HistoryEdge {
    pub cursor: String,
    pub node: HistoryEvent,
}

#[derive(SimpleObject)]
pub struct HistoryConnection {
    pub edges: Vec<HistoryEdge>,
    pub page_info: PageInfo,
}

const CURSOR: &str = "HistoryEvent";

/// A point of the log: exactly one of `position` (a feed position, as `exchangeHistory`
/// shows; the events at or before it) or `at` (an RFC 3339 time; the events recorded at or
/// before it). A position beyond the log's last is BAD_USER_INPUT (reason BEYOND_FEED), a
/// malformed time too (reason MALFORMED_TIME).
#[derive(InputObject, Clone, Debug)]
pub struct AsOf {
    pub position: Option<i64>,
    pub at: Option<String>,
}

impl AsOf {
    pub fn point(&self) -> Result<imi_app::as_of::AsOf> {
        Ok(imi_app::as_of::point(self.position, self.at.as_deref())?)
    }
}

/// One field of the caller's view that differs between the two points.
#[derive(SimpleObject)]
pub struct FieldChange {
    /// `status`, `content.questions[0].answer`, …
    pub path: String,
    /// Null: not shown (or absent) then.
    pub before: Option<Json<serde_json::Value>>,
    pub after: Option<Json<serde_json::Value>>,
}

/// An event recorded between the two points.
#[derive(SimpleObject)]
pub struct ChangeEvent {
    pub position: i64,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub recorded_at: DateTime<Utc>,
    /// `user:<id>` or `system:<process>`.
    pub acting_user: Option<String>,
    pub acting_authority: Option<ID>,
}

/// What changed in an exchange between two points, at the caller's level.
#[derive(SimpleObject)]
pub struct ExchangeDiff {
    pub fields: Vec<FieldChange>,
    /// The events after `from` up to `to` the caller may know of: the steps (history entries)
    /// its view at `to` shows; for an auditor, every event of the exchange.
    pub events: Vec<ChangeEvent>,
}

#[Object]
impl HistoryQuery {
    /// What changed in `exchange` (`InformationRequest/<id>`, `Alert/<id>`) after `from` up to
    /// `to`, as the caller's view shows it: for the participants who may see it (at the lower
    /// of their level now and then) and auditors of a Member State that took part (no
    /// personal data); NOT_FOUND otherwise, as for an unknown exchange.
    async fn exchange_diff(
        &self,
        ctx: &Context<'_>,
        exchange: String,
        from: AsOf,
        to: AsOf,
    ) -> Result<ExchangeDiff> {
        let diff = app(ctx)?
            .exchange_diff(&caller(ctx)?, &exchange, from.point()?, to.point()?)
            .await?;
        Ok(ExchangeDiff {
            fields: diff
                .fields
                .into_iter()
                .map(|f| FieldChange {
                    path: f.path,
                    before: f.before.map(Json),
                    after: f.after.map(Json),
                })
                .collect(),
            events: diff
                .events
                .into_iter()
                .map(|e| ChangeEvent {
                    position: e.position,
                    sequence: e.sequence,
                    event_type: e.event_type,
                    event_version: e.event_version,
                    recorded_at: e.recorded_at,
                    acting_user: e.acting_user,
                    acting_authority: e.acting_authority.map(ID),
                })
                .collect(),
        })
    }

    /// The history of `exchange` (`InformationRequest/<id>`, `Alert/<id>`, `Authority/<id>`),
    /// oldest first: its events and those the same commands recorded on authorities of the
    /// caller's Member State. For auditors of a Member State that took part; NOT_FOUND for an
    /// exchange it took no part in, as for an unknown one.
    async fn exchange_history(
        &self,
        ctx: &Context<'_>,
        exchange: String,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<HistoryConnection> {
        let first = page_size(first)?;
        let after = decode_number_cursor(CURSOR, after.as_deref())?;
        let page = app(ctx)?
            .exchange_history(&caller(ctx)?, &exchange, after, first)
            .await?;
        let edges: Vec<HistoryEdge> = page
            .entries
            .into_iter()
            .map(|e| HistoryEdge {
                cursor: encode_cursor(CURSOR, &e.position.to_string()),
                node: HistoryEvent {
                    position: e.position,
                    aggregate_type: e.aggregate_type,
                    aggregate_id: ID(e.aggregate_id),
                    sequence: e.sequence,
                    event_type: e.event_type,
                    event_version: e.event_version,
                    payload: Json(e.payload),
                    acting_user: e.acting_user,
                    acting_authority: e.acting_authority.map(ID),
                    correlation_id: e.correlation_id,
                    causation_id: e.causation_id,
                    recorded_at: e.recorded_at,
                    prev_hash: e.prev_hash,
                    hash: e.hash,
                },
            })
            .collect();
        Ok(HistoryConnection {
            page_info: PageInfo::of(
                page.has_next_page,
                after.is_some(),
                edges.first().map(|e| &e.cursor),
                edges.last().map(|e| &e.cursor),
            ),
            edges,
        })
    }
}
