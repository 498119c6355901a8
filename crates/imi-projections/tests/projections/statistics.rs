//! The sums the Scoreboard reads and the counters the alert statistics read equal a
//! recomputation from the facts after random histories, played through the aggregates from
//! fixed seeds: requests between DE, FR and AT in PQ and SD that are accepted, answered in
//! part and in full, asked for more and answered again (so their full reply moves to another
//! day), rated, withdrawn and closed at random times; alerts from DE in SD and PQ, broadcast
//! to FR and AT, acknowledged, proposed for closure, objected to, closed or withdrawn. The
//! projections are built in small batches while the histories go on, compared at each stop,
//! rebuilt and compared again; figures over random periods and times of query equal those
//! the facts alone give (the query the sums replaced); a batch applied again counts once;
//! the sums hold no personal data.

use crate::alerts::{self, History};
use crate::directory::{assert_rebuild_equals_incremental, build};
use crate::ledger::migrated;
use crate::scene::{dump, dump_schema, user};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use imi_domain::actor::Actor;
use imi_domain::alert::{AlertCommand, AlertContent, ProfessionalAlert, RestrictionScope};
use imi_domain::authority::testing::InMemoryDirectory;
use imi_domain::authority::{
    AreaAccess, AuthorityKind, AuthorityStatus, AuthoritySummary, LegislativeArea, UserRole,
    UserSummary, Workflow, WorkflowAccess, WorkflowRole,
};
use imi_domain::command::Issued;
use imi_domain::reference::MemberState;
use imi_domain::request::testing::InMemoryRequestServices;
use imi_domain::request::{request_key_id, InformationRequest, RequestCommand, RequestContent};
use imi_projections::alert_statistics::{self, AlertStatisticsProjection, MemberStateStatistics};
use imi_projections::request_scoreboard::{self, MemberStateFigures, RequestScoreboard};
use imi_projections::runner::{self, apply_batch, LIVE_BATCH};
use imi_projections::{Projection, Slot};
use imi_store::commands::{AggregateConfig, CommandBus};
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet};

/// A small deterministic generator (SplitMix64): the same seed plays the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// In `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

const SEEDS: [u64; 3] = [1, 7, 2026];
const MEMBER_STATES: [&str; 3] = ["DE", "FR", "AT"];
const AREAS: [&str; 2] = ["PQ", "SD"];
/// The requests' personal data: none may appear in the Scoreboard's tables.
const SUBJECT: &str = "Dr. Erika Mustermann-Geheim";
const ANSWER: &str = "licence 0815-geheim";

fn area(code: &str) -> LegislativeArea {
    LegislativeArea::parse(code).unwrap()
}

/// `xx-ca` answers and sends requests in PQ and SD through its coordinator `xx-rc`; its
/// handler is `xx-handler`.
fn request_authority(
    id: &str,
    member_state: &str,
    role: WorkflowRole,
    coordinator: &str,
) -> AuthoritySummary {
    let access = AreaAccess {
        access_coordinator: coordinator.into(),
        workflows: BTreeMap::from([(
            Workflow::Requests,
            WorkflowAccess {
                role,
                linked_coordinators: BTreeSet::from([coordinator.to_string()]),
                flags: BTreeSet::new(),
            },
        )]),
        competences: BTreeSet::new(),
        professions: BTreeSet::new(),
        service_activities: BTreeSet::new(),
    };
    let handler = format!("{}-handler", &id[..2]);
    AuthoritySummary {
        authority_id: id.into(),
        member_state: MemberState::parse(member_state).unwrap(),
        kind: if role == WorkflowRole::RequestCoordinator {
            AuthorityKind::DelegatedCoordinator
        } else {
            AuthorityKind::CompetentAuthority
        },
        region: None,
        coordinated_areas: AREAS.iter().map(|a| area(a)).collect(),
        status: AuthorityStatus::Validated,
        invited_by: None,
        validating_coordinator: None,
        areas: AREAS.iter().map(|a| (area(a), access.clone())).collect(),
        linked_authorities: BTreeSet::new(),
        users: if role == WorkflowRole::RequestCoordinator {
            BTreeMap::new()
        } else {
            BTreeMap::from([(
                handler,
                UserSummary {
                    local_data_administrator: false,
                    active: true,
                    roles: AREAS
                        .iter()
                        .map(|a| (area(a), BTreeSet::from([UserRole::RequestHandler])))
                        .collect(),
                },
            )])
        },
    }
}

