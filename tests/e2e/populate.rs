//! `imi bench populate`: the history it writes is one the system accepts as its own.

use std::process::Command;

fn imi(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_imi"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("IMI_MASTER_KEY", "11".repeat(32))
        .env("IMI_TOKEN_SECRET", "cli-test-secret")
        .env("RUST_LOG", "warn")
        .output()
        .expect("the imi binary runs")
}

#[tokio::test]
async fn a_populated_history_verifies_folds_and_is_projected() {
    let db = imi_testkit::fresh_database().await;
    let url = db.url.clone();
    let o = tokio::task::spawn_blocking(move || {
        imi(
            &url,
            &[
                "bench",
                "populate",
                "--scale",
                "0.0005",
                "--into-database",
                &url,
            ],
        )
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{o:?}");
    assert!(out.contains("rebuild of request_monitoring"), "{out}");

    let pool = &db.pool;
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    let events = count("SELECT count(*) FROM events").await;
    assert!(events > 2_000, "a few thousand events: {events}");
    assert!(out.contains(&format!("events written: {events} ")), "{out}");
    assert_eq!(
        count("SELECT count(DISTINCT aggregate_id) FROM events WHERE aggregate_type = 'Authority'")
            .await,
        60
    );
    assert_eq!(
        count("SELECT count(*) FROM events WHERE event_type = 'UserRegistered'").await,
        60
    );
    assert_eq!(
        count(
            "SELECT count(DISTINCT aggregate_id) FROM events WHERE aggregate_type = 'InformationRequest'"
        )
        .await,
        550
    );
    assert!(count("SELECT count(*) FROM events WHERE event_type = 'ReferralConcluded'").await > 0);

    // The hash chains hold.
    let url = db.url.clone();
    let o = tokio::task::spawn_blocking(move || imi(&url, &["audit", "verify"]))
        .await
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("ok: {events} events")),
        "{o:?}"
    );

    // Every aggregate of a sample folds, through the upcasters, from its events as stored.
    let sample: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT aggregate_type, aggregate_id FROM events
          WHERE aggregate_type = 'Authority' OR aggregate_id ~ '[05]$'
             OR CASE WHEN aggregate_id ~ '^req-[0-9]+$'
                     THEN substr(aggregate_id, 5)::int >= 495 ELSE false END",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(sample.len() > 100, "{}", sample.len());
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for (aggregate_type, id) in &sample {
        let upcasters = imi_store::upcasting::upcasters(aggregate_type);
        let history = imi_store::as_of::events_of(pool, aggregate_type, id, &upcasters)
            .await
            .unwrap();
        let state = imi_projections::as_of::state(aggregate_type, &history)
            .unwrap_or_else(|e| panic!("{aggregate_type}/{id}: {e}"))
            .unwrap_or_else(|| panic!("{aggregate_type}/{id} does not fold"));
        if aggregate_type == "InformationRequest" {
            let status = status_in(&state).unwrap_or_else(|| panic!("{id}: {state}"));
            *statuses.entry(status).or_default() += 1;
        }
    }
    // Most closed, some open in several states.
    let closed = statuses.get("Closed").copied().unwrap_or(0);
    let total: usize = statuses.values().sum();
    assert!(closed * 10 > total * 8, "{statuses:?}");
    assert_eq!(statuses.len(), 7, "{statuses:?}");

    // Every projection is at the head of the log.
    let status = imi_projections::status::all(pool).await.unwrap();
    assert!(status.len() >= imi_projections::all().len(), "{status:?}");
    assert!(status.iter().all(|s| s.lag_events == 0), "{status:?}");

    // A monitoring query of a national coordinator returns its Member State's exchanges.
    let rows = imi_projections::request_monitoring::list(
        pool,
        &imi_projections::request_monitoring::RequestFilter {
            watcher: "nimic-DE".into(),
            status: None,
            area: None,
            member_state: None,
            authority: None,
            drafted_from: None,
            drafted_until: None,
            after: None,
            limit: 50,
        },
    )
    .await
    .unwrap();
    assert!(!rows.is_empty());
}

/// The request's status, wherever the state's snapshot form nests it.
fn status_in(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Object(m) => m
            .get("status")
            .and_then(|s| s.as_str().map(str::to_string))
            .or_else(|| m.values().find_map(status_in)),
        _ => None,
    }
}
