//! `imi bench writes --workload title`: the service as its clients see it under write load.
//! The whole service runs in this process on a fresh database (gateway, every projection, the
//! mail sender, the scheduler); concurrent clients, each signed in as its own authority's
//! administrator, send GraphQL mutations over HTTP. In interleaved rounds, the same run measures:
//! - the mutations waiting for their default projections, and with `waitFor: []`;
//! - the command alone through the application's bus (no HTTP, no waiting);
//! - the baseline: raw INSERTs of the same rows, one transaction each, in a second fresh
//!   database with nothing else running.
//!
//! Projection lag: a sampler reads the lowest live checkpoint every few milliseconds with the
//! database's clock; an event's lag is the time from its `recorded_at` to the first sample at
//! which every projection had passed it.

use crate::bench_service::{post, InProcess};
use anyhow::{bail, Result};
use imi_domain::actor::Actor;
use imi_domain::authority::{user_key_id, AuthorityCommand, NewUser};
use imi_domain::command::Issued;
use imi_domain::reference::{Language, MemberState, MEMBER_STATES};
use imi_gateway::Services;
use imi_store::feed::FeedPosition;
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::MasterKey;
use serde_json::json;
use sqlx::{PgPool, Row};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SET_TITLE: &str = "mutation($input: SetInformalTitleInput!) {
  setInformalTitle(input: $input) { position waited }
}";

/// Languages the clients cycle through: each mutation changes one title.
const LANGUAGES: [&str; 4] = ["en", "fr", "de", "pl"];

/// What one side of the comparison does per operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A mutation over HTTP waiting for its default projections.
    Waiting,
    /// A mutation over HTTP with `waitFor: []`.
    NoWait,
    /// The command through the application's bus, in process.
    Command,
    /// A raw INSERT of the same row, one transaction each (the baseline).
    Raw,
}

impl Phase {
    const ALL: [Phase; 4] = [Phase::Raw, Phase::Command, Phase::NoWait, Phase::Waiting];

    fn label(self) -> &'static str {
        match self {
            Phase::Waiting => "setInformalTitle over HTTP, default waitFor",
            Phase::NoWait => "setInformalTitle over HTTP, waitFor: []",
            Phase::Command => "the command alone (bus, no HTTP)",
            Phase::Raw => "raw INSERT, one transaction each",
        }
    }
}

/// One client: its authority, user and token.
struct Client {
    authority_id: String,
    user_id: String,
    token: String,
}

