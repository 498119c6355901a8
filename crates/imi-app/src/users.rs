//! The users of an authority: registration (credentials and a sealed identity), password
//! resets, (de)activation, and the list their administrators read. Role changes and local
//! data administrators are plain commands ([`App::authority_command`]).

use crate::authorities::NO_SUCH_USER;
use crate::caller::Caller;
use crate::credentials::check_password;
use crate::dispatch::{Outcome, Wait};
use crate::error::{AppError, AppResult};
use crate::App;
use imi_domain::access::{authorize, may_view, AuthorityMutation, AuthorityView};
use imi_domain::authority::{user_key_id, AuthorityCommand, NewUser};
use imi_domain::sealed::Sealed;
pub use imi_projections::users::{UserEntry, UserQuery};
use serde_json::json;

/// Longest name or e-mail address accepted, in characters.
const MAX_IDENTITY_CHARS: usize = 300;

/// A user to register: the login and password go to the credentials; the name, e-mail and
/// login are personal data, sealed under the user's own key.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub login: String,
    pub password: String,
    pub name: String,
    pub email: String,
}

/// A user as their administrators read them; the identity is absent once erased.
#[derive(Clone, Debug)]
pub struct UserView {
    pub entry: UserEntry,
    pub erased: bool,
    pub name: Option<String>,
    pub email: Option<String>,
    pub login: Option<String>,
}

/// A page of users, ordered by id.
#[derive(Clone, Debug)]
pub struct UserPage {
    pub users: Vec<UserView>,
    pub has_next_page: bool,
}

fn identity_field(identity: Option<&serde_json::Value>, key: &str) -> Option<String> {
    identity?.get(key)?.as_str().map(str::to_string)
}

impl App {
    /// Seals a user's identity under their own key.
    pub(crate) async fn seal_identity(
        &self,
        user_id: &str,
        account: &NewAccount,
    ) -> AppResult<Sealed> {
        let name = account.name.trim();
        let email = account.email.trim();
        for (what, value) in [("the name", name), ("the e-mail address", email)] {
            crate::input::no_nul(what, value)?;
            if value.is_empty() || value.chars().count() > MAX_IDENTITY_CHARS {
                return Err(AppError::bad_input(format!(
                    "{what} must have 1 to {MAX_IDENTITY_CHARS} characters"
                )));
            }
        }
        let login = account.login.trim().to_lowercase();
        self.seal(
            &user_key_id(user_id),
            &json!({ "name": name, "email": email, "login": login }),
        )
        .await
    }

    /// The command's user (a fresh id, the identity sealed) and its id.
    pub(crate) async fn new_user(&self, account: &NewAccount) -> AppResult<(NewUser, String)> {
        let user_id = uuid::Uuid::now_v7().to_string();
        let identity = self.seal_identity(&user_id, account).await?;
        Ok((
            NewUser {
                user_id: user_id.clone(),
                identity,
            },
            user_id,
        ))
    }

    /// A local data administrator registers a user of its authority; returns the user's id.
    pub async fn register_user(
        &self,
        caller: &Caller,
        authority_id: &str,
        account: &NewAccount,
        local_data_administrator: bool,
        wait: &Wait,
    ) -> AppResult<(Outcome, String)> {
        self.check_new_login(&account.login, &account.password)
            .await?;
        let (user, user_id) = self.new_user(account).await?;
        let command = AuthorityCommand::RegisterUser {
            user,
            local_data_administrator,
        };
        let outcome = self
            .with_new_credentials(
                &user_id,
                authority_id,
                &account.login,
                &account.password,
                self.authority_command(caller, authority_id, command, wait),
            )
            .await?;
        Ok((outcome, user_id))
    }

