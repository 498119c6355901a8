//! Login throttling: failed sign-ins counted per login name and per client address in
//! PostgreSQL (table `login_throttle`, migration 0013), so every gateway process shares the
//! counts and a restart does not reset them.
//!
//! - A login name is locked out after [`LOGIN_FAILURES`] failures in a row, for [`LOCKOUT`],
//!   twice as long after each further lockout up to [`MAX_LOCKOUT`]. While it is locked even
//!   the right password is refused, and no password is checked. A success resets it.
//! - A client address may fail [`ADDRESS_FAILURES`] times per [`ADDRESS_WINDOW`], across
//!   login names; beyond, its sign-ins are refused until the window ends.
//! - Unknown login names are counted and locked like known ones: the answers do not tell
//!   whether a login exists.
//!
//! An attempt is counted as failed when it is admitted, before its password is checked, and
//! taken back if it succeeds: concurrent attempts cannot check more passwords than the limit
//! allows, and an attempt whose outcome is never recorded (a crash) counts as a failure.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgPool, Postgres, Row, Transaction};

/// Failures in a row that lock a login name out.
pub const LOGIN_FAILURES: i32 = 5;
/// The first lockout; each further one in a row lasts twice as long.
pub const LOCKOUT: Duration = Duration::minutes(15);
/// The longest lockout.
pub const MAX_LOCKOUT: Duration = Duration::hours(4);
/// Failures one client address may have per window, across login names.
pub const ADDRESS_FAILURES: i32 = 50;
/// The address window.
pub const ADDRESS_WINDOW: Duration = Duration::minutes(15);
/// A lockout this long past stops doubling the next one; counters idle this long are dropped.
pub const FORGET_AFTER: Duration = Duration::hours(24);

/// The limits (the constants above by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub login_failures: i32,
    pub lockout: Duration,
    pub max_lockout: Duration,
    pub address_failures: i32,
    pub address_window: Duration,
    pub forget_after: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            login_failures: LOGIN_FAILURES,
            lockout: LOCKOUT,
            max_lockout: MAX_LOCKOUT,
            address_failures: ADDRESS_FAILURES,
            address_window: ADDRESS_WINDOW,
            forget_after: FORGET_AFTER,
        }
    }
}

impl Limits {
    /// The lockout after `earlier` lockouts in a row.
    pub fn lockout_after(&self, earlier: i32) -> Duration {
        let factor = 1i32
            .checked_shl(earlier.clamp(0, 20) as u32)
            .unwrap_or(i32::MAX);
        self.lockout
            .checked_mul(factor)
            .map_or(self.max_lockout, |d| d.min(self.max_lockout))
    }
}

/// What is throttled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Login,
    Address,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Login => "login",
            Scope::Address => "address",
        }
    }
}

/// A lockout that has just started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lockout {
    pub scope: Scope,
    pub until: DateTime<Utc>,
}

/// Whether an attempt may check its password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Check it, then record the outcome with [`succeeded`] or [`failed`].
    Admitted(Attempt),
    /// Refused until `until`; `lockout` when this attempt started the lockout.
    Refused {
        scope: Scope,
        until: DateTime<Utc>,
        lockout: Option<Lockout>,
    },
}

/// An admitted attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    login: String,
    address: String,
    /// This attempt's number among the address's failures in its window.
    address_slot: i32,
    address_window_end: DateTime<Utc>,
}

struct Counter {
    failures: i32,
    window_start: DateTime<Utc>,
    lockouts: i32,
    locked_until: Option<DateTime<Utc>>,
}

