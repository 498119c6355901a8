//! `imi bench writes --workload mix`: the service under the write load of its users. The whole
//! service runs in this process on a fresh database seeded with the demo network (gateway,
//! every projection, the mail sender, the scheduler). Concurrent clients work through the
//! exchanges as their users would, one GraphQL mutation over HTTP per step, each step by the
//! user whose role it needs:
//! - requests: drafted, sent, approved (German requests), assigned (French incoming requests),
//!   accepted, answered and closed;
//! - SD alerts: drafted, submitted, broadcast, acknowledged, disseminated and withdrawn;
//! - authority steps: a coordinator's informal title changed.
//!
//! The baseline writes the same rows: after each side, the events it appended are inserted raw
//! into a second fresh database, one transaction per transaction of the service, by as many
//! writers, each aggregate's rows in order. Throughput is compared as the time each took to
//! write those rows.

use crate::bench_service::{log_in, post, InProcess};
use crate::bench_writes::{
    event_lags, memory, millis, percentile, print_lag_and_memory, sample_checkpoints,
};
use anyhow::{bail, Context, Result};
use chrono::Utc;
use imi_store::sealing::MasterKey;
use serde_json::{json, Value};
use sqlx::{PgPool, Row};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The demo's Member States, in the order the clients pair them.
const COUNTRIES: [&str; 5] = ["at", "nl", "pl", "de", "fr"];

/// What a client works through.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Workflow {
    Request,
    Alert,
    Authority,
}

impl Workflow {
    fn of_client(w: usize) -> Self {
        [Workflow::Request, Workflow::Alert, Workflow::Authority][w % 3]
    }
    fn label(self) -> &'static str {
        match self {
            Workflow::Request => "request steps",
            Workflow::Alert => "alert steps",
            Workflow::Authority => "authority steps",
        }
    }
}

/// One mutation of a workflow: who sends it and what.
struct Step {
    login: String,
    mutation: &'static str,
    input_type: &'static str,
    selection: &'static str,
    input: Value,
}

impl Step {
    fn new(login: String, mutation: &'static str, input_type: &'static str, input: Value) -> Self {
        Self {
            login,
            mutation,
            input_type,
            selection: "__typename",
            input,
        }
    }
}

/// One client: a pair of the demo's Member States, its workflow and its users' tokens.
struct Client {
    workflow: Workflow,
    from: &'static str,
    to: &'static str,
    tokens: HashMap<String, String>,
    /// The user id of the French PQ request handler, to whom its allocator assigns.
    fr_handler: String,
}

#[derive(Default)]
struct Tally {
    operations: usize,
    errors: Vec<String>,
    latencies: BTreeMap<Workflow, Vec<Duration>>,
}

/// One side of a round: how long it ran and the events it appended.
struct Side {
    seconds: f64,
    tally: Tally,
    after: i64,
    to: i64,
    /// The baseline's seconds, transactions and rows for the same events.
    raw: (f64, usize, usize),
}

