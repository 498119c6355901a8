//! Acknowledgement and dissemination in the recipient Member States, and additional
//! information through a coordinator.

use super::support::*;
use crate::alert::*;
use crate::authority::AuthorityStatus;
use crate::error::DomainError;

fn add(authorities: &[&str]) -> AlertCommand {
    AlertCommand::AddRecipients {
        authorities: ids(authorities),
    }
}

fn fr_acknowledged() -> Vec<AlertEvent> {
    with(broadcast(), acknowledged_by("FR", "fr-iap"))
}

// --- Acknowledge ----------------------------------------------------------------------------

#[tokio::test]
async fn a_recipient_postbox_acknowledges_receipt() {
    given(broadcast())
        .when_async(issued(fr_iap(), AlertCommand::AcknowledgeReceipt))
        .await
        .then_expect_events(vec![acknowledged_by("FR", "fr-iap")]);
}

#[tokio::test]
async fn receipt_is_acknowledged_once() {
    given(fr_acknowledged())
        .when_async(issued(fr_iap(), AlertCommand::AcknowledgeReceipt))
        .await
        .then_expect_error(DomainError::refused(
            "receipt was already acknowledged for FR",
        ));
}

#[tokio::test]
async fn only_a_recipient_postbox_acknowledges() {
    let why = "only an alert handler or disseminator in SD of a recipient Member State's \
               incoming alert postbox may acknowledge receipt";
    // The sending postbox receives the alert but is not a recipient Member State's.
    for by in [de_iap(), fr_handler(), user("fr-iap-viewer", "fr-iap")] {
        given(broadcast())
            .when_async(issued(by.clone(), AlertCommand::AcknowledgeReceipt))
            .await
            .then_expect_error(refusal(&broadcast(), &by, why));
    }
    // Before the broadcast the postbox does not know the alert at all.
    given(submitted())
        .when_async(issued(fr_iap(), AlertCommand::AcknowledgeReceipt))
        .await
        .then_expect_error(unknown_alert());
}

#[tokio::test]
async fn a_closed_alert_is_not_acknowledged() {
    given(closed())
        .when_async(issued(fr_iap(), AlertCommand::AcknowledgeReceipt))
        .await
        .then_expect_error(DomainError::refused("the alert is closed"));
}

// --- Disseminate ----------------------------------------------------------------------------

#[tokio::test]
async fn the_postbox_disseminates_within_its_member_state_after_acknowledging() {
    given(fr_acknowledged())
        .when_async(issued(fr_iap(), add(&["fr-ca"])))
        .await
        .then_expect_events(vec![AlertEvent::RecipientsAdded {
            member_state: ms("FR"),
            added_by: "fr-iap".into(),
            authorities: ids(&["fr-ca"]),
        }]);
}

#[tokio::test]
async fn a_postbox_acknowledges_before_it_disseminates() {
    given(broadcast())
        .when_async(issued(fr_iap(), add(&["fr-ca"])))
        .await
        .then_expect_error(DomainError::refused(
            "acknowledge receipt before disseminating the alert",
        ));
}

#[tokio::test]
async fn the_sending_coordinator_and_postbox_add_recipients_at_home_at_any_time() {
    for (by, added_by) in [(de_dissem(), "de-coord"), (de_iap(), "de-iap")] {
        given(broadcast())
            .when_async(issued(by, add(&["de-ca2"])))
            .await
            .then_expect_events(vec![AlertEvent::RecipientsAdded {
                member_state: ms("DE"),
                added_by: added_by.into(),
                authorities: ids(&["de-ca2"]),
            }]);
    }
}

#[tokio::test]
async fn a_postbox_assigns_the_alert_to_itself() {
    given(fr_acknowledged())
        .when_async(issued(fr_iap(), add(&["fr-iap"])))
        .await
        .then_expect_events(vec![AlertEvent::RecipientsAdded {
            member_state: ms("FR"),
            added_by: "fr-iap".into(),
            authorities: ids(&["fr-iap"]),
        }]);
}

#[tokio::test]
async fn dissemination_names_someone() {
    given(fr_acknowledged())
        .when_async(issued(fr_iap(), add(&[])))
        .await
        .then_expect_error(DomainError::invalid("name at least one authority to add"));
}

#[tokio::test]
async fn an_authority_with_access_is_not_added_again() {
    given(disseminated())
        .when_async(issued(fr_iap(), add(&["fr-ca"])))
        .await
        .then_expect_error(DomainError::refused(
            "fr-ca already has access to the alert",
        ));
    given(broadcast())
        .when_async(issued(de_iap(), add(&["de-ca"])))
        .await
        .then_expect_error(DomainError::refused(
            "de-ca already has access to the alert",
        ));
}

