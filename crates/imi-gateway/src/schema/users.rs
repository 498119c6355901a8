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

/// Why a password cannot be reset for a user without credentials: FORBIDDEN when the policy
/// refuses the caller, else NOT_FOUND.
async fn no_login(
    services: &Services,
    request: &crate::context::RequestContext,
    authority_id: &str,
    user_id: &str,
) -> ApiError {
    use imi_domain::access::{authorize, AuthorityMutation};
    let principal = match request.principal() {
        Ok(p) => p,
        Err(e) => return e,
    };
    let lookup = imi_store::authority_lookup::StoreLookup::new(services.pool.clone());
    let target = match lookup.load(authority_id).await {
        Ok(Some(target)) => target,
        Ok(None) => return ApiError::not_found("no such authority"),
        Err(e) => {
            tracing::error!(error = %e.0, "loading an authority");
            return ApiError::new(crate::errors::Code::Internal, "internal error");
        }
    };
    let viewer =
        match super::profile::viewer(&services.pool, &principal.user_id, &principal.authority_id)
            .await
        {
            Ok(Some(viewer)) => viewer,
            Ok(None) => {
                return ApiError::new(
                    crate::errors::Code::Forbidden,
                    "your authority is not registered",
                )
            }
            Err(e) => return e,
        };
    let Some(user) = target.users.get(user_id) else {
        return ApiError::not_found("no such user in this authority");
    };
    let mutation = AuthorityMutation::ResetPassword {
        of_local_data_administrator: user.local_data_administrator,
    };
    match authorize(&viewer, &target, &mutation) {
        Err(denied) => ApiError::new(crate::errors::Code::Forbidden, denied.0),
        Ok(()) => ApiError::not_found("this user has no login to reset"),
    }
}

/// Lets a user sign in again, or no longer (after the command that (de)activated them).
async fn set_active(
    services: &Services,
    authority_id: &str,
    user_id: &str,
    active: bool,
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE credentials SET active = $3, updated_at = now()
          WHERE user_id = $1 AND authority_id = $2",
    )
    .bind(user_id)
    .bind(authority_id)
    .bind(active)
    .execute(&services.pool)
    .await
    .map_err(|e| ApiError::database("updating credentials", &e))?;
    Ok(())
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
        let Some(login) = login else {
            // Nothing to reset: answer as the command would have (refused before not found),
            // and record nothing.
            return Err(no_login(services, request, &authority_id, &user_id)
                .await
                .into());
        };
        let payload = issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::ResetPassword {
                user_id: user_id.clone(),
            })
        })
        .await?;
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

    /// Deactivates a user: they can no longer sign in, and tokens they hold no longer act.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> async_graphql::Result<CommandPayload> {
        let payload = issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::DeactivateUser {
                user_id: parse_id(&input.user_id)?,
            })
        })
        .await?;
        set_active(services(ctx)?, &input.authority_id, &input.user_id, false).await?;
        Ok(payload)
    }

    /// Reactivates a user: they can sign in again.
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> async_graphql::Result<CommandPayload> {
        let payload = issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::ReactivateUser {
                user_id: parse_id(&input.user_id)?,
            })
        })
        .await?;
        set_active(services(ctx)?, &input.authority_id, &input.user_id, true).await?;
        Ok(payload)
    }
}

/// The cursor kind of user connections.
const USER_CURSOR_KIND: &str = "User";

#[derive(Default)]
pub struct UsersQuery;

/// A user's roles in one legislative area.
#[derive(SimpleObject)]
pub struct AreaRoles {
    pub area: String,
    pub roles: Vec<UserRole>,
}

/// A user of an authority. The identity (name, e-mail, login) is personal data, opened only
/// for callers the access policy lets see the authority's users; once erased, `erased` is
/// true and the identity fields are null.
#[derive(SimpleObject)]
pub struct User {
    pub id: ID,
    pub authority_id: ID,
    /// True when the user's personal data was erased: name, e-mail and login are gone.
    pub erased: bool,
    pub name: Option<String>,
    pub email: Option<String>,
    pub login: Option<String>,
    pub local_data_administrator: bool,
    pub active: bool,
    /// Roles per area (basic user, held by everyone, is implied and not listed).
    pub roles: Vec<AreaRoles>,
    pub registered_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub password_resets: i32,
    pub last_password_reset_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(SimpleObject)]
pub struct UserEdge {
    pub cursor: String,
    pub node: User,
}

/// A page of users (a Relay connection).
#[derive(SimpleObject)]
pub struct UserConnection {
    pub edges: Vec<UserEdge>,
    pub page_info: super::relay::PageInfo,
}

