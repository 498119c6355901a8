//! Data subjects' requests end to end over GraphQL, in the scene of `requests.rs`: the data
//! administrator of the requesting authority (`de-ca-lda`) records each kind of request about
//! one dispatched request, carries it out and closes it; what each view shows after; the
//! refusals; the reminders before and after the 30 days (injectable clock, scheduler running).

use crate::harness::{start, Service};
use crate::requests::{by_id, scene, sign_in, step};
use chrono::Duration;
use serde_json::{json, Value};

const SUBJECT: &str = "Dr. Ingrid Subjekt-Anfrage";
const CORRECTED: &str = "Dr. Ingrid Subjekt-Korrigiert";
const ANSWER: &str = "Registered since 2011";
const IDENTIFICATION: &str = "Ingrid S., identity card checked at the counter";

const RECORD: &str = "mutation($input: RecordSubjectRequestInput!) {
  recordSubjectRequest(input: $input) { subjectRequestId waited }
}";
const CARRY_OUT: &str = "mutation($input: CarryOutSubjectRequestInput!) {
  carryOutSubjectRequest(input: $input) {
    subjectRequestId waited
    export { requestId subject freeText personalDataBlocked personalDataErased
             answers { question answer } attachmentNames }
  }
}";
const CLOSE: &str = "mutation($input: CloseSubjectRequestInput!) {
  closeSubjectRequest(input: $input) { subjectRequestId waited }
}";
const QUEUE: &str = "query {
  subjectRequestQueue { id kind requestId status dueOn overdue subject answer }
}";
const ONE: &str =
    "query($id: ID!) { subjectRequest(id: $id) { id kind status subject answer closedAt } }";
const VIEW: &str = "query($id: ID!) {
  informationRequest(id: $id) {
    viewLevel personalDataBlocked personalDataErased content { subject personalDataErased }
  }
}";

async fn gql(service: &Service, token: &str, query: &str, variables: Value) -> Value {
    service.graphql(Some(token), None, query, variables).await
}

/// Runs `query` with `input`; answers its data, panicking on errors.
async fn ok(service: &Service, token: &str, query: &str, field: &str, input: Value) -> Value {
    let answer = gql(service, token, query, json!({ "input": input })).await;
    assert!(answer["errors"].is_null(), "{field}: {answer}");
    answer["data"][field].clone()
}

/// Runs `query` with `input`; it must be refused with `code`.
async fn refused(service: &Service, token: &str, query: &str, input: Value, code: &str) {
    let answer = gql(service, token, query, json!({ "input": input })).await;
    assert_eq!(answer["errors"][0]["extensions"]["code"], code, "{answer}");
    assert!(answer["data"].is_null(), "{answer}");
}

async fn record(service: &Service, token: &str, kind: &str) -> String {
    let done = ok(
        service,
        token,
        RECORD,
        "recordSubjectRequest",
        json!({ "requestId": "r-ds", "kind": kind, "subject": IDENTIFICATION }),
    )
    .await;
    assert_eq!(done["waited"], true);
    done["subjectRequestId"].as_str().unwrap().to_string()
}

async fn carry_out(service: &Service, token: &str, id: &str, corrected: Option<&str>) -> Value {
    let mut input = json!({ "subjectRequestId": id });
    if let Some(name) = corrected {
        input["correctedSubject"] = json!({ "name": name });
    }
    ok(service, token, CARRY_OUT, "carryOutSubjectRequest", input).await
}

async fn close(service: &Service, token: &str, id: &str) {
    ok(
        service,
        token,
        CLOSE,
        "closeSubjectRequest",
        json!({ "subjectRequestId": id, "answer": ANSWER }),
    )
    .await;
}

async fn view(service: &Service, token: &str) -> Value {
    let answer = gql(service, token, VIEW, json!({ "id": "r-ds" })).await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["informationRequest"].clone()
}

async fn queue(service: &Service, token: &str) -> Vec<Value> {
    let answer = gql(service, token, QUEUE, json!({})).await;
    assert!(answer["errors"].is_null(), "{answer}");
    answer["data"]["subjectRequestQueue"]
        .as_array()
        .unwrap()
        .clone()
}

async fn notified(service: &Service, kind: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM notifications.notifications
          WHERE kind = $1 AND recipient_user = 'de-ca-lda'",
    )
    .bind(kind)
    .fetch_one(&service.services.pool)
    .await
    .unwrap()
}

