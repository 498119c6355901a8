//! Waking projectors after events commit, without slowing appends.
//!
//! A NOTIFY inside the append transaction takes a global lock at commit and serializes all
//! commits. So the signal is sent after commit, outside the transaction: in-process runners see
//! a watch channel tick at once; other processes get one `NOTIFY imi_events` per burst (signals
//! within `NOTIFY_DEBOUNCE`, or while a NOTIFY is in flight, are coalesced into one).
//!
//! A process's own `NOTIFY imi_events` comes back through its own LISTEN: it carries the
//! sending [`Wake`]'s id, and that LISTEN passes over it (its local channel ticked at the commit
//! already; ticking again would only start another round of every projection batch, to find
//! nothing).
//!
//! A second signal says that projection checkpoints moved: `waitFor` waiters and
//! subscriptions re-read what they watch then, instead of polling until the projector catches
//! up. In-process it is a watch channel ticked after the batch commits; other processes get
//! the `NOTIFY imi_projections` the batch's own transaction sends (delivered at commit).

use crate::feed::FeedPosition;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, Notify};

/// The channel other processes LISTEN on.
pub const CHANNEL: &str = "imi_events";

/// The channel projection engines NOTIFY on after moving checkpoints, for those waiting on
/// projections (`waitFor`) in other processes.
pub const PROGRESS_CHANNEL: &str = "imi_projections";

/// Ticks whenever a projection checkpoint moved, in this process or (through the process's
/// LISTEN) in another: waiters re-read the checkpoints then instead of polling.
static PROGRESS: std::sync::LazyLock<watch::Sender<u64>> =
    std::sync::LazyLock::new(|| watch::channel(0).0);

/// Called after a transaction that moved projection checkpoints committed.
pub fn projections_moved() {
    PROGRESS.send_modify(|n| *n = n.wrapping_add(1));
}

/// The live checkpoints this process's projectors committed, by database and projection: a
/// waiter on projections this process applies learns from here that they passed its position,
/// without asking the database at every batch of every lane.
static COMMITTED: std::sync::LazyLock<Mutex<HashMap<(String, String), FeedPosition>>> =
    std::sync::LazyLock::new(Mutex::default);

fn committed() -> std::sync::MutexGuard<'static, HashMap<(String, String), FeedPosition>> {
    COMMITTED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which database a pool writes to (one process may serve several: tests, benchmarks).
pub(crate) fn database(pool: &PgPool) -> String {
    let options = pool.connect_options();
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or_default()
    )
}

/// Called after a transaction on `pool` that moved the live checkpoints of `names` to `to`
/// committed: records them, then ticks as [`projections_moved`] does.
pub fn projections_moved_to<'a>(
    pool: &PgPool,
    names: impl IntoIterator<Item = &'a str>,
    to: FeedPosition,
) {
    let database = database(pool);
    {
        let mut committed = committed();
        for name in names {
            let at = committed
                .entry((database.clone(), name.to_string()))
                .or_insert(to);
            *at = (*at).max(to);
        }
    }
    projections_moved();
}

/// Where this process last moved `name`'s live checkpoint in `pool`'s database; `None` when it
/// does not apply it (another process may). Never ahead of the database: it is recorded after
/// the commit, and a live checkpoint only moves forward.
pub fn committed_here(pool: &PgPool, name: &str) -> Option<FeedPosition> {
    committed()
        .get(&(database(pool), name.to_string()))
        .copied()
}

/// This process no longer applies `name` in `pool`'s database (its active lock was released or
/// lost).
pub fn not_applied_here(pool: &PgPool, name: &str) {
    committed().remove(&(database(pool), name.to_string()));
}

/// A receiver that ticks whenever projection checkpoints moved (see [`projections_moved`]).
pub fn watch_projections() -> watch::Receiver<u64> {
    PROGRESS.subscribe()
}

/// How long a burst of commits is gathered into one NOTIFY.
pub const NOTIFY_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(5);

#[derive(Clone)]
pub struct Wake {
    local: Arc<watch::Sender<u64>>,
    remote: Option<Arc<Notify>>,
    /// Whether the local channel also ticks on other processes' commits ([`Wake::listen`]).
    listening: Arc<AtomicBool>,
    /// The payload of this wake's NOTIFYs, by which its LISTEN knows its own.
    id: Arc<str>,
}

fn new_id() -> Arc<str> {
    uuid::Uuid::new_v4().to_string().into()
}

impl Wake {
    /// Wakes in-process runners only (tests, benchmarks, a single-process deployment).
    pub fn local_only() -> Self {
        Self {
            local: Arc::new(watch::channel(0).0),
            remote: None,
            listening: Arc::default(),
            id: new_id(),
        }
    }

    /// Wakes in-process runners and, through `NOTIFY`, those of other processes.
    pub fn with_notify(pool: PgPool) -> Self {
        let remote = Arc::new(Notify::new());
        let signal = remote.clone();
        let id = new_id();
        let payload = id.clone();
        tokio::spawn(async move {
            loop {
                signal.notified().await;
                // Debounce: commits within this window share one NOTIFY (each NOTIFY is a
                // query the database serializes); other processes also poll.
                tokio::time::sleep(NOTIFY_DEBOUNCE).await;
                if let Err(error) = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(&*payload)
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
            listening: Arc::default(),
            id,
        }
    }

    /// Called after a transaction with events committed.
    pub fn events_committed(&self) {
        self.local.send_modify(|n| *n = n.wrapping_add(1));
        if let Some(remote) = &self.remote {
            remote.notify_one();
        }
    }

    /// Ticks this process's receivers without new events (the training clock moved: what
    /// became due is acted on at once).
    pub fn nudge(&self) {
        self.local.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Makes [`Wake::subscribe`]'s receivers tick on other processes' commits too, and
    /// [`watch_projections`]' on other processes' projection checkpoints, through one `LISTEN`
    /// connection for the whole process (reconnected when lost) instead of one per waiting task.
    pub fn listen(&self, pool: PgPool) {
        if self.listening.swap(true, Ordering::SeqCst) {
            return;
        }
        let local = self.local.clone();
        let own = self.id.clone();
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
                if let Err(error) = listener.listen_all([CHANNEL, PROGRESS_CHANNEL]).await {
                    tracing::warn!(%error, "cannot LISTEN for other processes' commits");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
                // Commits may have been missed while not listening.
                local.send_modify(|n| *n = n.wrapping_add(1));
                projections_moved();
                loop {
                    match listener.try_recv().await {
                        Ok(Some(n)) if n.channel() == PROGRESS_CHANNEL => projections_moved(),
                        // This process's own commits ticked at once.
                        Ok(Some(n)) if n.payload() == &*own => {}
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
