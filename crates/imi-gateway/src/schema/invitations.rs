//! The invitations a coordinator sent: pending, expired or used, with where the code went.
//! For the data administrators of the inviting coordinator only (they chose the address).

use super::model::AuthorityKind;
use super::relay::{decode_cursor, encode_cursor, page_size, PageInfo, DEFAULT_PAGE_SIZE};
use super::{request, services};
use crate::errors::{ApiError, Code};
use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use imi_projections::invitations::{self, InvitationState as State};

const CURSOR_KIND: &str = "Invitation";

#[derive(Default)]
pub struct InvitationsQuery;

/// Where an invitation to register stands.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationState {
    /// Sent; the code is still valid.
    Pending,
    /// The code expired unused; renew the invitation to send a fresh one.
    Expired,
    /// The authority registered itself with the code.
    Registered,
}

impl From<State> for InvitationState {
    fn from(s: State) -> Self {
        match s {
            State::Pending => Self::Pending,
            State::Expired => Self::Expired,
            State::Registered => Self::Registered,
        }
    }
}

impl From<InvitationState> for State {
    fn from(s: InvitationState) -> Self {
        match s {
            InvitationState::Pending => Self::Pending,
            InvitationState::Expired => Self::Expired,
            InvitationState::Registered => Self::Registered,
        }
    }
}

/// An invitation to register, as the inviting coordinator sees it.
#[derive(SimpleObject)]
pub struct Invitation {
    pub authority_id: ID,
    pub kind: AuthorityKind,
    pub member_state: String,
    pub region: Option<String>,
    /// The legislative areas it was invited to.
    pub areas: Vec<String>,
    /// Where the registration code was sent; null once the authority's data was erased.
    pub contact_email: Option<String>,
    pub invited_at: DateTime<Utc>,
    pub renewals: i32,
    pub renewed_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub state: InvitationState,
    pub registered_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct InvitationEdge {
    pub cursor: String,
    pub node: Invitation,
}

/// A page of invitations, newest first (a Relay connection).
#[derive(SimpleObject)]
pub struct InvitationConnection {
    pub edges: Vec<InvitationEdge>,
    pub page_info: PageInfo,
}

#[Object]
impl InvitationsQuery {
    /// The invitations the caller's authority sent, newest first, in `state` when given. For
    /// its data administrators.
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        state: Option<InvitationState>,
        #[graphql(default_with = "DEFAULT_PAGE_SIZE")] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<InvitationConnection> {
        let principal = request(ctx)?.principal()?;
        let services = services(ctx)?;
        let limit = page_size(first)?;
        let after = match &after {
            Some(cursor) => {
                let key = decode_cursor(CURSOR_KIND, cursor)?;
                let (at, id) = key
                    .split_once('|')
                    .and_then(|(at, id)| Some((at.parse::<DateTime<Utc>>().ok()?, id)))
                    .ok_or_else(|| ApiError::bad_input("invalid cursor"))?;
                Some((at, id.to_string()))
            }
            None => None,
        };
        if !super::app(ctx)?
            .is_data_administrator(&super::caller(ctx)?)
            .await
            .map_err(ApiError::from)?
        {
            return Err(ApiError::new(
                Code::Forbidden,
                "only the data administrators of the inviting coordinator see its invitations",
            )
            .into());
        }
        let now = services.clock.now();
        let mut rows = invitations::sent_by(
            &services.pool,
            &principal.authority_id,
            state.map(State::from),
            now,
            after.clone(),
            limit,
        )
        .await
        .map_err(|e| ApiError::database("reading invitations", &e))?;
        let has_next_page = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let sealed: Vec<_> = rows.iter().map(|r| r.contact_email.clone()).collect();
        let opened = services
            .app
            .open_texts(&super::caller(ctx)?, "invitations", "contactEmail", &sealed)
            .await
            .map_err(ApiError::from)?;
        let mut edges = Vec::with_capacity(rows.len());
        for (row, email) in rows.into_iter().zip(opened) {
            let cursor = encode_cursor(
                CURSOR_KIND,
                &format!("{}|{}", row.invited_at.to_rfc3339(), row.authority_id),
            );
            edges.push(InvitationEdge {
                cursor,
                node: Invitation {
                    state: row.state_at(now).into(),
                    authority_id: ID(row.authority_id),
                    kind: row.kind.into(),
                    member_state: row.member_state,
                    region: row.region,
                    areas: row.areas,
                    contact_email: email,
                    invited_at: row.invited_at,
                    renewals: row.renewals,
                    renewed_at: row.renewed_at,
                    expires_at: row.expires_at,
                    registered_at: row.registered_at,
                },
            });
        }
        Ok(InvitationConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page: after.is_some(),
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }
}