fn request_services() -> InMemoryRequestServices {
    let mut directory = InMemoryDirectory::new()
        .with_area("PQ", &[Workflow::Requests])
        .with_area("SD", &[Workflow::Requests]);
    for ms in MEMBER_STATES {
        let code = ms.to_lowercase();
        directory = directory
            .with_authority(request_authority(
                &format!("{code}-ca"),
                ms,
                WorkflowRole::RequestAuthority,
                &format!("{code}-rc"),
            ))
            .with_authority(request_authority(
                &format!("{code}-rc"),
                ms,
                WorkflowRole::RequestCoordinator,
                &format!("{code}-rc"),
            ));
    }
    InMemoryRequestServices::new(directory)
        .with_question_set("PQ-GEN", "PQ", &["PQ-GEN-01", "PQ-GEN-02"])
        .with_question_set("SD-GEN", "SD", &["SD-GEN-01", "SD-GEN-02"])
}

/// One request of a random history, and where its workflow stands.
struct Request {
    id: String,
    area: &'static str,
    requesting: &'static str,
    responding: &'static str,
    now: DateTime<Utc>,
}

impl Request {
    fn by(code: &str) -> Actor {
        let code = code.to_lowercase();
        Actor::User {
            user_id: format!("{code}-handler"),
            authority_id: format!("{code}-ca"),
        }
    }
    fn questions(&self) -> [String; 2] {
        [
            format!("{}-GEN-01", self.area),
            format!("{}-GEN-02", self.area),
        ]
    }
}

struct Requests {
    pool: PgPool,
    keys: KeyRing,
    rng: Rng,
    requests: Vec<Request>,
    /// Requests whose full reply was sent again after more information was asked for.
    answered_again: BTreeSet<String>,
    full_replies: BTreeMap<String, usize>,
}

impl Requests {
    async fn new(seed: u64) -> Self {
        let pool = migrated().await;
        Self {
            keys: KeyRing::new(pool.clone(), MasterKey::generate()),
            pool,
            rng: Rng(seed),
            requests: vec![],
            answered_again: BTreeSet::new(),
            full_replies: BTreeMap::new(),
        }
    }

    /// Runs `command` on request `i` at its time; whether the aggregate accepted it.
    async fn run(&self, i: usize, by: Actor, command: RequestCommand) -> bool {
        let r = &self.requests[i];
        let bus: CommandBus<InformationRequest<InMemoryRequestServices>> = CommandBus::new(
            self.pool.clone(),
            AggregateConfig::default(),
            vec![],
            request_services().at(r.now),
            Wake::local_only(),
        );
        let metadata = CommandMetadata::for_actor(&by);
        bus.execute(&r.id, Issued::new(by, command), metadata)
            .await
            .is_ok()
    }

    /// Drafts and sends `n` new requests, at random times from late November 2025 to
    /// early February 2026, so that they cross days and months.
    async fn send(&mut self, n: usize) {
        let first = Utc.with_ymd_and_hms(2025, 11, 20, 0, 0, 0).unwrap();
        for _ in 0..n {
            let i = self.requests.len();
            let requesting = self.rng.pick(&MEMBER_STATES);
            let others: Vec<&str> = MEMBER_STATES
                .into_iter()
                .filter(|m| *m != requesting)
                .collect();
            let responding = self.rng.pick(&others);
            let now = first + Duration::minutes(self.rng.below(80 * 24 * 60) as i64);
            let request = Request {
                id: format!("r-{i}"),
                area: self.rng.pick(&AREAS),
                requesting,
                responding,
                now,
            };
            let subject = self
                .keys
                .seal(&request_key_id(&request.id), SUBJECT)
                .await
                .unwrap();
            let content = RequestContent {
                question_set: format!("{}-GEN", request.area),
                questions: request.questions().into_iter().collect(),
                free_text: None,
                subject,
                attachments: vec![],
                proposed_answer_date: now.date_naive()
                    + Duration::days(5 + self.rng.below(30) as i64),
                responding_authority: format!("{}-ca", responding.to_lowercase()),
                request_coordinator: None,
            };
            let draft = RequestCommand::Draft {
                request_id: request.id.clone(),
                area: area(request.area),
                content,
            };
            self.requests.push(request);
            assert!(self.run(i, Request::by(requesting), draft).await);
            assert!(
                self.run(i, Request::by(requesting), RequestCommand::Send)
                    .await
            );
        }
    }

