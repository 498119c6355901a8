//! Signing in, and requests without a valid token.

use crate::support::*;
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

const LOGIN: &str = "mutation($l: String!, $p: String!) {
  login(login: $l, password: $p) { token userId authorityId expiresAt }
}";
const SEARCH: &str = "{ authorities { edges { node { id } } } }";

#[tokio::test]
async fn login_with_the_right_password_gives_a_working_token() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let (status, body) = gw
        .gql(
            None,
            LOGIN,
            json!({ "l": de.login.to_uppercase(), "p": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let login = &body["data"]["login"];
    assert_eq!(login["userId"], de.user_id.as_str());
    assert_eq!(login["authorityId"], de.authority_id.as_str());
    let expires: chrono::DateTime<Utc> = login["expiresAt"].as_str().unwrap().parse().unwrap();
    let lifetime = expires - Utc::now();
    assert!(
        lifetime > Duration::hours(11) && lifetime <= Duration::hours(12),
        "{lifetime}"
    );

    let token = login["token"].as_str().unwrap();
    let (status, body) = gw
        .gql(
            Some(token),
            "{ me { userId authorityId authority { officialName } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["me"]["userId"], de.user_id.as_str());
    assert_eq!(body["data"]["me"]["authorityId"], de.authority_id.as_str());
    assert_eq!(
        body["data"]["me"]["authority"]["officialName"],
        "National IMI Coordinator DE"
    );
}

#[tokio::test]
async fn login_with_a_wrong_password_or_login_is_unauthenticated() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let before = gw.events().await;
    for (login, password) in [
        (de.login.as_str(), "wrong password, long enough"),
        ("nobody.here", PASSWORD),
        (de.login.as_str(), ""),
    ] {
        let (status, body) = gw
            .gql(None, LOGIN, json!({ "l": login, "p": password }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
        assert_eq!(reason(&body), "WRONG_CREDENTIALS");
        assert_eq!(body["data"], Value::Null);
    }
    assert_eq!(gw.events().await, before, "a failed login wrote events");
}

/// Every protected field, read and write, with the given `Authorization` header value.
async fn assert_refused(gw: &Gateway, authorization: Option<&str>, authority_id: &str, why: &str) {
    let before = gw.events().await;
    let requests = [
        (SEARCH.to_string(), json!({})),
        ("{ me { userId } }".to_string(), json!({})),
        (
            format!("{{ authority(id: \"{authority_id}\") {{ id }} }}"),
            json!({}),
        ),
        (
            SET_TITLE.to_string(),
            set_title_input(authority_id, "fr", "Pirate"),
        ),
    ];
    for (query, variables) in requests {
        let mut request = gw
            .http
            .post(gw.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(code(&body), "UNAUTHENTICATED", "{query}: {body}");
        assert_eq!(reason(&body), why, "{query}: {body}");
        assert!(!body["errors"][0]["path"].as_array().unwrap().is_empty());
    }
    assert_eq!(
        gw.events().await,
        before,
        "an unauthenticated request wrote events"
    );
}

#[tokio::test]
async fn a_missing_token_is_unauthenticated() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    assert_refused(&gw, None, &de.authority_id, "TOKEN_MISSING").await;
}

#[tokio::test]
async fn a_forged_or_malformed_token_is_unauthenticated() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let (forged, _) = imi_gateway::auth::issue(
        b"not the gateway's secret, same length!",
        &de.user_id,
        &de.authority_id,
        Utc::now(),
    )
    .unwrap();
    assert_refused(
        &gw,
        Some(&format!("Bearer {forged}")),
        &de.authority_id,
        "TOKEN_INVALID",
    )
    .await;
    // A real token with its payload swapped for another user's.
    let real = gw.login(&de).await;
    let parts: Vec<&str> = real.split('.').collect();
    let (other, _) =
        imi_gateway::auth::issue(SECRET, "someone-else", &de.authority_id, Utc::now()).unwrap();
    let spliced = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).unwrap(),
        parts[2]
    );
    for value in [
        format!("Bearer {spliced}"),
        "Bearer not-a-jwt".to_string(),
        format!("Basic {real}"),
        "Bearer ".to_string() + &"A".repeat(5000),
    ] {
        assert_refused(&gw, Some(&value), &de.authority_id, "TOKEN_INVALID").await;
    }
}

#[tokio::test]
async fn an_expired_token_is_unauthenticated() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let (expired, _) = imi_gateway::auth::issue(
        SECRET,
        &de.user_id,
        &de.authority_id,
        Utc::now() - Duration::hours(13),
    )
    .unwrap();
    assert_refused(
        &gw,
        Some(&format!("Bearer {expired}")),
        &de.authority_id,
        "TOKEN_EXPIRED",
    )
    .await;
}

#[tokio::test]
async fn public_fields_work_with_a_bad_token() {
    // A client whose token expired can still sign in again.
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let response = gw
        .http
        .post(gw.url("/graphql"))
        .header("authorization", "Bearer expired.or.forged")
        .json(&json!({ "query": LOGIN, "variables": { "l": de.login, "p": PASSWORD } }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["data"]["login"]["token"].is_string(), "{body}");
}