pub async fn mix_bench(
    pool: &PgPool,
    baseline: &PgPool,
    mut options: crate::app::Options,
    clients: usize,
    seconds: u64,
) -> Result<()> {
    if clients == 0 {
        bail!("at least one client");
    }
    let mail_dir = std::env::temp_dir().join(format!("imi-bench-mix-{}", uuid::Uuid::now_v7()));
    let mailer = imi_notify::mail::Mailer::directory(&mail_dir, "IMI <no-reply@imi.localhost>")?;
    options.mailer = Some(mailer);
    let service = InProcess::start(pool, MasterKey::generate(), options).await?;
    let seeded = crate::seed::seed(&service.services.app, true).await?;
    let password = seeded.demo_password.context("the demo's password")?;
    let http = reqwest::Client::new();
    let base = service.base.clone();
    let fr_handler: String =
        sqlx::query_scalar("SELECT user_id FROM credentials WHERE login = 'fr.pq.handler'")
            .fetch_one(pool)
            .await?;
    let mut all = Vec::with_capacity(clients);
    let mut tokens: HashMap<String, String> = HashMap::new();
    for w in 0..clients {
        // Every pair of distinct countries in turn.
        let n = COUNTRIES.len();
        let (from, to) = (COUNTRIES[w % n], COUNTRIES[(w + 1 + (w / n) % (n - 1)) % n]);
        let mut client = Client {
            workflow: Workflow::of_client(w),
            from,
            to,
            tokens: HashMap::new(),
            fr_handler: fr_handler.clone(),
        };
        for login in client.logins() {
            if !tokens.contains_key(&login) {
                tokens.insert(
                    login.clone(),
                    log_in(&http, &base, &login, &password).await?,
                );
            }
            client.tokens.insert(login.clone(), tokens[&login].clone());
        }
        all.push(client);
    }
    let clients = Arc::new(all);
    let rounds: u64 = 3;
    let per_round = Duration::from_secs((seconds / rounds).max(1));
    let mut cycle = 0usize;
    // A warm-up round, not measured, then fresh statistics. A service in use has its tables'
    // statistics and plans made on them; a database a minute old has had no autovacuum visit
    // yet, and the plans its connections cache while the outbox and the read models hold a
    // few rows (a sequential scan where an index serves the grown table) would stay for the
    // whole run. ANALYZE also invalidates them.
    crate::bench_writes::wait_caught_up(pool, Duration::from_secs(120)).await?;
    run_side(pool, &http, &base, &clients, per_round, false, &mut cycle).await?;
    crate::bench_writes::wait_caught_up(pool, Duration::from_secs(120)).await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    let workflows: Vec<_> = clients.iter().map(|c| c.workflow.label()).collect();
    println!(
        "writes (mix): {} clients on the demo network ({}), {rounds} interleaved rounds of {} s per side after a warm-up round, every projection, the sender and the scheduler live",
        clients.len(),
        workflows.join(", "),
        per_round.as_secs()
    );

    let first_event: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
        .fetch_one(pool)
        .await?;
    // The baseline starts from the same log: each replayed row's hash chain needs its
    // predecessor.
    replay(pool, baseline, 0, first_event, clients.len()).await?;
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn(sample_checkpoints(pool.clone(), sampling.clone()));
    let mut sides: BTreeMap<&str, Vec<Side>> = BTreeMap::new();
    for _ in 0..rounds {
        for (label, wait) in [("waitFor: []", false), ("default waitFor", true)] {
            let mut side =
                run_side(pool, &http, &base, &clients, per_round, wait, &mut cycle).await?;
            side.raw = replay(pool, baseline, side.after, side.to, clients.len()).await?;
            sides.entry(label).or_default().push(side);
        }
    }
    crate::bench_writes::wait_caught_up(pool, Duration::from_secs(120)).await?;
    sampling.store(false, Ordering::SeqCst);
    let samples = sampler.await??;
    let lags = event_lags(pool, first_event, &samples).await?;
    let memory = memory();

    let raw = sides.values().flatten().map(|s| s.raw);
    let raw_seconds: f64 = raw.clone().map(|r| r.0).sum();
    let raw_transactions: usize = raw.clone().map(|r| r.1).sum();
    let raw_rows: usize = raw.map(|r| r.2).sum();
    println!(
        "  {:<44} {:>7.0} transactions/s  {:>7.0} rows/s  (baseline: the rows of both sides below, {raw_transactions} transactions, {raw_rows} rows)",
        "raw INSERT of the same rows",
        raw_transactions as f64 / raw_seconds,
        raw_rows as f64 / raw_seconds,
    );
    for (label, list) in &sides {
        let seconds: f64 = list.iter().map(|s| s.seconds).sum();
        let operations: usize = list.iter().map(|s| s.tally.operations).sum();
        let errors: Vec<&String> = list.iter().flat_map(|s| s.tally.errors.iter()).collect();
        let same_rows: f64 = list.iter().map(|s| s.raw.0).sum();
        println!(
            "  mutations over HTTP, {label:<24} {:>7.0} /s  ({:.2}x raw: the same rows took {:.1} s raw, {:.1} s here){}",
            operations as f64 / seconds,
            same_rows / seconds,
            same_rows,
            seconds,
            if errors.is_empty() {
                String::new()
            } else {
                format!("  ({} errors, first: {})", errors.len(), errors[0])
            }
        );
        let mut by_workflow: BTreeMap<Workflow, Vec<Duration>> = BTreeMap::new();
        for s in list {
            for (w, l) in &s.tally.latencies {
                by_workflow.entry(*w).or_default().extend(l);
            }
        }
        let mut every: Vec<Duration> = by_workflow.values().flatten().copied().collect();
        every.sort();
        println!(
            "    every step: p50 {:.1} ms, p99 {:.1} ms",
            millis(percentile(&every, 0.5)),
            millis(percentile(&every, 0.99))
        );
        for (w, mut l) in by_workflow {
            l.sort();
            println!(
                "    {:<16} {:>6} steps  p50 {:>6.1} ms  p99 {:>6.1} ms",
                w.label(),
                l.len(),
                millis(percentile(&l, 0.5)),
                millis(percentile(&l, 0.99))
            );
        }
    }
    print_lag_and_memory(&lags, &memory);
    service.stop().await;
    let _ = std::fs::remove_dir_all(&mail_dir);
    Ok(())
}

