//! Which events IMI announces, and to whom. One function per aggregate type; an event that
//! announces nothing yields no draft.

use super::{Draft, EmailTo, InvitationRow, Memory};
use crate::projection::ProjectionError;
use imi_domain::authority::AuthorityEvent;
use imi_store::feed::FeedEvent;
use serde::Deserialize;
use serde_json::json;

/// The kinds of notification, as stored and as the texts know them.
pub mod kinds {
    /// To an invited authority's address: its registration code (put in by the sender).
    pub const REGISTRATION_CODE: &str = "registration_code";
    /// To the inviting coordinator: the code expired unused.
    pub const INVITATION_EXPIRED: &str = "invitation_expired";
    /// To the inviting coordinator's data administrators: an authority registered itself.
    pub const AWAITING_VALIDATION: &str = "awaiting_validation";
    /// To the authority: its coordinator validated it; it can work in IMI.
    pub const AUTHORITY_VALIDATED: &str = "authority_validated";
    /// To a new user: they are registered.
    pub const USER_REGISTERED: &str = "user_registered";
    /// To a user: their password was reset.
    pub const PASSWORD_RESET: &str = "password_reset";

    pub const ALL: [&str; 6] = [
        REGISTRATION_CODE,
        INVITATION_EXPIRED,
        AWAITING_VALIDATION,
        AUTHORITY_VALIDATED,
        USER_REGISTERED,
        PASSWORD_RESET,
    ];
}

/// The drafts `e` announces.
pub fn announce(e: &FeedEvent, memory: &mut Memory) -> Result<Vec<Draft>, ProjectionError> {
    match e.aggregate_type.as_str() {
        "Authority" => {
            let event = AuthorityEvent::deserialize(&e.payload)
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(authority(&e.aggregate_id, event, memory))
        }
        _ => Ok(vec![]),
    }
}

fn authority(id: &str, event: AuthorityEvent, memory: &mut Memory) -> Vec<Draft> {
    use kinds::*;
    use AuthorityEvent as E;
    match event {
        E::InvitationIssued {
            invited_by,
            member_state,
            code_digest,
            expires_at,
            contact_email,
            ..
        } => {
            memory.remember_invitation(InvitationRow {
                authority_id: id.to_string(),
                invited_by: invited_by.clone(),
                email: contact_email.clone(),
            });
            vec![registration_code(
                id,
                &contact_email,
                json!({
                    "authority_id": id,
                    "invited_by": invited_by,
                    "member_state": member_state.code(),
                    "code_digest": code_digest,
                    "expires_at": expires_at,
                }),
            )]
        }
        E::InvitationRenewed {
            renewed_by,
            code_digest,
            expires_at,
        } => match memory.invitations.get(id) {
            Some(invitation) => vec![registration_code(
                id,
                &invitation.email,
                json!({
                    "authority_id": id,
                    "invited_by": renewed_by,
                    "code_digest": code_digest,
                    "expires_at": expires_at,
                }),
            )],
            None => vec![],
        },
        E::InvitationExpired { .. } => match memory.invitations.get(id) {
            Some(invitation) => vec![Draft::to_authority(
                INVITATION_EXPIRED,
                &invitation.invited_by,
                json!({ "authority_id": id }),
            )
            .for_role(None, "DataAdministrator")],
            None => vec![],
        },
        E::AuthoritySelfRegistered { official_name, .. } => match memory.invitations.get(id) {
            Some(invitation) => vec![Draft::to_authority(
                AWAITING_VALIDATION,
                &invitation.invited_by,
                json!({ "authority_id": id, "official_name": official_name }),
            )
            .for_role(None, "DataAdministrator")],
            None => vec![],
        },
        E::AuthorityValidated { validated_by } => vec![Draft::to_authority(
            AUTHORITY_VALIDATED,
            id,
            json!({ "authority_id": id, "validated_by": validated_by }),
        )],
        E::UserRegistered { user_id, .. } => vec![Draft::to_user(
            USER_REGISTERED,
            id,
            &user_id,
            json!({ "authority_id": id, "user_id": user_id }),
        )],
        E::PasswordReset {
            user_id,
            reset_by_authority,
            ..
        } => vec![Draft::to_user(
            PASSWORD_RESET,
            id,
            &user_id,
            json!({ "authority_id": id, "user_id": user_id, "reset_by_authority": reset_by_authority }),
        )],
        _ => vec![],
    }
}

/// The registration code's mail, to the sealed address the invitation was sent to.
fn registration_code(
    id: &str,
    email: &imi_domain::sealed::Sealed,
    params: serde_json::Value,
) -> Draft {
    Draft {
        email_to: EmailTo::Sealed,
        email: Some(email.clone()),
        ..Draft::to_authority(kinds::REGISTRATION_CODE, id, params)
    }
}
