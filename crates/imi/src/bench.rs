//! Benchmarks, run as CLI commands so their figures come with the command that reproduces
//! them. Each runs in a fresh database and compares against a baseline measured in the same
//! run.

use anyhow::{bail, Result};
use clap::Subcommand;
use imi_domain::actor::Actor;
use imi_domain::authority::{user_key_id, AuthorityCommand, NewUser};
use imi_domain::command::Issued;
use imi_domain::reference::{Language, MemberState, MEMBER_STATES};
use imi_projections::directory::AuthorityDirectory;
use imi_store::authority_bus::{authority_bus, AuthorityBus};
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

#[derive(Subcommand, Clone)]
pub enum BenchCommand {
    /// Command throughput through cqrs-es/postgres-es vs raw INSERTs of the same rows.
    Commands {
        #[arg(long, default_value_t = 20_000)]
        commands: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Rebuild rate of the authority directory over synthetic events.
    Rebuild {
        #[arg(long, default_value_t = 1_000_000)]
        events: i64,
        /// Write the history this many authorities at a time (each with all its events)
        /// instead of interleaving all authorities: a 50,000-event rebuild batch then touches
        /// ~500 authorities instead of every one. 0 interleaves (the worst case).
        #[arg(long, default_value_t = 0)]
        clustered: i64,
    },
    /// The auditors' tools over synthetic events: export rate against a plain COPY of the same
    /// rows, verification of the export alone, a seal over every chain head and its check.
    Audit {
        #[arg(long, default_value_t = 1_000_000)]
        events: i64,
    },
    /// The latency (p50/p99) of one request's view as of a point and of its history as an
    /// auditor reads it, among synthetic events, against its live view in the same run.
    AsOf {
        #[arg(long, default_value_t = 1_000_000)]
        events: i64,
        #[arg(long, default_value_t = 1_000)]
        samples: usize,
    },
    /// The processing log's cost: p50/p99 of a full view with personal data, with and without
    /// the log's append, in the same run.
    ProcessingLog {
        #[arg(long, default_value_t = 1_000)]
        samples: usize,
    },
    /// The scheduler's deletion rate of exchanges past their deletion delay vs raw UPDATEs
    /// erasing the same number of key rows.
    Deletion {
        #[arg(long, default_value_t = 100_000)]
        exchanges: i64,
    },
    /// A free-text field read without and with its machine translation (first and cached),
    /// p50/p99, and translations per second, by Apertium beside the service.
    Translation {
        /// The Apertium server; without it a private one is started.
        #[arg(long, env = "IMI_TRANSLATION_URL")]
        url: Option<String>,
        #[arg(long, default_value_t = 300)]
        texts: usize,
        #[arg(long, default_value_t = 4)]
        readers: usize,
    },
    /// GraphQL mutations over HTTP with the whole service live in this process (every
    /// projection, the sender, the scheduler): throughput and latency waiting and not waiting,
    /// projection lag and memory, vs raw INSERTs of the same rows in a second fresh database.
    Writes {
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Seconds per side, split into interleaved rounds.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// `mix`: request, alert and authority steps by the demo network's users; `title`:
        /// every client changes its own coordinator's informal title, also measured as the
        /// command alone.
        #[arg(long, default_value = "mix", value_parser = ["mix", "title"])]
        workload: String,
        /// The projection engine's lanes (as `imi serve --projection-lanes`).
        #[arg(long, default_value_t = imi_projections::engine::DEFAULT_LANES)]
        projection_lanes: usize,
        /// As `imi serve --projection-merge-at` (0: the lanes never merge).
        #[arg(long, default_value_t = imi_projections::engine::MERGE_AT)]
        projection_merge_at: usize,
    },
    /// How soon a subscription's watcher delivers a change once its projection applied it
    /// (p50/p99, in the projector's process and in another one), against a bare NOTIFY round
    /// trip in the same run.
    Live {
        #[arg(long, default_value_t = 500)]
        samples: usize,
    },
    /// An EU-sized history (scale 1.0: 12,600 authorities, 44,000 users, 1.1 million
    /// exchanges over ten years, one in 25 an alert) through the hash-chain trigger, vs a plain
    /// COPY of the same rows; then every projection built from it.
    Populate {
        #[arg(long, default_value_t = 0.1)]
        scale: f64,
        /// Populate this empty database (its URL) instead of a fresh one on the server.
        #[arg(long, value_name = "URL")]
        into_database: Option<String>,
        /// Seal the personal data under this master key (hex or base64), so that a server or
        /// `imi bench queries --database` with it opens the history; default: a throw-away one.
        #[arg(
            long,
            env = "IMI_MASTER_KEY",
            value_name = "KEY",
            hide_env_values = true
        )]
        master_key: Option<String>,
    },
    /// The listed read queries over GraphQL and HTTP on an EU-sized history, with the whole
    /// service live (p50/p99), each against its read model's SQL alone in the same run.
    Queries {
        /// Populate a fresh database at this scale first (see `populate`).
        #[arg(long, default_value_t = 0.1)]
        scale: f64,
        /// Read this database, populated earlier with `populate --into-database`, instead.
        #[arg(long, value_name = "URL", requires = "master_key")]
        database: Option<String>,
        /// The master key the populated history was sealed under (hex or base64).
        #[arg(
            long,
            env = "IMI_MASTER_KEY",
            value_name = "KEY",
            hide_env_values = true
        )]
        master_key: Option<String>,
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
}

