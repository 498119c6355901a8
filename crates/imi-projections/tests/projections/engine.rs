//! The projection engine: group batches, a failing member rolled back alone, laggards catching
//! up and rejoining, standby engines taking over, and nothing skipped or applied twice under
//! concurrent appends.

use crate::ledger::migrated;
use imi_projections::active::ActiveLocks;
use imi_projections::engine::{move_checkpoints, Engine};
use imi_projections::runner::{apply_batch, ensure_slot};
use imi_projections::writes::{self, Writes};
use imi_projections::{Projection, ProjectionError, Slot};
use imi_store::feed::{FeedEvent, FeedPosition};
use sqlx::{PgConnection, PgPool};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A projection that records each event it applies, one row per event (applying one twice
/// violates the primary key), half of them in `apply` and half in the writes it answers, and
/// can be told to fail after writing its rows: in `apply` (`fail`), or in its writes
/// (`fail_writes`).
struct Tally {
    name: &'static str,
    types: Option<&'static [&'static str]>,
    engine: &'static str,
    fail: Arc<AtomicBool>,
    fail_writes: Arc<AtomicBool>,
    pause: Duration,
    tables: &'static str,
}

const TALLY_TABLES: &str =
    "CREATE TABLE applied (position bigint PRIMARY KEY, aggregate_type text NOT NULL,
                                                 engine text NOT NULL)";

fn tally(name: &'static str, types: Option<&'static [&'static str]>) -> Tally {
    Tally {
        name,
        types,
        engine: "one",
        fail: Arc::default(),
        fail_writes: Arc::default(),
        pause: Duration::ZERO,
        tables: TALLY_TABLES,
    }
}

#[async_trait::async_trait]
impl Projection for Tally {
    fn name(&self) -> &'static str {
        self.name
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables_sql(&self) -> &'static str {
        self.tables
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        self.types
    }
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        const INSERT: &str =
            "INSERT INTO applied SELECT p, t, $3 FROM unnest($1::bigint[], $2::text[]) AS u(p, t)";
        let (now, later) = events.split_at(events.len() / 2);
        let positions = |es: &[FeedEvent]| es.iter().map(|e| e.at.position).collect::<Vec<_>>();
        let types = |es: &[FeedEvent]| {
            es.iter()
                .map(|e| e.aggregate_type.clone())
                .collect::<Vec<_>>()
        };
        sqlx::query(INSERT)
            .bind(positions(now))
            .bind(types(now))
            .bind(self.engine)
            .execute(&mut *db)
            .await?;
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(ProjectionError::unreadable(&events[0], "told to fail"));
        }
        let mut writes = Writes::default();
        let positions: Vec<String> = positions(later).iter().map(i64::to_string).collect();
        writes.sql(writes::inlined(
            INSERT,
            &[
                &format!("'{{{}}}'", positions.join(",")),
                &format!("{}::text[]", writes::literal(&types(later))),
                &writes::dollar_quoted(self.engine),
            ],
        ));
        if self.fail_writes.load(Ordering::SeqCst) {
            writes.sql("SELECT 1 / 0".to_string());
        }
        Ok(writes)
    }
}

/// Waits until the feed shows `n` events (at most a minute).
async fn feed_shows(pool: &PgPool, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut conn = pool.acquire().await.unwrap();
        let shown = imi_store::feed::read(&mut conn, FeedPosition::default(), 100)
            .await
            .unwrap();
        if shown.len() == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the feed never showed them"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Appends one event per aggregate type of `types`, each in a transaction of its own.
async fn append(pool: &PgPool, types: &[&str]) {
    for t in types {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             VALUES ($1, gen_random_uuid()::text, 1, 'Happened', '1', '{}', '{}')",
        )
        .bind(t)
        .execute(pool)
        .await
        .unwrap();
    }
}

