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

/// argon2 is deliberately slow and takes 19 MiB per hash (its default parameters). Hashes run
/// off the async workers, at most this many at a time: a burst of sign-ins then neither
/// stalls the workers nor multiplies the memory (each hash under way holds its own 19 MiB;
/// `imi` has the allocator give such blocks back once freed, see its `allocator` module).
pub const HASHING_AT_ONCE: usize = 2;

static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASHING_AT_ONCE);

/// Runs `hash` (an argon2 hash or check) under the [`HASHING_AT_ONCE`] bound, off the workers.
async fn hashing<T: Send + 'static>(
    hash: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CredentialError> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|_| CredentialError::Hashing)?;
    tokio::task::spawn_blocking(hash)
        .await
        .map_err(|_| CredentialError::Hashing)
}

/// [`hash_password`] under the bound of [`HASHING_AT_ONCE`].
async fn hash_bounded(password: &str) -> Result<String, CredentialError> {
    let password = password.to_string();
    hashing(move || hash_password(&password)).await?
}

/// Creates or replaces a user's credentials.
pub async fn set<'e>(
    db: impl PgExecutor<'e>,
    user_id: &str,
    authority_id: &str,
    login: &str,
    password: &str,
) -> Result<(), CredentialError> {
    let hash = hash_bounded(password).await?;
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
    let password = password.to_string();
    let Some(row) = row else {
        // Spend the same time as a real check, so timing does not reveal unknown logins.
        let _ = hashing(|| hash_password("timing-equaliser-password")).await;
        return Ok(None);
    };
    let stored: String = row.try_get("password_hash")?;
    let ok = hashing(move || {
        PasswordHash::new(&stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await?;
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

/// Whether a login name is taken (compared as stored, in lower case).
pub async fn login_taken<'e>(db: impl PgExecutor<'e>, login: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM credentials WHERE login = lower($1))")
        .bind(login)
        .fetch_one(db)
        .await
}

/// Whether a user has credentials.
pub async fn exists<'e>(db: impl PgExecutor<'e>, user_id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM credentials WHERE user_id = $1)")
        .bind(user_id)
        .fetch_one(db)
        .await
}

/// Drops a user's credentials (those set for a registration that was then refused).
pub async fn remove<'e>(db: impl PgExecutor<'e>, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM credentials WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// A password replaced by [`replace_password`]: both hashes, so that a refused change can be
/// undone without undoing a later one.
#[derive(Clone, Debug)]
pub struct Replaced {
    pub previous: String,
    pub current: String,
}

/// Replaces the password of a user who has credentials; `None` when they have none.
pub async fn replace_password(
    pool: &PgPool,
    user_id: &str,
    authority_id: &str,
    password: &str,
) -> Result<Option<Replaced>, CredentialError> {
    let hash = hash_bounded(password).await?;
    let previous: Option<String> = sqlx::query_scalar(
        "UPDATE credentials c
            SET password_hash = $3, failed_logins = 0, updated_at = now()
           FROM (SELECT user_id, password_hash FROM credentials
                  WHERE user_id = $1 AND authority_id = $2 FOR UPDATE) p
          WHERE c.user_id = p.user_id
      RETURNING p.password_hash",
    )
    .bind(user_id)
    .bind(authority_id)
    .bind(&hash)
    .fetch_optional(pool)
    .await?;
    Ok(previous.map(|previous| Replaced {
        previous,
        current: hash,
    }))
}

/// Puts the previous password back, unless it was changed again since.
pub async fn undo_replace(
    pool: &PgPool,
    user_id: &str,
    replaced: &Replaced,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE credentials SET password_hash = $3, updated_at = now()
          WHERE user_id = $1 AND password_hash = $2",
    )
    .bind(user_id)
    .bind(&replaced.current)
    .bind(&replaced.previous)
    .execute(pool)
    .await?;
    Ok(())
}

/// Lets a user sign in, or no longer; returns whether they were active before (`None`: no
/// credentials).
pub async fn set_active<'e>(
    db: impl PgExecutor<'e>,
    user_id: &str,
    authority_id: &str,
    active: bool,
) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE credentials c SET active = $3, updated_at = now()
           FROM (SELECT user_id, active FROM credentials
                  WHERE user_id = $1 AND authority_id = $2 FOR UPDATE) p
          WHERE c.user_id = p.user_id
      RETURNING p.active",
    )
    .bind(user_id)
    .bind(authority_id)
    .bind(active)
    .fetch_optional(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_run_at_once_than_the_bound_however_many_wait() {
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let waiting: Vec<_> = (0..4 * HASHING_AT_ONCE)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                tokio::spawn(hashing(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for w in waiting {
            w.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), HASHING_AT_ONCE);
    }
}