fn master_key(hex: Option<&str>) -> Result<Option<MasterKey>> {
    hex.filter(|k| !k.trim().is_empty())
        .map(|k| MasterKey::parse(k).map_err(anyhow::Error::from))
        .transpose()
}

pub async fn run(server_url: &str, command: BenchCommand) -> Result<()> {
    match &command {
        BenchCommand::Populate {
            scale,
            into_database: Some(url),
            master_key: key,
        } => {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .connect_with(imi_store::pool::connect_options(url)?)
                .await?;
            imi_store::migrate(&pool).await?;
            let master = master_key(key.as_deref())?.unwrap_or_else(MasterKey::generate);
            return crate::bench_populate::populate(&pool, *scale, master).await;
        }
        BenchCommand::Queries {
            database: Some(url),
            master_key: key,
            samples,
            ..
        } => {
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .connect_with(imi_store::pool::connect_options(url)?)
                .await?;
            imi_store::migrate(&pool).await?;
            return crate::bench_queries::queries_bench(
                &pool,
                None,
                master_key(key.as_deref())?,
                (*samples).max(1),
            )
            .await;
        }
        _ => {}
    }
    let pool = fresh_database(server_url).await?;
    match command {
        BenchCommand::Commands {
            commands,
            concurrency,
        } => commands_bench(&pool, commands, concurrency.max(1)).await,
        BenchCommand::Rebuild { events, clustered } => {
            rebuild_bench(&pool, events.max(100), clustered).await
        }
        BenchCommand::Audit { events } => audit_bench(&pool, events.max(100)).await,
        BenchCommand::AsOf { events, samples } => {
            crate::bench_as_of::as_of_bench(&pool, events.max(100), samples.max(1)).await
        }
        BenchCommand::ProcessingLog { samples } => {
            crate::bench_as_of::processing_log_bench(&pool, samples.max(2)).await
        }
        BenchCommand::Deletion { exchanges } => {
            crate::bench_deletion::deletion_bench(&pool, exchanges.max(1)).await
        }
        BenchCommand::Translation {
            url,
            texts,
            readers,
        } => {
            crate::bench_translation::translation_bench(&pool, url, texts.max(1), readers.max(1))
                .await
        }
        BenchCommand::Writes {
            clients,
            seconds,
            workload,
            projection_lanes,
            projection_merge_at,
        } => {
            let baseline = fresh_database(server_url).await?;
            let mut options = crate::app::Options::new(&crate::app::Role::ALL, None);
            options.projection_lanes = projection_lanes;
            options.projection_merge_at = projection_merge_at;
            if workload == "mix" {
                crate::bench_mix::mix_bench(&pool, &baseline, options, clients, seconds.max(3))
                    .await
            } else {
                crate::bench_writes::writes_bench(
                    &pool,
                    &baseline,
                    options,
                    clients,
                    seconds.max(3),
                )
                .await
            }
        }
        BenchCommand::Live { samples } => {
            crate::bench_live::live_bench(&pool, samples.max(1)).await
        }
        BenchCommand::Populate {
            scale,
            master_key: key,
            ..
        } => {
            let master = master_key(key.as_deref())?.unwrap_or_else(MasterKey::generate);
            crate::bench_populate::populate(&pool, scale, master).await
        }
        BenchCommand::Queries {
            scale,
            master_key: key,
            samples,
            ..
        } => {
            crate::bench_queries::queries_bench(
                &pool,
                Some(scale),
                master_key(key.as_deref())?,
                samples.max(1),
            )
            .await
        }
    }
}

