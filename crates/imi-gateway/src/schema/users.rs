//! The users of an authority: register them (credentials and a sealed identity), their roles
//! per area, local data administrators, password resets, deactivation.

use super::authority_admin::{issue, CommandPayload};
use super::directory::{parse_id, wait_list};
use super::model::{parse_area, UserRole};
use super::{app, caller};
use crate::errors::ApiError;
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use imi_app::users::NewAccount;
use imi_domain::authority::AuthorityCommand;
use std::collections::BTreeSet;

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
    pub(crate) fn into_account(self) -> NewAccount {
        NewAccount {
            login: self.login,
            password: self.password,
            name: self.name,
            email: self.email,
        }
    }
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
    ) -> Result<RegisterUserPayload, ApiError> {
        let caller = caller(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let wait_for = wait_list(input.wait_for)?;
        let account = input.user.into_account();
        let (outcome, user_id) = app(ctx)?
            .register_user(
                &caller,
                &authority_id,
                &account,
                input.local_data_administrator,
                &wait_for,
            )
            .await?;
        Ok(RegisterUserPayload {
            position: outcome.position.map(|at| at.to_string()),
            waited: outcome.waited,
            user_id: ID(user_id),
        })
    }

    async fn grant_user_roles(
        &self,
        ctx: &Context<'_>,
        input: UserRolesInput,
    ) -> Result<CommandPayload, ApiError> {
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
    ) -> Result<CommandPayload, ApiError> {
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
    ) -> Result<CommandPayload, ApiError> {
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
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::DismissLocalDataAdministrator {
                user_id: parse_id(&input.user_id)?,
            })
        })
        .await
    }

    /// Resets a user's password: the policy decides (its LDAs: any user; data administrators
    /// of the validating coordinator: its LDAs), the credentials change, the event records it.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        input: ResetPasswordInput,
    ) -> Result<CommandPayload, ApiError> {
        let caller = caller(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let user_id = parse_id(&input.user_id)?;
        let wait_for = wait_list(input.wait_for)?;
        let outcome = app(ctx)?
            .reset_password(
                &caller,
                &authority_id,
                &user_id,
                &input.new_password,
                &wait_for,
            )
            .await?;
        Ok(outcome.into())
    }

    /// Deactivates a user: they can no longer sign in, and tokens they hold no longer act.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> Result<CommandPayload, ApiError> {
        set_active(ctx, input, false).await
    }

    /// Reactivates a user: they can sign in again.
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserInput,
    ) -> Result<CommandPayload, ApiError> {
        set_active(ctx, input, true).await
    }
}

async fn set_active(
    ctx: &Context<'_>,
    input: UserInput,
    active: bool,
) -> Result<CommandPayload, ApiError> {
    let caller = caller(ctx)?;
    let authority_id = parse_id(&input.authority_id)?;
    let user_id = parse_id(&input.user_id)?;
    let wait_for = wait_list(input.wait_for)?;
    let outcome = app(ctx)?
        .set_user_active(&caller, &authority_id, &user_id, active, &wait_for)
        .await?;
    Ok(outcome.into())
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
    ) -> Result<UserConnection, ApiError> {
        use super::relay::{decode_cursor, encode_cursor, page_size, PageInfo};

        let caller = caller(ctx)?;
        let authority_id = parse_id(&authority_id)?;
        let limit = page_size(first.unwrap_or(super::relay::DEFAULT_PAGE_SIZE))?;
        let after = after
            .map(|c| decode_cursor(USER_CURSOR_KIND, &c))
            .transpose()?;
        let has_previous_page = after.is_some();
        let query = imi_app::users::UserQuery {
            area: area
                .as_deref()
                .map(parse_area)
                .transpose()?
                .map(|a| a.code().to_string()),
            role: role.map(Into::into),
            local_data_administrators_only,
            active_only,
            after,
            limit,
        };
        let page = app(ctx)?
            .authority_users(&caller, &authority_id, query)
            .await?;
        let has_next_page = page.has_next_page;
        let edges: Vec<UserEdge> = page
            .users
            .into_iter()
            .map(|view| {
                let user = view.entry;
                UserEdge {
                    cursor: encode_cursor(USER_CURSOR_KIND, &user.user_id),
                    node: User {
                        id: ID(user.user_id.clone()),
                        authority_id: ID(user.authority_id.clone()),
                        erased: view.erased,
                        name: view.name,
                        email: view.email,
                        login: view.login,
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
                }
            })
            .collect();
        Ok(UserConnection {
            page_info: PageInfo::of(
                has_next_page,
                has_previous_page,
                edges.first().map(|e| &e.cursor),
                edges.last().map(|e| &e.cursor),
            ),
            edges,
        })
    }
}
