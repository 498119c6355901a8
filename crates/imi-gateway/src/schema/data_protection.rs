//! The processing log for data protection officers: `processingLog(exchange:, user:, from:,
//! to:)`, a Relay page of the entries by users of the officer's Member State. The use case
//! decides who may (`imi_app::data_protection`); FORBIDDEN for everyone else.

use super::relay::{decode_number_cursor, encode_cursor, page_size, PageInfo};
use super::{app, caller};
use crate::errors::ApiError;
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use imi_app::data_protection::LogQuery;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Default)]
pub struct DataProtectionQuery;

/// One processing of personal data: which exchange's data, which fields, at which view level,
/// by whom and for which operation (the purpose). No personal data.
#[derive(SimpleObject)]
pub struct ProcessingLogEntry {
    pub id: ID,
    pub at: DateTime<Utc>,
    /// The exchange's key: `InformationRequest/<id>`, `Alert/<id>`, `User/<id>`.
    pub exchange: String,
    /// The entry's place in its exchange's chain.
    pub sequence: i64,
    /// `read` or `write`.
    pub kind: String,
    pub operation: String,
    pub fields: Vec<String>,
    pub level: Option<String>,
    /// `user:<id>`.
    pub acting_user: String,
    pub acting_authority: Option<ID>,
}

#[derive(SimpleObject)]
pub struct ProcessingLogEdge {
    pub cursor: String,
    pub node: ProcessingLogEntry,
}

#[derive(SimpleObject)]
pub struct ProcessingLogConnection {
    pub edges: Vec<ProcessingLogEdge>,
    pub page_info: PageInfo,
}

const CURSOR: &str = "ProcessingLogEntry";

#[Object]
impl DataProtectionQuery {
    /// The processing log of the caller's Member State (entries by users of its authorities),
    /// oldest first; for its data protection officers only.
    #[allow(clippy::too_many_arguments)]
    async fn processing_log(
        &self,
        ctx: &Context<'_>,
        exchange: Option<String>,
        user: Option<ID>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<ProcessingLogConnection> {
        let first = page_size(first)?;
        let after = decode_number_cursor(CURSOR, after.as_deref())?;
        let page = app(ctx)?
            .processing_log(
                &caller(ctx)?,
                LogQuery {
                    exchange,
                    user: user.map(|u| u.0),
                    from,
                    to,
                    after,
                    first,
                },
            )
            .await?;
        let edges: Vec<ProcessingLogEdge> = page
            .entries
            .into_iter()
            .map(|e| ProcessingLogEdge {
                cursor: encode_cursor(CURSOR, &e.id.to_string()),
                node: ProcessingLogEntry {
                    id: ID(e.id.to_string()),
                    at: e.at,
                    exchange: e.exchange,
                    sequence: e.sequence,
                    kind: e.kind,
                    operation: e.operation,
                    fields: e.fields,
                    level: e.level,
                    acting_user: e.acting_user,
                    acting_authority: e.acting_authority.map(ID),
                },
            })
            .collect();
        Ok(ProcessingLogConnection {
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
