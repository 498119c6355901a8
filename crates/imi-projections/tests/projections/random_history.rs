//! A rebuild keeps the folded requests and alerts in a bounded memory between batches and reads
//! the feed ahead: over a random history of interleaved requests and alerts, written through
//! the aggregates' command buses, it builds exactly the tables the live path builds, whether the
//! memory writes aggregates out and takes them back every batch or holds them all to the end;
//! and the live engine's request projections, sharing one fold per batch in a lane, build what
//! each builds alone.

use crate::alerts;
use crate::engine::caught_up;
use crate::ledger::{drain, migrated};
use crate::requests;
use crate::scene::{dump_schema, indexes, user};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use imi_domain::actor::Actor;
use imi_domain::alert::testing::InMemoryAlertServices;
use imi_domain::alert::{alert_key_id, Alert, AlertCommand, AlertContent, ServicesAlert};
use imi_domain::authority::LegislativeArea;
use imi_domain::command::Issued;
use imi_domain::request::testing::InMemoryRequestServices;
use imi_domain::request::{request_key_id, InformationRequest, RequestCommand, RequestContent};
use imi_domain::sealed::Sealed;
use imi_projections::engine::Engine;
use imi_projections::projection::Projection;
use imi_projections::rebuild::{rebuild_together, rebuild_with, RebuildOptions};
use imi_projections::request_fold::REQUEST;
use imi_projections::runner::{apply_batch, ensure_slot, LIVE_BATCH};
use imi_projections::{by_name, Slot};
use imi_store::commands::{AggregateConfig, CommandBus};
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::sync::watch;

/// The projections whose rebuild folds requests or alerts in memory, and two that read several
/// aggregate types.
const PROJECTIONS: [&str; 11] = [
    "request_monitoring",
    "request_full",
    "request_inbox",
    "allocator_report",
    "request_scoreboard",
    "alert_overview",
    "alert_full",
    "alert_queue",
    "alert_statistics",
    "deadlines",
    "notifications",
];

/// A small deterministic generator (xorshift64*), so that a failure replays.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

struct World {
    pool: PgPool,
    keys: KeyRing,
    requests: CommandBus<InformationRequest<InMemoryRequestServices>>,
    now: DateTime<Utc>,
    /// The step of its usual course each aggregate is at.
    course: BTreeMap<String, usize>,
}

impl World {
    async fn seal(&self, key_id: &str, text: &str) -> Sealed {
        self.keys
            .seal(key_id, &serde_json::json!(text))
            .await
            .unwrap()
    }

    /// Tries a command on a request; the aggregate may refuse it (then nothing is written).
    async fn request(&self, id: &str, by: (&str, &str), command: RequestCommand) -> bool {
        let actor = user(by.0, by.1);
        let metadata = CommandMetadata::for_actor(&actor);
        self.requests
            .execute(id, Issued::new(actor, command), metadata)
            .await
            .is_ok()
    }

    /// Tries a command on an alert, at the world's time.
    async fn alert(&self, id: &str, by: Actor, command: AlertCommand) -> bool {
        let bus: CommandBus<Alert<InMemoryAlertServices>> = CommandBus::new(
            self.pool.clone(),
            AggregateConfig::default(),
            vec![],
            alerts::services(self.now),
            Wake::local_only(),
        );
        let metadata = CommandMetadata::for_actor(&by);
        bus.execute(id, Issued::new(by, command), metadata)
            .await
            .is_ok()
    }

