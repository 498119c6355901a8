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
    // 550 exchanges: one in 25 an alert.
    assert_eq!(
        count(
            "SELECT count(DISTINCT aggregate_id) FROM events WHERE aggregate_type = 'InformationRequest'"
        )
        .await,
        528
    );
    let alerts =
        count("SELECT count(DISTINCT aggregate_id) FROM events WHERE aggregate_type = 'Alert'")
            .await;
    assert_eq!(alerts, 22);
    // Every exchange's personal data under its own key, every user's under theirs.
    assert_eq!(count("SELECT count(*) FROM data_keys").await, 550 + 60);
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
          WHERE aggregate_type IN ('Authority', 'Alert') OR aggregate_id ~ '[05]$'
             OR CASE WHEN aggregate_id ~ '^req-[0-9]+$'
                     THEN substr(aggregate_id, 5)::int >= 495 ELSE false END",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(sample.len() > 100, "{}", sample.len());
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    let mut alert_statuses = std::collections::BTreeMap::<String, usize>::new();
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
        if aggregate_type == "Alert" {
            let status = status_in(&state).unwrap_or_else(|| panic!("{id}: {state}"));
            *alert_statuses.entry(status).or_default() += 1;
        }
    }
    // Most closed, some open in several states.
    let closed = statuses.get("Closed").copied().unwrap_or(0);
    let total: usize = statuses.values().sum();
    assert!(closed * 10 > total * 8, "{statuses:?}");
    assert_eq!(statuses.len(), 7, "{statuses:?}");

    // Alerts: most closed, some withdrawn, the recent ones still open.
    assert_eq!(alert_statuses.values().sum::<usize>(), 22);
    let alerts_closed = alert_statuses.get("Closed").copied().unwrap_or(0);
    assert!(alerts_closed * 10 > 22 * 7, "{alert_statuses:?}");
    assert!(
        alert_statuses.contains_key("Withdrawn"),
        "{alert_statuses:?}"
    );
    assert!(
        alert_statuses
            .keys()
            .any(|s| s != "Closed" && s != "Withdrawn"),
        "{alert_statuses:?}"
    );

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

    // The alert read models hold every alert, as the events say.
    assert_eq!(
        count("SELECT count(*) FROM alert_overview.alerts").await,
        alerts
    );
    assert_eq!(
        count("SELECT count(*) FROM alert_full.alerts").await,
        alerts
    );
    assert_eq!(
        count("SELECT count(*) FROM alert_statistics.facts").await,
        alerts
    );
    assert_eq!(
        count("SELECT count(*) FROM alert_overview.alerts WHERE status = 'Closed'").await as usize,
        alerts_closed
    );
    let by_state = imi_projections::alert_statistics::by_member_state(pool, None)
        .await
        .unwrap();
    assert!(!by_state.is_empty());
    let broadcast = count(
        "SELECT count(DISTINCT aggregate_id) FROM events WHERE event_type = 'AlertBroadcast'",
    )
    .await;
    assert!(broadcast > 0);
    assert_eq!(by_state.iter().map(|s| s.sent).sum::<i64>(), broadcast);
    let recipients = count(
        "SELECT coalesce(sum((SELECT count(*) FROM json_object_keys(payload -> 'AlertBroadcast' -> 'member_states'))), 0)::bigint
           FROM events WHERE event_type = 'AlertBroadcast'",
    )
    .await;
    assert_eq!(by_state.iter().map(|s| s.received).sum::<i64>(), recipients);
    assert_eq!(
        by_state.iter().map(|s| s.withdrawn).sum::<i64>() as usize,
        alert_statuses.get("Withdrawn").copied().unwrap_or(0)
    );
    // A recipient postbox sees the alerts broadcast to its Member State.
    let queued = count("SELECT count(*) FROM alert_queue.queue").await;
    assert!(queued > 0, "open alerts wait in queues");
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