/// The counter of `key`, created if new, locked until the transaction ends.
async fn counter(
    tx: &mut Transaction<'_, Postgres>,
    scope: Scope,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Counter, sqlx::Error> {
    sqlx::query(
        "INSERT INTO login_throttle (scope, key, window_start, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(scope.as_str())
    .bind(key)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query(
        "SELECT failures, window_start, lockouts, locked_until FROM login_throttle
          WHERE scope = $1 AND key = $2 FOR UPDATE",
    )
    .bind(scope.as_str())
    .bind(key)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Counter {
        failures: row.try_get("failures")?,
        window_start: row.try_get("window_start")?,
        lockouts: row.try_get("lockouts")?,
        locked_until: row.try_get("locked_until")?,
    })
}

async fn store(
    tx: &mut Transaction<'_, Postgres>,
    scope: Scope,
    key: &str,
    c: &Counter,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE login_throttle
            SET failures = $3, window_start = $4, lockouts = $5, locked_until = $6, updated_at = $7
          WHERE scope = $1 AND key = $2",
    )
    .bind(scope.as_str())
    .bind(key)
    .bind(c.failures)
    .bind(c.window_start)
    .bind(c.lockouts)
    .bind(c.locked_until)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Locks a login out from `now`: the failures start again from zero when it ends.
fn lock(c: &mut Counter, limits: &Limits, now: DateTime<Utc>) -> DateTime<Utc> {
    let earlier = match c.locked_until {
        Some(last) if last + limits.forget_after > now => c.lockouts,
        _ => 0,
    };
    let until = now + limits.lockout_after(earlier);
    c.lockouts = earlier + 1;
    c.locked_until = Some(until);
    c.failures = 0;
    until
}

/// Decides whether a sign-in for `login` (normalized by the caller) from `address` may check
/// its password at `now`, and counts it as failed until told otherwise.
pub async fn admit(
    pool: &PgPool,
    limits: &Limits,
    login: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<Admission, sqlx::Error> {
    let mut tx = crate::pool::begin(pool).await?;
    // Always the address first, then the login: concurrent attempts lock in the same order.
    let mut by_address = counter(&mut tx, Scope::Address, address, now).await?;
    if by_address.window_start + limits.address_window <= now {
        by_address.failures = 0;
        by_address.window_start = now;
    }
    let address_window_end = by_address.window_start + limits.address_window;
    if by_address.failures >= limits.address_failures {
        tx.rollback().await?;
        return Ok(Admission::Refused {
            scope: Scope::Address,
            until: address_window_end,
            lockout: None,
        });
    }
    let mut by_login = counter(&mut tx, Scope::Login, login, now).await?;
    if let Some(until) = by_login.locked_until.filter(|until| *until > now) {
        tx.rollback().await?;
        return Ok(Admission::Refused {
            scope: Scope::Login,
            until,
            lockout: None,
        });
    }
    if by_login.failures >= limits.login_failures {
        // Failures whose lockout was never set (attempts cut short): lock out now.
        let until = lock(&mut by_login, limits, now);
        store(&mut tx, Scope::Login, login, &by_login, now).await?;
        tx.commit().await?;
        return Ok(Admission::Refused {
            scope: Scope::Login,
            until,
            lockout: Some(Lockout {
                scope: Scope::Login,
                until,
            }),
        });
    }
    by_login.failures += 1;
    by_address.failures += 1;
    store(&mut tx, Scope::Address, address, &by_address, now).await?;
    store(&mut tx, Scope::Login, login, &by_login, now).await?;
    tx.commit().await?;
    Ok(Admission::Admitted(Attempt {
        login: login.to_string(),
        address: address.to_string(),
        address_slot: by_address.failures,
        address_window_end,
    }))
}

/// The password was right: the login's failures and lockouts are forgotten, and the attempt
/// no longer counts against its address.
pub async fn succeeded(
    pool: &PgPool,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = crate::pool::begin(pool).await?;
    sqlx::query(
        "UPDATE login_throttle
            SET failures = 0, lockouts = 0, locked_until = NULL, updated_at = $2
          WHERE scope = 'login' AND key = $1",
    )
    .bind(&attempt.login)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE login_throttle SET failures = greatest(failures - 1, 0), updated_at = $2
          WHERE scope = 'address' AND key = $1",
    )
    .bind(&attempt.address)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The password was wrong (the failure is counted already). Returns the lockouts this
/// failure starts: its login's, when it reaches the limit, and its address's, when it is the
/// address's last allowed failure in the window.
pub async fn failed(
    pool: &PgPool,
    limits: &Limits,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Result<Vec<Lockout>, sqlx::Error> {
    let mut lockouts = Vec::new();
    if attempt.address_slot == limits.address_failures {
        lockouts.push(Lockout {
            scope: Scope::Address,
            until: attempt.address_window_end,
        });
    }
    let mut tx = crate::pool::begin(pool).await?;
    let mut by_login = counter(&mut tx, Scope::Login, &attempt.login, now).await?;
    let locked = by_login.locked_until.is_some_and(|until| until > now);
    if !locked && by_login.failures >= limits.login_failures {
        let until = lock(&mut by_login, limits, now);
        store(&mut tx, Scope::Login, &attempt.login, &by_login, now).await?;
        lockouts.push(Lockout {
            scope: Scope::Login,
            until,
        });
    }
    tx.commit().await?;
    // Now and then, drop the counters nobody has used for a while (failures of made-up login
    // names would otherwise pile up).
    if rand::random::<u8>() == 0 {
        prune(pool, limits, now).await?;
    }
    Ok(lockouts)
}

/// Drops counters idle for [`Limits::forget_after`] and not locked; returns how many.
pub async fn prune(pool: &PgPool, limits: &Limits, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM login_throttle
          WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until < $2)",
    )
    .bind(now - limits.forget_after)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_double_up_to_the_cap() {
        let limits = Limits::default();
        assert_eq!(limits.lockout_after(0), Duration::minutes(15));
        assert_eq!(limits.lockout_after(1), Duration::minutes(30));
        assert_eq!(limits.lockout_after(3), Duration::minutes(120));
        assert_eq!(limits.lockout_after(4), Duration::hours(4));
        assert_eq!(limits.lockout_after(50), Duration::hours(4));
        assert_eq!(limits.lockout_after(i32::MAX), Duration::hours(4));
        assert_eq!(limits.lockout_after(-1), Duration::minutes(15));
    }
}