    /// Tries the command `choice` of a request (an index into the arms below).
    async fn request_step(&self, random: &mut Random, id: &str, choice: usize) -> bool {
        const DE: (&str, &str) = ("de-handler", "de-ca");
        const FR: (&str, &str) = ("fr-handler", "fr-ca");
        let key = request_key_id(id);
        let (by, command) = match choice {
            0 | 1 => (
                DE,
                RequestCommand::Draft {
                    request_id: id.into(),
                    area: requests::pq(),
                    content: RequestContent {
                        question_set: "PQ-GEN".into(),
                        questions: BTreeSet::from(["PQ-GEN-01".into(), "PQ-GEN-02".into()]),
                        free_text: Some(self.seal(&key, "please check").await),
                        subject: self.seal(&key, "a subject").await,
                        attachments: vec![],
                        proposed_answer_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
                        responding_authority: "fr-ca".into(),
                        request_coordinator: None,
                    },
                },
            ),
            2 => (DE, RequestCommand::Send),
            3 => (
                ("fr-allocator", "fr-ca"),
                RequestCommand::Assign {
                    handlers: BTreeSet::from(["fr-handler".to_string()]),
                },
            ),
            4 => (
                FR,
                RequestCommand::Accept {
                    request_coordinator: None,
                },
            ),
            5 => (
                FR,
                RequestCommand::ProposeAnswerDate {
                    date: NaiveDate::from_ymd_opt(2027, 2, 1).unwrap(),
                    reason: "more time".into(),
                },
            ),
            6 => (DE, RequestCommand::AgreeAnswerDate),
            7 => (
                FR,
                RequestCommand::ReplyPartially {
                    answers: BTreeMap::from([(
                        "PQ-GEN-01".to_string(),
                        self.seal(&key, "an answer").await,
                    )]),
                    attachments: vec![],
                },
            ),
            8 => (
                FR,
                RequestCommand::Reply {
                    answers: BTreeMap::from([(
                        "PQ-GEN-02".to_string(),
                        self.seal(&key, "the answer").await,
                    )]),
                    attachments: vec![],
                },
            ),
            9 => (
                DE,
                RequestCommand::RequestAdditionalInformation {
                    justification: self.seal(&key, "unclear").await,
                    questions: BTreeSet::from(["PQ-GEN-02".to_string()]),
                },
            ),
            10 => (
                DE,
                RequestCommand::RateReply {
                    timeliness: 1 + random.below(5) as u8,
                    effort: 1 + random.below(5) as u8,
                },
            ),
            11 => (DE, RequestCommand::Close),
            _ => (
                DE,
                RequestCommand::Withdraw {
                    reason: "not needed".into(),
                },
            ),
        };
        self.request(id, by, command).await
    }

    /// Tries the command `choice` of an alert (an index into the arms below).
    async fn alert_step(&mut self, random: &mut Random, id: &str, choice: usize) -> bool {
        let handler = || user("de-h", "de-ca");
        let postbox = |n: usize| {
            if n == 0 {
                user("fr-i", "fr-iap")
            } else {
                user("at-i", "at-iap")
            }
        };
        let key = alert_key_id(id);
        let (by, command) = match choice {
            0 | 1 => (
                handler(),
                AlertCommand::DraftAlert {
                    alert_id: id.into(),
                    area: LegislativeArea::parse("SD").unwrap(),
                    content: AlertContent::Services(ServicesAlert {
                        service_activity: None,
                        member_state_of_establishment: Some(alerts::ms("AT")),
                        dangerous_activity: self.seal(&key, "unsafe work").await,
                        service_provider: self.seal(&key, "a provider").await,
                        attachments: vec![],
                    }),
                },
            ),
            2 => (
                handler(),
                AlertCommand::SubmitAlert {
                    coordinator_id: "de-coord".into(),
                },
            ),
            3 => (
                user("de-d", "de-coord"),
                AlertCommand::BroadcastAlert {
                    member_states: [alerts::ms("FR"), alerts::ms("AT")].into(),
                },
            ),
            4 => (postbox(random.below(2)), AlertCommand::AcknowledgeReceipt),
            5 => (
                postbox(0),
                AlertCommand::AddRecipients {
                    authorities: BTreeSet::from(["fr-ca".to_string()]),
                },
            ),
            6 => (
                postbox(1),
                AlertCommand::ProposeClosure {
                    closing_coordinator_id: "at-iap".into(),
                    reason: self.seal(&key, "risk gone").await,
                },
            ),
            7 => {
                self.now += Duration::days(8);
                (Actor::system("scheduler"), AlertCommand::EndCommentPeriod)
            }
            8 => (postbox(1), AlertCommand::BroadcastClosureProposal),
            9 => {
                self.now += Duration::days(15);
                (postbox(1), AlertCommand::CloseAlert)
            }
            _ => (
                handler(),
                AlertCommand::WithdrawAlert {
                    reason: self.seal(&key, "unfounded").await,
                },
            ),
        };
        self.alert(id, by, command).await
    }
}

/// Interleaved requests and alerts, each through random commands its aggregate accepted.
async fn random_history(seed: u64) -> (World, usize) {
    random_history_on(migrated().await, Wake::local_only(), seed, 300).await
}