/// The last event of the feed.
async fn feed_end(pool: &PgPool) -> FeedPosition {
    let (xid, position): (i64, i64) = sqlx::query_as(
        "SELECT xid::text::bigint, position FROM events ORDER BY xid DESC, position DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    FeedPosition { xid, position }
}

async fn checkpoint_of(pool: &PgPool, name: &str) -> Option<FeedPosition> {
    let mut conn = pool.acquire().await.unwrap();
    imi_projections::runner::checkpoint(&mut conn, name, Slot::Live)
        .await
        .unwrap()
}

/// Waits until every named projection's checkpoint is at the end of the feed.
pub(crate) async fn caught_up(pool: &PgPool, names: &[&str]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let end = feed_end(pool).await;
        let mut all = true;
        for name in names {
            all &= checkpoint_of(pool, name).await == Some(end);
        }
        if all {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{names:?} did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts `name` holds each event of the types it reads exactly once, and its checkpoint is at
/// the end of the feed having counted every event: what a rebuild from zero would hold.
async fn assert_exact(pool: &PgPool, name: &str, types: Option<&[&str]>) {
    let all_types: Vec<String> = sqlx::query_scalar("SELECT DISTINCT aggregate_type FROM events")
        .fetch_all(pool)
        .await
        .unwrap();
    let types: Vec<String> = match types {
        Some(t) => t.iter().map(|s| s.to_string()).collect(),
        None => all_types,
    };
    let expected: Vec<i64> = sqlx::query_scalar(
        "SELECT position FROM events WHERE aggregate_type = ANY($1) ORDER BY position",
    )
    .bind(&types)
    .fetch_all(pool)
    .await
    .unwrap();
    let applied: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT position FROM \"{name}\".applied ORDER BY position"
    ))
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        applied, expected,
        "{name} must hold every event it reads once"
    );
    let counted: i64 = sqlx::query_scalar(
        "SELECT events_applied FROM projections WHERE name = $1 AND slot = 'live'",
    )
    .bind(name)
    .fetch_one(pool)
    .await
    .unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        counted, events,
        "{name}'s checkpoint moved past every event"
    );
    assert_eq!(checkpoint_of(pool, name).await, Some(feed_end(pool).await));
}

fn engine(pool: &PgPool, projections: Vec<Arc<dyn Projection>>) -> Engine {
    Engine::new(pool.clone(), projections)
}

const ONLY_A: &[&str] = &["A"];
const ONLY_B: &[&str] = &["B"];

#[tokio::test]
async fn the_group_applies_each_batch_to_every_projection_and_skips_unread_types() {
    let pool = migrated().await;
    append(&pool, &["A", "B", "A"]).await;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(
        engine(
            &pool,
            vec![
                Arc::new(tally("t_all", None)),
                Arc::new(tally("t_a", Some(ONLY_A))),
                Arc::new(tally("t_more", None)),
            ],
        )
        // One lane: the whole group in each batch's transaction.
        .with_lanes(1)
        .with_stop(stopped)
        .run(),
    );
    caught_up(&pool, &["t_all", "t_a", "t_more"]).await;
    for _ in 0..20 {
        append(&pool, &["A", "B", "B"]).await;
    }
    caught_up(&pool, &["t_all", "t_a", "t_more"]).await;
    stop.send(true).unwrap();
    task.await.unwrap().expect("a stopped engine returns Ok");
    assert_exact(&pool, "t_all", None).await;
    assert_exact(&pool, "t_a", Some(ONLY_A)).await;
    assert_exact(&pool, "t_more", None).await;
    // The group moved the checkpoints together: one statement, so one update time.
    let times: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT updated_at) FROM projections WHERE name IN ('t_all', 't_a', 't_more')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        times, 1,
        "the last batch moved the three checkpoints at once"
    );
}