fn identity_field(identity: &serde_json::Value, key: &str) -> Option<String> {
    identity
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

#[Object]
impl UsersQuery {
    /// The users of an authority, ordered by id: for its local data administrators and the
    /// data administrators of its validating coordinator only (FORBIDDEN otherwise).
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "(first.unwrap_or(super::relay::DEFAULT_PAGE_SIZE).clamp(0, super::relay::MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    async fn authority_users(
        &self,
        ctx: &Context<'_>,
        authority_id: ID,
        #[graphql(default_with = "Some(super::relay::DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] active_only: bool,
        #[graphql(desc = "Only users holding a role (or `role`) in this area.")] area: Option<
            String,
        >,
        #[graphql(desc = "Only users holding this role (in `area`, or in any area).")] role: Option<
            UserRole,
        >,
        #[graphql(default)] local_data_administrators_only: bool,
    ) -> async_graphql::Result<UserConnection> {
        use super::relay::{decode_cursor, encode_cursor, page_size, PageInfo};
        use imi_domain::access::{may_view, AuthorityView};
        use imi_projections::directory::{self, ReadOptions, Visibility};
        use imi_store::sealing::Opened;

        let request = request(ctx)?;
        let principal = request.principal()?;
        let services = services(ctx)?;
        let authority_id = parse_id(&authority_id)?;
        let limit = page_size(first.unwrap_or(super::relay::DEFAULT_PAGE_SIZE))?;
        let after = after
            .map(|c| decode_cursor(USER_CURSOR_KIND, &c))
            .transpose()?;
        let options = ReadOptions {
            visibility: Visibility::IncludingAwaitingValidation,
            language: None,
        };
        let entry = directory::get_with(&services.pool, &authority_id, &options)
            .await
            .map_err(|e| ApiError::database("reading an authority", &e))?
            .ok_or_else(|| ApiError::not_found("no such authority in the directory"))?;
        let viewer =
            super::profile::viewer(&services.pool, &principal.user_id, &principal.authority_id)
                .await?;
        let allowed = super::profile::summary_of(&entry)
            .is_some_and(|target| may_view(viewer.as_deref(), &target, AuthorityView::Users));
        if !allowed {
            return Err(ApiError::new(
                crate::errors::Code::Forbidden,
                "only the authority's local data administrators and its validating \
                 coordinator's data administrators see its users",
            )
            .into());
        }
        let has_previous_page = after.is_some();
        let query = imi_projections::users::UserQuery {
            area: area
                .as_deref()
                .map(parse_area)
                .transpose()?
                .map(|a| a.code().to_string()),
            role: role.map(Into::into),
            local_data_administrators_only,
            active_only,
            after,
            limit: limit + 1,
        };
        let mut users = if limit == 0 {
            Vec::new()
        } else {
            imi_projections::users::of_authority(&services.pool, &authority_id, &query)
                .await
                .map_err(|e| ApiError::database("reading users", &e))?
        };
        let has_next_page = users.len() as i64 > limit;
        users.truncate(limit as usize);
        let sealed: Vec<_> = users.iter().map(|u| u.identity.clone()).collect();
        let opened = services
            .keyring
            .open_many::<serde_json::Value>(&sealed)
            .await
            .map_err(|e| ApiError::internal("opening identities", &e))?;
        let mut edges = Vec::with_capacity(users.len());
        for (user, identity) in users.into_iter().zip(opened) {
            let identity = match identity {
                Ok(Opened::Value(v)) => Some(v),
                Ok(Opened::Erased) => None,
                Err(e) => return Err(ApiError::internal("opening an identity", &e).into()),
            };
            edges.push(UserEdge {
                cursor: encode_cursor(USER_CURSOR_KIND, &user.user_id),
                node: User {
                    id: ID(user.user_id.clone()),
                    authority_id: ID(user.authority_id.clone()),
                    erased: identity.is_none(),
                    name: identity.as_ref().and_then(|i| identity_field(i, "name")),
                    email: identity.as_ref().and_then(|i| identity_field(i, "email")),
                    login: identity.as_ref().and_then(|i| identity_field(i, "login")),
                    local_data_administrator: user.local_data_administrator,
                    active: user.active,
                    roles: user
                        .roles
                        .iter()
                        .map(|(area, roles)| AreaRoles {
                            area: area.clone(),
                            roles: roles.iter().map(|r| (*r).into()).collect(),
                        })
                        .collect(),
                    registered_at: user.registered_at,
                    updated_at: user.updated_at,
                    password_resets: user.password_resets,
                    last_password_reset_at: user.last_password_reset_at,
                },
            });
        }
        Ok(UserConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page,
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }
}
