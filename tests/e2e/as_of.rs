//! A request as of a point of the log, and what changed between two points, end to end: the
//! request is played through GraphQL (the scene of `requests.rs`), each participant's live view
//! is captured after each step, and the view `asOf` each step's position and time must equal
//! it. Auditors read it without personal data when their Member State took part, and find it
//! unknown otherwise; bad points are refused with a code.

use crate::harness::{start, Service};
use crate::requests::{coordinator, exec, new_user, pq, scene, sign_in, user};
use imi_domain::authority::{AuthorityCommand, UserRole};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const SUBJECT: &str = "Dr. Jarmila Horáková-Tajná";
const ANSWER: &str = "Licensed under number 4711-0815 since 2009";

const VIEW: &str = "query($id: ID!, $asOf: AsOf) {
  informationRequest(id: $id, asOf: $asOf) {
    id viewLevel area questionSet status requestingAuthority respondingAuthority
    requestingCoordinator respondingCoordinator forwardedFrom draftedAt sentAt
    acceptanceDueAt acceptedAt proposedAnswerDate counterProposedAnswerDate agreedAnswerDate
    fullyAnsweredAt closedAt withdrawnAt lastActivityAt personalDataBlocked personalDataErased
    content {
      questions { id answered answer }
      attachments { sha256 name }
      subject freeText personalDataErased requestingHandlers respondingHandlers
      rating { timeliness effort }
      replyAwaitingApproval referralParticipation { coordinator participates opinionGiven }
      steps { sequence eventType at byUser byAuthority reason text }
    }
  }
}";

const DIFF: &str = "query($e: String!, $from: AsOf!, $to: AsOf!) {
  exchangeDiff(exchange: $e, from: $from, to: $to) {
    fields { path before after }
    events { position sequence eventType eventVersion recordedAt actingUser actingAuthority }
  }
}";

/// Runs a request mutation as `token`; returns the feed position of its last event.
async fn step(service: &Service, token: &str, field: &str, input_type: &str, input: Value) -> i64 {
    let query = format!(
        "mutation($input: {input_type}!) {{ {field}(input: $input) {{ position waited }} }}"
    );
    let answer = service
        .graphql(Some(token), None, &query, json!({ "input": input }))
        .await;
    assert!(answer["errors"].is_null(), "{field}: {answer}");
    assert_eq!(answer["data"][field]["waited"], true, "{field}: {answer}");
    let position = answer["data"][field]["position"].as_str().unwrap();
    position.rsplit(':').next().unwrap().parse().unwrap()
}

/// The view of r-1 as `token` reads it (`as_of` null: live); the whole answer.
async fn read(service: &Service, token: &str, as_of: Value) -> Value {
    service
        .graphql(
            Some(token),
            None,
            VIEW,
            json!({ "id": "r-1", "asOf": as_of }),
        )
        .await
}

fn code(answer: &Value) -> (Value, Value) {
    (
        answer["errors"][0]["extensions"]["code"].clone(),
        answer["errors"][0]["extensions"]["reason"].clone(),
    )
}

fn no_personal_data(what: &str, value: &Value) {
    let text = value.to_string();
    for secret in [SUBJECT, ANSWER, "She moves to Prague"] {
        assert!(!text.contains(secret), "{what} shows {secret:?}: {text}");
    }
}

/// A user of `authority` holding only the auditor role (granted by `by`, its data
/// administrator), signed in.
async fn auditor(service: &Service, authority: &str, by: &str, user_id: &str) -> String {
    let by = user(by, authority);
    exec(
        service,
        authority,
        &by,
        AuthorityCommand::RegisterUser {
            user: new_user(service, user_id).await,
            local_data_administrator: false,
        },
    )
    .await;
    exec(
        service,
        authority,
        &by,
        AuthorityCommand::GrantUserRoles {
            user_id: user_id.into(),
            area: pq(),
            roles: BTreeSet::from([UserRole::Auditor]),
        },
    )
    .await;
    sign_in(service, user_id, authority).await
}