    /// One random step of every request: time passes (minutes to 8 days), then one of its
    /// parties tries something; the aggregate refuses what its state does not allow.
    async fn step(&mut self) {
        for i in 0..self.requests.len() {
            let minutes = self.rng.below(8 * 24 * 60) as i64;
            self.requests[i].now += Duration::minutes(minutes);
            let (requesting, responding) =
                (self.requests[i].requesting, self.requests[i].responding);
            let [q1, q2] = self.requests[i].questions();
            let id = self.requests[i].id.clone();
            let answer = || async { self.keys.seal(&request_key_id(&id), ANSWER).await.unwrap() };
            let choice = self.rng.below(100);
            let (by, command) = match choice {
                0..=24 => (
                    responding,
                    RequestCommand::Accept {
                        request_coordinator: None,
                    },
                ),
                25..=31 => (
                    responding,
                    RequestCommand::ReplyPartially {
                        answers: BTreeMap::from([(q1.clone(), answer().await)]),
                        attachments: vec![],
                    },
                ),
                32..=56 => (
                    responding,
                    RequestCommand::Reply {
                        answers: BTreeMap::from([
                            (q1.clone(), answer().await),
                            (q2.clone(), answer().await),
                        ]),
                        attachments: vec![],
                    },
                ),
                57..=71 => (
                    requesting,
                    RequestCommand::RequestAdditionalInformation {
                        justification: answer().await,
                        questions: BTreeSet::from([q2.clone()]),
                    },
                ),
                72..=75 => {
                    let date = self.requests[i].now.date_naive()
                        + Duration::days(1 + self.rng.below(20) as i64);
                    (
                        responding,
                        RequestCommand::ProposeAnswerDate {
                            date,
                            reason: "more time".into(),
                        },
                    )
                }
                76..=78 => (requesting, RequestCommand::AgreeAnswerDate),
                79..=90 => (
                    requesting,
                    RequestCommand::RateReply {
                        timeliness: 1 + self.rng.below(5) as u8,
                        effort: 1 + self.rng.below(5) as u8,
                    },
                ),
                91..=93 => (
                    requesting,
                    RequestCommand::Withdraw {
                        reason: "no longer needed".into(),
                    },
                ),
                _ => (requesting, RequestCommand::Close),
            };
            let full = matches!(command, RequestCommand::Reply { .. });
            if self.run(i, Request::by(by), command).await && full {
                let n = self.full_replies.entry(id.clone()).or_default();
                *n += 1;
                if *n > 1 {
                    self.answered_again.insert(id);
                }
            }
        }
    }
}

/// Every row `sql` selects, as text, sorted.
async fn rows(db: &mut PgConnection, sql: &str) -> Vec<String> {
    sqlx::query_scalar(&format!("SELECT t::text FROM ({sql}) t ORDER BY 1"))
        .fetch_all(db)
        .await
        .unwrap()
}

/// The day (`grain` 'day') or month sums recomputed from the facts of `schema` alone, one
/// grouping per deciding date.
fn recomputed(schema: &str, grain: &str) -> String {
    let bucket = |col: &str| match grain {
        "day" => format!("({col} AT TIME ZONE 'UTC')::date"),
        _ => format!("date_trunc('month', {col} AT TIME ZONE 'UTC')::date"),
    };
    format!(
        "SELECT b, area, m, sum(a1)::int, sum(a2)::int, sum(a3)::int, sum(n)::int,
                trim_scale(sum(d)), sum(bd)::int, sum(r)::int, sum(nt)::int, sum(ne)::int
           FROM (
             SELECT {sent} AS b, area, responding_member_state AS m,
                    count(*) FILTER (WHERE accepted_at <= sent_at + interval '7 days') AS a1,
                    count(*) FILTER (WHERE accepted_at IS NOT NULL) AS a2,
                    count(*) FILTER (WHERE accepted_at IS NULL
                                       AND (withdrawn_at IS NULL
                                            OR sent_at + interval '7 days' <= withdrawn_at)) AS a3,
                    0 AS n, 0::numeric AS d, 0 AS bd, 0 AS r, 0 AS nt, 0 AS ne
               FROM {schema}.facts GROUP BY 1, 2, 3
             UNION ALL
             SELECT {answered}, area, responding_member_state, 0, 0, 0, count(*),
                    sum(extract(epoch FROM fully_answered_at - sent_at) / 86400),
                    count(*) FILTER (WHERE (fully_answered_at AT TIME ZONE 'UTC')::date
                                           <= due_date), 0, 0, 0
               FROM {schema}.facts WHERE fully_answered_at IS NOT NULL GROUP BY 1, 2, 3
             UNION ALL
             SELECT {rated}, area, responding_member_state, 0, 0, 0, 0, 0, 0, count(*),
                    count(*) FILTER (WHERE timeliness <= 2), count(*) FILTER (WHERE effort <= 2)
               FROM {schema}.facts WHERE rated_at IS NOT NULL GROUP BY 1, 2, 3) p
          GROUP BY b, area, m
         HAVING sum(a1) <> 0 OR sum(a2) <> 0 OR sum(a3) <> 0 OR sum(n) <> 0 OR sum(r) <> 0",
        sent = bucket("sent_at"),
        answered = bucket("fully_answered_at"),
        rated = bucket("rated_at"),
    )
}

const SUMS: &str = "accepted_in_time, accepted, unaccepted, answered, days_to_answer,
                    answered_by_date, rated, negative_timeliness, negative_effort";

/// The sums of `schema` equal those recomputed from its facts, day by day and month by month.
async fn assert_sums_match_facts(db: &mut PgConnection, schema: &str) {
    for (table, key, grain) in [("day_sums", "day", "day"), ("month_sums", "month", "month")] {
        let kept = rows(
            db,
            &format!("SELECT {key}, area, member_state, {SUMS} FROM {schema}.{table}"),
        )
        .await;
        let expected = rows(db, &recomputed(schema, grain)).await;
        assert!(!expected.is_empty());
        assert_eq!(kept, expected, "{schema}.{table}");
    }
}

