//! Closure: proposal in the Member State responsible, comments, broadcast of the proposal,
//! objections, closing, rejection; each period checked against the clock.

use super::support::*;
use crate::alert::*;
use crate::error::DomainError;

fn propose(closing: &str) -> AlertCommand {
    AlertCommand::ProposeClosure {
        closing_coordinator_id: closing.into(),
        reason: sealed("risk gone"),
    }
}

fn comment() -> AlertCommand {
    AlertCommand::CommentOnClosure {
        comment: sealed("agreed"),
    }
}

fn object() -> AlertCommand {
    AlertCommand::ObjectToClosure {
        objection: sealed("risk persists"),
    }
}

fn reject() -> AlertCommand {
    AlertCommand::RejectClosureProposal {
        reason: sealed("not yet"),
    }
}

// --- Propose --------------------------------------------------------------------------------

#[tokio::test]
async fn an_involved_authority_of_the_member_state_of_establishment_proposes_closure() {
    given(disseminated())
        .when_async(issued(at_handler(), propose("at-iap")))
        .await
        .then_expect_events(vec![proposed_event()]);
}

#[tokio::test]
async fn without_a_known_establishment_the_initiating_member_state_is_responsible() {
    let mut events = drafted_with("SD", sd_content_without_mse());
    events.extend(disseminated().into_iter().skip(1));
    given(events.clone())
        .when_async(issued(de_handler(), propose("de-coord")))
        .await
        .then_expect_events(vec![AlertEvent::ClosureProposed {
            proposed_by: "de-ca".into(),
            closing_coordinator: "de-coord".into(),
            responsible_member_state: ms("DE"),
            reason: sealed("risk gone"),
            comment_period_ends_at: days(7),
        }]);
    given(events)
        .when_async(issued(at_handler(), propose("at-iap")))
        .await
        .then_expect_error(DomainError::forbidden(
            "only an alert handler in SD of an involved authority of the Member State \
             responsible for closure (DE) may propose or comment on closure",
        ));
}

#[tokio::test]
async fn only_an_involved_alert_handler_of_the_responsible_member_state_proposes() {
    let why = "only an alert handler in SD of an involved authority of the Member State \
               responsible for closure (AT) may propose or comment on closure";
    for by in [fr_handler(), de_handler()] {
        given(disseminated())
            .when_async(issued(by.clone(), propose("at-iap")))
            .await
            .then_expect_error(refusal(&disseminated(), &by, why));
    }
    // at-ca has not received the alert yet: to it, the alert does not exist.
    given(broadcast())
        .when_async(issued(at_handler(), propose("at-iap")))
        .await
        .then_expect_error(unknown_alert());
}

#[tokio::test]
async fn the_closing_coordinator_is_an_alert_coordinator_of_the_responsible_member_state() {
    given(disseminated())
        .when_async(issued(at_handler(), propose("fr-iap")))
        .await
        .then_expect_error(DomainError::refused(
            "fr-iap is not in AT, the Member State responsible for closure",
        ));
    given(disseminated())
        .when_async(issued(at_handler(), propose("at-ca")))
        .await
        .then_expect_error(DomainError::refused(
            "at-ca is not an alert coordinator in SD",
        ));
    given(disseminated())
        .when_async(issued(at_handler(), propose("ghost")))
        .await
        .then_expect_error(DomainError::not_found("no authority ghost"));
}

#[tokio::test]
async fn closure_needs_the_areas_periods() {
    given_in(
        testing::InMemoryAlertServices::new(directory()),
        disseminated(),
    )
    .when_async(issued(at_handler(), propose("at-iap")))
    .await
    .then_expect_error(DomainError::refused("no closure periods are set for SD"));
    given_in(services().periods_unavailable(), disseminated())
        .when_async(issued(at_handler(), propose("at-iap")))
        .await
        .then_expect_error(DomainError::refused(
            "the authority directory is temporarily unavailable; try again",
        ));
}

#[tokio::test]
async fn one_closure_proposal_at_a_time() {
    given(proposed())
        .when_async(issued(at_handler(), propose("at-iap")))
        .await
        .then_expect_error(DomainError::refused(
            "a closure proposal is already under way",
        ));
}

#[tokio::test]
async fn closure_is_proposed_for_a_broadcast_alert() {
    let events = drafted_with("SD", sd_content_without_mse())
        .into_iter()
        .chain([submitted_event()])
        .collect();
    given(events)
        .when_async(issued(de_handler(), propose("de-coord")))
        .await
        .then_expect_error(DomainError::refused("the alert has not been broadcast yet"));
}