async fn fresh_database(server_url: &str) -> Result<PgPool> {
    let name = format!("imi_bench_{}", uuid::Uuid::new_v4().simple());
    let options: PgConnectOptions = imi_store::pool::connect_options(server_url)?;
    let admin = PgPool::connect_with(options.clone()).await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await?;
    admin.close().await;
    let options = options.database(&name);
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options)
        .await?;
    imi_store::migrate(&pool).await?;
    println!("database: {name}");
    Ok(pool)
}

pub(crate) fn lda(i: usize) -> Actor {
    Actor::User {
        user_id: format!("u-{i}"),
        authority_id: format!("a-{i}"),
    }
}

/// Registers the national coordinators of the first `n` Member States as `a-0`, `a-1`, ...
/// (one per Member State: the lookup refuses a second).
pub(crate) async fn register_authorities(
    pool: &PgPool,
    bus: &AuthorityBus,
    n: usize,
) -> Result<()> {
    if n > MEMBER_STATES.len() {
        bail!(
            "at most {} concurrent writers: each writes to the coordinator of its own Member State",
            MEMBER_STATES.len()
        );
    }
    let keys = KeyRing::new(pool.clone(), MasterKey::generate());
    let system = Actor::system("bench");
    for (i, member_state) in MEMBER_STATES.iter().enumerate().take(n) {
        let identity = keys
            .seal(
                &user_key_id(&format!("u-{i}")),
                &serde_json::json!({"name": "Bench"}),
            )
            .await?;
        bus.execute(
            &format!("a-{i}"),
            Issued::new(
                system.clone(),
                AuthorityCommand::RegisterNationalCoordinator {
                    member_state: MemberState::parse(member_state)?,
                    official_name: format!("Authority {i}"),
                    informal_titles: BTreeMap::new(),
                    first_user: NewUser {
                        user_id: format!("u-{i}"),
                        identity,
                    },
                },
            ),
            CommandMetadata::for_actor(&system),
        )
        .await?;
    }
    Ok(())
}

pub(crate) fn title_command(n: usize) -> AuthorityCommand {
    AuthorityCommand::SetInformalTitle {
        language: Language::parse(if n.is_multiple_of(2) { "en" } else { "fr" }).expect("known"),
        title: Some(format!("Title {n}")),
    }
}