impl Client {
    fn logins(&self) -> Vec<String> {
        let (a, b) = (self.from, self.to);
        match self.workflow {
            Workflow::Request => {
                let mut l = vec![format!("{a}.pq.handler"), format!("{b}.pq.handler")];
                if a == "de" {
                    l.push("de.requests".into());
                }
                if b == "fr" {
                    l.push("fr.pq.allocator".into());
                }
                l
            }
            Workflow::Alert => vec![
                format!("{a}.sd.alerts"),
                format!("{a}.alerts"),
                format!("{b}.alerts"),
            ],
            Workflow::Authority => vec![format!("{a}.nimic")],
        }
    }

    /// The steps of this client's `n`-th cycle through its workflow.
    fn cycle(&self, n: usize) -> Vec<Step> {
        let (a, b) = (self.from, self.to);
        let id = format!(
            "bench-{}-{a}-{b}-{n}",
            self.workflow.label().replace(' ', "-")
        );
        match self.workflow {
            Workflow::Request => {
                let step = json!({ "requestId": id });
                let due = (Utc::now() + chrono::Duration::days(30)).date_naive();
                let mut steps = vec![
                    Step::new(
                        format!("{a}.pq.handler"),
                        "draftRequest",
                        "DraftRequestInput",
                        json!({
                            "requestId": id,
                            "area": "PQ",
                            "content": {
                                "questionSet": "PQ-GEN",
                                "questions": ["PQ-GEN-01"],
                                "subject": { "name": format!("Subject {n} of {a}") },
                                "proposedAnswerDate": due.to_string(),
                                "respondingAuthority": format!("{b}-pq"),
                            }
                        }),
                    ),
                    Step::new(
                        format!("{a}.pq.handler"),
                        "sendRequest",
                        "RequestStepInput",
                        step.clone(),
                    ),
                ];
                if a == "de" {
                    steps.push(Step::new(
                        "de.requests".into(),
                        "approveRequest",
                        "RequestStepInput",
                        step.clone(),
                    ));
                }
                if b == "fr" {
                    steps.push(Step::new(
                        "fr.pq.allocator".into(),
                        "assignRequest",
                        "AssignRequestInput",
                        json!({ "requestId": id, "handlers": [self.fr_handler] }),
                    ));
                }
                steps.push(Step::new(
                    format!("{b}.pq.handler"),
                    "acceptRequest",
                    "AcceptRequestInput",
                    step.clone(),
                ));
                steps.push(Step::new(
                    format!("{b}.pq.handler"),
                    "replyToRequest",
                    "ReplyInput",
                    json!({ "requestId": id, "answers": [{ "questionId": "PQ-GEN-01", "text": "Yes, the diploma is recognised." }] }),
                ));
                steps.push(Step::new(
                    format!("{a}.pq.handler"),
                    "closeRequest",
                    "RequestStepInput",
                    step,
                ));
                steps
            }
            Workflow::Alert => {
                // The alert's id is the draft's answer: the later steps take it from there.
                let mut draft = Step::new(
                    format!("{a}.sd.alerts"),
                    "draftSdAlert",
                    "DraftSdAlertInput",
                    json!({ "alert": {
                        "memberStateOfEstablishment": b.to_uppercase(),
                        "dangerousActivity": format!("Unlicensed gas installations ({n})"),
                        "serviceProvider": format!("Provider {n} of {b}"),
                    }}),
                );
                draft.selection = "alertId";
                let alert = json!({ "alertId": "" });
                let with = |more: Value| {
                    let mut v = alert.clone();
                    v.as_object_mut()
                        .expect("object")
                        .extend(more.as_object().expect("object").clone());
                    v
                };
                vec![
                    draft,
                    Step::new(
                        format!("{a}.sd.alerts"),
                        "submitAlert",
                        "SubmitAlertInput",
                        with(json!({ "coordinatorId": format!("nimic-{a}") })),
                    ),
                    Step::new(
                        format!("{a}.alerts"),
                        "broadcastAlert",
                        "AlertMemberStatesInput",
                        with(json!({ "memberStates": [b.to_uppercase()] })),
                    ),
                    Step::new(
                        format!("{b}.alerts"),
                        "acknowledgeAlert",
                        "AlertInput",
                        alert.clone(),
                    ),
                    Step::new(
                        format!("{b}.alerts"),
                        "addAlertRecipients",
                        "AddAlertRecipientsInput",
                        with(json!({ "authorityIds": [format!("{b}-sd")] })),
                    ),
                    Step::new(
                        format!("{a}.sd.alerts"),
                        "withdrawAlert",
                        "AlertTextInput",
                        with(json!({ "text": "Sent in error" })),
                    ),
                ]
            }
            Workflow::Authority => {
                let language = ["en", "fr", "de", "pl"][n % 4];
                vec![Step::new(
                    format!("{a}.nimic"),
                    "setInformalTitle",
                    "SetInformalTitleInput",
                    json!({ "authorityId": format!("nimic-{a}"), "language": language, "title": format!("Title {n} of nimic-{a}") }),
                )]
            }
        }
    }
}

