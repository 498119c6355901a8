//! Wiring: the pool, the command buses, the key ring and the projector runners.

use anyhow::Result;
use imi_app::App;
use imi_domain::authority::Clock;
use imi_gateway::Services;
use imi_notify::mail::Mailer;
use imi_notify::scheduler::Scheduler;
use imi_notify::sender::Sender;
use imi_store::alert_bus::{alert_bus_with, SharedAlertServices};
use imi_store::authority_bus::{authority_bus_with, SharedServices};
use imi_store::authority_lookup::StoreLookup;
use imi_store::commands::AggregateConfig;
use imi_store::request_bus::{request_bus_with, SharedRequestServices};
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Connections per process: each projector and the scheduler hold one for their advisory
/// lock; requests, the mail sender and the projectors' batches share the rest.
pub const POOL_SIZE: u32 = 40;

pub async fn connect(url: &str) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?)
}

/// Snapshots of the Authority aggregate every this many events (`IMI_SNAPSHOT_AUTHORITY`;
/// 0 turns them off). Authorities live long and collect many events.
pub fn authority_config() -> AggregateConfig {
    let every = std::env::var("IMI_SNAPSHOT_AUTHORITY")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(10);
    AggregateConfig {
        snapshot_every: (every > 0).then_some(every),
    }
}

/// Snapshots of the InformationRequest aggregate every this many events
/// (`IMI_SNAPSHOT_REQUEST`; 0 turns them off). A request has some tens of events.
pub fn request_config() -> AggregateConfig {
    let every = std::env::var("IMI_SNAPSHOT_REQUEST")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(20);
    AggregateConfig {
        snapshot_every: (every > 0).then_some(every),
    }
}

/// Snapshots of the Alert aggregate every this many events (`IMI_SNAPSHOT_ALERT`; 0 turns
/// them off).
pub fn alert_config() -> AggregateConfig {
    let every = std::env::var("IMI_SNAPSHOT_ALERT")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(10);
    AggregateConfig {
        snapshot_every: (every > 0).then_some(every),
    }
}

pub fn services(pool: PgPool, master: MasterKey, token_secret: &str, wake: Wake) -> Services {
    services_with_clock(
        pool,
        master,
        token_secret,
        wake,
        Arc::new(imi_domain::authority::SystemClock),
    )
}

/// As [`services`], with the aggregates deciding on `clock`.
pub fn services_with_clock(
    pool: PgPool,
    master: MasterKey,
    token_secret: &str,
    wake: Wake,
    clock: Arc<dyn Clock>,
) -> Services {
    let lookup = || StoreLookup::new(pool.clone()).with_clock(clock.clone());
    let app = App::new(
        pool.clone(),
        Arc::new(authority_bus_with(
            pool.clone(),
            authority_config(),
            SharedServices::new(lookup()),
            wake.clone(),
        )),
        Arc::new(request_bus_with(
            pool.clone(),
            request_config(),
            SharedRequestServices::new(lookup()),
            wake.clone(),
        )),
        Arc::new(alert_bus_with(
            pool.clone(),
            alert_config(),
            SharedAlertServices::new(lookup()),
            wake.clone(),
        )),
        Arc::new(KeyRing::new(pool.clone(), master)),
        wake,
        clock,
    );
    Services {
        app,
        token_secret: Arc::new(token_secret.as_bytes().to_vec()),
    }
}

/// One runner per projection, restarted after an error.
pub fn spawn_runners(pool: &PgPool, wake: &Wake) -> Vec<JoinHandle<()>> {
    imi_projections::all()
        .into_iter()
        .map(|projection| {
            let (pool, wake) = (pool.clone(), wake.clone());
            tokio::spawn(async move {
                loop {
                    let runner = imi_projections::runner::Runner::new(
                        pool.clone(),
                        projection.clone(),
                    )
                    .with_local_wake(wake.subscribe());
                    if let Err(error) = runner.run().await {
                        tracing::error!(projection = projection.name(), %error, "runner failed; restarting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            })
        })
        .collect()
}

/// The mail sender and the scheduler, running until `stop` turns true.
pub struct Notifiers {
    pub stop: tokio::sync::watch::Sender<bool>,
    pub tasks: Vec<JoinHandle<()>>,
}

impl Notifiers {
    /// Stops both between two actions and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Starts the mail sender (mailing the outbox through `mailer`) and the scheduler (acting on
/// time rules by `clock`, one active process at a time).
pub fn spawn_notifiers(services: &Services, mailer: Mailer, clock: Arc<dyn Clock>) -> Notifiers {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let name = format!("{}:{}", hostname(), std::process::id());
    let sender = Sender::new(
        services.pool.clone(),
        services.keyring.clone(),
        mailer,
        &name,
    );
    let scheduler = Scheduler::new(services.pool.clone(), clock)
        .erasing(services.keyring.as_ref().clone())
        .route(
            "Authority",
            services.authorities.clone() as Arc<dyn imi_notify::scheduler::Dispatch>,
        )
        .route(
            "InformationRequest",
            services.requests.clone() as Arc<dyn imi_notify::scheduler::Dispatch>,
        )
        .route(
            "Alert",
            services.alerts.clone() as Arc<dyn imi_notify::scheduler::Dispatch>,
        );
    let (wake, stop_sender) = (services.wake.subscribe(), stopped.clone());
    let sending = tokio::spawn(async move { sender.run(wake, stop_sender).await });
    let wake = services.wake.subscribe();
    let scheduling = tokio::spawn(async move { scheduler.run(wake, stopped).await });
    Notifiers {
        stop,
        tasks: vec![sending, scheduling],
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "imi".to_string())
}
