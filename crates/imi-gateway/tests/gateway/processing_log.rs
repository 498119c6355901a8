//! `processingLog` for data protection officers: a data protection officer of a Member State's
//! national coordinator reads the entries by users of that Member State's authorities, paged;
//! anyone else is refused (FORBIDDEN) and learns nothing.

use crate::support::*;
use imi_store::processing_log::{record, Kind, Processing};
use serde_json::json;

const LOG: &str = "query($exchange: String, $user: ID, $first: Int = 20, $after: String) {
  processingLog(exchange: $exchange, user: $user, first: $first, after: $after) {
    edges { cursor node { exchange kind operation fields level actingUser actingAuthority } }
    pageInfo { hasNextPage endCursor }
  }
}";

async fn read(gw: &Gateway, exchange: &str, user: &str, authority: &str) {
    record(
        &gw.pool,
        &Processing {
            exchange: exchange.into(),
            kind: Kind::Read,
            operation: "request.content".into(),
            fields: vec!["subject".into()],
            level: Some("FullWithPersonalData".into()),
            acting_user: format!("user:{user}"),
            acting_authority: Some(authority.into()),
        },
    )
    .await
    .expect("record");
}

#[tokio::test]
async fn a_data_protection_officer_reads_the_entries_of_their_member_state_only() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let fr = gw.seed_nimic("FR").await;
    let de_token = gw.login(&de).await;
    let fr_token = gw.login(&fr).await;

    // Not yet an officer: refused, as is a local data administrator granting it alone.
    let (_, refused) = gw.gql(Some(&de_token), LOG, json!({})).await;
    assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
    let body = grant_role(&gw, &de_token, &de, "DATA_PROTECTION_OFFICER").await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    // The national coordinator's data administrator appoints the officer.
    let body = grant_role(&gw, &de_token, &de, "DATA_ADMINISTRATOR").await;
    assert!(body["errors"].is_null(), "{body}");
    let body = grant_role(&gw, &de_token, &de, "DATA_PROTECTION_OFFICER").await;
    assert!(body["errors"].is_null(), "{body}");

    read(&gw, "InformationRequest/r-1", &de.user_id, &de.authority_id).await;
    read(&gw, "InformationRequest/r-2", &de.user_id, &de.authority_id).await;
    read(&gw, "InformationRequest/r-1", &fr.user_id, &fr.authority_id).await;

    let (_, body) = gw.gql(Some(&de_token), LOG, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    let edges = body["data"]["processingLog"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    let of: Vec<&str> = edges
        .iter()
        .map(|e| e["node"]["actingAuthority"].as_str().unwrap())
        .collect();
    // The DE entries (the grants above wrote no personal data), never France's.
    assert!(of.iter().all(|a| *a == de.authority_id), "{body}");
    assert!(of.len() >= 2, "{body}");
    assert!(!body.to_string().contains(&fr.user_id), "{body}");

    // Filters and pages.
    let (_, body) = gw
        .gql(
            Some(&de_token),
            LOG,
            json!({ "exchange": "InformationRequest/r-1", "user": de.user_id, "first": 1 }),
        )
        .await;
    let page = &body["data"]["processingLog"];
    assert_eq!(page["edges"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(
        page["edges"][0]["node"]["exchange"],
        "InformationRequest/r-1"
    );
    assert_eq!(page["pageInfo"]["hasNextPage"], false, "{body}");
    let (_, body) = gw
        .gql(
            Some(&de_token),
            LOG,
            json!({ "exchange": "InformationRequest/r-1", "first": 5 }),
        )
        .await;
    assert_eq!(
        body["data"]["processingLog"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "France's reading of r-1 is not Germany's to see: {body}"
    );

    // Another Member State's coordinator, and an anonymous caller, learn nothing.
    let (_, body) = gw.gql(Some(&fr_token), LOG, json!({})).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert!(
        body["data"].is_null() || body["data"]["processingLog"].is_null(),
        "{body}"
    );
    let (_, body) = gw.gql(None, LOG, json!({})).await;
    assert!(body["errors"].is_array(), "{body}");
    assert!(
        body["data"].is_null() || body["data"]["processingLog"].is_null(),
        "{body}"
    );
    // Bad input writes nothing and is refused with a code.
    let (_, body) = gw.gql(Some(&de_token), LOG, json!({ "first": 1000 })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}
