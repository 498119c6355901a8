//! Signing in, and who the signed-in user is.

use super::directory::{read_entry, Authority};
use super::{data, request, services};
use crate::auth::issue;
use crate::errors::{reason, ApiError, Code};
use crate::metrics::Metrics;
use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use imi_store::throttle;

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
        let metrics = data::<Metrics>(ctx)?;
        let address = request(ctx)?.client_address.as_str();
        // Counted by the name as it is looked up, whether or not it exists.
        let name = login.trim().to_lowercase();
        let limits = throttle::Limits::default();
        let database = |e: sqlx::Error| ApiError::internal("throttling sign-ins", &e);
        let admission = throttle::admit(
            &services.pool,
            &limits,
            &name,
            address,
            services.clock.now(),
        )
        .await
        .map_err(database)?;
        let attempt = match admission {
            throttle::Admission::Admitted(attempt) => attempt,
            throttle::Admission::Refused {
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
        };
        let principal = imi_store::credentials::verify(&services.pool, &name, &password)
            .await
            .map_err(|e| ApiError::internal("checking credentials", &e))?;
        let Some(principal) = principal else {
            metrics.login_failure();
            let lockouts =
                throttle::failed(&services.pool, &limits, &attempt, services.clock.now())
                    .await
                    .map_err(database)?;
            for lockout in lockouts {
                record_lockout(metrics, &name, address, lockout);
            }
            return Err(
                ApiError::new(Code::Unauthenticated, "wrong login or password")
                    .with_reason(reason::WRONG_CREDENTIALS)
                    .into(),
            );
        };
        throttle::succeeded(&services.pool, &attempt, services.clock.now())
            .await
            .map_err(database)?;
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

fn record_lockout(metrics: &Metrics, login: &str, address: &str, lockout: throttle::Lockout) {
    tracing::warn!(
        scope = lockout.scope.as_str(),
        login,
        address,
        until = %lockout.until,
        "sign-ins locked out after repeated failures"
    );
    metrics.login_lockout(lockout.scope.as_str());
}
