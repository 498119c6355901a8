//! Withdrawal of an unfounded alert, at once, by the initiating authority or through its
//! coordinator; nothing happens to a withdrawn alert afterwards.

use super::support::*;
use crate::alert::*;
use crate::error::DomainError;

fn withdraw() -> AlertCommand {
    AlertCommand::WithdrawAlert {
        reason: sealed("unfounded"),
    }
}

fn withdrawn() -> Vec<AlertEvent> {
    with(disseminated(), withdrawn_event())
}

#[tokio::test]
async fn the_initiating_authority_withdraws_at_any_stage() {
    for events in [drafted(), submitted(), disseminated(), proposed()] {
        given(events)
            .when_async(issued(de_handler(), withdraw()))
            .await
            .then_expect_events(vec![withdrawn_event()]);
    }
}

#[tokio::test]
async fn its_coordinator_withdraws_on_its_behalf() {
    given(disseminated())
        .when_async(issued(de_dissem(), withdraw()))
        .await
        .then_expect_events(vec![AlertEvent::AlertWithdrawn {
            withdrawn_by: "de-coord".into(),
            reason: sealed("unfounded"),
            at: now(),
        }]);
}

#[tokio::test]
async fn no_one_else_withdraws() {
    for by in [
        fr_handler(),
        at_iap(),
        de_iap(),
        de_viewer(),
        de_coord_handler(),
    ] {
        given(disseminated())
            .when_async(issued(by, withdraw()))
            .await
            .then_expect_error(DomainError::forbidden(
                "only an alert handler in SD of the initiating authority, or an alert \
                 disseminator of its coordinator, may withdraw the alert",
            ));
    }
}

#[tokio::test]
async fn the_reason_for_withdrawal_is_sealed() {
    given(disseminated())
        .when_async(issued(
            de_handler(),
            AlertCommand::WithdrawAlert {
                reason: foreign_sealed(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the reason must be sealed under the alert's own key",
        ));
}

#[tokio::test]
async fn a_withdrawn_alert_stops_there() {
    let refused = DomainError::refused("the alert was withdrawn");
    for (by, cmd) in [
        (de_handler(), withdraw()),
        (fr_iap(), AlertCommand::AcknowledgeReceipt),
        (
            fr_iap(),
            AlertCommand::AddRecipients {
                authorities: ids(&["fr-iap"]),
            },
        ),
        (at_handler(), {
            AlertCommand::ProposeClosure {
                closing_coordinator_id: "at-iap".into(),
                reason: sealed("r"),
            }
        }),
        (
            de_dissem(),
            AlertCommand::ExtendBroadcast {
                member_states: states(&["PL"]),
            },
        ),
    ] {
        given(withdrawn())
            .when_async(issued(by, cmd))
            .await
            .then_expect_error(refused.clone());
    }
    given(with(drafted(), withdrawn_event()))
        .when_async(issued(
            de_handler(),
            AlertCommand::SubmitAlert {
                coordinator_id: "de-coord".into(),
            },
        ))
        .await
        .then_expect_error(refused.clone());
    given(with(drafted(), withdrawn_event()))
        .when_async(issued(
            de_handler(),
            AlertCommand::AmendDraft {
                content: sd_content(),
            },
        ))
        .await
        .then_expect_error(refused.clone());
    given(with(submitted(), withdrawn_event()))
        .when_async(issued(
            de_dissem(),
            AlertCommand::BroadcastAlert {
                member_states: states(&["FR"]),
            },
        ))
        .await
        .then_expect_error(refused.clone());
    given(with(submitted(), withdrawn_event()))
        .when_async(issued(
            de_dissem(),
            AlertCommand::SendBackAlert {
                reason: sealed("r"),
            },
        ))
        .await
        .then_expect_error(refused);
}
