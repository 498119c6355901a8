//! Exchanges' histories for auditors: `exchangeHistory(exchange:)`, a Relay page of every event
//! of an exchange in which an authority of the auditor's Member State took part, with who
//! acted and the hash chain, personal data sealed. The use case decides who may
//! (`imi_app::history`).

use super::relay::{decode_number_cursor, encode_cursor, page_size, PageInfo};
use super::{app, caller};
use crate::errors::ApiError;
use async_graphql::{Context, Json, Object, SimpleObject, ID};
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

#[Object]
impl HistoryQuery {
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
            page_info: PageInfo {
                has_next_page: page.has_next_page,
                has_previous_page: after.is_some(),
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }
}
