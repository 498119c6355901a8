//! The summary derived from the events: who is involved how, the Member State responsible
//! for closure, the periods, and the work queues each step puts the alert in.

use super::support::*;
use crate::alert::*;
use std::collections::BTreeSet;

fn queues(events: Vec<AlertEvent>) -> BTreeSet<(String, AlertQueue)> {
    summary_of(events).queues()
}

fn q(entries: &[(&str, AlertQueue)]) -> BTreeSet<(String, AlertQueue)> {
    entries.iter().map(|(a, q)| (a.to_string(), *q)).collect()
}

#[test]
fn the_summary_follows_the_workflow() {
    let s = summary_of(proposal_broadcast());
    assert_eq!(s.status, AlertStatus::ClosureProposalBroadcast);
    assert_eq!(s.kind, AlertKind::Services);
    assert_eq!(s.responsible_member_state(), &ms("AT"));
    assert_eq!(s.coordinator.as_deref(), Some("de-coord"));
    assert_eq!(s.sending_postbox.as_deref(), Some("de-iap"));
    assert_eq!(s.recipient_postbox(&ms("FR")), Some("fr-iap"));
    let closure = s.closure.as_ref().unwrap();
    assert_eq!(closure.comment_period_ends_at, days(7));
    assert!(closure.comment_period_ended);
    assert_eq!(closure.objection_period_ends_at, Some(days(21)));
    let involved = s.involved();
    assert_eq!(
        involved.keys().cloned().collect::<BTreeSet<_>>(),
        ids(&["at-ca", "at-iap", "de-ca", "de-coord", "de-iap", "fr-ca", "fr-iap"])
    );
    assert_eq!(
        s.involvement("at-iap"),
        [Involvement::Postbox, Involvement::ClosingCoordinator]
            .into_iter()
            .collect()
    );
    assert!(!s.is_involved("de-ca2"));
}

#[test]
fn the_initiating_member_state_is_responsible_when_the_establishment_is_unknown() {
    let s = summary_of(drafted_with("SD", sd_content_without_mse()));
    assert_eq!(s.responsible_member_state(), &ms("DE"));
}

#[test]
fn a_pq_summary_shows_profession_scope_and_deadline() {
    let s = summary_of(drafted_with("PQ", pq_content()));
    assert_eq!(s.kind, AlertKind::ProfessionalQualifications);
    assert_eq!(s.profession.as_deref(), Some("doctor"));
    assert_eq!(s.scope, Some(RestrictionScope::Prohibition));
    assert_eq!(s.three_day_deadline, Some(days(2)));
    assert_eq!(s.broadcast_in_time, None);
}

#[test]
fn each_step_puts_the_alert_in_the_queues_of_who_acts_next() {
    use AlertQueue::*;
    assert_eq!(queues(drafted()), q(&[]));
    assert_eq!(queues(submitted()), q(&[("de-coord", ToBroadcast)]));
    assert_eq!(
        queues(broadcast()),
        q(&[("at-iap", ToAcknowledge), ("fr-iap", ToAcknowledge)])
    );
    assert_eq!(
        queues(with(broadcast(), acknowledged_by("FR", "fr-iap"))),
        q(&[("at-iap", ToAcknowledge), ("fr-iap", ToDisseminate)])
    );
    assert_eq!(queues(disseminated()), q(&[]));
    let info = AlertEvent::AdditionalInformationSubmitted {
        information_id: "i1".into(),
        kind: InformationKind::Request,
        submitted_by: "fr-ca".into(),
        coordinator: "fr-iap".into(),
        text: sealed("t"),
        attachments: vec![],
    };
    assert_eq!(
        queues(with(disseminated(), info)),
        q(&[("fr-iap", InformationToBroadcast)])
    );
    assert_eq!(
        queues(proposed()),
        q(&[("at-ca", ToComment), ("at-iap", ToComment)])
    );
    let commented = with(
        proposed(),
        AlertEvent::ClosureCommented {
            commented_by: "at-iap".into(),
            comment: sealed("c"),
        },
    );
    assert_eq!(queues(commented), q(&[("at-ca", ToComment)]));
    assert_eq!(
        queues(with(
            proposed(),
            AlertEvent::CommentPeriodEnded { ended_at: days(7) }
        )),
        q(&[("at-iap", ToClose)])
    );
    assert_eq!(
        queues(proposal_broadcast()),
        q(&[
            ("de-coord", ToObject),
            ("de-iap", ToObject),
            ("fr-iap", ToObject)
        ])
    );
    let objected = with(
        proposal_broadcast(),
        AlertEvent::ClosureObjected {
            objected_by: "fr-iap".into(),
            member_state: ms("FR"),
            objection: sealed("o"),
        },
    );
    assert_eq!(
        queues(objected),
        q(&[("de-coord", ToObject), ("de-iap", ToObject)])
    );
    assert_eq!(
        queues(with(
            proposal_broadcast(),
            AlertEvent::ObjectionPeriodEnded { ended_at: days(21) }
        )),
        q(&[("at-iap", ToClose)])
    );
    assert_eq!(queues(closed()), q(&[]));
    assert_eq!(queues(with(broadcast(), withdrawn_event())), q(&[]));
}

#[test]
fn a_rejected_proposal_reopens_the_alert() {
    let s = summary_of(with(
        proposal_broadcast(),
        AlertEvent::ClosureProposalRejected {
            closing_coordinator: "at-iap".into(),
            reason: sealed("r"),
        },
    ));
    assert_eq!(s.status, AlertStatus::Broadcast);
    assert_eq!(s.closure, None);
    // at-iap stays involved as AT's postbox only.
    assert_eq!(s.involvement("at-iap"), [Involvement::Postbox].into());
}
