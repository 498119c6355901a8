//! `imi bench live`: how soon a subscription learns of a change once its projection applied it.
//!
//! One projector runner (the authority directory) applies commands as the service does, and
//! tells its batches (`imi_store::wake::projections_moved`, and `NOTIFY imi_projections` from
//! the batch's transaction). Two change watchers follow the
//! projection as a gateway's subscriptions do: one in the projector's process (woken by the
//! in-process signal) and one as in another process (its own `LISTEN imi_projections`). For each
//! command the bench takes the moment the projector signalled its batch and the moment each
//! watcher delivered the new checkpoint. Baseline, interleaved in the same run: the round trip
//! of a bare `NOTIFY` to a `LISTEN`ing connection of the same server.

use anyhow::{Context, Result};
use imi_domain::command::Issued;
use imi_gateway::live::ProjectionWatch;
use imi_projections::directory::AuthorityDirectory;
use imi_projections::runner::Runner;
use imi_store::authority_bus::authority_bus;
use imi_store::metadata::CommandMetadata;
use imi_store::wake::Wake;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BASELINE_CHANNEL: &str = "imi_bench_round_trip";
/// Longest wait for one delivery: past it the sample counts as lost (and is reported).
const GIVE_UP: Duration = Duration::from_secs(5);

pub async fn live_bench(pool: &PgPool, samples: usize) -> Result<()> {
    let wake = Wake::with_notify(pool.clone());
    let bus = authority_bus(pool.clone(), crate::app::authority_config(), wake.clone());
    crate::bench::register_authorities(pool, &bus, 1).await?;

    let projection = Arc::new(AuthorityDirectory);
    let runner = Runner::new(pool.clone(), projection).with_local_wake(wake.subscribe());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(runner.with_stop(stopped).run());

    // When the projector signalled each batch, seen as early as any subscriber could see it.
    let applied_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let mut applied = imi_store::wake::watch_projections();
    let recorder = {
        let applied_at = applied_at.clone();
        tokio::spawn(async move {
            while applied.changed().await.is_ok() {
                *applied_at.lock().expect("not poisoned") = Some(Instant::now());
            }
        })
    };

    let name = imi_projections::directory::NAME;
    let same = ProjectionWatch::new(name, pool.clone(), wake.clone());
    // Another process: its own wake (nothing in common but the database), so only the NOTIFY
    // of the projector's batch reaches it.
    let other = ProjectionWatch::new(name, pool.clone(), Wake::local_only());
    let (mut same_rx, mut other_rx) = (same.subscribe(), other.subscribe());

    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(BASELINE_CHANNEL).await?;

    // Let the runner catch up with the registration first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    same_rx.borrow_and_update();
    other_rx.borrow_and_update();

    let (mut baseline, mut in_process, mut across, mut commit_to_delivery) =
        (vec![], vec![], vec![], vec![]);
    let mut lost = 0;
    let user = crate::bench::lda(0);
    for n in 0..samples {
        // Baseline: a bare NOTIFY and its arrival.
        let started = Instant::now();
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(BASELINE_CHANNEL)
            .execute(pool)
            .await?;
        tokio::time::timeout(GIVE_UP, listener.recv())
            .await
            .context("the baseline NOTIFY did not arrive")??;
        baseline.push(started.elapsed());

        *applied_at.lock().expect("not poisoned") = None;
        let committed = Instant::now();
        bus.execute(
            "a-0",
            Issued::new(user.clone(), crate::bench::title_command(n)),
            CommandMetadata::for_actor(&user),
        )
        .await?;
        let (a, b) = tokio::join!(delivered(&mut same_rx), delivered(&mut other_rx));
        // The recorder is a task of its own: under load it may run after the deliveries.
        for _ in 0..100 {
            if applied_at.lock().expect("not poisoned").is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let Some(applied) = *applied_at.lock().expect("not poisoned") else {
            lost += 1;
            continue;
        };
        match (a, b) {
            (Some(a), Some(b)) => {
                in_process.push(a.saturating_duration_since(applied));
                across.push(b.saturating_duration_since(applied));
                commit_to_delivery.push(a.saturating_duration_since(committed));
            }
            _ => lost += 1,
        }
        // Space the samples out, as a user's changes are.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    let _ = runner.await;
    recorder.abort();

    println!(
        "live: {samples} changes to the authority directory, {} measured, {lost} lost (none expected)",
        in_process.len()
    );
    let base = summary(&mut baseline);
    println!(
        "  NOTIFY round trip alone                          p50 {:>7.2} ms  p99 {:>7.2} ms  (baseline)",
        base.0, base.1
    );
    for (label, v) in [
        (
            "applied -> delivered, same process              ",
            &mut in_process,
        ),
        (
            "applied -> delivered, other process (NOTIFY)    ",
            &mut across,
        ),
        (
            "command returned -> delivered, same process     ",
            &mut commit_to_delivery,
        ),
    ] {
        let (p50, p99) = summary(v);
        println!(
            "  {label} p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  ({:.2}x baseline p50)",
            p50 / base.0
        );
    }
    Ok(())
}

/// When the watcher published its next checkpoint (`None`: not within [`GIVE_UP`]).
async fn delivered(
    rx: &mut tokio::sync::watch::Receiver<imi_gateway::live::Position>,
) -> Option<Instant> {
    match tokio::time::timeout(GIVE_UP, rx.changed()).await {
        Ok(Ok(())) => {
            rx.borrow_and_update();
            Some(Instant::now())
        }
        _ => None,
    }
}

/// p50 and p99 in milliseconds.
fn summary(v: &mut [Duration]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    v.sort();
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1_000.0;
    (at(0.5), at(0.99))
}