    /// Resets a user's password. The policy decides first (the authority's LDAs: any user;
    /// data administrators of its validating coordinator: its LDAs); then the password
    /// changes, then the event records it (see [`crate::credentials`]).
    pub async fn reset_password(
        &self,
        caller: &Caller,
        authority_id: &str,
        user_id: &str,
        new_password: &str,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        check_password(new_password)?;
        let command = AuthorityCommand::ResetPassword {
            user_id: user_id.to_string(),
        };
        // Asked before anything changes: the answers the command would give.
        let (actor, target) = self.visible_authority(caller, authority_id).await?;
        let target =
            target.ok_or_else(|| AppError::not_found(crate::authorities::NO_SUCH_AUTHORITY))?;
        if !may_view(Some(&actor), &target, AuthorityView::Users) {
            return Err(AppError::not_found(NO_SUCH_USER));
        }
        let user = target
            .users
            .get(user_id)
            .ok_or_else(|| AppError::not_found(NO_SUCH_USER))?;
        let mutation = AuthorityMutation::ResetPassword {
            of_local_data_administrator: user.local_data_administrator,
        };
        authorize(&actor, &target, &mutation).map_err(|denied| AppError::forbidden(denied.0))?;
        self.with_new_password(
            user_id,
            authority_id,
            new_password,
            self.authority_command(caller, authority_id, command, wait),
        )
        .await?
        .ok_or_else(|| AppError::not_found("this user has no login to reset"))
    }

    /// Deactivates a user (they can no longer sign in, and tokens they hold no longer act),
    /// or reactivates them.
    pub async fn set_user_active(
        &self,
        caller: &Caller,
        authority_id: &str,
        user_id: &str,
        active: bool,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let user_id = user_id.to_string();
        let command = if active {
            AuthorityCommand::ReactivateUser {
                user_id: user_id.clone(),
            }
        } else {
            AuthorityCommand::DeactivateUser {
                user_id: user_id.clone(),
            }
        };
        self.hide_user(caller, authority_id).await?;
        self.with_active(
            &user_id,
            authority_id,
            active,
            self.authority_command(caller, authority_id, command, wait),
        )
        .await
    }

    /// Refuses as for an unknown user when the caller may not see the authority's users.
    async fn hide_user(&self, caller: &Caller, authority_id: &str) -> AppResult<()> {
        if caller.user_ids().is_none() {
            return Ok(());
        }
        let (actor, target) = self.visible_authority(caller, authority_id).await?;
        let target =
            target.ok_or_else(|| AppError::not_found(crate::authorities::NO_SUCH_AUTHORITY))?;
        if !may_view(Some(&actor), &target, AuthorityView::Users) {
            return Err(AppError::not_found(NO_SUCH_USER));
        }
        Ok(())
    }

    /// Whether the caller is a data administrator (in any area) of their own authority.
    pub async fn is_data_administrator(&self, caller: &Caller) -> AppResult<bool> {
        let Some((user_id, authority_id)) = caller.user_ids() else {
            return Ok(false);
        };
        imi_projections::users::is_data_administrator(&self.reads, authority_id, user_id)
            .await
            .map_err(|e| AppError::database("reading roles", &e))
    }

    /// The users of an authority that `query` selects (at most `query.limit`): for its local
    /// data administrators and its validating coordinator's data administrators only.
    pub async fn authority_users(
        &self,
        caller: &Caller,
        authority_id: &str,
        query: UserQuery,
    ) -> AppResult<UserPage> {
        let (actor, target) = self.visible_authority(caller, authority_id).await?;
        let target =
            target.ok_or_else(|| AppError::not_found("no such authority in the directory"))?;
        // The authority is public; its users are not.
        if !may_view(Some(&actor), &target, AuthorityView::Users) {
            return Err(AppError::forbidden(
                "only the authority's local data administrators and its validating \
                 coordinator's data administrators see its users",
            ));
        }
        let limit = query.limit.max(0);
        if limit == 0 {
            return Ok(UserPage {
                users: Vec::new(),
                has_next_page: false,
            });
        }
        let query = UserQuery {
            limit: limit + 1,
            ..query
        };
        let mut entries = imi_projections::users::of_authority(&self.reads, authority_id, &query)
            .await
            .map_err(|e| AppError::database("reading users", &e))?;
        let has_next_page = entries.len() as i64 > limit;
        entries.truncate(limit as usize);
        let mut opener = crate::opening::Opener::new(
            self,
            true,
            crate::opening::Reading::by(&actor, "users.list", "Users"),
        );
        let mut users = Vec::with_capacity(entries.len());
        for entry in entries {
            let identity = opener.value(&entry.identity, "identity").await?;
            users.push(UserView {
                entry,
                erased: identity.is_none(),
                name: identity_field(identity.as_ref(), "name"),
                email: identity_field(identity.as_ref(), "email"),
                login: identity_field(identity.as_ref(), "login"),
            });
        }
        opener.finish().await?;
        Ok(UserPage {
            users,
            has_next_page,
        })
    }
}
