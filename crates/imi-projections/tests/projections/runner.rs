//! Crash safety and mutual exclusion of projector runners.

use crate::ledger::{
    append, append_together, assert_complete, below_horizon, drain, migrated, Ledger, NAME,
};
use imi_projections::active::ActiveLocks;
use imi_projections::runner::{apply_batch, ensure_slot, Runner};
use imi_projections::Slot;
use std::sync::Arc;
use std::time::Duration;

async fn caught_up(pool: &sqlx::PgPool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        // No checkpoint row yet means the runner has not even started: not caught up.
        let behind: Option<i64> = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM events e
                      WHERE (e.xid::text::bigint, e.position) > (p.xid, p.position))
               FROM projections p WHERE p.name = $1 AND p.slot = 'live'",
        )
        .bind(NAME)
        .fetch_optional(pool)
        .await
        .unwrap();
        if behind == Some(0) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "runner did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_runner_killed_mid_batch_applies_nothing_twice_and_loses_nothing() {
    let pool = migrated().await;
    append(&pool, "a", 300).await;
    let slow = Arc::new(Ledger {
        runner: "slow",
        pause: Duration::from_millis(1),
    });
    // Kill the runner again and again, at varying points inside its batches, while events
    // keep arriving.
    for round in 0..12u64 {
        let task = tokio::spawn(Runner::new(pool.clone(), slow.clone()).run());
        tokio::time::sleep(Duration::from_millis(15 + round * 7)).await;
        task.abort();
        let _ = task.await;
        append(&pool, &format!("r{round}"), 10).await;
    }
    let partial: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {NAME}.applied"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(partial < 420, "the kills must have interrupted the work");
    let fast = Arc::new(Ledger {
        runner: "fast",
        pause: Duration::ZERO,
    });
    let task = tokio::spawn(Runner::new(pool.clone(), fast).run());
    caught_up(&pool).await;
    task.abort();
    assert_complete(&pool).await;
}

#[tokio::test]
async fn a_failing_batch_rolls_back_with_its_checkpoint() {
    let pool = migrated().await;
    let ledger = Ledger {
        runner: "r",
        pause: Duration::ZERO,
    };
    ensure_slot(&pool, &ledger, Slot::Live).await.unwrap();
    // The five in one transaction, so one batch reads all of them or none: the horizon may
    // fall back for a moment (a transaction of another test's database that briefly shows no
    // lock of its own counts as a possible writer), and a batch of the first two alone would
    // rightly succeed.
    append_together(&pool, "a", 5).await;
    // A row the batch will collide with, as if a buggy apply wrote twice.
    let third: i64 =
        sqlx::query_scalar("SELECT position FROM events ORDER BY position OFFSET 2 LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    sqlx::query(&format!(
        "INSERT INTO {NAME}.applied VALUES ($1, 'planted', 0, 'test')"
    ))
    .bind(third)
    .execute(&pool)
    .await
    .unwrap();
    below_horizon(&pool, 5).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match apply_batch(&pool, &ledger, Slot::Live, 100).await {
            Err(_) => break,
            Ok(0) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Ok(n) => panic!("a batch of {n} events must fail on the planted row"),
        }
    }
    let (position, applied): (i64, i64) = sqlx::query_as(
        "SELECT position, events_applied FROM projections WHERE name = $1 AND slot = 'live'",
    )
    .bind(NAME)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((position, applied), (0, 0), "the checkpoint must not move");
    let rows: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {NAME}.applied"))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1, "nothing of the failed batch may remain");
}

