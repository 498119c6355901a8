//! Telling subscriptions that a read model moved.
//!
//! One task per gateway (started with the first subscription) follows a projection's live
//! checkpoint and publishes it on a watch channel; each subscription re-reads only what it
//! watches when the checkpoint moves. The task reads the checkpoint at once when a projector
//! applied a batch, in this process (the store's [`imi_store::wake::projections_moved`]) or in another
//! one (`LISTEN imi_projections`): that is what makes a change reach subscribers within
//! milliseconds of its projection. It also wakes on commits (then polls quickly, for
//! projectors that do not signal their batches) and otherwise polls slowly (at most once a
//! second) so nothing is missed when a notification is.

use imi_store::feed::FeedPosition;
/// A projection's checkpoint, as a watch carries it.
pub type Position = FeedPosition;
use imi_store::wake::{Wake, CHANNEL, PROGRESS_CHANNEL};
use sqlx::postgres::PgListener;
use sqlx::{PgPool, Row};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::watch;

const MIN_POLL: Duration = Duration::from_millis(5);
const MAX_POLL: Duration = Duration::from_millis(1_000);

/// Follows one projection's live checkpoint.
pub struct ProjectionWatch {
    projection: &'static str,
    pool: PgPool,
    wake: Wake,
    checkpoint: OnceLock<watch::Receiver<FeedPosition>>,
}

impl ProjectionWatch {
    pub fn new(projection: &'static str, pool: PgPool, wake: Wake) -> Self {
        Self {
            projection,
            pool,
            wake,
            checkpoint: OnceLock::new(),
        }
    }

    /// A receiver that changes each time the projection's checkpoint moves. Must be called
    /// inside a Tokio runtime (it starts the following task on first use). The task ends when
    /// this watch and every receiver are gone.
    pub fn subscribe(&self) -> watch::Receiver<FeedPosition> {
        self.checkpoint
            .get_or_init(|| {
                let (tx, rx) = watch::channel(FeedPosition::START);
                tokio::spawn(follow(
                    self.projection,
                    self.pool.clone(),
                    self.wake.subscribe(),
                    imi_store::wake::watch_projections(),
                    !self.wake.listens(),
                    tx,
                ));
                rx
            })
            .clone()
    }
}

async fn follow(
    projection: &'static str,
    pool: PgPool,
    mut local: watch::Receiver<u64>,
    mut applied: watch::Receiver<u64>,
    own_listener: bool,
    tx: watch::Sender<FeedPosition>,
) {
    // Without the process's shared LISTEN (Wake::listen), one of its own.
    let mut listener = match own_listener {
        false => None,
        true => match listen(&pool).await {
            Ok(listener) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "subscriptions cannot LISTEN for other processes' commits: polling");
                None
            }
        },
    };
    let mut local_open = true;
    let mut applied_open = true;
    let mut poll = MIN_POLL;
    loop {
        match checkpoint(&pool, projection).await {
            Ok(Some(at)) if at != *tx.borrow() => {
                tx.send_replace(at);
                poll = MIN_POLL;
            }
            Ok(_) => poll = (poll * 2).min(MAX_POLL),
            Err(error) => {
                tracing::warn!(%error, projection, "cannot read the projection's checkpoint");
                poll = MAX_POLL;
            }
        }
        let local_tick = async {
            if local_open {
                local.changed().await.is_ok()
            } else {
                std::future::pending().await
            }
        };
        let applied_tick = async {
            if applied_open {
                applied.changed().await.is_ok()
            } else {
                std::future::pending().await
            }
        };
        let remote_tick = async {
            match listener.as_mut() {
                Some(l) => l.recv().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tx.closed() => return,
            open = local_tick => {
                local_open = open;
                poll = MIN_POLL;
            }
            open = applied_tick => {
                applied_open = open;
            }
            ok = remote_tick => {
                if !ok {
                    // The listener reconnects on its own next time; poll meanwhile.
                    tokio::time::sleep(poll).await;
                }
                poll = MIN_POLL;
            }
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([CHANNEL, PROGRESS_CHANNEL]).await?;
    Ok(listener)
}

async fn checkpoint(pool: &PgPool, projection: &str) -> Result<Option<FeedPosition>, sqlx::Error> {
    let row =
        sqlx::query("SELECT xid, position FROM projections WHERE name = $1 AND slot = 'live'")
            .bind(projection)
            .fetch_optional(pool)
            .await?;
    row.map(|r| {
        Ok(FeedPosition {
            xid: r.try_get("xid")?,
            position: r.try_get("position")?,
        })
    })
    .transpose()
}
