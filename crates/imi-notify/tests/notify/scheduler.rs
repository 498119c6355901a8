//! The scheduler against the real event store and Authority bus: a due rule is acted on once,
//! whatever races or restarts; a rule not due, or ended, is left alone.

use crate::support::Scene;
use chrono::{Duration as Days, Utc};
use imi_domain::authority::SystemClock;
use imi_notify::scheduler::{Acted, Dispatch, Scheduler, SETTLE};
use imi_projections::deadlines::{self, Deadlines};
use imi_projections::{runner, Slot};
use imi_store::authority_bus::authority_bus;
use imi_store::commands::AggregateConfig;
use imi_store::metadata::CommandMetadata;
use imi_store::request_bus::request_bus;
use imi_store::wake::Wake;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// An invitation to `id` whose code expires at `expires_at`, appended as the bus would.
async fn invited(scene: &Scene, id: &str, digest: &str, expires_at: chrono::DateTime<Utc>) {
    let email = scene
        .seal(&format!("Authority/{id}"), &json!("x@example.eu"))
        .await;
    let payload = json!({ "InvitationIssued": {
        "authority_id": id, "invited_by": "nimic-de", "member_state": "DE",
        "kind": "CompetentAuthority", "region": null, "coordinated_areas": [],
        "access": {}, "code_digest": digest, "expires_at": expires_at, "contact_email": email,
    }});
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         VALUES ('Authority', $1, 1, 'InvitationIssued', '1', $2, '{}')",
    )
    .bind(id)
    .bind(payload)
    .execute(scene.pool())
    .await
    .expect("an invitation in the log");
}

/// Brings the deadlines projection up to the end of the log.
async fn project(scene: &Scene) {
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        runner::apply_batch(scene.pool(), &Deadlines, Slot::Live, 1000)
            .await
            .unwrap();
        let behind: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events e, projections p
              WHERE p.name = 'deadlines' AND p.slot = 'live'
                AND (e.xid::text::bigint, e.position) > (p.xid, p.position)",
        )
        .fetch_one(scene.pool())
        .await
        .unwrap();
        if behind == 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < until, "could not catch up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn expiries(scene: &Scene, id: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'InvitationExpired'",
    )
    .bind(id)
    .fetch_one(scene.pool())
    .await
    .unwrap()
}

fn scheduler(scene: &Scene) -> Scheduler {
    let bus = authority_bus(
        scene.pool().clone(),
        AggregateConfig::default(),
        Wake::local_only(),
    );
    Scheduler::new(scene.pool().clone(), Arc::new(SystemClock))
        .route("Authority", Arc::new(bus) as Arc<dyn Dispatch>)
}

#[tokio::test]
async fn a_due_rule_is_acted_on_once_despite_racing_schedulers_and_a_lost_record() {
    let scene = Scene::new().await;
    let digest = "a".repeat(64);
    invited(&scene, "ca-due", &digest, Utc::now() - Days::days(1)).await;
    invited(
        &scene,
        "ca-later",
        &"b".repeat(64),
        Utc::now() + Days::days(29),
    )
    .await;
    project(&scene).await;

    // Two schedulers at once (as two processes would be without the lock).
    let (a, b) = (scheduler(&scene), scheduler(&scene));
    let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
    let acted: Vec<_> = ra.unwrap().into_iter().chain(rb.unwrap()).collect();
    assert!(
        acted.iter().all(|(d, _)| d.aggregate_id == "ca-due"),
        "{acted:?}"
    );
    assert!(acted.iter().any(|(_, a)| *a == Acted::Done), "{acted:?}");
    assert_eq!(expiries(&scene, "ca-due").await, 1);
    assert_eq!(expiries(&scene, "ca-later").await, 0, "not due yet");

    // A crash between the command and its record: the record is lost, the rule is due again,
    // and acting again writes nothing (same idempotency key).
    sqlx::query("DELETE FROM deadline_actions")
        .execute(scene.pool())
        .await
        .unwrap();
    let again = scheduler(&scene).run_due().await.unwrap();
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(expiries(&scene, "ca-due").await, 1, "acted twice");

    // Once the expiry is projected the rule is gone; nothing is due any more.
    project(&scene).await;
    assert!(scheduler(&scene).run_due().await.unwrap().is_empty());
    let status = deadlines::status(scene.pool(), Utc::now()).await.unwrap();
    assert_eq!((status.scheduled, status.due, status.done), (1, 0, 1));
    assert!(status.next_due_at.is_some());
}

