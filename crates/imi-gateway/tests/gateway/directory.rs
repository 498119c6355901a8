//! The directory: search and pages, informal titles, access, conflicts, command metadata.

use crate::support::*;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PAGE: &str = "query($first: Int, $after: String, $ms: String, $text: String) {
  authorities(first: $first, after: $after, memberState: $ms, text: $text) {
    edges { cursor node { id memberState kind officialName } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

fn ids(body: &Value) -> Vec<String> {
    body["data"]["authorities"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges in {body}"))
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn search_pages_through_the_directory() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    gw.seed_nimic("FR").await;
    gw.seed_nimic("AT").await;
    let token = gw.login(&de).await;

    let (status, first) = gw.gql(Some(&token), PAGE, json!({ "first": 2 })).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(ids(&first), ["nimic-at", "nimic-de"]);
    let info = &first["data"]["authorities"]["pageInfo"];
    assert_eq!(info["hasNextPage"], true);
    assert_eq!(info["hasPreviousPage"], false);
    let node = &first["data"]["authorities"]["edges"][1]["node"];
    assert_eq!(node["memberState"], "DE");
    assert_eq!(node["kind"], "NATIONAL_COORDINATOR");

    let after = info["endCursor"].as_str().unwrap();
    let (_, second) = gw
        .gql(Some(&token), PAGE, json!({ "first": 2, "after": after }))
        .await;
    assert_eq!(ids(&second), ["nimic-fr"]);
    assert_eq!(
        second["data"]["authorities"]["pageInfo"]["hasNextPage"],
        false
    );
    assert_eq!(
        second["data"]["authorities"]["pageInfo"]["hasPreviousPage"],
        true
    );

    let (_, fr) = gw.gql(Some(&token), PAGE, json!({ "ms": "fr" })).await;
    assert_eq!(ids(&fr), ["nimic-fr"]);
    let (_, text) = gw
        .gql(Some(&token), PAGE, json!({ "text": "coordinator at" }))
        .await;
    assert_eq!(ids(&text), ["nimic-at"]);
    let (_, none) = gw.gql(Some(&token), PAGE, json!({ "first": 0 })).await;
    assert!(ids(&none).is_empty());
    assert_eq!(
        none["data"]["authorities"]["pageInfo"]["hasNextPage"],
        false
    );
}

#[tokio::test]
async fn bad_search_arguments_are_bad_user_input() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;
    let cases = [
        (json!({ "first": 101 }), "PAGE_TOO_LARGE"),
        (json!({ "first": -1 }), "PAGE_TOO_LARGE"),
        (json!({ "ms": "UK" }), ""),
        (json!({ "after": "not a cursor" }), ""),
        (json!({ "text": "x".repeat(201) }), ""),
    ];
    for (variables, why) in cases {
        let (status, body) = gw.gql(Some(&token), PAGE, variables.clone()).await;
        assert_eq!(status, StatusCode::OK, "{variables}: {body}");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{variables}: {body}");
        assert_eq!(reason(&body), why, "{variables}: {body}");
        assert_eq!(body["data"], Value::Null);
    }
    let (_, body) = gw
        .gql(
            Some(&token),
            "{ authorities(language: \"xx\") { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("language"));
    assert_eq!(gw.events().await, before);
}

#[tokio::test]
async fn bad_command_input_is_refused_and_writes_nothing() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;
    let id = de.authority_id.as_str();
    let cases = [
        (set_title_input(id, "xx", "Titre"), "BAD_USER_INPUT"),
        (set_title_input(id, "", "Titre"), "BAD_USER_INPUT"),
        (
            set_title_input("not an id!", "fr", "Titre"),
            "BAD_USER_INPUT",
        ),
        (set_title_input(id, "fr", "   "), "BAD_USER_INPUT"),
        (
            set_title_input(id, "fr", &"t".repeat(301)),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "input": { "authorityId": id, "language": "fr", "title": "T", "waitFor": ["nope"] } }),
            "BAD_USER_INPUT",
        ),
        (set_title_input("nimic-zz", "fr", "Titre"), "NOT_FOUND"),
    ];
    for (variables, expected) in cases {
        let (status, body) = gw.gql(Some(&token), SET_TITLE, variables.clone()).await;
        assert_eq!(status, StatusCode::OK, "{variables}: {body}");
        assert_eq!(code(&body), expected, "{variables}: {body}");
        assert_eq!(body["errors"][0]["path"], json!(["setInformalTitle"]));
    }
    assert_eq!(gw.events().await, before, "a refused command wrote events");
}

