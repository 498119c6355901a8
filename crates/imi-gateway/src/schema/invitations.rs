//! The invitations a coordinator sent: pending, expired or used, with where the code went.
//! For the data administrators of the inviting coordinator only (they chose the address).

use super::model::AuthorityKind;
use super::relay::{decode_cursor, encode_cursor, page_size, PageInfo, DEFAULT_PAGE_SIZE};
use super::{app, caller};
use crate::errors::ApiError;
use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use imi_app::invitations::InvitationState as State;

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
        let caller = caller(ctx)?;
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
        let page = app(ctx)?
            .invitations(&caller, state.map(State::from), after.clone(), limit)
            .await
            .map_err(ApiError::from)?;
        let has_next_page = page.has_next_page;
        let edges: Vec<InvitationEdge> = page
            .invitations
            .into_iter()
            .map(|view| InvitationEdge {
                cursor: encode_cursor(
                    CURSOR_KIND,
                    &format!("{}|{}", view.invited_at.to_rfc3339(), view.authority_id),
                ),
                node: Invitation {
                    state: view.state.into(),
                    authority_id: ID(view.authority_id),
                    kind: view.kind.into(),
                    member_state: view.member_state,
                    region: view.region,
                    areas: view.areas,
                    contact_email: view.contact_email,
                    invited_at: view.invited_at,
                    renewals: view.renewals,
                    renewed_at: view.renewed_at,
                    expires_at: view.expires_at,
                    registered_at: view.registered_at,
                },
            })
            .collect();
        Ok(InvitationConnection {
            page_info: PageInfo::of(
                has_next_page,
                after.is_some(),
                edges.first().map(|e| &e.cursor),
                edges.last().map(|e| &e.cursor),
            ),
            edges,
        })
    }
}