#[tokio::test]
async fn a_rule_ended_before_it_fell_due_is_not_acted_on() {
    let scene = Scene::new().await;
    let old = "c".repeat(64);
    let fresh = "d".repeat(64);
    invited(&scene, "ca-renewed", &old, Utc::now() - Days::days(1)).await;
    // Renewed before the scheduler saw the old code's expiry: only the new code counts.
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         VALUES ('Authority', 'ca-renewed', 2, 'InvitationRenewed', '1', $1, '{}')",
    )
    .bind(json!({ "InvitationRenewed": {
        "renewed_by": "nimic-de", "code_digest": fresh,
        "expires_at": Utc::now() + Days::days(30) } }))
    .execute(scene.pool())
    .await
    .unwrap();
    project(&scene).await;
    assert!(scheduler(&scene).run_due().await.unwrap().is_empty());
    assert_eq!(expiries(&scene, "ca-renewed").await, 0);
    let pending: Vec<String> = sqlx::query_scalar("SELECT id FROM deadlines.deadlines")
        .fetch_all(scene.pool())
        .await
        .unwrap();
    assert_eq!(
        pending,
        vec![format!("Authority/ca-renewed/invitation_expiry/{fresh}")]
    );
}

#[tokio::test]
async fn a_refused_rule_is_recorded_and_not_retried() {
    let scene = Scene::new().await;
    let digest = "e".repeat(64);
    invited(&scene, "ca-refused", &digest, Utc::now() - Days::days(1)).await;
    project(&scene).await;
    // The deadline names a code the aggregate does not hold: it refuses, for good.
    sqlx::query("UPDATE deadlines.deadlines SET command = $1")
        .bind(json!({ "ExpireInvitation": { "code_digest": "f".repeat(64) } }))
        .execute(scene.pool())
        .await
        .unwrap();
    let acted = scheduler(&scene).run_due().await.unwrap();
    assert!(
        matches!(&acted[0].1, Acted::Refused(why) if why.contains("renewed")),
        "{acted:?}"
    );
    assert!(scheduler(&scene).run_due().await.unwrap().is_empty());
    let status = deadlines::status(scene.pool(), Utc::now()).await.unwrap();
    assert_eq!((status.refused, status.due), (1, 0));
}

#[tokio::test]
async fn the_active_scheduler_seals_the_log_when_a_seal_is_due() {
    let scene = Scene::new().await;
    invited(
        &scene,
        "ca-sealed",
        &"a".repeat(64),
        Utc::now() + Days::days(30),
    )
    .await;
    let mut scheduler = scheduler(&scene);
    scheduler.tick = Duration::from_millis(50);
    let (_wake_tx, wake) = tokio::sync::watch::channel(0u64);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { scheduler.run(wake, stop).await });
    let until = std::time::Instant::now() + Duration::from_secs(10);
    let seal = loop {
        if let Some(seal) = imi_store::seals::latest(scene.pool()).await.unwrap() {
            break seal;
        }
        assert!(std::time::Instant::now() < until, "no seal was taken");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop_tx.send(true).unwrap();
    running.await.unwrap();
    assert_eq!((seal.seal, seal.heads_changed), (1, 1));
    // Daily: the ticks after the first took no second seal.
    let seals: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_seals")
        .fetch_one(scene.pool())
        .await
        .unwrap();
    assert_eq!(seals, 1);
    let report = imi_store::seals::verify(scene.pool()).await.unwrap();
    assert_eq!((report.seals_checked, report.first_broken), (1, None));
}

