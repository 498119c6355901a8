//! `imi bench populate --scale S`: an EU-sized history (at S = 1.0: 12,600 authorities in the
//! 30 Member States, 44,000 users, 1.1 million exchanges over ten years), written as the
//! aggregates emit their events (the domain's event enums, serialized as the store writes
//! them), personal data sealed under each exchange's own key, every row through the hash-chain
//! trigger; then every projection built from it. The rate is set against a plain COPY of the
//! same rows into an identical table without trigger or indexes, in the same run.

use anyhow::Result;
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use imi_domain::actor::Actor;
use imi_domain::authority::{
    user_key_id, AuthorityEvent, AuthorityKind, ContactDetails, LegislativeArea, Workflow,
    WorkflowRole, WorkflowSetup,
};
use imi_domain::reference::{Language, MemberState, MEMBER_STATES};
use imi_domain::request::{request_key_id, DraftContent, Party, RequestEvent};
use imi_domain::sealed::Sealed;
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{KeyRing, MasterKey};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
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

const COLUMNS: &str =
    "(aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)";

struct Authority {
    id: String,
    member_state: usize,
    coordinator: String,
    users: Vec<String>,
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

fn user(user_id: &str, authority_id: &str) -> Actor {
    Actor::User {
        user_id: user_id.to_string(),
        authority_id: authority_id.to_string(),
    }
}

fn pq() -> LegislativeArea {
    LegislativeArea::parse("PQ").expect("PQ")
}

/// Writes the history at `scale` into `pool`'s (migrated, empty) database and builds every
/// projection.
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
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS bench_copy_baseline (LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY);
         ALTER TABLE bench_copy_baseline ALTER COLUMN hash DROP NOT NULL",
    )
    .execute(pool)
    .await?;
    let mut timing = Timing::default();
    let started = Instant::now();

    // Authorities: a national coordinator per Member State, the rest competent authorities
    // registered and validated by it; users spread over them.
    let system = Actor::system("bench-populate");
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
            }
        })
        .collect();
    for u in 0..n_users {
        let a = &mut authorities[u % n_authorities];
        let id = format!("{}-u{}", a.id, a.users.len());
        a.users.push(id);
    }
    let identities: Vec<Vec<Sealed>> = futures::stream::iter(authorities.iter())
        .map(|a| {
            let keys = keys.clone();
            async move {
                let mut out = vec![];
                for u in &a.users {
                    out.push(
                        keys.seal(&user_key_id(u), &serde_json::json!({ "name": u }))
                            .await?,
                    );
                }
                anyhow::Ok(out)
            }
        })
        .buffered(8)
        .try_collect()
        .await?;
    let mut rows = Rows::default();
    for (a, identities) in authorities.iter().zip(identities) {
        let ms = MemberState::parse(MEMBER_STATES[a.member_state])?;
        let mut seq = 0;
        let mut next = || {
            seq += 1;
            seq
        };
        let titles = BTreeMap::from([(
            Language::parse("en")?,
            format!("Authority {} of {}", a.id, MEMBER_STATES[a.member_state]),
        )]);
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
            let by = user(&format!("{}-u0", a.coordinator), &a.coordinator);
            let access = BTreeMap::from([(
                pq(),
                BTreeMap::from([(
                    Workflow::Requests,
                    WorkflowSetup {
                        role: WorkflowRole::RequestAuthority,
                        linked_coordinators: BTreeSet::from([a.coordinator.clone()]),
                    },
                )]),
            )]);
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
                    description: Some("Recognition of professional qualifications".into()),
                    contact: ContactDetails {
                        city: Some(format!("City {}", a.member_state)),
                        ..ContactDetails::default()
                    },
                    contact_person: None,
                },
                &by,
            )?;
        }
        for (k, (u, identity)) in a.users.iter().zip(identities).enumerate() {
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
            if k == 0 && a.id != a.coordinator {
                rows.push(
                    "Authority",
                    &a.id,
                    next(),
                    &AuthorityEvent::AuthorityValidated {
                        validated_by: a.coordinator.clone(),
                    },
                    &user(&format!("{}-u0", a.coordinator), &a.coordinator),
                )?;
            }
        }
    }
    timing.write(pool, std::mem::take(&mut rows)).await?;

    // Exchanges between competent authorities of two Member States, evenly over ten years.
    let competent: Vec<&Authority> = authorities
        .iter()
        .filter(|a| a.id != a.coordinator)
        .collect();
    let start = Utc.with_ymd_and_hms(2016, 1, 1, 8, 0, 0).unwrap();
    let span = Duration::days(3652);
    let open_from = n_exchanges - n_exchanges / 10;
    let mut first = 0;
    while first < n_exchanges {
        let last = (first + CHUNK).min(n_exchanges);
        let sealed: Vec<(Sealed, Sealed)> = futures::stream::iter(first..last)
            .map(|k| {
                let keys = keys.clone();
                async move {
                    let id = request_key_id(&format!("req-{k}"));
                    let subject = keys
                        .seal(
                            &id,
                            &serde_json::json!({"name": format!("Subject {k}"), "birth_date": "1980-05-17"}),
                        )
                        .await?;
                    let text = keys.seal(&id, &format!("Answer on request {k}")).await?;
                    anyhow::Ok((subject, text))
                }
            })
            .buffered(8)
            .try_collect()
            .await?;
        for (k, (subject, text)) in (first..last).zip(sealed) {
            let from = competent[(k * 7919) % competent.len()];
            let mut to = competent[(k * 104_729 + 13) % competent.len()];
            if to.member_state == from.member_state {
                to = competent[(k * 104_729 + 14) % competent.len()];
            }
            let at = start + span * (k as i32) / (n_exchanges as i32).max(1);
            // Open exchanges among the most recent ones, in every state; the rest closed.
            let stop = if k >= open_from && k % OPEN_SHARE < 6 {
                k % OPEN_SHARE
            } else {
                usize::MAX
            };
            request(&mut rows, k, from, to, at, stop, subject, text)?;
        }
        timing.write(pool, std::mem::take(&mut rows)).await?;
        first = last;
    }
    let load_seconds = started.elapsed().as_secs_f64();
    sqlx::query("DROP TABLE bench_copy_baseline")
        .execute(pool)
        .await?;
    sqlx::query("VACUUM ANALYZE events").execute(pool).await?;
    println!(
        "history: {n_authorities} authorities in {} Member States, {n_users} users, {n_exchanges} exchanges over ten years (scale {scale})",
        MEMBER_STATES.len()
    );
    println!(
        "events written: {} in {load_seconds:.1} s including sealing ({:.0} events/s)",
        timing.events,
        timing.events as f64 / load_seconds
    );
    println!(
        "  COPY into a plain table, no trigger or index   {:>9.0} events/s  (baseline)",
        timing.events as f64 / timing.baseline
    );
    println!(
        "  COPY into events, through the hash chain       {:>9.0} events/s  ({:.2}x)",
        timing.events as f64 / timing.events_seconds,
        timing.baseline / timing.events_seconds
    );
    let mut total = 0.0;
    for projection in imi_projections::all() {
        let report = imi_projections::rebuild::rebuild(pool, projection.as_ref(), |_| {}).await?;
        total += report.seconds;
        println!(
            "  rebuild of {:<24} {:>9} events in {:>6.1} s = {:>9.0} events/s",
            projection.name(),
            report.events_applied,
            report.seconds,
            report.events_applied as f64 / report.seconds
        );
    }
    println!("every projection built in {total:.1} s");
    Ok(())
}

/// Seconds spent in each COPY, summed over the chunks.
#[derive(Default)]
struct Timing {
    events: u64,
    events_seconds: f64,
    baseline: f64,
}

impl Timing {
    async fn write(&mut self, pool: &PgPool, rows: Rows) -> Result<()> {
        let mut conn = pool.acquire().await?;
        for (table, baseline) in [("bench_copy_baseline", true), ("events", false)] {
            let started = Instant::now();
            let mut copy = conn
                .copy_in_raw(&format!("COPY {table} {COLUMNS} FROM STDIN"))
                .await?;
            copy.send(rows.text.as_bytes()).await?;
            copy.finish().await?;
            let seconds = started.elapsed().as_secs_f64();
            if baseline {
                self.baseline += seconds;
            } else {
                self.events_seconds += seconds;
            }
        }
        sqlx::query("TRUNCATE bench_copy_baseline")
            .execute(&mut *conn)
            .await?;
        self.events += rows.count;
        Ok(())
    }
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
