//! The global feed never skips an event that commits late, and never reads past the horizon.

use crate::support::{insert, migrated};
use imi_store::feed::{self, FeedPosition};
use serde_json::json;

fn ids(events: &[feed::FeedEvent]) -> Vec<&str> {
    events.iter().map(|e| e.aggregate_id.as_str()).collect()
}

async fn read_all(pool: &sqlx::PgPool, after: FeedPosition) -> Vec<feed::FeedEvent> {
    feed::read(&mut pool.acquire().await.unwrap(), after, 1000)
        .await
        .unwrap()
}

/// Reads once at least `n` events are below the horizon (up to 10 s). The horizon is
/// cluster-wide: a transaction of another test, in another database of the server, may hold
/// it back for a moment. Reads that must come back empty need no wait: such a transaction
/// only holds more back.
async fn read_settled(pool: &sqlx::PgPool, after: FeedPosition, n: usize) -> Vec<feed::FeedEvent> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let seen = read_all(pool, after).await;
        if seen.len() >= n || std::time::Instant::now() >= deadline {
            return seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_transaction_holding_the_lower_position_that_commits_last_is_not_skipped() {
    let pool = migrated().await;
    // `early` takes the lower position but commits last.
    let mut early = pool.begin().await.unwrap();
    insert(&mut *early, "early", 1, json!({})).await.unwrap();
    let mut late = pool.begin().await.unwrap();
    insert(&mut *late, "late", 1, json!({})).await.unwrap();
    late.commit().await.unwrap();

    // A reader now must not move past `early`'s position: it sees nothing yet.
    let seen = read_all(&pool, FeedPosition::START).await;
    assert!(
        seen.is_empty(),
        "read past an open transaction: {:?}",
        ids(&seen)
    );
    // A naive `position > last` reader would have taken `late` and moved on.
    let naive: Vec<i64> = sqlx::query_scalar("SELECT position FROM events ORDER BY position")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(naive.len(), 1, "only `late` is visible to a plain reader");

    early.commit().await.unwrap();
    let seen = read_settled(&pool, FeedPosition::START, 2).await;
    assert_eq!(ids(&seen), ["early", "late"]);
    assert!(seen[0].at.position < seen[1].at.position);
}

#[tokio::test]
async fn an_older_transaction_with_a_higher_position_is_delivered_in_transaction_order() {
    let pool = migrated().await;
    // `older` gets its transaction id first but inserts after `younger`.
    let mut older = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *older)
        .await
        .unwrap();
    let mut younger = pool.begin().await.unwrap();
    insert(&mut *younger, "younger", 1, json!({}))
        .await
        .unwrap();
    insert(&mut *older, "older", 1, json!({})).await.unwrap();
    younger.commit().await.unwrap();
    assert!(read_all(&pool, FeedPosition::START).await.is_empty());
    older.commit().await.unwrap();

    let seen = read_settled(&pool, FeedPosition::START, 2).await;
    assert_eq!(ids(&seen), ["older", "younger"]);
    assert!(
        seen[0].at.position > seen[1].at.position,
        "positions are out of order"
    );
    // Resuming from the first event's checkpoint yields exactly the second.
    let rest = read_all(&pool, seen[0].at).await;
    assert_eq!(ids(&rest), ["younger"]);
    assert!(read_all(&pool, seen[1].at).await.is_empty());
}

#[tokio::test]
async fn an_open_transaction_holds_the_horizon_and_the_feed_resumes_when_it_ends() {
    let pool = migrated().await;
    insert(&pool, "before", 1, json!({})).await.unwrap();
    let mut open = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *open)
        .await
        .unwrap();
    for i in 0..5 {
        insert(&pool, &format!("after-{i}"), 1, json!({}))
            .await
            .unwrap();
    }
    let seen = read_settled(&pool, FeedPosition::START, 1).await;
    assert_eq!(
        ids(&seen),
        ["before"],
        "the horizon must stop at the open transaction"
    );
    let checkpoint = seen[0].at;
    let status = feed::status(&pool, checkpoint).await.unwrap();
    assert_eq!(status.lag_events, 5);

    open.rollback().await.unwrap();
    let rest = read_settled(&pool, checkpoint, 5).await;
    assert_eq!(
        ids(&rest),
        ["after-0", "after-1", "after-2", "after-3", "after-4"]
    );
}

