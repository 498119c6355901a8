//! An exchange's history: its own events and those other aggregates recorded for the same
//! commands, in position order, personal data still sealed, paged.

use crate::support::migrated;
use imi_store::history::{mask_sealed, of_exchange, Related};
use serde_json::json;

async fn event(
    pool: &sqlx::PgPool,
    (aggregate_type, id, sequence): (&str, &str, i64),
    payload: serde_json::Value,
    correlation: &str,
) {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         VALUES ($1, $2, $3, 'Happened', '1', $4, $5)",
    )
    .bind(aggregate_type)
    .bind(id)
    .bind(sequence)
    .bind(payload)
    .bind(
        json!({ "acting_user": "user:u1", "acting_authority": "de-ca",
                  "correlation_id": correlation }),
    )
    .execute(pool)
    .await
    .unwrap();
}

fn sealed(key: &str) -> serde_json::Value {
    json!({ "key": key, "alg": "A256GCM", "nonce": "bm9uY2U=", "ct": "c2VjcmV0" })
}

#[tokio::test]
async fn a_history_follows_the_exchange_and_what_its_commands_touched() {
    let pool = migrated().await;
    let subject = sealed("InformationRequest/r1");
    event(
        &pool,
        ("InformationRequest", "r1", 1),
        json!({ "Drafted": { "subject": subject } }),
        "c1",
    )
    .await;
    // The same command also recorded an event on an authority; another command did not.
    event(
        &pool,
        ("Authority", "de-ca", 1),
        json!({ "Noted": {} }),
        "c1",
    )
    .await;
    event(
        &pool,
        ("Authority", "fr-ca", 1),
        json!({ "Other": {} }),
        "c9",
    )
    .await;
    event(
        &pool,
        ("InformationRequest", "r1", 2),
        json!({ "Sent": { "to": ["fr-ca"] } }),
        "c2",
    )
    .await;
    event(
        &pool,
        ("InformationRequest", "r2", 1),
        json!({ "Drafted": {} }),
        "c3",
    )
    .await;

    let history = of_exchange(&pool, "InformationRequest", "r1", Related::All, None, 10)
        .await
        .unwrap();
    let seen: Vec<(String, i64)> = history
        .iter()
        .map(|e| {
            (
                format!("{}/{}", e.aggregate_type, e.aggregate_id),
                e.sequence,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("InformationRequest/r1".to_string(), 1),
            ("Authority/de-ca".to_string(), 1),
            ("InformationRequest/r1".to_string(), 2)
        ]
    );
    let first = &history[0];
    assert_eq!(
        first.payload,
        json!({ "Drafted": { "subject": { "sealed": "InformationRequest/r1" } } })
    );
    assert!(!first.payload.to_string().contains("c2VjcmV0"));
    assert_eq!(first.acting_user.as_deref(), Some("user:u1"));
    assert_eq!(first.acting_authority.as_deref(), Some("de-ca"));
    assert_eq!(first.correlation_id.as_deref(), Some("c1"));
    assert_eq!(first.prev_hash, None);
    assert_eq!(history[2].prev_hash.as_deref(), Some(first.hash.as_str()));

    // Paged by position.
    let page = of_exchange(&pool, "InformationRequest", "r1", Related::All, None, 2)
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
    let rest = of_exchange(
        &pool,
        "InformationRequest",
        "r1",
        Related::All,
        Some(page[1].position),
        10,
    )
    .await
    .unwrap();
    assert_eq!(rest, history[2..].to_vec());
    // Only the named authorities' related events.
    let none: Vec<String> = vec![];
    let own = of_exchange(
        &pool,
        "InformationRequest",
        "r1",
        Related::Authorities(&none),
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!(own.len(), 2);
    assert!(own.iter().all(|e| e.aggregate_id == "r1"));
    let de = vec!["de-ca".to_string()];
    let with_de = of_exchange(
        &pool,
        "InformationRequest",
        "r1",
        Related::Authorities(&de),
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!(with_de, history);
    // An unknown exchange has no history.
    assert!(
        of_exchange(&pool, "InformationRequest", "none", Related::All, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[test]
fn only_values_of_the_sealed_shape_are_masked() {
    let value = json!({ "a": [sealed("Alert/1"), { "key": "not sealed" }], "b": 3 });
    assert_eq!(
        mask_sealed(value),
        json!({ "a": [{ "sealed": "Alert/1" }, { "key": "not sealed" }], "b": 3 })
    );
}
