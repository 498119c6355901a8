//! Reference data over HTTP: lists in the caller's language, Relay pages, registers and
//! helpdesks.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const AREAS: &str = "query($first: Int, $after: String) {
  legislativeAreas(first: $first, after: $after) {
    edges { cursor node { code name { text language fallback } workflows act } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}";
const PROFESSIONS: &str = "query($area: String, $language: String) {
  professions(area: $area, language: $language, first: 100) {
    edges { node { code area name { text language fallback } } }
  }
}";
const KEYWORDS: &str = "query($first: Int, $after: String) {
  keywords(list: POLICY_AREAS, first: $first, after: $after) {
    edges { node { code list } } pageInfo { hasNextPage endCursor }
  }
}";
const REGISTERS: &str = "query($text: String, $ms: String) {
  registers(text: $text, memberState: $ms, language: \"fr\") {
    edges { node { id memberState name { text language fallback } } }
  }
}";
const HELPDESKS: &str = "query($ms: String, $commission: Boolean) {
  helpdesks(memberState: $ms, commission: $commission, language: \"de\") {
    edges { node { id memberState name { text language } languages } }
  }
}";

fn nodes(body: &Value, field: &str) -> Vec<Value> {
    assert!(body.get("errors").is_none(), "{body}");
    body["data"][field]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges: {body}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn reference_lists_pages_registers_and_helpdesks() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;

    // Anonymous callers read nothing.
    let (_, b) = gw.gql(None, AREAS, json!({})).await;
    assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");

    let (s, first) = gw.gql(Some(&token), AREAS, json!({ "first": 3 })).await;
    assert_eq!(s, StatusCode::OK);
    let page1 = nodes(&first, "legislativeAreas");
    assert_eq!(page1.len(), 3);
    assert_eq!(
        first["data"]["legislativeAreas"]["pageInfo"]["hasNextPage"],
        true
    );
    let after = first["data"]["legislativeAreas"]["pageInfo"]["endCursor"].clone();
    let (_, second) = gw
        .gql(Some(&token), AREAS, json!({ "first": 3, "after": after }))
        .await;
    let page2 = nodes(&second, "legislativeAreas");
    assert_eq!(page2.len(), 2);
    assert_eq!(
        second["data"]["legislativeAreas"]["pageInfo"]["hasNextPage"],
        false
    );
    let codes: Vec<&str> = page1
        .iter()
        .chain(page2.iter())
        .map(|n| n["code"].as_str().unwrap())
        .collect();
    assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
    assert!(codes.contains(&"PQ"));

    let (_, fr) = gw
        .gql(
            Some(&token),
            PROFESSIONS,
            json!({ "area": "PQ", "language": "fr" }),
        )
        .await;
    let doctor = nodes(&fr, "professions")
        .into_iter()
        .find(|n| n["code"] == "doctor")
        .expect("doctor");
    assert_eq!(doctor["area"], "PQ");
    assert_eq!(
        doctor["name"],
        json!({ "text": "Médecin (formation médicale de base)", "language": "fr", "fallback": false })
    );

    let (_, k1) = gw.gql(Some(&token), KEYWORDS, json!({ "first": 1 })).await;
    let one = nodes(&k1, "keywords");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["list"], "POLICY_AREAS");
    let after = k1["data"]["keywords"]["pageInfo"]["endCursor"].clone();
    let (_, k2) = gw
        .gql(
            Some(&token),
            KEYWORDS,
            json!({ "first": 1, "after": after }),
        )
        .await;
    let two = nodes(&k2, "keywords");
    assert_ne!(two[0]["code"], one[0]["code"]);

    let (_, r) = gw
        .gql(
            Some(&token),
            REGISTERS,
            json!({ "text": "commercial", "ms": "DE" }),
        )
        .await;
    let found = nodes(&r, "registers");
    assert!(found.iter().any(|n| n["id"] == "de-handelsregister"), "{r}");
    let handelsregister = found
        .iter()
        .find(|n| n["id"] == "de-handelsregister")
        .unwrap();
    assert_eq!(handelsregister["name"]["text"], "Registre du commerce");

    let (_, h) = gw.gql(Some(&token), HELPDESKS, json!({ "ms": "AT" })).await;
    let at = nodes(&h, "helpdesks");
    assert_eq!(at.len(), 1, "{h}");
    assert_eq!(at[0]["name"]["text"], "IMI-Helpdesk (Österreich)");
    let (_, c) = gw
        .gql(Some(&token), HELPDESKS, json!({ "commission": true }))
        .await;
    let commission = nodes(&c, "helpdesks");
    assert!(!commission.is_empty(), "{c}");
    assert!(commission.iter().all(|n| n["memberState"].is_null()));
    let (_, bad) = gw.gql(Some(&token), HELPDESKS, json!({ "ms": "XX" })).await;
    assert_eq!(code(&bad), "BAD_USER_INPUT", "{bad}");
}
