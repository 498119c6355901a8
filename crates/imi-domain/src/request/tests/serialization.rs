//! Events are forever: their stored names, version and shape; personal data only sealed;
//! the aggregate's snapshot round-trips.

use super::support::*;
use crate::request::*;
use cqrs_es::DomainEvent;
use serde_json::json;

/// The whole scene's life, one of each event.
pub(super) fn one_of_each() -> Vec<RequestEvent> {
    let mut events = in_referral();
    let at = now();
    events.extend([
        RequestEvent::DraftUpdated {
            draft: draft_content(),
            at,
        },
        RequestEvent::RequestSubmittedForApproval {
            coordinator: "de-rc".into(),
            at,
        },
        RequestEvent::RequestApproved {
            coordinator: "de-rc".into(),
            at,
        },
        RequestEvent::RequestSentBack {
            reason: "r".into(),
            at,
        },
        RequestEvent::AnswerDateProposed {
            date: day(2026, 3, 1),
            reason: "r".into(),
            at,
        },
        RequestEvent::AnswerDateAgreed {
            date: day(2026, 3, 1),
            at,
        },
        RequestEvent::RequestForwarded {
            from: "fr-ca".into(),
            to: party(&fr_ca()),
            reason: "r".into(),
            at,
        },
        RequestEvent::RequestAssigned {
            authority_id: "fr-ca".into(),
            handlers: ids(&["fr-handler"]),
            at,
        },
        RequestEvent::ReplySubmittedForApproval {
            full: true,
            answers: answers(&["PQ-GEN-01"]),
            attachments: vec![attachment('c')],
            coordinator: "fr-rc".into(),
            at,
        },
        RequestEvent::ReplyApproved {
            coordinator: "fr-rc".into(),
            at,
        },
        RequestEvent::ReplySentBack {
            reason: "r".into(),
            at,
        },
        RequestEvent::ReferralParticipationDecided {
            coordinator: "de-rc".into(),
            participates: true,
            at,
        },
        RequestEvent::ReferralOpinionGiven {
            coordinator: "de-rc".into(),
            opinion: sealed(),
            satisfactory: true,
            at,
        },
        RequestEvent::ReferralConcluded { at },
        RequestEvent::RequestClosed { at },
        RequestEvent::RequestWithdrawn {
            reason: "r".into(),
            at,
        },
        RequestEvent::ReplyRated {
            timeliness: 5,
            effort: 4,
            at,
        },
        RequestEvent::AcceptanceOverdue {
            dispatched_at: at,
            at,
        },
        RequestEvent::DueDateApproaching {
            due_date: answer_date(),
            at,
        },
        RequestEvent::AnswerOverdue {
            due_date: answer_date(),
            at,
        },
        RequestEvent::InactivityRaised {
            inactive_since: at,
            coordinators: ids(&["de-rc"]),
            at,
        },
        RequestEvent::PersonalDataBlocked { at },
    ]);
    events.extend(partially_answered().into_iter().skip(3));
    events
}

#[test]
fn every_event_has_its_name_and_version() {
    let names: std::collections::BTreeSet<String> =
        one_of_each().iter().map(|e| e.event_type()).collect();
    assert_eq!(names.len(), 30, "{names:?}");
    for e in one_of_each() {
        // ReplyRated is at version 2 (two answers); the others are at their first.
        let version = if e.event_type() == "ReplyRated" {
            "2"
        } else {
            "1"
        };
        assert_eq!(e.event_version(), version, "{}", e.event_type());
        let json = serde_json::to_value(&e).unwrap();
        let tag = json.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(tag, e.event_type(), "stored under its name");
        let back: RequestEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }
}

#[test]
fn the_stored_shape_of_a_reply_is_fixed() {
    let event = RequestEvent::PartialReplySent {
        answers: answers(&["PQ-GEN-01"]),
        attachments: vec![attachment('c')],
        at: now(),
    };
    let sealed = json!({"key": "InformationRequest/r1", "alg": "A256GCM", "nonce": "bm9uY2U=", "ct": "Y3Q="});
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({"PartialReplySent": {
            "answers": {"PQ-GEN-01": sealed},
            "attachments": [{
                "sha256": "c".repeat(64),
                "size": 1024,
                "media_type": "application/pdf",
                "name": sealed,
            }],
            "at": "2026-01-01T09:00:00Z",
        }})
    );
}

/// The scene's subject, free text, answers, justification and opinion are all sealed: no
/// stored event holds a clear text outside reasons, ids and codes.
#[test]
fn personal_data_travel_only_sealed() {
    for e in one_of_each() {
        let text = serde_json::to_string(&e).unwrap();
        for field in [
            "subject",
            "free_text",
            "answers",
            "justification",
            "opinion",
            "name",
        ] {
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            let found = find(&json, field);
            for value in found {
                if value.is_null() {
                    continue;
                }
                let values: Vec<&serde_json::Value> = match value {
                    serde_json::Value::Object(map) if field == "answers" => map.values().collect(),
                    other => vec![other],
                };
                for v in values {
                    assert_eq!(
                        v.get("key").and_then(|k| k.as_str()),
                        Some("InformationRequest/r1"),
                        "{field} in {}",
                        e.event_type()
                    );
                }
            }
        }
    }
}

fn find<'a>(json: &'a serde_json::Value, field: &str) -> Vec<&'a serde_json::Value> {
    match json {
        serde_json::Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| {
                let mut here = if k == field { vec![v] } else { vec![] };
                here.extend(find(v, field));
                here
            })
            .collect(),
        serde_json::Value::Array(items) => items.iter().flat_map(|v| find(v, field)).collect(),
        _ => vec![],
    }
}

#[test]
fn the_snapshot_round_trips() {
    let request = Subject::from_events(in_referral());
    let json = serde_json::to_value(&request).unwrap();
    let back: Subject = serde_json::from_value(json).unwrap();
    assert_eq!(back, request);
    assert_eq!(back.summary().unwrap().status, RequestStatus::InReferral);
}