/// [`random_history`] on `pool`, its commits signalled on `wake`.
async fn random_history_on(pool: PgPool, wake: Wake, seed: u64, steps: usize) -> (World, usize) {
    let mut world = World {
        keys: KeyRing::new(pool.clone(), MasterKey::generate()),
        requests: CommandBus::new(
            pool.clone(),
            AggregateConfig::default(),
            vec![],
            requests::services(),
            wake,
        ),
        pool,
        now: alerts::start(),
        course: BTreeMap::new(),
    };
    let accepted = random_steps(&mut world, seed, steps).await;
    (world, accepted)
}

/// `steps` random steps on `world`'s requests and alerts; answers how many usual ones were
/// taken.
async fn random_steps(world: &mut World, seed: u64, steps: usize) -> usize {
    // Each aggregate mostly takes the next step of its usual course, otherwise any command.
    const REQUEST_COURSE: [usize; 8] = [0, 2, 3, 4, 7, 8, 10, 11];
    const ALERT_COURSE: [usize; 10] = [0, 2, 3, 4, 4, 5, 6, 7, 8, 9];
    let mut random = Random(seed);
    let mut accepted = 0;
    for _ in 0..steps {
        let n = random.below(14);
        let id = if n < 10 {
            format!("r-{n}")
        } else {
            format!("a-{}", n - 10)
        };
        let step = world.course.get(&id).copied().unwrap_or(0);
        let usual = random.below(10) < 6;
        let done = if n < 10 {
            let choice = match REQUEST_COURSE.get(step) {
                Some(&c) if usual => c,
                _ => random.below(13),
            };
            world.request_step(&mut random, &id, choice).await && usual
        } else {
            let choice = match ALERT_COURSE.get(step) {
                Some(&c) if usual => c,
                _ => random.below(11),
            };
            world.alert_step(&mut random, &id, choice).await && usual
        };
        if done {
            world.course.insert(id, step + 1);
        }
        accepted += usize::from(done);
    }
    accepted
}

