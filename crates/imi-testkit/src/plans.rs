//! The plans of statements, for tests that check a table is reached through the index on the
//! keys compared. An index serves a comparison only under its own collation, so a join of a
//! byte-order key (`COLLATE "C"`) to a key under the database's collation that named neither
//! would read the other table whole, which no result shows.

use serde_json::Value;
use sqlx::PgPool;

/// The generic plan of `sql` run with `args` (SQL literals), sequential scans disfavoured so
/// that even an empty table is read through an index wherever one can serve.
pub async fn generic_plan(pool: &PgPool, sql: &str, args: &str) -> Value {
    let mut tx = pool.begin().await.expect("begin");
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
pub fn scans_of(plan: &Value, table: &str) -> Vec<(String, String)> {
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
pub fn assert_searched_by(plan: &Value, table: &str, key: &str) {
    let scans = scans_of(plan, table);
    assert!(!scans.is_empty(), "{table} is not read: {plan:#}");
    for (node, condition) in scans {
        assert!(
            condition.contains(key),
            "{table} read by a {node} not searched by {key} ({condition:?}): {plan:#}"
        );
    }
}