/// In how many transactions the live checkpoints of `names` last moved.
async fn checkpoint_transactions(pool: &PgPool, names: &[&str]) -> i64 {
    sqlx::query_scalar(
        "SELECT count(DISTINCT xmin::text) FROM projections WHERE slot = 'live' AND name = ANY($1)",
    )
    .bind(names)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn after_a_round_that_read_a_backlog_the_lanes_run_as_one_transaction() {
    const NAMES: [&str; 3] = ["t_1", "t_2", "t_3"];
    // Merging at 2 events, and never (0): the first must merge, the second must not.
    for (merge_at, after_backlog) in [(2, 1), (0, 3)] {
        let pool = migrated().await;
        append(&pool, &["A"]).await;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(
            engine(
                &pool,
                NAMES
                    .iter()
                    .map(|&n| Arc::new(tally(n, None)) as Arc<dyn Projection>)
                    .collect(),
            )
            // Three lanes, one projection each; two events a round.
            .with_lanes(3)
            .with_batch_limit(2)
            .with_merge_at(merge_at)
            .with_stop(stopped)
            .run(),
        );
        caught_up(&pool, &NAMES).await;
        // Each caught up alone; give them time to join the group.
        tokio::time::sleep(Duration::from_millis(300)).await;
        append(&pool, &["A"]).await;
        caught_up(&pool, &NAMES).await;
        assert_eq!(
            checkpoint_transactions(&pool, &NAMES).await,
            3,
            "one event: each lane in its own transaction"
        );

        // Five events in one transaction: rounds of 2, 2 and 1 back to back; after the first
        // read 2 (at least `merge_at`), the next ones run merged, the last one included.
        let mut tx = pool.begin().await.unwrap();
        for _ in 0..5 {
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 VALUES ('A', gen_random_uuid()::text, 1, 'Happened', '1', '{}', '{}')",
            )
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        caught_up(&pool, &NAMES).await;
        assert_eq!(
            checkpoint_transactions(&pool, &NAMES).await,
            after_backlog,
            "merge at {merge_at}: the round after the backlog's"
        );

        // The last round read 1: the next one runs in the lanes again.
        append(&pool, &["A"]).await;
        caught_up(&pool, &NAMES).await;
        assert_eq!(
            checkpoint_transactions(&pool, &NAMES).await,
            3,
            "merge at {merge_at}: a round after a short read runs in the lanes"
        );
        stop.send(true).unwrap();
        task.await.unwrap().unwrap();
        for name in NAMES {
            assert_exact(&pool, name, None).await;
        }
    }
}

#[tokio::test]
async fn the_checkpoints_move_refuses_to_move_fewer_than_named() {
    let pool = migrated().await;
    for name in ["t_a", "t_b"] {
        ensure_slot(&pool, &tally(name, None), Slot::Live)
            .await
            .unwrap();
    }
    append(&pool, &["A", "B"]).await;
    let end = feed_end(&pool).await;
    let mut tx = pool.begin().await.unwrap();
    // A checkpoint gone from under the batch (a projection dropped by hand): the whole
    // transaction fails rather than commit the others' rows with their checkpoints alone.
    let sql = move_checkpoints(["t_a", "t_gone"].into_iter(), [2, 2].into_iter(), end);
    let error = sqlx::Executor::execute(&mut *tx, sql.as_str())
        .await
        .expect_err("one of the two is not there");
    assert!(
        error.to_string().contains("moved 1 checkpoints of 2"),
        "{error}"
    );
    tx.rollback().await.unwrap();
    let sql = move_checkpoints(["t_a", "t_b"].into_iter(), [2, 1].into_iter(), end);
    sqlx::Executor::execute(&pool, sql.as_str()).await.unwrap();
    for (name, applied) in [("t_a", 2), ("t_b", 1)] {
        assert_eq!(checkpoint_of(&pool, name).await, Some(end));
        let counted: i64 = sqlx::query_scalar(
            "SELECT events_applied FROM projections WHERE name = $1 AND slot = 'live'",
        )
        .bind(name)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(counted, applied, "{name}");
    }
}

#[tokio::test]
async fn a_failing_projection_is_rolled_back_alone_and_catches_up_after() {
    a_failing_projection(false).await;
}

#[tokio::test]
async fn a_projection_whose_writes_fail_is_rolled_back_alone_and_catches_up_after() {
    // Its writes travel with the next member's savepoint, which then opens on its own.
    a_failing_projection(true).await;
}

async fn a_failing_projection(in_its_writes: bool) {
    let pool = migrated().await;
    let bad = tally("t_bad", None);
    let fail = if in_its_writes {
        bad.fail_writes.clone()
    } else {
        bad.fail.clone()
    };
    let task = tokio::spawn(
        engine(
            &pool,
            vec![
                Arc::new(tally("t_good", None)),
                Arc::new(bad),
                Arc::new(tally("t_other", Some(ONLY_A))),
            ],
        )
        // One lane: the three share a transaction, the failing one rolls back to its
        // savepoint.
        .with_lanes(1)
        .run(),
    );
    append(&pool, &["A", "B"]).await;
    caught_up(&pool, &["t_good", "t_bad", "t_other"]).await;
    let before = checkpoint_of(&pool, "t_bad").await;
    fail.store(true, Ordering::SeqCst);
    for _ in 0..10 {
        append(&pool, &["A", "B"]).await;
    }
    caught_up(&pool, &["t_good", "t_other"]).await;
    assert_eq!(
        checkpoint_of(&pool, "t_bad").await,
        before,
        "the failing projection's checkpoint must not move"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM t_bad.applied")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 2, "nothing of its failed batches may remain");
    assert_exact(&pool, "t_good", None).await;
    assert_exact(&pool, "t_other", Some(ONLY_A)).await;
    fail.store(false, Ordering::SeqCst);
    caught_up(&pool, &["t_bad"]).await;
    // Back in the group: later events reach it with the others.
    append(&pool, &["A", "B", "A"]).await;
    caught_up(&pool, &["t_good", "t_bad", "t_other"]).await;
    task.abort();
    assert_exact(&pool, "t_bad", None).await;
    assert_exact(&pool, "t_good", None).await;
    assert_exact(&pool, "t_other", Some(ONLY_A)).await;
}

#[tokio::test]
async fn a_lagging_projection_catches_up_alone_and_rejoins() {
    let pool = migrated().await;
    for _ in 0..40 {
        append(&pool, &["A", "B"]).await;
    }
    // One projection already built part of the way, another from nothing and slowly.
    let partial = tally("t_partial", None);
    ensure_slot(&pool, &partial, Slot::Live).await.unwrap();
    crate::ledger::below_horizon(&pool, 80).await;
    apply_batch(&pool, &partial, Slot::Live, 25).await.unwrap();
    let slow = Tally {
        pause: Duration::from_millis(30),
        ..tally("t_slow", None)
    };
    let task = tokio::spawn(
        engine(
            &pool,
            vec![
                Arc::new(tally("t_fresh", Some(ONLY_A))),
                Arc::new(partial),
                Arc::new(slow),
            ],
        )
        // Small batches: the laggards need many of them.
        .with_batch_limit(7)
        .run(),
    );
    for _ in 0..20 {
        append(&pool, &["A", "B"]).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    caught_up(&pool, &["t_fresh", "t_partial", "t_slow"]).await;
    // Then all three follow the feed together.
    for _ in 0..10 {
        append(&pool, &["B", "A"]).await;
    }
    caught_up(&pool, &["t_fresh", "t_partial", "t_slow"]).await;
    task.abort();
    assert_exact(&pool, "t_fresh", Some(ONLY_A)).await;
    assert_exact(&pool, "t_partial", None).await;
    assert_exact(&pool, "t_slow", None).await;
}

#[tokio::test]
async fn a_rebuild_swapped_in_under_the_group_loses_and_repeats_nothing() {
    let pool = migrated().await;
    let task = tokio::spawn(
        engine(
            &pool,
            vec![
                Arc::new(tally("t_one", None)),
                Arc::new(tally("t_two", Some(ONLY_A))),
            ],
        )
        .run(),
    );
    let appending = {
        let pool = pool.clone();
        tokio::spawn(async move {
            for _ in 0..60 {
                append(&pool, &["A", "B"]).await;
            }
        })
    };
    let rebuilt = Tally {
        engine: "rebuild",
        ..tally("t_two", Some(ONLY_A))
    };
    imi_projections::rebuild::rebuild(&pool, &rebuilt, |_| {})
        .await
        .unwrap();
    appending.await.unwrap();
    append(&pool, &["A"]).await;
    caught_up(&pool, &["t_one", "t_two"]).await;
    task.abort();
    assert_exact(&pool, "t_one", None).await;
    assert_exact(&pool, "t_two", Some(ONLY_A)).await;
}

#[tokio::test]
async fn a_second_engine_stands_by_and_takes_over_when_the_first_stops() {
    let pool = migrated().await;
    let set = |label: &'static str| -> Vec<Arc<dyn Projection>> {
        vec![
            Arc::new(Tally {
                engine: label,
                ..tally("t_x", None)
            }),
            Arc::new(Tally {
                engine: label,
                ..tally("t_y", Some(ONLY_A))
            }),
        ]
    };
    // Separate lock connections: as two processes would.
    let (stop_one, stopped_one) = watch::channel(false);
    let one = tokio::spawn(
        engine(&pool, set("one"))
            .with_locks(Arc::new(ActiveLocks::new(pool.clone())))
            .with_stop(stopped_one)
            .run(),
    );
    append(&pool, &["A", "B"]).await;
    caught_up(&pool, &["t_x", "t_y"]).await;
    let two = tokio::spawn(
        engine(&pool, set("two"))
            .with_locks(Arc::new(ActiveLocks::new(pool.clone())))
            .run(),
    );
    for _ in 0..10 {
        append(&pool, &["A", "B"]).await;
    }
    caught_up(&pool, &["t_x", "t_y"]).await;
    for name in ["t_x", "t_y"] {
        let engines: Vec<String> =
            sqlx::query_scalar(&format!("SELECT DISTINCT engine FROM {name}.applied"))
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(engines, vec!["one".to_string()], "the second stands by");
    }
    stop_one.send(true).unwrap();
    one.await.unwrap().expect("a stopped engine returns Ok");
    for _ in 0..10 {
        append(&pool, &["A", "B"]).await;
    }
    caught_up(&pool, &["t_x", "t_y"]).await;
    two.abort();
    for name in ["t_x", "t_y"] {
        let engines: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT DISTINCT engine FROM {name}.applied ORDER BY 1"
        ))
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(engines, vec!["one", "two"], "the standby took over {name}");
    }
    assert_exact(&pool, "t_x", None).await;
    assert_exact(&pool, "t_y", Some(ONLY_A)).await;
}