#[tokio::test]
async fn rebuilds_with_a_fold_memory_equal_the_live_path_over_a_random_history() {
    let (world, accepted) = random_history(0x5EED_1DEA_2026).await;
    let pool = &world.pool;
    let types: Vec<(String, i64)> = sqlx::query_as(
        "SELECT aggregate_type, count(DISTINCT aggregate_id) FROM events GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    // The history is varied enough to mean something: many steps taken, on both kinds.
    assert!(accepted > 60, "only {accepted} usual steps taken");
    assert_eq!(
        types.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["Alert", "InformationRequest"]
    );
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();

    // A memory of 2 aggregates and batches of 7 events: aggregates are written out and taken
    // back nearly every batch, and every full batch reads the next one ahead. Then the
    // defaults: everything held until the final write.
    let tight = RebuildOptions {
        batch: 7,
        memory: 2,
        ..RebuildOptions::default()
    };
    for name in PROJECTIONS {
        let projection = by_name(name).unwrap();
        let p = projection.as_ref();
        ensure_slot(pool, p, Slot::Live).await.unwrap();
        drain(pool, p, 4).await;
        let live = dump_schema(pool, name).await;
        let live_indexes = indexes(pool, name).await;
        assert!(
            live.values().any(|rows| !rows.is_empty()),
            "{name} built nothing"
        );
        for options in [tight, RebuildOptions::default()] {
            let report = rebuild_with(pool, p, options, |_| {}).await.unwrap();
            assert_eq!(report.events_applied, events as u64, "{name}");
            let rebuilt = dump_schema(pool, name).await;
            for (table, rows) in &live {
                assert_eq!(
                    rebuilt.get(table),
                    Some(rows),
                    "{name}.{table} rebuilt with {options:?} differs from the live path"
                );
            }
            assert_eq!(rebuilt.len(), live.len(), "{name}");
            assert_eq!(indexes(pool, name).await, live_indexes, "{name}");
            // The live slot goes on from the rebuilt checkpoint.
            assert_eq!(
                apply_batch(pool, p, Slot::Live, LIVE_BATCH).await.unwrap(),
                0
            );
        }
    }
}

#[tokio::test]
async fn the_request_projections_rebuilt_together_from_one_fold_equal_the_live_path() {
    let (world, accepted) = random_history(0x000E_F01D_2026).await;
    assert!(accepted > 60, "only {accepted} usual steps taken");
    let group = request_group();
    let members: Vec<&dyn Projection> = group.iter().map(|p| p.as_ref()).collect();
    assert_eq!(members.len(), 5);
    group_rebuilds_equal_the_live_path(&world.pool, &members).await;
}

#[tokio::test]
async fn projections_of_every_kind_rebuilt_together_each_with_a_memory_equal_the_live_path() {
    let (world, accepted) = random_history(0x1A4E_F01D_2026).await;
    assert!(accepted > 60, "only {accepted} usual steps taken");
    // Three alert projections (each folds alerts on its own, one watching every step), one
    // that reads several types, and two request projections after them (the first of those
    // folds the requests for both): as many as the test pool's connections allow apart.
    let group: Vec<_> = [
        "alert_full",
        "alert_queue",
        "alert_statistics",
        "deadlines",
        "request_inbox",
        "request_monitoring",
    ]
    .into_iter()
    .map(|name| by_name(name).unwrap())
    .collect();
    let members: Vec<&dyn Projection> = group.iter().map(|p| p.as_ref()).collect();
    group_rebuilds_equal_the_live_path(&world.pool, &members).await;
}

/// Rebuilds `members` together, with a memory that writes aggregates out and takes them back
/// nearly every batch, with the defaults, with the members in one transaction, and without a
/// memory: each time every member's tables are those of its live path, but for the states a
/// member that took another's folds of requests does not keep (it folds a request's history
/// when it needs it: the test below).
async fn group_rebuilds_equal_the_live_path(pool: &PgPool, members: &[&dyn Projection]) {
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    let mut live = BTreeMap::new();
    let mut live_indexes = BTreeMap::new();
    for p in members {
        ensure_slot(pool, *p, Slot::Live).await.unwrap();
        drain(pool, *p, 4).await;
        live.insert(p.name(), dump_schema(pool, p.name()).await);
        live_indexes.insert(p.name(), indexes(pool, p.name()).await);
    }
    // The first member that keeps requests' states folds them for the others.
    let owner = members
        .iter()
        .position(|p| live[p.name()].contains_key("request_states"));

    let tight = RebuildOptions {
        batch: 7,
        memory: 2,
        ..RebuildOptions::default()
    };
    // Each member in a transaction of its own (the default, which takes a connection per
    // member and two more), and all in one; with a memory, and without one (then the writes
    // are sent as live batches send them).
    assert!(pool.options().get_max_connections() as usize >= members.len() + 2);
    let together = RebuildOptions {
        apart: false,
        ..tight
    };
    let without_memory = RebuildOptions {
        batch: 50,
        memory: 0,
        ..RebuildOptions::default()
    };
    for options in [tight, together, RebuildOptions::default(), without_memory] {
        let reports = rebuild_together(pool, members, options, |_| {})
            .await
            .unwrap();
        assert_eq!(reports.len(), members.len());
        for (n, (p, report)) in members.iter().zip(&reports).enumerate() {
            let name = p.name();
            assert_eq!(report.events_applied, events as u64, "{name}");
            assert!(report.events_read > 0, "{name}");
            let rebuilt = dump_schema(pool, name).await;
            for (table, rows) in &live[name] {
                // The first member's fold stands for the others', which keep its sequences only.
                if table == "request_states" && Some(n) != owner {
                    assert_eq!(rebuilt.get(table), Some(&vec![]), "{name}: {options:?}");
                    continue;
                }
                assert_eq!(
                    rebuilt.get(table),
                    Some(rows),
                    "{name}.{table} rebuilt together with {options:?} differs from the live path"
                );
            }
            assert_eq!(rebuilt.len(), live[name].len(), "{name}");
            assert_eq!(indexes(pool, name).await, live_indexes[name], "{name}");
            // The live slot goes on from the rebuilt checkpoint.
            assert_eq!(
                apply_batch(pool, *p, Slot::Live, LIVE_BATCH).await.unwrap(),
                0
            );
        }
    }
}

/// Every projection that reads requests alone, in the catalogue's order.
fn request_group() -> Vec<Arc<dyn Projection>> {
    imi_projections::all()
        .into_iter()
        .filter(|p| p.aggregate_types() == Some(&[REQUEST][..]))
        .collect()
}

/// A short random history, then the request projections rebuilt together from it.
async fn request_group_rebuilt_after_a_short_history() -> (World, Vec<Arc<dyn Projection>>) {
    let (world, _) =
        random_history_on(migrated().await, Wake::local_only(), 0x0B5E_55ED_2026, 120).await;
    let group = request_group();
    let members: Vec<&dyn Projection> = group.iter().map(|p| p.as_ref()).collect();
    rebuild_together(&world.pool, &members, RebuildOptions::default(), |_| {})
        .await
        .unwrap();
    (world, group)
}

#[tokio::test]
async fn members_rebuilt_together_fold_the_history_of_a_request_whose_state_they_do_not_keep() {
    let (mut world, group) = request_group_rebuilt_after_a_short_history().await;
    let pool = &world.pool.clone();
    let members: Vec<&dyn Projection> = group.iter().map(|p| p.as_ref()).collect();
    let states = |schema: &'static str| async move {
        dump_schema(pool, schema).await["request_states"].clone()
    };
    for p in &members[1..] {
        assert!(states(p.name()).await.is_empty(), "{}", p.name());
    }

    // The history goes on, on the same requests (another generator: its drafts are refused,
    // its other commands taken where the requests' states allow them).
    let request_events = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE aggregate_type = $1")
            .bind(REQUEST)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    let before = request_events().await;
    random_steps(&mut world, 0x0B5E_55ED_2027, 200).await;
    assert!(
        request_events().await > before + 10,
        "the history hardly went on"
    );

    // Each member applies them on its own, then is rebuilt alone, which keeps every state.
    for p in &members {
        let name = p.name();
        drain(pool, *p, 4).await;
        let live = dump_schema(pool, name).await;
        rebuild_with(pool, *p, RebuildOptions::default(), |_| {})
            .await
            .unwrap();
        let alone = dump_schema(pool, name).await;
        for (table, rows) in &alone {
            if table == "request_states" {
                // The states a member folded again are those a rebuild alone folds.
                let kept = &live[table];
                assert!(!kept.is_empty(), "{name} folded no request again");
                assert!(kept.iter().all(|s| rows.contains(s)), "{name}: {kept:?}");
                continue;
            }
            assert_eq!(
                live.get(table),
                Some(rows),
                "{name}.{table} applied after a group rebuild differs from a rebuild alone"
            );
        }
        assert_eq!(alone.len(), live.len(), "{name}");
    }
}