#[tokio::test]
async fn new_events_prompt_a_look_for_due_rules_but_a_stream_of_them_at_most_once_per_settle_gap() {
    let scene = Scene::new().await;
    let mut scheduler = scheduler(&scene);
    // The tick never comes: only wakes prompt a look.
    scheduler.tick = Duration::from_secs(600);
    scheduler.seal_every = None;
    let looks = scheduler.looks();
    let (wake_tx, wake) = tokio::sync::watch::channel(0u64);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(async move { scheduler.run(wake, stop).await });
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while looks.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        assert!(
            std::time::Instant::now() < until,
            "the scheduler never looked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A rule that fell due, then the events' wake: acted on within the gap.
    invited(
        &scene,
        "ca-woken",
        &"b".repeat(64),
        Utc::now() - Days::days(1),
    )
    .await;
    project(&scene).await;
    wake_tx.send_modify(|n| *n += 1);
    let until = std::time::Instant::now() + SETTLE * 5;
    while expiries(&scene, "ca-woken").await == 0 {
        assert!(
            std::time::Instant::now() < until,
            "the wake did not prompt a look"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A wake every 5 ms for three gaps: a look per gap, not per wake.
    let before = looks.load(std::sync::atomic::Ordering::Relaxed);
    let storm = std::time::Instant::now();
    while storm.elapsed() < SETTLE * 3 {
        wake_tx.send_modify(|n| *n += 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let during = looks.load(std::sync::atomic::Ordering::Relaxed) - before;
    stop_tx.send(true).unwrap();
    running.await.unwrap();
    assert!((2..=4).contains(&during), "{during} looks in three gaps");
}

/// `count` requests, drafted about a sealed subject and closed 4 years ago, blocked 7 months
/// later: their deletion is due. Appended as the request aggregate emits them.
async fn expired_requests(scene: &Scene, count: usize) {
    use imi_domain::request::{DraftContent, Party, RequestEvent};
    let ended = Utc::now() - Days::days(4 * 366);
    let party = |authority: &str, ms: &str| Party {
        authority_id: authority.into(),
        member_state: imi_domain::reference::MemberState::parse(ms).unwrap(),
        linked_coordinators: Default::default(),
        linked_authorities: Default::default(),
    };
    for i in 1..=count {
        let id = format!("r-{i}");
        let subject = scene
            .seal(
                &format!("InformationRequest/{id}"),
                &json!({ "name": format!("Person {i}") }),
            )
            .await;
        let events = [
            RequestEvent::RequestDrafted {
                request_id: id.clone(),
                area: imi_domain::authority::LegislativeArea::parse("PQ").unwrap(),
                requesting: party("de-ca", "DE"),
                drafted_by: "de-handler".into(),
                draft: DraftContent {
                    question_set: "PQ-GEN".into(),
                    questions: ["PQ-GEN-01".to_string()].into(),
                    free_text: None,
                    subject,
                    attachments: vec![],
                    proposed_answer_date: ended.date_naive(),
                    responding: party("fr-ca", "FR"),
                    request_coordinator: "de-rc".into(),
                },
                at: ended,
            },
            RequestEvent::RequestClosed { at: ended },
            RequestEvent::PersonalDataBlocked {
                at: ended + Days::days(214),
            },
        ];
        for (n, event) in events.into_iter().enumerate() {
            let payload = serde_json::to_value(&event).unwrap();
            let event_type = payload.as_object().unwrap().keys().next().unwrap().clone();
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                     event_version, payload, metadata)
                 VALUES ('InformationRequest', $1, $2, $3, '1', $4, '{}')",
            )
            .bind(&id)
            .bind(n as i64 + 1)
            .bind(event_type)
            .bind(payload)
            .execute(scene.pool())
            .await
            .unwrap();
        }
    }
}

/// The deadline's command with the metadata the scheduler gives it, as it first writes it.
fn as_scheduled(d: &deadlines::Deadline) -> (String, serde_json::Value, CommandMetadata) {
    let actor = imi_domain::actor::Actor::system(imi_notify::scheduler::PROCESS);
    let mut metadata = CommandMetadata::for_actor(&actor).with_idempotency_key(Some(d.id.clone()));
    metadata.causation_id = Some(d.id.clone());
    (d.aggregate_id.clone(), d.command.clone(), metadata)
}

#[tokio::test]
async fn deletions_due_together_erase_each_exchange_once_and_repair_an_interrupted_one() {
    let scene = Scene::new().await;
    let reference = imi_store::reference::ReferenceData::bundled().unwrap();
    imi_store::reference::load(scene.pool(), &reference)
        .await
        .unwrap();
    expired_requests(&scene, 40).await;
    project(&scene).await;
    let bus = Arc::new(request_bus(
        scene.pool().clone(),
        AggregateConfig::default(),
        Wake::local_only(),
    ));
    let due = deadlines::due(scene.pool(), Utc::now(), 100).await.unwrap();
    assert_eq!(due.len(), 40, "{due:?}");
    assert!(due.iter().all(|d| d.rule == deadlines::rules::DELETION));

    // Interrupted between the two writes: five facts recorded one at a time, five more by
    // a batch, none of their keys erased nor their rules recorded as done.
    for d in &due[..5] {
        let (id, command, metadata) = as_scheduled(d);
        bus.issue(&id, &command, metadata).await.unwrap();
    }
    let batch: Vec<_> = due[5..10].iter().map(as_scheduled).collect();
    let outcomes = bus.issue_many(batch).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");

    // Two schedulers at once, 16 deadlines at a time.
    let scheduler = || {
        let mut s = Scheduler::new(scene.pool().clone(), Arc::new(SystemClock))
            .erasing((*scene.keyring).clone())
            .route("InformationRequest", bus.clone() as Arc<dyn Dispatch>);
        s.batch = 16;
        s
    };
    let (a, b) = (scheduler(), scheduler());
    let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
    let acted: Vec<_> = ra.unwrap().into_iter().chain(rb.unwrap()).collect();
    let other: Vec<_> = acted.iter().filter(|(_, a)| *a != Acted::Done).collect();
    assert!(other.is_empty(), "{other:?}");

    // Each exchange: one fact, at sequence 4, its key erased, its rule done.
    let facts: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT aggregate_id, count(*), max(sequence) FROM events
          WHERE event_type = 'PersonalDataDeleted' GROUP BY aggregate_id",
    )
    .fetch_all(scene.pool())
    .await
    .unwrap();
    assert_eq!(facts.len(), 40);
    assert!(
        facts.iter().all(|(_, n, s)| (*n, *s) == (1, 4)),
        "{facts:?}"
    );
    let (erased, done): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM data_keys WHERE erased_at IS NOT NULL
                    AND key_id LIKE 'InformationRequest/r-%' AND erased_by = 'scheduler'),
                (SELECT count(*) FROM deadline_actions WHERE outcome = 'done')",
    )
    .fetch_one(scene.pool())
    .await
    .unwrap();
    assert_eq!((erased, done), (40, 40));
    let subject = imi_domain::sealed::Sealed {
        key_id: "InformationRequest/r-7".into(),
        alg: imi_domain::sealed::A256GCM.into(),
        nonce: "AAAAAAAAAAAAAAAA".into(),
        ciphertext: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    };
    let opened = scene
        .keyring
        .open::<serde_json::Value>(&subject)
        .await
        .unwrap();
    assert!(opened.is_erased());
    let audit = imi_store::audit::verify(scene.pool()).await.unwrap();
    assert!(audit.first_broken.is_none(), "{audit:?}");
    assert_eq!(audit.events_checked, 160);

    // Nothing is due any more, and acting again writes nothing.
    let again = scheduler().run_due().await.unwrap();
    assert!(again.is_empty(), "{again:?}");
    project(&scene).await;
    let again = scheduler().run_due().await.unwrap();
    assert!(again.is_empty(), "{again:?}");
}
