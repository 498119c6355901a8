//! Wiring: the pool, the command buses, the key ring and the projector runners.

use anyhow::Result;
use imi_gateway::Services;
use imi_store::alert_bus::alert_bus;
use imi_store::authority_bus::authority_bus;
use imi_store::commands::AggregateConfig;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

pub async fn connect(url: &str) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(20)
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
    Services {
        authorities: Arc::new(authority_bus(
            pool.clone(),
            authority_config(),
            wake.clone(),
        )),
        alerts: Arc::new(alert_bus(pool.clone(), alert_config(), wake.clone())),
        keyring: Arc::new(KeyRing::new(pool.clone(), master)),
        token_secret: Arc::new(token_secret.as_bytes().to_vec()),
        wake,
        pool,
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