/// Polls until `kind` was notified `n` times (the scheduler ticks every 50 ms).
async fn until_notified(service: &Service, kind: &str, n: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while notified(service, kind).await < n {
        assert!(std::time::Instant::now() < deadline, "no {kind}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The request r-ds, dispatched to fr-ca, accepted and answered.
async fn dispatched_request(service: &Service, t: &crate::requests::Tokens) {
    dispatched_naming(service, t, None).await
}

/// The same, the draft naming a further person concerned `(id, name)`.
async fn dispatched_naming(
    service: &Service,
    t: &crate::requests::Tokens,
    person: Option<(&str, &str)>,
) {
    let draft = json!({
        "requestId": "r-ds",
        "area": "PQ",
        "content": {
            "questionSet": "PQ-GEN",
            "questions": ["PQ-GEN-01"],
            "subject": { "name": SUBJECT },
            "freeText": "About Dr. Subjekt-Anfrage",
            "proposedAnswerDate": "2030-06-01",
            "respondingAuthority": "fr-ca"
        }
    });
    let r = by_id("r-ds");
    step(
        service,
        &t.de_handler,
        "draftRequest",
        "DraftRequestInput",
        draft,
    )
    .await;
    if let Some((person, name)) = person {
        let named = json!({ "requestId": "r-ds", "person": person, "identity": { "name": name } });
        step(
            service,
            &t.de_handler,
            "namePersonConcerned",
            "NamePersonConcernedInput",
            named,
        )
        .await;
    }
    step(
        service,
        &t.de_handler,
        "sendRequest",
        "RequestStepInput",
        r.clone(),
    )
    .await;
    let approve = "approveRequest";
    step(
        service,
        &t.de_coordinator,
        approve,
        "RequestStepInput",
        r.clone(),
    )
    .await;
    let assign = json!({ "requestId": "r-ds", "handlers": ["fr-handler"] });
    step(
        service,
        &t.fr_allocator,
        "assignRequest",
        "AssignRequestInput",
        assign,
    )
    .await;
    step(
        service,
        &t.fr_handler,
        "acceptRequest",
        "AcceptRequestInput",
        r,
    )
    .await;
    let reply =
        json!({ "requestId": "r-ds", "answers": [{ "questionId": "PQ-GEN-01", "text": ANSWER }] });
    step(
        service,
        &t.fr_handler,
        "replyToRequest",
        "ReplyInput",
        reply,
    )
    .await;
}

#[tokio::test]
async fn each_kind_of_data_subjects_request_is_carried_out_and_answered_within_30_days() {
    let service = start().await;
    let t = scene(&service).await;
    dispatched_request(&service, &t).await;
    let lda = sign_in(&service, "de-ca-lda", "de-ca").await;
    let fr_lda = sign_in(&service, "fr-ca-lda", "fr-ca").await;
    let linked = sign_in(&service, "de-linked-lda", "de-linked").await;
    let pool = service.services.pool.clone();

    // Who may not record: a handler without the role, an authority that only watches the
    // request, and nobody about a request they cannot see.
    let input = json!({ "requestId": "r-ds", "kind": "ACCESS", "subject": IDENTIFICATION });
    refused(&service, &t.de_handler, RECORD, input.clone(), "FORBIDDEN").await;
    refused(&service, &linked, RECORD, input.clone(), "FORBIDDEN").await;
    let unknown = json!({ "requestId": "r-none", "kind": "ACCESS", "subject": "x" });
    refused(&service, &lda, RECORD, unknown, "NOT_FOUND").await;

    // Access: the export holds the subject's data; its opening is logged.
    let access = record(&service, &lda, "ACCESS").await;
    let queued = queue(&service, &lda).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["kind"], "ACCESS");
    assert_eq!(queued[0]["status"], "OPEN");
    assert_eq!(queued[0]["overdue"], false);
    assert!(
        queued[0]["subject"].is_null(),
        "the queue opens no personal data"
    );
    let today = imi_domain::authority::Clock::now(service.clock.as_ref()).date_naive();
    assert_eq!(queued[0]["dueOn"], (today + Duration::days(30)).to_string());
    assert!(
        queue(&service, &fr_lda).await.is_empty(),
        "another authority's queue"
    );
    refused(
        &service,
        &lda,
        CARRY_OUT,
        json!({ "subjectRequestId": access, "correctedSubject": { "name": "x" } }),
        "BAD_USER_INPUT",
    )
    .await;
    refused(
        &service,
        &fr_lda,
        CARRY_OUT,
        json!({ "subjectRequestId": access }),
        "NOT_FOUND",
    )
    .await;
    let done = carry_out(&service, &lda, &access, None).await;
    let export = &done["export"];
    assert_eq!(export["requestId"], "r-ds");
    assert_eq!(export["subject"]["name"], SUBJECT, "{export}");
    assert_eq!(export["answers"][0]["answer"], ANSWER, "{export}");
    assert_eq!(export["personalDataBlocked"], false);
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM processing_log WHERE operation = 'subjectRequest.accessExport'
            AND exchange = 'InformationRequest/r-ds' AND acting_user = 'user:de-ca-lda'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(logged, 1);
    refused(
        &service,
        &lda,
        CARRY_OUT,
        json!({ "subjectRequestId": access }),
        "BAD_USER_INPUT",
    )
    .await;
    refused(
        &service,
        &lda,
        CLOSE,
        json!({ "subjectRequestId": access }),
        "BAD_USER_INPUT",
    )
    .await;
    close(&service, &lda, &access).await;
    let one = gql(&service, &lda, ONE, json!({ "id": access })).await;
    assert_eq!(one["data"]["subjectRequest"]["status"], "CLOSED", "{one}");
    assert_eq!(one["data"]["subjectRequest"]["answer"], ANSWER, "{one}");
    assert_eq!(one["data"]["subjectRequest"]["subject"], IDENTIFICATION);
    let other = gql(&service, &fr_lda, ONE, json!({ "id": access })).await;
    assert_eq!(
        other["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{other}"
    );
    refused(
        &service,
        &lda,
        CLOSE,
        json!({ "subjectRequestId": access, "answer": "again" }),
        "BAD_USER_INPUT",
    )
    .await;
    assert!(
        queue(&service, &lda).await.is_empty(),
        "a closed request leaves the queue"
    );

    // Rectification: the corrected subject is a new event; both sides read it.
    let rectification = record(&service, &lda, "RECTIFICATION").await;
    refused(
        &service,
        &lda,
        CARRY_OUT,
        json!({ "subjectRequestId": rectification }),
        "BAD_USER_INPUT",
    )
    .await;
    carry_out(&service, &lda, &rectification, Some(CORRECTED)).await;
    for token in [&t.de_handler, &t.fr_handler] {
        let v = view(&service, token).await;
        assert_eq!(v["content"]["subject"]["name"], CORRECTED, "{v}");
    }
    close(&service, &lda, &rectification).await;

    // The reminder 7 days before the deadline, then the overdue, for the open ones only.
    let blocking = record(&service, &lda, "BLOCKING").await;
    assert_eq!(notified(&service, "subject_request_due_soon").await, 0);
    service.clock.advance(Duration::days(23));
    until_notified(&service, "subject_request_due_soon", 1).await;
    service.clock.advance(Duration::days(8));
    until_notified(&service, "subject_request_overdue", 1).await;
    let late = queue(&service, &lda).await;
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0]["id"], blocking.as_str());
    assert_eq!(late[0]["overdue"], true);

    // Blocking: every view drops to the facts.
    carry_out(&service, &lda, &blocking, None).await;
    for token in [&t.de_handler, &t.fr_handler] {
        let v = view(&service, token).await;
        assert_eq!(v["viewLevel"], "MONITORING", "{v}");
        assert_eq!(v["personalDataBlocked"], true, "{v}");
        assert!(!v.to_string().contains("Subjekt"), "{v}");
    }
    close(&service, &lda, &blocking).await;

    // Erasure: the request's key is erased; the facts remain; the chains verify.
    let erasure = record(&service, &lda, "ERASURE").await;
    carry_out(&service, &lda, &erasure, None).await;
    let v = view(&service, &t.de_handler).await;
    assert_eq!(v["personalDataErased"], true, "{v}");
    let erased: bool = sqlx::query_scalar(
        "SELECT erased_at IS NOT NULL FROM data_keys WHERE key_id = 'InformationRequest/r-ds'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(erased);
    close(&service, &lda, &erasure).await;
    // The record of having answered outlives the exchange's data.
    let answered = gql(&service, &lda, ONE, json!({ "id": erasure })).await;
    assert_eq!(
        answered["data"]["subjectRequest"]["answer"], ANSWER,
        "{answered}"
    );
    let events = imi_store::audit::verify(&pool).await.unwrap();
    assert!(events.first_broken.is_none(), "{:?}", events.first_broken);
    let log = imi_store::processing_log::verify(&pool).await.unwrap();
    assert!(log.first_broken.is_none(), "{:?}", log.first_broken);
    let recorded: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM events WHERE aggregate_id = 'r-ds' AND event_type IN
           ('SubjectRectified', 'PersonalDataBlockedForSubject', 'PersonalDataErasedForSubject')
         ORDER BY sequence",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        recorded,
        [
            "SubjectRectified",
            "PersonalDataBlockedForSubject",
            "PersonalDataErasedForSubject"
        ]
    );
}

const PARTNER: &str = "Anna Teilhaberin-Anfrage";
const EXTEND: &str = "mutation($input: ExtendSubjectRequestDeadlineInput!) {
  extendSubjectRequestDeadline(input: $input) { subjectRequestId waited }
}";
const PERSONS: &str = "query($id: ID!) {
  informationRequest(id: $id) { content { subject freeText personsConcerned { person identity } } }
}";

