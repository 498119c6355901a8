//! Administering authorities: every command to the Authority aggregate goes through
//! [`App::authority_command`], which answers for an authority or user the caller may not see
//! exactly as for an unknown one, before the aggregate decides.
//!
//! Authorities are public once validated (the directory lists them to every able user); an
//! authority awaiting validation shows only to its inviting coordinator. Users show only to
//! their authority's local data administrators and its validating coordinator's data
//! administrators (`AuthorityView::Users`).

use crate::caller::Caller;
use crate::dispatch::{Outcome, Wait};
use crate::error::{AppError, AppResult, Code};
use crate::App;
use imi_domain::access::{may_view, ActorContext, AuthorityView, NOT_REGISTERED};
use imi_domain::authority::{authority_key_id, AuthorityCommand, AuthoritySummary};
use imi_domain::sealed::Sealed;
use imi_store::authority_lookup::StoreLookup;

/// What an unknown authority answers (the aggregate's own words).
pub const NO_SUCH_AUTHORITY: &str = "no such authority";
/// What an unknown user answers (the aggregate's own words).
pub const NO_SUCH_USER: &str = "no such user in this authority";

/// The user a command acts on, if it names one.
fn user_named(command: &AuthorityCommand) -> Option<&str> {
    use AuthorityCommand as C;
    match command {
        C::GrantUserRoles { user_id, .. }
        | C::RevokeUserRoles { user_id, .. }
        | C::AppointLocalDataAdministrator { user_id }
        | C::DismissLocalDataAdministrator { user_id }
        | C::ResetPassword { user_id }
        | C::DeactivateUser { user_id }
        | C::ReactivateUser { user_id } => Some(user_id),
        _ => None,
    }
}

/// Commands that create the authority they are sent to: there is nothing to hide yet.
fn creates(command: &AuthorityCommand) -> bool {
    matches!(
        command,
        AuthorityCommand::RegisterNationalCoordinator { .. }
            | AuthorityCommand::InviteAuthority { .. }
            | AuthorityCommand::RegisterAuthority { .. }
            | AuthorityCommand::RegisterWithInvitation { .. }
    )
}

impl App {
    /// An authority as the access policy sees it (its users included); `None` when unknown.
    pub(crate) async fn authority_summary(
        &self,
        authority_id: &str,
    ) -> AppResult<Option<AuthoritySummary>> {
        StoreLookup::new(self.reads.clone())
            .load(authority_id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e.0, "loading an authority");
                AppError::new(Code::Internal, "internal error")
            })
    }

    /// The caller able to act (refused first, whatever the target), and the target authority
    /// when they may see it. An authority they may not see is `None`, as an unknown one.
    pub(crate) async fn visible_authority(
        &self,
        caller: &Caller,
        authority_id: &str,
    ) -> AppResult<(std::sync::Arc<ActorContext>, Option<AuthoritySummary>)> {
        let actor = self
            .actor_context(caller)
            .await?
            .ok_or_else(|| AppError::forbidden(NOT_REGISTERED))?;
        if let Some(denied) = actor.unable() {
            return Err(AppError::forbidden(denied.0));
        }
        let target = self
            .authority_summary(authority_id)
            .await?
            .filter(|t| may_view(Some(&actor), t, AuthorityView::Directory));
        Ok((actor, target))
    }

    /// Refuses, as an unknown id would be, a command on an authority or user the caller may
    /// not see. The platform sees everything.
    async fn hide(
        &self,
        caller: &Caller,
        authority_id: &str,
        command: &AuthorityCommand,
    ) -> AppResult<()> {
        if caller.user_ids().is_none() || creates(command) {
            return Ok(());
        }
        let (actor, target) = self.visible_authority(caller, authority_id).await?;
        let Some(target) = target else {
            return Err(AppError::not_found(NO_SUCH_AUTHORITY));
        };
        if user_named(command).is_some() && !may_view(Some(&actor), &target, AuthorityView::Users) {
            return Err(AppError::not_found(NO_SUCH_USER));
        }
        Ok(())
    }

    /// Sends `command` to authority `authority_id` as `caller`, then waits as asked.
    pub async fn authority_command(
        &self,
        caller: &Caller,
        authority_id: &str,
        command: AuthorityCommand,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        self.hide(caller, authority_id, &command).await?;
        self.execute(caller, authority_id, command, wait).await
    }

    /// Seals `value` under the authority's own data key (its contact person, its invitation's
    /// address).
    pub async fn seal_for_authority(&self, authority_id: &str, value: &str) -> AppResult<Sealed> {
        self.seal(&authority_key_id(authority_id), value).await
    }

    /// Sets (or, with `None`, removes) the authority's named contact person, sealed.
    pub async fn set_contact_person(
        &self,
        caller: &Caller,
        authority_id: &str,
        contact_person: Option<&str>,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let contact_person = match contact_person {
            Some(person) => Some(self.seal_for_authority(authority_id, person).await?),
            None => None,
        };
        let command = AuthorityCommand::SetContactPerson { contact_person };
        self.authority_command(caller, authority_id, command, wait)
            .await
    }
}
