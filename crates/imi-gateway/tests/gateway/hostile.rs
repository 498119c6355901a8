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
            .header("accept", "application/graphql-response+json")
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

/// Status, headers and JSON body of a response, checking it is a GraphQL error body.
async fn error_body(
    response: reqwest::Response,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = response.status();
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json", "{status}");
    let body: Value = response.json().await.expect("a JSON body");
    assert!(body["errors"][0]["message"].is_string(), "{body}");
    assert!(body.get("data").is_none(), "{body}");
    (status, headers, body)
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_a_graphql_error_body() {
    let gw = start().await;
    for path in [
        "/nowhere",
        "/graphql/extra",
        "/requests/r-1",
        "/graphiql/assets/none.js",
    ] {
        let response = gw.http.get(gw.url(path)).send().await.unwrap();
        let (status, _, body) = error_body(response).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(code(&body), "NOT_FOUND", "{path}: {body}");
    }
    let cases = [
        (reqwest::Method::PUT, "/graphql", "GET,HEAD,POST"),
        (reqwest::Method::DELETE, "/graphql", "GET,HEAD,POST"),
        (reqwest::Method::PATCH, "/graphql", "GET,HEAD,POST"),
        (reqwest::Method::POST, "/health", "GET,HEAD"),
        (reqwest::Method::POST, "/graphql/ws", "GET,HEAD"),
        (reqwest::Method::GET, "/requests/r-1/attachments", "PUT"),
        (
            reqwest::Method::DELETE,
            "/requests/r-1/attachments/ab",
            "GET,HEAD",
        ),
    ];
    for (method, path, allow) in cases {
        let response = gw
            .http
            .request(method.clone(), gw.url(path))
            .send()
            .await
            .unwrap();
        let (status, headers, body) = error_body(response).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let mut allowed: Vec<&str> = headers["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(str::trim)
            .collect();
        allowed.sort();
        assert_eq!(allowed.join(","), allow, "{method} {path}");
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(reason(&body), "METHOD_NOT_ALLOWED", "{body}");
    }
    let (status, body) = gw.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn refused_websocket_upgrades_answer_a_graphql_error_body() {
    let gw = start().await;
    // No subprotocol.
    let response = gw.http.get(gw.url("/graphql/ws")).send().await.unwrap();
    let (status, _, body) = error_body(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    // The subprotocol, but not a websocket upgrade.
    let response = gw
        .http
        .get(gw.url("/graphql/ws"))
        .header("sec-websocket-protocol", "graphql-transport-ws")
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_body(response).await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(reason(&body), "MALFORMED_REQUEST", "{body}");
    // A real upgrade still works.
    let mut ws = connect(&gw).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "connection_ack");
}

/// Sends `head` and then `len` bytes of body over a raw connection (the server may answer
/// before it has read them all); returns the status line's code, the head and the body.
async fn raw_exchange(gw: &Gateway, head: String, len: usize) -> (u16, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = gw.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            writer.write_all(&chunk[..n]).await?;
            sent += n;
        }
        // Dropping the write half would half-close the connection, which the server takes
        // for the client going away: keep it open until the answer is read.
        std::future::pending::<()>().await;
        Ok::<_, std::io::Error>(())
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => break,
                Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            // Complete once the head and as many bytes as Content-Length say have arrived.
            let text = String::from_utf8_lossy(&answer).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                });
                if length.is_some_and(|n| body.len() >= n) {
                    break;
                }
            }
        }
    })
    .await;
    writing.abort();
    assert!(read.is_ok(), "no complete answer");
    let text = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    (status, head.to_string(), body)
}

