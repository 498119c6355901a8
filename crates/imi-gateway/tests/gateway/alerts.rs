//! Alerts over HTTP, the edges: reads need a token and name an alert the caller's authority
//! has access to; a refusal of each kind carries its code and writes nothing. (The workflow
//! itself runs end to end in `tests/e2e/alerts.rs`.)

use crate::support::*;
use imi_projections::runner::Runner;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ALERT: &str = "query($id: ID!) { alert(id: $id) { id viewLevel } }";
const ALERTS: &str =
    "query { alerts(first: 5) { edges { node { id } } pageInfo { hasNextPage } } }";
const QUEUE: &str = "query { alertQueue(first: 5) { edges { node { queue } } } }";
const STATS: &str = "query { alertStatistics { memberState sent } }";
const DRAFT: &str = "mutation($input: DraftSdAlertInput!) {
  draftSdAlert(input: $input) { position waited alertId }
}";
const BROADCAST: &str = "mutation($input: AlertMemberStatesInput!) {
  broadcastAlert(input: $input) { position waited }
}";

/// The gateway with the alert projectors running too.
async fn gateway() -> Gateway {
    let gateway = start().await;
    for projection in imi_projections::all()
        .into_iter()
        .filter(|p| p.name().starts_with("alert_"))
    {
        let runner = Runner::new(gateway.pool.clone(), projection)
            .with_local_wake(gateway.services.wake.subscribe());
        tokio::spawn(async move {
            if let Err(error) = runner.run().await {
                panic!("an alert runner stopped: {error}");
            }
        });
    }
    gateway
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

async fn alert_events(gateway: &Gateway) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_type = 'Alert'")
        .fetch_one(&gateway.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn alert_reads_need_a_token() {
    let gateway = gateway().await;
    for query in [ALERTS, QUEUE, STATS] {
        let (_, body) = gateway.gql(None, query, json!({})).await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{query}: {body}");
    }
    let (_, body) = gateway.gql(None, ALERT, json!({ "id": "a-1" })).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
}

#[tokio::test]
async fn an_alert_the_caller_cannot_see_is_not_found_and_lists_are_empty() {
    let gateway = gateway().await;
    let de = gateway.seed_nimic("DE").await;
    let token = gateway.login(&de).await;
    let (status, body) = gateway
        .gql(Some(&token), ALERT, json!({ "id": "no-such-alert" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    for (query, field) in [(ALERTS, "alerts"), (QUEUE, "alertQueue")] {
        let (_, body) = gateway.gql(Some(&token), query, json!({})).await;
        assert!(body["errors"].is_null(), "{body}");
        assert_eq!(body["data"][field]["edges"], json!([]), "{body}");
    }
    let (_, body) = gateway.gql(Some(&token), STATS, json!({})).await;
    assert_eq!(body["data"]["alertStatistics"], json!([]), "{body}");
    let (_, body) = gateway
        .gql(
            Some(&token),
            "query { alerts(first: 101) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn a_refusal_of_each_kind_writes_nothing() {
    let gateway = gateway().await;
    let de = gateway.seed_nimic("DE").await;
    let token = gateway.login(&de).await;
    let alert = |provider: &str| {
        json!({ "input": { "alert": {
            "dangerousActivity": "Unsafe gas installations",
            "serviceProvider": provider
        } } })
    };
    // The coordinator has no access to SD alerts: FORBIDDEN by the policy.
    let (_, body) = gateway.gql(Some(&token), DRAFT, alert("Gasbau GmbH")).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        "the authority has no access to the alerts workflow in SD"
    );
    // Malformed input is refused before any command: BAD_USER_INPUT.
    let (_, body) = gateway.gql(Some(&token), DRAFT, alert("  ")).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    let (_, body) = gateway
        .gql(
            Some(&token),
            BROADCAST,
            json!({ "input": { "alertId": "a-1", "memberStates": ["XX"] } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    // A command on an alert never drafted: NOT_FOUND.
    let (_, body) = gateway
        .gql(
            Some(&token),
            BROADCAST,
            json!({ "input": { "alertId": "a-1", "memberStates": ["FR"] } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    assert_eq!(alert_events(&gateway).await, 0);
}