/// A small deterministic generator (xorshift), so a failing interleaving can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test]
async fn no_event_is_skipped_or_applied_twice_under_concurrent_appends() {
    // One lane (one transaction for all), two (one shared, one alone), three (each alone).
    // And three that merge after every round that read 3 or more (of at most 5).
    for (lanes, merge_at, seed) in [
        (1, 0, 0x9e37_79b9_7f4a_7c15u64),
        (2, 0, 0xdead_beef_cafe_f00d),
        (3, 0, 42),
        (3, 3, 7),
    ] {
        let pool = migrated().await;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(
            engine(
                &pool,
                vec![
                    Arc::new(tally("t_all", None)),
                    Arc::new(tally("t_a", Some(ONLY_A))),
                    Arc::new(tally("t_b", Some(ONLY_B))),
                ],
            )
            .with_batch_limit(5)
            .with_lanes(lanes)
            .with_merge_at(merge_at)
            .with_stop(stopped)
            .run(),
        );
        // Several writers, each committing transactions of several events, some held open
        // for a while: positions are handed out at insert, so commits land out of order.
        let mut writers = Vec::new();
        for w in 0..4u64 {
            let pool = pool.clone();
            let mut rng = Rng(seed ^ (w + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
            writers.push(tokio::spawn(async move {
                for _ in 0..15 {
                    let mut tx = pool.begin().await.unwrap();
                    for _ in 0..=rng.below(4) {
                        let t = ["A", "B", "C"][rng.below(3) as usize];
                        sqlx::query(
                            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                             VALUES ($1, gen_random_uuid()::text, 1, 'Happened', '1', '{}', '{}')",
                        )
                        .bind(t)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    }
                    tokio::time::sleep(Duration::from_millis(rng.below(15))).await;
                    if rng.below(8) == 0 {
                        tx.rollback().await.unwrap();
                    } else {
                        tx.commit().await.unwrap();
                    }
                }
            }));
        }
        for w in writers {
            w.await.unwrap();
        }
        caught_up(&pool, &["t_all", "t_a", "t_b"]).await;
        stop.send(true).unwrap();
        task.await.unwrap().unwrap();
        assert_exact(&pool, "t_all", None).await;
        assert_exact(&pool, "t_a", Some(ONLY_A)).await;
        assert_exact(&pool, "t_b", Some(ONLY_B)).await;
        // And a rebuild from zero holds the same.
        let before: Vec<i64> = sqlx::query_scalar("SELECT position FROM t_all.applied ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
        imi_projections::rebuild::rebuild(&pool, &tally("t_all", None), |_| {})
            .await
            .unwrap();
        let after: Vec<i64> = sqlx::query_scalar("SELECT position FROM t_all.applied ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(
            before, after,
            "seed {seed:#x}: the engine's result equals a rebuild"
        );
    }
}

#[tokio::test]
async fn a_waiter_is_woken_when_the_engine_applies_its_event() {
    let pool = migrated().await;
    let task = tokio::spawn(engine(&pool, vec![Arc::new(tally("t_w", None))]).run());
    append(&pool, &["A"]).await;
    caught_up(&pool, &["t_w"]).await;
    append(&pool, &["B"]).await;
    let target = feed_end(&pool).await;
    let waited =
        imi_projections::runner::wait_for(&pool, &["t_w"], target, Duration::from_secs(30))
            .await
            .unwrap();
    assert!(waited);
    assert!(checkpoint_of(&pool, "t_w").await >= Some(target));
    // A projection nobody applies times out.
    let waited =
        imi_projections::runner::wait_for(&pool, &["t_none"], target, Duration::from_millis(50))
            .await
            .unwrap();
    assert!(!waited);
    task.abort();
}

#[tokio::test]
async fn a_waiter_trusts_what_this_process_applied_only_in_its_own_database_and_not_for_ever() {
    use imi_projections::runner::wait_for;
    use imi_store::wake::{committed_here, not_applied_here, projections_moved_to};
    let (here, other) = (migrated().await, migrated().await);
    // The other database's event first: this process's record of `here` then stands past it.
    append(&other, &["A"]).await;
    let other_end = feed_end(&other).await;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(
        engine(&here, vec![Arc::new(tally("t_w", None))])
            .with_stop(stopped)
            .run(),
    );
    append(&here, &["A"]).await;
    let target = feed_end(&here).await;
    assert!(target > other_end);
    assert!(wait_for(&here, &["t_w"], target, Duration::from_secs(30))
        .await
        .unwrap());
    assert!(committed_here(&here, "t_w") >= Some(target));
    // Nobody applies t_w in the other database: what this process applied here says nothing.
    assert_eq!(committed_here(&other, "t_w"), None);
    let waited = wait_for(&other, &["t_w"], other_end, Duration::from_millis(300));
    assert!(!waited.await.unwrap());
    // Stopped, the engine no longer answers for t_w.
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
    assert_eq!(committed_here(&here, "t_w"), None);
    // A stale record (as when another process took t_w over) does not hide what the database
    // holds: the waiter asks it again soon.
    projections_moved_to(&here, ["t_w"], FeedPosition::START);
    let waited = wait_for(&here, &["t_w"], target, Duration::from_secs(5));
    assert!(waited.await.unwrap());
    not_applied_here(&here, "t_w");
}

#[tokio::test]
async fn a_rebuild_counts_its_progress_against_the_events_its_projection_reads() {
    let pool = migrated().await;
    // 3 events of the type read among 7 it skips.
    append(&pool, &["A", "B", "B", "A", "B", "B", "A", "B", "B", "B"]).await;
    // The feed shows an event once no older transaction on the (shared) server may still
    // commit before it; until then a rebuild would end early. Wait for all ten.
    feed_shows(&pool, 10).await;
    let only_a = tally("t_a", Some(&["A"]));
    assert_eq!(
        imi_projections::rebuild::events_read_by(&pool, &only_a)
            .await
            .unwrap(),
        3
    );
    let mut seen = Vec::new();
    let report = imi_projections::rebuild::rebuild(&pool, &only_a, |p| seen.push(p))
        .await
        .unwrap();
    let last = seen.last().expect("progress after each batch");
    assert_eq!((last.events_read, last.events_to_read), (3, 3));
    assert_eq!(
        last.events_applied, 10,
        "the checkpoint moves past every event"
    );
    assert_eq!((report.events_read, report.events_applied), (3, 10));
    // A projection of every type counts every event.
    let all = tally("t_all", None);
    assert_eq!(
        imi_projections::rebuild::events_read_by(&pool, &all)
            .await
            .unwrap(),
        10
    );
}

#[tokio::test]
async fn a_rebuild_overtaken_while_it_builds_its_reader_indexes_catches_up_before_it_swaps_in() {
    let pool = migrated().await;
    // The reader index's expression waits for lock 4242 when evaluated in a shadow (as the
    // index is built), so the test decides how long the rebuild spends on it.
    sqlx::query(
        "CREATE FUNCTION public.held_in_build(p bigint) RETURNS bigint IMMUTABLE LANGUAGE plpgsql
         AS $$ BEGIN
           IF current_setting('search_path') LIKE '%\\_\\_build%' THEN
             PERFORM pg_advisory_xact_lock_shared(4242);
           END IF;
           RETURN p;
         END $$",
    )
    .execute(&pool)
    .await
    .unwrap();
    let indexed = || Tally {
        tables: concat!(
            "CREATE TABLE applied (position bigint PRIMARY KEY, aggregate_type text NOT NULL,
                                   engine text NOT NULL);\n",
            "-- Indexes for readers only\n",
            "CREATE INDEX applied_held ON applied (public.held_in_build(position));\n"
        ),
        ..tally("t_indexed", None)
    };
    let task = tokio::spawn(engine(&pool, vec![Arc::new(indexed())]).run());
    append(&pool, &["A", "B", "A"]).await;
    caught_up(&pool, &["t_indexed"]).await;

    let mut holder = pool.acquire().await.unwrap().detach();
    sqlx::query("SELECT pg_advisory_lock(4242)")
        .execute(&mut holder)
        .await
        .unwrap();
    let rebuilding = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let rebuilt = Tally {
                engine: "rebuild",
                ..indexed()
            };
            imi_projections::rebuild::rebuild(&pool, &rebuilt, |_| {}).await
        })
    };
    // The shadow is full, then its index waits: the live slot moves on meanwhile.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
        == 0
    {
        assert!(tokio::time::Instant::now() < deadline, "no index waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shadow: Option<(i64, i64)> = sqlx::query_as(
        "SELECT xid, position FROM projections WHERE name = 't_indexed' AND slot = 'shadow'",
    )
    .fetch_optional(&pool)
    .await
    .unwrap();
    let end = feed_end(&pool).await;
    assert_eq!(
        shadow,
        Some((end.xid, end.position)),
        "the index is built once the shadow has caught up"
    );
    append(&pool, &["B", "A"]).await;
    caught_up(&pool, &["t_indexed"]).await;
    let live_before_swap = checkpoint_of(&pool, "t_indexed").await.unwrap();
    sqlx::query("SELECT pg_advisory_unlock(4242)")
        .execute(&mut holder)
        .await
        .unwrap();

    let report = rebuilding.await.unwrap().unwrap();
    assert!(
        report.at >= live_before_swap,
        "swapped in at {:?}, older than the live slot's {live_before_swap:?}",
        report.at
    );
    append(&pool, &["A"]).await;
    caught_up(&pool, &["t_indexed"]).await;
    task.abort();
    assert_exact(&pool, "t_indexed", None).await;
    let engines: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT engine FROM t_indexed.applied ORDER BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(engines, ["one", "rebuild"], "the rebuilt tables serve");
    let index: Option<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 't_indexed'
           AND indexname = 'applied_held'",
    )
    .fetch_optional(&pool)
    .await
    .unwrap();
    assert_eq!(index.as_deref(), Some("applied_held"));
}