#[tokio::test]
async fn attachment_routes_answer_rejections_with_a_graphql_error_body() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    let addr = gw.base.trim_start_matches("http://").to_string();
    let len = imi_domain::request::MAX_ATTACHMENT_BYTES as usize + 1;
    let head = format!(
        "PUT /requests/r-1/attachments HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/pdf\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    let (status, head, body) = raw_exchange(&gw, head, len).await;
    assert_eq!(status, 413, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(reason(&body), "PAYLOAD_TOO_LARGE", "{body}");

    // A path segment that is not UTF-8.
    let response = gw
        .http
        .get(gw.url("/requests/%FF/attachments/ab"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_body(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

    let (status, body) = gw.gql(Some(&token), "{ me { userId } }", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Ends every connection to the test's database but the caller's, and waits until they are gone.
async fn terminate_connections(url: &str) {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    for _ in 0..100 {
        let others: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if others == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the connections were not terminated");
}

#[tokio::test]
async fn a_connection_ended_by_the_database_answers_unavailable() {
    let db = imi_testkit::fresh_database().await;
    imi_store::migrate(&db.pool).await.unwrap();
    // One connection, handed out without a liveness check: the request after the termination
    // is sure to run on the dead connection.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect(&db.url)
        .await
        .unwrap();
    let gw = serve(services(pool)).await;
    let wrong_login = || {
        gw.gql(
            None,
            "mutation { login(login: \"nobody\", password: \"not the password\") { token } }",
            json!({}),
        )
    };
    let (_, body) = wrong_login().await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");

    terminate_connections(&db.url).await;
    let (status, body) = wrong_login().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(code(&body), "UNAVAILABLE", "{body}");
    assert_eq!(reason(&body), "UNAVAILABLE", "{body}");
    // The database's own words for why, nothing else of its text.
    assert_eq!(
        body["errors"][0]["message"],
        "the database is unavailable (the database says: terminating connection due to \
         administrator command), try again later"
    );

    // A write, with a valid token, on a dead connection again.
    let (token, _) =
        imi_gateway::auth::issue(SECRET, "user-x", "nimic-de", chrono::Utc::now()).unwrap();
    let recovered = async {
        for _ in 0..5 {
            let (_, body) = wrong_login().await;
            if code(&body) == "UNAUTHENTICATED" {
                return true;
            }
        }
        false
    };
    assert!(recovered.await, "the pool did not reconnect");
    terminate_connections(&db.url).await;
    let (_, body) = gw
        .gql(
            Some(&token),
            SET_TITLE,
            set_title_input("nimic-de", "fr", "Titre"),
        )
        .await;
    assert_eq!(code(&body), "UNAVAILABLE", "{body}");

    // The server answers again once the pool has reconnected.
    let mut answered = false;
    for _ in 0..5 {
        let (_, body) = wrong_login().await;
        if code(&body) == "UNAUTHENTICATED" {
            answered = true;
            break;
        }
    }
    assert!(answered, "the pool did not reconnect");
}

/// A NUL character in a subscription's argument or variables is refused over the websocket
/// too, and the connection goes on serving.
#[tokio::test]
async fn nul_characters_are_refused_over_the_websocket() {
    let gw = start().await;
    let mut ws = connect(&gw).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "connection_ack");
    let inline = "subscription { authorityUpdated(authorityId: \"a\\u0000b\") { initial } }";
    let with_variables =
        "subscription($id: ID!) { authorityUpdated(authorityId: $id) { initial } }";
    for (id, payload) in [
        ("inline", json!({ "query": inline })),
        (
            "variables",
            json!({ "query": with_variables, "variables": { "id": "a\u{0}b" } }),
        ),
    ] {
        send(
            &mut ws,
            json!({ "id": id, "type": "subscribe", "payload": payload }),
        )
        .await;
        let answer = receive(&mut ws)
            .await
            .expect("an answer, not a closed socket");
        assert_eq!(answer["id"], id, "{answer}");
        assert_eq!(code(&answer["payload"]), "BAD_USER_INPUT", "{answer}");
        assert_eq!(reason(&answer["payload"]), "NUL_IN_TEXT", "{answer}");
        let done = receive(&mut ws).await.unwrap();
        assert_eq!(done["type"], "complete", "{done}");
    }
    send(
        &mut ws,
        json!({ "id": "ok", "type": "subscribe", "payload": { "query": "{ __typename }" } }),
    )
    .await;
    let answer = receive(&mut ws).await.unwrap();
    assert_eq!(answer["payload"]["data"]["__typename"], "Query", "{answer}");
    let _ = ws.close(None).await;
}

#[tokio::test]
async fn an_exhausted_pool_answers_unavailable_with_its_cause() {
    let db = imi_testkit::fresh_database().await;
    imi_store::migrate(&db.pool).await.unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_millis(300))
        .connect(&db.url)
        .await
        .unwrap();
    let gw = serve(services(pool.clone())).await;
    // The pool's only connection, held elsewhere.
    let held = pool.acquire().await.unwrap();
    let (status, body) = gw
        .gql(
            None,
            "mutation { login(login: \"nobody\", password: \"not the password\") { token } }",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(code(&body), "UNAVAILABLE", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the connection pool is exhausted"),
        "{body}"
    );
    drop(held);
}
