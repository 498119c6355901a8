//! `imi`: serve the GraphQL gateway, migrate, seed, manage projections, verify the audit chain.

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use imi::{app, audit, bench, commission, config, seed, stats, subject_requests};
use imi_store::sealing::MasterKey;
use imi_store::training::Mode;
use imi_store::wake::Wake;
use indicatif::{ProgressBar, ProgressStyle};
use std::net::SocketAddr;

/// Every variable the service reads, including those without a flag.
const ENVIRONMENT: &str = "\
Environment (flags, where a command has one, take precedence):
  DATABASE_URL            PostgreSQL to use; unset: the private cluster in the data folder
  IMI_DB_POOL             database connections a process opens at most [default: 10]
  IMI_READ_DATABASE_URL   streaming standby GraphQL queries read from (serve); unset: the primary
  IMI_READ_DB_POOL        connections `serve` opens to the read replica at most [default: 4]
  IMI_READ_WAIT_MS        longest wait for the replica to replay a client's write, then the
                          primary answers [default: 1000]
  IMI_DATA_DIR            the data folder [default: .imi-data at the workspace root]
  IMI_MASTER_KEY          master key sealing personal data (serve, seed)
  IMI_TOKEN_SECRET        secret signing bearer tokens (serve)
  IMI_MODE                production, or training (a clock moved forward) [default: production]
  IMI_BIND                address `serve` listens on [default: 127.0.0.1:8080]
  IMI_ROLES               roles of a `serve` process [default: gateway,projectors,sender,scheduler]
  IMI_SEED_DEMO           load demo data when `serve` starts [default: on for the private cluster]
  IMI_SHUTDOWN_GRACE      seconds `serve` waits for requests in flight on SIGTERM [default: 20]
  IMI_CORS_ORIGINS        origins whose browser pages may call the API (comma-separated, or *)
  IMI_INTROSPECTION       who may introspect the schema: on, authenticated, off [default: on]
  IMI_SMTP_URL            SMTP server for mails; unset: .eml files in <data folder>/mail
  IMI_TRANSLATION_URL     Apertium server (apertium-apy) for translations; off: none; unset: a
                          private one started beside the service when apertium-apy is installed
  IMI_APERTIUM_MODES      pairs the private Apertium serves [default: /usr/share/apertium/modes]
  IMI_TRANSLATION_EXTERNAL_URL  external translation service (LibreTranslate protocol), for
                          text without personal data
  IMI_TRANSLATION_EXTERNAL_KEY  its API key
  IMI_TRANSLATION_EXTERNAL_PERSONAL_DATA  on: personal data may go to it too (logged)
  IMI_MAIL_FROM           sender of notification mails [default: IMI <no-reply@imi.localhost>]
  IMI_SNAPSHOT_AUTHORITY  snapshot an Authority every N events, 0: never [default: 10]
  IMI_SNAPSHOT_REQUEST    snapshot an InformationRequest every N events [default: 20]
  IMI_SNAPSHOT_ALERT      snapshot an Alert every N events [default: 10]
  IMI_LOG_FORMAT          log lines as text or json [default: text]
  RUST_LOG                log filter [default: info,sqlx=warn]
  OTEL_EXPORTER_OTLP_ENDPOINT  OTLP/HTTP collector to send traces to; unset: no traces
  OTEL_EXPORTER_OTLP_PROTOCOL  http/protobuf or http/json [default: http/protobuf]
  OTEL_SERVICE_NAME       the service's name in traces [default: imi]
                          (the other OTEL_EXPORTER_OTLP_* and OTEL_BSP_* variables apply too)
  HOSTNAME                names this process in the mail outbox's claims";

#[derive(Parser)]
#[command(
    name = "imi",
    version,
    about = "Internal Market Information System service",
    after_help = ENVIRONMENT
)]
struct Cli {
    /// PostgreSQL URL. Without it, a private cluster in the data folder (.imi-data) is used.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Database connections this process opens at most (a server holds two more: its
    /// projectors' locks and its LISTEN).
    #[arg(long, env = "IMI_DB_POOL", global = true, default_value_t = app::DEFAULT_POOL_SIZE)]
    db_pool: u32,
    #[command(subcommand)]
    command: Command,
}

