//! Signing in, and who the signed-in user is.

use super::directory::Authority;
use super::{app, data, request, services};
use crate::auth::issue;
use crate::errors::{reason, ApiError, Code};
use crate::metrics::Metrics;
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use imi_app::sign_in::{Lockout, SignIn};

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
        let language = request(ctx)?.language.clone();
        let caller = imi_app::Caller::user(&self.user_id, &self.authority_id, language.clone());
        let read = app(ctx)?
            .own_authority(&caller)
            .await
            .map_err(ApiError::from)?;
        Ok(read.map(|read| Authority::new(read, language)))
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
        let services = services(ctx)?;
        let metrics = data::<Metrics>(ctx)?;
        let address = request(ctx)?.client_address.as_str();
        // As the application layer counts it: the name as it is looked up.
        let name = login.trim().to_lowercase();
        let principal = match services
            .app
            .sign_in(&login, &password, address)
            .await
            .map_err(ApiError::from)?
        {
            SignIn::Accepted(principal) => principal,
            SignIn::Throttled {
                scope,
                until,
                lockout,
            } => {
                if let Some(lockout) = lockout {
                    record_lockout(metrics, &name, address, lockout);
                }
                metrics.login_throttled(scope.as_str());
                return Err(locked_out(until).into());
            }
            SignIn::WrongCredentials { lockouts } => {
                metrics.login_failure();
                for lockout in lockouts {
                    record_lockout(metrics, &name, address, lockout);
                }
                return Err(
                    ApiError::new(Code::Unauthenticated, "wrong login or password")
                        .with_reason(reason::WRONG_CREDENTIALS)
                        .into(),
                );
            }
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

/// The answer while sign-ins are refused: when to try again, nothing about the login.
fn locked_out(until: DateTime<Utc>) -> ApiError {
    ApiError::new(
        Code::TooManyRequests,
        format!(
            "too many failed sign-ins: try again after {}",
            until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    )
    .with_reason(reason::LOGIN_LOCKED)
}

fn record_lockout(metrics: &Metrics, login: &str, address: &str, lockout: Lockout) {
    tracing::warn!(
        scope = lockout.scope.as_str(),
        login,
        address,
        until = %lockout.until,
        "sign-ins locked out after repeated failures"
    );
    metrics.login_lockout(lockout.scope.as_str());
}
