//! Credentials: login names and argon2 password hashes in a mutable table, never in events.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use sqlx::{PgExecutor, PgPool, Row};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("this login name is already taken")]
    LoginTaken,
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("password hashing failed")]
    Hashing,
}

/// The user a login resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub authority_id: String,
}

pub fn hash_password(password: &str) -> Result<String, CredentialError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(CredentialError::WeakPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| CredentialError::Hashing)
}

/// Creates or replaces a user's credentials.
pub async fn set<'e>(
    db: impl PgExecutor<'e>,
    user_id: &str,
    authority_id: &str,
    login: &str,
    password: &str,
) -> Result<(), CredentialError> {
    let hash = hash_password(password)?;
    sqlx::query(
        "INSERT INTO credentials (user_id, authority_id, login, password_hash)
         VALUES ($1, $2, lower($3), $4)
         ON CONFLICT (user_id) DO UPDATE
           SET login = lower($3), password_hash = $4, failed_logins = 0, updated_at = now()",
    )
    .bind(user_id)
    .bind(authority_id)
    .bind(login)
    .bind(hash)
    .execute(db)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("23505") => {
            CredentialError::LoginTaken
        }
        _ => CredentialError::Database(e),
    })?;
    Ok(())
}

/// Checks a login and password. `None` for an unknown login, an inactive user or a wrong
/// password alike, so a caller cannot tell which.
pub async fn verify(
    pool: &PgPool,
    login: &str,
    password: &str,
) -> Result<Option<Principal>, CredentialError> {
    let row = sqlx::query(
        "SELECT user_id, authority_id, password_hash FROM credentials
          WHERE login = lower($1) AND active",
    )
    .bind(login)
    .fetch_optional(pool)
    .await?;
    // argon2 is deliberately slow: run it off the async workers.
    let password = password.to_string();
    let Some(row) = row else {
        // Spend the same time as a real check, so timing does not reveal unknown logins.
        let _ = tokio::task::spawn_blocking(|| hash_password("timing-equaliser-password")).await;
        return Ok(None);
    };
    let stored: String = row.try_get("password_hash")?;
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(|_| CredentialError::Hashing)?;
    let user_id: String = row.try_get("user_id")?;
    sqlx::query(
        "UPDATE credentials SET failed_logins = CASE WHEN $2 THEN 0 ELSE failed_logins + 1 END
          WHERE user_id = $1",
    )
    .bind(&user_id)
    .bind(ok)
    .execute(pool)
    .await?;
    Ok(ok.then(|| Principal {
        user_id,
        authority_id: row.try_get("authority_id").unwrap_or_default(),
    }))
}