#[tokio::test]
async fn a_request_as_of_each_step_is_what_each_participant_saw_then() {
    let service = start().await;
    let t = scene(&service).await;
    let de_auditor = auditor(&service, "nimic-de", "user-nimic-de-lda", "de-auditor").await;
    let it = coordinator(&service, "IT", "Dipartimento per le politiche europee").await;
    let it_auditor = auditor(&service, &it.authority_id, &it.user_id, "it-auditor").await;

    let readers = [
        ("de-handler", &t.de_handler),
        ("de-basic", &t.de_basic),
        ("fr-handler", &t.fr_handler),
        ("fr-allocator", &t.fr_allocator),
    ];
    let by_id = json!({ "requestId": "r-1" });
    let reply = |q: &str, text: &str| json!({ "requestId": "r-1", "answers": [{ "questionId": q, "text": text }] });
    let steps: Vec<(&str, &String, &str, &str, Value)> = vec![
        (
            "draft",
            &t.de_handler,
            "draftRequest",
            "DraftRequestInput",
            json!({ "requestId": "r-1", "area": "PQ", "content": {
                "questionSet": "PQ-GEN", "questions": ["PQ-GEN-01", "PQ-GEN-02"],
                "freeText": "She moves to Prague",
                "subject": { "name": SUBJECT, "birthDate": "1981-09-12" },
                "proposedAnswerDate": "2030-06-01", "respondingAuthority": "fr-ca" } }),
        ),
        (
            "send",
            &t.de_handler,
            "sendRequest",
            "RequestStepInput",
            by_id.clone(),
        ),
        (
            "approve",
            &t.de_coordinator,
            "approveRequest",
            "RequestStepInput",
            by_id.clone(),
        ),
        (
            "assign",
            &t.fr_allocator,
            "assignRequest",
            "AssignRequestInput",
            json!({ "requestId": "r-1", "handlers": ["fr-handler"] }),
        ),
        (
            "accept",
            &t.fr_handler,
            "acceptRequest",
            "AcceptRequestInput",
            by_id.clone(),
        ),
        (
            "partial reply",
            &t.fr_handler,
            "replyPartially",
            "ReplyInput",
            reply("PQ-GEN-01", ANSWER),
        ),
        (
            "reply",
            &t.fr_handler,
            "replyToRequest",
            "ReplyInput",
            reply("PQ-GEN-02", "Yes"),
        ),
    ];
    // Play the request, capturing every reader's live view after each step.
    let mut played = Vec::new();
    for (name, token, field, input_type, input) in steps {
        let position = step(&service, token, field, input_type, input).await;
        let mut seen = Vec::new();
        for (reader, token) in readers {
            seen.push((reader, read(&service, token, Value::Null).await));
        }
        played.push((name, position, seen));
    }
    // The request was hidden from the responding side before it was dispatched, and the
    // fixture shows personal data to the handlers: the comparison below covers both.
    assert_eq!(
        code(&played[0].2[2].1).0,
        "NOT_FOUND",
        "{}",
        played[0].2[2].1
    );
    assert_eq!(
        played[6].2[0].1["data"]["informationRequest"]["content"]["subject"]["name"],
        SUBJECT
    );

    // The times of the steps, from the auditor's history.
    let history = service
        .graphql(
            Some(&de_auditor),
            None,
            "query { exchangeHistory(exchange: \"InformationRequest/r-1\", first: 100) {
               edges { node { position recordedAt } } } }",
            json!({}),
        )
        .await;
    let time_of = |position: i64| -> Value {
        history["data"]["exchangeHistory"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["position"] == position)
            .map(|e| e["node"]["recordedAt"].clone())
            .unwrap_or_else(|| panic!("no event at {position}: {history}"))
    };

    // As of each step, by position and by time, every reader sees what they saw then.
    for (name, position, seen) in &played {
        for (reader, live) in seen {
            let token = readers.iter().find(|(r, _)| r == reader).unwrap().1;
            for point in [
                json!({ "position": position }),
                json!({ "at": time_of(*position) }),
            ] {
                let past = read(&service, token, point.clone()).await;
                if live["errors"].is_null() {
                    assert_eq!(
                        past["data"], live["data"],
                        "{reader} as of {name} ({point}): {past}"
                    );
                } else {
                    assert_eq!(code(&past), code(live), "{reader} as of {name}: {past}");
                }
            }
        }
        // The auditor of the requesting Member State reads every point without personal
        // data; an auditor of a Member State that took no part finds it unknown, as a
        // missing request.
        let point = json!({ "position": position });
        let audited = read(&service, &de_auditor, point.clone()).await;
        assert!(audited["errors"].is_null(), "{name}: {audited}");
        assert_eq!(audited["data"]["informationRequest"]["viewLevel"], "FULL");
        no_personal_data("the auditor's view", &audited);
        let hidden = read(&service, &it_auditor, point.clone()).await;
        let missing = service
            .graphql(
                Some(&it_auditor),
                None,
                VIEW,
                json!({ "id": "r-404", "asOf": point }),
            )
            .await;
        assert_eq!(code(&hidden).0, "NOT_FOUND", "{hidden}");
        assert_eq!(
            hidden["errors"][0]["message"],
            missing["errors"][0]["message"]
        );
    }

    // Every opening as of a point is logged as every opening is.
    let log = imi_store::processing_log::entries(
        &service.services.pool,
        &imi_store::processing_log::Filter {
            exchange: Some("InformationRequest/r-1".into()),
            acting_user: Some("user:de-handler".into()),
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        log.iter()
            .any(|e| e.operation == "request.content.asOf"
                && e.fields.iter().any(|f| f == "subject")),
        "{log:?}"
    );
    assert!(log.iter().all(|e| e.acting_user == "user:de-handler"));

    // The diff between sending and the partial reply: the fields that changed, at each
    // reader's level, and the events between.
    let (sent, answered) = (played[1].1, played[5].1);
    let diff = |token: String| {
        let service = &service;
        async move {
            service
                .graphql(
                    Some(&token),
                    None,
                    DIFF,
                    json!({ "e": "InformationRequest/r-1",
                            "from": { "position": sent }, "to": { "position": answered } }),
                )
                .await
        }
    };
    let handler = diff(t.de_handler.clone()).await;
    assert!(handler["errors"].is_null(), "{handler}");
    let d = &handler["data"]["exchangeDiff"];
    let field = |d: &Value, path: &str| -> Value {
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        field(d, "status")["before"],
        "AwaitingApproval",
        "{handler}"
    );
    assert_eq!(
        field(d, "status")["after"],
        "PartiallyAnswered",
        "{handler}"
    );
    assert_eq!(field(d, "content.questions[0].answer")["after"], ANSWER);
    assert!(field(d, "content.questions[0].answer")["before"].is_null());
    assert!(
        field(d, "requestingAuthority").is_null(),
        "unchanged: {handler}"
    );
    let events = d["events"].as_array().unwrap();
    let positions: Vec<i64> = events
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert!(
        positions.iter().all(|p| *p > sent && *p <= answered),
        "{handler}"
    );
    for (kind, who) in [
        ("RequestApproved", "user:user-nimic-de-lda"),
        ("RequestAccepted", "user:fr-handler"),
        ("PartialReplySent", "user:fr-handler"),
    ] {
        assert!(
            events
                .iter()
                .any(|e| e["eventType"] == kind && e["actingUser"] == who),
            "{kind} by {who}: {handler}"
        );
    }
    // The auditor: the same facts, every event, no personal data.
    let audited = diff(de_auditor.clone()).await;
    assert!(audited["errors"].is_null(), "{audited}");
    no_personal_data("the auditor's diff", &audited);
    let a = &audited["data"]["exchangeDiff"];
    assert_eq!(field(a, "status"), field(d, "status"));
    assert_eq!(field(a, "content.questions[0].answered")["after"], true);
    assert!(
        a["events"].as_array().unwrap().len() >= events.len(),
        "{audited}"
    );
    // The other Member State's auditor: unknown.
    assert_eq!(code(&diff(it_auditor.clone()).await).0, "NOT_FOUND");

    // Bad points: beyond the feed, a malformed time, both or neither, backwards.
    let beyond = read(
        &service,
        &t.de_handler,
        json!({ "position": answered + 1_000_000 }),
    )
    .await;
    assert_eq!(
        code(&beyond),
        (json!("BAD_USER_INPUT"), json!("BEYOND_FEED"))
    );
    let malformed = read(&service, &t.de_handler, json!({ "at": "yesterday noon" })).await;
    assert_eq!(
        code(&malformed),
        (json!("BAD_USER_INPUT"), json!("MALFORMED_TIME"))
    );
    for bad in [
        json!({ "position": 1, "at": "2026-01-01T00:00:00Z" }),
        json!({}),
        json!({ "position": -1 }),
    ] {
        let answer = read(&service, &t.de_handler, bad).await;
        assert_eq!(code(&answer).0, "BAD_USER_INPUT", "{answer}");
    }
    let backwards = service
        .graphql(
            Some(&t.de_handler),
            None,
            DIFF,
            json!({ "e": "InformationRequest/r-1",
                    "from": { "position": answered }, "to": { "position": sent } }),
        )
        .await;
    assert_eq!(code(&backwards).0, "BAD_USER_INPUT", "{backwards}");
}