/// Runs every client through its workflow for `how_long`; each step waits for its default
/// projections when `wait`, else sends `waitFor: []`.
#[allow(clippy::too_many_arguments)]
async fn run_side(
    pool: &PgPool,
    http: &reqwest::Client,
    base: &str,
    clients: &Arc<Vec<Client>>,
    how_long: Duration,
    wait: bool,
    cycle: &mut usize,
) -> Result<Side> {
    let after: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
        .fetch_one(pool)
        .await?;
    let started = Instant::now();
    let until = started + how_long;
    let first_cycle = *cycle;
    let mut workers = Vec::new();
    for w in 0..clients.len() {
        let (http, base, clients) = (http.clone(), base.to_string(), clients.clone());
        workers.push(tokio::spawn(async move {
            let client = &clients[w];
            let mut tally = Tally::default();
            let mut n = first_cycle;
            'cycles: while Instant::now() < until {
                // Counted as used once begun: a cycle cut short by the clock is not begun
                // again by the next side (its exchange exists already).
                let this = n;
                n += 1;
                let mut alert_id = String::new();
                for mut step in client.cycle(this) {
                    if Instant::now() >= until {
                        break 'cycles;
                    }
                    if step.input.get("alertId").is_some() {
                        step.input["alertId"] = json!(alert_id);
                    }
                    if !wait {
                        step.input["waitFor"] = json!([]);
                    }
                    let query = format!(
                        "mutation($input: {}!) {{ {}(input: $input) {{ {} }} }}",
                        step.input_type, step.mutation, step.selection
                    );
                    let began = Instant::now();
                    let answer = post(
                        &http,
                        &base,
                        Some(&client.tokens[&step.login]),
                        &query,
                        json!({ "input": step.input }),
                    )
                    .await?;
                    tally
                        .latencies
                        .entry(client.workflow)
                        .or_default()
                        .push(began.elapsed());
                    if answer["errors"].is_null() {
                        tally.operations += 1;
                        if let Some(id) = answer["data"][step.mutation]["alertId"].as_str() {
                            alert_id = id.to_string();
                        }
                    } else {
                        tally.errors.push(format!(
                            "{}: {}",
                            step.mutation, answer["errors"][0]["message"]
                        ));
                        // A refused step leaves the cycle where it is: start the next one.
                        break;
                    }
                }
            }
            Ok::<_, anyhow::Error>((tally, n))
        }));
    }
    let mut total = Tally::default();
    for worker in workers {
        let (tally, n) = worker.await??;
        *cycle = (*cycle).max(n);
        total.operations += tally.operations;
        total.errors.extend(tally.errors);
        for (w, l) in tally.latencies {
            total.latencies.entry(w).or_default().extend(l);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let to: i64 = sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM events")
        .fetch_one(pool)
        .await?;
    Ok(Side {
        seconds,
        tally: total,
        after,
        to,
        raw: (0.0, 0, 0),
    })
}

/// Inserts the events of `(after, to]` raw into `baseline`: one transaction per transaction of
/// the service, by `writers` writers, each aggregate's transactions in order on one writer.
/// Its seconds, transactions and rows.
async fn replay(
    pool: &PgPool,
    baseline: &PgPool,
    after: i64,
    to: i64,
    writers: usize,
) -> Result<(f64, usize, usize)> {
    let rows = sqlx::query(
        "SELECT xid::text AS xid, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
           FROM events WHERE position > $1 AND position <= $2 ORDER BY position",
    )
    .bind(after)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let mut transactions: Vec<Vec<sqlx::postgres::PgRow>> = vec![];
    let mut last: Option<String> = None;
    for row in rows {
        let xid: String = row.try_get("xid")?;
        if last.as_deref() != Some(xid.as_str()) {
            transactions.push(vec![]);
            last = Some(xid);
        }
        transactions.last_mut().expect("pushed").push(row);
    }
    let count = transactions.len();
    let rows: usize = transactions.iter().map(Vec::len).sum();
    let mut lanes: Vec<Vec<Vec<sqlx::postgres::PgRow>>> =
        (0..writers.max(1)).map(|_| vec![]).collect();
    let mut lane_of: HashMap<String, usize> = HashMap::new();
    for t in transactions {
        let aggregate: String = t[0].try_get("aggregate_id")?;
        let next = lane_of.len();
        let lane = *lane_of.entry(aggregate).or_insert(next % writers.max(1));
        lanes[lane].push(t);
    }
    let started = Instant::now();
    let mut tasks = vec![];
    for lane in lanes {
        let baseline = baseline.clone();
        tasks.push(tokio::spawn(async move {
            for t in lane {
                let mut tx = baseline.begin().await?;
                for row in &t {
                    sqlx::query(
                        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(row.try_get::<String, _>("aggregate_type")?)
                    .bind(row.try_get::<String, _>("aggregate_id")?)
                    .bind(row.try_get::<i64, _>("sequence")?)
                    .bind(row.try_get::<String, _>("event_type")?)
                    .bind(row.try_get::<String, _>("event_version")?)
                    .bind(row.try_get::<Value, _>("payload")?)
                    .bind(row.try_get::<Value, _>("metadata")?)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((started.elapsed().as_secs_f64(), count, rows))
}
