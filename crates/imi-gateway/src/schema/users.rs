//! The users of an authority: register them (credentials and a sealed identity), their roles
//! per area, local data administrators, password resets, deactivation.

use super::authority_admin::{execute, issue, settle, CommandPayload};
use super::directory::{parse_id, wait_list};
use super::model::{parse_area, UserRole};
use super::{request, services};
use crate::errors::ApiError;
use crate::state::Services;
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use imi_domain::authority::{user_key_id, AuthorityCommand, NewUser};
use imi_store::credentials::{self, CredentialError, MIN_PASSWORD_CHARS};
use serde_json::json;
use std::collections::BTreeSet;

/// Longest login name accepted, in characters.
const MAX_LOGIN_CHARS: usize = 100;
/// Longest password accepted, in characters.
const MAX_PASSWORD_CHARS: usize = 200;
/// Longest name or e-mail address accepted, in characters.
const MAX_IDENTITY_CHARS: usize = 300;

#[derive(Default)]
pub struct UsersMutation;

/// A user to register: the login and password go to the credentials; the name, e-mail and
/// login are personal data, sealed under the user's own key.
#[derive(InputObject)]
pub struct NewUserInput {
    pub login: String,
    /// At least 10 characters.
    pub password: String,
    pub name: String,
    pub email: String,
}

impl NewUserInput {
    /// The command's user (a fresh id, the identity sealed) and its id.
    pub(crate) async fn new_user(
        &self,
        services: &Services,
    ) -> Result<(NewUser, String), ApiError> {
        let name = self.name.trim();
        let email = self.email.trim();
        for (what, value) in [("the name", name), ("the e-mail address", email)] {
            if value.is_empty() || value.chars().count() > MAX_IDENTITY_CHARS {
                return Err(ApiError::bad_input(format!(
                    "{what} must have 1 to {MAX_IDENTITY_CHARS} characters"
                )));
            }
        }
        let user_id = uuid::Uuid::now_v7().to_string();
        let identity = services
            .keyring
            .seal(
                &user_key_id(&user_id),
                &json!({ "name": name, "email": email, "login": self.login.trim().to_lowercase() }),
            )
            .await
            .map_err(|e| ApiError::internal("sealing a user's identity", &e))?;
        Ok((
            NewUser {
                user_id: user_id.clone(),
                identity,
            },
            user_id,
        ))
    }
}

