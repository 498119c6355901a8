//! `imi`: serve the GraphQL gateway, migrate, seed, manage projections, verify the audit chain.

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use imi::{app, bench, config, seed};
use imi_store::sealing::MasterKey;
use imi_store::wake::Wake;
use indicatif::{ProgressBar, ProgressStyle};
use std::net::SocketAddr;

#[derive(Parser)]
#[command(
    name = "imi",
    version,
    about = "Internal Market Information System service"
)]
struct Cli {
    /// PostgreSQL URL. Without it, a private cluster in the data folder (.imi-data) is used.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Master key wrapping the per-exchange data keys (64 hex chars or base64 of 32 bytes).
    #[arg(long, env = "IMI_MASTER_KEY", global = true, hide_env_values = true)]
    master_key: Option<String>,
    /// Secret signing bearer tokens.
    #[arg(long, env = "IMI_TOKEN_SECRET", global = true, hide_env_values = true)]
    token_secret: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve GraphQL (/graphql, /graphql/ws, /graphiql), /health, /ready and /metrics.
    Serve {
        #[arg(long, env = "IMI_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Load the demo data at start (the default on the embedded database).
        #[arg(long, env = "IMI_SEED_DEMO")]
        seed_demo: Option<bool>,
    },
    /// Apply the database migrations.
    Migrate,
    /// Load reference data (Member States, languages, legislative areas, keyword lists,
    /// professions, service activities, registers, helpdesks), then each Member State's
    /// coordinator and first administrator. Idempotent.
    Seed {
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
    /// Audit the event log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print the GraphQL schema (SDL, sorted).
    Schema,
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
    /// Rebuild one projection blue/green from the start of the log.
    Rebuild { name: String },
}

#[derive(Subcommand)]
enum NotificationsCommand {
    /// Pending, sent, failed and skipped mails; scheduled, due and acted-on deadlines.
    Status,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk every hash chain (the events' and the processing log's) and name the first broken
    /// link.
    Verify,
    /// The processing log: who opened which personal data, when, for what (oldest first).
    Reads {
        /// Only this exchange's data key (`InformationRequest/<id>`, `Alert/<id>`, `User/<id>`).
        #[arg(long)]
        exchange: Option<String>,
        /// Only this acting user (`user:<id>`).
        #[arg(long)]
        user: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

/// Stack of each runtime thread: GraphQL resolution nests deep futures.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()?
        .block_on(run())
}

async fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let database = config::Database::from_option(cli.database_url.clone());
    let embedded = matches!(database, config::Database::Embedded);
    match cli.command {
        Command::Schema => {
            print!("{}", imi_gateway::schema_sdl());
            Ok(())
        }
        Command::Bench { command } => bench::run(&database.url().await?, command).await,
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
            let pool = app::connect(&url).await?;
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
                    let now = chrono::Utc::now();
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
                Command::Seed { demo, reference } => {
                    let services = services(&cli.master_key, &cli.token_secret, pool.clone())?;
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
                Command::Audit {
                    command: AuditCommand::Verify,
                } => {
                    let report = imi_store::audit::verify(&pool).await?;
                    if let Some(b) = report.first_broken {
                        bail!(
                            "chain broken at {}/{} sequence {} (position {}): {}",
                            b.aggregate_type,
                            b.aggregate_id,
                            b.sequence,
                            b.position,
                            b.problem
                        );
                    }
                    let log = imi_store::processing_log::verify(&pool).await?;
                    if let Some((exchange, sequence, problem)) = log.first_broken {
                        bail!("processing log broken at {exchange} entry {sequence}: {problem}");
                    }
                    println!(
                        "ok: {} events in {} chains verified; processing log: {} entries in {} \
                         chains verified",
                        report.events_checked,
                        report.aggregates_checked,
                        log.entries_checked,
                        log.exchanges_checked
                    );
                    Ok(())
                }
                Command::Audit {
                    command:
                        AuditCommand::Reads {
                            exchange,
                            user,
                            limit,
                        },
                } => {
                    let filter = imi_store::processing_log::Filter {
                        exchange,
                        acting_user: user,
                        from: None,
                        to: None,
                        limit: limit.clamp(1, 10_000),
                        ..Default::default()
                    };
                    for e in imi_store::processing_log::entries(&pool, &filter).await? {
                        println!(
                            "{} {} #{} {} {} [{}] level={} by {} of {}",
                            e.at.to_rfc3339(),
                            e.exchange,
                            e.sequence,
                            e.kind,
                            e.operation,
                            e.fields.join(","),
                            e.level.as_deref().unwrap_or("-"),
                            e.acting_user,
                            e.acting_authority.as_deref().unwrap_or("-")
                        );
                    }
                    Ok(())
                }
                Command::Serve { bind, seed_demo } => {
                    let services = services(&cli.master_key, &cli.token_secret, pool.clone())?;
                    if seed_demo.unwrap_or(embedded) {
                        let report = seed::seed(&services.app, true).await?;
                        print_seed(&report);
                    }
                    let _runners = app::spawn_runners(&pool, &services.wake);
                    let mailer =
                        imi_notify::mail::Mailer::from_env(config::data_root().join("mail"))?;
                    println!("mail: {}", mailer.describe());
                    let notifiers = app::spawn_notifiers(&services, mailer, services.clock.clone());
                    let listener = tokio::net::TcpListener::bind(bind).await?;
                    println!("IMI is serving GraphQL at http://{bind}/graphql");
                    println!("GraphiQL: http://{bind}/graphiql");
                    // With the peer's address: failed sign-ins are throttled by it.
                    let app = imi_gateway::router(services)
                        .into_make_service_with_connect_info::<std::net::SocketAddr>();
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = tokio::signal::ctrl_c().await;
                        })
                        .await?;
                    notifiers.shutdown().await;
                    Ok(())
                }
                Command::Schema | Command::Bench { .. } => unreachable!("handled above"),
            }
        }
    }
}

