//! The outbox's statements that join it to other tables reach each table through an index on
//! the keys compared. The outbox compares its keys byte by byte (`COLLATE "C"`), the other
//! tables under the database's collation, and an index serves a comparison only under its
//! own collation: a join that named neither would read the other table whole, unnoticed by
//! any other test. The plans are the generic ones, with sequential scans disfavoured, so that
//! an empty table is still read through an index wherever one can serve.

use crate::support::Scene;
use imi_notify::sender::{notification_with_office, CLAIM};
use imi_projections::notifications::unread_count_sql;
use serde_json::Value;

/// The generic plan of `sql` run with `args`.
async fn plan_of(scene: &Scene, sql: &str, args: &str) -> Value {
    let mut tx = scene.pool().begin().await.expect("begin");
    // Without arguments, over the simple query protocol: PREPARE takes its own parameters.
    sqlx::Executor::execute(
        &mut *tx,
        format!(
            "SET LOCAL enable_seqscan = off; SET LOCAL plan_cache_mode = force_generic_plan;
             PREPARE checked AS {sql}"
        )
        .as_str(),
    )
    .await
    .expect("prepare");
    let plan: Value = sqlx::query_scalar(&format!("EXPLAIN (FORMAT JSON) EXECUTE checked({args})"))
        .fetch_one(&mut *tx)
        .await
        .expect("explain");
    sqlx::Executor::execute(&mut *tx, "DEALLOCATE checked")
        .await
        .expect("deallocate");
    plan
}

/// Each scan of `table` in `plan`: its node type and the condition its index is searched by.
fn scans_of(plan: &Value, table: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut nodes = vec![plan];
    while let Some(node) = nodes.pop() {
        match node {
            Value::Array(items) => nodes.extend(items),
            Value::Object(fields) => {
                let text = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or("");
                if fields.get("Relation Name").and_then(Value::as_str) == Some(table)
                    && text("Node Type").ends_with("Scan")
                {
                    let condition = format!("{}{}", text("Index Cond"), text("Recheck Cond"));
                    found.push((text("Node Type").to_string(), condition));
                }
                nodes.extend(fields.values());
            }
            _ => {}
        }
    }
    found
}

/// Asserts that `plan` reads `table` at least once and every time through an index searched
/// by `key`.
fn assert_searched_by(plan: &Value, table: &str, key: &str) {
    let scans = scans_of(plan, table);
    assert!(!scans.is_empty(), "{table} is not read: {plan:#}");
    for (node, condition) in scans {
        assert!(
            condition.contains(key),
            "{table} read by a {node} not searched by {key} ({condition:?}): {plan:#}"
        );
    }
}

#[tokio::test]
async fn the_senders_lookup_reaches_the_directory_through_its_key() {
    let scene = Scene::new().await;
    let plan = plan_of(&scene, &notification_with_office(), "'some-id'").await;
    assert_searched_by(&plan, "notifications", "id");
    assert_searched_by(&plan, "authorities", "authority_id");
}

#[tokio::test]
async fn the_inbox_reaches_the_users_roles_and_reads_through_their_keys() {
    let scene = Scene::new().await;
    let plan = plan_of(&scene, &unread_count_sql(), "'u', 'a', 'u', 'u'").await;
    assert_searched_by(&plan, "notifications", "recipient_authority");
    assert_searched_by(&plan, "user_roles", "authority_id");
    // The reads: by the user, or by the user and notification (as the planner guesses).
    assert_searched_by(&plan, "notification_reads", "user_id");
}

#[tokio::test]
async fn the_senders_claim_walks_the_outbox_and_finds_deliveries_by_their_keys() {
    let scene = Scene::new().await;
    let args = "'sender', 60, now(), 0, 0, '', '{sending,retry}', '{authority_directory}', 512";
    let plan = plan_of(&scene, CLAIM, args).await;
    // Each step of the walk: the next notification after the cursor, all three of its columns
    // in the index's condition (under two collations only a prefix would be).
    let walked = scans_of(&plan, "notifications");
    assert!(
        walked
            .iter()
            .any(|(_, c)| c.contains("ROW(xid, \"position\", id) > ROW(")),
        "no step of the walk searched by the whole cursor: {plan:#}"
    );
    // Its delivery, and each claim due again, looked up by notification.
    let deliveries = scans_of(&plan, "notification_deliveries");
    assert!(deliveries.len() >= 2, "{plan:#}");
    for (node, condition) in deliveries {
        assert!(
            condition.contains("notification_id = "),
            "notification_deliveries read by a {node} ({condition:?}): {plan:#}"
        );
    }
}
