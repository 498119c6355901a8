//! Linked coordinators (at least one per workflow per area, always; set by the access
//! coordinator) and linked authorities (same Member State; set by the LDA only).

use super::support::*;
use crate::authority::*;
use crate::error::DomainError;

fn link(coordinator: &str) -> AuthorityCommand {
    AuthorityCommand::LinkCoordinator {
        area: pq(),
        workflow: Workflow::Requests,
        coordinator_id: coordinator.into(),
    }
}

fn unlink(coordinator: &str) -> AuthorityCommand {
    AuthorityCommand::UnlinkCoordinator {
        area: pq(),
        workflow: Workflow::Requests,
        coordinator_id: coordinator.into(),
    }
}

fn linked_twice() -> Vec<AuthorityEvent> {
    let mut events = validated_ca();
    events.push(AuthorityEvent::CoordinatorLinked {
        area: pq(),
        workflow: Workflow::Requests,
        coordinator_id: "limic-pq".into(),
    });
    events
}

#[tokio::test]
async fn the_access_coordinator_links_a_further_coordinator() {
    given(validated_ca())
        .when_async(issued(dimic_da(), link("limic-pq")))
        .await
        .then_expect_events(vec![AuthorityEvent::CoordinatorLinked {
            area: pq(),
            workflow: Workflow::Requests,
            coordinator_id: "limic-pq".into(),
        }]);
    given(linked_twice())
        .when_async(issued(dimic_da(), link("limic-pq")))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn only_the_access_coordinator_changes_linked_coordinators() {
    for by in [ca_lda(), limic_da(), nimic_da()] {
        for cmd in [link("limic-pq"), unlink("dimic-by")] {
            given(linked_twice())
                .when_async(issued(by.clone(), cmd))
                .await
                .then_expect_error(DomainError::forbidden(
                    "only a data administrator in PQ of the authority's access coordinator for \
                     PQ may change its linked coordinators there",
                ));
        }
    }
}

#[tokio::test]
async fn a_linked_coordinator_is_a_validated_coordinator_of_the_workflow_in_the_same_member_state()
{
    let cases = [
        ("ghost", DomainError::not_found("no authority ghost")),
        (
            "pending",
            DomainError::refused("pending is not validated yet"),
        ),
        (
            "ca-other",
            DomainError::refused("ca-other is not a coordinator of the requests workflow in PQ"),
        ),
        (
            "fr-nimic",
            DomainError::refused("a linked coordinator must be of the same Member State"),
        ),
        (
            "sdimic-by",
            DomainError::refused("sdimic-by is not a coordinator of the requests workflow in PQ"),
        ),
    ];
    for (coordinator, error) in cases {
        given(validated_ca())
            .when_async(issued(dimic_da(), link(coordinator)))
            .await
            .then_expect_error(error);
    }
}

#[tokio::test]
async fn linking_needs_the_workflow() {
    given(validated_ca())
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::LinkCoordinator {
                area: pq(),
                workflow: Workflow::Alerts,
                coordinator_id: "limic-pq".into(),
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "the authority has no access to the alerts workflow in PQ",
        ));
}

#[tokio::test]
async fn a_linked_coordinator_is_unlinked_while_another_remains() {
    given(linked_twice())
        .when_async(issued(dimic_da(), unlink("dimic-by")))
        .await
        .then_expect_events(vec![AuthorityEvent::CoordinatorUnlinked {
            area: pq(),
            workflow: Workflow::Requests,
            coordinator_id: "dimic-by".into(),
        }]);
    given(linked_twice())
        .when_async(issued(dimic_da(), unlink("nimic")))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn the_last_linked_coordinator_stays() {
    given(validated_ca())
        .when_async(issued(dimic_da(), unlink("dimic-by")))
        .await
        .then_expect_error(DomainError::refused(
            "an authority keeps at least one linked coordinator for requests in PQ",
        ));
}

// --- Linked authorities -----------------------------------------------------------------

fn link_authority(id: &str) -> AuthorityCommand {
    AuthorityCommand::LinkAuthority {
        authority_id: id.into(),
    }
}

#[tokio::test]
async fn the_lda_links_an_authority_of_the_same_member_state() {
    given(validated_ca())
        .when_async(issued(ca_lda(), link_authority("ca-other")))
        .await
        .then_expect_events(vec![AuthorityEvent::AuthorityLinked {
            authority_id: "ca-other".into(),
        }]);
}

#[tokio::test]
async fn only_the_lda_links_authorities() {
    for by in [ca_user(), dimic_da(), limic_da(), nimic_da()] {
        given(validated_ca())
            .when_async(issued(by, link_authority("ca-other")))
            .await
            .then_expect_error(DomainError::forbidden(
                "only a local data administrator of this authority may link authorities to it",
            ));
    }
}

#[tokio::test]
async fn linked_authorities_are_validated_authorities_of_the_same_member_state() {
    let cases = [
        (
            "fr-nimic",
            DomainError::refused("linked authorities must be of the same Member State"),
        ),
        ("ghost", DomainError::not_found("no authority ghost")),
        (
            "pending",
            DomainError::refused("pending is not validated yet"),
        ),
        (
            "ca",
            DomainError::invalid("an authority cannot be linked to itself"),
        ),
    ];
    for (id, error) in cases {
        given(validated_ca())
            .when_async(issued(ca_lda(), link_authority(id)))
            .await
            .then_expect_error(error);
    }
}

#[tokio::test]
async fn linking_twice_records_nothing_and_unlinking_undoes_it() {
    let mut events = validated_ca();
    events.push(AuthorityEvent::AuthorityLinked {
        authority_id: "ca-other".into(),
    });
    given(events.clone())
        .when_async(issued(ca_lda(), link_authority("ca-other")))
        .await
        .then_expect_events(vec![]);
    given(events.clone())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::UnlinkAuthority {
                authority_id: "ca-other".into(),
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::AuthorityUnlinked {
            authority_id: "ca-other".into(),
        }]);
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::UnlinkAuthority {
                authority_id: "ca-other".into(),
            },
        ))
        .await
        .then_expect_events(vec![]);
    given(events)
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::UnlinkAuthority {
                authority_id: "ca-other".into(),
            },
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a local data administrator of this authority may link authorities to it",
        ));
}
