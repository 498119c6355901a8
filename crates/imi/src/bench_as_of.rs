//! `imi bench as-of`: the latency of one request's view as of a point of the log, and of its
//! history as an auditor reads it, among `events` synthetic events, against the live view of
//! the same request (read models) in the same run. Both are shaped at the requesting handler's level, personal data opened and the
//! reading logged, as the gateway serves them.

use anyhow::{anyhow, Result};
use chrono::NaiveDate;
use imi_app::as_of::AsOf;
use imi_app::requests::{ContentInput, SubjectInput};
use imi_app::{App, AppError, Caller, Wait};
use imi_domain::authority::{
    user_key_id, AuthorityCommand, AuthorityData, AuthorityKind, LegislativeArea, NewUser,
    SystemClock, UserRole, Workflow, WorkflowRole, WorkflowSetup,
};
use imi_domain::reference::Language;
use imi_domain::request::RequestCommand;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn failed(e: AppError) -> anyhow::Error {
    anyhow!("{} ({})", e.message, e.code.as_str())
}

fn pq() -> LegislativeArea {
    LegislativeArea::parse("PQ").expect("PQ")
}

fn requests(role: WorkflowRole, linked: &str) -> BTreeMap<Workflow, WorkflowSetup> {
    BTreeMap::from([(
        Workflow::Requests,
        WorkflowSetup {
            role,
            linked_coordinators: BTreeSet::from([linked.to_string()]),
        },
    )])
}

fn grant(user_id: &str, roles: &[UserRole]) -> AuthorityCommand {
    AuthorityCommand::GrantUserRoles {
        user_id: user_id.into(),
        area: pq(),
        roles: roles.iter().copied().collect(),
    }
}

async fn run(app: &App, authority: &str, by: &Caller, command: AuthorityCommand) -> Result<()> {
    app.authority_command(by, authority, command, &Wait::none())
        .await
        .map_err(failed)?;
    Ok(())
}

/// The seeded national coordinator of `ms` as PQ request coordinator, and a competent
/// authority `<ms>-ca` linked to it whose user `<ms>-handler` handles requests.
async fn side(app: &App, ms: &str) -> Result<Caller> {
    let (nimic, lda) = (format!("nimic-{ms}"), format!("user-nimic-{ms}-lda"));
    let en = Language::parse("en")?;
    let da = Caller::user(&lda, &nimic, en.clone());
    run(
        app,
        &nimic,
        &da,
        grant(&lda, &[UserRole::DataAdministrator]),
    )
    .await?;
    run(
        app,
        &nimic,
        &da,
        AuthorityCommand::GrantAreaAccess {
            area: pq(),
            workflows: requests(WorkflowRole::RequestCoordinator, &nimic),
        },
    )
    .await?;
    let (ca, handler) = (format!("{ms}-ca"), format!("{ms}-handler"));
    let new_user = |id: String| async move {
        let identity = app
            .keyring
            .seal(&user_key_id(&id), &serde_json::json!({ "name": id }))
            .await?;
        anyhow::Ok(NewUser {
            user_id: id,
            identity,
        })
    };
    run(
        app,
        &ca,
        &da,
        AuthorityCommand::RegisterAuthority {
            authority_id: ca.clone(),
            kind: AuthorityKind::CompetentAuthority,
            region: None,
            coordinated_areas: BTreeSet::new(),
            access: BTreeMap::from([(pq(), requests(WorkflowRole::RequestAuthority, &nimic))]),
            data: AuthorityData {
                official_name: format!("Authority {ca}"),
                ..AuthorityData::default()
            },
            first_user: new_user(format!("{ca}-lda")).await?,
        },
    )
    .await?;
    let ca_lda = Caller::user(&format!("{ca}-lda"), &ca, en.clone());
    run(
        app,
        &ca,
        &ca_lda,
        AuthorityCommand::RegisterUser {
            user: new_user(handler.clone()).await?,
            local_data_administrator: false,
        },
    )
    .await?;
    run(
        app,
        &ca,
        &ca_lda,
        grant(&handler, &[UserRole::RequestHandler]),
    )
    .await?;
    Ok(Caller::user(&handler, &ca, en))
}

/// A user of the national coordinator of `ms` holding only the auditor role.
async fn auditor(app: &App, ms: &str) -> Result<Caller> {
    let (nimic, lda) = (format!("nimic-{ms}"), format!("user-nimic-{ms}-lda"));
    let en = Language::parse("en")?;
    let da = Caller::user(&lda, &nimic, en.clone());
    let id = format!("{ms}-auditor");
    let identity = app
        .keyring
        .seal(&user_key_id(&id), &serde_json::json!({ "name": id }))
        .await?;
    run(
        app,
        &nimic,
        &da,
        AuthorityCommand::RegisterUser {
            user: NewUser {
                user_id: id.clone(),
                identity,
            },
            local_data_administrator: false,
        },
    )
    .await?;
    run(app, &nimic, &da, grant(&id, &[UserRole::Auditor])).await?;
    Ok(Caller::user(&id, &nimic, en))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// p50 and p99 in ms of `samples` runs of `f`.
async fn latencies<F, Fut>(samples: usize, mut f: F) -> Result<(f64, f64)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let started = Instant::now();
        f(i).await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok((percentile(&times, 0.5), percentile(&times, 0.99)))
}

