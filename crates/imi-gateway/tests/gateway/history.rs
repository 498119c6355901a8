//! `exchangeHistory` for auditors: an auditor of a Member State's national coordinator reads
//! every event of an exchange its Member State took part in, with who acted and the hash chain,
//! personal data sealed; an exchange of another Member State is as unknown as a missing one;
//! anyone else is refused.

use crate::support::*;
use serde_json::{json, Value};

const HISTORY: &str = "query($exchange: String!, $first: Int = 20, $after: String) {
  exchangeHistory(exchange: $exchange, first: $first, after: $after) {
    edges { cursor node { position aggregateType aggregateId sequence eventType eventVersion
      payload actingUser actingAuthority correlationId recordedAt prevHash hash } }
    pageInfo { hasNextPage endCursor }
  }
}";

fn error(body: &Value) -> (Value, Value) {
    (
        body["errors"][0]["extensions"]["code"].clone(),
        body["errors"][0]["message"].clone(),
    )
}

#[tokio::test]
async fn an_auditor_reads_the_histories_of_their_member_state_only_without_personal_data() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let fr = gw.seed_nimic("FR").await;
    let de_token = gw.login(&de).await;
    let fr_token = gw.login(&fr).await;
    let own = json!({ "exchange": format!("Authority/{}", de.authority_id) });

    // Not an auditor: refused; the role is given by a data administrator.
    let (_, body) = gw.gql(Some(&de_token), HISTORY, own.clone()).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let body = grant_role(&gw, &de_token, &de, "AUDITOR").await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let body = grant_role(&gw, &de_token, &de, "DATA_ADMINISTRATOR").await;
    assert!(body["errors"].is_null(), "{body}");
    let body = grant_role(&gw, &de_token, &de, "AUDITOR").await;
    assert!(body["errors"].is_null(), "{body}");

    let (_, body) = gw.gql(Some(&de_token), HISTORY, own.clone()).await;
    assert!(body["errors"].is_null(), "{body}");
    let edges = body["data"]["exchangeHistory"]["edges"].as_array().unwrap();
    assert!(edges.len() >= 3, "registration and the grants: {body}");
    let nodes: Vec<&Value> = edges.iter().map(|e| &e["node"]).collect();
    assert_eq!(nodes[0]["sequence"], 1);
    assert!(nodes[0]["prevHash"].is_null(), "{body}");
    for pair in nodes.windows(2) {
        assert_eq!(pair[1]["prevHash"], pair[0]["hash"], "{body}");
        assert!(pair[1]["position"].as_i64() > pair[0]["position"].as_i64());
    }
    assert!(
        nodes.iter().any(|n| n["eventType"] == "UserRolesGranted"
            && n["actingUser"] == format!("user:{}", de.user_id).as_str()),
        "{body}"
    );
    // Personal data stay sealed: the users' identities show as the key they are sealed under.
    let text = body.to_string();
    assert!(text.contains("\"sealed\""), "{body}");
    assert!(!text.contains("\"ct\""), "{body}");

    // Pages continue after the last position shown.
    let (_, first) = gw
        .gql(
            Some(&de_token),
            HISTORY,
            json!({ "exchange": own["exchange"], "first": 1 }),
        )
        .await;
    let page = &first["data"]["exchangeHistory"];
    assert_eq!(page["pageInfo"]["hasNextPage"], true, "{first}");
    let (_, next) = gw
        .gql(
            Some(&de_token),
            HISTORY,
            json!({ "exchange": own["exchange"], "first": 1,
                    "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(
        next["data"]["exchangeHistory"]["edges"][0]["node"]["sequence"], 2,
        "{next}"
    );

    // Another Member State's exchange is as unknown as a missing one.
    let (_, other) = gw
        .gql(
            Some(&de_token),
            HISTORY,
            json!({ "exchange": format!("Authority/{}", fr.authority_id) }),
        )
        .await;
    let (_, missing) = gw
        .gql(
            Some(&de_token),
            HISTORY,
            json!({ "exchange": "Authority/none" }),
        )
        .await;
    assert_eq!(error(&other), error(&missing), "{other}");
    assert_eq!(code(&other), "NOT_FOUND");
    // Bad input is refused with a code.
    for bad in [
        json!({ "exchange": "nonsense" }),
        json!({ "exchange": own["exchange"], "first": 1000 }),
    ] {
        let (_, body) = gw.gql(Some(&de_token), HISTORY, bad).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    }
    // A coordinator that is no auditor, and an anonymous caller, learn nothing.
    let (_, body) = gw.gql(Some(&fr_token), HISTORY, own.clone()).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = gw.gql(None, HISTORY, own).await;
    assert!(body["errors"].is_array(), "{body}");
    assert!(
        body["data"].is_null() || body["data"]["exchangeHistory"].is_null(),
        "{body}"
    );
}