#[tokio::test]
async fn a_member_refuses_to_fold_a_history_shorter_than_the_sequence_it_applied() {
    let (mut world, group) = request_group_rebuilt_after_a_short_history().await;
    let pool = &world.pool.clone();
    let members: Vec<&dyn Projection> = group.iter().map(|p| p.as_ref()).collect();
    // A member whose sequences claim more than the log holds (a restore of the wrong log, a
    // hand-edited table): it keeps no state, so it would fold what the log has and go on.
    let member = members[1];
    let claimed = sqlx::query(&format!(
        "UPDATE {}.sequences SET sequence = sequence + 1000",
        member.name()
    ))
    .execute(pool)
    .await
    .unwrap()
    .rows_affected();
    assert!(claimed > 0);
    random_steps(&mut world, 0x0B5E_55ED_2027, 200).await;
    let error = apply_batch(pool, member, Slot::Live, LIVE_BATCH)
        .await
        .expect_err("a member folded a history shorter than it applied");
    assert!(
        error.to_string().contains("where the projection applied"),
        "{error}"
    );
}

#[tokio::test]
async fn the_projections_of_a_live_lane_share_their_folds_and_build_what_each_builds_alone() {
    let pool = migrated().await;
    let wake = Wake::local_only();
    // Every projection that folds requests alone in one lane, every one that folds alerts in
    // another, of an engine that runs while the history is written, in batches of at most 5
    // events.
    let reads = |t: &'static str| {
        imi_projections::all()
            .into_iter()
            .filter(move |p| p.aggregate_types() == Some(&[t][..]))
    };
    let requests: Vec<&str> = reads(REQUEST).map(|p| p.name()).collect();
    let alerts: Vec<&str> = reads("Alert").map(|p| p.name()).collect();
    assert_eq!(
        (requests.len(), alerts.len()),
        (5, 4),
        "{requests:?} {alerts:?}"
    );
    let group: Vec<Arc<dyn Projection>> = reads(REQUEST).chain(reads("Alert")).collect();
    let names: Vec<&str> = group.iter().map(|p| p.name()).collect();
    let (stop, stopped) = watch::channel(false);
    let engine = Engine::new(pool.clone(), group.clone())
        .with_lanes(2)
        .with_lane_groups(vec![requests, alerts])
        .with_batch_limit(5)
        .with_wake(wake.subscribe())
        .with_stop(stopped);
    let shared_before = imi_projections::folds_shared();
    let engine = tokio::spawn(engine.run());
    // Each member made its tables and caught up with the empty feed: the group forms.
    while sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM projections WHERE name = ANY($1) AND slot = 'live'",
    )
    .bind(&names)
    .fetch_one(&pool)
    .await
    .unwrap()
        < names.len() as i64
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (world, accepted) = random_history_on(pool.clone(), wake, 0x1A4E_F01D_2026, 300).await;
    assert!(accepted > 60, "only {accepted} usual steps taken");
    caught_up(&pool, &names).await;
    stop.send(true).unwrap();
    engine.await.unwrap().unwrap();
    // The members after the first took its fold of the batches instead of loading their own
    // states (the count is the process's: only this test runs these projections live).
    assert!(
        imi_projections::folds_shared() > shared_before,
        "no fold was shared"
    );

    // Each member's tables, its sequences included, are what it builds alone; of the requests'
    // states, the first member (in name order) keeps every one, the others only those they
    // folded on their own, if any, and those too are what it builds alone.
    let pool = &world.pool;
    let mut kept_by_the_first = None;
    let mut by_name = group.clone();
    by_name.sort_by_key(|p| p.name());
    for p in &by_name {
        let name = p.name();
        let live = dump_schema(pool, name).await;
        rebuild_with(pool, p.as_ref(), RebuildOptions::default(), |_| {})
            .await
            .unwrap();
        let alone = dump_schema(pool, name).await;
        for (table, rows) in &live {
            if table == "request_states" {
                let all = &alone[table];
                assert!(all.len() > 1, "{name} folded nothing");
                assert!(rows.iter().all(|s| all.contains(s)), "{name}: {rows:?}");
                match kept_by_the_first {
                    None => {
                        assert_eq!(rows, all, "{name} folds for the others: keeps every state");
                        kept_by_the_first = Some(rows.len());
                    }
                    Some(first) => assert!(
                        rows.len() < first,
                        "{name} keeps {} states where the first member keeps {first}",
                        rows.len()
                    ),
                }
                continue;
            }
            assert_eq!(
                alone.get(table),
                Some(rows),
                "{name}.{table} applied in a lane that shares folds differs from a rebuild alone"
            );
        }
        assert_eq!(alone.len(), live.len(), "{name}");
        if let Some(states) = live.get("alert_states") {
            assert!(states.len() > 1, "{name} folded nothing");
        }
    }
}