/// One request (drafted, sent, accepted, answered in two replies) played through the
/// application, its read models built: the application, its requesting handler, and the
/// request's event positions.
async fn one_request(pool: &PgPool) -> Result<(App, Caller, Vec<i64>)> {
    let app = App::on_pool(
        pool.clone(),
        KeyRing::new(pool.clone(), MasterKey::generate()),
        Wake::local_only(),
        Arc::new(SystemClock),
    );
    crate::seed::seed(&app, false).await?;
    let de = side(&app, "de").await?;
    let fr = side(&app, "fr").await?;
    // One request, drafted, sent, accepted and answered in two replies.
    let content = ContentInput {
        question_set: "PQ-GEN".into(),
        questions: vec!["PQ-GEN-01".into(), "PQ-GEN-02".into()],
        free_text: Some("Recognition of a diploma".into()),
        subject: SubjectInput {
            name: "A. Person".into(),
            ..Default::default()
        },
        attachments: vec![],
        proposed_answer_date: NaiveDate::from_ymd_opt(2030, 6, 1).expect("a date"),
        responding_authority: "fr-ca".into(),
        request_coordinator: None,
    };
    let none = Wait::none();
    app.draft_request(&de, Some("r-1"), "PQ", content, &none)
        .await
        .map_err(failed)?;
    app.request_step(&de, "r-1", RequestCommand::Send, &none)
        .await
        .map_err(failed)?;
    app.request_step(
        &fr,
        "r-1",
        RequestCommand::Accept {
            request_coordinator: None,
        },
        &none,
    )
    .await
    .map_err(failed)?;
    for (full, question) in [(false, "PQ-GEN-01"), (true, "PQ-GEN-02")] {
        let answers = [(question.to_string(), "Confirmed".to_string())];
        app.reply_to_request(&fr, "r-1", full, &answers, &[], &none)
            .await
            .map_err(failed)?;
    }
    for projection in imi_projections::all().into_iter().filter(|p| {
        // The requests' read models, and the directory an auditor's history reads.
        p.name().starts_with("request_") || p.name() == imi_app::directory::NAME
    }) {
        imi_projections::rebuild::rebuild(pool, projection.as_ref(), |_| {}).await?;
    }
    let positions: Vec<i64> = sqlx::query_scalar(
        "SELECT position FROM events WHERE aggregate_id = 'r-1' ORDER BY sequence",
    )
    .fetch_all(pool)
    .await?;
    Ok((app, de, positions))
}

/// `imi bench processing-log`: the full view of a request with personal data (opened and
/// logged, as the gateway serves it), and the same reads without the log's append: per
/// sample, the time spent in `processing_log::record` is subtracted from the view's.
pub async fn processing_log_bench(pool: &PgPool, samples: usize) -> Result<()> {
    let (app, de, _) = one_request(pool).await?;
    let (mut with, mut without, mut writes) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..samples {
        let writing = imi_store::processing_log::time_spent_writing();
        let started = Instant::now();
        let view = app.request(&de, "r-1").await.map_err(failed)?;
        app.request_content(&view).await.map_err(failed)?;
        let elapsed = started.elapsed();
        let write = imi_store::processing_log::time_spent_writing() - writing;
        with.push(elapsed);
        without.push(elapsed.saturating_sub(write));
        writes.push(write);
    }
    let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM processing_log")
        .fetch_one(pool)
        .await?;
    for times in [&mut with, &mut without, &mut writes] {
        times.sort();
    }
    let p = |t: &[Duration]| (percentile(t, 0.5), percentile(t, 0.99));
    let ((w50, w99), (n50, n99), (a50, a99)) = (p(&with), p(&without), p(&writes));
    println!(
        "{samples} full views of one request at the requesting handler's level (personal data opened), {entries} log entries written:"
    );
    println!("  without the log's append: p50 {n50:.2} ms, p99 {n99:.2} ms (baseline)");
    println!(
        "  with it (as served):      p50 {w50:.2} ms, p99 {w99:.2} ms = {:.2}x / {:.2}x",
        w50 / n50,
        w99 / n99
    );
    println!("  the append alone:         p50 {a50:.2} ms, p99 {a99:.2} ms");
    Ok(())
}

pub async fn as_of_bench(pool: &PgPool, events: i64, samples: usize) -> Result<()> {
    let (app, de, positions) = one_request(pool).await?;
    crate::bench::write_history(pool, events, 0).await?;

    // Baseline: the live view of the same request, from the read models.
    let (live50, live99) = latencies(samples, |_| async {
        let view = app.request(&de, "r-1").await.map_err(failed)?;
        app.request_content(&view).await.map_err(failed)?;
        Ok(())
    })
    .await?;
    let (past50, past99) = latencies(samples, |i| {
        let (app, de) = (&app, &de);
        let point = AsOf::Position(positions[i % positions.len()]);
        async move {
            let view = app.request_as_of(de, "r-1", point).await.map_err(failed)?;
            app.request_content(&view).await.map_err(failed)?;
            Ok(())
        }
    })
    .await?;
    // An auditor's history of the exchange: every event of it and of what it touched.
    let auditor = auditor(&app, "de").await?;
    let (history50, history99) = latencies(samples, |_| async {
        let page = app
            .exchange_history(&auditor, "InformationRequest/r-1", None, 100)
            .await
            .map_err(failed)?;
        if page.entries.is_empty() {
            return Err(anyhow!("the history of r-1 is empty"));
        }
        Ok(())
    })
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    println!(
        "one request ({} events) among {total} events, {samples} reads each, at the requesting handler's level (personal data opened and logged):",
        positions.len()
    );
    println!("live view (read models): p50 {live50:.2} ms, p99 {live99:.2} ms");
    println!(
        "as of one of its positions: p50 {past50:.2} ms, p99 {past99:.2} ms = {:.2}x / {:.2}x the live view",
        past50 / live50,
        past99 / live99
    );
    println!(
        "its history for an auditor (every event, decoded, no personal data): p50 {history50:.2} ms, p99 {history99:.2} ms = {:.2}x / {:.2}x the live view",
        history50 / live50,
        history99 / live99
    );
    Ok(())
}
