//! `imi bench populate --scale S`: an EU-sized history (at S = 1.0: 12,600 authorities in the
//! 30 Member States, 44,000 users, 1.1 million exchanges over ten years, one in 25 of them an
//! alert), written as the aggregates emit their events (the domain's event enums, serialized as
//! the store writes them), personal data sealed under each exchange's own key, every row
//! through the hash-chain trigger; then every projection built from it. The rate is set against
//! a plain COPY of the same rows into an identical table without trigger or indexes, in the same
//! run.
//!
//! Chunks of whole exchanges are built (keys minted, values sealed, rows serialized) on blocking
//! threads while earlier chunks are written, each by one of two writers in one transaction: its
//! data keys in one statement, then its events in one COPY. An exchange's chain never leaves its
//! chunk, so the writers never wait for each other.

use anyhow::Result;
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use imi_domain::actor::Actor;
use imi_domain::alert::{
    alert_key_id, AlertContent, AlertEvent, ProfessionalAlert, RestrictionScope, ServicesAlert,
    PQ_ALERT_DAYS,
};
use imi_domain::authority::{
    user_key_id, AuthorityEvent, AuthorityKind, ContactDetails, LegislativeArea, Workflow,
    WorkflowRole, WorkflowSetup,
};
use imi_domain::reference::{Language, MemberState, MEMBER_STATES};
use imi_domain::request::{request_key_id, DraftContent, Party, RequestEvent};
use imi_domain::sealed::Sealed;
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{DataKeySealer, KeyRing, MasterKey, MintedKeys};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

/// Figures of the real system at scale 1.0.
const AUTHORITIES: f64 = 12_600.0;
const USERS: f64 = 44_000.0;
const EXCHANGES: f64 = 1_100_000.0;
/// Exchanges written per COPY (each exchange's events in one statement, so its chain's
/// predecessors are always in the same or an earlier transaction).
const CHUNK: usize = 5_000;
/// The most recent exchanges are still open, spread over every state.
const OPEN_SHARE: usize = 30; // one in 30 of the last tenth
/// One exchange in 25 is an alert: real IMI has far fewer alerts than requests.
const ALERT_EVERY: usize = 25;
const ALERT_AT: usize = 12;
/// Connections writing chunks at once: the hash-chain trigger is the bottleneck, one core each.
const WRITERS: usize = 2;
/// Chunks built ahead of the writers.
const BUILDERS: usize = 2;
/// The plain-COPY baseline runs on one chunk in this many (it costs time, not information).
const BASELINE_EVERY: usize = 4;
/// Projections built at once after the load.
const PROJECTORS: usize = 3;
/// The slowest projections besides the requests' group (measured), started first so the
/// others fill in beside them.
const SLOWEST_FIRST: [&str; 2] = ["notifications", "deadlines"];
/// Closure periods of PQ and SD (fixtures/reference/legislative_areas.json).
const COMMENT_DAYS: i64 = 7;
const OBJECTION_DAYS: i64 = 14;
const PROFESSIONS: [&str; 8] = [
    "doctor",
    "nurse",
    "dentist",
    "pharmacist",
    "midwife",
    "physiotherapist",
    "veterinary-surgeon",
    "secondary-teacher",
];
const SERVICE_ACTIVITIES: [&str; 5] = [
    "construction",
    "craft",
    "real-estate",
    "travel-agencies",
    "it-services",
];

const COLUMNS: &str =
    "(aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)";

struct Authority {
    id: String,
    member_state: usize,
    coordinator: String,
    users: Vec<String>,
    /// Also in SD (every competent authority is in PQ).
    services: bool,
}

/// Who takes part: the first 30 authorities are the national coordinators, in
/// [`MEMBER_STATES`] order.
struct Network {
    authorities: Vec<Authority>,
    competent: Vec<usize>,
    services: Vec<usize>,
    competent_by_state: Vec<Vec<usize>>,
    n_exchanges: usize,
    open_from: usize,
    start: DateTime<Utc>,
    span: Duration,
}

impl Network {
    fn competent(&self, i: usize) -> &Authority {
        &self.authorities[self.competent[i % self.competent.len()]]
    }

    fn coordinator_of(&self, member_state: usize) -> &Authority {
        &self.authorities[member_state]
    }

    fn at(&self, k: usize) -> DateTime<Utc> {
        self.start + self.span * (k as i32) / (self.n_exchanges as i32).max(1)
    }
}

fn is_alert(k: usize) -> bool {
    k % ALERT_EVERY == ALERT_AT
}

fn key_id_of(k: usize) -> String {
    if is_alert(k) {
        alert_key_id(&format!("alert-{k}"))
    } else {
        request_key_id(&format!("req-{k}"))
    }
}