/// An open transaction with a transaction id, on `pool`, as a projector's batch when
/// `projector` (declared to write no events) or as any other writer.
async fn open_writer(
    pool: &sqlx::PgPool,
    projector: bool,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = if projector {
        imi_store::pool::begin_with(pool, feed::PROJECTOR_BATCH)
            .await
            .unwrap()
    } else {
        pool.begin().await.unwrap()
    };
    sqlx::Executor::execute(
        &mut *tx,
        "CREATE TEMP TABLE IF NOT EXISTS scratch (n int); INSERT INTO scratch VALUES (1)",
    )
    .await
    .unwrap();
    tx
}

#[tokio::test]
async fn a_projectors_open_batch_does_not_hold_the_feed_back_but_another_writer_does() {
    let pool = migrated().await;
    insert(&pool, "before", 1, json!({})).await.unwrap();
    let projector = open_writer(&pool, true).await;
    insert(&pool, "during-batch", 1, json!({})).await.unwrap();
    let seen = read_settled(&pool, FeedPosition::START, 2).await;
    assert_eq!(ids(&seen), ["before", "during-batch"]);

    // The same open transaction without the declaration holds the horizon.
    let writer = open_writer(&pool, false).await;
    insert(&pool, "during-write", 1, json!({})).await.unwrap();
    let seen = read_all(&pool, FeedPosition::START).await;
    assert_eq!(ids(&seen), ["before", "during-batch"]);
    let status = feed::status(&pool, seen[1].at).await.unwrap();
    assert_eq!(status.lag_events, 1);
    writer.rollback().await.unwrap();
    let seen = read_settled(&pool, FeedPosition::START, 3).await;
    assert_eq!(ids(&seen), ["before", "during-batch", "during-write"]);
    projector.rollback().await.unwrap();
}

#[tokio::test]
async fn an_open_transaction_of_another_database_does_not_hold_the_feed_back() {
    let pool = migrated().await;
    let other = imi_testkit::fresh_database().await;
    let elsewhere = open_writer(&other.pool, false).await;
    insert(&pool, "here", 1, json!({})).await.unwrap();
    // The other database's transaction stays open all along: had it held the horizon, `here`
    // would not come within the wait.
    let seen = read_settled(&pool, FeedPosition::START, 1).await;
    assert_eq!(ids(&seen), ["here"]);
    elsewhere.rollback().await.unwrap();
}

#[tokio::test]
async fn a_transaction_declared_to_write_no_events_writes_none_and_a_writer_cannot_declare() {
    let pool = migrated().await;
    let code = |e: sqlx::Error| {
        e.as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.to_string())
    };
    let mut projector = open_writer(&pool, true).await;
    let refused = insert(&mut *projector, "sneaked", 1, json!({}))
        .await
        .unwrap_err();
    assert_eq!(code(refused).as_deref(), Some("IM003"));
    projector.rollback().await.unwrap();

    let mut writer = pool.begin().await.unwrap();
    insert(&mut *writer, "written", 1, json!({})).await.unwrap();
    let refused = sqlx::Executor::execute(&mut *writer, "SELECT imi_writes_no_events()")
        .await
        .unwrap_err();
    assert_eq!(code(refused).as_deref(), Some("IM003"));
    writer.rollback().await.unwrap();
    // A batch whose beginning fails is no batch: an error, and no transaction left open on
    // its connection (a pool of one, so that the next statement runs on that connection).
    let one = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let failed = imi_store::pool::begin_with(&one, "BEGIN; SELECT 1/0").await;
    assert_eq!(failed.err().and_then(code).as_deref(), Some("22012"));
    assert!(read_all(&one, FeedPosition::START).await.is_empty());
    insert(&one, "after the failed begin", 1, json!({}))
        .await
        .unwrap();
    assert_eq!(read_settled(&pool, FeedPosition::START, 1).await.len(), 1);
}

