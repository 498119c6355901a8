//! Serializing commands whose rules span aggregates.
//!
//! cqrs-es serializes writers of one aggregate (its optimistic lock), not rules that span several:
//! two commands on two new authorities can both find "no national coordinator for DE yet" and
//! both append. Such commands name the scope of their rule (a guard key, e.g.
//! `nimic:DE`); the bus holds an exclusive PostgreSQL advisory lock per key around the load,
//! the decision and the append, so the second command runs after the first has committed and
//! its lookups see the first one's events.
//!
//! The locks are transaction-scoped (`pg_try_advisory_xact_lock`) in a transaction of their own,
//! on a dedicated connection that writes nothing (so it takes no transaction id and never holds
//! the feed's horizon back). If the command's future is dropped midway, the transaction rolls
//! back when the connection returns to the pool and the locks go with it. Waiters poll with
//! `try` instead of blocking in the server: a blocked waiter would hold a pooled connection that
//! the lock holder may need. All keys of a command are taken at once or not at all, so two
//! commands never wait on each other's keys crosswise.

use sqlx::{PgPool, Postgres, Transaction};
use std::time::{Duration, Instant};

/// The first key of the two-key advisory lock space used for guards ("IMIG"): apart from the
/// one-key space the projector runners lock in.
const LOCK_CLASS: i32 = 0x494D_4947;

/// How long a command waits for its guard keys by default before giving up as a conflict.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the keys were not taken.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("guard keys still held by another command after {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The keys held until [`Held::release`] (or until dropped).
pub struct Held {
    transaction: Transaction<'static, Postgres>,
}

impl Held {
    pub async fn release(self) {
        // Nothing was written: a failed rollback only means the connection is gone, and with
        // it the locks.
        let _ = self.transaction.rollback().await;
    }
}

/// Takes every key in `keys` exclusively, waiting up to `timeout`.
pub async fn acquire(
    pool: &PgPool,
    keys: &[String],
    timeout: Duration,
) -> Result<Held, GuardError> {
    let mut keys = keys.to_vec();
    keys.sort();
    keys.dedup();
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        let mut transaction = crate::pool::begin(pool).await?;
        let taken: Option<bool> = sqlx::query_scalar(
            "SELECT bool_and(pg_try_advisory_xact_lock($1, hashtext(key)))
               FROM unnest($2::text[]) AS key",
        )
        .bind(LOCK_CLASS)
        .bind(&keys)
        .fetch_one(&mut *transaction)
        .await?;
        if taken.unwrap_or(true) {
            return Ok(Held { transaction });
        }
        // Some were taken, some not: give them all back before waiting.
        transaction.rollback().await?;
        let now = Instant::now();
        if now >= deadline {
            return Err(GuardError::Timeout(timeout));
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
