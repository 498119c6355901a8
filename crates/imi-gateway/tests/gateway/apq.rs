//! Automatic persisted queries (Apollo's protocol) and the introspection switch over
//! websockets: a query named by its hash runs through the same guards as one sent in full.

use crate::conventions::deployed;
use crate::subscription::{connect, receive, send};
use crate::support::*;
use imi_gateway::apq::sha256_hex;
use imi_gateway::server::{Introspection, Options};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POSTs `query` (or none) with the persisted-query extension for `hash`.
async fn post(
    gw: &Gateway,
    token: Option<&str>,
    query: Option<&str>,
    hash: &str,
) -> (StatusCode, Value) {
    let mut body = json!({ "extensions": persisted(hash) });
    if let Some(query) = query {
        body["query"] = query.into();
    }
    let mut request = gw.http.post(gw.url("/graphql")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.unwrap();
    (answer.status(), answer.json().await.unwrap())
}

fn not_found(body: &Value) -> bool {
    body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        && body["errors"][0]["message"] == "PersistedQueryNotFound"
}

#[tokio::test]
async fn a_hash_is_unknown_then_stored_with_its_query_then_answered_alone() {
    let gw = deployed(Options::default()).await;
    let query = "query Probe { __typename }";
    let hash = sha256_hex(query);
    let (status, body) = post(&gw, None, None, &hash).await;
    assert_eq!(status, StatusCode::OK);
    assert!(not_found(&body), "{body}");

    let (status, body) = post(&gw, None, Some(query), &hash).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    let (status, body) = post(&gw, None, None, &hash).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    // Over GET too, `extensions` as JSON in the query string.
    let answer = gw
        .http
        .get(gw.url("/graphql"))
        .query(&[("extensions", persisted(&hash).to_string())])
        .send()
        .await
        .unwrap();
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}

#[tokio::test]
async fn a_wrong_hash_is_refused_and_nothing_is_stored() {
    let gw = deployed(Options::default()).await;
    let query = "{ __typename }";
    let wrong = sha256_hex("{ something else }");
    let (status, body) = post(&gw, None, Some(query), &wrong).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(reason(&body), "PERSISTED_QUERY_HASH_MISMATCH", "{body}");
    assert!(body.get("data").is_none(), "{body}");
    let (_, body) = post(&gw, None, None, &wrong).await;
    assert!(not_found(&body), "{body}");

    // Another version of the protocol is refused.
    let answer = gw
        .http
        .post(gw.url("/graphql"))
        .json(&json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": sha256_hex(query) } } }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(reason(&body), "PERSISTED_QUERY_NOT_SUPPORTED", "{body}");
}

#[tokio::test]
async fn a_document_nested_too_deep_is_refused_and_not_stored() {
    let gw = deployed(Options::default()).await;
    let query = format!("{}{}", "{ a ".repeat(80), "}".repeat(80));
    let hash = sha256_hex(&query);
    let (_, body) = post(&gw, None, Some(&query), &hash).await;
    assert_eq!(reason(&body), "QUERY_TOO_DEEP", "{body}");
    assert!(body.get("data").is_none(), "{body}");
    let (_, body) = post(&gw, None, None, &hash).await;
    assert!(not_found(&body), "{body}");
}

#[tokio::test]
async fn a_stored_introspection_query_stays_refused_to_whom_the_switch_refuses() {
    let gw = deployed(Options {
        introspection: Introspection::Authenticated,
        ..Options::default()
    })
    .await;
    let query = "{ __schema { queryType { name } } }";
    let hash = sha256_hex(query);
    let (token, _) =
        imi_gateway::auth::issue(SECRET, "user-x", "nimic-de", chrono::Utc::now()).unwrap();
    let (_, body) = post(&gw, Some(&token), Some(query), &hash).await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    // Stored: anonymous callers name it by hash, and still learn nothing of the schema.
    let (_, body) = post(&gw, None, None, &hash).await;
    assert!(!not_found(&body), "{body}");
    assert!(body["data"]["__schema"]["queryType"].is_null(), "{body}");
    let (_, body) = post(&gw, Some(&token), None, &hash).await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
}

/// Opens a websocket with `token` (or none) and runs `query` once; returns its `next` payload.
async fn over_websocket(gw: &Gateway, token: Option<&str>, query: &str) -> Value {
    let mut ws = connect(gw).await;
    let payload = match token {
        Some(token) => json!({ "Authorization": format!("Bearer {token}") }),
        None => json!({}),
    };
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "connection_ack");
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
    let next = receive(&mut ws).await.unwrap();
    assert_eq!(next["type"], "next", "{next}");
    next["payload"].clone()
}

#[tokio::test]
async fn the_introspection_switch_applies_over_websockets() {
    let query = "{ __schema { queryType { name } } }";
    let (token, _) =
        imi_gateway::auth::issue(SECRET, "user-x", "nimic-de", chrono::Utc::now()).unwrap();

    let off = deployed(Options {
        introspection: Introspection::Off,
        ..Options::default()
    })
    .await;
    let body = over_websocket(&off, Some(&token), query).await;
    assert!(body["data"]["__schema"].is_null(), "{body}");
    let body = over_websocket(&off, None, "{ __typename }").await;
    assert_eq!(body["data"]["__typename"], "Query", "{body}");

    let authenticated = deployed(Options {
        introspection: Introspection::Authenticated,
        ..Options::default()
    })
    .await;
    let body = over_websocket(&authenticated, None, query).await;
    assert!(body["data"]["__schema"]["queryType"].is_null(), "{body}");
    let body = over_websocket(&authenticated, Some(&token), query).await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
}
