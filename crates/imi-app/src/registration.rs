//! Registering authorities: invitations and their codes, self-registration with a code,
//! direct registration, and the national coordinators the platform bootstraps.
//!
//! A fresh registration code is kept sealed in `registration_codes` *before* its command, so
//! the mail sender never sees an invitation whose code is not there yet; when the command is
//! refused the code is dropped again (no event names its digest). Only the digest goes into
//! events.

use crate::caller::Caller;
use crate::dispatch::{Outcome, Wait};
use crate::error::{AppError, AppResult};
use crate::users::NewAccount;
use crate::App;
use imi_domain::actor::Actor;
use imi_domain::authority::{
    AreaGrants, AuthorityCommand, AuthorityData, AuthorityKind, LegislativeArea, NewUser, Region,
};
use imi_domain::reference::{Language, MemberState};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Random bytes in a registration code (256 bits).
const CODE_BYTES: usize = 32;
/// Longest registration code accepted, in bytes.
const MAX_CODE_BYTES: usize = 200;

/// Where a new authority stands: its kind, region, the areas it coordinates and its access.
#[derive(Clone, Debug)]
pub struct Placement {
    pub kind: AuthorityKind,
    pub region: Option<Region>,
    /// For a legislative area coordinator (exactly one) or a delegated coordinator.
    pub coordinated_areas: BTreeSet<LegislativeArea>,
    pub access: AreaGrants,
}

/// A Member State's national coordinator, as reference data names it (ids fixed there).
#[derive(Clone, Debug)]
pub struct NationalCoordinator {
    pub authority_id: String,
    pub member_state: MemberState,
    pub official_name: String,
    pub informal_titles: BTreeMap<Language, String>,
    pub first_user_id: String,
}

/// A fresh registration code (URL-safe base64) and the digest its command carries.
pub fn registration_code() -> (String, String) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut bytes = [0u8; CODE_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let code = URL_SAFE_NO_PAD.encode(bytes);
    let digest = code_digest(&code);
    (code, digest)
}

/// Lower-case hex SHA-256 of a registration code.
pub fn code_digest(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}

impl App {
    /// Keeps a fresh code for the mail sender, runs `command` with its digest, and drops the
    /// code again when the command is refused.
    async fn with_fresh_code(
        &self,
        caller: &Caller,
        authority_id: &str,
        command: impl FnOnce(String) -> AuthorityCommand,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let (code, digest) = registration_code();
        let sealed = self.seal_for_authority(authority_id, &code).await?;
        let sealed = serde_json::to_value(sealed)
            .map_err(|e| AppError::internal("encoding a sealed code", &e))?;
        imi_store::registration_codes::keep(&self.pool, &digest, authority_id, &sealed)
            .await
            .map_err(|e| AppError::database("keeping a registration code", &e))?;
        let outcome = self
            .authority_command(caller, authority_id, command(digest.clone()), wait)
            .await;
        if outcome.is_err() {
            if let Err(e) = imi_store::registration_codes::forget(&self.pool, &digest).await {
                tracing::warn!(error = %e, "could not drop an unused registration code");
            }
        }
        outcome
    }

    /// A data administrator of a coordinator invites an authority; the code goes by mail to
    /// `contact_email` (sealed under the authority's key), nowhere else.
    pub async fn invite_authority(
        &self,
        caller: &Caller,
        authority_id: &str,
        placement: Placement,
        contact_email: &str,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let contact_email = self.seal_for_authority(authority_id, contact_email).await?;
        let id = authority_id.to_string();
        self.with_fresh_code(
            caller,
            authority_id,
            |code_digest| AuthorityCommand::InviteAuthority {
                authority_id: id,
                kind: placement.kind,
                region: placement.region,
                coordinated_areas: placement.coordinated_areas,
                access: placement.access,
                code_digest,
                contact_email,
            },
            wait,
        )
        .await
    }

    /// The inviting coordinator replaces the registration code (the old one stops working).
    pub async fn renew_invitation(
        &self,
        caller: &Caller,
        authority_id: &str,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        self.with_fresh_code(
            caller,
            authority_id,
            |code_digest| AuthorityCommand::RenewInvitation { code_digest },
            wait,
        )
        .await
    }

    /// The invited authority registers itself with its code, acting as its first user (who
    /// becomes its local data administrator). `origin` carries only the client's idempotency
    /// key and correlation id: nobody is signed in. Returns the first user's id.
    pub async fn register_with_invitation(
        &self,
        origin: &Caller,
        authority_id: &str,
        code: &str,
        data: AuthorityData,
        first: &NewAccount,
        wait: &Wait,
    ) -> AppResult<(Outcome, String)> {
        let code = code.trim();
        if code.is_empty() || code.len() > MAX_CODE_BYTES {
            return Err(AppError::bad_input("the registration code is malformed"));
        }
        self.check_new_login(&first.login, &first.password).await?;
        let (first_user, user_id) = self.new_user(first).await?;
        let acting = Caller {
            actor: Actor::User {
                user_id: user_id.clone(),
                authority_id: authority_id.to_string(),
            },
            ..origin.clone()
        };
        let command = AuthorityCommand::RegisterWithInvitation {
            code_digest: code_digest(code),
            data,
            first_user,
        };
        let position = self.with_new_credentials(
            &user_id,
            authority_id,
            &first.login,
            &first.password,
            self.run(&acting, authority_id, command.into()),
        );
        let outcome = self.settle(position.await?, wait).await?;
        Ok((outcome, user_id))
    }

    /// A data administrator of a coordinator registers an authority directly (and is its
    /// validating coordinator at once). Returns the first user's id.
    pub async fn register_authority(
        &self,
        caller: &Caller,
        authority_id: &str,
        placement: Placement,
        data: AuthorityData,
        first: &NewAccount,
        wait: &Wait,
    ) -> AppResult<(Outcome, String)> {
        self.check_new_login(&first.login, &first.password).await?;
        let (first_user, user_id) = self.new_user(first).await?;
        let command = AuthorityCommand::RegisterAuthority {
            authority_id: authority_id.to_string(),
            kind: placement.kind,
            region: placement.region,
            coordinated_areas: placement.coordinated_areas,
            access: placement.access,
            data,
            first_user,
        };
        let outcome = self
            .with_new_credentials(
                &user_id,
                authority_id,
                &first.login,
                &first.password,
                self.authority_command(caller, authority_id, command, wait),
            )
            .await?;
        Ok((outcome, user_id))
    }

    /// The platform bootstraps a Member State's national coordinator with its first user.
    /// The first user's credentials are set apart, with [`App::ensure_credentials`], so that
    /// a re-run sets those a previous run missed.
    pub async fn register_national_coordinator(
        &self,
        caller: &Caller,
        coordinator: NationalCoordinator,
        first: &NewAccount,
    ) -> AppResult<Outcome> {
        let identity = self
            .seal_identity(&coordinator.first_user_id, first)
            .await?;
        let command = AuthorityCommand::RegisterNationalCoordinator {
            member_state: coordinator.member_state,
            official_name: coordinator.official_name,
            informal_titles: coordinator.informal_titles,
            first_user: NewUser {
                user_id: coordinator.first_user_id,
                identity,
            },
        };
        self.execute(caller, &coordinator.authority_id, command, &Wait::none())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_codes_are_random_and_only_their_digest_is_sent() {
        let (a, da) = registration_code();
        let (b, db) = registration_code();
        assert_ne!(a, b);
        assert!(a.len() >= 43);
        assert_eq!(da, code_digest(&a));
        assert_ne!(da, db);
        assert_eq!(da.len(), 64);
        assert_eq!(
            code_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