#[tokio::test]
async fn an_alert_is_disseminated_within_the_disseminators_member_state() {
    given(fr_acknowledged())
        .when_async(issued(fr_iap(), add(&["at-ca"])))
        .await
        .then_expect_error(DomainError::refused(
            "at-ca is not in FR: an alert is disseminated within the disseminator's own Member \
             State",
        ));
}

#[tokio::test]
async fn a_recipient_is_registered_validated_and_in_the_alerts_workflow() {
    given(broadcast())
        .when_async(issued(de_iap(), add(&["ghost"])))
        .await
        .then_expect_error(DomainError::not_found("no authority ghost"));
    given(broadcast())
        .when_async(issued(de_iap(), add(&["de-pending"])))
        .await
        .then_expect_error(DomainError::refused("de-pending is not validated yet"));
    given(broadcast())
        .when_async(issued(de_iap(), add(&["de-req"])))
        .await
        .then_expect_error(DomainError::refused("de-req has no access to alerts in SD"));
}

#[tokio::test]
async fn only_a_disseminator_of_an_involved_coordinator_adds_recipients() {
    let why = "only an alert disseminator in SD of an alert coordinator or incoming alert \
               postbox with access to the alert may add recipients";
    for by in [fr_handler(), de_handler(), at_handler()] {
        given(disseminated())
            .when_async(issued(by.clone(), add(&["de-ca2"])))
            .await
            .then_expect_error(refusal(&disseminated(), &by, why));
    }
    // A coordinator not involved in the alert.
    let mut dir = directory();
    let mut other = scene()
        .into_iter()
        .find(|a| a.authority_id == "de-coord")
        .unwrap();
    other.authority_id = "de-coord2".into();
    dir.insert(other);
    given_in(testing::InMemoryAlertServices::new(dir), broadcast())
        .when_async(issued(user("de-dissem", "de-coord2"), add(&["de-ca2"])))
        .await
        .then_expect_error(unknown_alert());
}

#[tokio::test]
async fn recipients_are_added_only_to_a_broadcast_alert() {
    given(submitted())
        .when_async(issued(de_dissem(), add(&["de-ca2"])))
        .await
        .then_expect_error(DomainError::refused("the alert has not been broadcast yet"));
}

// --- Additional information -----------------------------------------------------------------

fn info(id: &str, to: &str) -> AlertCommand {
    AlertCommand::SubmitAdditionalInformation {
        information_id: id.into(),
        kind: InformationKind::Information,
        coordinator_id: to.into(),
        text: sealed("more"),
        attachments: vec![sealed("more.pdf")],
    }
}

fn submitted_info() -> AlertEvent {
    AlertEvent::AdditionalInformationSubmitted {
        information_id: "i1".into(),
        kind: InformationKind::Information,
        submitted_by: "fr-ca".into(),
        coordinator: "fr-iap".into(),
        text: sealed("more"),
        attachments: vec![sealed("more.pdf")],
    }
}

#[tokio::test]
async fn a_recipient_submits_information_to_its_linked_coordinator() {
    given(disseminated())
        .when_async(issued(fr_handler(), info("i1", "fr-iap")))
        .await
        .then_expect_events(vec![submitted_info()]);
}

#[tokio::test]
async fn the_initiating_authority_asks_for_information_through_its_coordinator() {
    given(disseminated())
        .when_async(issued(
            de_handler(),
            AlertCommand::SubmitAdditionalInformation {
                information_id: "q1".into(),
                kind: InformationKind::Request,
                coordinator_id: "de-coord".into(),
                text: sealed("which sites?"),
                attachments: vec![],
            },
        ))
        .await
        .then_expect_events(vec![AlertEvent::AdditionalInformationSubmitted {
            information_id: "q1".into(),
            kind: InformationKind::Request,
            submitted_by: "de-ca".into(),
            coordinator: "de-coord".into(),
            text: sealed("which sites?"),
            attachments: vec![],
        }]);
}

#[tokio::test]
async fn information_goes_to_a_linked_coordinator_only() {
    given(disseminated())
        .when_async(issued(fr_handler(), info("i1", "at-iap")))
        .await
        .then_expect_error(DomainError::forbidden(
            "at-iap is not an alert coordinator the authority is linked to in SD",
        ));
}