/// COPY text rows, and how many.
#[derive(Default)]
struct Rows {
    text: String,
    count: u64,
}

impl Rows {
    fn push<E: cqrs_es::DomainEvent>(
        &mut self,
        aggregate_type: &str,
        id: &str,
        sequence: i64,
        event: &E,
        actor: &Actor,
    ) -> Result<()> {
        let payload = serde_json::to_string(event)?;
        let metadata = serde_json::to_string(&CommandMetadata::for_actor(actor).into_map())?;
        // COPY's text format: backslash is its escape character; JSON has no raw tab/newline.
        let _ = writeln!(
            self.text,
            "{aggregate_type}\t{id}\t{sequence}\t{}\t{}\t{}\t{}",
            event.event_type(),
            event.event_version(),
            payload.replace('\\', "\\\\"),
            metadata.replace('\\', "\\\\"),
        );
        self.count += 1;
        Ok(())
    }
}

/// A chunk ready to write: its rows and the data keys they are sealed under.
struct Chunk {
    number: usize,
    rows: Rows,
    keys: MintedKeys,
    build_seconds: f64,
}

fn user(user_id: &str, authority_id: &str) -> Actor {
    Actor::User {
        user_id: user_id.to_string(),
        authority_id: authority_id.to_string(),
    }
}

fn pq() -> LegislativeArea {
    LegislativeArea::parse("PQ").expect("PQ")
}

fn sd() -> LegislativeArea {
    LegislativeArea::parse("SD").expect("SD")
}

fn ms(i: usize) -> Result<MemberState> {
    Ok(MemberState::parse(MEMBER_STATES[i])?)
}

fn setup(role: WorkflowRole, coordinator: &str) -> WorkflowSetup {
    WorkflowSetup {
        role,
        linked_coordinators: BTreeSet::from([coordinator.to_string()]),
    }
}

