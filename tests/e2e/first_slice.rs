//! The first slice, end to end: a Member State's coordinator signs in, finds itself in the
//! directory, gives itself a French informal title and reads it back at once, in French and,
//! with a visible fallback, in another language, while a subscriber is told of the change.

use crate::harness::start;
use serde_json::{json, Value};

const LOGIN: &str = "mutation($login: String!, $password: String!) {
  login(login: $login, password: $password) { token userId authorityId expiresAt }
}";

const FIND: &str = "query($text: String, $memberState: String, $language: String) {
  authorities(text: $text, memberState: $memberState, language: $language, first: 10) {
    edges { cursor node {
      id memberState kind officialName
      informalTitle { text language fallback }
      informalTitles { text language fallback }
    } }
    pageInfo { hasNextPage endCursor }
  }
}";

const SET_TITLE: &str = "mutation($input: SetInformalTitleInput!) {
  setInformalTitle(input: $input) { position waited }
}";

const FOLLOW: &str = "subscription($id: ID!) {
  authorityUpdated(authorityId: $id, language: \"fr\") {
    initial
    authority { id informalTitle { text language fallback } updatedAt }
  }
}";

fn nodes(answer: &Value) -> Vec<Value> {
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["authorities"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"].clone())
        .collect()
}

#[tokio::test]
async fn a_coordinator_sets_a_french_title_and_everyone_reads_it_at_once() {
    let service = start().await;
    let be = service
        .seed_national_coordinator("BE", "Service public fédéral Economie")
        .await;
    service
        .seed_national_coordinator("LU", "Ministère de l'Économie")
        .await;

    // Sign in as Belgium's local data administrator.
    let answer = service
        .graphql(
            None,
            None,
            LOGIN,
            json!({ "login": be.login, "password": be.password }),
        )
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    let login = &answer["data"]["login"];
    assert_eq!(login["userId"], be.user_id.as_str());
    assert_eq!(login["authorityId"], be.authority_id.as_str());
    let token = login["token"].as_str().expect("a token").to_string();

    // The coordinator finds itself in the directory (the projector may still be catching up
    // with the seed: a client would poll the same way).
    let mut found = Vec::new();
    for _ in 0..100 {
        let answer = service
            .graphql(Some(&token), None, FIND, json!({ "memberState": "BE" }))
            .await;
        found = nodes(&answer);
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found.len(), 1, "{found:?}");
    let me = &found[0];
    assert_eq!(me["id"], be.authority_id.as_str());
    assert_eq!(me["kind"], "NATIONAL_COORDINATOR");
    assert_eq!(me["officialName"], "Service public fédéral Economie");
    assert_eq!(
        me["informalTitle"],
        json!({ "text": "IMI coordinator BE", "language": "en", "fallback": false })
    );

    // Someone (here the coordinator itself) follows the authority's directory entry.
    let mut subscriptions = service.subscriptions(&token).await;
    subscriptions
        .subscribe("follow-be", FOLLOW, json!({ "id": be.authority_id }))
        .await;
    let initial = subscriptions.receive().await;
    assert_eq!(initial["type"], "next", "{initial}");
    assert_eq!(
        initial["payload"]["data"]["authorityUpdated"]["initial"],
        true
    );

    // It sets its French informal title and waits for the directory.
    let answer = service
        .graphql(
            Some(&token),
            None,
            SET_TITLE,
            json!({ "input": {
                "authorityId": be.authority_id,
                "language": "fr",
                "title": "Coordinateur IMI pour la Belgique",
                "waitFor": ["authority_directory"],
            }}),
        )
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    let payload = &answer["data"]["setInformalTitle"];
    assert_eq!(payload["waited"], true, "{answer}");
    assert!(payload["position"]
        .as_str()
        .is_some_and(|p| p.contains(':')));

    // Read back at once, in French: found by its new title, French first and not a fallback.
    let answer = service
        .graphql(
            Some(&token),
            Some("fr-BE,fr;q=0.9,nl;q=0.8"),
            FIND,
            json!({ "text": "pour la Belgique" }),
        )
        .await;
    let found = nodes(&answer);
    assert_eq!(found.len(), 1, "{answer}");
    assert_eq!(
        found[0]["informalTitle"],
        json!({ "text": "Coordinateur IMI pour la Belgique", "language": "fr", "fallback": false })
    );
    assert_eq!(
        found[0]["informalTitles"],
        json!([
            { "text": "Coordinateur IMI pour la Belgique", "language": "fr", "fallback": false },
            { "text": "IMI coordinator BE", "language": "en", "fallback": true },
        ])
    );

    // In German, which it has no title in: English, visibly a fallback.
    let answer = service
        .graphql(
            Some(&token),
            None,
            FIND,
            json!({ "memberState": "BE", "language": "de" }),
        )
        .await;
    let found = nodes(&answer);
    assert_eq!(
        found[0]["informalTitle"],
        json!({ "text": "IMI coordinator BE", "language": "en", "fallback": true })
    );
    assert_eq!(found[0]["informalTitles"][0]["language"], "en");

    // The subscriber was told.
    let update = subscriptions.receive().await;
    assert_eq!(update["type"], "next", "{update}");
    assert_eq!(update["id"], "follow-be");
    let update = &update["payload"]["data"]["authorityUpdated"];
    assert_eq!(update["initial"], false);
    assert_eq!(update["authority"]["id"], be.authority_id.as_str());
    assert_eq!(
        update["authority"]["informalTitle"],
        json!({ "text": "Coordinateur IMI pour la Belgique", "language": "fr", "fallback": false })
    );
    subscriptions.close().await;

    // Luxembourg's coordinator may read Belgium's entry but not edit it.
    let lu_answer = service
        .graphql(
            None,
            None,
            LOGIN,
            json!({ "login": "lu.nimic", "password": "lu-coordinator-password" }),
        )
        .await;
    let lu_token = lu_answer["data"]["login"]["token"].as_str().expect("token");
    let answer = service
        .graphql(
            Some(lu_token),
            None,
            SET_TITLE,
            json!({ "input": { "authorityId": be.authority_id, "language": "fr", "title": "Annexé" } }),
        )
        .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{answer}"
    );
}