/// The Scoreboard's query as it read the facts alone (before the sums): the reference.
async fn from_facts(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    area: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<MemberStateFigures> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(
        "WITH f AS (SELECT * FROM request_scoreboard.facts WHERE $3::text IS NULL OR area = upper($3)),
              p AS (SELECT $1::date::timestamptz AS from_t, $2::date::timestamptz AS to_t,
                           make_interval(days => 7) AS within),
              c AS (
         SELECT f.responding_member_state AS member_state,
                count(*) FILTER (WHERE sent_at >= from_t AND sent_at < to_t
                                   AND accepted_at <= sent_at + within) AS accepted_in_time,
                count(*) FILTER (WHERE sent_at >= from_t AND sent_at < to_t
                                   AND (accepted_at IS NOT NULL
                                        OR sent_at + within <= least($4, withdrawn_at)))
                  AS acceptance_decided,
                -- As float8: the figure, whatever the digits of the exact sum.
                coalesce(sum(extract(epoch FROM fully_answered_at - sent_at) / 86400)
                         FILTER (WHERE fully_answered_at >= from_t AND fully_answered_at < to_t),
                         0)::float8 AS days_to_answer,
                count(*) FILTER (WHERE fully_answered_at >= from_t AND fully_answered_at < to_t)
                  AS answered,
                count(*) FILTER (WHERE fully_answered_at >= from_t AND fully_answered_at < to_t
                                   AND (fully_answered_at AT TIME ZONE 'UTC')::date <= due_date)
                  AS answered_by_date,
                count(*) FILTER (WHERE rated_at >= from_t AND rated_at < to_t) AS rated,
                count(*) FILTER (WHERE rated_at >= from_t AND rated_at < to_t
                                   AND timeliness <= 2) AS negative_timeliness,
                count(*) FILTER (WHERE rated_at >= from_t AND rated_at < to_t
                                   AND effort <= 2) AS negative_effort
           FROM f, p
          GROUP BY f.responding_member_state)
         SELECT to_jsonb(c) FROM c
          WHERE acceptance_decided + answered + rated > 0
          ORDER BY member_state COLLATE \"C\"",
    )
    .bind(from)
    .bind(to)
    .bind(area)
    .bind(now)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|row| {
            let n = |k: &str| row[k].as_f64().unwrap();
            let c = |k: &str| row[k].as_i64().unwrap();
            let figure = |indicator, numerator, count| imi_domain::scoreboard::Figure {
                indicator,
                numerator,
                count,
            };
            use imi_domain::scoreboard::Indicator::*;
            MemberStateFigures {
                member_state: row["member_state"].as_str().unwrap().to_string(),
                figures: vec![
                    figure(
                        AcceptedInTime,
                        n("accepted_in_time"),
                        c("acceptance_decided"),
                    ),
                    figure(DaysToAnswer, n("days_to_answer"), c("answered")),
                    figure(AnsweredByAgreedDate, n("answered_by_date"), c("answered")),
                    figure(NegativeTimeliness, n("negative_timeliness"), c("rated")),
                    figure(NegativeEffort, n("negative_effort"), c("rated")),
                ],
            }
        })
        .collect()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The figures read from the sums equal those from the facts alone, over periods of one day
/// to years, aligned on months or not, at times of query before, during and after the
/// history, in every area.
async fn assert_figures_match_facts(pool: &PgPool, rng: &mut Rng) {
    let mut periods = vec![
        (day(2025, 1, 1), day(2027, 1, 1)),
        (day(2025, 12, 1), day(2026, 1, 1)),
        (day(2025, 11, 15), day(2026, 2, 20)),
        (day(2026, 1, 10), day(2026, 1, 11)),
        (day(2025, 12, 20), day(2026, 1, 5)),
        (day(2016, 3, 7), day(2026, 3, 7)),
    ];
    let origin = day(2025, 11, 1);
    for _ in 0..12 {
        let from = origin + Duration::days(rng.below(150) as i64);
        let to = from + Duration::days(1 + rng.below(120) as i64);
        periods.push((from, to));
    }
    let mut nows = vec![Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()];
    for _ in 0..3 {
        let t = Utc.with_ymd_and_hms(2025, 11, 20, 0, 0, 0).unwrap()
            + Duration::minutes(rng.below(150 * 24 * 60) as i64);
        nows.push(t);
    }
    let (mut compared, mut still_open) = (0, 0);
    for (from, to) in periods {
        for area in [None, Some("PQ"), Some("sd")] {
            let mut decided = BTreeSet::new();
            for now in &nows {
                let sums = request_scoreboard::by_member_state(pool, from, to, area, *now)
                    .await
                    .unwrap();
                let facts = from_facts(pool, from, to, area, *now).await;
                assert_eq!(sums, facts, "{from} to {to}, {area:?}, at {now}");
                compared += sums.len();
                decided.insert(format!(
                    "{:?}",
                    sums.iter().map(|r| r.figures[0].count).collect::<Vec<_>>()
                ));
            }
            // Requests still within their 7 days at some of the times of query.
            still_open += decided.len() - 1;
        }
    }
    assert!(compared > 100, "the periods hold figures ({compared})");
    assert!(still_open > 0, "the time of query changes some figures");
}