/// Runs `total` jobs on `concurrency` workers; worker w takes the jobs w, w+c, w+2c, ...
async fn timed<F, Fut>(total: usize, concurrency: usize, job: F) -> Result<f64>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let job = Arc::new(job);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let job = job.clone();
        workers.push(tokio::spawn(async move {
            let mut n = w;
            while n < total {
                job(w, n).await?;
                n += concurrency;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

const RAW_INSERT: &str = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                          VALUES ('Authority', $1, $2, 'InformalTitleSet', '1', $3, $4)";

async fn commands_bench(pool: &PgPool, total: usize, concurrency: usize) -> Result<()> {
    // Each worker writes to its own authority, so the framework's optimistic lock never
    // conflicts and both sides do the same work: one event per command.
    let bus = Arc::new(authority_bus(
        pool.clone(),
        crate::app::authority_config(),
        Wake::with_notify(pool.clone()),
    ));
    register_authorities(pool, &bus, concurrency).await?;
    // Interleaved rounds, so a change in the machine's load hits all three alike; the figures
    // are the medians over the rounds.
    let rounds = 5;
    let per_round = (total / rounds).max(concurrency);
    let (mut raw, mut notify, mut framework) = (vec![], vec![], vec![]);
    for round in 0..rounds {
        raw.push(
            timed(
                per_round,
                concurrency,
                raw_with(pool, concurrency, false, round),
            )
            .await?,
        );
        notify.push(
            timed(
                per_round,
                concurrency,
                raw_with(pool, concurrency, true, round),
            )
            .await?,
        );
        let bus = bus.clone();
        framework.push(
            timed(per_round, concurrency, move |w, n| {
                let bus = bus.clone();
                async move {
                    bus.execute(
                        &format!("a-{w}"),
                        Issued::new(lda(w), title_command(n)),
                        CommandMetadata::for_actor(&lda(w)),
                    )
                    .await?;
                    Ok(())
                }
            })
            .await?,
        );
    }
    let (raw, notify, framework) = (median(raw), median(notify), median(framework));
    println!(
        "commands: {} in {rounds} interleaved rounds, concurrency: {concurrency}, one event per command (medians)",
        per_round * rounds
    );
    println!(
        "  raw INSERT, one transaction each                          {raw:>7.0} /s  (baseline)"
    );
    println!(
        "  raw INSERT + NOTIFY inside the transaction                {notify:>7.0} /s  ({:.2}x)",
        notify / raw
    );
    println!(
        "  cqrs-es command: load, handle, append, position, wake     {framework:>7.0} /s  ({:.2}x)",
        framework / raw
    );
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn raw_with(
    pool: &PgPool,
    concurrency: usize,
    notify_in_transaction: bool,
    round: usize,
) -> impl Fn(usize, usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>
       + Send
       + Sync
       + 'static {
    let pool = pool.clone();
    move |w, n| {
        let pool = pool.clone();
        Box::pin(async move {
            let payload = serde_json::json!({"InformalTitleSet": {
                "language": if n.is_multiple_of(2) { "en" } else { "fr" }, "title": format!("Title {n}")}});
            let metadata = serde_json::to_value(CommandMetadata::for_actor(&lda(w)).into_map())?;
            let mut tx = pool.begin().await?;
            sqlx::query(RAW_INSERT)
                .bind(format!("raw-{notify_in_transaction}-{round}-{w}"))
                .bind((n / concurrency) as i64 + 1)
                .bind(payload)
                .bind(metadata)
                .execute(&mut *tx)
                .await?;
            if notify_in_transaction {
                sqlx::query("SELECT pg_notify('imi_bench', '')")
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

async fn rebuild_bench(pool: &PgPool, events: i64, clustered: i64) -> Result<()> {
    write_history(pool, events, clustered).await?;
    let report = imi_projections::rebuild::rebuild(pool, &AuthorityDirectory, |_| {}).await?;
    println!(
        "rebuild of authority_directory: {} events in {:.1} s = {:.0} events/s",
        report.events_applied,
        report.seconds,
        report.events_applied as f64 / report.seconds
    );
    println!("peak memory of this process (VmHWM): {}", peak_memory());
    Ok(())
}

/// Writes `events` synthetic Authority events through the hash-chain trigger.
pub(crate) async fn write_history(pool: &PgPool, events: i64, clustered: i64) -> Result<()> {
    // Authorities of 100 events each: a registration, then informal title changes.
    let per_authority: i64 = 100;
    let authorities = (events / per_authority).max(1);
    let chunk = if clustered > 0 {
        clustered
    } else {
        authorities
    };
    let started = Instant::now();
    let mut first = 1;
    while first <= authorities {
        let last = (first + chunk - 1).min(authorities);
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             SELECT 'Authority', 'a-' || i, 1, 'NationalCoordinatorRegistered', '1',
                    json_build_object('NationalCoordinatorRegistered', json_build_object(
                        'member_state', 'DE', 'official_name', 'Authority ' || i,
                        'informal_titles', json_build_object('en', 'Authority ' || i))),
                    '{\"acting_user\": \"system:bench\"}'
               FROM generate_series($1::bigint, $2::bigint) AS i ORDER BY i",
        )
        .bind(first)
        .bind(last)
        .execute(pool)
        .await?;
        for sequence in 2..=per_authority {
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 SELECT 'Authority', 'a-' || i, $3, 'InformalTitleSet', '1',
                        json_build_object('InformalTitleSet', json_build_object(
                            'language', (ARRAY['en','fr','de','pl','it'])[1 + ($3 + i) % 5],
                            'title', 'Title ' || $3 || ' of ' || i)),
                        '{\"acting_user\": \"user:bench\"}'
                   FROM generate_series($1::bigint, $2::bigint) AS i ORDER BY i",
            )
            .bind(first)
            .bind(last)
            .bind(sequence)
            .execute(pool)
            .await?;
        }
        first = last + 1;
    }
    let written = authorities * per_authority;
    let load_seconds = started.elapsed().as_secs_f64();
    println!(
        "synthetic events: {written} ({authorities} authorities x {per_authority}, written {chunk} authorities at a time), written in {load_seconds:.1} s ({:.0} events/s through the hash-chain trigger)",
        written as f64 / load_seconds
    );
    sqlx::query("VACUUM ANALYZE events").execute(pool).await?;
    Ok(())
}

async fn audit_bench(pool: &PgPool, events: i64) -> Result<()> {
    use futures::TryStreamExt;
    use std::io::Write;
    write_history(pool, events, 0).await?;
    let dir = std::env::temp_dir().join(format!("imi-bench-audit-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let rate = |n: u64, seconds: f64| n as f64 / seconds;

    // Baseline: the same rows and columns, as text, by COPY, to a file.
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    let mut copy = conn
        .copy_out_raw(
            "COPY (SELECT position, aggregate_type, aggregate_id, sequence, event_type,
                          event_version, payload::text, metadata::text, recorded_at,
                          encode(prev_hash, 'hex'), encode(hash, 'hex')
                     FROM events ORDER BY position) TO STDOUT",
        )
        .await?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("copy.tsv"))?);
    while let Some(chunk) = copy.try_next().await? {
        out.write_all(&chunk)?;
    }
    out.flush()?;
    drop(copy);
    drop(conn);
    let copy_seconds = started.elapsed().as_secs_f64();
    let copy_bytes = std::fs::metadata(dir.join("copy.tsv"))?.len();

    let started = Instant::now();
    let file = dir.join("export.ndjson");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
    let summary = imi_store::export::export(pool, &Default::default(), &mut out).await?;
    drop(out);
    let export_seconds = started.elapsed().as_secs_f64();
    let export_bytes = std::fs::metadata(&file)?.len();
    println!(
        "COPY of the same rows: {events} events in {copy_seconds:.1} s = {:.0} events/s ({} MB)",
        rate(events as u64, copy_seconds),
        copy_bytes / 1_000_000
    );
    println!(
        "imi audit export: {} events in {export_seconds:.1} s = {:.0} events/s ({} MB) = {:.2}x COPY",
        summary.events,
        rate(summary.events, export_seconds),
        export_bytes / 1_000_000,
        copy_seconds / export_seconds
    );

    let started = Instant::now();
    let check =
        imi_store::export::verify_export(std::io::BufReader::new(std::fs::File::open(&file)?))?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "imi audit verify --file: {} events in {seconds:.1} s = {:.0} events/s (no database)",
        check.events,
        rate(check.events, seconds)
    );

    let started = Instant::now();
    let chains = imi_store::audit::verify(pool).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "hash chains in the database: {} events in {seconds:.1} s = {:.0} events/s",
        chains.events_checked,
        rate(chains.events_checked, seconds)
    );

    let started = Instant::now();
    let seal = imi_store::seals::seal(pool).await?;
    let seal_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let report = imi_store::seals::verify(pool).await?;
    println!(
        "first seal over {} chain heads: {seal_seconds:.2} s; its check: {:.2} s",
        seal.heads_changed,
        started.elapsed().as_secs_f64()
    );
    anyhow::ensure!(report.first_broken.is_none(), "the seal does not hold");
    // A day's worth of changes on (up to) 1,000 chains, then the next seal: it reads only them.
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT 'Authority', 'a-' || i, 101, 'InformalTitleSet', '1',
                json_build_object('InformalTitleSet', json_build_object('language', 'en',
                    'title', 'Later ' || i)), '{\"acting_user\": \"user:bench\"}'
           FROM generate_series(1, $1::bigint) AS i",
    )
    .bind((events / 100).clamp(1, 1000))
    .execute(pool)
    .await?;
    let started = Instant::now();
    let next = imi_store::seals::seal(pool).await?;
    println!(
        "next seal after new events on {0} chains: {0} chain heads in {1:.3} s",
        next.heads_changed,
        started.elapsed().as_secs_f64()
    );
    println!("peak memory of this process (VmHWM): {}", peak_memory());
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
