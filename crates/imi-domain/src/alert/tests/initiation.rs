//! Drafting, amending, submitting, sending back, broadcasting and extending the broadcast.

use super::support::*;
use crate::alert::*;
use crate::authority::{AuthorityKind, AuthorityStatus, UserRole, WorkflowRole};
use crate::error::DomainError;
use chrono::Duration;
use std::collections::BTreeMap;

fn draft(content: AlertContent) -> AlertCommand {
    AlertCommand::DraftAlert {
        alert_id: ID.into(),
        area: sd(),
        content,
    }
}

fn draft_pq(content: AlertContent) -> AlertCommand {
    AlertCommand::DraftAlert {
        alert_id: ID.into(),
        area: pq(),
        content,
    }
}

fn submit(to: &str) -> AlertCommand {
    AlertCommand::SubmitAlert {
        coordinator_id: to.into(),
    }
}

fn broadcast_to(codes: &[&str]) -> AlertCommand {
    AlertCommand::BroadcastAlert {
        member_states: states(codes),
    }
}

fn pq_with(change: impl FnOnce(&mut ProfessionalAlert)) -> AlertContent {
    let mut p = pq_alert();
    change(&mut p);
    AlertContent::ProfessionalQualifications(p)
}

// --- Draft ----------------------------------------------------------------------------------

#[tokio::test]
async fn an_alert_handler_drafts_an_sd_alert_for_their_authority() {
    given(vec![])
        .when_async(issued(de_handler(), draft(sd_content())))
        .await
        .then_expect_events(drafted());
}

#[tokio::test]
async fn an_alert_handler_drafts_a_pq_alert() {
    given(vec![])
        .when_async(issued(de_handler(), draft_pq(pq_content())))
        .await
        .then_expect_events(drafted_with("PQ", pq_content()));
}

#[tokio::test]
async fn an_alert_coordinator_drafts_alerts_too() {
    given(vec![])
        .when_async(issued(de_coord_handler(), draft(sd_content())))
        .await
        .then_expect_events(vec![AlertEvent::AlertDrafted {
            alert_id: ID.into(),
            area: sd(),
            initiating_authority: "de-coord".into(),
            initiating_member_state: ms("DE"),
            content: sd_content(),
            at: now(),
        }]);
}

#[tokio::test]
async fn a_draft_is_refused_when_the_alert_exists() {
    given(drafted())
        .when_async(issued(de_handler(), draft(sd_content())))
        .await
        .then_expect_error(DomainError::refused("the alert already exists"));
}

