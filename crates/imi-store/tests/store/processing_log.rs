//! The processing log is append-only and hash-chained per exchange; `processing_log::verify`
//! finds any change made around its triggers.

use crate::support::migrated;
use imi_store::processing_log::{self, Filter, Kind, Processing};

fn reading(exchange: &str, user: &str, fields: &[&str]) -> Processing {
    Processing {
        exchange: exchange.to_string(),
        kind: Kind::Read,
        operation: "request.content".to_string(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        level: Some("FullWithPersonalData".to_string()),
        acting_user: format!("user:{user}"),
        acting_authority: Some("de-ca".to_string()),
    }
}

async fn tamper(pool: &sqlx::PgPool, sql: &str) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE processing_log DISABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
    sqlx::query("ALTER TABLE processing_log ENABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn entries_chain_per_exchange_and_read_back() {
    let pool = migrated().await;
    processing_log::record(&pool, &reading("InformationRequest/r1", "u1", &["subject"]))
        .await
        .unwrap();
    processing_log::record(&pool, &reading("Alert/a1", "u2", &["serviceProvider"]))
        .await
        .unwrap();
    processing_log::record(
        &pool,
        &reading("InformationRequest/r1", "u2", &["answers", "subject"]),
    )
    .await
    .unwrap();
    let report = processing_log::verify(&pool).await.unwrap();
    assert_eq!((report.entries_checked, report.exchanges_checked), (3, 2));
    assert_eq!(report.first_broken, None);
    let r1 = processing_log::entries(
        &pool,
        &Filter {
            exchange: Some("InformationRequest/r1".into()),
            limit: 10,
            ..Filter::default()
        },
    )
    .await
    .unwrap();
    let seen: Vec<(i64, &str)> = r1
        .iter()
        .map(|e| (e.sequence, e.acting_user.as_str()))
        .collect();
    assert_eq!(seen, [(1, "user:u1"), (2, "user:u2")]);
    assert_eq!(r1[1].fields, ["answers", "subject"]);
    let by_u2 = processing_log::entries(
        &pool,
        &Filter {
            acting_user: Some("user:u2".into()),
            limit: 10,
            ..Filter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(by_u2.len(), 2);
}

#[tokio::test]
async fn the_log_refuses_changes_and_its_chain_finds_those_made_around_it() {
    let pool = migrated().await;
    for user in ["u1", "u2", "u3"] {
        processing_log::record(&pool, &reading("InformationRequest/r1", user, &["subject"]))
            .await
            .unwrap();
    }
    for sql in [
        "UPDATE processing_log SET acting_user = 'user:nobody'",
        "DELETE FROM processing_log",
        "TRUNCATE processing_log",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        let code = err.as_database_error().and_then(|d| d.code()).unwrap();
        assert_eq!(code, "IM002", "{sql}");
    }
    // Who read is changed: the entry's hash no longer matches.
    tamper(
        &pool,
        "UPDATE processing_log SET acting_user = 'user:nobody' WHERE sequence = 2",
    )
    .await;
    let broken = processing_log::verify(&pool).await.unwrap().first_broken;
    assert_eq!(
        broken.map(|(e, s, _)| (e, s)),
        Some(("InformationRequest/r1".to_string(), 2))
    );
    // A reading removed from the middle leaves a gap.
    let pool = migrated().await;
    for user in ["u1", "u2", "u3"] {
        processing_log::record(&pool, &reading("InformationRequest/r1", user, &["subject"]))
            .await
            .unwrap();
    }
    tamper(&pool, "DELETE FROM processing_log WHERE sequence = 2").await;
    let broken = processing_log::verify(&pool).await.unwrap().first_broken;
    assert_eq!(
        broken.map(|(e, s, _)| (e, s)),
        Some(("InformationRequest/r1".to_string(), 3))
    );
}

#[tokio::test]
async fn pruning_keeps_an_anchor_from_which_the_chain_continues_and_verifies() {
    let pool = migrated().await;
    processing_log::record(&pool, &reading("InformationRequest/r1", "u1", &["subject"]))
        .await
        .unwrap();
    processing_log::record(&pool, &reading("InformationRequest/r1", "u2", &["subject"]))
        .await
        .unwrap();
    processing_log::record(&pool, &reading("Alert/a1", "u1", &["serviceProvider"]))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let cutoff = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    processing_log::record(&pool, &reading("InformationRequest/r1", "u3", &["answers"]))
        .await
        .unwrap();

    // The older entries go; each exchange's chain keeps its last pruned entry as anchor.
    assert_eq!(processing_log::prune(&pool, cutoff).await.unwrap(), 3);
    let left = processing_log::entries(
        &pool,
        &Filter {
            limit: 10,
            ..Filter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].exchange.as_str(), left[0].sequence),
        ("InformationRequest/r1", 3)
    );
    // Nothing more to prune before the same time.
    assert_eq!(processing_log::prune(&pool, cutoff).await.unwrap(), 0);
    // New entries continue both chains: after the remaining entry, and after the anchor.
    processing_log::record(&pool, &reading("Alert/a1", "u2", &["serviceProvider"]))
        .await
        .unwrap();
    let a1 = processing_log::entries(
        &pool,
        &Filter {
            exchange: Some("Alert/a1".into()),
            limit: 10,
            ..Filter::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(a1[0].sequence, 2);
    let report = processing_log::verify(&pool).await.unwrap();
    assert_eq!(report.first_broken, None);
    assert_eq!(report.entries_checked, 2);

    // Outside pruning, nothing is deleted; while pruning, only up to an anchor.
    let err = sqlx::query("DELETE FROM processing_log")
        .execute(&pool)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("IM002")
    );
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('imi.pruning', 'on', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let err = sqlx::query("DELETE FROM processing_log WHERE exchange = 'Alert/a1'")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(
        err.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("IM002")
    );
    drop(tx);
    // A changed anchor breaks the chain that continues from it.
    sqlx::query(
        "UPDATE processing_log_anchors SET hash = sha256(hash) WHERE exchange = 'Alert/a1'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let broken = processing_log::verify(&pool)
        .await
        .unwrap()
        .first_broken
        .unwrap();
    assert_eq!((broken.0.as_str(), broken.1), ("Alert/a1", 2));
}

#[tokio::test]
async fn entries_are_pruned_three_years_after_the_longest_deletion_delay() {
    let pool = migrated().await;
    processing_log::record(&pool, &reading("InformationRequest/r1", "u1", &["subject"]))
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let months = |n: u32| now.checked_add_months(chrono::Months::new(n)).unwrap();
    // No area sets a delay here: 36 months of deletion delay, then 36 more.
    assert_eq!(
        processing_log::prune_expired(&pool, months(71))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        processing_log::prune_expired(&pool, months(73))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        processing_log::verify(&pool).await.unwrap().first_broken,
        None
    );
}
