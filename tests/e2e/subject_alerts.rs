//! Data subjects' requests about an alert, end to end over GraphQL: Germany's national
//! coordinator (its LDA a data administrator in SD, and the alert's coordinator and sending
//! postbox) records each kind about an SD alert broadcast to France, carries it out; what the
//! views and exports show after; the refusals.

use crate::alerts::{country, input, sd_alert, Client};
use crate::harness::start;
use serde_json::{json, Value};

const PROVIDER: &str = "Gasbau Falsch GmbH, Hauptstraße 1, Wien";
const CORRECTED: &str = "Gasbau Richtig GmbH, Hauptstraße 2, Wien";
const ACTIVITY: &str = "Gas installations without a licence, corrected";

const EXPORT: &str = "subjectRequestId waited
  alertExport { alertId kind person description personalDataBlocked personalDataErased
                attachmentNames }";

async fn record(c: &Client<'_>, alert: &str, kind: &str) -> String {
    let done = c
        .ok(
            "recordSubjectRequest",
            "RecordSubjectRequestInput",
            "subjectRequestId waited",
            json!({ "alertId": alert, "kind": kind, "subject": "identity card checked" }),
        )
        .await;
    done["subjectRequestId"].as_str().unwrap().to_string()
}

async fn carry_out(c: &Client<'_>, id: &str, more: Value) -> Value {
    let mut input = json!({ "subjectRequestId": id });
    input
        .as_object_mut()
        .unwrap()
        .extend(more.as_object().unwrap().clone());
    c.ok(
        "carryOutSubjectRequest",
        "CarryOutSubjectRequestInput",
        EXPORT,
        input,
    )
    .await
}

#[tokio::test]
async fn each_kind_of_data_subjects_request_about_an_alert_and_what_the_views_show() {
    let service = start().await;
    let de = country(&service, "DE", "Bundesministerium für Wirtschaft").await;
    let fr = country(&service, "FR", "Ministère de l'Économie").await;
    let drafted = de
        .authority
        .ok(
            "draftSdAlert",
            "DraftSdAlertInput",
            "position waited alertId",
            json!({ "alert": sd_alert(None) }),
        )
        .await;
    let a = drafted["alertId"].as_str().unwrap().to_string();
    let submit = input(&a, json!({ "coordinatorId": de.postbox_id }));
    de.authority
        .ok("submitAlert", "SubmitAlertInput", "position waited", submit)
        .await;
    let broadcast = input(&a, json!({ "memberStates": ["FR"] }));
    de.postbox
        .ok(
            "broadcastAlert",
            "AlertMemberStatesInput",
            "position waited",
            broadcast,
        )
        .await;

    // Refusals: a user without the role, an unknown alert, two exchanges or none named.
    let subject = "identity card checked";
    let (code, _) = de
        .basic
        .refused(
            "recordSubjectRequest",
            "RecordSubjectRequestInput",
            json!({ "alertId": a, "kind": "ACCESS", "subject": subject }),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = de
        .postbox
        .refused(
            "recordSubjectRequest",
            "RecordSubjectRequestInput",
            json!({ "alertId": "no-such-alert", "kind": "ACCESS", "subject": subject }),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    let (code, _) = de
        .postbox
        .refused(
            "recordSubjectRequest",
            "RecordSubjectRequestInput",
            json!({ "alertId": a, "requestId": "r-1", "kind": "ACCESS", "subject": subject }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");

    // Access: the export of the alert's personal data.
    let access = record(&de.postbox, &a, "ACCESS").await;
    let done = carry_out(&de.postbox, &access, json!({})).await;
    let export = &done["alertExport"];
    assert_eq!(export["alertId"], a.as_str());
    assert_eq!(export["kind"], "SD");
    assert_eq!(export["person"], PROVIDER);
    assert_eq!(export["attachmentNames"], json!(["inspection-report.pdf"]));
    assert_eq!(export["personalDataErased"], false);
    let queue = de
        .postbox
        .query(
            "query { subjectRequestQueue { id alertId requestId } }",
            json!({}),
        )
        .await;
    assert_eq!(
        queue["data"]["subjectRequestQueue"][0]["alertId"],
        a.as_str()
    );
    assert!(queue["data"]["subjectRequestQueue"][0]["requestId"].is_null());

    // Rectification: the person and the description, re-sealed as new events.
    let rectification = record(&de.postbox, &a, "RECTIFICATION").await;
    for wrong in [
        json!({ "correctedSubject": { "name": "x" } }),
        json!({ "correctedAnswers": [{ "questionId": "q", "text": "x" }] }),
        json!({}),
    ] {
        let mut input = json!({ "subjectRequestId": rectification });
        input
            .as_object_mut()
            .unwrap()
            .extend(wrong.as_object().unwrap().clone());
        let (code, _) = de
            .postbox
            .refused(
                "carryOutSubjectRequest",
                "CarryOutSubjectRequestInput",
                input,
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{wrong}");
    }
    carry_out(
        &de.postbox,
        &rectification,
        json!({ "correctedPerson": CORRECTED, "correctedFreeText": ACTIVITY }),
    )
    .await;
    let view = de.authority.alert(&a).await.unwrap();
    assert_eq!(view["content"]["serviceProvider"], CORRECTED);
    assert_eq!(view["content"]["dangerousActivity"], ACTIVITY);

    // Blocking: every view drops to the facts; an access then exports the facts only.
    let blocking = record(&de.postbox, &a, "BLOCKING").await;
    carry_out(&de.postbox, &blocking, json!({})).await;
    for c in [&de.authority, &de.postbox, &fr.postbox] {
        let view = c.alert(&a).await.unwrap();
        assert_eq!(view["viewLevel"], "HIGH_LEVEL", "{view}");
        assert!(view["content"].is_null(), "{view}");
    }
    let access = record(&de.postbox, &a, "ACCESS").await;
    let export = carry_out(&de.postbox, &access, json!({})).await["alertExport"].clone();
    assert_eq!(export["personalDataBlocked"], true);
    assert!(export["person"].is_null());

    // Erasure: the alert's key is erased; the facts remain; the chains verify.
    let erasure = record(&de.postbox, &a, "ERASURE").await;
    carry_out(&de.postbox, &erasure, json!({})).await;
    let access = record(&de.postbox, &a, "ACCESS").await;
    let export = carry_out(&de.postbox, &access, json!({})).await["alertExport"].clone();
    assert_eq!(export["personalDataErased"], true);
    assert!(export["person"].is_null());
    let view = fr.postbox.alert(&a).await.unwrap();
    assert_eq!(view["status"], "BROADCAST", "the facts remain: {view}");
    let pool = service.services.pool.clone();
    let erased: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM data_keys WHERE key_id = $1 AND erased_at IS NOT NULL",
    )
    .bind(format!("Alert/{a}"))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(erased, 1);
    let facts: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM events WHERE aggregate_type = 'Alert' AND aggregate_id = $1
          AND payload -> event_type ->> 'subject_request' IS NOT NULL ORDER BY sequence",
    )
    .bind(&a)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        facts,
        [
            "PersonRectified",
            "DescriptionRectified",
            "PersonalDataBlockedForSubject",
            "PersonalDataErasedForSubject"
        ]
    );
    let events = imi_store::audit::verify(&pool).await.unwrap();
    assert!(events.first_broken.is_none(), "{:?}", events.first_broken);
    let log = imi_store::processing_log::verify(&pool).await.unwrap();
    assert!(log.first_broken.is_none(), "{:?}", log.first_broken);
}