/// A random history of `seed`, built in small batches at three stops while it goes on.
async fn scoreboard_history(seed: u64) -> Requests {
    let mut h = Requests::new(seed).await;
    h.send(18).await;
    for stop in 0..3 {
        for _ in 0..4 {
            h.step().await;
        }
        if stop == 1 {
            h.send(10).await;
        }
        build(&h.pool, &RequestScoreboard).await;
        let mut db = h.pool.acquire().await.unwrap();
        assert_sums_match_facts(&mut db, "request_scoreboard").await;
    }
    h
}

#[tokio::test]
async fn scoreboard_sums_equal_the_facts_after_random_histories() {
    for seed in SEEDS {
        let h = scoreboard_history(seed).await;
        assert!(
            !h.answered_again.is_empty(),
            "seed {seed}: a full reply sent again moves to another day"
        );
        let counts: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE accepted_at IS NOT NULL),
                    count(*) FILTER (WHERE withdrawn_at IS NOT NULL),
                    count(*) FILTER (WHERE rated_at IS NOT NULL),
                    count(DISTINCT area)
               FROM request_scoreboard.facts",
        )
        .fetch_one(&h.pool)
        .await
        .unwrap();
        assert!(
            counts.0 > 0 && counts.1 > 0 && counts.2 > 0 && counts.3 == 2,
            "seed {seed}: {counts:?}"
        );
        let mut rng = Rng(seed ^ 0xface);
        assert_figures_match_facts(&h.pool, &mut rng).await;
        // Rebuilt in one batch, the sums are the same rows.
        assert_rebuild_equals_incremental(&h.pool, &RequestScoreboard).await;
        let mut db = h.pool.acquire().await.unwrap();
        assert_sums_match_facts(&mut db, "request_scoreboard").await;
    }
}

/// Applies `events` to the live slot of `projection` on `db` (in its transaction).
async fn apply(
    db: &mut PgConnection,
    projection: &dyn Projection,
    events: &[imi_store::feed::FeedEvent],
) -> Result<(), imi_projections::ProjectionError> {
    sqlx::query("SELECT set_config('search_path', $1, true)")
        .bind(projection.name())
        .execute(&mut *db)
        .await
        .unwrap();
    let result = match projection.apply(&mut *db, events).await {
        Ok(writes) => writes.send(&mut *db).await.map_err(Into::into),
        Err(error) => Err(error),
    };
    sqlx::query("SELECT set_config('search_path', 'public', true)")
        .execute(&mut *db)
        .await
        .unwrap();
    result
}

#[tokio::test]
async fn a_batch_applied_again_counts_once() {
    let mut h = scoreboard_history(SEEDS[0]).await;
    // More of the same requests' events: facts that move between days and months.
    h.step().await;
    h.step().await;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&h.pool)
        .await
        .unwrap();
    crate::ledger::below_horizon(&h.pool, events).await;
    let mut tx = h.pool.begin().await.unwrap();
    let after = runner::checkpoint(&mut tx, RequestScoreboard.name(), Slot::Live)
        .await
        .unwrap()
        .unwrap();
    let batch = imi_store::feed::read(&mut tx, after, LIVE_BATCH)
        .await
        .unwrap();
    assert!(batch.len() > 10, "{} events", batch.len());
    // Applied, rolled back (as the engine does when a batch fails), applied again: counted once.
    sqlx::query("SAVEPOINT first")
        .execute(&mut *tx)
        .await
        .unwrap();
    apply(&mut tx, &RequestScoreboard, &batch).await.unwrap();
    sqlx::query("ROLLBACK TO SAVEPOINT first")
        .execute(&mut *tx)
        .await
        .unwrap();
    apply(&mut tx, &RequestScoreboard, &batch).await.unwrap();
    assert_sums_match_facts(&mut tx, "request_scoreboard").await;
    // Applied a third time on top: refused (each request's events are checked in sequence),
    // not counted twice.
    sqlx::query("SAVEPOINT again")
        .execute(&mut *tx)
        .await
        .unwrap();
    let refused = apply(&mut tx, &RequestScoreboard, &batch).await;
    assert!(refused.is_err());
    sqlx::query("ROLLBACK TO SAVEPOINT again")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_sums_match_facts(&mut tx, "request_scoreboard").await;
    tx.rollback().await.unwrap();
    // The runner applies it once, as it does.
    while apply_batch(&h.pool, &RequestScoreboard, Slot::Live, LIVE_BATCH)
        .await
        .unwrap()
        > 0
    {}
    let mut db = h.pool.acquire().await.unwrap();
    assert_sums_match_facts(&mut db, "request_scoreboard").await;
}

