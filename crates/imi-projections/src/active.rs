//! The session advisory locks that make one runner per projection the active one, held on one
//! connection for all the runners of a process (a connection per runner would spend the
//! database's connection budget on idle sessions).
//!
//! Losing that connection releases every lock it held: each runner notices at its next check
//! (the connection's generation changed) and stops, to be restarted as a standby.

use sqlx::{Connection, PgConnection, PgPool};
use std::collections::HashSet;
use tokio::sync::Mutex;

/// The lock holder shared by a process's runners.
pub struct ActiveLocks {
    pool: PgPool,
    held: Mutex<Holder>,
}

#[derive(Default)]
struct Holder {
    conn: Option<PgConnection>,
    /// Bumped at each new connection: a lease of an older generation is lost.
    generation: u64,
    keys: HashSet<String>,
}

/// A lock this process holds, valid while its connection lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub key: String,
    generation: u64,
}

impl ActiveLocks {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            held: Mutex::new(Holder::default()),
        }
    }

    /// Takes `key` if no session (this process's runners included) holds it.
    pub async fn try_take(&self, key: &str) -> Result<Option<Lease>, sqlx::Error> {
        let mut holder = self.held.lock().await;
        if holder.keys.contains(key) {
            // Session locks are re-entrant: a second runner here must not share the lease.
            return Ok(None);
        }
        if holder.conn.is_none() {
            // A connection of its own, outside the pool's count and its idle timeout.
            let conn = imi_store::pool::acquire(&self.pool).await?.detach();
            holder.conn = Some(conn);
            holder.generation += 1;
            holder.keys.clear();
        }
        let conn = holder.conn.as_mut().expect("connected above");
        let got = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
            .bind(key)
            .fetch_one(&mut *conn)
            .await;
        match got {
            Ok(true) => {
                holder.keys.insert(key.to_string());
                Ok(Some(Lease {
                    key: key.to_string(),
                    generation: holder.generation,
                }))
            }
            Ok(false) => Ok(None),
            Err(error) => {
                holder.conn = None;
                Err(error)
            }
        }
    }

    /// Whether `lease` still holds: its connection is the current one and answers.
    pub async fn holds(&self, lease: &Lease) -> bool {
        let mut holder = self.held.lock().await;
        if holder.generation != lease.generation || !holder.keys.contains(&lease.key) {
            return false;
        }
        let Some(conn) = holder.conn.as_mut() else {
            return false;
        };
        if conn.ping().await.is_ok() {
            return true;
        }
        holder.conn = None;
        holder.keys.clear();
        false
    }

    /// Which of `leases` still hold, for one round trip on the lock connection.
    pub async fn hold_all(&self, leases: &[&Lease]) -> Vec<bool> {
        let mut holder = self.held.lock().await;
        let alive = match holder.conn.as_mut() {
            Some(conn) => conn.ping().await.is_ok(),
            None => false,
        };
        if !alive {
            holder.conn = None;
            holder.keys.clear();
        }
        leases
            .iter()
            .map(|l| alive && holder.generation == l.generation && holder.keys.contains(&l.key))
            .collect()
    }

    /// Gives `lease` up, so a standby takes over.
    pub async fn release(&self, lease: &Lease) {
        let mut holder = self.held.lock().await;
        if holder.generation != lease.generation || !holder.keys.remove(&lease.key) {
            return;
        }
        if let Some(conn) = holder.conn.as_mut() {
            let released = sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
                .bind(&lease.key)
                .execute(&mut *conn)
                .await;
            if released.is_err() {
                holder.conn = None;
                holder.keys.clear();
            }
        }
    }
}