/// One person among two erased over GraphQL: the views then show the subject and nothing of
/// the partner, for both authorities; the chain verifies. And a deadline extended once.
#[tokio::test]
async fn erasing_one_person_among_two_over_graphql_and_extending_a_deadline() {
    let service = start().await;
    let t = scene(&service).await;
    dispatched_naming(&service, &t, Some(("partner", PARTNER))).await;
    let lda = sign_in(&service, "de-ca-lda", "de-ca").await;
    let before = gql(&service, &t.fr_handler, PERSONS, json!({ "id": "r-ds" })).await;
    assert_eq!(
        before["data"]["informationRequest"]["content"]["personsConcerned"][0]["identity"]["name"],
        PARTNER,
        "{before}"
    );

    let erasure = record(&service, &lda, "ERASURE").await;
    let unknown = json!({ "subjectRequestId": erasure, "erasedPerson": "nobody" });
    refused(&service, &lda, CARRY_OUT, unknown, "BAD_USER_INPUT").await;
    let with_values = json!({
        "subjectRequestId": erasure, "erasedPerson": "partner", "correctedFreeText": "x"
    });
    refused(&service, &lda, CARRY_OUT, with_values, "BAD_USER_INPUT").await;
    let input =
        json!({ "subjectRequestId": erasure, "erasedPerson": "partner", "keepTexts": true });
    ok(&service, &lda, CARRY_OUT, "carryOutSubjectRequest", input).await;
    for token in [&t.de_handler, &t.fr_handler] {
        let after = gql(&service, token, PERSONS, json!({ "id": "r-ds" })).await;
        assert!(after["errors"].is_null(), "{after}");
        let content = &after["data"]["informationRequest"]["content"];
        assert_eq!(content["subject"]["name"], SUBJECT, "{after}");
        assert_eq!(content["personsConcerned"], json!([]), "{after}");
        assert_eq!(content["freeText"], "About Dr. Subjekt-Anfrage", "{after}");
        assert!(!after.to_string().contains(PARTNER), "{after}");
    }
    let verified = imi_store::audit::verify(&service.services.pool)
        .await
        .unwrap();
    assert!(verified.first_broken.is_none(), "{verified:?}");

    let access = record(&service, &lda, "ACCESS").await;
    let no_reason = json!({ "subjectRequestId": access, "months": 1, "reason": " " });
    refused(&service, &lda, EXTEND, no_reason, "BAD_USER_INPUT").await;
    let too_long = json!({ "subjectRequestId": access, "months": 3, "reason": "complex" });
    refused(&service, &lda, EXTEND, too_long, "BAD_USER_INPUT").await;
    let by_handler = json!({ "subjectRequestId": access, "months": 1, "reason": "complex" });
    refused(&service, &t.de_handler, EXTEND, by_handler, "NOT_FOUND").await;
    let input = json!({ "subjectRequestId": access, "months": 2, "reason": "many requests" });
    ok(
        &service,
        &lda,
        EXTEND,
        "extendSubjectRequestDeadline",
        input.clone(),
    )
    .await;
    refused(&service, &lda, EXTEND, input, "BAD_USER_INPUT").await;
    let one = gql(
        &service,
        &lda,
        "query($id: ID!) { subjectRequest(id: $id) { dueOn extended } }",
        json!({ "id": access }),
    )
    .await;
    assert_eq!(one["data"]["subjectRequest"]["extended"], true, "{one}");
}
