//! Events and snapshots as they are stored: the shapes are forever.

use super::support::*;
use crate::alert::*;
use cqrs_es::DomainEvent;

#[test]
fn events_are_stored_tagged_by_type_at_version_1() {
    let event = AlertEvent::ReceiptAcknowledged {
        member_state: ms("FR"),
        postbox: "fr-iap".into(),
        at: now(),
    };
    assert_eq!(event.event_type(), "ReceiptAcknowledged");
    assert_eq!(event.event_version(), "1");
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        serde_json::json!({"ReceiptAcknowledged": {
            "member_state": "FR",
            "postbox": "fr-iap",
            "at": "2026-03-02T00:00:00Z"
        }})
    );
}

#[test]
fn personal_data_is_stored_sealed_only() {
    let json = serde_json::to_string(&drafted()).unwrap();
    assert!(json.contains("\"key\":\"Alert/a1\""));
    assert!(json.contains("\"member_state_of_establishment\":\"AT\""));
    // The sealed values' ciphertexts are the only form of the provider and the activity.
    assert!(json.contains("\"dangerous_activity\":{\"key\""));
    assert!(json.contains("\"service_provider\":{\"key\""));
}

#[test]
fn every_event_round_trips() {
    let mut events = closed();
    events.push(AlertEvent::ThreeDayDeadlinePassed {
        deadline: now(),
        broadcast_in_time: true,
    });
    events.push(AlertEvent::AlertSentBack {
        coordinator: "de-coord".into(),
        reason: sealed("r"),
    });
    events.push(AlertEvent::DraftAmended {
        content: pq_content(),
    });
    for event in events {
        let json = serde_json::to_string(&event).unwrap();
        let back: AlertEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event, "{json}");
    }
}

#[test]
fn the_snapshot_round_trips() {
    let alert = Alert::<()>::from_events(proposal_broadcast());
    let json = serde_json::to_value(&alert).unwrap();
    let back: Alert<()> = serde_json::from_value(json).unwrap();
    assert_eq!(back, alert);
    assert_eq!(
        back.summary().unwrap().status,
        AlertStatus::ClosureProposalBroadcast
    );
}