#[tokio::test]
async fn a_rebuild_with_a_fold_memory_still_refuses_a_hole_in_a_requests_sequence() {
    let (world, _) = random_history(0xB0BA_CAFE).await;
    let pool = &world.pool;
    // The store's triggers refuse such a change; go around them, as a faulty restore or a
    // hand-edited log would: one request's last event now skips a sequence.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    let moved = sqlx::query(
        "UPDATE events SET sequence = sequence + 1
          WHERE (aggregate_type, aggregate_id, sequence) IN
                (SELECT aggregate_type, aggregate_id, max(sequence) FROM events
                  WHERE aggregate_type = 'InformationRequest'
                  GROUP BY 1, 2 HAVING max(sequence) > 3 ORDER BY 2 LIMIT 1)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    assert_eq!(moved.rows_affected(), 1);
    tx.commit().await.unwrap();
    let projection = by_name("request_inbox").unwrap();
    // Batches of 3 and a memory of 1: all but one aggregate are written out after each batch,
    // so the request's last sequence most likely comes back from the shadow's table.
    let tight = RebuildOptions {
        batch: 3,
        memory: 1,
        ..RebuildOptions::default()
    };
    let error = rebuild_with(pool, projection.as_ref(), tight, |_| {})
        .await
        .expect_err("a rebuild applied a feed with a hole");
    assert!(error.to_string().contains("hole"), "{error}");
    let live: Vec<String> = sqlx::query_scalar(
        "SELECT slot FROM projections WHERE name = 'request_inbox' AND slot = 'live'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(live.is_empty(), "nothing was swapped in");

    // Nor does a group, whose first member folds for all.
    let monitoring = by_name("request_monitoring").unwrap();
    let error = rebuild_together(
        pool,
        &[projection.as_ref(), monitoring.as_ref()],
        tight,
        |_| {},
    )
    .await
    .expect_err("a group rebuild applied a feed with a hole");
    assert!(error.to_string().contains("hole"), "{error}");
}
