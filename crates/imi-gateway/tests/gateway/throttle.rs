//! Login throttling: per login name and per client address, kept in the database.

use crate::support::*;
use chrono::Duration;
use imi_store::clock::AdjustableClock;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

const LOGIN: &str =
    "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }";

/// One request signing in as `logins[i]` with a wrong password, for each i, under aliases.
fn guesses(logins: &[String]) -> String {
    let mut document = String::from("mutation {");
    for (i, login) in logins.iter().enumerate() {
        document.push_str(&format!(
            " a{i}: login(login: \"{login}\", password: \"wrong guess number {i}\") {{ token }}"
        ));
    }
    document.push_str(" }");
    document
}

/// How many errors of `body` carry each code.
fn codes(body: &Value) -> (usize, usize) {
    let errors = body["errors"].as_array().expect("errors");
    let count = |wanted: &str| {
        errors
            .iter()
            .filter(|e| e["extensions"]["code"] == wanted)
            .count()
    };
    (count("UNAUTHENTICATED"), count("TOO_MANY_REQUESTS"))
}

fn assert_locked(body: &Value) {
    assert_eq!(code(body), "TOO_MANY_REQUESTS", "{body}");
    assert_eq!(reason(body), "LOGIN_LOCKED", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("too many failed sign-ins: try again after "),
        "{message}"
    );
    assert!(body["data"].is_null(), "{body}");
}

async fn sign_in(gw: &Gateway, login: &str, password: &str) -> Value {
    let (status, body) = gw
        .gql(None, LOGIN, json!({ "l": login, "p": password }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn five_failures_lock_a_login_out_even_for_the_right_password() {
    let clock = Arc::new(AdjustableClock::new());
    let gw = start_with_clock(clock.clone()).await;
    let de = gw.seed_nimic("DE").await;

    // 500 guesses in one request: five are checked, the others refused unchecked.
    let (status, body) = gw
        .gql(None, &guesses(&vec![de.login.clone(); 500]), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(codes(&body), (5, 495), "{body}");
    let locked = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["extensions"]["code"] == "TOO_MANY_REQUESTS")
        .unwrap();
    assert_eq!(locked["extensions"]["reason"], "LOGIN_LOCKED");

    // The right password is refused while locked, by this gateway and by a fresh one on the
    // same database (another process, or this one restarted).
    assert_locked(&sign_in(&gw, &de.login, PASSWORD).await);
    let other = serve(gw.services.clone()).await;
    assert_locked(&sign_in(&other, &de.login, PASSWORD).await);

    let text = gw
        .http
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "# HELP imi_login_failures_total ",
        "# HELP imi_login_lockouts_total ",
        "# HELP imi_login_throttled_total ",
        "imi_login_failures_total 5",
        "imi_login_lockouts_total{scope=\"login\"} 1",
        "imi_login_lockouts_total{scope=\"address\"} 0",
        "imi_login_throttled_total{scope=\"login\"} 496",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }

    // After the lockout (15 minutes), the right password works and resets the count.
    clock.advance(Duration::minutes(14));
    assert_locked(&sign_in(&gw, &de.login, PASSWORD).await);
    clock.advance(Duration::minutes(2));
    gw.login(&de).await;

    // Five more failures lock it out again, for 15 minutes (the success forgot the lockout)...
    let (_, body) = gw
        .gql(None, &guesses(&vec![de.login.clone(); 6]), json!({}))
        .await;
    assert_eq!(codes(&body), (5, 1), "{body}");
    clock.advance(Duration::minutes(16));
    // ...and five failures right after that one ends lock it out twice as long.
    let (_, body) = gw
        .gql(None, &guesses(&vec![de.login.clone(); 6]), json!({}))
        .await;
    assert_eq!(codes(&body), (5, 1), "{body}");
    clock.advance(Duration::minutes(16));
    assert_locked(&sign_in(&gw, &de.login, PASSWORD).await);
    clock.advance(Duration::minutes(15));
    gw.login(&de).await;
}

#[tokio::test]
async fn unknown_logins_are_throttled_alike() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let (_, known) = gw
        .gql(None, &guesses(&vec![de.login.clone(); 7]), json!({}))
        .await;
    let (_, unknown) = gw
        .gql(
            None,
            &guesses(&vec!["nobody.here".to_string(); 7]),
            json!({}),
        )
        .await;
    assert_eq!(codes(&known), (5, 2), "{known}");
    assert_eq!(codes(&unknown), (5, 2), "{unknown}");
    // Same answers, apart from the time in the message.
    let shape = |body: &Value| -> Vec<(Value, Value)> {
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["extensions"].clone(), e["path"].clone()))
            .collect()
    };
    assert_eq!(shape(&known), shape(&unknown));
    // Letter case does not make another login.
    assert_locked(&sign_in(&gw, "NOBODY.here", "still a wrong guess").await);
}

#[tokio::test]
async fn one_address_fails_at_most_fifty_times_across_logins() {
    let clock = Arc::new(AdjustableClock::new());
    let gw = start_with_clock(clock.clone()).await;
    let de = gw.seed_nimic("DE").await;
    // Ten logins, five failures each: fifty failures from this address.
    let logins: Vec<String> = (0..50).map(|i| format!("someone.{}", i / 5)).collect();
    let (_, body) = gw.gql(None, &guesses(&logins), json!({})).await;
    assert_eq!(codes(&body), (50, 0), "{body}");
    // Now any login from this address is refused unchecked, the right password too.
    let (_, body) = gw
        .gql(None, &guesses(&["someone.new".to_string()]), json!({}))
        .await;
    assert_locked(&body);
    assert_locked(&sign_in(&gw, &de.login, PASSWORD).await);

    let text = gw
        .http
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "imi_login_failures_total 50",
        "imi_login_lockouts_total{scope=\"login\"} 10",
        "imi_login_lockouts_total{scope=\"address\"} 1",
        "imi_login_throttled_total{scope=\"address\"} 2",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }

    // The window ends after 15 minutes.
    clock.advance(Duration::minutes(16));
    gw.login(&de).await;
}
