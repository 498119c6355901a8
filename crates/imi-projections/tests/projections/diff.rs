//! `imi projections diff`: a shadow build compared with the live tables at an equal
//! checkpoint finds nothing on an honest projection, names the rows of a table changed by
//! hand, keeps up with a live slot that moves, and says so when nothing moves the live slot.

use crate::directory::build;
use crate::ledger::{append, migrated, Ledger};
use crate::scene::{dump_schema, Scene};
use imi_projections::diff::diff;
use imi_projections::directory::AuthorityDirectory;
use imi_projections::runner::Runner;
use imi_projections::Projection;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

async fn shadow_slots(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM projections WHERE slot = 'shadow')
              + (SELECT count(*) FROM pg_namespace WHERE nspname LIKE '%\\_\\_build')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_honest_projection_equals_its_rebuild_and_a_hand_made_change_is_named() {
    let scene = Scene::full().await;
    let pool = &scene.pool;
    build(pool, &AuthorityDirectory).await;
    let live = dump_schema(pool, AuthorityDirectory.name()).await;

    let clean = diff(pool, &AuthorityDirectory, WAIT).await.unwrap();
    assert!(clean.is_clean(), "{clean:?}");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(clean.events_applied, events as u64);
    assert_eq!(clean.tables_compared, live.len());
    assert_eq!(shadow_slots(pool).await, 0);
    assert_eq!(dump_schema(pool, AuthorityDirectory.name()).await, live);

    // A row changed by hand and a row deleted by hand.
    sqlx::query(
        "UPDATE authority_directory.authorities SET official_name = 'Tampered'
          WHERE authority_id = 'nimic-de'",
    )
    .execute(pool)
    .await
    .unwrap();
    let deleted: String = sqlx::query_scalar(
        "DELETE FROM authority_directory.area_terms
          WHERE ctid = (SELECT min(ctid) FROM authority_directory.area_terms)
         RETURNING to_jsonb(area_terms)::text",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let found = diff(pool, &AuthorityDirectory, WAIT).await.unwrap();
    let tables: Vec<&str> = found.differences.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(tables, ["area_terms", "authorities"], "{found:?}");
    let (terms, authorities) = (&found.differences[0], &found.differences[1]);
    assert!(terms.live_only.is_empty());
    assert_eq!(terms.shadow_only.len(), 1);
    assert_eq!(
        terms.shadow_only[0],
        serde_json::from_str::<serde_json::Value>(&deleted).unwrap()
    );
    assert_eq!(authorities.live_only.len(), 1);
    assert_eq!(authorities.live_only[0]["official_name"], "Tampered");
    assert_eq!(authorities.shadow_only.len(), 1);
    assert_eq!(authorities.shadow_only[0]["authority_id"], "nimic-de");
    assert_ne!(authorities.shadow_only[0]["official_name"], "Tampered");
    assert_eq!(shadow_slots(pool).await, 0);
}

#[tokio::test]
async fn a_diff_meets_a_live_slot_that_keeps_moving() {
    let pool = migrated().await;
    append(&pool, "before", 300).await;
    let ledger = Arc::new(Ledger {
        runner: "live",
        pause: Duration::ZERO,
    });
    let runner = tokio::spawn(Runner::new(pool.clone(), ledger.clone()).run());
    let writer = {
        let pool = pool.clone();
        tokio::spawn(async move {
            for round in 0..20 {
                append(&pool, &format!("during-{round}"), 10).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let report = diff(&pool, ledger.as_ref(), WAIT).await.unwrap();
    writer.await.unwrap();
    runner.abort();
    assert!(report.is_clean(), "{report:?}");
    assert!(report.events_applied >= 300, "{report:?}");
    assert_eq!(report.at.position, {
        let at: i64 = sqlx::query_scalar(
            "SELECT position FROM events ORDER BY position OFFSET $1 - 1 LIMIT 1",
        )
        .bind(report.events_applied as i64)
        .fetch_one(&pool)
        .await
        .unwrap();
        at
    });
}

#[tokio::test]
async fn a_diff_says_when_nothing_moves_the_live_slot() {
    let pool = migrated().await;
    let ledger = Ledger {
        runner: "live",
        pause: Duration::ZERO,
    };
    append(&pool, "a", 5).await;
    build(&pool, &ledger).await;
    append(&pool, "b", 5).await;
    let refused = diff(&pool, &ledger, Duration::from_millis(200))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("projectors role"), "{refused}");
    assert_eq!(shadow_slots(&pool).await, 0);
}