#[tokio::test]
async fn a_begin_cancelled_under_way_leaves_no_transaction_open_on_its_connection() {
    let pool = migrated().await;
    let one = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    // The caller stops waiting while the server runs the BEGIN's statements.
    let cancelled = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        imi_store::pool::begin_with(&one, "BEGIN; SELECT pg_sleep(0.3)"),
    )
    .await;
    assert!(cancelled.is_err(), "the begin was still under way");
    // The pool's one connection, once back, writes an event in a transaction of its own, which
    // commits: not inside the one that BEGIN opened (declared to write no events, and never
    // to be committed).
    insert(&one, "after", 1, json!({})).await.unwrap();
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = 'after'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(seen, 1, "the event committed");
}

#[tokio::test]
async fn paging_through_the_feed_yields_each_event_once_in_order() {
    let pool = migrated().await;
    // Many concurrent writers, some transactions with several events.
    let mut writers = Vec::new();
    for w in 0..8 {
        let pool = pool.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..25 {
                let mut tx = pool.begin().await.unwrap();
                for s in 1..=2 {
                    insert(&mut *tx, &format!("w{w}-{i}"), s, json!({ "s": s }))
                        .await
                        .unwrap();
                }
                tx.commit().await.unwrap();
            }
        }));
    }
    // Read while they write, in small pages. The horizon is cluster-wide, so transactions of
    // other databases on the server may hold it back for a while: read until all have arrived.
    let mut seen = Vec::new();
    let mut at = FeedPosition::START;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while seen.len() < 8 * 25 * 2 && std::time::Instant::now() < deadline {
        let page = feed::read(&mut pool.acquire().await.unwrap(), at, 7)
            .await
            .unwrap();
        if let Some(last) = page.last() {
            at = last.at;
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        seen.extend(page);
    }
    for w in writers {
        w.await.unwrap();
    }
    assert!(feed::read(&mut pool.acquire().await.unwrap(), at, 7)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(seen.len(), 8 * 25 * 2);
    let mut positions: Vec<i64> = seen.iter().map(|e| e.at.position).collect();
    positions.sort();
    positions.dedup();
    assert_eq!(positions.len(), seen.len(), "an event was delivered twice");
    assert!(seen.windows(2).all(|w| w[0].at < w[1].at));
    // Per aggregate, sequence 1 always arrives before sequence 2.
    let mut last_sequence = std::collections::HashMap::new();
    for e in &seen {
        let previous = last_sequence.insert(e.aggregate_id.clone(), e.sequence);
        assert_eq!(previous.unwrap_or(0), e.sequence - 1, "{}", e.aggregate_id);
    }
}

#[tokio::test]
async fn the_projection_engines_read_never_scans_the_whole_log() {
    let pool = migrated().await;
    // A log long enough that the planner weighs a scan against the feed's index, analyzed.
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT 'Test', 'a-' || n, 1, 'Happened', '1', '{}', '{}' FROM generate_series(1, 3000) AS n",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE events").execute(&pool).await.unwrap();
    // The statement as the engine runs it (prepared, so planned once for any parameter).
    let mut tx = pool.begin().await.unwrap();
    sqlx::Executor::execute(
        &mut *tx,
        format!(
            "SET LOCAL plan_cache_mode = force_generic_plan; PREPARE lowest AS {}",
            feed::READ_AFTER_LOWEST_SQL
        )
        .as_str(),
    )
    .await
    .unwrap();
    let plan: serde_json::Value =
        sqlx::query_scalar("EXPLAIN (FORMAT JSON) EXECUTE lowest('{p}', 1000)")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    let scans = imi_testkit::plans::scans_of(&plan, "events");
    assert!(!scans.is_empty(), "{plan:#}");
    for (node, _) in scans {
        assert_ne!(node, "Seq Scan", "the log read whole: {plan:#}");
    }
}