#[tokio::test]
async fn the_scoreboard_and_alert_statistics_hold_no_personal_data() {
    let h = scoreboard_history(SEEDS[1]).await;
    let a = alert_history(SEEDS[1]).await;
    // Nothing in the clear anywhere (the folded states keep personal data sealed).
    for (pool, schema, secrets) in [
        (&h.pool, RequestScoreboard.name(), &[SUBJECT, ANSWER][..]),
        (
            &a.pool,
            AlertStatisticsProjection.name(),
            &alerts::SECRETS[..],
        ),
    ] {
        let dump = format!("{:?}", dump_schema(pool, schema).await);
        assert!(dump.contains("FR"), "the dump of {schema} is read");
        for secret in secrets {
            assert!(!dump.contains(secret), "{secret} in {schema}");
        }
    }
    // The tables the statistics read name no authority or user either.
    for (pool, schema, table, names) in [
        (
            &h.pool,
            "request_scoreboard",
            "facts",
            &["-handler", "-ca", "-rc"][..],
        ),
        (
            &h.pool,
            "request_scoreboard",
            "day_sums",
            &["-handler", "-ca", "-rc"],
        ),
        (
            &h.pool,
            "request_scoreboard",
            "month_sums",
            &["-handler", "-ca", "-rc"],
        ),
        (
            &a.pool,
            "alert_statistics",
            "facts",
            &["de-ca", "de-coord", "-iap", "de-h"],
        ),
        (
            &a.pool,
            "alert_statistics",
            "counters",
            &["de-ca", "de-coord", "-iap", "de-h"],
        ),
    ] {
        let rows = dump(pool, schema, table).await;
        assert!(!rows.is_empty(), "{schema}.{table}");
        let text = format!("{rows:?}");
        for name in names {
            assert!(!text.contains(name), "{name} in {schema}.{table}");
        }
    }
    // The sums and counters name no request, alert or authority: only Member States and
    // areas.
    for (schema, table) in [
        ("request_scoreboard", "day_sums"),
        ("request_scoreboard", "month_sums"),
        ("alert_statistics", "counters"),
    ] {
        let pool = if schema == "alert_statistics" {
            &a.pool
        } else {
            &h.pool
        };
        let text: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns
              WHERE table_schema = $1 AND table_name = $2 AND data_type = 'text'
              ORDER BY 1",
        )
        .bind(schema)
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
        assert_eq!(text, ["area", "member_state"], "{schema}.{table}");
    }
}

// Alerts.

/// Where an alert of a random history is headed.
#[derive(Clone, Copy, PartialEq)]
enum Plan {
    /// Broadcast, proposed for closure, the proposal broadcast (maybe objected to), closed.
    Closed,
    /// Broadcast, then withdrawn.
    Withdrawn,
    /// Broadcast, and left open.
    Open,
    /// Never broadcast.
    Draft,
}

/// The next command of an alert's plan at `step`, by whom (several candidates: the first
/// the aggregate accepts acts).
async fn planned(
    h: &History,
    id: &str,
    plan: Plan,
    step: usize,
    to: &[&str],
) -> Option<(Vec<Actor>, AlertCommand)> {
    let coordinator = || user("de-d", "de-coord");
    // SD alerts are closed by the Member State of establishment (AT), PQ ones by DE.
    let closing = || vec![user("at-i", "at-iap"), coordinator()];
    let command = match (plan, step) {
        (Plan::Draft, _) => return None,
        (_, 0) => (
            vec![coordinator()],
            AlertCommand::BroadcastAlert {
                member_states: to.iter().map(|c| alerts::ms(c)).collect(),
            },
        ),
        (Plan::Withdrawn, 1) => {
            let reason = h.sealed(id, "unfounded").await;
            (
                vec![user("de-h", "de-ca")],
                AlertCommand::WithdrawAlert { reason },
            )
        }
        (Plan::Closed, 1) => {
            // The Member State responsible proposes, its own coordinator closing: filled in
            // with the acting authority.
            let reason = h.sealed(id, "risk gone").await;
            let command = AlertCommand::ProposeClosure {
                closing_coordinator_id: String::new(),
                reason,
            };
            (closing(), command)
        }
        (Plan::Closed, 2) => (
            vec![Actor::system("scheduler")],
            AlertCommand::EndCommentPeriod,
        ),
        (Plan::Closed, 3) => (closing(), AlertCommand::BroadcastClosureProposal),
        (Plan::Closed, 4) => (
            vec![Actor::system("scheduler")],
            AlertCommand::EndObjectionPeriod,
        ),
        (Plan::Closed, 5) => (closing(), AlertCommand::CloseAlert),
        _ => return None,
    };
    Some(command)
}

