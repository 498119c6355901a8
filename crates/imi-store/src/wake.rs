//! Waking projectors after events commit, without slowing appends.
//!
//! A NOTIFY inside the append transaction takes a global lock at commit and serializes all
//! commits. So the signal is sent after commit, outside the transaction: in-process runners see
//! a watch channel tick at once; other processes get one `NOTIFY imi_events` per burst (signals
//! within `NOTIFY_DEBOUNCE`, or while a NOTIFY is in flight, are coalesced into one).
//!
//! A second signal says that a projection applied a batch: subscriptions re-read what they
//! watch on it instead of polling until the projector catches up. In-process it is a watch
//! channel; other processes get `NOTIFY imi_applied` at once after the batch commits (no
//! debounce: batches are far fewer than commits, and the delay is what subscribers see).

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Notify};

/// The channel other processes LISTEN on.
pub const CHANNEL: &str = "imi_events";

/// The channel on which projectors tell other processes that they applied a batch.
pub const APPLIED_CHANNEL: &str = "imi_applied";

/// How long a burst of commits is gathered into one NOTIFY.
pub const NOTIFY_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(5);

#[derive(Clone)]
pub struct Wake {
    local: Arc<watch::Sender<u64>>,
    remote: Option<Arc<Notify>>,
    /// Ticks when a projection applied a batch, in this process or (when listening) another.
    applied: Arc<watch::Sender<u64>>,
    remote_applied: Option<Arc<Notify>>,
    /// Whether the local channel also ticks on other processes' commits ([`Wake::listen`]).
    listening: Arc<AtomicBool>,
}

impl Wake {
    /// Wakes in-process runners only (tests, benchmarks, a single-process deployment).
    pub fn local_only() -> Self {
        Self {
            local: Arc::new(watch::channel(0).0),
            remote: None,
            applied: Arc::new(watch::channel(0).0),
            remote_applied: None,
            listening: Arc::default(),
        }
    }

    /// Wakes in-process runners and, through `NOTIFY`, those of other processes.
    pub fn with_notify(pool: PgPool) -> Self {
        let remote = Arc::new(Notify::new());
        let signal = remote.clone();
        let remote_applied = Arc::new(Notify::new());
        let applied_signal = remote_applied.clone();
        let applied_pool = pool.clone();
        tokio::spawn(async move {
            loop {
                // Batches applied while a NOTIFY is in flight share the next one.
                applied_signal.notified().await;
                if let Err(error) = sqlx::query("SELECT pg_notify($1, '')")
                    .bind(APPLIED_CHANNEL)
                    .execute(&applied_pool)
                    .await
                {
                    // Subscriptions elsewhere still poll; a lost signal only delays them.
                    tracing::warn!(%error, "could not notify other processes of applied events");
                }
            }
        });
        tokio::spawn(async move {
            loop {
                signal.notified().await;
                // Debounce: commits within this window share one NOTIFY (each NOTIFY is a
                // query the database serializes); other processes also poll.
                tokio::time::sleep(NOTIFY_DEBOUNCE).await;
                if let Err(error) = sqlx::query("SELECT pg_notify($1, '')")
                    .bind(CHANNEL)
                    .execute(&pool)
                    .await
                {
                    // Other processes still poll; a lost wake-up only delays them.
                    tracing::warn!(%error, "could not notify other processes of new events");
                }
            }
        });
        Self {
            local: Arc::new(watch::channel(0).0),
            remote: Some(remote),
            applied: Arc::new(watch::channel(0).0),
            remote_applied: Some(remote_applied),
            listening: Arc::default(),
        }
    }

    /// Called after a transaction with events committed.
    pub fn events_committed(&self) {
        self.local.send_modify(|n| *n = n.wrapping_add(1));
        if let Some(remote) = &self.remote {
            remote.notify_one();
        }
    }

    /// Called after a projector committed a batch: wakes this process's subscriptions at once
    /// and, through `NOTIFY imi_applied`, those of other processes.
    pub fn projection_applied(&self) {
        self.applied.send_modify(|n| *n = n.wrapping_add(1));
        if let Some(remote) = &self.remote_applied {
            remote.notify_one();
        }
    }

    /// A receiver that ticks after a projection applied a batch in this process, or in
    /// another one when this process listens ([`Wake::listen`]).
    pub fn subscribe_applied(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// Ticks this process's receivers without new events (the training clock moved: what
    /// became due is acted on at once).
    pub fn nudge(&self) {
        self.local.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Makes [`Wake::subscribe`]'s receivers tick on other processes' commits too, through one
    /// `LISTEN` connection for the whole process (reconnected when lost) instead of one per
    /// waiting task.
    pub fn listen(&self, pool: PgPool) {
        if self.listening.swap(true, Ordering::SeqCst) {
            return;
        }
        let (local, applied) = (self.local.clone(), self.applied.clone());
        tokio::spawn(async move {
            loop {
                let mut listener = match PgListener::connect_with(&pool).await {
                    Ok(listener) => listener,
                    Err(error) => {
                        tracing::warn!(%error, "cannot LISTEN for other processes' commits");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if let Err(error) = listener.listen_all([CHANNEL, APPLIED_CHANNEL]).await {
                    tracing::warn!(%error, "cannot LISTEN for other processes' commits");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
                // Commits may have been missed while not listening.
                local.send_modify(|n| *n = n.wrapping_add(1));
                applied.send_modify(|n| *n = n.wrapping_add(1));
                loop {
                    match listener.try_recv().await {
                        Ok(Some(n)) if n.channel() == APPLIED_CHANNEL => {
                            applied.send_modify(|n| *n = n.wrapping_add(1))
                        }
                        Ok(Some(_)) => local.send_modify(|n| *n = n.wrapping_add(1)),
                        // The connection was lost: reconnect.
                        Ok(None) => break,
                        Err(error) => {
                            tracing::warn!(%error, "lost the LISTEN connection");
                            break;
                        }
                    }
                }
            }
        });
    }

    /// Whether receivers also tick on other processes' commits.
    pub fn listens(&self) -> bool {
        self.listening.load(Ordering::SeqCst)
    }

    /// A receiver that ticks after every commit in this process.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.local.subscribe()
    }
}
