//! Signing in, and who the signed-in user is.

use super::directory::{read_entry, Authority};
use super::{request, services};
use crate::auth::issue;
use crate::errors::{reason, ApiError, Code};
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

/// Longest login name accepted, in characters.
const MAX_LOGIN_CHARS: usize = 254;
/// Longest password accepted, in characters (hashing has a cost).
const MAX_PASSWORD_CHARS: usize = 1_024;

#[derive(Default)]
pub struct AuthQuery;

#[derive(Default)]
pub struct AuthMutation;

/// A bearer token for `Authorization: Bearer <token>`.
#[derive(SimpleObject)]
pub struct LoginPayload {
    pub token: String,
    pub user_id: ID,
    pub authority_id: ID,
    pub expires_at: DateTime<Utc>,
}

/// The signed-in user.
pub struct Me {
    user_id: String,
    authority_id: String,
    expires_at: DateTime<Utc>,
}

/// The signed-in user.
#[Object]
impl Me {
    async fn user_id(&self) -> ID {
        ID(self.user_id.clone())
    }

    async fn authority_id(&self) -> ID {
        ID(self.authority_id.clone())
    }

    /// When the token in use expires.
    async fn token_expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The user's authority, as the directory shows it.
    async fn authority(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Authority>> {
        let services = services(ctx)?;
        let language = request(ctx)?.language.clone();
        let entry = read_entry(&services.pool, &self.authority_id)
            .await
            .map_err(|e| ApiError::database("reading the user's authority", &e))?;
        Ok(entry.map(|entry| Authority::new(entry, language)))
    }
}

#[Object]
impl AuthQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let principal = request(ctx)?.principal()?;
        Ok(Me {
            user_id: principal.user_id.clone(),
            authority_id: principal.authority_id.clone(),
            expires_at: principal.expires_at,
        })
    }
}

#[Object]
impl AuthMutation {
    /// Signs in with a login name and password; returns a bearer token valid for 12 hours.
    async fn login(
        &self,
        ctx: &Context<'_>,
        login: String,
        password: String,
    ) -> async_graphql::Result<LoginPayload> {
        if login.chars().count() > MAX_LOGIN_CHARS || password.chars().count() > MAX_PASSWORD_CHARS
        {
            return Err(ApiError::bad_input("login or password too long").into());
        }
        let services = services(ctx)?;
        let principal = imi_store::credentials::verify(&services.pool, login.trim(), &password)
            .await
            .map_err(|e| ApiError::internal("checking credentials", &e))?;
        let Some(principal) = principal else {
            return Err(
                ApiError::new(Code::Unauthenticated, "wrong login or password")
                    .with_reason(reason::WRONG_CREDENTIALS)
                    .into(),
            );
        };
        let (token, expires_at) = issue(
            &services.token_secret,
            &principal.user_id,
            &principal.authority_id,
            Utc::now(),
        )
        .map_err(|e| ApiError::internal("signing a token", &e))?;
        tracing::info!(user_id = %principal.user_id, "signed in");
        Ok(LoginPayload {
            token,
            user_id: ID(principal.user_id),
            authority_id: ID(principal.authority_id),
            expires_at,
        })
    }
}