/// A random history of alerts from DE (`de-ca` through `de-coord`), in the scene of
/// `alerts.rs`, in SD and PQ: each drafted and submitted, then headed for a random end
/// (closed after the comment and objection periods, withdrawn, left open, never broadcast),
/// one step at a time on random days, broadcast to FR, AT or both (PQ alerts in time or
/// late for their 3-day deadline), meanwhile acknowledged, extended to the other Member
/// State, objected to; the projection built in small batches at three stops.
async fn alert_history(seed: u64) -> History {
    let mut h = History::new().await;
    let mut rng = Rng(seed);
    let mut alerts = vec![];
    for i in 0..16 {
        let id = format!("g-{i}");
        let pq = rng.chance(40);
        let content = if pq {
            let professional = h.sealed(&id, "Dr. Fritz Falsch").await;
            AlertContent::ProfessionalQualifications(ProfessionalAlert {
                profession: "doctor".into(),
                scope: RestrictionScope::Prohibition,
                applies_from: day(2026, 3, 1),
                applies_until: None,
                decided_at: h.now - Duration::days(1),
                deciding_authority: "Approbationsbehörde".into(),
                member_state_of_establishment: None,
                professional,
                details: None,
                attachments: vec![],
            })
        } else {
            h.sd(&id).await
        };
        let draft = AlertCommand::DraftAlert {
            alert_id: id.clone(),
            area: area(if pq { "PQ" } else { "SD" }),
            content,
        };
        h.try_exec(&id, user("de-h", "de-ca"), draft).await.unwrap();
        let submit = AlertCommand::SubmitAlert {
            coordinator_id: "de-coord".into(),
        };
        h.try_exec(&id, user("de-h", "de-ca"), submit)
            .await
            .unwrap();
        let plan = rng.pick(&[
            Plan::Closed,
            Plan::Closed,
            Plan::Withdrawn,
            Plan::Open,
            Plan::Draft,
        ]);
        let to = rng.pick(&[&["FR"][..], &["AT"], &["FR", "AT"]]).to_vec();
        alerts.push((id, plan, to, 0usize));
    }
    let fr = || user("fr-i", "fr-iap");
    let at = || user("at-i", "at-iap");
    for _stop in 0..3 {
        for _ in 0..5 {
            for (id, plan, to, step) in alerts.iter_mut() {
                // Its plan's next step, most of the time; the aggregate may refuse it yet
                // (a period still running): then it is tried again later.
                if rng.chance(80) {
                    if let Some((by, mut command)) = planned(&h, id, *plan, *step, to).await {
                        for actor in by {
                            if let AlertCommand::ProposeClosure {
                                closing_coordinator_id,
                                ..
                            } = &mut command
                            {
                                *closing_coordinator_id = match &actor {
                                    Actor::User { authority_id, .. } => authority_id.clone(),
                                    _ => unreachable!(),
                                };
                            }
                            if h.try_exec(id, actor, command.clone()).await.is_ok() {
                                *step += 1;
                                break;
                            }
                        }
                    }
                }
                // Meanwhile, what others do.
                let other = match rng.below(5) {
                    0 => Some((
                        if rng.chance(50) { fr() } else { at() },
                        AlertCommand::AcknowledgeReceipt,
                    )),
                    1 => {
                        let to = rng.pick(&["FR", "AT"]);
                        Some((
                            user("de-d", "de-coord"),
                            AlertCommand::ExtendBroadcast {
                                member_states: [alerts::ms(to)].into(),
                            },
                        ))
                    }
                    2 => {
                        let objection = h.sealed(id, "still operating").await;
                        Some((
                            if rng.chance(50) { fr() } else { at() },
                            AlertCommand::ObjectToClosure { objection },
                        ))
                    }
                    3 => Some((
                        Actor::system("scheduler"),
                        AlertCommand::PassThreeDayDeadline,
                    )),
                    _ => None,
                };
                if let Some((by, command)) = other {
                    let _refused = h.try_exec(id, by, command).await;
                }
            }
            h.advance(2 + rng.below(5) as i64);
        }
        build(&h.pool, &AlertStatisticsProjection).await;
        let mut db = h.pool.acquire().await.unwrap();
        assert_counters_match_facts(&mut db).await;
    }
    h
}

