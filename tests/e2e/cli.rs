//! The `imi` binary as an operator uses it: migrate, seed, projections, audit.

use std::process::{Command, Output};

fn imi(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imi"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("IMI_MASTER_KEY", "11".repeat(32))
        .env("IMI_TOKEN_SECRET", "cli-test-secret")
        .env("RUST_LOG", "warn")
        .output()
        .expect("the imi binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn an_operator_migrates_seeds_rebuilds_and_verifies() {
    let db = imi_testkit::fresh_database().await;
    let url = db.url.clone();
    let run = move |args: &'static [&'static str]| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || imi(&url, args))
                .await
                .unwrap()
        }
    };

    let o = run(&["migrate"]).await;
    assert!(o.status.success(), "{o:?}");

    let o = run(&["seed", "--demo"]).await;
    assert!(o.status.success(), "{o:?}");
    assert!(
        stdout(&o).contains("30 authorities registered"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("imi-demo-2026"));
    // Seeding again changes nothing.
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let o = run(&["seed", "--demo"]).await;
    assert!(
        stdout(&o).contains("0 authorities registered"),
        "{}",
        stdout(&o)
    );
    let again: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(events, again, "reseeding is idempotent");

    let o = run(&["projections", "list"]).await;
    assert!(stdout(&o).contains("authority_directory"));

    // The rebuild counts the Authority events it reads, against the whole log it moves past.
    let authority_events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Authority'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(authority_events < events);
    let o = run(&["projections", "rebuild", "authority_directory"]).await;
    assert!(o.status.success(), "{o:?}");
    assert!(
        stdout(&o).contains(&format!(
            "{authority_events} events read ({events} in the log)"
        )),
        "{}",
        stdout(&o)
    );
    let listed: i64 = sqlx::query_scalar("SELECT count(*) FROM authority_directory.authorities")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        listed, 40,
        "30 national coordinators and the demo's 10 authorities"
    );

    let o = run(&["projections", "status"]).await;
    assert!(o.status.success());
    assert!(stdout(&o).contains("authority_directory"));

    // A projection equals a rebuild of it; a row changed by hand is named, and a rebuild
    // repairs it.
    let o = run(&["projections", "diff", "authority_directory"]).await;
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("equal a rebuild"), "{}", stdout(&o));
    sqlx::query(
        "UPDATE authority_directory.authorities SET official_name = 'Tampered'
          WHERE authority_id = 'nimic-fr'",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let o = run(&["projections", "diff", "authority_directory"]).await;
    assert!(!o.status.success(), "{o:?}");
    let shown = stdout(&o);
    assert!(
        shown.contains(
            "authority_directory.authorities: 1 rows only in the live table, 1 only in a rebuild"
        ),
        "{shown}"
    );
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("- ") && l.contains("Tampered")),
        "{shown}"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("differs from a rebuild"),
        "{o:?}"
    );
    let o = run(&["projections", "rebuild", "authority_directory"]).await;
    assert!(o.status.success(), "{o:?}");
    let o = run(&["projections", "diff", "authority_directory"]).await;
    assert!(o.status.success(), "{o:?}");

    let o = run(&["projections", "rebuild", "no_such_view"]).await;
    assert!(!o.status.success());

    let o = run(&["audit", "verify"]).await;
    assert!(o.status.success(), "{o:?}");
    assert!(
        stdout(&o).contains(&format!("ok: {events} events")),
        "{}",
        stdout(&o)
    );
    // Seeding wrote the coordinators' users' identities: recorded, and chained.
    assert!(
        stdout(&o).contains("processing log:") && stdout(&o).contains("0 seals"),
        "{}",
        stdout(&o)
    );
    // An exchange's history, oldest first, with who acted; an unknown one is refused.
    let o = run(&["audit", "history", "Authority/nimic-de"]).await;
    assert!(o.status.success(), "{o:?}");
    let first = stdout(&o).lines().next().unwrap_or_default().to_string();
    assert!(first.contains("Authority/nimic-de #1 "), "{first}");
    let o = run(&[
        "audit",
        "history",
        "Authority/nimic-de",
        "--json",
        "--limit",
        "1",
    ])
    .await;
    let line: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(
        (line["sequence"].as_i64(), line["prev_hash"].is_null()),
        (Some(1), true)
    );
    let o = run(&["audit", "history", "Authority/none"]).await;
    assert!(!o.status.success());
    // An auditor's export verifies alone, without the database; a changed line is named.
    let dir = std::env::temp_dir().join(format!("imi-cli-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.ndjson");
    let path: &'static str = Box::leak(file.to_string_lossy().into_owned().into_boxed_str());
    let o = run(Box::leak(Box::new(["audit", "export", "--output", path]))).await;
    assert!(o.status.success(), "{o:?}");
    assert!(
        stdout(&o).contains(&format!("exported {events} events")),
        "{}",
        stdout(&o)
    );
    let o = imi(
        "postgres://nobody@127.0.0.1:1/none",
        &["audit", "verify", "--file", path],
    );
    assert!(o.status.success(), "{o:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("nimic-fr", "nimic-FR", 1)).unwrap();
    let o = imi(
        "postgres://nobody@127.0.0.1:1/none",
        &["audit", "verify", "--file", path],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("line "), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
    // A seal, printed for publication; then verify checks it.
    let o = run(&["audit", "seal"]).await;
    assert!(o.status.success(), "{o:?}");
    assert!(
        // 30 national coordinators; the demo's 10 authorities and 18 exchanges.
        stdout(&o).starts_with("seal 1: 58 chain heads"),
        "{}",
        stdout(&o)
    );
    let o = run(&["audit", "verify"]).await;
    assert!(
        stdout(&o).contains("1 seals over 58 chain heads hold"),
        "{}",
        stdout(&o)
    );
    // Removing an authority's last event leaves its chain valid: the seal names it.
    sqlx::raw_sql(
        "BEGIN;
         ALTER TABLE events DISABLE TRIGGER USER;
         DELETE FROM events WHERE aggregate_id = 'nimic-at'
            AND sequence = (SELECT max(sequence) FROM events WHERE aggregate_id = 'nimic-at');
         ALTER TABLE events ENABLE TRIGGER USER;
         COMMIT;",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let o = run(&["audit", "verify"]).await;
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("seal 1 no longer holds: Authority/nimic-at"),
        "{err}"
    );
    let o = run(&["audit", "reads", "--exchange", "InformationRequest/none"]).await;
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), "");

    // A change made around the append-only trigger is named.
    sqlx::raw_sql(
        "BEGIN;
         ALTER TABLE events DISABLE TRIGGER USER;
         UPDATE events SET metadata = '{\"acting_user\": \"user:someone-else\"}'
          WHERE aggregate_id = 'nimic-fr' AND sequence = 1;
         ALTER TABLE events ENABLE TRIGGER USER;
         COMMIT;",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let o = run(&["audit", "verify"]).await;
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Authority/nimic-fr sequence 1"), "{err}");
}

#[tokio::test]
async fn an_operator_moves_a_training_clock_and_production_refuses_a_training_database() {
    let db = imi_testkit::fresh_database().await;
    let url = db.url.clone();
    let run = move |args: &'static [&'static str]| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || imi(&url, args))
                .await
                .unwrap()
        }
    };
    let stderr = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();

    let o = run(&["clock", "show"]).await;
    assert!(stdout(&o).contains("production database"), "{o:?}");
    let o = run(&["clock", "advance", "7d"]).await;
    assert!(!o.status.success(), "{o:?}");
    assert!(stderr(&o).contains("never ran in training mode"), "{o:?}");

    imi_store::training::enter(&db.pool).await.unwrap();
    let o = run(&["clock", "advance", "7d"]).await;
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("clock +7d"), "{}", stdout(&o));
    for o in [
        run(&["clock", "advance", "-1d"]).await,
        run(&["clock", "advance", "0s"]).await,
    ] {
        assert!(stderr(&o).contains("never moves backward"), "{o:?}");
    }
    let o = run(&["clock", "show"]).await;
    assert!(stdout(&o).contains("clock +7d"), "{}", stdout(&o));

    let o = run(&["serve", "--mode", "production", "--bind", "127.0.0.1:0"]).await;
    assert!(!o.status.success(), "{o:?}");
    assert!(stderr(&o).contains("ran in training mode"), "{o:?}");
}