fn check_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(ApiError::bad_input(format!(
            "the password must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// Refuses a malformed or taken login and a weak password before anything is written.
pub(crate) async fn check_new_login(
    services: &Services,
    login: &str,
    password: &str,
) -> Result<(), ApiError> {
    let login = login.trim();
    if login.is_empty()
        || login.chars().count() > MAX_LOGIN_CHARS
        || login.chars().any(char::is_whitespace)
    {
        return Err(ApiError::bad_input(format!(
            "the login must have 1 to {MAX_LOGIN_CHARS} characters and no spaces"
        )));
    }
    check_password(password)?;
    let taken: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM credentials WHERE login = lower($1))")
            .bind(login)
            .fetch_one(&services.pool)
            .await
            .map_err(|e| ApiError::database("checking a login", &e))?;
    if taken {
        return Err(ApiError::bad_input("this login name is already taken"));
    }
    Ok(())
}

/// Sets a user's credentials (after the command that registered them succeeded).
pub(crate) async fn set_credentials(
    services: &Services,
    user_id: &str,
    authority_id: &str,
    login: &str,
    password: &str,
) -> Result<(), ApiError> {
    credentials::set(
        &services.pool,
        user_id,
        authority_id,
        login.trim(),
        password,
    )
    .await
    .map_err(|e| match e {
        CredentialError::WeakPassword | CredentialError::LoginTaken => {
            ApiError::bad_input(e.to_string())
        }
        CredentialError::Database(e) => ApiError::database("setting credentials", &e),
        CredentialError::Hashing => ApiError::internal("setting credentials", &e),
    })
}

/// Input of `registerUser`.
#[derive(InputObject)]
pub struct RegisterUserInput {
    pub authority_id: ID,
    pub user: NewUserInput,
    #[graphql(default)]
    pub local_data_administrator: bool,
    /// Projections to wait for (at most 5 s); default `["authority_directory"]`.
    pub wait_for: Option<Vec<String>>,
}

/// What `registerUser` did.
#[derive(SimpleObject)]
pub struct RegisterUserPayload {
    pub position: Option<String>,
    pub waited: bool,
    pub user_id: ID,
}

/// A user of an authority.
#[derive(InputObject)]
pub struct UserInput {
    pub authority_id: ID,
    pub user_id: ID,
    pub wait_for: Option<Vec<String>>,
}

/// Roles of a user in one area.
#[derive(InputObject)]
pub struct UserRolesInput {
    pub authority_id: ID,
    pub user_id: ID,
    pub area: String,
    pub roles: Vec<UserRole>,
    pub wait_for: Option<Vec<String>>,
}

/// Input of `resetPassword`.
#[derive(InputObject)]
pub struct ResetPasswordInput {
    pub authority_id: ID,
    pub user_id: ID,
    /// The new password (at least 10 characters).
    pub new_password: String,
    pub wait_for: Option<Vec<String>>,
}

fn roles(input: &[UserRole]) -> BTreeSet<imi_domain::authority::UserRole> {
    input.iter().map(|r| (*r).into()).collect()
}

#[Object]
impl UsersMutation {
    /// A local data administrator registers a user of its authority.
    async fn register_user(
        &self,
        ctx: &Context<'_>,
        input: RegisterUserInput,
    ) -> async_graphql::Result<RegisterUserPayload> {
        let request = request(ctx)?;
        let principal = request.principal()?;
        let services = services(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let wait_for = wait_list(input.wait_for)?;
        check_new_login(services, &input.user.login, &input.user.password).await?;
        let (user, user_id) = input.user.new_user(services).await?;
        let command = AuthorityCommand::RegisterUser {
            user,
            local_data_administrator: input.local_data_administrator,
        };
        let position = execute(
            ctx,
            &authority_id,
            principal.actor(),
            request.metadata(principal),
            command,
        )
        .await?;
        set_credentials(
            services,
            &user_id,
            &authority_id,
            &input.user.login,
            &input.user.password,
        )
        .await?;
        let done = settle(services, position, &wait_for).await?;
        Ok(RegisterUserPayload {
            position: done.position,
            waited: done.waited,
            user_id: ID(user_id),
        })
    }

    async fn grant_user_roles(
        &self,
        ctx: &Context<'_>,
        input: UserRolesInput,
    ) -> async_graphql::Result<CommandPayload> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::GrantUserRoles {
                user_id: parse_id(&input.user_id)?,
                area: parse_area(&input.area)?,
                roles: roles(&input.roles),
            })
        })
        .await
    }

    async fn revoke_user_roles(
        &self,
        ctx: &Context<'_>,
        input: UserRolesInput,
    ) -> async_graphql::Result<CommandPayload> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::RevokeUserRoles {
                user_id: parse_id(&input.user_id)?,
                area: parse_area(&input.area)?,
                roles: roles(&input.roles),
            })
        })
        .await
    }

    async fn appoint_local_data_administrator(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> async_graphql::Result<CommandPayload> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::AppointLocalDataAdministrator {
                user_id: parse_id(&input.user_id)?,
            })
        })
        .await
    }

    async fn dismiss_local_data_administrator(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> async_graphql::Result<CommandPayload> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::DismissLocalDataAdministrator {
                user_id: parse_id(&input.user_id)?,
            })
        })
        .await
    }

    /// Resets a user's password: the policy decides (its LDAs: any user; data administrators
    /// of the validating coordinator: its LDAs), the event records it, then the credentials
    /// change.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        input: ResetPasswordInput,
    ) -> async_graphql::Result<CommandPayload> {
        let request = request(ctx)?;
        request.principal()?;
        let services = services(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let user_id = parse_id(&input.user_id)?;
        check_password(&input.new_password)?;
        let login: Option<String> = sqlx::query_scalar(
            "SELECT login FROM credentials WHERE user_id = $1 AND authority_id = $2",
        )
        .bind(&user_id)
        .bind(&authority_id)
        .fetch_optional(&services.pool)
        .await
        .map_err(|e| ApiError::database("reading credentials", &e))?;
        let payload = issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::ResetPassword {
                user_id: user_id.clone(),
            })
        })
        .await?;
        // The command found the user; a user without credentials yet gets them now only if
        // they have a login, which a user registered through this gateway always has.
        let login = login.ok_or_else(|| ApiError::not_found("this user has no login"))?;
        set_credentials(
            services,
            &user_id,
            &authority_id,
            &login,
            &input.new_password,
        )
        .await?;
        Ok(payload)
    }

    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> async_graphql::Result<CommandPayload> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::DeactivateUser {
                user_id: parse_id(&input.user_id)?,
            })
        })
        .await
    }

    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> async_graphql::Result<CommandPayload> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::ReactivateUser {
                user_id: parse_id(&input.user_id)?,
            })
        })
        .await
    }
}