/// The counters recomputed from the facts alone, per Member State and area.
const RECOMPUTED_COUNTERS: &str = "
    SELECT m, area, sum(sent)::int, sum(received)::int, sum(open)::int, sum(closed)::int,
           sum(withdrawn)::int, sum(objections)::int, sum(pq_in_time)::int, sum(pq_late)::int
      FROM (
        SELECT initiating_member_state AS m, area, count(*) AS sent, 0 AS received,
               count(*) FILTER (WHERE status NOT IN ('Closed', 'Withdrawn')) AS open,
               count(*) FILTER (WHERE status = 'Closed') AS closed,
               count(*) FILTER (WHERE status = 'Withdrawn') AS withdrawn, 0 AS objections,
               count(*) FILTER (WHERE broadcast_in_time) AS pq_in_time,
               count(*) FILTER (WHERE NOT broadcast_in_time) AS pq_late
          FROM alert_statistics.facts WHERE broadcast_at IS NOT NULL GROUP BY 1, 2
        UNION ALL
        SELECT r, area, 0, count(*), 0, 0, 0, 0, 0, 0
          FROM alert_statistics.facts, unnest(recipient_member_states) r
         WHERE broadcast_at IS NOT NULL GROUP BY 1, 2
        UNION ALL
        SELECT o, area, 0, 0, 0, 0, 0, count(DISTINCT alert_id), 0, 0
          FROM alert_statistics.facts, unnest(objecting_member_states) o
         WHERE broadcast_at IS NOT NULL GROUP BY 1, 2) p
     GROUP BY m, area";

async fn assert_counters_match_facts(db: &mut PgConnection) {
    let kept = rows(
        db,
        "SELECT member_state, area, sent, received, open, closed, withdrawn, objections,
                pq_in_time, pq_late FROM alert_statistics.counters",
    )
    .await;
    let expected = rows(db, RECOMPUTED_COUNTERS).await;
    assert_eq!(kept, expected, "alert_statistics.counters");
}

/// The alert statistics' query as it read the facts alone (before the counters).
async fn statistics_from_facts(pool: &PgPool, area: Option<&str>) -> Vec<MemberStateStatistics> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(
        "WITH f AS (SELECT * FROM alert_statistics.facts WHERE broadcast_at IS NOT NULL
                      AND ($1::text IS NULL OR area = upper($1))),
              sent AS (
                SELECT initiating_member_state AS m, count(*) AS sent,
                       count(*) FILTER (WHERE status NOT IN ('Closed', 'Withdrawn')) AS open,
                       count(*) FILTER (WHERE status = 'Closed') AS closed,
                       count(*) FILTER (WHERE status = 'Withdrawn') AS withdrawn,
                       count(*) FILTER (WHERE broadcast_in_time) AS pq_in_time,
                       count(*) FILTER (WHERE broadcast_in_time = false) AS pq_late
                  FROM f GROUP BY 1),
              received AS (
                SELECT m, count(*) AS received
                  FROM (SELECT unnest(recipient_member_states) AS m FROM f) r
                 GROUP BY m),
              objections AS (
                SELECT m, count(*) AS objections
                  FROM (SELECT DISTINCT alert_id, unnest(objecting_member_states) AS m FROM f) o
                 GROUP BY m),
              ms AS (SELECT m FROM sent UNION SELECT m FROM received)
         SELECT jsonb_build_object(
                  'member_state', ms.m,
                  'sent', coalesce(s.sent, 0),
                  'received', coalesce(r.received, 0),
                  'open', coalesce(s.open, 0),
                  'closed', coalesce(s.closed, 0),
                  'withdrawn', coalesce(s.withdrawn, 0),
                  'objections', coalesce(o.objections, 0),
                  'pq_in_time', coalesce(s.pq_in_time, 0),
                  'pq_late', coalesce(s.pq_late, 0))
           FROM ms LEFT JOIN sent s USING (m) LEFT JOIN received r USING (m)
                   LEFT JOIN objections o USING (m)
          ORDER BY ms.m COLLATE \"C\"",
    )
    .bind(area)
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|r| serde_json::from_value(r).unwrap())
        .collect()
}

#[tokio::test]
async fn alert_counters_equal_the_facts_after_random_histories() {
    for seed in SEEDS {
        let h = alert_history(seed).await;
        let all = alert_statistics::by_member_state(&h.pool, None)
            .await
            .unwrap();
        let total = |f: fn(&MemberStateStatistics) -> i64| all.iter().map(f).sum::<i64>();
        // The history reached every figure.
        for (figure, n) in [
            ("sent", total(|s| s.sent)),
            ("received", total(|s| s.received)),
            ("open", total(|s| s.open)),
            ("closed", total(|s| s.closed)),
            ("withdrawn", total(|s| s.withdrawn)),
            ("objections", total(|s| s.objections)),
            ("pq", total(|s| s.pq_in_time + s.pq_late)),
        ] {
            assert!(n > 0, "seed {seed}: no {figure}: {all:?}");
        }
        for area in [None, Some("SD"), Some("pq"), Some("PQ")] {
            assert_eq!(
                alert_statistics::by_member_state(&h.pool, area)
                    .await
                    .unwrap(),
                statistics_from_facts(&h.pool, area).await,
                "seed {seed}, {area:?}"
            );
        }
        assert_rebuild_equals_incremental(&h.pool, &AlertStatisticsProjection).await;
        let mut db = h.pool.acquire().await.unwrap();
        assert_counters_match_facts(&mut db).await;
    }
}
