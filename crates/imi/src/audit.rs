//! `imi audit`: verify the chains and seals, export the log for auditors, seal it, list the
//! processing log.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use sqlx::PgPool;
use std::io::BufReader;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk every hash chain (the events', the processing log's, the seals') and name the first
    /// broken link; with `--file`, check an export alone, without the database.
    Verify {
        /// An export written by `imi audit export`.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Write the event log as NDJSON: a header with the hash recipe, one event a line, a
    /// trailer with every chain's head (docs/AUDIT.md).
    Export {
        /// Only events after this position.
        #[arg(long)]
        since: Option<i64>,
        /// Only this aggregate: `Type/id`, e.g. `InformationRequest/r-1`.
        #[arg(long)]
        aggregate: Option<String>,
        #[arg(long)]
        output: PathBuf,
    },
    /// Seal the chain heads now and print the seal's hash (for publication elsewhere).
    Seal,
    /// The history of one exchange: its events and those other aggregates recorded for the
    /// same commands, oldest first, with who acted and the hash chain; personal data sealed.
    History {
        /// `Type/id`, e.g. `InformationRequest/r-1`, `Alert/<uuid>`, `Authority/nimic-de`.
        exchange: String,
        /// Only events after this position (the last one of the previous page).
        #[arg(long)]
        after: Option<i64>,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        /// One JSON object a line (every field, the payload in full) instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// An exchange's (or authority's) state as of a point: its events up to it folded with
    /// the aggregate's own apply, as JSON in the aggregate's snapshot form; personal data
    /// sealed.
    State {
        /// `Type/id`, e.g. `InformationRequest/r-1`, `Alert/<uuid>`, `Authority/nimic-de`.
        exchange: String,
        /// A feed position (digits) or an RFC 3339 time; the latest state without it.
        #[arg(long)]
        as_of: Option<String>,
    },
    /// What changed in an exchange's state after `--from` up to `--to` (positions or RFC 3339
    /// times): a line per changed field (path, before, after), then the events between with
    /// who recorded them; personal data sealed.
    Diff {
        exchange: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
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

/// Checks an export file alone.
pub fn verify_file(file: &Path) -> Result<()> {
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    match imi_store::export::verify_export(BufReader::new(input)) {
        Ok(check) => {
            println!(
                "ok: {} events in {} chains verified in {}",
                check.events,
                check.chains,
                file.display()
            );
            Ok(())
        }
        Err(broken) => bail!("{}: {broken}", file.display()),
    }
}

pub async fn run(pool: &PgPool, command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify { file: Some(file) } => verify_file(&file),
        AuditCommand::Verify { file: None } => verify(pool).await,
        AuditCommand::History {
            exchange,
            after,
            limit,
            json,
        } => {
            let (aggregate_type, id) = type_and_id(&exchange)?;
            let entries = imi_store::history::of_exchange(
                pool,
                &aggregate_type,
                &id,
                imi_store::history::Related::All,
                after,
                limit.clamp(1, 100_000),
            )
            .await?;
            if entries.is_empty() && after.is_none() {
                bail!("{exchange} has no events");
            }
            for e in entries {
                if json {
                    println!("{}", serde_json::to_string(&e)?);
                } else {
                    println!(
                        "{} {} {}/{} #{} {} v{} by {}{} correlation {} hash {}",
                        e.position,
                        e.recorded_at.to_rfc3339(),
                        e.aggregate_type,
                        e.aggregate_id,
                        e.sequence,
                        e.event_type,
                        e.event_version,
                        e.acting_user.as_deref().unwrap_or("-"),
                        e.acting_authority
                            .map(|a| format!(" of {a}"))
                            .unwrap_or_default(),
                        e.correlation_id.as_deref().unwrap_or("-"),
                        &e.hash[..16],
                    );
                }
            }
            Ok(())
        }
        AuditCommand::State { exchange, as_of } => {
            let (aggregate_type, id) = type_and_id(&exchange)?;
            let events = folded_events(pool, &aggregate_type, &id).await?;
            let events = match as_of {
                Some(point) => point_of(&point)?.prefix(&events),
                None => &events[..],
            };
            let state = state_of(&aggregate_type, events)?
                .with_context(|| format!("{exchange} has no events up to that point"))?;
            println!("{}", serde_json::to_string_pretty(&state)?);
            Ok(())
        }
        AuditCommand::Diff { exchange, from, to } => {
            let (aggregate_type, id) = type_and_id(&exchange)?;
            let events = folded_events(pool, &aggregate_type, &id).await?;
            let (from, to) = (
                point_of(&from)?.prefix(&events),
                point_of(&to)?.prefix(&events),
            );
            if from.len() > to.len() {
                bail!("--from comes after --to");
            }
            let fields = |events| -> Result<_> {
                Ok(state_of(&aggregate_type, events)?
                    .map(imi_app::as_of::flatten)
                    .unwrap_or_default())
            };
            for change in imi_app::as_of::changes(fields(from)?, fields(to)?) {
                let show =
                    |v: Option<serde_json::Value>| v.map_or("-".to_string(), |v| v.to_string());
                println!(
                    "{}: {} -> {}",
                    change.path,
                    show(change.before),
                    show(change.after)
                );
            }
            for e in to[from.len()..].iter().map(imi_app::as_of::change_event) {
                println!(
                    "event {} {} #{} {} v{} by {}{}",
                    e.position,
                    e.recorded_at.to_rfc3339(),
                    e.sequence,
                    e.event_type,
                    e.event_version,
                    e.acting_user.as_deref().unwrap_or("-"),
                    e.acting_authority
                        .map(|a| format!(" of {a}"))
                        .unwrap_or_default(),
                );
            }
            Ok(())
        }
        AuditCommand::Export {
            since,
            aggregate,
            output,
        } => {
            let aggregate = aggregate.as_deref().map(type_and_id).transpose()?;
            let filter = imi_store::export::ExportFilter { since, aggregate };
            let file = std::fs::File::create(&output)
                .with_context(|| format!("creating {}", output.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let summary = imi_store::export::export(pool, &filter, &mut out).await?;
            println!(
                "exported {} events of {} chains to {}{}",
                summary.events,
                summary.chains,
                output.display(),
                summary
                    .last_position
                    .map(|p| format!(" (up to position {p})"))
                    .unwrap_or_default()
            );
            Ok(())
        }
        AuditCommand::Seal => {
            let seal = imi_store::seals::seal(pool).await?;
            println!(
                "seal {}: {} chain heads changed; hash {}",
                seal.seal, seal.heads_changed, seal.hash
            );
            Ok(())
        }
        AuditCommand::Reads {
            exchange,
            user,
            limit,
        } => {
            let filter = imi_store::processing_log::Filter {
                exchange,
                acting_user: user,
                from: None,
                to: None,
                limit: limit.clamp(1, 10_000),
                ..Default::default()
            };
            for e in imi_store::processing_log::entries(pool, &filter).await? {
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
    }
}

/// Every event of an aggregate, through its upcasters, oldest first.
async fn folded_events(
    pool: &PgPool,
    aggregate_type: &str,
    id: &str,
) -> Result<Vec<imi_store::feed::FeedEvent>> {
    if !["InformationRequest", "Alert", "Authority"].contains(&aggregate_type) {
        bail!("{aggregate_type}: expected InformationRequest, Alert or Authority");
    }
    let upcasters = imi_store::upcasting::upcasters(aggregate_type);
    Ok(imi_store::as_of::events_of(pool, aggregate_type, id, &upcasters).await?)
}

/// A point as `--as-of`, `--from` and `--to` take it.
fn point_of(text: &str) -> Result<imi_store::as_of::AsOf> {
    imi_app::as_of::parse(text).map_err(|e| anyhow::anyhow!("{text}: {}", e.message))
}

/// The aggregate's state after `events`, sealed values masked.
fn state_of(
    aggregate_type: &str,
    events: &[imi_store::feed::FeedEvent],
) -> Result<Option<serde_json::Value>> {
    Ok(imi_projections::as_of::state(aggregate_type, events)?.map(imi_store::history::mask_sealed))
}

/// `Type/id` split in two.
fn type_and_id(text: &str) -> Result<(String, String)> {
    match text.split_once('/') {
        Some((t, id)) if !t.is_empty() && !id.is_empty() => Ok((t.to_string(), id.to_string())),
        _ => bail!("{text}: expected Type/id, e.g. InformationRequest/r-1"),
    }
}

async fn verify(pool: &PgPool) -> Result<()> {
    let report = imi_store::audit::verify(pool).await?;
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
    let log = imi_store::processing_log::verify(pool).await?;
    if let Some((exchange, sequence, problem)) = log.first_broken {
        bail!("processing log broken at {exchange} entry {sequence}: {problem}");
    }
    let seals = imi_store::seals::verify(pool).await?;
    if let Some((seal, problem)) = seals.first_broken {
        bail!("seal {seal} no longer holds: {problem}");
    }
    println!(
        "ok: {} events in {} chains verified; processing log: {} entries in {} chains verified; \
         {} seals over {} chain heads hold{}",
        report.events_checked,
        report.aggregates_checked,
        log.entries_checked,
        log.exchanges_checked,
        seals.seals_checked,
        seals.heads_checked,
        seals
            .latest
            .map(|s| format!(" (latest: seal {} hash {})", s.seal, s.hash))
            .unwrap_or_default()
    );
    Ok(())
}
