//! Signing in: a login name and password checked against the credentials, throttled per
//! login name and per client address (shared by every process through the database). The
//! interface issues the token and counts what happened.

use crate::error::{AppError, AppResult};
use crate::App;
use chrono::{DateTime, Utc};
use imi_store::throttle;

pub use imi_store::credentials::Principal;
pub use imi_store::throttle::{Lockout, Scope};

/// Longest login name a sign-in takes, in characters.
pub const MAX_LOGIN_CHARS: usize = 254;
/// Longest password a sign-in takes, in characters (hashing has a cost).
pub const MAX_PASSWORD_CHARS: usize = 1_024;

/// How a sign-in ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignIn {
    /// The user the login and password name.
    Accepted(Principal),
    /// Wrong login or password; `lockouts` those this failure started.
    WrongCredentials { lockouts: Vec<Lockout> },
    /// Not checked: sign-ins for this login or address are refused until `until`; `lockout`
    /// when this attempt started the lockout.
    Throttled {
        scope: Scope,
        until: DateTime<Utc>,
        lockout: Option<Lockout>,
    },
}

impl App {
    /// Checks `login` and `password` for a client at `address`, unless throttled. Counted by
    /// the name as it is looked up, whether or not it exists.
    pub async fn sign_in(&self, login: &str, password: &str, address: &str) -> AppResult<SignIn> {
        if login.chars().count() > MAX_LOGIN_CHARS || password.chars().count() > MAX_PASSWORD_CHARS
        {
            return Err(AppError::bad_input("login or password too long"));
        }
        let name = login.trim().to_lowercase();
        let limits = throttle::Limits::default();
        let database = |e: sqlx::Error| AppError::internal("throttling sign-ins", &e);
        let admission = throttle::admit(&self.pool, &limits, &name, address, self.clock.now())
            .await
            .map_err(database)?;
        let attempt = match admission {
            throttle::Admission::Admitted(attempt) => attempt,
            throttle::Admission::Refused {
                scope,
                until,
                lockout,
            } => {
                return Ok(SignIn::Throttled {
                    scope,
                    until,
                    lockout,
                })
            }
        };
        let principal = imi_store::credentials::verify(&self.pool, &name, password)
            .await
            .map_err(|e| AppError::internal("checking credentials", &e))?;
        let Some(principal) = principal else {
            let lockouts = throttle::failed(&self.pool, &limits, &attempt, self.clock.now())
                .await
                .map_err(database)?;
            return Ok(SignIn::WrongCredentials { lockouts });
        };
        throttle::succeeded(&self.pool, &attempt, self.clock.now())
            .await
            .map_err(database)?;
        Ok(SignIn::Accepted(principal))
    }
}