fn services(
    master_key: &Option<String>,
    token_secret: &Option<String>,
    pool: sqlx::PgPool,
) -> Result<imi_gateway::Services> {
    let master = MasterKey::parse(&config::secret(
        master_key.clone(),
        "master.key",
        "IMI_MASTER_KEY",
    )?)?;
    let token = config::secret(token_secret.clone(), "token.secret", "IMI_TOKEN_SECRET")?;
    let wake = Wake::with_notify(pool.clone());
    Ok(app::services(pool, master, &token, wake))
}

fn print_seed(report: &seed::SeedReport) {
    println!("reference data: {}", report.reference);
    println!(
        "seeded: {} authorities registered, {} logins",
        report.authorities_registered,
        report.logins.len()
    );
    if let Some(password) = &report.demo_password {
        println!("demo users (password {password:?}): de.nimic, fr.nimic, pl.nimic, ... (<member state>.nimic)");
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
        ProjectionsCommand::Rebuild { name } => {
            let Some(projection) = imi_projections::by_name(&name) else {
                bail!(
                    "no projection named {name:?}; known: {}",
                    imi_projections::all()
                        .iter()
                        .map(|p| p.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
                .fetch_one(pool)
                .await?;
            let total = total as u64;
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
                )?
                .progress_chars("=> "),
            );
            bar.set_message(format!("rebuilding {name}"));
            let report = imi_projections::rebuild::rebuild(pool, projection.as_ref(), |p| {
                bar.set_length(total);
                bar.set_position(p.events_applied);
            })
            .await?;
            bar.finish_and_clear();
            println!(
                "rebuilt {name}: {} events in {:.1} s ({:.0} events/s), swapped in at {}",
                report.events_applied,
                report.seconds,
                report.events_applied as f64 / report.seconds.max(1e-9),
                report.at
            );
            Ok(())
        }
    }
}
