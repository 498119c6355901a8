//! Retention with the injectable clock: a PQ request is closed; its area's blocking delay is
//! raised to 18 months (a reload of the reference data), so at 6 months nothing is blocked;
//! past 18 months the scheduler blocks it (every view drops to the monitoring view: the facts
//! that prove the exchange took place); past 3 years it deletes it (the data key and the
//! attachments' bytes are gone, views say the personal data are erased, the facts remain, and
//! the audit chains verify).

use crate::harness::{start, Service};
use crate::requests::{by_id, dispatch, scene, step};
use chrono::Duration;
use serde_json::{json, Value};

const SUBJECT: &str = "Dr. Retention Testperson";

const VIEW: &str = "query($id: ID!) {
  informationRequest(id: $id) {
    id viewLevel status closedAt personalDataBlocked personalDataErased
    content { subject attachments { sha256 name } personalDataErased }
  }
}";

async fn view(service: &Service, token: &str) -> Value {
    let answer = service
        .graphql(Some(token), None, VIEW, json!({ "id": "r-ret" }))
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["informationRequest"].clone()
}

/// Polls the view as `token` until `done` holds (the scheduler ticks every 50 ms).
async fn until(service: &Service, token: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let v = view(service, token).await;
        if done(&v) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn download(service: &Service, token: &str, sha256: &str) -> u16 {
    reqwest::Client::new()
        .get(format!(
            "{}/requests/r-ret/attachments/{sha256}",
            service.base
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Sets the PQ area's blocking delay for requests, as `imi seed --reference DIR` would.
async fn pq_request_blocking(service: &Service, months: u32) {
    let mut data = imi_store::reference::ReferenceData::bundled().unwrap();
    for area in &mut data.legislative_areas {
        if area.code == "PQ" {
            let mut retention = area.retention.unwrap_or_default();
            retention.requests.blocking_months = months;
            area.retention = Some(retention);
        }
    }
    imi_store::reference::load(&service.services.pool, &data)
        .await
        .expect("the changed reference data load");
}

#[tokio::test]
async fn a_closed_request_is_blocked_then_deleted_on_its_areas_delays() {
    let service = start().await;
    let t = scene(&service).await;
    let pool = service.services.pool.clone();

    let pdf = b"%PDF-1.7 retention".to_vec();
    let stored: Value = reqwest::Client::new()
        .put(format!("{}/requests/r-ret/attachments", service.base))
        .bearer_auth(&t.de_handler)
        .header("content-type", "application/pdf")
        .body(pdf.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sha256 = stored["sha256"].as_str().unwrap().to_string();
    let draft = json!({
        "requestId": "r-ret",
        "area": "PQ",
        "content": {
            "questionSet": "PQ-GEN",
            "questions": ["PQ-GEN-01"],
            "subject": { "name": SUBJECT },
            "attachments": [{
                "sha256": sha256, "size": pdf.len(), "mediaType": "application/pdf",
                "name": "retention.pdf"
            }],
            "proposedAnswerDate": "2030-06-01",
            "respondingAuthority": "fr-ca"
        }
    });
    let r = by_id("r-ret");
    dispatch(&service, &t, draft).await;
    step(
        &service,
        &t.fr_allocator,
        "assignRequest",
        "AssignRequestInput",
        json!({ "requestId": "r-ret", "handlers": ["fr-handler"] }),
    )
    .await;
    step(
        &service,
        &t.fr_handler,
        "acceptRequest",
        "AcceptRequestInput",
        r.clone(),
    )
    .await;
    step(
        &service,
        &t.fr_handler,
        "replyToRequest",
        "ReplyInput",
        json!({ "requestId": "r-ret", "answers": [{ "questionId": "PQ-GEN-01", "text": "yes" }] }),
    )
    .await;
    step(
        &service,
        &t.de_handler,
        "closeRequest",
        "RequestStepInput",
        r.clone(),
    )
    .await;
    let closed = view(&service, &t.de_handler).await;
    assert_eq!(closed["viewLevel"], "FULL_WITH_PERSONAL_DATA", "{closed}");
    assert_eq!(closed["content"]["subject"]["name"], SUBJECT, "{closed}");
    assert_eq!(download(&service, &t.de_handler, &sha256).await, 200);

    // The area's act provides 18 months: at 6 months and more nothing is blocked.
    pq_request_blocking(&service, 18).await;
    service.clock.advance(Duration::days(200));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let status = imi_projections::deadlines::status(
        &pool,
        imi_domain::authority::Clock::now(service.clock.as_ref()),
    )
    .await
    .unwrap();
    assert_eq!(status.due, 0, "{status:?}");
    let still = view(&service, &t.de_handler).await;
    assert_eq!(still["viewLevel"], "FULL_WITH_PERSONAL_DATA", "{still}");
    assert_eq!(still["personalDataBlocked"], false);

    // Past 18 months: blocked. Every reader sees the monitoring view: no content.
    service.clock.advance(Duration::days(360));
    let blocked = until(&service, &t.de_handler, "blocked", |v| {
        v["personalDataBlocked"] == true
    })
    .await;
    for token in [&t.de_handler, &t.fr_handler, &t.de_basic, &t.de_coordinator] {
        let v = view(&service, token).await;
        assert_eq!(v["viewLevel"], "MONITORING", "{v}");
        assert!(v["content"].is_null(), "{v}");
        assert!(!v.to_string().contains(SUBJECT), "{v}");
    }
    assert!(blocked["closedAt"].is_string());
    assert_ne!(download(&service, &t.de_handler, &sha256).await, 200);
    let live: bool = sqlx::query_scalar(
        "SELECT erased_at IS NULL FROM data_keys WHERE key_id = 'InformationRequest/r-ret'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(live, "blocking keeps the key");

    // Past 3 years: deleted. The key is erased, the bytes are gone, the facts remain.
    service.clock.advance(Duration::days(560));
    let erased = until(&service, &t.de_handler, "erased", |v| {
        v["personalDataErased"] == true
    })
    .await;
    assert_eq!(erased["status"], "CLOSED", "{erased}");
    assert!(erased["closedAt"].is_string());
    let key_erased = || async {
        sqlx::query_scalar::<_, bool>(
            "SELECT erased_at IS NOT NULL FROM data_keys WHERE key_id = 'InformationRequest/r-ret'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !key_erased().await {
        assert!(
            std::time::Instant::now() < deadline,
            "the key is not erased"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let bytes: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM attachments WHERE key_id = 'InformationRequest/r-ret'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(bytes, 0);
    assert_ne!(download(&service, &t.de_handler, &sha256).await, 200);
    let events = imi_store::audit::verify(&pool).await.unwrap();
    assert!(events.first_broken.is_none(), "{:?}", events.first_broken);
    let log = imi_store::processing_log::verify(&pool).await.unwrap();
    assert!(log.first_broken.is_none(), "{:?}", log.first_broken);
    let recorded: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM events WHERE aggregate_id = 'r-ret' ORDER BY sequence DESC LIMIT 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(recorded, ["PersonalDataDeleted", "PersonalDataBlocked"]);
}
