//! The verifiable export and the seals: an export checks alone (by this crate and by the short
//! independent verifier in docs/audit), and names the first line that breaks; a seal finds
//! the removal of an aggregate's last events or of a whole aggregate.

use crate::support::{insert, migrated, tamper};
use imi_store::export::{export, verify_export, ExportFilter};
use imi_store::seals;
use serde_json::json;
use std::path::PathBuf;

async fn history(pool: &sqlx::PgPool) {
    // Interleaved chains, texts the hash must take byte for byte.
    for s in 1..=3 {
        insert(pool, "a", s, json!({"n": s, "text": "é ü \u{1f}"}))
            .await
            .unwrap();
        insert(pool, "b", s, json!({"amount": s * 10}))
            .await
            .unwrap();
    }
    insert(pool, "c", 1, json!({})).await.unwrap();
}

async fn exported(pool: &sqlx::PgPool, filter: &ExportFilter) -> Vec<String> {
    let mut out = Vec::new();
    export(pool, filter, &mut out).await.unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The line with one byte of its payload changed (2 → 3).
fn change_payload(line: &str) -> String {
    let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
    let payload = value["payload"].as_str().unwrap().replace('2', "3");
    assert_ne!(payload, value["payload"].as_str().unwrap());
    value["payload"] = json!(payload);
    value.to_string()
}

fn check(lines: &[String]) -> Result<(u64, u64), (u64, String)> {
    let text = lines.join("\n") + "\n";
    verify_export(text.as_bytes())
        .map(|c| (c.events, c.chains))
        .map_err(|b| (b.line, b.problem))
}

#[tokio::test]
async fn an_export_verifies_alone_and_names_the_first_broken_line() {
    let pool = migrated().await;
    history(&pool).await;
    let lines = exported(&pool, &ExportFilter::default()).await;
    assert_eq!(lines.len(), 9, "header, 7 events, trailer");
    assert_eq!(check(&lines), Ok((7, 3)));

    // A changed byte in a payload (line 4: a's second event).
    let mut changed = lines.clone();
    changed[3] = change_payload(&changed[3]);
    let (line, problem) = check(&changed).unwrap_err();
    assert_eq!(line, 4, "{problem}");
    assert!(problem.contains("hash"), "{problem}");

    // A removed line in the middle of a chain: its successor names the gap.
    let mut removed = lines.clone();
    removed.remove(3);
    let (line, problem) = check(&removed).unwrap_err();
    assert_eq!(line, 5, "{problem}");
    assert!(problem.contains("missing"), "{problem}");

    // Two lines swapped.
    let mut swapped = lines.clone();
    swapped.swap(2, 3);
    let (line, problem) = check(&swapped).unwrap_err();
    assert_eq!(line, 4, "{problem}");
    assert!(problem.contains("reordered"), "{problem}");

    // A chain's last event removed: the trailer names it.
    let mut last_gone = lines.clone();
    last_gone.remove(6); // b's third event
    let (line, problem) = check(&last_gone).unwrap_err();
    assert_eq!(line, 8, "{problem}");

    // A tail cut off.
    let truncated = lines[..5].to_vec();
    let (line, problem) = check(&truncated).unwrap_err();
    assert_eq!(line, 6, "{problem}");
    assert!(problem.contains("trailer is missing"), "{problem}");
}

#[tokio::test]
async fn an_export_since_a_position_or_of_one_aggregate_verifies_from_where_it_starts() {
    let pool = migrated().await;
    history(&pool).await;
    let third: i64 = sqlx::query_scalar("SELECT position FROM events ORDER BY position OFFSET 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    let since = exported(
        &pool,
        &ExportFilter {
            since: Some(third),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(check(&since), Ok((4, 3)));
    let one = exported(
        &pool,
        &ExportFilter {
            aggregate: Some(("Test".into(), "a".into())),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(check(&one), Ok((3, 1)));
    assert!(one.iter().all(|l| !l.contains("\"aggregate_id\":\"b\"")));
}

/// The recipe in docs/AUDIT.md is enough to write a verifier: the 30-line script there agrees.
#[tokio::test]
async fn the_independent_verifier_agrees() {
    let pool = migrated().await;
    history(&pool).await;
    let lines = exported(&pool, &ExportFilter::default()).await;
    let dir = std::env::temp_dir().join(format!("imi-export-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/audit/verify_export.py");
    let run = |lines: &[String]| {
        let file = dir.join("export.ndjson");
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
        let out = std::process::Command::new("python3")
            .arg(&script)
            .arg(&file)
            .output()
            .expect("python3 runs the verifier in docs/audit");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, said) = run(&lines);
    assert!(ok, "{said}");
    assert!(said.contains("ok: 7 events in 3 chains"), "{said}");
    let mut changed = lines.clone();
    changed[3] = change_payload(&changed[3]);
    let (ok, said) = run(&changed);
    assert!(!ok && said.starts_with("line 4:"), "{said}");
    let (ok, said) = run(&lines[..5]);
    assert!(!ok && said.contains("trailer is missing"), "{said}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn seals_chain_and_hold_while_the_log_only_grows() {
    let pool = migrated().await;
    history(&pool).await;
    let first = seals::seal(&pool).await.unwrap();
    assert_eq!((first.seal, first.heads_changed), (1, 3));
    insert(&pool, "a", 4, json!({})).await.unwrap();
    let second = seals::seal(&pool).await.unwrap();
    assert_eq!((second.seal, second.heads_changed), (2, 1));
    // Nothing new: an empty seal still chains.
    let third = seals::seal(&pool).await.unwrap();
    assert_eq!(third.heads_changed, 0);
    assert_ne!(third.hash, second.hash);
    let report = seals::verify(&pool).await.unwrap();
    assert_eq!(report.first_broken, None);
    assert_eq!((report.seals_checked, report.heads_checked), (3, 4));
    assert_eq!(report.latest, Some(third));
    // Due only when the latest is older than asked.
    assert_eq!(
        seals::seal_if_due(&pool, std::time::Duration::from_secs(3600))
            .await
            .unwrap(),
        None
    );
    assert!(seals::seal_if_due(&pool, std::time::Duration::ZERO)
        .await
        .unwrap()
        .is_some());
    // Seals are append-only.
    for sql in [
        "DELETE FROM audit_seals",
        "UPDATE audit_seal_heads SET sequence = 1",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        let code = err.as_database_error().and_then(|d| d.code()).unwrap();
        assert_eq!(code, "IM002", "{sql}");
    }
}

#[tokio::test]
async fn a_seal_names_the_removal_of_a_chains_last_event_or_of_a_whole_aggregate() {
    let pool = migrated().await;
    history(&pool).await;
    seals::seal(&pool).await.unwrap();
    // The chains alone still verify: the removal is at the end.
    tamper(
        &pool,
        "DELETE FROM events WHERE aggregate_id = 'b' AND sequence = 3",
    )
    .await;
    assert_eq!(
        imi_store::audit::verify(&pool).await.unwrap().first_broken,
        None
    );
    let (seal, problem) = seals::verify(&pool).await.unwrap().first_broken.unwrap();
    assert_eq!(seal, 1);
    assert!(
        problem.contains("Test/b sequence 3 is missing"),
        "{problem}"
    );

    let pool = migrated().await;
    history(&pool).await;
    seals::seal(&pool).await.unwrap();
    tamper(&pool, "DELETE FROM events WHERE aggregate_id = 'c'").await;
    let (_, problem) = seals::verify(&pool).await.unwrap().first_broken.unwrap();
    assert!(
        problem.contains("Test/c sequence 1 is missing"),
        "{problem}"
    );
}