#[tokio::test]
async fn two_runners_on_one_projection_never_both_apply() {
    let pool = migrated().await;
    append(&pool, "a", 50).await;
    let one = tokio::spawn(
        Runner::new(
            pool.clone(),
            Arc::new(Ledger {
                runner: "one",
                pause: Duration::ZERO,
            }),
        )
        .run(),
    );
    let two = tokio::spawn(
        Runner::new(
            pool.clone(),
            Arc::new(Ledger {
                runner: "two",
                pause: Duration::ZERO,
            }),
        )
        .run(),
    );
    for i in 0..10 {
        append(&pool, &format!("b{i}"), 20).await;
    }
    caught_up(&pool).await;
    let runners: Vec<String> =
        sqlx::query_scalar(&format!("SELECT DISTINCT runner FROM {NAME}.applied"))
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        runners.len(),
        1,
        "only the active runner applies: {runners:?}"
    );
    // When the active one stops, the standby takes over.
    let (active, standby) = if runners[0] == "one" {
        (one, two)
    } else {
        (two, one)
    };
    active.abort();
    let _ = active.await;
    append(&pool, "c", 20).await;
    caught_up(&pool).await;
    standby.abort();
    let runners: i64 = sqlx::query_scalar(&format!(
        "SELECT count(DISTINCT runner) FROM {NAME}.applied"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(runners, 2);
    assert_complete(&pool).await;
}

#[tokio::test]
async fn batches_from_competing_appliers_are_fenced() {
    // Even callers that bypass the active-runner lock never apply an event twice.
    let pool = migrated().await;
    let ledger = Arc::new(Ledger {
        runner: "any",
        pause: Duration::ZERO,
    });
    ensure_slot(&pool, ledger.as_ref(), Slot::Live)
        .await
        .unwrap();
    append(&pool, "a", 400).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (pool, ledger) = (pool.clone(), ledger.clone());
        tasks.push(tokio::spawn(async move {
            while apply_batch(&pool, ledger.as_ref(), Slot::Live, 13)
                .await
                .expect("no batch may collide")
                > 0
            {}
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    drain(&pool, ledger.as_ref(), 13).await;
    assert_complete(&pool).await;
}

#[tokio::test]
async fn status_reports_checkpoint_horizon_and_lag() {
    let pool = migrated().await;
    let ledger = Ledger {
        runner: "r",
        pause: Duration::ZERO,
    };
    ensure_slot(&pool, &ledger, Slot::Live).await.unwrap();
    append(&pool, "a", 10).await;
    below_horizon(&pool, 10).await;
    assert_eq!(apply_batch(&pool, &ledger, Slot::Live, 4).await.unwrap(), 4);
    let status = imi_projections::status::all(&pool).await.unwrap();
    let s = status.iter().find(|s| s.name == NAME).unwrap();
    assert_eq!(s.events_applied, 4);
    assert_eq!(s.lag_events, 6);
    assert_eq!(s.head_position, 10);
    assert!(s.lag_seconds >= 0.0);
    assert!(s.horizon_xid > s.checkpoint.xid);
}

#[tokio::test]
async fn runners_sharing_one_lock_connection_keep_one_active_and_hand_over_on_stop() {
    // A process's runners hold their locks on one connection: a second runner of the same
    // projection in that process still stands by, and a stopped runner releases its lock.
    let pool = migrated().await;
    append(&pool, "a", 50).await;
    let locks = Arc::new(ActiveLocks::new(pool.clone()));
    let (stop_one, stopped_one) = tokio::sync::watch::channel(false);
    let ledger = |runner| {
        Arc::new(Ledger {
            runner,
            pause: Duration::ZERO,
        })
    };
    let one = tokio::spawn(
        Runner::new(pool.clone(), ledger("one"))
            .with_locks(locks.clone())
            .with_stop(stopped_one)
            .run(),
    );
    caught_up(&pool).await;
    let two = tokio::spawn(
        Runner::new(pool.clone(), ledger("two"))
            .with_locks(locks.clone())
            .run(),
    );
    append(&pool, "b", 20).await;
    caught_up(&pool).await;
    let runners: Vec<String> =
        sqlx::query_scalar(&format!("SELECT DISTINCT runner FROM {NAME}.applied"))
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(runners, vec!["one".to_string()], "the second stands by");
    stop_one.send(true).unwrap();
    one.await.unwrap().expect("a stopped runner returns Ok");
    append(&pool, "c", 20).await;
    caught_up(&pool).await;
    two.abort();
    let runners: i64 = sqlx::query_scalar(&format!(
        "SELECT count(DISTINCT runner) FROM {NAME}.applied"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(runners, 2, "the standby took over");
    assert_complete(&pool).await;
}

#[tokio::test]
async fn a_runner_tells_its_batches_in_process_and_to_listening_processes() {
    // What waiters and subscriptions wake on: the process-wide channel in the projector's own
    // process, and `NOTIFY imi_projections` (sent by the batch's transaction) in others. The
    // NOTIFY goes to this test's own database only, so its arrival is this runner's batch.
    use imi_store::wake::{watch_projections, PROGRESS_CHANNEL};
    let pool = migrated().await;
    let mut elsewhere = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    elsewhere.listen(PROGRESS_CHANNEL).await.unwrap();
    let mut here = watch_projections();
    here.borrow_and_update();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(
        Runner::new(
            pool.clone(),
            Arc::new(Ledger {
                runner: "told",
                pause: Duration::ZERO,
            }),
        )
        .with_stop(stopped)
        .run(),
    );
    append(&pool, "a", 5).await;
    caught_up(&pool).await;
    tokio::time::timeout(Duration::from_secs(30), here.changed())
        .await
        .expect("told in process")
        .unwrap();
    let told = tokio::time::timeout(Duration::from_secs(30), elsewhere.recv())
        .await
        .expect("told through NOTIFY")
        .unwrap();
    assert_eq!(told.channel(), PROGRESS_CHANNEL);
    stop.send(true).unwrap();
    runner.await.unwrap().expect("a stopped runner returns Ok");
    assert_complete(&pool).await;
}
