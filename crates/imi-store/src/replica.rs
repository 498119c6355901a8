//! A streaming standby that serves reads, and the WAL positions that say when it holds a
//! write: the primary's `pg_current_wal_insert_lsn()` taken after the write (and the
//! projection batches it waited for) committed, against the standby's
//! `pg_last_wal_replay_lsn()`.

use sqlx::{PgPool, Row};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A WAL position, written as PostgreSQL writes a `pg_lsn` (`16/B374D848`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lsn(pub u64);

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl FromStr for Lsn {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is no WAL position (like 16/B374D848)");
        let (high, low) = text.trim().split_once('/').ok_or_else(bad)?;
        let part = |p: &str| {
            (!p.is_empty() && p.len() <= 8)
                .then(|| u64::from_str_radix(p, 16).ok())
                .flatten()
                .ok_or_else(bad)
        };
        Ok(Lsn(part(high)? << 32 | part(low)?))
    }
}

/// The primary's WAL position now: every transaction committed before this call is at or
/// below it. The insert position, not the write position: projection batches commit without
/// waiting for the WAL (`synchronous_commit = off`), so their commit records may still sit in
/// the WAL buffers, above `pg_current_wal_lsn()`; the WAL writer flushes them within
/// `wal_writer_delay` and the standby then replays them.
pub async fn primary_position(primary: &PgPool) -> sqlx::Result<Lsn> {
    let position: i64 =
        sqlx::query_scalar("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint")
            .fetch_one(primary)
            .await?;
    Ok(Lsn(position as u64))
}

/// How far a standby has replayed; `None` when the server is no standby (not in recovery).
pub async fn replayed(replica: &PgPool) -> sqlx::Result<Option<Lsn>> {
    let position: Option<i64> = sqlx::query_scalar(
        "SELECT CASE WHEN pg_is_in_recovery()
                THEN (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint END",
    )
    .fetch_one(replica)
    .await?;
    Ok(position.map(|p| Lsn(p as u64)))
}

/// The read replica of a gateway: its pool, how long a read waits for it to replay a client's
/// write before it goes to the primary, and what happened to the reads routed so far.
pub struct Replica {
    pub pool: PgPool,
    /// Longest a read (or a mutation's answer) waits for the replica to replay a position.
    pub max_wait: Duration,
    /// Waits (of reads and of mutations' answers) that saw the replica replay their position.
    pub caught_up: AtomicU64,
    /// Waits that ran out first, or could not read the replica's position: such a read went
    /// to the primary.
    pub timed_out: AtomicU64,
}

/// What `/ready` and `/metrics` say of the replica.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaStatus {
    /// The standby's replayed position (`None`: the server is no standby).
    pub replayed: Option<Lsn>,
    /// The primary's position now.
    pub primary: Lsn,
    /// Bytes of WAL the standby has not replayed yet.
    pub lag_bytes: u64,
    /// Since the last transaction the standby replayed committed on the primary (grows while
    /// the primary is idle too: read it with `lag_bytes`).
    pub lag_seconds: Option<f64>,
}

impl Replica {
    pub fn new(pool: PgPool, max_wait: Duration) -> Self {
        Self {
            pool,
            max_wait,
            caught_up: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
        }
    }

    /// Waits (polling every few milliseconds, at most [`Replica::max_wait`]) until the
    /// replica has replayed `position`; false when it did not in time or cannot say (then the
    /// read goes to the primary). A server that is no standby never counts as caught up.
    pub async fn wait_for(&self, position: Lsn) -> bool {
        let deadline = Instant::now() + self.max_wait;
        let mut pause = Duration::from_millis(1);
        let reached = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, replayed(&self.pool)).await {
                Ok(Ok(Some(replayed))) if replayed >= position => break true,
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) => break false,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "read replica: cannot read its replay position");
                    break false;
                }
                Err(_) => break false,
            }
            if Instant::now() + pause > deadline {
                break false;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(20));
        };
        let counter = if reached {
            &self.caught_up
        } else {
            &self.timed_out
        };
        counter.fetch_add(1, Ordering::Relaxed);
        reached
    }

    /// The replica's position and lag behind `primary`.
    pub async fn status(&self, primary: &PgPool) -> sqlx::Result<ReplicaStatus> {
        let row = sqlx::query(
            "SELECT CASE WHEN pg_is_in_recovery()
                    THEN (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint END AS replayed,
                    extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS lag",
        )
        .fetch_one(&self.pool)
        .await?;
        let replayed = row
            .try_get::<Option<i64>, _>("replayed")?
            .map(|p| Lsn(p as u64));
        let primary = primary_position(primary).await?;
        Ok(ReplicaStatus {
            replayed,
            primary,
            lag_bytes: replayed.map_or(0, |r| primary.0.saturating_sub(r.0)),
            lag_seconds: row.try_get("lag")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_and_write_as_postgresql_does() {
        let lsn: Lsn = "16/B374D848".parse().unwrap();
        assert_eq!(lsn, Lsn(0x16_B374_D848));
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert_eq!("0/0".parse::<Lsn>().unwrap(), Lsn(0));
        assert!("0/1".parse::<Lsn>().unwrap() > Lsn(0));
        for bad in ["", "16", "16/", "/1", "x/1", "1/123456789", "-1/0"] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad}");
        }
    }
}
