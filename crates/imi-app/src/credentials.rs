//! Logins and passwords: kept in the store's `credentials` table, never in events.
//!
//! Consistency with the events: credentials are written *before* the command that records
//! the change, and undone when that command is refused. A crash between the two can leave a
//! credentials change no event records (a login reserved for a user never registered, a new
//! password, an (in)activation), never an event claiming a change that did not take effect.
//! Such leftovers grant nothing: a token acts only for a user the authority's own events hold
//! registered and active (`ActorContext::unable`), and a password is replaced only after the
//! caller's right to reset it was checked with the access policy.

use crate::error::{AppError, AppResult};
use crate::App;
use imi_store::credentials::{self, CredentialError, MIN_PASSWORD_CHARS};
use std::future::Future;

/// Longest login name accepted, in characters.
pub const MAX_LOGIN_CHARS: usize = 100;
/// Longest password accepted, in characters.
pub const MAX_PASSWORD_CHARS: usize = 200;

/// A password of acceptable length.
pub fn check_password(password: &str) -> AppResult<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(AppError::bad_input(format!(
            "the password must have {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// A login name as stored: trimmed, lower case, no spaces.
pub fn check_login(login: &str) -> AppResult<String> {
    let login = login.trim();
    if login.is_empty()
        || login.chars().count() > MAX_LOGIN_CHARS
        || login.chars().any(char::is_whitespace)
    {
        return Err(AppError::bad_input(format!(
            "the login must have 1 to {MAX_LOGIN_CHARS} characters and no spaces"
        )));
    }
    Ok(login.to_lowercase())
}

pub(crate) fn credential_error(context: &str, e: CredentialError) -> AppError {
    match e {
        CredentialError::WeakPassword | CredentialError::LoginTaken => {
            AppError::bad_input(e.to_string())
        }
        CredentialError::Database(e) => AppError::database(context, &e),
        CredentialError::Hashing => AppError::internal(context, &e),
    }
}

impl App {
    /// Refuses a malformed or taken login and a weak password before anything is written.
    pub async fn check_new_login(&self, login: &str, password: &str) -> AppResult<()> {
        let login = check_login(login)?;
        check_password(password)?;
        let taken = credentials::login_taken(&self.pool, &login)
            .await
            .map_err(|e| AppError::database("checking a login", &e))?;
        if taken {
            return Err(AppError::bad_input("this login name is already taken"));
        }
        Ok(())
    }

    /// Sets a new user's credentials, then runs `command` (which registers them); drops the
    /// credentials again when it is refused.
    pub(crate) async fn with_new_credentials<T>(
        &self,
        user_id: &str,
        authority_id: &str,
        login: &str,
        password: &str,
        command: impl Future<Output = AppResult<T>>,
    ) -> AppResult<T> {
        credentials::set(&self.pool, user_id, authority_id, login.trim(), password)
            .await
            .map_err(|e| credential_error("setting credentials", e))?;
        let outcome = command.await;
        if outcome.is_err() {
            if let Err(e) = credentials::remove(&self.pool, user_id).await {
                tracing::warn!(error = %e, "could not drop the credentials of a refused registration");
            }
        }
        outcome
    }

    /// Replaces a user's password, then runs `command` (which records the reset); puts the
    /// previous password back when it is refused. `None` when the user has no credentials.
    pub(crate) async fn with_new_password<T>(
        &self,
        user_id: &str,
        authority_id: &str,
        password: &str,
        command: impl Future<Output = AppResult<T>>,
    ) -> AppResult<Option<T>> {
        let Some(replaced) =
            credentials::replace_password(&self.pool, user_id, authority_id, password)
                .await
                .map_err(|e| credential_error("replacing a password", e))?
        else {
            return Ok(None);
        };
        let outcome = command.await;
        if outcome.is_err() {
            if let Err(e) = credentials::undo_replace(&self.pool, user_id, &replaced).await {
                tracing::error!(error = %e, "could not put back the password of a refused reset");
            }
        }
        outcome.map(Some)
    }

    /// Lets a user sign in, or no longer, then runs `command` (which records it); restores
    /// the previous state when it is refused.
    pub(crate) async fn with_active<T>(
        &self,
        user_id: &str,
        authority_id: &str,
        active: bool,
        command: impl Future<Output = AppResult<T>>,
    ) -> AppResult<T> {
        let previous = credentials::set_active(&self.pool, user_id, authority_id, active)
            .await
            .map_err(|e| AppError::database("updating credentials", &e))?;
        let outcome = command.await;
        if let (Err(_), Some(previous)) = (&outcome, previous) {
            if previous != active {
                if let Err(e) =
                    credentials::set_active(&self.pool, user_id, authority_id, previous).await
                {
                    tracing::error!(error = %e, "could not restore credentials after a refusal");
                }
            }
        }
        outcome
    }

    /// Sets credentials for a user who has none (the seeder's first users); returns whether
    /// it set them.
    pub async fn ensure_credentials(
        &self,
        user_id: &str,
        authority_id: &str,
        login: &str,
        password: &str,
    ) -> AppResult<bool> {
        let exists = credentials::exists(&self.pool, user_id)
            .await
            .map_err(|e| AppError::database("reading credentials", &e))?;
        if exists {
            return Ok(false);
        }
        credentials::set(&self.pool, user_id, authority_id, login, password)
            .await
            .map_err(|e| credential_error("setting credentials", e))?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_and_passwords_are_checked() {
        assert_eq!(check_login("  Ana.Lda ").unwrap(), "ana.lda");
        assert!(check_login("a b").is_err());
        assert!(check_login("").is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough!").is_ok());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }
}