#[tokio::test]
async fn only_an_alert_handler_of_an_involved_authority_adds_information() {
    let why = "only an alert handler in SD of an authority involved in the alert may add \
               information";
    for by in [
        user("fr-basic", "fr-ca"),
        user("fr-iap-viewer", "fr-iap"),
        de_ca2(),
        user("pl-handler", "pl-ca"),
    ] {
        given(disseminated())
            .when_async(issued(by.clone(), info("i1", "fr-iap")))
            .await
            .then_expect_error(refusal(&disseminated(), &by, why));
    }
}

#[tokio::test]
async fn information_is_added_once_broadcast() {
    given(submitted())
        .when_async(issued(de_handler(), info("i1", "de-coord")))
        .await
        .then_expect_error(DomainError::refused("the alert has not been broadcast yet"));
}

#[tokio::test]
async fn information_ids_are_unique_and_present() {
    given(with(disseminated(), submitted_info()))
        .when_async(issued(fr_handler(), info("i1", "fr-iap")))
        .await
        .then_expect_error(DomainError::refused(
            "additional information i1 was already submitted",
        ));
    given(disseminated())
        .when_async(issued(fr_handler(), info(" ", "fr-iap")))
        .await
        .then_expect_error(DomainError::invalid(
            "the additional information needs an id",
        ));
}

#[tokio::test]
async fn information_and_attachment_names_are_sealed_under_the_alerts_key() {
    given(disseminated())
        .when_async(issued(
            fr_handler(),
            AlertCommand::SubmitAdditionalInformation {
                information_id: "i1".into(),
                kind: InformationKind::Information,
                coordinator_id: "fr-iap".into(),
                text: foreign_sealed(),
                attachments: vec![],
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the additional information must be sealed under the alert's own key",
        ));
    given(disseminated())
        .when_async(issued(
            fr_handler(),
            AlertCommand::SubmitAdditionalInformation {
                information_id: "i1".into(),
                kind: InformationKind::Information,
                coordinator_id: "fr-iap".into(),
                text: sealed("t"),
                attachments: vec![foreign_sealed()],
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "an attachment's name must be sealed under the alert's own key",
        ));
}

#[tokio::test]
async fn the_coordinator_of_information_is_validated() {
    let mut dir = directory();
    let mut pending = scene()
        .into_iter()
        .find(|a| a.authority_id == "fr-iap")
        .unwrap();
    pending.status = AuthorityStatus::AwaitingValidation;
    dir.insert(pending);
    given_in(testing::InMemoryAlertServices::new(dir), disseminated())
        .when_async(issued(fr_handler(), info("i1", "fr-iap")))
        .await
        .then_expect_error(DomainError::refused("fr-iap is not validated yet"));
}

#[tokio::test]
async fn the_coordinator_broadcasts_the_information() {
    given(with(disseminated(), submitted_info()))
        .when_async(issued(
            fr_iap(),
            AlertCommand::BroadcastAdditionalInformation {
                information_id: "i1".into(),
            },
        ))
        .await
        .then_expect_events(vec![AlertEvent::AdditionalInformationBroadcast {
            information_id: "i1".into(),
            coordinator: "fr-iap".into(),
        }]);
}

#[tokio::test]
async fn unknown_information_is_not_broadcast() {
    given(disseminated())
        .when_async(issued(
            fr_iap(),
            AlertCommand::BroadcastAdditionalInformation {
                information_id: "i9".into(),
            },
        ))
        .await
        .then_expect_error(DomainError::not_found("no additional information i9"));
}

#[tokio::test]
async fn information_is_broadcast_once() {
    let events = with(
        with(disseminated(), submitted_info()),
        AlertEvent::AdditionalInformationBroadcast {
            information_id: "i1".into(),
            coordinator: "fr-iap".into(),
        },
    );
    given(events)
        .when_async(issued(
            fr_iap(),
            AlertCommand::BroadcastAdditionalInformation {
                information_id: "i1".into(),
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "additional information i1 was already broadcast",
        ));
}

#[tokio::test]
async fn only_the_chosen_coordinators_disseminator_broadcasts_information() {
    for by in [de_dissem(), fr_handler(), user("fr-iap-viewer", "fr-iap")] {
        given(with(disseminated(), submitted_info()))
            .when_async(issued(
                by,
                AlertCommand::BroadcastAdditionalInformation {
                    information_id: "i1".into(),
                },
            ))
            .await
            .then_expect_error(DomainError::forbidden(
                "only an alert disseminator in SD of the coordinator the information was \
                 submitted to may broadcast it",
            ));
    }
}