#[tokio::test]
async fn a_draft_needs_an_id() {
    given(vec![])
        .when_async(issued(
            de_handler(),
            AlertCommand::DraftAlert {
                alert_id: " ".into(),
                area: sd(),
                content: sd_content(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid("the alert needs an id"));
}

#[tokio::test]
async fn a_draft_in_an_unknown_area_is_refused() {
    given(vec![])
        .when_async(issued(
            de_handler(),
            AlertCommand::DraftAlert {
                alert_id: ID.into(),
                area: area("XX"),
                content: sd_content(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid("unknown legislative area XX"));
}

#[tokio::test]
async fn a_draft_in_an_area_without_alerts_is_refused() {
    given(vec![])
        .when_async(issued(
            de_handler(),
            AlertCommand::DraftAlert {
                alert_id: ID.into(),
                area: area("ECOM"),
                content: sd_content(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid("ECOM has no alerts workflow"));
}

#[tokio::test]
async fn the_system_drafts_no_alert() {
    given(vec![])
        .when_async(issued(system(), draft(sd_content())))
        .await
        .then_expect_error(DomainError::forbidden("this command is issued by a user"));
}

#[tokio::test]
async fn an_unregistered_authority_drafts_no_alert() {
    given(vec![])
        .when_async(issued(user("x", "ghost"), draft(sd_content())))
        .await
        .then_expect_error(DomainError::forbidden(
            "the acting authority is not registered",
        ));
}

#[tokio::test]
async fn an_authority_without_the_alerts_workflow_drafts_no_alert() {
    given(vec![])
        .when_async(issued(
            user("de-req-handler", "de-req"),
            draft(sd_content()),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "the authority has no access to the alerts workflow in SD",
        ));
}

#[tokio::test]
async fn only_an_alert_handler_drafts() {
    for by in [de_viewer(), user("de-basic", "de-ca"), de_dissem()] {
        given(vec![])
            .when_async(issued(by, draft(sd_content())))
            .await
            .then_expect_error(DomainError::forbidden(
                "only an alert handler in SD of the initiating authority may draft, amend or \
                 submit the alert",
            ));
    }
}

#[tokio::test]
async fn an_authority_awaiting_validation_drafts_no_alert() {
    given(vec![])
        .when_async(issued(
            user("de-pending-handler", "de-pending"),
            draft(sd_content()),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "the acting authority is not validated yet: it cannot work in IMI before its \
             coordinator validates it",
        ));
}

#[tokio::test]
async fn personal_data_must_be_sealed_under_the_alerts_key() {
    let AlertContent::Services(mut s) = sd_content() else {
        unreachable!()
    };
    s.service_provider = foreign_sealed();
    given(vec![])
        .when_async(issued(de_handler(), draft(AlertContent::Services(s))))
        .await
        .then_expect_error(DomainError::invalid(
            "the alert's personal data must be sealed under the alert's own key",
        ));
}

#[tokio::test]
async fn an_unknown_service_activity_is_refused() {
    let AlertContent::Services(mut s) = sd_content() else {
        unreachable!()
    };
    s.service_activity = Some("juggling".into());
    given(vec![])
        .when_async(issued(de_handler(), draft(AlertContent::Services(s))))
        .await
        .then_expect_error(DomainError::invalid(
            "unknown service activity juggling in SD",
        ));
}

#[tokio::test]
async fn an_unknown_profession_is_refused() {
    given(vec![])
        .when_async(issued(
            de_handler(),
            draft_pq(pq_with(|p| p.profession = "wizard".into())),
        ))
        .await
        .then_expect_error(DomainError::invalid("unknown profession wizard in PQ"));
}

#[tokio::test]
async fn a_pq_alert_names_the_deciding_authority() {
    given(vec![])
        .when_async(issued(
            de_handler(),
            draft_pq(pq_with(|p| p.deciding_authority = " ".into())),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "name the authority or court that took the decision",
        ));
}

#[tokio::test]
async fn a_restriction_ends_after_it_starts() {
    given(vec![])
        .when_async(issued(
            de_handler(),
            draft_pq(pq_with(|p| {
                p.applies_until = Some(p.applies_from - Duration::days(1))
            })),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the restriction cannot end before it starts",
        ));
}

#[tokio::test]
async fn a_decision_is_not_in_the_future() {
    given(vec![])
        .when_async(issued(
            de_handler(),
            draft_pq(pq_with(|p| p.decided_at = now() + Duration::hours(1))),
        ))
        .await
        .then_expect_error(DomainError::invalid("the decision cannot be in the future"));
}

#[tokio::test]
async fn a_draft_is_refused_while_the_directory_is_unavailable() {
    given_in(
        testing::InMemoryAlertServices::new(directory().unavailable()),
        vec![],
    )
    .when_async(issued(de_handler(), draft(sd_content())))
    .await
    .then_expect_error(DomainError::refused(
        "the authority directory is temporarily unavailable; try again",
    ));
}

#[tokio::test]
async fn a_command_on_an_alert_never_drafted_is_not_found() {
    given(vec![])
        .when_async(issued(de_handler(), submit("de-coord")))
        .await
        .then_expect_error(DomainError::not_found("no such alert"));
}

// --- Amend ----------------------------------------------------------------------------------

#[tokio::test]
async fn the_initiating_authority_amends_its_draft_and_an_alert_sent_back() {
    let content = sd_content_without_mse();
    given(drafted())
        .when_async(issued(
            de_handler(),
            AlertCommand::AmendDraft {
                content: content.clone(),
            },
        ))
        .await
        .then_expect_events(vec![AlertEvent::DraftAmended {
            content: content.clone(),
        }]);
    given(with(
        submitted(),
        AlertEvent::AlertSentBack {
            coordinator: "de-coord".into(),
            reason: sealed("incomplete"),
        },
    ))
    .when_async(issued(
        de_handler(),
        AlertCommand::AmendDraft {
            content: content.clone(),
        },
    ))
    .await
    .then_expect_events(vec![AlertEvent::DraftAmended { content }]);
}

#[tokio::test]
async fn a_submitted_alert_is_not_amended() {
    given(submitted())
        .when_async(issued(
            de_handler(),
            AlertCommand::AmendDraft {
                content: sd_content(),
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "only a draft or an alert sent back can be amended",
        ));
}

#[tokio::test]
async fn an_alert_keeps_its_kind() {
    given(drafted())
        .when_async(issued(
            de_handler(),
            AlertCommand::AmendDraft {
                content: pq_content(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "an alert keeps its kind: this one is a SD alert",
        ));
}

#[tokio::test]
async fn another_authority_amends_nothing() {
    given(drafted())
        .when_async(issued(
            de_ca2(),
            AlertCommand::AmendDraft {
                content: sd_content(),
            },
        ))
        .await
        .then_expect_error(unknown_alert());
}

// --- Submit ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_initiating_authority_submits_to_a_linked_alert_coordinator() {
    given(drafted())
        .when_async(issued(de_handler(), submit("de-coord")))
        .await
        .then_expect_events(vec![submitted_event()]);
}

#[tokio::test]
async fn an_alert_coordinator_submits_to_itself() {
    let drafted_by_coordinator = vec![AlertEvent::AlertDrafted {
        alert_id: ID.into(),
        area: sd(),
        initiating_authority: "de-coord".into(),
        initiating_member_state: ms("DE"),
        content: sd_content(),
        at: now(),
    }];
    given(drafted_by_coordinator)
        .when_async(issued(de_coord_handler(), submit("de-coord")))
        .await
        .then_expect_events(vec![submitted_event()]);
}

#[tokio::test]
async fn an_alert_goes_only_to_a_linked_coordinator() {
    given(drafted())
        .when_async(issued(de_handler(), submit("de-iap")))
        .await
        .then_expect_error(DomainError::forbidden(
            "de-iap is not an alert coordinator the authority is linked to in SD",
        ));
}

#[tokio::test]
async fn an_alert_is_submitted_once() {
    given(submitted())
        .when_async(issued(de_handler(), submit("de-coord")))
        .await
        .then_expect_error(DomainError::refused("the alert was already submitted"));
}

#[tokio::test]
async fn the_linked_coordinator_must_still_be_registered_validated_and_coordinating() {
    given_in(
        testing::InMemoryAlertServices::new(directory().without("de-coord")),
        drafted(),
    )
    .when_async(issued(de_handler(), submit("de-coord")))
    .await
    .then_expect_error(DomainError::not_found("no authority de-coord"));

    let mut pending = scene()
        .into_iter()
        .find(|a| a.authority_id == "de-coord")
        .unwrap();
    pending.status = AuthorityStatus::AwaitingValidation;
    given_in(
        testing::InMemoryAlertServices::new(directory().with_authority(pending)),
        drafted(),
    )
    .when_async(issued(de_handler(), submit("de-coord")))
    .await
    .then_expect_error(DomainError::refused("de-coord is not validated yet"));

    let demoted = authority(
        "de-coord",
        "DE",
        AuthorityKind::DelegatedCoordinator,
        Some(WorkflowRole::AlertAuthority),
        &["de-coord"],
        &[("de-dissem", &[UserRole::AlertDisseminator])],
    );
    given_in(
        testing::InMemoryAlertServices::new(directory().with_authority(demoted)),
        drafted(),
    )
    .when_async(issued(de_handler(), submit("de-coord")))
    .await
    .then_expect_error(DomainError::refused(
        "de-coord is not an alert coordinator in SD",
    ));

    let without_alerts = authority(
        "de-coord",
        "DE",
        AuthorityKind::DelegatedCoordinator,
        None,
        &[],
        &[],
    );
    given_in(
        testing::InMemoryAlertServices::new(directory().with_authority(without_alerts)),
        drafted(),
    )
    .when_async(issued(de_handler(), submit("de-coord")))
    .await
    .then_expect_error(DomainError::refused(
        "de-coord has no access to alerts in SD",
    ));
}

// --- Send back ------------------------------------------------------------------------------

#[tokio::test]
async fn the_coordinator_sends_an_alert_back_and_it_is_resubmitted() {
    let sent_back = AlertEvent::AlertSentBack {
        coordinator: "de-coord".into(),
        reason: sealed("incomplete"),
    };
    given(submitted())
        .when_async(issued(
            de_dissem(),
            AlertCommand::SendBackAlert {
                reason: sealed("incomplete"),
            },
        ))
        .await
        .then_expect_events(vec![sent_back.clone()]);
    given(with(submitted(), sent_back))
        .when_async(issued(de_handler(), submit("de-coord")))
        .await
        .then_expect_events(vec![submitted_event()]);
}

#[tokio::test]
async fn only_a_disseminator_of_the_coordinator_sends_back_or_broadcasts() {
    for by in [de_coord_handler(), de_handler(), de_iap(), fr_iap()] {
        for cmd in [
            AlertCommand::SendBackAlert {
                reason: sealed("r"),
            },
            broadcast_to(&["FR"]),
        ] {
            given(submitted())
                .when_async(issued(by.clone(), cmd))
                .await
                .then_expect_error(refusal(
                    &submitted(),
                    &by,
                    "only an alert disseminator in SD of the alert coordinator the alert was \
                     submitted to may send it back or broadcast it",
                ));
        }
    }
}

#[tokio::test]
async fn only_a_submitted_alert_is_sent_back() {
    given(broadcast())
        .when_async(issued(
            de_dissem(),
            AlertCommand::SendBackAlert {
                reason: sealed("r"),
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "only a submitted alert can be sent back",
        ));
}

#[tokio::test]
async fn the_reason_for_sending_back_is_sealed_under_the_alerts_key() {
    given(submitted())
        .when_async(issued(
            de_dissem(),
            AlertCommand::SendBackAlert {
                reason: foreign_sealed(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the reason must be sealed under the alert's own key",
        ));
}

// --- Broadcast ------------------------------------------------------------------------------

#[tokio::test]
async fn the_coordinator_broadcasts_to_recipient_postboxes_and_its_own_postbox_receives_it() {
    given(submitted())
        .when_async(issued(de_dissem(), broadcast_to(&["FR", "AT"])))
        .await
        .then_expect_events(vec![broadcast_event()]);
}

#[tokio::test]
async fn a_broadcast_names_a_recipient_member_state() {
    given(submitted())
        .when_async(issued(de_dissem(), broadcast_to(&[])))
        .await
        .then_expect_error(DomainError::invalid(
            "choose at least one recipient Member State",
        ));
}

#[tokio::test]
async fn a_broadcast_goes_to_other_member_states() {
    given(submitted())
        .when_async(issued(de_dissem(), broadcast_to(&["FR", "DE"])))
        .await
        .then_expect_error(DomainError::invalid(
            "the initiating Member State receives the alert through its own incoming alert \
             postbox; choose other Member States",
        ));
}

#[tokio::test]
async fn a_member_state_without_a_postbox_receives_no_alert() {
    given(submitted())
        .when_async(issued(de_dissem(), broadcast_to(&["FR", "PL"])))
        .await
        .then_expect_error(DomainError::refused("PL has no incoming alert postbox"));
}

#[tokio::test]
async fn an_alert_is_broadcast_once() {
    given(broadcast())
        .when_async(issued(de_dissem(), broadcast_to(&["FR"])))
        .await
        .then_expect_error(DomainError::refused("the alert was already broadcast"));
}

#[tokio::test]
async fn an_alert_sent_back_is_not_broadcast() {
    given(with(
        submitted(),
        AlertEvent::AlertSentBack {
            coordinator: "de-coord".into(),
            reason: sealed("r"),
        },
    ))
    .when_async(issued(de_dissem(), broadcast_to(&["FR"])))
    .await
    .then_expect_error(DomainError::refused(
        "only a submitted alert can be broadcast",
    ));
}

#[tokio::test]
async fn without_a_postbox_of_its_own_the_initiating_member_state_still_broadcasts() {
    let no_de_postbox = scene()
        .into_iter()
        .find(|a| a.authority_id == "de-iap")
        .map(|mut a| {
            a.areas.clear();
            a
        })
        .unwrap();
    given_in(
        testing::InMemoryAlertServices::new(directory().with_authority(no_de_postbox)),
        submitted(),
    )
    .when_async(issued(de_dissem(), broadcast_to(&["FR"])))
    .await
    .then_expect_events(vec![AlertEvent::AlertBroadcast {
        coordinator: "de-coord".into(),
        member_states: BTreeMap::from([(ms("FR"), "fr-iap".to_string())]),
        sending_postbox: None,
        at: now(),
    }]);
}

// --- Extend the broadcast -------------------------------------------------------------------

fn broadcast_to_fr_only() -> Vec<AlertEvent> {
    with(
        submitted(),
        AlertEvent::AlertBroadcast {
            coordinator: "de-coord".into(),
            member_states: BTreeMap::from([(ms("FR"), "fr-iap".to_string())]),
            sending_postbox: Some("de-iap".into()),
            at: now(),
        },
    )
}

#[tokio::test]
async fn the_coordinator_adds_recipient_member_states_later() {
    given(broadcast_to_fr_only())
        .when_async(issued(
            de_dissem(),
            AlertCommand::ExtendBroadcast {
                member_states: states(&["AT"]),
            },
        ))
        .await
        .then_expect_events(vec![AlertEvent::BroadcastExtended {
            member_states: BTreeMap::from([(ms("AT"), "at-iap".to_string())]),
        }]);
}

#[tokio::test]
async fn a_member_state_is_added_once() {
    given(broadcast_to_fr_only())
        .when_async(issued(
            de_dissem(),
            AlertCommand::ExtendBroadcast {
                member_states: states(&["FR"]),
            },
        ))
        .await
        .then_expect_error(DomainError::refused("FR already receives the alert"));
}

#[tokio::test]
async fn a_broadcast_is_extended_only_once_broadcast() {
    given(submitted())
        .when_async(issued(
            de_dissem(),
            AlertCommand::ExtendBroadcast {
                member_states: states(&["AT"]),
            },
        ))
        .await
        .then_expect_error(DomainError::refused("the alert has not been broadcast yet"));
}

#[tokio::test]
async fn only_the_coordinators_disseminator_extends_the_broadcast() {
    given(broadcast_to_fr_only())
        .when_async(issued(
            fr_iap(),
            AlertCommand::ExtendBroadcast {
                member_states: states(&["AT"]),
            },
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only an alert disseminator in SD of the alert coordinator the alert was submitted \
             to may send it back or broadcast it",
        ));
}
