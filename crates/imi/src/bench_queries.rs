//! `imi bench queries`: what the listed read queries cost a client over GraphQL and HTTP on an
//! EU-sized history, each against its read model's SQL alone, run from the client in the same
//! run. The history is one written by `imi bench populate` (in a fresh database, or an
//! existing one given with its master key), with the whole service live in this process.

use crate::bench_service::{post, InProcess};
use anyhow::{bail, Context, Result};
use chrono::{Datelike, NaiveDate, Utc};
use imi_domain::actor::Actor;
use imi_domain::authority::{AuthorityCommand, LegislativeArea, UserRole};
use imi_domain::command::Issued;
use imi_gateway::schema::relay::encode_cursor;
use imi_gateway::Services;
use imi_projections::directory::{self, DirectoryQuery};
use imi_projections::request_monitoring::{self, RequestFilter};
use imi_projections::request_scoreboard;
use imi_projections::{alert_overview, alert_queue, alert_statistics, request_full, request_inbox};
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::MasterKey;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// The read model's SQL alone, run from the client: the rows it read.
type Direct = Box<dyn Fn(PgPool) -> Pin<Box<dyn Future<Output = Result<usize>> + Send>>>;

/// One measured query: its GraphQL form and the same read model's SQL alone.
struct Case {
    name: String,
    token: String,
    query: String,
    variables: Value,
    direct: Direct,
}

/// Reads `pool`'s history: written here first at scale `populate` when given, else one
/// populated earlier whose personal data is sealed under `master`.
pub async fn queries_bench(
    pool: &PgPool,
    populate: Option<f64>,
    master: Option<MasterKey>,
    samples: usize,
) -> Result<()> {
    let master = match (populate, master) {
        (Some(scale), master) => {
            let master = master.unwrap_or_else(MasterKey::generate);
            crate::bench_populate::populate(pool, scale, master.clone()).await?;
            master
        }
        (None, Some(master)) => master,
        (None, None) => bail!(
            "--master-key is needed with --database: the key `imi bench populate --master-key` sealed it under"
        ),
    };
    let reference = imi_store::reference::ReferenceData::bundled()?;
    imi_store::reference::load(pool, &reference).await?;
    // Every projection live, as a server runs them (they are built here first when missing
    // or when their schema changed since the history was written). No scheduler: it would
    // start deleting the history's expired personal data; no sender: nothing to send.
    let roles = [crate::app::Role::Gateway, crate::app::Role::Projectors];
    let service = InProcess::start(pool, master, crate::app::Options::new(&roles, None)).await?;
    let (services, base) = (&service.services, service.base.as_str());
    let http = reqwest::Client::new();
    crate::bench_writes::wait_caught_up(pool, Duration::from_secs(3600)).await?;

    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    let cases = cases(pool, services, &http, base).await?;
    crate::bench_writes::wait_caught_up(pool, Duration::from_secs(3600)).await?;
    println!(
        "queries: {events} events in the log, {samples} samples each, one client, GraphQL over HTTP against the read model's SQL alone"
    );
    for case in &cases {
        // Warm both paths, then interleave them so both see the same machine.
        let mut rows = 0;
        for _ in 0..5 {
            graphql(&http, base, case).await?;
            rows = (case.direct)(pool.clone()).await?;
        }
        let (mut api, mut sql) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
        for _ in 0..samples {
            let t = Instant::now();
            graphql(&http, base, case).await?;
            api.push(t.elapsed());
            let t = Instant::now();
            (case.direct)(pool.clone()).await?;
            sql.push(t.elapsed());
        }
        api.sort();
        sql.sort();
        println!(
            "  {:<44} {rows:>5} rows  GraphQL p50 {:>6.2} p99 {:>6.2} ms  SQL p50 {:>6.2} p99 {:>6.2} ms  ({:.2}x, {:.2}x)",
            case.name,
            millis(&api, 0.50),
            millis(&api, 0.99),
            millis(&sql, 0.50),
            millis(&sql, 0.99),
            millis(&api, 0.50) / millis(&sql, 0.50),
            millis(&api, 0.99) / millis(&sql, 0.99),
        );
    }
    service.stop().await;
    Ok(())
}

