//! GraphQL over HTTP: media types, malformed bodies, limits, GET. No bad request writes.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A valid mutation, so that any write would show if the gateway ran it anyway.
fn set_title_body(authority_id: &str) -> Value {
    json!({
        "query": SET_TITLE,
        "variables": set_title_input(authority_id, "fr", "Coordinateur"),
    })
}

async fn post_raw(
    gw: &Gateway,
    token: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let response = gw
        .http
        .post(gw.url("/graphql"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .header("accept", "application/graphql-response+json")
        .body(body)
        .send()
        .await
        .expect("send");
    let status = response.status();
    let body = response.json().await.expect("a JSON body");
    (status, body)
}

#[tokio::test]
async fn malformed_json_is_400_with_a_code_and_writes_nothing() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;
    let valid = set_title_body(&de.authority_id).to_string();
    let truncated = &valid[..valid.len() - 3];
    let bodies = [
        truncated.to_string(),
        "not json at all".into(),
        "[]".into(),
        format!("[{valid}]"),
        r#"{"query": 5}"#.into(),
        r#"{"variables": {}}"#.into(),
        json!({"query": SET_TITLE, "variables": [1]}).to_string(),
        String::new(),
    ];
    for body in bodies {
        let (status, answer) = post_raw(&gw, &token, "application/json", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
        assert_eq!(reason(&answer), "MALFORMED_REQUEST", "{answer}");
        assert!(answer.get("data").is_none(), "{answer}");
    }
    assert_eq!(
        gw.events().await,
        before,
        "a malformed request wrote events"
    );
}

#[tokio::test]
async fn graphql_syntax_and_validation_errors_are_400() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;

    let (status, body) = gw
        .gql(Some(&token), "mutation { setInformalTitle(", json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(reason(&body), "GRAPHQL_PARSE_FAILED");
    assert!(body.get("data").is_none(), "{body}");

    let (status, body) = gw
        .gql(Some(&token), "{ me { noSuchField } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(reason(&body), "GRAPHQL_VALIDATION_FAILED");

    // A variable of the wrong type fails validation: nothing runs.
    let (status, body) = gw
        .gql(
            Some(&token),
            SET_TITLE,
            json!({ "input": { "authorityId": de.authority_id, "language": 7 } }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(gw.events().await, before);
}

#[tokio::test]
async fn wrong_content_type_is_415_and_writes_nothing() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;
    let body = set_title_body(&de.authority_id).to_string();
    for content_type in [
        "text/plain",
        "application/graphql",
        "application/x-www-form-urlencoded",
    ] {
        let (status, answer) = post_raw(&gw, &token, content_type, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}: {answer}"
        );
        assert_eq!(code(&answer), "BAD_USER_INPUT");
        assert_eq!(reason(&answer), "UNSUPPORTED_MEDIA_TYPE");
    }
    // No content type at all.
    let response = gw
        .http
        .post(gw.url("/graphql"))
        .bearer_auth(&token)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // With a charset it is fine (and this one does write).
    let (status, answer) = post_raw(&gw, &token, "application/json; charset=utf-8", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(gw.events().await, before + 1);
}

#[tokio::test]
async fn oversized_body_is_413_and_writes_nothing() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;
    let huge = json!({
        "query": SET_TITLE,
        "variables": set_title_input(&de.authority_id, "fr", &"x".repeat(300 * 1024)),
    })
    .to_string();
    let (status, answer) = post_raw(&gw, &token, "application/json", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(code(&answer), "BAD_USER_INPUT");
    assert_eq!(reason(&answer), "PAYLOAD_TOO_LARGE");

    // Streamed without a length (chunked), it is cut off too.
    assert_eq!(chunked_post_status(&gw, &token, 40 * 8 * 1024).await, 413);
    assert_eq!(gw.events().await, before);
}

/// POSTs `len` bytes of JSON whitespace with `Transfer-Encoding: chunked`; returns the status.
/// Reads while it writes: the server answers before it has read everything.
async fn chunked_post_status(gw: &Gateway, token: &str, len: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = gw.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 8 * 1024];
        let mut sent = 0;
        while sent < len {
            writer
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            writer.write_all(&chunk).await?;
            writer.write_all(b"\r\n").await?;
            sent += chunk.len();
        }
        writer.write_all(b"0\r\n\r\n").await
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    writing.abort();
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

#[tokio::test]
async fn too_deep_or_too_complex_documents_are_refused_before_they_run() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;

    let mut nested = String::from("waited");
    for _ in 0..12 {
        nested = format!("a {{ {nested} }}");
    }
    let deep = format!(
        "mutation {{ setInformalTitle(input: {{authorityId: \"{}\", language: \"fr\", title: \"Deep\"}}) {{ {nested} }} }}",
        de.authority_id
    );
    let (status, body) = gw.gql(Some(&token), &deep, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(reason(&body), "QUERY_TOO_DEEP");

    let page = "authorities(first: 100) { edges { cursor node { id officialName memberState updatedAt informalTitles { text language fallback } } } }";
    let complex = format!(
        "mutation Write {{ setInformalTitle(input: {{authorityId: \"{}\", language: \"fr\", title: \"Complex\"}}) {{ waited }} }} \
         query Pages {{ a: {page} b: {page} c: {page} }}",
        de.authority_id
    );
    let request = json!({ "query": complex, "operationName": "Pages" });
    let response = gw
        .http
        .post(gw.url("/graphql"))
        .bearer_auth(&token)
        .json(&request)
        .send()
        .await
        .unwrap();
    // A legacy `application/json` client reads the request error with a 200.
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(reason(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(body.get("data").is_none(), "{body}");

    // GraphiQL's introspection query (15 levels deep) still works.
    let introspection = "{ __schema { types { name fields { name args { name type { kind ofType { kind ofType { kind ofType { kind ofType { kind ofType { kind ofType { kind ofType { kind ofType { kind ofType { name } } } } } } } } } } } } } } }";
    let (status, body) = gw.gql(Some(&token), introspection, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(gw.events().await, before);
}

#[tokio::test]
async fn queries_run_over_get_and_mutations_are_405() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;

    let response = gw
        .http
        .get(gw.url("/graphql"))
        .query(&[
            ("query", "query Me { me { userId } }"),
            ("operationName", "Me"),
        ])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["userId"], de.user_id.as_str());

    let mutation = format!(
        "mutation {{ setInformalTitle(input: {{authorityId: \"{}\", language: \"fr\", title: \"Par GET\"}}) {{ waited }} }}",
        de.authority_id
    );
    let named = format!(
        "query Q {{ me {{ userId }} }} mutation M {{ login(login: \"x\", password: \"y\") {{ token }} }} mutation N {}",
        mutation.trim_start_matches("mutation ")
    );
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("query", mutation.as_str())],
        vec![("query", named.as_str()), ("operationName", "M")],
    ];
    for params in cases {
        let response = gw
            .http
            .get(gw.url("/graphql"))
            .query(&params)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{params:?}"
        );
        assert_eq!(response.headers()["allow"], "POST");
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), "BAD_USER_INPUT");
        assert_eq!(reason(&body), "METHOD_NOT_ALLOWED");
    }
    assert_eq!(
        gw.events().await,
        before,
        "a mutation over GET wrote events"
    );

    // Other methods are not served at all.
    let response = gw.http.put(gw.url("/graphql")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn answers_in_the_media_type_the_client_accepts() {
    let gw = start().await;
    let query = json!({ "query": "{ __typename }" });
    let cases = [
        (None, StatusCode::OK, "application/json"),
        (Some("application/json"), StatusCode::OK, "application/json"),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            StatusCode::OK,
            "application/graphql-response+json",
        ),
        (Some("*/*"), StatusCode::OK, "application/json"),
        (
            Some("text/html"),
            StatusCode::NOT_ACCEPTABLE,
            "application/json",
        ),
    ];
    for (accept, status, media) in cases {
        let mut request = gw.http.post(gw.url("/graphql")).json(&query);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{accept:?}");
        assert_eq!(response.headers()["content-type"], media, "{accept:?}");
        let body: Value = response.json().await.unwrap();
        if status == StatusCode::OK {
            assert_eq!(body["data"]["__typename"], "Query");
        } else {
            assert_eq!(code(&body), "BAD_USER_INPUT");
        }
    }
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_400_and_writes_nothing() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let before = gw.events().await;
    for key in ["has spaces".to_string(), "k".repeat(201)] {
        let response = gw
            .http
            .post(gw.url("/graphql"))
            .bearer_auth(&token)
            .header("idempotency-key", key.as_str())
            .json(&set_title_body(&de.authority_id))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{key}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
    assert_eq!(gw.events().await, before);
}