/// The key sealing personal data: for the commands that seal or open it.
#[derive(clap::Args)]
struct MasterKeyArg {
    /// Master key wrapping the per-exchange data keys (64 hex chars or base64 of 32 bytes).
    /// Without it, one generated once into the data folder.
    #[arg(long, env = "IMI_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve GraphQL (/graphql, /graphql/ws, /graphiql), /health, /ready and /metrics.
    Serve {
        #[command(flatten)]
        master_key: MasterKeyArg,
        /// Secret signing bearer tokens. Without it, one generated once into the data folder.
        #[arg(long, env = "IMI_TOKEN_SECRET", hide_env_values = true)]
        token_secret: Option<String>,
        #[arg(long, env = "IMI_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// `training`: a data administrator of a national coordinator (or `imi clock advance`)
        /// moves the clock forward; the database stays marked so and production refuses it.
        #[arg(long, env = "IMI_MODE", default_value = "production", value_parser = str::parse::<Mode>)]
        mode: Mode,
        /// Load the demo data at start (the default on the embedded database).
        #[arg(long, env = "IMI_SEED_DEMO")]
        seed_demo: Option<bool>,
        /// What this process does (comma-separated); several processes may share a database.
        #[arg(long, env = "IMI_ROLES", value_enum, value_delimiter = ',', default_values_t = app::Role::ALL)]
        roles: Vec<app::Role>,
        /// Origins whose browser pages may call the API (comma-separated; `*`: any).
        #[arg(long, env = "IMI_CORS_ORIGINS", value_delimiter = ',')]
        cors_origins: Vec<String>,
        /// Who may introspect the schema (HTTP and websocket): on, authenticated or off.
        #[arg(long, env = "IMI_INTROSPECTION", default_value = "on",
              value_parser = str::parse::<imi_gateway::server::Introspection>)]
        introspection: imi_gateway::server::Introspection,
        /// Longest wait, after SIGTERM or SIGINT, for requests in flight to finish.
        #[arg(long, env = "IMI_SHUTDOWN_GRACE", value_parser = parse_seconds, default_value = "20")]
        shutdown_grace: std::time::Duration,
        /// A streaming standby of the database that GraphQL queries read from (commands,
        /// projectors, sender and scheduler stay on the primary).
        #[arg(long, env = "IMI_READ_DATABASE_URL", hide_env_values = true)]
        read_database_url: Option<String>,
        /// Connections opened to the read replica at most.
        #[arg(long, env = "IMI_READ_DB_POOL", default_value_t = app::DEFAULT_READ_POOL_SIZE)]
        read_db_pool: u32,
        /// Longest wait, in milliseconds, for the replica to replay a client's write before
        /// the read goes to the primary (a mutation answers after at most as long).
        #[arg(long, env = "IMI_READ_WAIT_MS", default_value_t = 1000)]
        read_wait_ms: u64,
        /// Transactions the projection engine runs at once for a batch (each on a connection
        /// of the pool while it runs).
        #[arg(long, env = "IMI_PROJECTION_LANES", default_value_t = imi_projections::engine::DEFAULT_LANES)]
        projection_lanes: usize,
        /// Events read by one of the engine's rounds after which its next round runs the lanes
        /// as one transaction, which carries a backlog at a lower cost per event (0: never).
        #[arg(long, env = "IMI_PROJECTION_MERGE_AT", default_value_t = imi_projections::engine::MERGE_AT)]
        projection_merge_at: usize,
    },
    /// Apply the database migrations.
    Migrate,
    /// Load reference data (Member States, languages, legislative areas, keyword lists,
    /// professions, service activities, registers, helpdesks), then each Member State's
    /// coordinator and first administrator. Idempotent.
    Seed {
        #[command(flatten)]
        master_key: MasterKeyArg,
        /// Also demo data, with a known password for the demo users.
        #[arg(long)]
        demo: bool,
        /// Read the reference data from this folder (the files of fixtures/reference) instead
        /// of the copy built into the binary.
        #[arg(long, value_name = "DIR")]
        reference: Option<std::path::PathBuf>,
    },
    /// Inspect and rebuild projections.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// The notification outbox (mail) and the scheduled deadlines.
    Notifications {
        #[command(subcommand)]
        command: NotificationsCommand,
    },
    /// The training clock: show it, or move it forward (training databases only).
    Clock {
        #[command(subcommand)]
        command: ClockCommand,
    },
    /// Audit the event log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// The European Commission's statistics readers.
    Commission {
        #[command(subcommand)]
        command: commission::CommissionCommand,
    },
    /// Data subjects' requests: an authority's queue with deadlines.
    SubjectRequests {
        #[command(subcommand)]
        command: subject_requests::SubjectRequestsCommand,
    },
    /// Statistics: the Single Market Scoreboard's indicators.
    Stats {
        #[command(subcommand)]
        command: stats::StatsCommand,
    },
    /// Print the GraphQL schema (SDL, sorted).
    Schema,
    /// The private PostgreSQL cluster of the data folder: status, stop.
    ///
    /// Used when DATABASE_URL is not set: it starts with the first command that needs it and
    /// keeps running after `imi` exits, for the next command, until `imi db stop`.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Benchmarks (figures for docs/BENCHMARKS.md), each in a fresh database.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum ProjectionsCommand {
    /// The projections this build maintains.
    List,
    /// Checkpoint, horizon and lag of every projection.
    Status,
    /// Rebuild projections blue/green from the start of the log; several named together share
    /// one read of the feed and one fold of each request.
    Rebuild {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Build one projection from the start of the log beside the live one and print the rows
    /// that differ (exit status 1 when any does). Needs a running projector.
    Diff {
        name: String,
        /// Rows printed per table and side.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Subcommand)]
enum ClockCommand {
    /// The mode the database ran in and, for a training database, its clock.
    Show,
    /// Moves a training database's clock forward (`7d`, `12h`, `1d12h`); every running process
    /// follows at once and its scheduler acts on what became due.
    Advance {
        #[arg(allow_hyphen_values = true)]
        by: String,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Whether the private cluster runs, where, and its URL.
    Status,
    /// Stop the private cluster (its sessions are ended).
    Stop,
}

#[derive(Subcommand)]
enum NotificationsCommand {
    /// Pending, sent, failed and skipped mails; scheduled, due and acted-on deadlines.
    Status,
}

/// The process's allocator: mimalloc, not glibc's malloc. A rebuild allocates and frees many
/// small blocks (decoded events, JSON trees) between large ones, where glibc's malloc spent
/// two fifths of the process's CPU (docs/BENCHMARKS.md, "mimalloc"). Commands that rebuild and
/// exit keep the memory they free ([`imi::allocator::keep_freed_memory`]).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stack of each runtime thread: GraphQL resolution nests deep futures.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> Result<()> {
    // Outside the runtime: the trace exporter's last spans are sent after it ends.
    let _telemetry = imi::logging::init()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()?
        .block_on(run())
}

async fn run() -> Result<()> {
    let cli = Cli::parse();
    let database = config::Database::from_option(cli.database_url.clone());
    let embedded = matches!(database, config::Database::Embedded);
    match cli.command {
        Command::Schema => {
            print!("{}", imi_gateway::schema_sdl());
            Ok(())
        }
        Command::Bench { command } => {
            if matches!(command, bench::BenchCommand::Populate { .. }) {
                imi::allocator::keep_freed_memory();
            }
            bench::run(&database.url().await?, command).await
        }
        Command::Audit {
            command: audit::AuditCommand::Verify { file: Some(file) },
        } => audit::verify_file(&file),
        Command::Db { command } => db(command).await,
        Command::Projections {
            command: ProjectionsCommand::List,
        } => {
            for p in imi_projections::all() {
                println!("{}\tversion {}", p.name(), p.version());
            }
            Ok(())
        }
        command => {
            let url = database.url().await?;
            let pool = app::connect(&url, cli.db_pool).await?;
            imi_store::migrate(&pool).await?;
            match command {
                Command::Migrate => {
                    println!("migrations applied");
                    Ok(())
                }
                Command::Notifications {
                    command: NotificationsCommand::Status,
                } => {
                    let outbox = imi_notify::status::outbox(&pool).await?;
                    println!(
                        "mail: {} pending, {} sending, {} to retry, {} sent, {} failed, {} skipped",
                        outbox.pending,
                        outbox.sending,
                        outbox.retrying,
                        outbox.sent,
                        outbox.failed,
                        outbox.skipped
                    );
                    if let Some(at) = outbox.oldest_pending_at {
                        println!("oldest pending since {at}");
                    }
                    for (id, error) in &outbox.recent_failures {
                        println!("  failed {id}: {error}");
                    }
                    // A training database's deadlines fall due on its clock.
                    let offset = imi_store::training::state(&pool)
                        .await?
                        .map_or_else(chrono::Duration::zero, |s| s.offset);
                    let now = chrono::Utc::now() + offset;
                    let deadlines = imi_projections::deadlines::status(&pool, now).await?;
                    println!(
                        "deadlines: {} scheduled, {} due, {} done, {} refused{}",
                        deadlines.scheduled,
                        deadlines.due,
                        deadlines.done,
                        deadlines.refused,
                        deadlines
                            .next_due_at
                            .map(|at| format!(", next at {at}"))
                            .unwrap_or_default()
                    );
                    Ok(())
                }
                Command::Seed {
                    master_key,
                    demo,
                    reference,
                } => {
                    // Seeding signs no token: a throwaway secret.
                    let token = Some(MasterKey::generate().export_hex());
                    // On a training database, on its clock.
                    let mode = match imi_store::training::state(&pool).await? {
                        Some(_) => Mode::Training,
                        None => Mode::Production,
                    };
                    let services =
                        services(&master_key.master_key, &token, pool.clone(), mode).await?;
                    let data = match &reference {
                        Some(dir) => imi_store::reference::ReferenceData::from_dir(dir)?,
                        None => imi_store::reference::ReferenceData::bundled()?,
                    };
                    let report = seed::seed_with(&services.app, demo, &data).await?;
                    print_seed(&report);
                    let counts = imi_store::reference::table_counts(&pool).await?;
                    println!(
                        "reference tables: {}",
                        counts
                            .iter()
                            .map(|(table, n)| format!("{table} {n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    Ok(())
                }
                Command::Projections { command } => projections(&pool, command).await,
                Command::Clock { command } => clock(&pool, command).await,
                Command::Audit { command } => audit::run(&pool, command).await,
                Command::Commission { command } => commission::run(&pool, command).await,
                Command::SubjectRequests { command } => subject_requests::run(&pool, command).await,
                Command::Stats { command } => stats::run(&pool, command).await,
                Command::Serve {
                    master_key,
                    token_secret,
                    bind,
                    mode,
                    seed_demo,
                    roles,
                    shutdown_grace,
                    cors_origins,
                    introspection,
                    read_database_url,
                    read_db_pool,
                    read_wait_ms,
                    projection_lanes,
                    projection_merge_at,
                } => {
                    let services =
                        services(&master_key.master_key, &token_secret, pool.clone(), mode).await?;
                    let services = match &read_database_url {
                        Some(url) if roles.contains(&app::Role::Gateway) => {
                            let wait = std::time::Duration::from_millis(read_wait_ms);
                            let replica = app::replica(url, read_db_pool, wait).await?;
                            println!("queries read from the replica (pool {read_db_pool}, wait {read_wait_ms} ms)");
                            imi_gateway::Services {
                                app: services.app.with_replica(replica),
                                ..services
                            }
                        }
                        _ => services,
                    };
                    // Started beside the service; kept until the process ends.
                    let translation = tokio::task::spawn_blocking(|| {
                        imi::translation::from_env(&config::data_root())
                    })
                    .await??;
                    println!("translation: {}", translation.described);
                    let services = match &translation.translator {
                        Some(t) => imi_gateway::Services {
                            app: services.app.with_translation(t.clone()),
                            ..services
                        },
                        None => services,
                    };
                    if services.training.is_some() {
                        let clock = services.clock_state();
                        println!(
                            "training mode: clock {} (service time {})",
                            clock.offset_text(),
                            clock.now
                        );
                    }
                    if seed_demo.unwrap_or(embedded) {
                        let report = seed::seed(&services.app, true).await?;
                        print_seed(&report);
                    }
                    let mailer = if roles.contains(&app::Role::Sender) {
                        let mailer =
                            imi_notify::mail::Mailer::from_env(config::data_root().join("mail"))?;
                        println!("mail: {}", mailer.describe());
                        Some(mailer)
                    } else {
                        None
                    };
                    let mut options = app::Options::new(&roles, mailer);
                    options.projection_lanes = projection_lanes;
                    options.projection_merge_at = projection_merge_at;
                    let background = app::start(&services, options)?;
                    tracing::info!(roles = ?roles, "started");
                    if roles.contains(&app::Role::Gateway) {
                        let listener = tokio::net::TcpListener::bind(bind).await?;
                        let bound = listener.local_addr()?;
                        println!("IMI is serving GraphQL at http://{bound}/graphql");
                        println!("GraphiQL: http://{bound}/graphiql");
                        // With the peer's address: failed sign-ins are throttled by it.
                        let gateway = imi_gateway::server::Options {
                            cors_origins,
                            introspection,
                            ..Default::default()
                        };
                        let router = app::router(services, gateway)
                            .into_make_service_with_connect_info::<std::net::SocketAddr>();
                        let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
                        let server =
                            axum::serve(listener, router).with_graceful_shutdown(async move {
                                let _ = stopping.wait_for(|s| *s).await;
                            });
                        let mut server =
                            std::pin::pin!(std::future::IntoFuture::into_future(server));
                        tokio::select! {
                            served = &mut server => served?,
                            signal = stop_signal() => {
                                tracing::info!(%signal, "stopping: no new connections, finishing requests in flight");
                                let _ = stopping_tx.send(true);
                                if tokio::time::timeout(shutdown_grace, &mut server).await.is_err() {
                                    tracing::warn!(grace = ?shutdown_grace, "requests still in flight after the grace period: dropped");
                                }
                            }
                        }
                    } else {
                        let signal = stop_signal().await;
                        tracing::info!(%signal, "stopping");
                    }
                    background.shutdown().await;
                    tracing::info!("stopped");
                    Ok(())
                }
                Command::Schema | Command::Bench { .. } | Command::Db { .. } => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

async fn services(
    master_key: &Option<String>,
    token_secret: &Option<String>,
    pool: sqlx::PgPool,
    mode: Mode,
) -> Result<imi_gateway::Services> {
    let master = MasterKey::parse(&config::secret(
        master_key.clone(),
        "master.key",
        "IMI_MASTER_KEY",
    )?)?;
    let token = config::secret(token_secret.clone(), "token.secret", "IMI_TOKEN_SECRET")?;
    let wake = Wake::with_notify(pool.clone());
    app::services_in(pool, master, &token, wake, mode).await
}

/// `imi clock show|advance`.
async fn clock(pool: &sqlx::PgPool, command: ClockCommand) -> Result<()> {
    use imi_store::training::{self, AdvanceError};
    match command {
        ClockCommand::Show => match training::state(pool).await? {
            None => println!("production database: the system clock"),
            Some(state) => println!(
                "training database (since {}): clock {}, service time {}",
                state.since,
                training::describe(state.offset),
                chrono::Utc::now() + state.offset
            ),
        },
        ClockCommand::Advance { by } => {
            let by = match by.trim() {
                negative if negative.starts_with('-') => chrono::Duration::zero(),
                by => training::parse_duration(by).map_err(anyhow::Error::msg)?,
            };
            let offset = match training::advance(pool, by).await {
                Ok(offset) => offset,
                Err(AdvanceError::NotTraining) => bail!(
                    "the database never ran in training mode: its clock is the system clock and \
                     never moves (start `imi serve --mode training` on a database of its own)"
                ),
                Err(e) => return Err(e.into()),
            };
            println!(
                "clock {} (service time {}); running processes follow at once",
                training::describe(offset),
                chrono::Utc::now() + offset
            );
        }
    }
    Ok(())
}

/// `imi db status|stop`: the private cluster of the data folder.
async fn db(command: DbCommand) -> Result<()> {
    let root = config::data_root();
    let (status, root_shown) = (matches!(command, DbCommand::Status), root.clone());
    let cluster = tokio::task::spawn_blocking(move || match command {
        DbCommand::Status => imi_localpg::running(&root),
        DbCommand::Stop => imi_localpg::stop_running(&root),
    })
    .await??;
    match (cluster, status) {
        (Some(c), true) => println!(
            "running: {} on 127.0.0.1:{} ({})",
            c.data_dir.display(),
            c.port,
            c.url("imi")
        ),
        (Some(c), false) => println!("stopped: {}", c.data_dir.display()),
        (None, _) => println!("not running (data folder {})", root_shown.display()),
    }
    Ok(())
}

/// SIGTERM (what service managers send) or SIGINT (Ctrl-C), by name.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

fn parse_seconds(value: &str) -> Result<std::time::Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| format!("{value:?} is not a number of seconds"))
}

fn print_seed(report: &seed::SeedReport) {
    println!("reference data: {}", report.reference);
    println!(
        "seeded: {} authorities registered, {} logins",
        report.authorities_registered,
        report.logins.len()
    );
    if let Some(demo) = &report.demo {
        println!(
            "demo: {} authorities, {} users, {} exchanges added",
            demo.authorities, demo.users, demo.exchanges
        );
    }
    if let Some(password) = &report.demo_password {
        println!("demo users (password {password:?}): de.nimic, fr.nimic, pl.nimic, ... (<member state>.nimic)");
        println!("demo network (DE, FR, AT, NL, PL): <ms>.requests, <ms>.referral, <ms>.alerts, <ms>.pq.handler, <ms>.pq.allocator, <ms>.pq.alerts, <ms>.pq.basic, <ms>.sd.alerts, <ms>.pq.admin, <ms>.sd.admin (README: logins by role)");
    } else {
        for login in report.logins.iter().filter(|l| l.password.is_some()) {
            println!(
                "  {} ({}): one-time password {}",
                login.login,
                login.authority_id,
                login.password.as_deref().unwrap_or_default()
            );
        }
    }
}

async fn projections(pool: &sqlx::PgPool, command: ProjectionsCommand) -> Result<()> {
    match command {
        ProjectionsCommand::List => unreachable!("handled without a database"),
        ProjectionsCommand::Status => {
            println!(
                "{:<24} {:<7} {:>7} {:>22} {:>12} {:>12} {:>10} {:>10}",
                "projection", "slot", "version", "checkpoint", "applied", "horizon", "lag", "lag s"
            );
            for s in imi_projections::status::all(pool).await? {
                println!(
                    "{:<24} {:<7} {:>7} {:>22} {:>12} {:>12} {:>10} {:>10.1}",
                    s.name,
                    s.slot,
                    s.version,
                    s.checkpoint.to_string(),
                    s.events_applied,
                    s.horizon_xid,
                    s.lag_events,
                    s.lag_seconds
                );
            }
            Ok(())
        }
        ProjectionsCommand::Diff { name, limit } => {
            let projection = projection_named(&name)?;
            let report = imi_projections::diff::diff(
                pool,
                projection.as_ref(),
                std::time::Duration::from_secs(60),
            )
            .await?;
            for table in &report.differences {
                println!(
                    "{name}.{}: {} rows only in the live table, {} only in a rebuild",
                    table.table,
                    table.live_only.len(),
                    table.shadow_only.len()
                );
                for row in table.live_only.iter().take(limit) {
                    println!("- {row}");
                }
                for row in table.shadow_only.iter().take(limit) {
                    println!("+ {row}");
                }
            }
            if !report.is_clean() {
                bail!(
                    "{name} differs from a rebuild in {} of its {} tables at {}",
                    report.differences.len(),
                    report.tables_compared,
                    report.at
                );
            }
            println!(
                "{name}: its {} tables equal a rebuild from {} events, at {}",
                report.tables_compared, report.events_applied, report.at
            );
            Ok(())
        }
        ProjectionsCommand::Rebuild { names } => {
            imi::allocator::keep_freed_memory();
            let projections = names
                .iter()
                .map(|name| projection_named(name))
                .collect::<Result<Vec<_>>>()?;
            let members: Vec<&dyn imi_projections::projection::Projection> =
                projections.iter().map(|p| p.as_ref()).collect();
            // Progress against the events these projections read, not the whole log: the
            // rebuild counts them and reports the total with its progress.
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
                )?
                .progress_chars("=> "),
            );
            bar.set_message(format!("rebuilding {}", names.join(", ")));
            let reports = imi_projections::rebuild::rebuild_together(
                pool,
                &members,
                Default::default(),
                |p| {
                    bar.set_length(p.events_to_read);
                    bar.set_position(p.events_read);
                },
            )
            .await?;
            bar.finish_and_clear();
            for (name, report) in names.iter().zip(&reports) {
                println!(
                    "rebuilt {name}: {} events read ({} in the log) in {:.1} s ({:.0} events/s), swapped in at {}",
                    report.events_read,
                    report.events_applied,
                    report.seconds,
                    report.events_applied as f64 / report.seconds.max(1e-9),
                    report.at
                );
            }
            Ok(())
        }
    }
}

fn projection_named(
    name: &str,
) -> Result<std::sync::Arc<dyn imi_projections::projection::Projection>> {
    imi_projections::by_name(name).ok_or_else(|| {
        anyhow::anyhow!(
            "no projection named {name:?}; known: {}",
            imi_projections::all()
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}