/// Chooses the busiest readers of the history, signs them in, and builds the cases.
async fn cases(
    pool: &PgPool,
    services: &Services,
    http: &reqwest::Client,
    base: &str,
) -> Result<Vec<Case>> {
    let mut cases = vec![];
    // The authority watching the most requests: a national coordinator (every request of
    // its Member State's authorities, sent or received).
    let (coordinator, watched): (String, i64) = sqlx::query_as(
        "SELECT watcher, count(*) FROM request_monitoring.watched
          GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
    )
    .fetch_optional(pool)
    .await?
    .context("the history holds no request: populate it first")?;
    let token = sign_in(pool, services, http, base, &coordinator).await?;
    let filter = RequestFilter {
        watcher: coordinator.clone(),
        limit: 21,
        ..RequestFilter::default()
    };
    let list = "query($after: String) { informationRequests(first: 20, after: $after) {
        edges { node { id status area requestingAuthority respondingAuthority draftedAt } }
        pageInfo { hasNextPage endCursor } } }";
    cases.push(Case {
        name: format!("monitoring list, first page ({watched} watched)"),
        token: token.clone(),
        query: list.into(),
        variables: json!({}),
        direct: direct(move |pool| {
            let filter = filter.clone();
            async move { Ok(request_monitoring::list(&pool, &filter).await?.len()) }
        }),
    });
    let middle: String = sqlx::query_scalar(
        "SELECT request_id FROM request_monitoring.watched WHERE watcher = $1
          ORDER BY request_id OFFSET $2 LIMIT 1",
    )
    .bind(&coordinator)
    .bind(watched / 2)
    .fetch_one(pool)
    .await?;
    let filter = RequestFilter {
        watcher: coordinator.clone(),
        after: Some(middle.clone()),
        limit: 21,
        ..RequestFilter::default()
    };
    cases.push(Case {
        name: format!("monitoring list, page {}", watched / 40),
        token,
        query: list.into(),
        variables: json!({ "after": encode_cursor("InformationRequest", &middle) }),
        direct: direct(move |pool| {
            let filter = filter.clone();
            async move { Ok(request_monitoring::list(&pool, &filter).await?.len()) }
        }),
    });

    // A closed request in the middle of the history, read by its requesting authority.
    let (request, requester): (String, String) = sqlx::query_as(
        "SELECT request_id, requesting_authority FROM request_monitoring.requests
          WHERE status = 'Closed' ORDER BY drafted_at OFFSET (SELECT count(*) / 2 FROM
          request_monitoring.requests WHERE status = 'Closed') LIMIT 1",
    )
    .fetch_one(pool)
    .await?;
    let token = sign_in(pool, services, http, base, &requester).await?;
    let id = request.clone();
    cases.push(Case {
        name: "a full view with personal data".into(),
        token: token.clone(),
        query: "query($id: ID!) { informationRequest(id: $id) { id status viewLevel
            content { subject freeText questions { id answer } } } }"
            .into(),
        variables: json!({ "id": request }),
        direct: direct(move |pool| {
            let id = id.clone();
            async move {
                let a = request_monitoring::get(&pool, &id).await?.is_some();
                let b = request_full::get(&pool, &id).await?.is_some();
                Ok(usize::from(a) + usize::from(b))
            }
        }),
    });
    let id = request.clone();
    cases.push(Case {
        name: "an exchange's steps".into(),
        token,
        query: "query($id: ID!) { informationRequest(id: $id) { id
            content { steps { sequence eventType at byAuthority byUser reason text } } } }"
            .into(),
        variables: json!({ "id": request }),
        direct: direct(move |pool| {
            let id = id.clone();
            async move {
                request_monitoring::get(&pool, &id).await?;
                // As the service reads them: the row and its steps in one statement.
                let full = request_full::get_with_steps(&pool, &id).await?;
                Ok(full.map_or(0, |(_, steps)| steps.len()))
            }
        }),
    });

    // Authority search: a word of every competent authority's English title, and a French
    // one in no title (nothing found, so every candidate is read).
    let coordinator_token = sign_in(pool, services, http, base, &coordinator).await?;
    for (text, language) in [("competent", "en"), ("autorité", "fr")] {
        let query = DirectoryQuery {
            text: Some(text.into()),
            language: Some(language.into()),
            limit: 21,
            ..DirectoryQuery::default()
        };
        cases.push(Case {
            name: format!("authority search \"{text}\" ({language})"),
            token: coordinator_token.clone(),
            query: "query($text: String!, $language: String!) {
                authorities(text: $text, language: $language, first: 20) {
                  edges { node { id memberState officialName } } } }"
                .into(),
            variables: json!({ "text": text, "language": language }),
            direct: direct(move |pool| {
                let query = query.clone();
                async move { Ok(directory::find(&pool, &query).await?.len()) }
            }),
        });
    }

    // The request inbox of the authority with the most waiting steps.
    if let Some((authority, items)) = sqlx::query_as::<_, (String, i64)>(
        "SELECT authority_id, count(*) FROM request_inbox.items GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
    )
    .fetch_optional(pool)
    .await?
    {
        let token = sign_in(pool, services, http, base, &authority).await?;
        let user = format!("{authority}-u0");
        cases.push(Case {
            name: format!("request inbox ({items} items)"),
            token,
            query: "{ requestInbox(first: 20) { edges { cursor node { requestId action area since dueDate assignedTo } } pageInfo { hasNextPage } } }".into(),
            variables: json!({}),
            direct: direct(move |pool| {
                let (authority, user) = (authority.clone(), user.clone());
                async move {
                    // A page of items (and one), and the requests' rows the policy decides on.
                    let items =
                        request_inbox::of_authority(&pool, &authority, Some(&user), None, 21)
                            .await?;
                    let ids: Vec<String> = items.iter().map(|i| i.request_id.clone()).collect();
                    request_monitoring::get_many(&pool, &ids).await?;
                    Ok(items.len())
                }
            }),
        });
    }
    // The alert queue of the authority with the most alerts waiting.
    if let Some((authority, items)) = sqlx::query_as::<_, (String, i64)>(
        "SELECT authority_id, count(*) FROM alert_queue.queue GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
    )
    .fetch_optional(pool)
    .await?
    {
        let token = sign_in(pool, services, http, base, &authority).await?;
        cases.push(Case {
            name: format!("alert queue ({items} waiting)"),
            token,
            query: "{ alertQueue(first: 20) { edges { node { queue since alert { id status } } } } }"
                .into(),
            variables: json!({}),
            direct: direct(move |pool| {
                let authority = authority.clone();
                async move {
                    // The page's entries, and their alerts' rows the policy decides on.
                    let found = alert_queue::for_authority(&pool, &authority, None, None, 21).await?;
                    let ids: Vec<String> = found.iter().map(|q| q.alert_id.clone()).collect();
                    alert_overview::get_many(&pool, &ids).await?;
                    Ok(found.len())
                }
            }),
        });
    }

    // The statistics: the Scoreboard over a calendar year (whole months), over the last 365
    // days and the last ten years (days at both edges, and today's undecided acceptances),
    // and the alert figures.
    let year = Utc::now().year() - 1;
    let today = Utc::now().date_naive();
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).context("date");
    let periods = [
        (
            format!("scoreboard of {year}"),
            date(year, 1, 1)?,
            date(year + 1, 1, 1)?,
        ),
        (
            "scoreboard of the last 365 days".to_string(),
            today - chrono::Days::new(364),
            today + chrono::Days::new(1),
        ),
        (
            "scoreboard of the last ten years".to_string(),
            today - chrono::Months::new(120),
            today + chrono::Days::new(1),
        ),
    ];
    for (name, from, to) in periods {
        cases.push(Case {
            name,
            token: coordinator_token.clone(),
            query: "query($from: NaiveDate!, $to: NaiveDate!) { scoreboard(from: $from, to: $to) {
            memberState overall figures { indicator value light cases } } }"
                .into(),
            variables: json!({ "from": from, "to": to }),
            direct: direct(move |pool| async move {
                Ok(
                    request_scoreboard::by_member_state(&pool, from, to, None, Utc::now())
                        .await?
                        .len(),
                )
            }),
        });
    }
    cases.push(Case {
        name: "alert statistics".into(),
        token: coordinator_token,
        query: "{ alertStatistics { memberState sent received open closed withdrawn } }".into(),
        variables: json!({}),
        direct: direct(move |pool| async move {
            Ok(alert_statistics::by_member_state(&pool, None).await?.len())
        }),
    });
    Ok(cases)
}

