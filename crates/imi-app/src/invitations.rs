//! The invitations a coordinator sent: pending, expired or used, with the address the code
//! went to. For the data administrators of the inviting coordinator only (they chose the
//! address); the address is opened for them and the reading recorded.

use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::App;
use chrono::{DateTime, Utc};
use imi_domain::authority::AuthorityKind;
use imi_projections::invitations;

pub use imi_projections::invitations::InvitationState;

/// Refused to a caller who is not a data administrator of the inviting coordinator.
pub const FOR_DATA_ADMINISTRATORS: &str =
    "only the data administrators of the inviting coordinator see its invitations";

/// An invitation to register, as the inviting coordinator reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct InvitationView {
    pub authority_id: String,
    pub kind: AuthorityKind,
    pub member_state: String,
    pub region: Option<String>,
    pub areas: Vec<String>,
    /// Where the registration code was sent; `None` once the authority's data was erased.
    pub contact_email: Option<String>,
    pub invited_at: DateTime<Utc>,
    pub renewals: i32,
    pub renewed_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    /// Its state now (a pending invitation past its expiry is expired).
    pub state: InvitationState,
    pub registered_at: Option<DateTime<Utc>>,
}

/// A page of invitations, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct InvitationPage {
    pub invitations: Vec<InvitationView>,
    pub has_next_page: bool,
}

impl App {
    /// The invitations the caller's authority sent, newest first, in `state` when given,
    /// after the cursor `(invited_at, authority_id)`, at most `limit`.
    pub async fn invitations(
        &self,
        caller: &Caller,
        state: Option<InvitationState>,
        after: Option<(DateTime<Utc>, String)>,
        limit: i64,
    ) -> AppResult<InvitationPage> {
        if !self.is_data_administrator(caller).await? {
            return Err(AppError::forbidden(FOR_DATA_ADMINISTRATORS));
        }
        let Some((_, authority_id)) = caller.user_ids() else {
            return Err(AppError::forbidden(FOR_DATA_ADMINISTRATORS));
        };
        let now = self.clock.now();
        let mut rows = invitations::sent_by(&self.reads, authority_id, state, now, after, limit)
            .await
            .map_err(|e| AppError::database("reading invitations", &e))?;
        let has_next_page = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let sealed: Vec<_> = rows.iter().map(|r| r.contact_email.clone()).collect();
        let opened = self
            .open_texts(caller, "invitations", "contactEmail", &sealed)
            .await?;
        let invitations = rows
            .into_iter()
            .zip(opened)
            .map(|(row, contact_email)| InvitationView {
                state: row.state_at(now),
                authority_id: row.authority_id,
                kind: row.kind,
                member_state: row.member_state,
                region: row.region,
                areas: row.areas,
                contact_email,
                invited_at: row.invited_at,
                renewals: row.renewals,
                renewed_at: row.renewed_at,
                expires_at: row.expires_at,
                registered_at: row.registered_at,
            })
            .collect();
        Ok(InvitationPage {
            invitations,
            has_next_page,
        })
    }
}
