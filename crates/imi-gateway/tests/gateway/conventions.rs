//! What clients of other kinds expect: browsers on another origin (CORS), legacy
//! `application/json` clients (status 200 for request errors), the introspection switch, the
//! websocket close code for a refused token, and metrics every family of which is described.

use crate::subscription::{connect, send};
use crate::support::*;
use futures::StreamExt;
use imi_gateway::server::{Introspection, Options};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// A gateway on a migrated database deployed with `options` (no projector).
pub(crate) async fn deployed(options: Options) -> Gateway {
    let db = imi_testkit::fresh_database().await;
    imi_store::migrate(&db.pool).await.expect("migrate");
    let services = services(db.pool.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = imi_gateway::router_with(services.clone(), options)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Gateway {
        base: format!("http://{addr}"),
        pool: services.pool.clone(),
        services,
        http: reqwest::Client::new(),
    }
}

#[tokio::test]
async fn a_browser_on_a_configured_origin_passes_the_preflight_and_others_do_not() {
    let gw = deployed(Options {
        cors_origins: vec!["https://app.example.eu".into()],
        ..Options::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        gw.http
            .request(reqwest::Method::OPTIONS, gw.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.example.eu").await.unwrap();
    assert!(allowed.status().is_success(), "{allowed:?}");
    let headers = allowed.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.eu"
    );
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let allowed_headers = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed_headers.contains("authorization"),
        "{allowed_headers}"
    );

    let other = preflight("https://elsewhere.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // The actual request carries the header, and exposes the correlation id.
    let answer = gw
        .http
        .post(gw.url("/graphql"))
        .header("origin", "https://app.example.eu")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://app.example.eu"
    );
    assert!(answer.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-correlation-id"));
}

#[tokio::test]
async fn without_origins_no_cross_origin_call_is_allowed() {
    let gw = deployed(Options::default()).await;
    let answer = gw
        .http
        .post(gw.url("/graphql"))
        .header("origin", "https://app.example.eu")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert!(answer
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

const INTROSPECT: &str = "{ __schema { queryType { name } } }";

#[tokio::test]
async fn introspection_off_answers_no_schema() {
    let gw = deployed(Options {
        introspection: Introspection::Off,
        ..Options::default()
    })
    .await;
    // Nothing of the schema: `__schema` and `__type` answer null.
    let (_, body) = gw.gql(None, INTROSPECT, json!({})).await;
    assert!(body["data"]["__schema"].is_null(), "{body}");
    let (token, _) =
        imi_gateway::auth::issue(SECRET, "user-x", "nimic-de", chrono::Utc::now()).unwrap();
    let (_, body) = gw
        .gql(
            Some(&token),
            "{ __type(name: \"Query\") { name } }",
            json!({}),
        )
        .await;
    assert!(body["data"]["__type"].is_null(), "{body}");
    // Ordinary queries still run.
    let (status, body) = gw.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["__typename"], "Query", "{body}");
}

#[tokio::test]
async fn introspection_for_the_authenticated_only() {
    let gw = deployed(Options {
        introspection: Introspection::Authenticated,
        ..Options::default()
    })
    .await;
    let (_, body) = gw.gql(None, INTROSPECT, json!({})).await;
    assert!(body["data"]["__schema"]["queryType"].is_null(), "{body}");
    let (token, _) =
        imi_gateway::auth::issue(SECRET, "user-x", "nimic-de", chrono::Utc::now()).unwrap();
    let (status, body) = gw.gql(Some(&token), INTROSPECT, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn application_json_clients_get_200_for_parse_validation_and_variable_errors() {
    let gw = deployed(Options::default()).await;
    for (query, variables) in [
        ("{", json!({})),
        ("{ noSuchField }", json!({})),
        (
            "query($id: ID!) { authority(id: $id) { id } }",
            json!({ "id": { "not": "an id" } }),
        ),
    ] {
        for (accept, status) in [
            ("application/json", StatusCode::OK),
            ("application/graphql-response+json", StatusCode::BAD_REQUEST),
        ] {
            let answer = gw
                .http
                .post(gw.url("/graphql"))
                .header("accept", accept)
                .json(&json!({ "query": query, "variables": variables }))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), status, "{query} as {accept}");
            let body: Value = answer.json().await.unwrap();
            assert!(body["errors"].is_array(), "{body}");
            assert!(body.get("data").is_none(), "{body}");
        }
    }
}

#[tokio::test]
async fn a_refused_token_closes_the_websocket_with_4403() {
    let gw = deployed(Options::default()).await;
    let mut ws = connect(&gw).await;
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "Authorization": "Bearer forged" } }),
    )
    .await;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("no close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("closed within 10 s")
    .expect("a close frame");
    assert_eq!(u16::from(closed.code), 4403);
    assert_eq!(closed.reason.as_str(), "Forbidden");
}

#[tokio::test]
async fn every_metric_family_has_help_and_type_and_latencies_are_histograms() {
    let gw = deployed(Options::default()).await;
    let _ = gw
        .http
        .post(gw.url("/graphql"))
        .json(&json!({ "query": "query Probe { __typename }", "operationName": "Probe" }))
        .send()
        .await
        .unwrap();
    let text = gw
        .http
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (mut help, mut kind) = (Vec::new(), std::collections::BTreeMap::new());
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help.push(rest.split_whitespace().next().unwrap().to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let name = parts.next().unwrap().to_string();
            kind.insert(name, parts.next().unwrap().to_string());
        } else {
            assert!(!line.starts_with('#'), "{line}");
            let (name, value) = line.rsplit_once(' ').expect("a sample: name value");
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("not a number in {line}"));
            samples.push(name.split('{').next().unwrap().to_string());
        }
    }
    for sample in &samples {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                sample
                    .strip_suffix(suffix)
                    .filter(|f| kind.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(sample);
        assert!(kind.contains_key(family), "no TYPE for {family}\n{text}");
        assert!(
            help.iter().any(|h| h == family),
            "no HELP for {family}\n{text}"
        );
    }
    for (family, expected) in [
        ("imi_http_request_duration_seconds", "histogram"),
        ("imi_graphql_operation_duration_seconds", "histogram"),
        ("imi_db_pool_connections", "gauge"),
        ("imi_websocket_connections_open", "gauge"),
        ("imi_subscriptions_open", "gauge"),
        ("imi_deadlines_due", "gauge"),
    ] {
        assert_eq!(
            kind.get(family).map(String::as_str),
            Some(expected),
            "{family}\n{text}"
        );
    }
    assert!(
        text.contains("imi_graphql_operation_duration_seconds_count{operation=\"Probe\"} 1"),
        "{text}"
    );
}
