//! Hostile input: documents nested to overflow a parser, NUL characters, requests to routes
//! and methods that do not exist. Each is refused with a code, and the server answers after.

use crate::subscription::{connect, receive, send};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn deep_object(levels: usize) -> String {
    format!("{}1{}", "{a:".repeat(levels), "}".repeat(levels))
}

fn deep_list(levels: usize) -> String {
    format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
}

/// Queries and mutations whose literals nest 5,000 (objects) and 10,000 (lists) levels deep.
fn deep_documents() -> Vec<String> {
    vec![
        format!("{{ authority(id: {}) {{ id }} }}", deep_object(5_000)),
        format!("{{ authority(id: {}) {{ id }} }}", deep_list(10_000)),
        format!(
            "mutation {{ login(login: {}, password: \"x\") {{ token }} }}",
            deep_object(5_000)
        ),
        format!(
            "mutation {{ login(login: \"x\", password: {}) {{ token }} }}",
            deep_list(10_000)
        ),
    ]
}

fn assert_too_deep(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(body), "BAD_USER_INPUT", "{body}");
    assert_eq!(reason(body), "QUERY_TOO_DEEP", "{body}");
    assert!(body.get("data").is_none(), "{body}");
}

#[tokio::test]
async fn deeply_nested_literals_are_refused_over_post_and_get() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    for document in deep_documents() {
        let (status, body) = gw.gql(None, &document, json!({})).await;
        assert_too_deep(status, &body);

        let response = gw
            .http
            .get(gw.url("/graphql"))
            .query(&[("query", document.as_str())])
            .send()
            .await
            .unwrap_or_else(|e| panic!("no answer: {}", e.without_url()));
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_too_deep(status, &body);
    }
    // Selection sets nested as deep are refused the same way.
    let selections = format!("{{ {}id{} }}", "me { ".repeat(3_000), " }".repeat(3_000));
    let (status, body) = gw.gql(None, &selections, json!({})).await;
    assert_too_deep(status, &body);

    // The server still answers.
    let token = gw.login(&de).await;
    let (status, body) = gw.gql(Some(&token), "{ me { userId } }", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["me"]["userId"], de.user_id.as_str());
}

#[tokio::test]
async fn deeply_nested_variables_are_400_with_a_code() {
    let gw = start().await;
    for levels in [129, 10_000] {
        let raw = format!(
            "{{\"query\": \"query($v: String) {{ __typename }}\", \"variables\": {{\"v\": {}}}}}",
            deep_list(levels)
        );
        let response = gw
            .http
            .post(gw.url("/graphql"))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no answer: {}", e.without_url()));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(reason(&body), "MALFORMED_REQUEST", "{body}");

        // Over GET the URL bounds the size (the client refuses URLs over 64 KiB).
        let variables = format!("{{\"v\": {}}}", deep_list(levels.min(5_000)));
        let response = gw
            .http
            .get(gw.url("/graphql"))
            .query(&[
                ("query", "query($v: String) { __typename }"),
                ("variables", variables.as_str()),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("no answer: {}", e.without_url()));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
    let (status, body) = gw.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn deeply_nested_literals_are_refused_over_the_websocket() {
    let gw = start().await;
    let mut ws = connect(&gw).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "connection_ack");
    let subscription = format!(
        "subscription {{ authorityUpdated(authorityId: {}) {{ initial }} }}",
        deep_object(5_000)
    );
    let mut documents = deep_documents();
    documents.push(subscription);
    for (i, document) in documents.iter().enumerate() {
        let id = format!("deep-{i}");
        send(
            &mut ws,
            json!({ "id": id, "type": "subscribe", "payload": { "query": document } }),
        )
        .await;
        let answer = receive(&mut ws)
            .await
            .expect("an answer, not a closed socket");
        assert_eq!(answer["type"], "next", "{answer}");
        assert_eq!(answer["id"], id.as_str());
        let errors = &answer["payload"];
        assert_eq!(code(errors), "BAD_USER_INPUT", "{answer}");
        assert_eq!(reason(errors), "QUERY_TOO_DEEP", "{answer}");
        let done = receive(&mut ws).await.unwrap();
        assert_eq!(done["type"], "complete", "{done}");
    }
    // The same connection still runs a query.
    send(
        &mut ws,
        json!({ "id": "ok", "type": "subscribe", "payload": { "query": "{ __typename }" } }),
    )
    .await;
    let answer = receive(&mut ws).await.unwrap();
    assert_eq!(answer["payload"]["data"]["__typename"], "Query", "{answer}");
    let _ = ws.close(None).await;
}

const SET_DESCRIPTION: &str = "mutation($input: SetDescriptionInput!) {
  setDescription(input: $input) { position }
}";

fn assert_nul_refused(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(body), "BAD_USER_INPUT", "{body}");
    assert_eq!(reason(body), "NUL_IN_TEXT", "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        "text inputs may not contain the NUL character"
    );
}

#[tokio::test]
async fn nul_characters_in_text_inputs_are_bad_user_input() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;
    let id = de.authority_id.as_str();
    let with_variables = [
        (SET_TITLE, set_title_input(id, "fr", "Titre\u{0}caché")),
        (
            SET_DESCRIPTION,
            json!({ "input": { "authorityId": id, "description": "a\u{0}b" } }),
        ),
        (
            "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }",
            json!({ "l": format!("{}\u{0}", de.login), "p": PASSWORD }),
        ),
        (
            "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }",
            json!({ "l": de.login, "p": format!("{PASSWORD}\u{0}") }),
        ),
        (
            "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }",
            json!({ "ids": ["n-1", "n\u{0}2"] }),
        ),
    ];
    for (query, variables) in with_variables {
        let (status, body) = gw.gql(Some(&token), query, variables).await;
        assert_nul_refused(status, &body);
    }
    // The same, written inline with GraphQL's \u0000 escape.
    let inline = [
        format!(
            r#"mutation {{ setInformalTitle(input: {{authorityId: "{id}", language: "fr", title: "T\u0000"}}) {{ waited }} }}"#
        ),
        format!(
            r#"mutation {{ setDescription(input: {{authorityId: "{id}", description: "\u0000"}}) {{ position }} }}"#
        ),
        r#"mutation { login(login: "x\u0000", password: "long enough password") { token } }"#
            .to_string(),
        r#"mutation { markNotificationsRead(ids: ["\u0000"]) }"#.to_string(),
    ];
    for query in inline {
        let (status, body) = gw.gql(Some(&token), &query, json!({})).await;
        assert_nul_refused(status, &body);
    }
    assert_eq!(gw.events().await, before, "a refused request wrote events");

    // Text without NUL still works.
    let (status, body) = gw
        .gql(
            Some(&token),
            SET_DESCRIPTION,
            json!({ "input": { "authorityId": id, "description": "Sans caractère nul" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["errors"].is_null(), "{body}");
}