const AUTHORITY: &str = "query($id: ID!, $asOf: AsOf) {
  authority(id: $id, language: \"es\", asOf: $asOf) {
    id officialName status updatedAt registeredAt validatedAt
    informalTitle(language: \"es\") { text language fallback }
    informalTitles { text language fallback }
    description contact { city website } areas { area }
    coordinatedAreas invitedBy validatingCoordinator linkedAuthorities
    contactPerson { name erased }
  }
}";

/// Runs a directory mutation on `de-pq` as `token`, waiting for the directory and the
/// contact persons; returns the feed position of the authority's latest event.
async fn authority_step(service: &Service, token: &str, field: &str, input: Value) -> i64 {
    let input_type = format!("{}{}Input", field[..1].to_uppercase(), &field[1..]);
    let mut input = input;
    input["authorityId"] = json!("de-pq");
    input["waitFor"] = json!(["authority_directory", "authority_users"]);
    step(service, token, field, &input_type, input).await
}

#[tokio::test]
async fn an_authority_as_of_a_point_is_what_the_directory_showed_then() {
    let (service, _) = crate::harness::start_with_demo().await;
    let sign_in = |login: &'static str| {
        let service = &service;
        async move { crate::authorities::sign_in(service, login, "imi-demo-2026").await }
    };
    let (admin, stranger) = (sign_in("de.pq.admin").await, sign_in("fr.pq.handler").await);
    let read = |token: String, as_of: Value| {
        let service = &service;
        async move {
            service
                .graphql(
                    Some(&token),
                    None,
                    AUTHORITY,
                    json!({ "id": "de-pq", "asOf": as_of }),
                )
                .await
        }
    };

    // Three changes; after each, the live view of each reader and the position.
    let mut played = Vec::new();
    for (field, input) in [
        (
            "setInformalTitle",
            json!({ "language": "es", "title": "Autoridad alemana de cualificaciones" }),
        ),
        (
            "setContactPerson",
            json!({ "contactPerson": "Dr. Erika Mustermann" }),
        ),
        (
            "setInformalTitle",
            json!({ "language": "es", "title": "Autoridad PQ de Alemania" }),
        ),
    ] {
        let position = authority_step(&service, &admin, field, input).await;
        let (own, other) = (
            read(admin.clone(), Value::Null).await,
            read(stranger.clone(), Value::Null).await,
        );
        assert!(own["errors"].is_null(), "{own}");
        played.push((position, own, other));
    }
    assert_eq!(
        played[1].1["data"]["authority"]["contactPerson"]["name"], "Dr. Erika Mustermann",
        "{}",
        played[1].1
    );
    // Another authority's user reads the directory fields, never the contact person.
    assert!(played[1].2["data"]["authority"]["contactPerson"].is_null());
    assert!(played[1].2["data"]["authority"]["officialName"].is_string());

    // As of each position, each reader gets exactly what it saw live then.
    for (position, own, other) in &played {
        let point = json!({ "position": position });
        assert_eq!(&read(admin.clone(), point.clone()).await, own);
        assert_eq!(&read(stranger.clone(), point).await, other);
    }
    // As of a time: just before the last change, what the second change left.
    let last: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(played[2].1["data"]["authority"]["updatedAt"].clone()).unwrap();
    let at = (last - chrono::TimeDelta::microseconds(1)).to_rfc3339();
    let by_time = read(admin.clone(), json!({ "at": at })).await;
    assert_eq!(by_time, played[1].1);
    assert_eq!(
        by_time["data"]["authority"]["informalTitle"]["text"],
        "Autoridad alemana de cualificaciones"
    );

    // Before the authority existed: null, as for an unknown one.
    let before = read(admin.clone(), json!({ "position": 0 })).await;
    assert!(before["errors"].is_null(), "{before}");
    assert!(before["data"]["authority"].is_null(), "{before}");

    // Bad points are refused with a code.
    let beyond = read(admin.clone(), json!({ "position": i64::MAX })).await;
    assert_eq!(
        code(&beyond),
        (json!("BAD_USER_INPUT"), json!("BEYOND_FEED"))
    );
    let malformed = read(admin.clone(), json!({ "at": "yesterday" })).await;
    assert_eq!(
        code(&malformed),
        (json!("BAD_USER_INPUT"), json!("MALFORMED_TIME"))
    );
    let both = read(
        admin.clone(),
        json!({ "position": 1, "at": "2026-01-01T00:00:00Z" }),
    )
    .await;
    assert_eq!(code(&both).0, "BAD_USER_INPUT", "{both}");

    // Opening the past contact person is logged as such.
    let log = imi_store::processing_log::entries(
        &service.services.pool,
        &imi_store::processing_log::Filter {
            acting_authorities: Some(vec!["de-pq".into()]),
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        log.iter()
            .any(|e| e.operation == "directory.contactPerson.asOf"),
        "{log:?}"
    );
}
