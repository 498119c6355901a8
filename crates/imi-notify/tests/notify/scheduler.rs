//! The scheduler against the real event store and Authority bus: a due rule is acted on once,
//! whatever races or restarts; a rule not due, or ended, is left alone.

use crate::support::Scene;
use chrono::{Duration as Days, Utc};
use imi_domain::authority::SystemClock;
use imi_notify::scheduler::{Acted, Dispatch, Scheduler};
use imi_projections::deadlines::{self, Deadlines};
use imi_projections::{runner, Slot};
use imi_store::authority_bus::authority_bus;
use imi_store::commands::AggregateConfig;
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