fn direct<F, Fut>(f: F) -> Direct
where
    F: Fn(PgPool) -> Fut + 'static,
    Fut: Future<Output = Result<usize>> + Send + 'static,
{
    Box::new(move |pool| Box::pin(f(pool)))
}

/// Gives the first user of `authority` the reading and working roles in every area its
/// authority works in (so that its inbox holds what it may take), through the application
/// like a local data administrator would, and signs it in.
async fn sign_in(
    pool: &PgPool,
    services: &Services,
    http: &reqwest::Client,
    base: &str,
    authority: &str,
) -> Result<String> {
    let user = format!("{authority}-u0");
    let actor = Actor::User {
        user_id: user.clone(),
        authority_id: authority.to_string(),
    };
    let areas: Vec<String> = sqlx::query_scalar(
        "SELECT area FROM authority_directory.areas WHERE authority_id = $1 ORDER BY area",
    )
    .bind(authority)
    .fetch_all(pool)
    .await?;
    for area in areas {
        // The referral handler's role apart: only request coordinators have it, and a refused
        // grant grants nothing.
        let grants = [
            BTreeSet::from([
                UserRole::RequestHandler,
                UserRole::AlertHandler,
                UserRole::Allocator,
            ]),
            BTreeSet::from([UserRole::ReferralHandler]),
        ];
        for roles in grants {
            let command = AuthorityCommand::GrantUserRoles {
                user_id: user.clone(),
                area: LegislativeArea::parse(&area)?,
                roles,
            };
            // Already granted (a second run on the same history) or refused is fine.
            let _ = services
                .authorities
                .execute(
                    authority,
                    Issued::new(actor.clone(), command),
                    CommandMetadata::for_actor(&actor),
                )
                .await;
        }
    }
    crate::bench_service::sign_in(pool, http, base, &user, authority).await
}

async fn graphql(http: &reqwest::Client, base: &str, case: &Case) -> Result<()> {
    let answer = post(
        http,
        base,
        Some(&case.token),
        &case.query,
        case.variables.clone(),
    )
    .await?;
    if answer.get("errors").is_some() {
        bail!("{}: {answer}", case.name);
    }
    Ok(())
}

fn millis(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}