#[tokio::test]
async fn a_title_set_with_wait_for_reads_back_at_once_in_the_callers_language() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;

    let response = gw
        .http
        .post(gw.url("/graphql"))
        .bearer_auth(&token)
        .header("idempotency-key", "set-fr-title-1")
        .header("x-correlation-id", "corr-4711")
        .json(&json!({
            "query": SET_TITLE,
            "variables": set_title_input(&de.authority_id, "fr", "Coordinateur IMI Allemagne"),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-correlation-id"], "corr-4711");
    let body: Value = response.json().await.unwrap();
    let payload = &body["data"]["setInformalTitle"];
    assert_eq!(payload["waited"], true, "{body}");
    let position = payload["position"].as_str().unwrap();
    let (xid, pos) = position.split_once(':').unwrap();
    assert!(
        xid.parse::<i64>().is_ok() && pos.parse::<i64>().is_ok(),
        "{position}"
    );
    assert_eq!(gw.events().await, before + 1);

    // The event carries who acted, for which authority, and the client's ids.
    let metadata: Value = sqlx::query_scalar(
        "SELECT metadata::jsonb FROM events WHERE aggregate_id = $1 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(&de.authority_id)
    .fetch_one(&gw.pool)
    .await
    .unwrap();
    assert_eq!(metadata["acting_user"], format!("user:{}", de.user_id));
    assert_eq!(metadata["acting_authority"], de.authority_id.as_str());
    assert_eq!(metadata["idempotency_key"], "set-fr-title-1");
    assert_eq!(metadata["correlation_id"], "corr-4711");

    // Read back at once, in French from Accept-Language: French first, not a fallback.
    let read = format!(
        "{{ authority(id: \"{}\") {{ informalTitle {{ text language fallback }} informalTitles {{ text language fallback }} italian: informalTitle(language: \"it\") {{ text language fallback }} }} }}",
        de.authority_id
    );
    let response = gw
        .http
        .post(gw.url("/graphql"))
        .bearer_auth(&token)
        .header("accept-language", "fr-BE, fr;q=0.9, en;q=0.5")
        .json(&json!({ "query": read }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let authority = &body["data"]["authority"];
    assert_eq!(
        authority["informalTitle"],
        json!({ "text": "Coordinateur IMI Allemagne", "language": "fr", "fallback": false }),
        "{body}"
    );
    assert_eq!(
        authority["informalTitles"],
        json!([
            { "text": "Coordinateur IMI Allemagne", "language": "fr", "fallback": false },
            { "text": "IMI coordinator DE", "language": "en", "fallback": true },
        ])
    );
    assert_eq!(
        authority["italian"],
        json!({ "text": "IMI coordinator DE", "language": "en", "fallback": true })
    );

    // Removing it (title null) falls back visibly.
    let (_, body) = gw
        .gql(
            Some(&token),
            SET_TITLE,
            json!({ "input": { "authorityId": de.authority_id, "language": "fr", "title": null } }),
        )
        .await;
    assert_eq!(body["data"]["setInformalTitle"]["waited"], true, "{body}");
    let (_, body) = gw
        .gql(
            Some(&token),
            &format!(
                "{{ authority(id: \"{}\", language: \"fr\") {{ informalTitle {{ language fallback }} }} }}",
                de.authority_id
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["authority"]["informalTitle"],
        json!({ "language": "en", "fallback": true })
    );
    let (_, body) = gw
        .gql(
            Some(&token),
            "{ authority(id: \"nimic-zz\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["authority"], Value::Null);
}

#[tokio::test]
async fn a_user_of_another_authority_is_forbidden() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let fr = gw.seed_nimic("FR").await;
    let french_token = gw.login(&fr).await;
    let before = gw.events().await;
    let (status, body) = gw
        .gql(
            Some(&french_token),
            SET_TITLE,
            set_title_input(&de.authority_id, "fr", "Pris en main"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert_eq!(body["data"], Value::Null);
    assert_eq!(gw.events().await, before);
}

#[tokio::test]
async fn concurrent_writes_to_one_authority_answer_ok_or_conflict() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let mut conflicts = Vec::new();
    let mut oks = 0;
    for round in 0..10 {
        let before = gw.events().await;
        let requests = (0..16).map(|i| {
            let variables = json!({ "input": {
                "authorityId": de.authority_id,
                "language": "fr",
                "title": format!("Titre {round}-{i}"),
                "waitFor": [],
            }});
            gw.gql(Some(&token), SET_TITLE, variables)
        });
        let mut round_oks = 0;
        for (status, body) in join_all(requests).await {
            assert_eq!(status, StatusCode::OK, "{body}");
            if body["errors"].is_null() {
                assert!(body["data"]["setInformalTitle"]["position"].is_string());
                round_oks += 1;
            } else {
                assert_eq!(code(&body), "CONFLICT", "never INTERNAL: {body}");
                conflicts.push(body);
            }
        }
        // Each success wrote exactly its one event; conflicts wrote none.
        assert_eq!(gw.events().await, before + round_oks);
        assert!(round_oks >= 1, "some write must win each round");
        oks += round_oks;
        if !conflicts.is_empty() && round >= 1 {
            break;
        }
    }
    assert!(oks > 0);
    assert!(
        !conflicts.is_empty(),
        "16 concurrent writers never conflicted"
    );
    let conflict = &conflicts[0];
    assert_eq!(conflict["data"], Value::Null);
    assert_eq!(conflict["errors"][0]["path"], json!(["setInformalTitle"]));
    assert!(conflict["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("try again"));
    assert_eq!(
        conflict["errors"][0]["extensions"],
        json!({ "code": "CONFLICT" })
    );
}

#[tokio::test]
async fn a_retried_request_with_the_same_idempotency_key_writes_once() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;
    let send = |title: &'static str| {
        gw.http
            .post(gw.url("/graphql"))
            .bearer_auth(&token)
            .header("idempotency-key", "retry-me-1")
            .json(&json!({
                "query": SET_TITLE,
                "variables": set_title_input(&de.authority_id, "fr", title),
            }))
            .send()
    };
    let first: Value = send("Premier").await.unwrap().json().await.unwrap();
    let retry: Value = send("Premier").await.unwrap().json().await.unwrap();
    assert!(first["errors"].is_null(), "{first}");
    assert!(retry["errors"].is_null(), "{retry}");
    assert_eq!(
        first["data"]["setInformalTitle"]["position"],
        retry["data"]["setInformalTitle"]["position"]
    );
    assert_eq!(gw.events().await, before + 1);
}