#[tokio::test]
async fn the_reason_for_closure_is_sealed() {
    given(disseminated())
        .when_async(issued(
            at_handler(),
            AlertCommand::ProposeClosure {
                closing_coordinator_id: "at-iap".into(),
                reason: foreign_sealed(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the reason must be sealed under the alert's own key",
        ));
}

// --- Comment --------------------------------------------------------------------------------

#[tokio::test]
async fn involved_authorities_of_the_responsible_member_state_comment_during_the_period() {
    for (by, who) in [(at_iap(), "at-iap"), (at_handler(), "at-ca")] {
        given_at(days(6), proposed())
            .when_async(issued(by, comment()))
            .await
            .then_expect_events(vec![AlertEvent::ClosureCommented {
                commented_by: who.into(),
                comment: sealed("agreed"),
            }]);
    }
}

#[tokio::test]
async fn no_comment_once_the_period_is_over_by_the_clock_or_recorded() {
    given_at(days(7), proposed())
        .when_async(issued(at_handler(), comment()))
        .await
        .then_expect_error(DomainError::refused(
            "the comment period ended at 2026-03-09 00:00:00 UTC",
        ));
    given_at(
        days(3),
        with(
            proposed(),
            AlertEvent::CommentPeriodEnded { ended_at: days(7) },
        ),
    )
    .when_async(issued(at_handler(), comment()))
    .await
    .then_expect_error(DomainError::refused(
        "the comment period ended at 2026-03-09 00:00:00 UTC",
    ));
}

#[tokio::test]
async fn only_the_responsible_member_state_comments() {
    given(proposed())
        .when_async(issued(fr_handler(), comment()))
        .await
        .then_expect_error(DomainError::forbidden(
            "only an alert handler in SD of an involved authority of the Member State \
             responsible for closure (AT) may propose or comment on closure",
        ));
}

#[tokio::test]
async fn comments_need_a_proposal() {
    given(disseminated())
        .when_async(issued(at_handler(), comment()))
        .await
        .then_expect_error(DomainError::refused("no closure proposal is under way"));
}

#[tokio::test]
async fn a_comment_is_sealed() {
    given(proposed())
        .when_async(issued(
            at_handler(),
            AlertCommand::CommentOnClosure {
                comment: foreign_sealed(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the comment must be sealed under the alert's own key",
        ));
}

// --- Broadcast the proposal -----------------------------------------------------------------

#[tokio::test]
async fn the_closing_coordinator_broadcasts_the_proposal_after_the_comment_period() {
    given_at(days(7), proposed())
        .when_async(issued(at_iap(), AlertCommand::BroadcastClosureProposal))
        .await
        .then_expect_events(vec![AlertEvent::ClosureProposalBroadcast {
            closing_coordinator: "at-iap".into(),
            objection_period_ends_at: days(21),
        }]);
}

#[tokio::test]
async fn the_proposal_waits_for_the_comment_period() {
    given_at(days(6), proposed())
        .when_async(issued(at_iap(), AlertCommand::BroadcastClosureProposal))
        .await
        .then_expect_error(DomainError::refused(
            "the comment period runs until 2026-03-09 00:00:00 UTC",
        ));
}

#[tokio::test]
async fn the_proposal_is_broadcast_once() {
    given_at(days(8), proposal_broadcast())
        .when_async(issued(at_iap(), AlertCommand::BroadcastClosureProposal))
        .await
        .then_expect_error(DomainError::refused(
            "the closure proposal was already broadcast",
        ));
}

#[tokio::test]
async fn the_closing_coordinators_steps_need_a_proposal() {
    for cmd in [
        AlertCommand::BroadcastClosureProposal,
        reject(),
        AlertCommand::CloseAlert,
    ] {
        given(disseminated())
            .when_async(issued(at_iap(), cmd))
            .await
            .then_expect_error(DomainError::refused("no closure proposal is under way"));
    }
}

#[tokio::test]
async fn only_the_closing_coordinators_disseminator_broadcasts_rejects_or_closes() {
    for by in [at_handler(), fr_iap(), de_dissem()] {
        for cmd in [
            AlertCommand::BroadcastClosureProposal,
            reject(),
            AlertCommand::CloseAlert,
        ] {
            given_at(days(30), proposal_broadcast())
                .when_async(issued(by.clone(), cmd))
                .await
                .then_expect_error(DomainError::forbidden(
                    "only an alert disseminator in SD of the closing coordinator may broadcast, \
                     reject or close",
                ));
        }
    }
}

#[tokio::test]
async fn the_proposal_is_broadcast_only_with_the_areas_periods() {
    given_in(
        testing::InMemoryAlertServices::new(directory()).at(days(7)),
        proposed(),
    )
    .when_async(issued(at_iap(), AlertCommand::BroadcastClosureProposal))
    .await
    .then_expect_error(DomainError::refused("no closure periods are set for SD"));
}

// --- Reject ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_closing_coordinator_rejects_the_proposal_and_the_alert_stays_open() {
    let rejected = AlertEvent::ClosureProposalRejected {
        closing_coordinator: "at-iap".into(),
        reason: sealed("not yet"),
    };
    for events in [proposed(), proposal_broadcast()] {
        given_at(days(8), events)
            .when_async(issued(at_iap(), reject()))
            .await
            .then_expect_events(vec![rejected.clone()]);
    }
    // A new proposal may follow.
    given(with(proposed(), rejected))
        .when_async(issued(at_handler(), propose("at-iap")))
        .await
        .then_expect_events(vec![proposed_event()]);
}

#[tokio::test]
async fn the_reason_for_rejecting_is_sealed() {
    given(proposed())
        .when_async(issued(
            at_iap(),
            AlertCommand::RejectClosureProposal {
                reason: foreign_sealed(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the reason must be sealed under the alert's own key",
        ));
}

// --- Object ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_recipient_member_states_coordinator_objects_during_the_period() {
    given_at(days(20), proposal_broadcast())
        .when_async(issued(fr_iap(), object()))
        .await
        .then_expect_events(vec![AlertEvent::ClosureObjected {
            objected_by: "fr-iap".into(),
            member_state: ms("FR"),
            objection: sealed("risk persists"),
        }]);
}

#[tokio::test]
async fn no_objection_once_the_period_is_over_by_the_clock_or_recorded() {
    given_at(days(21), proposal_broadcast())
        .when_async(issued(fr_iap(), object()))
        .await
        .then_expect_error(DomainError::refused(
            "the objection period ended at 2026-03-23 00:00:00 UTC",
        ));
    given_at(
        days(10),
        with(
            proposal_broadcast(),
            AlertEvent::ObjectionPeriodEnded { ended_at: days(21) },
        ),
    )
    .when_async(issued(fr_iap(), object()))
    .await
    .then_expect_error(DomainError::refused(
        "the objection period ended at 2026-03-23 00:00:00 UTC",
    ));
}

#[tokio::test]
async fn objections_come_once_the_proposal_is_broadcast() {
    given(proposed())
        .when_async(issued(fr_iap(), object()))
        .await
        .then_expect_error(DomainError::refused(
            "no closure proposal has been broadcast",
        ));
}

#[tokio::test]
async fn only_a_disseminator_of_an_involved_coordinator_elsewhere_objects() {
    for by in [fr_handler(), at_iap(), user("fr-iap-viewer", "fr-iap")] {
        given_at(days(10), proposal_broadcast())
            .when_async(issued(by, object()))
            .await
            .then_expect_error(DomainError::forbidden(
                "only an alert disseminator in SD of an involved coordinator of a recipient \
                 Member State may object to closure",
            ));
    }
}

#[tokio::test]
async fn an_objection_is_sealed() {
    given_at(days(10), proposal_broadcast())
        .when_async(issued(
            fr_iap(),
            AlertCommand::ObjectToClosure {
                objection: foreign_sealed(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the objection must be sealed under the alert's own key",
        ));
}

// --- Close ----------------------------------------------------------------------------------

#[tokio::test]
async fn the_closing_coordinator_closes_at_the_end_of_the_objection_period() {
    given_at(days(21), proposal_broadcast())
        .when_async(issued(at_iap(), AlertCommand::CloseAlert))
        .await
        .then_expect_events(vec![AlertEvent::AlertClosed {
            closing_coordinator: "at-iap".into(),
            at: days(21),
        }]);
}

#[tokio::test]
async fn closing_waits_for_the_objection_period() {
    given_at(days(20), proposal_broadcast())
        .when_async(issued(at_iap(), AlertCommand::CloseAlert))
        .await
        .then_expect_error(DomainError::refused(
            "the objection period runs until 2026-03-23 00:00:00 UTC",
        ));
}

#[tokio::test]
async fn closing_waits_for_the_proposals_broadcast() {
    given_at(days(30), proposed())
        .when_async(issued(at_iap(), AlertCommand::CloseAlert))
        .await
        .then_expect_error(DomainError::refused(
            "the closure proposal has not been broadcast yet",
        ));
}

#[tokio::test]
async fn a_closed_alert_takes_no_further_step() {
    for (by, cmd) in [
        (at_iap(), AlertCommand::CloseAlert),
        (at_iap(), reject()),
        (at_handler(), comment()),
        (
            fr_handler(),
            AlertCommand::SubmitAdditionalInformation {
                information_id: "i2".into(),
                kind: InformationKind::Information,
                coordinator_id: "fr-iap".into(),
                text: sealed("t"),
                attachments: vec![],
            },
        ),
        (
            de_handler(),
            AlertCommand::WithdrawAlert {
                reason: sealed("r"),
            },
        ),
    ] {
        given_at(days(30), closed())
            .when_async(issued(by, cmd))
            .await
            .then_expect_error(DomainError::refused("the alert is closed"));
    }
}