#[tokio::test]
async fn a_rebuild_whose_batch_stalls_stops_with_an_error_and_swaps_nothing_in() {
    let pool = migrated().await;
    append(&pool, &["A", "A"]).await;
    // Both readable from the feed, so that the rebuild's first batch holds them.
    feed_shows(&pool, 2).await;
    let mut slow = tally("t_stall", None);
    slow.pause = Duration::from_secs(5);
    let options = imi_projections::rebuild::RebuildOptions {
        stall: Duration::from_millis(200),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let error = imi_projections::rebuild::rebuild_with(&pool, &slow, options, |_| {})
        .await
        .expect_err("a stalled batch ends the rebuild");
    assert!(error.to_string().contains("took more than"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it did not wait"
    );
    let live: Option<i64> = sqlx::query_scalar(
        "SELECT position FROM projections WHERE name = 't_stall' AND slot = 'live'",
    )
    .fetch_optional(&pool)
    .await
    .unwrap();
    assert_eq!(live, None, "nothing was swapped in");
    // The same rebuild with time enough completes.
    slow.pause = Duration::ZERO;
    let report = imi_projections::rebuild::rebuild(&pool, &slow, |_| {})
        .await
        .unwrap();
    assert!(report.events_applied >= 2);
}

#[tokio::test]
async fn a_group_rebuild_whose_member_fails_to_write_swaps_nothing_in_and_builds_on_a_second_run() {
    let pool = migrated().await;
    append(&pool, &["A", "A", "A", "B"]).await;
    feed_shows(&pool, 4).await;
    let first = tally("t_group_first", Some(&["A"]));
    let second = tally("t_group_second", Some(&["A"]));
    second.fail_writes.store(true, Ordering::SeqCst);
    let options = imi_projections::rebuild::RebuildOptions {
        batch: 2,
        ..Default::default()
    };
    assert!(
        options.apart,
        "members apply each in a transaction of their own"
    );
    let error =
        imi_projections::rebuild::rebuild_together(&pool, &[&first, &second], options, |_| {})
            .await
            .expect_err("the second member's writes fail");
    assert!(error.to_string().contains("division by zero"), "{error}");
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM projections WHERE name LIKE 't_group_%' AND slot = 'live'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(live, 0, "nothing was swapped in");
    // The first member's batch committed on its own: the two stand apart.
    let shadows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT name, position FROM projections WHERE name LIKE 't_group_%' AND slot = 'shadow'
          ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(shadows.len(), 2);
    assert!(shadows[0].1 > shadows[1].1, "{shadows:?}");

    second.fail_writes.store(false, Ordering::SeqCst);
    let reports =
        imi_projections::rebuild::rebuild_together(&pool, &[&first, &second], options, |_| {})
            .await
            .unwrap();
    for (name, report) in ["t_group_first", "t_group_second"].iter().zip(&reports) {
        assert_eq!(report.events_applied, 4, "{name}");
        assert_eq!(report.events_read, 3, "{name}");
        let applied: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT position FROM {name}.applied ORDER BY position"
        ))
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(applied.len(), 3, "{name}: each A once, the B not at all");
    }
}

