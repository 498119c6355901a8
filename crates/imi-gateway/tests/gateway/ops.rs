//! Health, readiness and metrics.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn health_ready_and_metrics() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;

    let health = gw.http.get(gw.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok\nmode: production\n");

    let ready = gw.http.get(gw.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");

    let (_, body) = gw
        .gql(
            Some(&token),
            SET_TITLE,
            set_title_input(&de.authority_id, "fr", "Titre"),
        )
        .await;
    assert_eq!(body["data"]["setInformalTitle"]["waited"], true, "{body}");
    let (_, body) = gw
        .gql(
            Some(&token),
            SET_TITLE,
            set_title_input(&de.authority_id, "xx", "Titre"),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let (_, body) = gw
        .gql(
            Some(&token),
            SET_TITLE,
            set_title_input("nimic-zz", "fr", "Titre"),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let _ = gw.http.get(gw.url("/nowhere")).send().await.unwrap();

    let metrics = gw.http.get(gw.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    for expected in [
        "imi_projection_status_up 1",
        "imi_projection_lag_events{projection=\"authority_directory\",slot=\"live\"} ",
        "imi_projection_lag_seconds{projection=\"authority_directory\",slot=\"live\"} ",
        "imi_projection_checkpoint_position{projection=\"authority_directory\",slot=\"live\"} ",
        "imi_http_requests_total{route=\"/graphql\",method=\"POST\",status=\"200\"} ",
        "imi_http_requests_total{route=\"/ready\",method=\"GET\",status=\"200\"} 1",
        "imi_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "imi_commands_total{aggregate=\"Authority\",command=\"SetInformalTitle\",result=\"ok\"} 1",
        "imi_commands_total{aggregate=\"Authority\",command=\"SetInformalTitle\",result=\"not_found\"} 1",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    // The checkpoint gauge is read at scrape time: it stands at the last event.
    let last: i64 = sqlx::query_scalar("SELECT max(position) FROM events")
        .fetch_one(&gw.pool)
        .await
        .unwrap();
    assert!(text.contains(&format!(
        "imi_projection_checkpoint_position{{projection=\"authority_directory\",slot=\"live\"}} {last}"
    )), "{text}");
}

#[tokio::test]
async fn ready_is_503_until_the_database_is_migrated() {
    let db = imi_testkit::fresh_database().await;
    let gw = serve(services(db.pool.clone())).await;

    let health = gw.http.get(gw.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let ready = gw.http.get(gw.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["reason"], "migrations not applied");
    assert_eq!(code(&body), "UNAVAILABLE", "{body}");

    // Metrics still answer, and say the projections could not be read.
    let text = gw
        .http
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("imi_projection_status_up 0"), "{text}");

    // A GraphQL read answers INTERNAL without database text.
    let (_, body) = gw
        .gql(
            None,
            "mutation { login(login: \"a\", password: \"b\") { token } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "INTERNAL", "{body}");
    assert_eq!(body["errors"][0]["message"], "internal error");

    imi_store::migrate(&db.pool).await.unwrap();
    let ready = gw.http.get(gw.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}
