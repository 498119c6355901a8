//! Queries read from a streaming standby: a real one, copied from the test server and started
//! from the same server binaries. A mutation answers the WAL position its reads must see
//! (`extensions.readAfter` and the `IMI-Read-After` header) once the standby has replayed it;
//! a query naming that position reads the standby once it has replayed it, else the primary.
//! With the standby's replay paused, a query without the position shows that reads really go
//! to the standby (the write is not there yet), and one with it falls back to the primary.

use crate::harness::start_with_replica;
use crate::operations::{parse_metrics, sample};
use serde_json::{json, Value};
use sqlx::Connection;
use std::time::Duration;

const LOGIN: &str = "mutation($login: String!, $password: String!) {
  login(login: $login, password: $password) { token }
}";

const FIND: &str = "query($text: String, $memberState: String) {
  authorities(text: $text, memberState: $memberState, first: 10) {
    edges { node { id informalTitle { text language } } }
  }
}";

const SET_TITLE: &str = "mutation($input: SetInformalTitleInput!) {
  setInformalTitle(input: $input) { waited }
}";

/// The longest a read waits for the standby here (short: the paused case waits it out).
const MAX_WAIT: Duration = Duration::from_millis(300);

/// POSTs a GraphQL request, naming `read_after` when given; the answer's header and body.
async fn post(
    base: &str,
    token: Option<&str>,
    read_after: Option<&str>,
    query: &str,
    variables: Value,
) -> (reqwest::StatusCode, Option<String>, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(position) = read_after {
        request = request.header("IMI-Read-After", position);
    }
    let response = request.send().await.expect("send");
    let status = response.status();
    let header = response
        .headers()
        .get("imi-read-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, header, response.json().await.expect("JSON"))
}

/// The ids found by a directory search.
fn found(answer: &Value) -> Vec<String> {
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["authorities"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

/// Sets Belgium's French informal title, waiting for the directory; the position answered.
async fn set_title(base: &str, token: &str, title: &str) -> String {
    let (status, header, answer) = post(
        base,
        Some(token),
        None,
        SET_TITLE,
        json!({ "input": {
            "authorityId": "nimic-be", "language": "fr", "title": title,
            "waitFor": ["authority_directory"],
        }}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["errors"].is_null(), "{answer}");
    assert_eq!(
        answer["data"]["setInformalTitle"]["waited"], true,
        "{answer}"
    );
    let position = answer["extensions"]["readAfter"]
        .as_str()
        .expect("the position to read after")
        .to_string();
    assert_eq!(header.as_deref(), Some(position.as_str()), "{answer}");
    position
}

#[tokio::test]
async fn queries_read_the_standby_once_it_replayed_the_clients_write() {
    let service = start_with_replica(MAX_WAIT).await;
    let base = service.base.clone();
    let standby_url = {
        let standby = service.standby.as_ref().expect("a standby");
        let db = service
            .services
            .pool
            .connect_options()
            .get_database()
            .map(str::to_string);
        standby.url("postgres", &db.expect("a database name"))
    };
    let be = service
        .seed_national_coordinator("BE", "Service public fédéral Economie")
        .await;
    let (_, _, answer) = post(
        &base,
        None,
        None,
        LOGIN,
        json!({ "login": be.login, "password": be.password }),
    )
    .await;
    let token = answer["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("a token: {answer}"))
        .to_string();

    // The standby's own sessions show the gateway's replica pool.
    let mut standby = sqlx::PgConnection::connect(&standby_url)
        .await
        .expect("a connection to the standby");
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&mut standby)
        .await
        .unwrap();
    assert!(in_recovery);

    // The directory has the coordinator once the projector caught up with the seed (read on
    // the standby, as a client polls).
    let mut seen = Vec::new();
    for _ in 0..600 {
        let (_, _, answer) = post(
            &base,
            Some(&token),
            None,
            FIND,
            json!({ "memberState": "BE" }),
        )
        .await;
        // Until the projection's first batch, its read model answers READ_MODEL_NOT_READY.
        if answer["errors"].is_null() {
            seen = found(&answer);
            if !seen.is_empty() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, ["nimic-be"]);

    // Written with waitFor: read back at once through the standby, naming the position.
    let first = set_title(&base, &token, "Coordinateur IMI pour la Belgique").await;
    let (status, _, answer) = post(
        &base,
        Some(&token),
        Some(&first),
        FIND,
        json!({ "text": "pour la Belgique" }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(found(&answer), ["nimic-be"], "{answer}");

    // Replay paused: the next write is on the primary only.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&mut standby)
        .await
        .unwrap();
    let second = set_title(&base, &token, "Deuxième titre du coordinateur").await;
    // Without the position, the query reads the standby, which does not have it yet...
    let (_, _, answer) = post(
        &base,
        Some(&token),
        None,
        FIND,
        json!({ "text": "Deuxième" }),
    )
    .await;
    assert!(found(&answer).is_empty(), "read on the standby: {answer}");
    // ...with it, the read waits for the standby, then goes to the primary.
    let (_, _, answer) = post(
        &base,
        Some(&token),
        Some(&second),
        FIND,
        json!({ "text": "Deuxième" }),
    )
    .await;
    assert_eq!(
        found(&answer),
        ["nimic-be"],
        "fell back to the primary: {answer}"
    );

    // Replay resumed: the standby catches up and serves the same read.
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&mut standby)
        .await
        .unwrap();
    for _ in 0..300 {
        let replayed: bool =
            sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn")
                .bind(&second)
                .fetch_one(&mut standby)
                .await
                .unwrap();
        if replayed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, _, answer) = post(
        &base,
        Some(&token),
        Some(&second),
        FIND,
        json!({ "text": "Deuxième" }),
    )
    .await;
    assert_eq!(found(&answer), ["nimic-be"], "{answer}");
    let (_, _, answer) = post(
        &base,
        Some(&token),
        None,
        FIND,
        json!({ "text": "Deuxième" }),
    )
    .await;
    assert_eq!(found(&answer), ["nimic-be"], "{answer}");

    // The replica's figures: both pools, the routed reads, the waits, its lag.
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = parse_metrics(&text);
    for pool in ["primary", "replica"] {
        let labels = format!("pool=\"{pool}\"");
        for family in [
            "imi_db_pool_size",
            "imi_db_pool_idle",
            "imi_db_pool_waiting",
            "imi_db_pool_max_connections",
        ] {
            assert!(
                sample(&samples, family, &labels).is_some(),
                "{family} {pool}\n{text}"
            );
        }
    }
    assert_eq!(
        sample(&samples, "imi_db_pool_max_connections", "pool=\"replica\""),
        Some(2.0)
    );
    assert_eq!(sample(&samples, "imi_replica_up", ""), Some(1.0), "{text}");
    assert!(
        sample(&samples, "imi_replica_lag_bytes", "").is_some(),
        "{text}"
    );
    let reads = |database: &str| {
        sample(
            &samples,
            "imi_replica_reads_total",
            &format!("database=\"{database}\""),
        )
        .unwrap_or(0.0)
    };
    assert!(reads("replica") >= 4.0, "{text}");
    assert!(reads("primary") >= 1.0, "{text}");
    let waits = |result: &str| {
        sample(
            &samples,
            "imi_replica_waits_total",
            &format!("result=\"{result}\""),
        )
        .unwrap_or(0.0)
    };
    // At least the paused mutation's wait and the read that fell back ran out.
    assert!(waits("timed_out") >= 2.0, "{text}");
    assert!(waits("caught_up") >= 1.0, "{text}");

    // /ready reports the replica's lag and stays ready.
    let ready = reqwest::get(format!("{base}/ready")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert!(ready["replica"]["lagBytes"].is_u64(), "{ready}");
    assert!(ready["replica"]["replayed"].is_string(), "{ready}");

    // A position that is none is refused before anything runs: nothing is written.
    let (status, header, answer) = post(
        &base,
        Some(&token),
        Some("yesterday"),
        SET_TITLE,
        json!({ "input": {
            "authorityId": "nimic-be", "language": "fr", "title": "Jamais écrit",
            "waitFor": ["authority_directory"],
        }}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(header, None);
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{answer}"
    );
    assert_eq!(
        answer["errors"][0]["extensions"]["reason"], "MALFORMED_REQUEST",
        "{answer}"
    );
    let (_, _, answer) = post(&base, Some(&token), None, FIND, json!({ "text": "Jamais" })).await;
    assert!(found(&answer).is_empty(), "{answer}");
    drop(standby);
}