#[tokio::test]
async fn an_event_held_above_the_horizon_is_applied_once_it_passes_without_another_wake() {
    let pool = migrated().await;
    append(&pool, &["A"]).await;
    let (tick, wake) = watch::channel(0u64);
    let (stop, stopped) = watch::channel(false);
    // Nothing but a wake or an event seen waiting above the horizon makes it look again soon.
    let task = tokio::spawn(
        engine(&pool, vec![Arc::new(tally("t_held", None))])
            .with_wake(wake)
            .with_stop(stopped)
            .with_max_poll(Duration::from_secs(3_600))
            .run(),
    );
    caught_up(&pool, &["t_held"]).await;
    // Idle, the engine looks less and less often (5 ms doubling): after 4 s, not again before
    // some 2.5 s.
    tokio::time::sleep(Duration::from_secs(4)).await;
    // A transaction that writes, though no event, holds the horizon while an event commits.
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("CREATE TEMP TABLE holding (x int)")
        .execute(&mut *holder)
        .await
        .unwrap();
    append(&pool, &["A"]).await;
    tick.send_modify(|n| *n += 1);
    // The engine looks, finds the event above the horizon, and applies nothing yet.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_ne!(
        checkpoint_of(&pool, "t_held").await,
        Some(feed_end(&pool).await),
        "the event was read above the horizon"
    );
    // The holder ends without waking anyone: the engine, which saw the event waiting, looks
    // again within milliseconds, not at its next idle look.
    holder.commit().await.unwrap();
    tokio::time::timeout(Duration::from_millis(1_500), caught_up(&pool, &["t_held"]))
        .await
        .expect("the held event was applied soon after the horizon passed it");
    stop.send(true).unwrap();
    task.await.unwrap().expect("a stopped engine returns Ok");
    assert_exact(&pool, "t_held", None).await;
}