#[derive(Default)]
struct Tally {
    operations: usize,
    errors: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

pub async fn writes_bench(
    pool: &PgPool,
    baseline: &PgPool,
    mut options: crate::app::Options,
    clients: usize,
    seconds: u64,
) -> Result<()> {
    if clients == 0 || clients > MEMBER_STATES.len() {
        bail!(
            "between 1 and {} clients: each is its own Member State's coordinator",
            MEMBER_STATES.len()
        );
    }
    let reference = imi_store::reference::ReferenceData::bundled()?;
    imi_store::reference::load(pool, &reference).await?;
    let mail_dir = std::env::temp_dir().join(format!("imi-bench-writes-{}", uuid::Uuid::now_v7()));
    let mailer = imi_notify::mail::Mailer::directory(&mail_dir, "IMI <no-reply@imi.localhost>")?;
    options.mailer = Some(mailer);
    let service = InProcess::start(pool, MasterKey::generate(), options).await?;
    let (services, base) = (service.services.clone(), service.base.clone());
    let http = reqwest::Client::new();

    let clients = Arc::new(seed_clients(&services, &http, &base, clients).await?);
    wait_caught_up(pool, Duration::from_secs(60)).await?;
    let rounds: u64 = 3;
    let per_round = Duration::from_secs((seconds / rounds).max(1));
    println!(
        "writes: {} clients, {rounds} interleaved rounds of {} s per side, every projection, the sender and the scheduler live",
        clients.len(),
        per_round.as_secs()
    );

    let first_event: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
        .fetch_one(pool)
        .await?;
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn(sample_checkpoints(pool.clone(), sampling.clone()));
    let mut tallies: BTreeMap<u8, Tally> = BTreeMap::new();
    let mut sequences = vec![0i64; clients.len()];
    for round in 0..rounds {
        for phase in Phase::ALL {
            let tally = run_phase(
                phase,
                &services,
                baseline,
                &http,
                &base,
                &clients,
                per_round,
                round,
                &mut sequences,
            )
            .await?;
            let total = tallies.entry(phase as u8).or_default();
            total.operations += tally.operations;
            total.errors += tally.errors;
            total.seconds += tally.seconds;
            total.latencies.extend(tally.latencies);
        }
    }
    // Let the projections finish what the load left, so every event's lag is known.
    wait_caught_up(pool, Duration::from_secs(60)).await?;
    sampling.store(false, Ordering::SeqCst);
    let samples = sampler.await??;
    let lags = event_lags(pool, first_event, &samples).await?;
    let memory = memory();

    for t in tallies.values_mut() {
        t.latencies.sort();
    }
    let rate = |p: Phase| {
        let t = &tallies[&(p as u8)];
        t.operations as f64 / t.seconds
    };
    let raw = rate(Phase::Raw);
    for phase in Phase::ALL {
        let t = &tallies[&(phase as u8)];
        let ratio = if phase == Phase::Raw {
            "(baseline)".to_string()
        } else {
            format!("({:.2}x)", rate(phase) / raw)
        };
        println!(
            "  {:<46} {:>7.0} /s {ratio:<10}  p50 {:>6.1} ms  p99 {:>6.1} ms{}",
            phase.label(),
            rate(phase),
            millis(percentile(&t.latencies, 0.50)),
            millis(percentile(&t.latencies, 0.99)),
            if t.errors > 0 {
                format!("  ({} errors)", t.errors)
            } else {
                String::new()
            }
        );
    }
    let p50 = |p: Phase| millis(percentile(&tallies[&(p as u8)].latencies, 0.50));
    println!(
        "  over the command alone (p50): {:.1} ms with waitFor: [], {:.1} ms waiting",
        p50(Phase::NoWait) - p50(Phase::Command),
        p50(Phase::Waiting) - p50(Phase::Command)
    );
    print_lag_and_memory(&lags, &memory);

    service.stop().await;
    let _ = std::fs::remove_dir_all(&mail_dir);
    Ok(())
}

/// The lag of every event of the load (sorted) and the process's memory, as both write
/// benchmarks report them.
pub(crate) fn print_lag_and_memory(lags: &[Duration], memory: &str) {
    println!(
        "  projection lag (append to every live checkpoint past it, {} events): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        lags.len(),
        millis(percentile(lags, 0.50)),
        millis(percentile(lags, 0.99)),
        millis(lags.last().copied().unwrap_or_default())
    );
    println!("  memory of this process (server and clients): {memory}");
}

/// Registers one national coordinator per client through the application, gives its first
/// user a password, and signs that user in over HTTP.
async fn seed_clients(
    services: &Services,
    http: &reqwest::Client,
    base: &str,
    n: usize,
) -> Result<Vec<Client>> {
    let system = Actor::system("bench");
    let mut clients = Vec::with_capacity(n);
    for member_state in MEMBER_STATES.iter().take(n) {
        let ms = member_state.to_ascii_lowercase();
        let (authority_id, user_id) = (format!("nimic-{ms}"), format!("user-nimic-{ms}-lda"));
        let login = format!("bench.{user_id}");
        let identity = services
            .keyring
            .seal(
                &user_key_id(&user_id),
                &json!({ "name": format!("Bench {member_state}"), "login": login }),
            )
            .await?;
        services
            .authorities
            .execute(
                &authority_id,
                Issued::new(
                    system.clone(),
                    AuthorityCommand::RegisterNationalCoordinator {
                        member_state: MemberState::parse(member_state)?,
                        official_name: format!("Bench coordinator {member_state}"),
                        informal_titles: BTreeMap::new(),
                        first_user: NewUser {
                            user_id: user_id.clone(),
                            identity,
                        },
                    },
                ),
                CommandMetadata::for_actor(&system),
            )
            .await?;
        let token =
            crate::bench_service::sign_in(&services.pool, http, base, &user_id, &authority_id)
                .await?;
        clients.push(Client {
            authority_id,
            user_id,
            token,
        });
    }
    Ok(clients)
}

/// Runs one side for `how_long` with every client at once.
#[allow(clippy::too_many_arguments)]
async fn run_phase(
    phase: Phase,
    services: &Services,
    baseline: &PgPool,
    http: &reqwest::Client,
    base: &str,
    clients: &Arc<Vec<Client>>,
    how_long: Duration,
    round: u64,
    sequences: &mut [i64],
) -> Result<Tally> {
    let started = Instant::now();
    let until = started + how_long;
    let mut workers = Vec::new();
    for (w, sequence) in sequences.iter().enumerate() {
        let (services, baseline, http, base, clients) = (
            services.clone(),
            baseline.clone(),
            http.clone(),
            base.to_string(),
            clients.clone(),
        );
        let mut sequence = *sequence;
        workers.push(tokio::spawn(async move {
            let client = &clients[w];
            let mut tally = Tally::default();
            let mut n = 0usize;
            while Instant::now() < until {
                let language = LANGUAGES[n % LANGUAGES.len()];
                let title = format!("Title {round}-{n} of {}", client.authority_id);
                let began = Instant::now();
                let ok = match phase {
                    Phase::Waiting | Phase::NoWait => {
                        let mut input = json!({
                            "authorityId": client.authority_id,
                            "language": language,
                            "title": title,
                        });
                        if phase == Phase::NoWait {
                            input["waitFor"] = json!([]);
                        }
                        let answer = post(
                            &http,
                            &base,
                            Some(&client.token),
                            SET_TITLE,
                            json!({ "input": input }),
                        )
                        .await?;
                        answer["errors"].is_null()
                    }
                    Phase::Command => {
                        let actor = Actor::User {
                            user_id: client.user_id.clone(),
                            authority_id: client.authority_id.clone(),
                        };
                        let command = AuthorityCommand::SetInformalTitle {
                            language: Language::parse(language)?,
                            title: Some(title),
                        };
                        services
                            .authorities
                            .execute(
                                &client.authority_id,
                                Issued::new(actor.clone(), command),
                                CommandMetadata::for_actor(&actor),
                            )
                            .await
                            .is_ok()
                    }
                    Phase::Raw => {
                        sequence += 1;
                        raw_insert(&baseline, client, sequence, language, &title).await?;
                        true
                    }
                };
                tally.latencies.push(began.elapsed());
                if ok {
                    tally.operations += 1;
                } else {
                    tally.errors += 1;
                }
                n += 1;
            }
            Ok::<_, anyhow::Error>((tally, sequence))
        }));
    }
    let mut total = Tally::default();
    for (w, worker) in workers.into_iter().enumerate() {
        let (tally, sequence) = worker.await??;
        sequences[w] = sequence;
        total.operations += tally.operations;
        total.errors += tally.errors;
        total.latencies.extend(tally.latencies);
    }
    total.seconds = started.elapsed().as_secs_f64();
    Ok(total)
}

/// The row `setInformalTitle` appends, written directly.
async fn raw_insert(
    pool: &PgPool,
    client: &Client,
    sequence: i64,
    language: &str,
    title: &str,
) -> Result<()> {
    let actor = Actor::User {
        user_id: client.user_id.clone(),
        authority_id: client.authority_id.clone(),
    };
    let payload = json!({"InformalTitleSet": {"language": language, "title": title}});
    let metadata = serde_json::to_value(CommandMetadata::for_actor(&actor).into_map())?;
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Authority', $1, $2, 'InformalTitleSet', '1', $3, $4)",
    )
    .bind(&client.authority_id)
    .bind(sequence)
    .bind(payload)
    .bind(metadata)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Waits until every live projection has applied every event (at most a minute).
/// Until every live projection has applied the whole log, for at most `within`.
pub(crate) async fn wait_caught_up(pool: &PgPool, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let behind: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM projections p
              WHERE p.slot = 'live' AND EXISTS (
                SELECT 1 FROM events e
                 WHERE (e.xid, e.position) > (p.xid::text::xid8, p.position))",
        )
        .fetch_one(pool)
        .await?;
        let projections: i64 =
            sqlx::query_scalar("SELECT count(*) FROM projections WHERE slot = 'live'")
                .fetch_one(pool)
                .await?;
        if behind == 0 && projections as usize == imi_projections::all().len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the projections did not catch up within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The lowest live checkpoint, with the database's clock.
pub(crate) struct Sample {
    at: chrono::DateTime<chrono::Utc>,
    lowest: FeedPosition,
}

pub(crate) async fn sample_checkpoints(
    pool: PgPool,
    running: Arc<AtomicBool>,
) -> Result<Vec<Sample>> {
    let mut samples = Vec::new();
    while running.load(Ordering::SeqCst) {
        let row = sqlx::query(
            "SELECT clock_timestamp() AS at, xid, position FROM projections
              WHERE slot = 'live' ORDER BY xid, position LIMIT 1",
        )
        .fetch_optional(&pool)
        .await?;
        if let Some(row) = row {
            samples.push(Sample {
                at: row.try_get("at")?,
                lowest: FeedPosition {
                    xid: row.try_get("xid")?,
                    position: row.try_get("position")?,
                },
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(samples)
}

/// Each event's lag after `after`, sorted: from its append to the first sample whose lowest
/// checkpoint had passed it.
pub(crate) async fn event_lags(
    pool: &PgPool,
    after: i64,
    samples: &[Sample],
) -> Result<Vec<Duration>> {
    let rows = sqlx::query(
        "SELECT xid::text::bigint AS xid, position, recorded_at FROM events WHERE position > $1",
    )
    .bind(after)
    .fetch_all(pool)
    .await?;
    let mut lags = Vec::with_capacity(rows.len());
    for row in rows {
        let at = FeedPosition {
            xid: row.try_get("xid")?,
            position: row.try_get("position")?,
        };
        let recorded: chrono::DateTime<chrono::Utc> = row.try_get("recorded_at")?;
        // Checkpoints only move forward: the first sample past the event is found by bisection.
        let first = samples.partition_point(|s| s.lowest < at);
        if let Some(sample) = samples.get(first) {
            lags.push((sample.at - recorded).to_std().unwrap_or_default());
        }
    }
    lags.sort();
    Ok(lags)
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub(crate) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Peak and current resident memory of this process.
pub(crate) fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.trim_start_matches(name).trim().to_string())
            .unwrap_or_else(|| "unknown".into())
    };
    format!("VmHWM {}, VmRSS {}", field("VmHWM:"), field("VmRSS:"))
}