/// Writes the history at `scale` into `pool`'s (migrated, empty) database and builds every
/// projection. Data keys are wrapped by `master` (so a server with that key opens the
/// history's personal data).
pub async fn populate(pool: &PgPool, scale: f64, master: MasterKey) -> Result<()> {
    anyhow::ensure!(scale > 0.0, "--scale must be above 0");
    let n_authorities = ((AUTHORITIES * scale).round() as usize).max(MEMBER_STATES.len() * 2);
    let n_users = ((USERS * scale).round() as usize).max(n_authorities);
    let n_exchanges = ((EXCHANGES * scale).round() as usize).max(1);
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    anyhow::ensure!(
        existing == 0,
        "the database already holds {existing} events"
    );
    let keys = KeyRing::new(pool.clone(), master);
    let mut timing = Timing::default();
    let started = Instant::now();

    // Authorities: a national coordinator per Member State (request coordinator and incoming
    // alert postbox in PQ and SD), the rest competent authorities registered and validated by
    // it, in PQ (one in four in SD too); users spread over them.
    let mut authorities: Vec<Authority> = (0..n_authorities)
        .map(|i| {
            let ms = i % MEMBER_STATES.len();
            let coordinator = format!("nimic-{}", MEMBER_STATES[ms]);
            let id = if i < MEMBER_STATES.len() {
                coordinator.clone()
            } else {
                format!("ca-{}-{i}", MEMBER_STATES[ms])
            };
            Authority {
                id,
                member_state: ms,
                coordinator,
                users: vec![],
                services: i % 4 == 1,
            }
        })
        .collect();
    for u in 0..n_users {
        let a = &mut authorities[u % n_authorities];
        let id = format!("{}-u{}", a.id, a.users.len());
        a.users.push(id);
    }
    let chunk = tokio::task::spawn_blocking({
        let keys = keys.clone();
        move || -> Result<(Chunk, Vec<Authority>)> {
            let chunk = authority_chunk(&keys, &authorities)?;
            Ok((chunk, authorities))
        }
    })
    .await??;
    let (chunk, authorities) = chunk;
    timing.add(write(pool, &keys, chunk).await?);
    let authorities_seconds = started.elapsed().as_secs_f64();

    // Exchanges between competent authorities of two Member States, evenly over ten years.
    let competent: Vec<usize> = (MEMBER_STATES.len()..authorities.len()).collect();
    let services = competent
        .iter()
        .copied()
        .filter(|&i| authorities[i].services)
        .collect();
    let mut competent_by_state = vec![vec![]; MEMBER_STATES.len()];
    for &i in &competent {
        competent_by_state[authorities[i].member_state].push(i);
    }
    let net = Arc::new(Network {
        authorities,
        competent,
        services,
        competent_by_state,
        n_exchanges,
        open_from: n_exchanges - n_exchanges / 10,
        start: Utc.with_ymd_and_hms(2016, 1, 1, 8, 0, 0).unwrap(),
        span: Duration::days(3652),
    });
    let exchanges_started = Instant::now();
    let chunks: Vec<Range<usize>> = (0..n_exchanges)
        .step_by(CHUNK)
        .map(|first| first..(first + CHUNK).min(n_exchanges))
        .collect();
    let written = futures::stream::iter(chunks.into_iter().enumerate())
        .map(|(number, range)| {
            let (net, keys) = (net.clone(), keys.clone());
            async move {
                tokio::task::spawn_blocking(move || exchange_chunk(&net, &keys, number, range))
                    .await?
            }
        })
        .buffered(BUILDERS)
        .map_ok(|chunk| write(pool, &keys, chunk))
        .try_buffer_unordered(WRITERS)
        .try_fold(Timing::default(), |mut total, t| async move {
            total.add(t);
            Ok(total)
        })
        .await?;
    timing.add(written);
    let exchanges_seconds = exchanges_started.elapsed().as_secs_f64();
    let load_seconds = started.elapsed().as_secs_f64();
    let vacuum_started = Instant::now();
    sqlx::query("VACUUM ANALYZE events").execute(pool).await?;
    let vacuum_seconds = vacuum_started.elapsed().as_secs_f64();

    let alerts = (0..n_exchanges).filter(|&k| is_alert(k)).count();
    println!(
        "history: {n_authorities} authorities in {} Member States, {n_users} users, {n_exchanges} exchanges over ten years ({} requests, {alerts} alerts; scale {scale})",
        MEMBER_STATES.len(),
        n_exchanges - alerts,
    );
    println!(
        "events written: {} in {load_seconds:.1} s including sealing ({:.0} events/s)",
        timing.events,
        timing.events as f64 / load_seconds
    );
    println!(
        "  authorities and users {authorities_seconds:.1} s, exchanges {exchanges_seconds:.1} s ({:.0} events/s), VACUUM ANALYZE {vacuum_seconds:.1} s",
        (timing.events as f64) / exchanges_seconds
    );
    println!(
        "  built on {BUILDERS} threads: {} data keys minted, values sealed, rows serialized in {:.1} s of CPU ({:.0} events/s per thread)",
        timing.keys,
        timing.build_seconds,
        timing.events as f64 / timing.build_seconds
    );
    println!(
        "  data keys stored, one statement per chunk: {:.1} s in all",
        timing.keys_seconds
    );
    let base_rate = timing.baseline_events as f64 / timing.baseline_seconds;
    let chain_rate = timing.events as f64 / timing.events_seconds;
    println!(
        "  COPY into a plain table, no trigger or index   {base_rate:>9.0} events/s per connection  (baseline, one chunk in {BASELINE_EVERY})",
    );
    println!(
        "  COPY into events, through the hash chain       {chain_rate:>9.0} events/s per connection  ({:.2}x)",
        chain_rate / base_rate
    );
    println!(
        "  whole load, {WRITERS} writers                          {:>9.0} events/s               ({:.2}x)",
        timing.events as f64 / load_seconds,
        timing.events as f64 / load_seconds / base_rate
    );

    let projections_started = Instant::now();
    // The feed serves a transaction's events once every older transaction on the server ended:
    // a rebuild started before would find the log empty past the horizon and stop there.
    loop {
        let readable: bool = sqlx::query_scalar(
            "SELECT pg_snapshot_xmin(pg_current_snapshot()) > (SELECT max(xid) FROM events)",
        )
        .fetch_one(pool)
        .await?;
        if readable {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The projections of requests alone are rebuilt together, from one fold of each batch;
    // so are those of alerts, and those of authorities and subject requests, each group from
    // one read of the log (each scan of it takes a while at the EU's size). The others, which
    // read most events, each on its own; the slowest first, the groups beside them.
    let of = |types: &'static [&'static str]| {
        move |p: &Arc<dyn imi_projections::projection::Projection>| {
            p.aggregate_types() == Some(types)
        }
    };
    let (requests, others): (Vec<_>, Vec<_>) = imi_projections::all()
        .into_iter()
        .partition(of(&[imi_projections::request_fold::REQUEST]));
    let (alerts, others): (Vec<_>, Vec<_>) =
        others.into_iter().partition(of(&[imi_projections::ALERT]));
    let (small, mut others): (Vec<_>, Vec<_>) = others.into_iter().partition(|p| {
        p.aggregate_types().is_some_and(|types| {
            types.iter().all(|t| {
                [
                    imi_projections::fold::AUTHORITY,
                    imi_projections::subject_requests::SUBJECT_REQUEST,
                ]
                .contains(t)
            })
        })
    });
    others.sort_by_key(|p| {
        SLOWEST_FIRST
            .iter()
            .position(|n| *n == p.name())
            .unwrap_or(SLOWEST_FIRST.len())
    });
    let mut others = others.into_iter();
    let slowest: Vec<_> = others.by_ref().take(SLOWEST_FIRST.len()).collect();
    let jobs = std::iter::once(requests)
        .chain(slowest.into_iter().map(|p| vec![p]))
        .chain([alerts, small])
        .chain(others.map(|p| vec![p]));
    let reports = futures::stream::iter(jobs)
        .map(|group| async move {
            let members: Vec<&dyn imi_projections::projection::Projection> =
                group.iter().map(|p| p.as_ref()).collect();
            let reports = imi_projections::rebuild::rebuild_together(
                pool,
                &members,
                Default::default(),
                |_| {},
            )
            .await?;
            let names: Vec<&'static str> = members.iter().map(|p| p.name()).collect();
            anyhow::Ok((names, reports))
        })
        .buffer_unordered(PROJECTORS)
        .try_collect::<Vec<_>>()
        .await?;
    for (names, group) in &reports {
        let Some(report) = group.first() else {
            continue;
        };
        println!(
            "  rebuild of {:<24} {:>9} events in {:>6.1} s = {:>9.0} events/s",
            names.join(" + "),
            report.events_applied,
            report.seconds,
            report.events_applied as f64 / report.seconds
        );
    }
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(pool)
        .await?;
    println!(
        "every projection built in {:.1} s ({PROJECTORS} at a time); database size {} MB",
        projections_started.elapsed().as_secs_f64(),
        size / 1_000_000
    );
    Ok(())
}

/// The authorities' events, their users' identities sealed under the users' own keys.
fn authority_chunk(keys: &KeyRing, authorities: &[Authority]) -> Result<Chunk> {
    let started = Instant::now();
    let (sealers, minted) = keys.mint(
        authorities
            .iter()
            .flat_map(|a| a.users.iter().map(|u| user_key_id(u))),
    )?;
    let mut sealers = sealers.into_iter();
    let system = Actor::system("bench-populate");
    let mut rows = Rows::default();
    for a in authorities {
        let ms = ms(a.member_state)?;
        let mut seq = 0;
        let mut next = || {
            seq += 1;
            seq
        };
        let titles = BTreeMap::from([(
            Language::parse("en")?,
            format!("Authority {} of {}", a.id, MEMBER_STATES[a.member_state]),
        )]);
        let coordinator_user = user(&format!("{}-u0", a.coordinator), &a.coordinator);
        if a.id == a.coordinator {
            rows.push(
                "Authority",
                &a.id,
                next(),
                &AuthorityEvent::NationalCoordinatorRegistered {
                    member_state: ms,
                    official_name: format!("National IMI coordinator {}", a.member_state),
                    informal_titles: titles,
                },
                &system,
            )?;
        } else {
            let workflows = || {
                BTreeMap::from([
                    (
                        Workflow::Requests,
                        setup(WorkflowRole::RequestAuthority, &a.coordinator),
                    ),
                    (
                        Workflow::Alerts,
                        setup(WorkflowRole::AlertAuthority, &a.coordinator),
                    ),
                ])
            };
            let mut access = BTreeMap::from([(pq(), workflows())]);
            if a.services {
                access.insert(sd(), workflows());
            }
            rows.push(
                "Authority",
                &a.id,
                next(),
                &AuthorityEvent::AuthorityRegistered {
                    authority_id: a.id.clone(),
                    registered_by: a.coordinator.clone(),
                    member_state: ms,
                    kind: AuthorityKind::CompetentAuthority,
                    region: None,
                    coordinated_areas: BTreeSet::new(),
                    access,
                    official_name: format!("Competent authority {}", a.id),
                    informal_titles: titles,
                    description: Some(if a.services {
                        "Recognition of professional qualifications; services".into()
                    } else {
                        "Recognition of professional qualifications".into()
                    }),
                    contact: ContactDetails {
                        city: Some(format!("City {}", a.member_state)),
                        ..ContactDetails::default()
                    },
                    contact_person: None,
                },
                &coordinator_user,
            )?;
        }
        for (k, u) in a.users.iter().enumerate() {
            let identity = sealers
                .next()
                .expect("a key per user")
                .seal(&serde_json::json!({ "name": u }))?;
            rows.push(
                "Authority",
                &a.id,
                next(),
                &AuthorityEvent::UserRegistered {
                    user_id: u.clone(),
                    identity,
                    local_data_administrator: k == 0,
                },
                &system,
            )?;
            if k > 0 {
                continue;
            }
            if a.id != a.coordinator {
                rows.push(
                    "Authority",
                    &a.id,
                    next(),
                    &AuthorityEvent::AuthorityValidated {
                        validated_by: a.coordinator.clone(),
                    },
                    &coordinator_user,
                )?;
            } else {
                // Its first local data administrator sets up its own coordination.
                for area in [pq(), sd()] {
                    rows.push(
                        "Authority",
                        &a.id,
                        next(),
                        &AuthorityEvent::AreaAccessGranted {
                            area,
                            access_coordinator: a.id.clone(),
                            workflows: BTreeMap::from([
                                (
                                    Workflow::Requests,
                                    setup(WorkflowRole::RequestCoordinator, &a.id),
                                ),
                                (
                                    Workflow::Alerts,
                                    setup(WorkflowRole::IncomingAlertPostbox, &a.id),
                                ),
                            ]),
                        },
                        &coordinator_user,
                    )?;
                }
            }
        }
    }
    Ok(Chunk {
        number: 0,
        rows,
        keys: minted,
        build_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Exchanges `range`: keys minted, values sealed, events serialized (CPU only).
fn exchange_chunk(
    net: &Network,
    keys: &KeyRing,
    number: usize,
    range: Range<usize>,
) -> Result<Chunk> {
    let started = Instant::now();
    let (sealers, minted) = keys.mint(range.clone().map(key_id_of))?;
    let mut rows = Rows::default();
    for (k, sealer) in range.zip(&sealers) {
        if is_alert(k) {
            alert(&mut rows, net, k, sealer)?;
        } else {
            // Open exchanges among the most recent ones, in every state; the rest closed.
            let stop = if k >= net.open_from && k % OPEN_SHARE < 6 {
                k % OPEN_SHARE
            } else {
                usize::MAX
            };
            let from = net.competent(k * 7919);
            let mut to = net.competent(k * 104_729 + 13);
            if to.member_state == from.member_state {
                to = net.competent(k * 104_729 + 14);
            }
            let subject = sealer.seal(
                &serde_json::json!({"name": format!("Subject {k}"), "birth_date": "1980-05-17"}),
            )?;
            let text = sealer.seal(&format!("Answer on request {k}"))?;
            request(&mut rows, k, from, to, net.at(k), stop, subject, text)?;
        }
    }
    Ok(Chunk {
        number: number + 1,
        rows,
        keys: minted,
        build_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Seconds spent in each step, summed over the chunks (and so over the writers).
#[derive(Default)]
struct Timing {
    events: u64,
    events_seconds: f64,
    baseline_events: u64,
    baseline_seconds: f64,
    keys: u64,
    keys_seconds: f64,
    build_seconds: f64,
}

impl Timing {
    fn add(&mut self, t: Timing) {
        self.events += t.events;
        self.events_seconds += t.events_seconds;
        self.baseline_events += t.baseline_events;
        self.baseline_seconds += t.baseline_seconds;
        self.keys += t.keys;
        self.keys_seconds += t.keys_seconds;
        self.build_seconds += t.build_seconds;
    }
}

/// Writes one chunk in one transaction: its data keys, then its events through the hash
/// chain; on one chunk in [`BASELINE_EVERY`], first the same rows into a plain table.
async fn write(pool: &PgPool, keys: &KeyRing, chunk: Chunk) -> Result<Timing> {
    let mut t = Timing {
        events: chunk.rows.count,
        keys: chunk.keys.len() as u64,
        build_seconds: chunk.build_seconds,
        ..Timing::default()
    };
    let mut conn = pool.acquire().await?;
    if chunk.number % BASELINE_EVERY == 1 {
        let table = format!("bench_copy_baseline_{}", chunk.number);
        sqlx::raw_sql(&format!(
            "CREATE TABLE {table} (LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY);
             ALTER TABLE {table} ALTER COLUMN hash DROP NOT NULL"
        ))
        .execute(&mut *conn)
        .await?;
        let started = Instant::now();
        let mut copy = conn
            .copy_in_raw(&format!("COPY {table} {COLUMNS} FROM STDIN"))
            .await?;
        copy.send(chunk.rows.text.as_bytes()).await?;
        copy.finish().await?;
        t.baseline_seconds = started.elapsed().as_secs_f64();
        t.baseline_events = chunk.rows.count;
        sqlx::raw_sql(&format!("DROP TABLE {table}"))
            .execute(&mut *conn)
            .await?;
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let started = Instant::now();
    keys.store_minted(&mut tx, &chunk.keys).await?;
    t.keys_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut copy = tx
        .copy_in_raw(&format!("COPY events {COLUMNS} FROM STDIN"))
        .await?;
    copy.send(chunk.rows.text.as_bytes()).await?;
    copy.finish().await?;
    t.events_seconds = started.elapsed().as_secs_f64();
    tx.commit().await?;
    Ok(t)
}

/// One alert's events, as the Alert aggregate emits them. PQ alerts (nine in ten) go to every
/// other Member State, SD alerts to three to six. Most end closed (after the comment and
/// objection periods, some objected to), one in twelve withdrawn; among the most recent ones,
/// half are still open in every state.
fn alert(rows: &mut Rows, net: &Network, k: usize, sealer: &DataKeySealer) -> Result<()> {
    let id = format!("alert-{k}");
    let n = k / ALERT_EVERY;
    let professional = n % 10 != 3;
    let from = if professional || net.services.is_empty() {
        net.competent(k * 7919)
    } else {
        &net.authorities[net.services[(k * 7919) % net.services.len()]]
    };
    let home = from.member_state;
    let coordinator = net.coordinator_of(home);
    let initiator = user(&from.users[k % from.users.len()], &from.id);
    let by_coordinator = user(
        &coordinator.users[k % coordinator.users.len()],
        &coordinator.id,
    );
    let system = Actor::system("scheduler");
    // 0: drafted, 1: submitted, 2: sent back, 3: broadcast, 4: closure proposed, 5: closure
    // proposal broadcast; anything else ended.
    let stop = if k >= net.open_from && n.is_multiple_of(2) {
        (n / 2) % 6
    } else {
        usize::MAX
    };
    let withdrawn = stop == usize::MAX && n % 12 == 7;
    let at = net.at(k);
    let decided_at = at - Duration::days(1);
    let deadline = decided_at + Duration::days(PQ_ALERT_DAYS);
    let late = professional && n % 10 == 5;
    let broadcast_at = if late {
        at + Duration::days(3)
    } else {
        at + Duration::hours(5)
    };
    let reason = sealer.seal(&format!("Reasons given on alert {k}"))?;
    let content = if professional {
        AlertContent::ProfessionalQualifications(ProfessionalAlert {
            profession: PROFESSIONS[n % PROFESSIONS.len()].into(),
            scope: if n.is_multiple_of(3) {
                RestrictionScope::Prohibition
            } else {
                RestrictionScope::Restriction
            },
            applies_from: decided_at.date_naive(),
            applies_until: n.is_multiple_of(2).then(|| (decided_at + Duration::days(730)).date_naive()),
            decided_at,
            deciding_authority: format!("Professional disciplinary board, {}", MEMBER_STATES[home]),
            member_state_of_establishment: None,
            professional: sealer.seal(
                &serde_json::json!({"name": format!("Professional {k}"), "birth_date": "1975-03-02"}),
            )?,
            details: Some(sealer.seal(&format!("Decision on professional {k}"))?),
            attachments: vec![],
        })
    } else {
        AlertContent::Services(ServicesAlert {
            service_activity: Some(SERVICE_ACTIVITIES[n % SERVICE_ACTIVITIES.len()].into()),
            member_state_of_establishment: None,
            dangerous_activity: sealer
                .seal(&format!("Dangerous activity reported in alert {k}"))?,
            service_provider: sealer.seal(&serde_json::json!({"name": format!("Provider {k}")}))?,
            attachments: vec![],
        })
    };
    let recipients: Vec<usize> = if professional {
        (0..MEMBER_STATES.len()).filter(|&m| m != home).collect()
    } else {
        (0..3 + n % 4)
            .map(|j| (home + 1 + 7 * j) % MEMBER_STATES.len())
            .collect()
    };
    let mut seq = 0;
    let mut emit = |e: AlertEvent, by: &Actor| {
        seq += 1;
        rows.push("Alert", &id, seq, &e, by)
    };
    let passed = |in_time: bool| AlertEvent::ThreeDayDeadlinePassed {
        deadline,
        broadcast_in_time: in_time,
    };
    emit(
        AlertEvent::AlertDrafted {
            alert_id: id.clone(),
            area: if professional { pq() } else { sd() },
            initiating_authority: from.id.clone(),
            initiating_member_state: ms(home)?,
            content: content.clone(),
            at,
        },
        &initiator,
    )?;
    let submitted = AlertEvent::AlertSubmitted {
        coordinator: coordinator.id.clone(),
        at: at + Duration::hours(1),
    };
    if stop == 0 {
        return if professional {
            emit(passed(false), &system)
        } else {
            Ok(())
        };
    }
    // One in ten is sent back once, amended and submitted again.
    if stop == 2 || n % 10 == 1 {
        emit(submitted.clone(), &initiator)?;
        emit(
            AlertEvent::AlertSentBack {
                coordinator: coordinator.id.clone(),
                reason: reason.clone(),
            },
            &by_coordinator,
        )?;
        if stop == 2 {
            return if professional {
                emit(passed(false), &system)
            } else {
                Ok(())
            };
        }
        emit(AlertEvent::DraftAmended { content }, &initiator)?;
    }
    emit(submitted, &initiator)?;
    if professional && (stop == 1 || late) {
        emit(passed(false), &system)?;
    }
    if stop == 1 {
        return Ok(());
    }
    emit(
        AlertEvent::AlertBroadcast {
            coordinator: coordinator.id.clone(),
            member_states: recipients
                .iter()
                .map(|&m| Ok((ms(m)?, net.coordinator_of(m).id.clone())))
                .collect::<Result<_>>()?,
            sending_postbox: Some(coordinator.id.clone()),
            at: broadcast_at,
        },
        &by_coordinator,
    )?;
    // Each recipient's postbox acknowledges (while open, half of them did so far); one in five
    // disseminates to a competent authority of its Member State.
    for (j, &m) in recipients.iter().enumerate() {
        if stop == 3 && j % 2 == 1 {
            continue;
        }
        let postbox = net.coordinator_of(m);
        let by_postbox = user(&postbox.users[k % postbox.users.len()], &postbox.id);
        emit(
            AlertEvent::ReceiptAcknowledged {
                member_state: ms(m)?,
                postbox: postbox.id.clone(),
                at: broadcast_at + Duration::hours(20),
            },
            &by_postbox,
        )?;
        let local = &net.competent_by_state[m];
        if (n + j).is_multiple_of(5) && !local.is_empty() {
            emit(
                AlertEvent::RecipientsAdded {
                    member_state: ms(m)?,
                    added_by: postbox.id.clone(),
                    authorities: BTreeSet::from([net.authorities[local[n % local.len()]]
                        .id
                        .clone()]),
                },
                &by_postbox,
            )?;
        }
    }
    if professional && !late {
        emit(passed(true), &system)?;
    }
    if withdrawn {
        return emit(
            AlertEvent::AlertWithdrawn {
                withdrawn_by: from.id.clone(),
                reason,
                at: broadcast_at + Duration::days(4),
            },
            &initiator,
        );
    }
    if stop == 3 {
        return Ok(());
    }
    // Closure, managed by the initiating Member State (no Member State of establishment given).
    let proposed_at = broadcast_at + Duration::days(90);
    let comment_end = proposed_at + Duration::days(COMMENT_DAYS);
    let objection_end = comment_end + Duration::days(OBJECTION_DAYS);
    emit(
        AlertEvent::ClosureProposed {
            proposed_by: from.id.clone(),
            closing_coordinator: coordinator.id.clone(),
            responsible_member_state: ms(home)?,
            reason: reason.clone(),
            comment_period_ends_at: comment_end,
        },
        &initiator,
    )?;
    emit(
        AlertEvent::CommentPeriodEnded {
            ended_at: comment_end,
        },
        &system,
    )?;
    if stop == 4 {
        return Ok(());
    }
    emit(
        AlertEvent::ClosureProposalBroadcast {
            closing_coordinator: coordinator.id.clone(),
            objection_period_ends_at: objection_end,
        },
        &by_coordinator,
    )?;
    if n % 10 == 4 {
        let m = recipients[n % recipients.len()];
        let objector = net.coordinator_of(m);
        emit(
            AlertEvent::ClosureObjected {
                objected_by: objector.id.clone(),
                member_state: ms(m)?,
                objection: reason.clone(),
            },
            &user(&objector.users[k % objector.users.len()], &objector.id),
        )?;
    }
    emit(
        AlertEvent::ObjectionPeriodEnded {
            ended_at: objection_end,
        },
        &system,
    )?;
    if stop == 5 {
        return Ok(());
    }
    emit(
        AlertEvent::AlertClosed {
            closing_coordinator: coordinator.id.clone(),
            at: objection_end + Duration::hours(2),
        },
        &by_coordinator,
    )
}

/// One exchange's events up to `stop` (0: drafted, 1: sent, 2: accepted, 3: answered,
/// 4: additional information asked, 5: in referral; anything else: closed).
#[allow(clippy::too_many_arguments)]
fn request(
    rows: &mut Rows,
    k: usize,
    from: &Authority,
    to: &Authority,
    at: DateTime<Utc>,
    stop: usize,
    subject: Sealed,
    text: Sealed,
) -> Result<()> {
    let id = format!("req-{k}");
    let party = |a: &Authority| -> Result<Party> {
        Ok(Party {
            authority_id: a.id.clone(),
            member_state: MemberState::parse(MEMBER_STATES[a.member_state])?,
            linked_coordinators: BTreeSet::from([a.coordinator.clone()]),
            linked_authorities: BTreeSet::new(),
        })
    };
    let requester = &from.users[k % from.users.len()];
    let handler = &to.users[k % to.users.len()];
    let (by_requester, by_handler) = (user(requester, &from.id), user(handler, &to.id));
    let day = |d: i64| at + Duration::days(d);
    let answer_date = day(21).date_naive();
    let mut seq = 0;
    let mut emit = |e: RequestEvent, by: &Actor| {
        seq += 1;
        rows.push("InformationRequest", &id, seq, &e, by)
    };
    emit(
        RequestEvent::RequestDrafted {
            request_id: id.clone(),
            area: pq(),
            requesting: party(from)?,
            drafted_by: requester.clone(),
            draft: DraftContent {
                question_set: "PQ-GEN".into(),
                questions: BTreeSet::from(["PQ-GEN-01".into(), "PQ-GEN-02".into()]),
                free_text: None,
                subject,
                attachments: vec![],
                proposed_answer_date: answer_date,
                responding: party(to)?,
                request_coordinator: from.coordinator.clone(),
            },
            at,
        },
        &by_requester,
    )?;
    if stop == 0 {
        return Ok(());
    }
    emit(
        RequestEvent::RequestSent {
            responding: party(to)?,
            at: at + Duration::minutes(20),
        },
        &by_requester,
    )?;
    if stop == 1 {
        return Ok(());
    }
    emit(
        RequestEvent::RequestAccepted {
            responding_coordinator: to.coordinator.clone(),
            agreed_answer_date: answer_date,
            at: day(2),
        },
        &by_handler,
    )?;
    emit(
        RequestEvent::RequestAssigned {
            authority_id: to.id.clone(),
            handlers: BTreeSet::from([handler.clone()]),
            at: day(2),
        },
        &by_handler,
    )?;
    if stop == 2 {
        return Ok(());
    }
    let answers = BTreeMap::from([
        ("PQ-GEN-01".to_string(), text.clone()),
        ("PQ-GEN-02".to_string(), text.clone()),
    ]);
    emit(
        RequestEvent::FullReplySent {
            answers,
            attachments: vec![],
            at: day(12),
        },
        &by_handler,
    )?;
    if stop == 3 {
        return Ok(());
    }
    // One in twenty goes on to a referral; the open ones in states 4 and 5 too.
    let referral = k % 20 == 7 || stop == 4 || stop == 5;
    if referral {
        emit(
            RequestEvent::AdditionalInformationRequested {
                justification: text.clone(),
                questions: BTreeSet::from(["PQ-GEN-02".into()]),
                at: day(14),
            },
            &by_requester,
        )?;
        if stop == 4 {
            return Ok(());
        }
        emit(
            RequestEvent::ReplyMaintained {
                comment: None,
                at: day(16),
            },
            &by_handler,
        )?;
        let coordinator = user(&format!("{}-u0", from.coordinator), &from.coordinator);
        emit(
            RequestEvent::ReferralOpened {
                requesting_coordinator: from.coordinator.clone(),
                responding_coordinator: to.coordinator.clone(),
                at: day(17),
            },
            &coordinator,
        )?;
        emit(
            RequestEvent::ReferralParticipationDecided {
                coordinator: from.coordinator.clone(),
                participates: true,
                at: day(18),
            },
            &coordinator,
        )?;
        if stop == 5 {
            return Ok(());
        }
        emit(
            RequestEvent::ReferralOpinionGiven {
                coordinator: from.coordinator.clone(),
                opinion: text.clone(),
                satisfactory: true,
                at: day(20),
            },
            &coordinator,
        )?;
        emit(
            RequestEvent::ReferralParticipationDecided {
                coordinator: to.coordinator.clone(),
                participates: false,
                at: day(21),
            },
            &user(&format!("{}-u0", to.coordinator), &to.coordinator),
        )?;
        emit(
            RequestEvent::ReferralConcluded { at: day(21) },
            &user(&format!("{}-u0", to.coordinator), &to.coordinator),
        )?;
    }
    emit(RequestEvent::RequestClosed { at: day(25) }, &by_requester)?;
    emit(
        RequestEvent::ReplyRated {
            timeliness: (k % 5 + 1) as u8,
            effort: ((k / 5) % 5 + 1) as u8,
            at: day(25),
        },
        &by_requester,
    )?;
    Ok(())
}
