//! Access to legislative areas and workflows, workflow roles, the access coordinator and its
//! hand-over, flags.

use super::support::*;
use crate::authority::*;
use crate::error::DomainError;

fn grant_sd(by_linked: &str) -> AuthorityCommand {
    AuthorityCommand::GrantAreaAccess {
        area: sd(),
        workflows: workflows(&[(
            Workflow::Requests,
            WorkflowRole::RequestAuthority,
            &[by_linked],
        )]),
    }
}

/// `nimic` with SD requests as request coordinator, as a linked coordinator for SD.
fn directory_with_sd_coordinator() -> testing::InMemoryDirectory {
    let mut nimic = nimic_history();
    nimic.push(AuthorityEvent::AreaAccessGranted {
        area: sd(),
        access_coordinator: "nimic".into(),
        workflows: workflows(&[(
            Workflow::Requests,
            WorkflowRole::RequestCoordinator,
            &["nimic"],
        )]),
    });
    directory().with_history("nimic", nimic)
}

#[tokio::test]
async fn a_responsible_coordinator_grants_access_and_becomes_access_coordinator() {
    given_in(directory_with_sd_coordinator(), validated_ca())
        .when_async(issued(nimic_da(), grant_sd("nimic")))
        .await
        .then_expect_events(vec![AuthorityEvent::AreaAccessGranted {
            area: sd(),
            access_coordinator: "nimic".into(),
            workflows: workflows(&[(
                Workflow::Requests,
                WorkflowRole::RequestAuthority,
                &["nimic"],
            )]),
        }]);
}

#[tokio::test]
async fn a_coordinator_grants_access_only_to_areas_it_coordinates() {
    given_in(directory_with_sd_coordinator(), validated_ca())
        .when_async(issued(dimic_da(), grant_sd("nimic")))
        .await
        .then_expect_error(DomainError::forbidden(
            "the coordinator is not responsible for SD",
        ));
}

#[tokio::test]
async fn the_authority_cannot_grant_itself_access() {
    given_in(directory_with_sd_coordinator(), validated_ca())
        .when_async(issued(ca_lda(), grant_sd("nimic")))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a data administrator in SD of a coordinator responsible for this authority \
             may grant it access to SD",
        ));
}

#[tokio::test]
async fn the_national_coordinator_grants_itself_access() {
    given(nimic_history())
        .when_async(issued(
            nimic_da(),
            AuthorityCommand::GrantAreaAccess {
                area: area("ECOM"),
                workflows: workflows(&[(
                    Workflow::Requests,
                    WorkflowRole::RequestCoordinator,
                    &["nimic"],
                )]),
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::AreaAccessGranted {
            area: area("ECOM"),
            access_coordinator: "nimic".into(),
            workflows: workflows(&[(
                Workflow::Requests,
                WorkflowRole::RequestCoordinator,
                &["nimic"],
            )]),
        }]);
}

#[tokio::test]
async fn access_to_an_area_is_granted_once() {
    given(validated_ca())
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::GrantAreaAccess {
                area: pq(),
                workflows: workflows(&[(
                    Workflow::Requests,
                    WorkflowRole::RequestAuthority,
                    &["dimic-by"],
                )]),
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "the authority already has access to PQ",
        ));
}

#[tokio::test]
async fn granted_workflows_are_checked_like_at_invitation() {
    given_in(directory_with_sd_coordinator(), validated_ca())
        .when_async(issued(nimic_da(), grant_sd("limic-pq")))
        .await
        .then_expect_error(DomainError::refused(
            "limic-pq is not a coordinator of the requests workflow in SD",
        ));
}

fn with_alerts() -> Vec<AuthorityEvent> {
    let mut events = validated_ca();
    events.push(AuthorityEvent::WorkflowAccessGranted {
        area: pq(),
        workflow: Workflow::Alerts,
        role: WorkflowRole::AlertAuthority,
        linked_coordinators: ids(&["dimic-by"]),
    });
    events.push(granted(
        "ca-user",
        "PQ",
        &[
            UserRole::RequestHandler,
            UserRole::AlertHandler,
            UserRole::AlertViewer,
        ],
    ));
    events
}

#[tokio::test]
async fn the_access_coordinator_grants_a_workflow() {
    given(validated_ca())
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::GrantWorkflowAccess {
                area: pq(),
                workflow: Workflow::Alerts,
                setup: setup(WorkflowRole::AlertAuthority, &["dimic-by"]),
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::WorkflowAccessGranted {
            area: pq(),
            workflow: Workflow::Alerts,
            role: WorkflowRole::AlertAuthority,
            linked_coordinators: ids(&["dimic-by"]),
        }]);
}

#[tokio::test]
async fn only_the_access_coordinator_manages_workflows() {
    for by in [ca_lda(), limic_da(), nimic_da(), dimic_lda_only()] {
        given(validated_ca())
            .when_async(issued(
                by,
                AuthorityCommand::GrantWorkflowAccess {
                    area: pq(),
                    workflow: Workflow::Alerts,
                    setup: setup(WorkflowRole::AlertAuthority, &["dimic-by"]),
                },
            ))
            .await
            .then_expect_error(DomainError::forbidden(
                "only a data administrator in PQ of the authority's access coordinator for PQ \
                 may change its workflows there",
            ));
    }
}

#[tokio::test]
async fn a_workflow_is_granted_once_and_fits_its_role() {
    given(with_alerts())
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::GrantWorkflowAccess {
                area: pq(),
                workflow: Workflow::Alerts,
                setup: setup(WorkflowRole::AlertAuthority, &["dimic-by"]),
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "the authority already has access to the alerts workflow in PQ",
        ));
    given(validated_ca())
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::GrantWorkflowAccess {
                area: pq(),
                workflow: Workflow::Alerts,
                setup: setup(WorkflowRole::RequestAuthority, &["dimic-by"]),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the Authority (requests) role belongs to the requests workflow",
        ));
}

#[tokio::test]
async fn revoking_a_workflow_revokes_the_roles_that_need_it() {
    given(with_alerts())
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::RevokeWorkflowAccess {
                area: pq(),
                workflow: Workflow::Alerts,
            },
        ))
        .await
        .then_expect_events(vec![
            AuthorityEvent::UserRolesRevoked {
                user_id: "ca-user".into(),
                area: pq(),
                roles: roles(&[UserRole::AlertHandler, UserRole::AlertViewer]),
            },
            AuthorityEvent::WorkflowAccessRevoked {
                area: pq(),
                workflow: Workflow::Alerts,
            },
        ]);
}

#[tokio::test]
async fn an_area_keeps_at_least_one_workflow() {
    given(validated_ca())
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::RevokeWorkflowAccess {
                area: pq(),
                workflow: Workflow::Requests,
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "access to PQ keeps at least one workflow: revoke the access to PQ instead",
        ));
    given(validated_ca())
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::RevokeWorkflowAccess {
                area: pq(),
                workflow: Workflow::Alerts,
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "the authority has no access to the alerts workflow in PQ",
        ));
}

#[tokio::test]
async fn revoking_an_area_revokes_the_roles_that_need_it() {
    given(with_alerts())
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::RevokeAreaAccess { area: pq() },
        ))
        .await
        .then_expect_events(vec![
            AuthorityEvent::UserRolesRevoked {
                user_id: "ca-user".into(),
                area: pq(),
                roles: roles(&[
                    UserRole::RequestHandler,
                    UserRole::AlertHandler,
                    UserRole::AlertViewer,
                ]),
            },
            AuthorityEvent::AreaAccessRevoked { area: pq() },
        ]);
}

#[tokio::test]
async fn a_coordinator_others_rely_on_keeps_its_coordinating_role() {
    // `ca` and `pending` are linked to dimic-by for PQ requests.
    let by = sdimic_da(); // dimic-by's access coordinator for PQ
    given(dimic_history())
        .when_async(issued(
            by.clone(),
            AuthorityCommand::RevokeAreaAccess { area: pq() },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "2 authorities are linked to this authority as their coordinator for requests in \
             PQ: link them to another coordinator first",
        ));
}

#[tokio::test]
async fn a_coordinator_linked_to_itself_keeps_its_coordinating_role() {
    given(dimic_history())
        .when_async(issued(
            sdimic_da(),
            AuthorityCommand::ChangeWorkflowRole {
                area: pq(),
                workflow: Workflow::Alerts,
                role: WorkflowRole::AlertAuthority,
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "the authority is its own linked coordinator for alerts in PQ: link another \
             coordinator first",
        ));
}

/// `dimic-x`: a DIMIC of PQ registered by limic-pq, request and alert coordinator linked to
/// limic-pq, with a user holding referral handler and alert disseminator rights.
fn dimic_x() -> Vec<AuthorityEvent> {
    let mut events = registered_by(
        "limic-pq",
        "dimic-x",
        AuthorityKind::DelegatedCoordinator,
        None,
        &["PQ"],
        grants(
            "PQ",
            &[
                (
                    Workflow::Requests,
                    WorkflowRole::RequestCoordinator,
                    &["limic-pq"],
                ),
                (
                    Workflow::Alerts,
                    WorkflowRole::AlertCoordinator,
                    &["limic-pq"],
                ),
            ],
        ),
        "x-lda",
    );
    events.push(user_registered("x-user", false));
    events.push(granted(
        "x-user",
        "PQ",
        &[
            UserRole::RequestHandler,
            UserRole::ReferralHandler,
            UserRole::AlertHandler,
            UserRole::AlertDisseminator,
        ],
    ));
    events
}

#[tokio::test]
async fn changing_a_workflow_role_revokes_the_user_roles_it_no_longer_allows() {
    given(dimic_x())
        .when_async(issued(
            limic_da(),
            AuthorityCommand::ChangeWorkflowRole {
                area: pq(),
                workflow: Workflow::Requests,
                role: WorkflowRole::RequestAuthority,
            },
        ))
        .await
        .then_expect_events(vec![
            AuthorityEvent::UserRolesRevoked {
                user_id: "x-user".into(),
                area: pq(),
                roles: roles(&[UserRole::ReferralHandler]),
            },
            AuthorityEvent::WorkflowRoleChanged {
                area: pq(),
                workflow: Workflow::Requests,
                role: WorkflowRole::RequestAuthority,
            },
        ]);
    given(dimic_x())
        .when_async(issued(
            limic_da(),
            AuthorityCommand::ChangeWorkflowRole {
                area: pq(),
                workflow: Workflow::Alerts,
                role: WorkflowRole::AlertAuthority,
            },
        ))
        .await
        .then_expect_events(vec![
            AuthorityEvent::UserRolesRevoked {
                user_id: "x-user".into(),
                area: pq(),
                roles: roles(&[UserRole::AlertDisseminator]),
            },
            AuthorityEvent::WorkflowRoleChanged {
                area: pq(),
                workflow: Workflow::Alerts,
                role: WorkflowRole::AlertAuthority,
            },
        ]);
}

#[tokio::test]
async fn workflow_role_changes_are_checked() {
    let cases = [
        (
            validated_ca(),
            Workflow::Requests,
            WorkflowRole::RequestCoordinator,
            DomainError::refused("the request coordinator role is only for IMI coordinators"),
        ),
        (
            validated_ca(),
            Workflow::Requests,
            WorkflowRole::AlertAuthority,
            DomainError::invalid("the alert authority role belongs to the alerts workflow"),
        ),
        (
            validated_ca(),
            Workflow::Alerts,
            WorkflowRole::AlertAuthority,
            DomainError::refused("the authority has no access to the alerts workflow in PQ"),
        ),
    ];
    for (events, workflow, role, error) in cases {
        given(events)
            .when_async(issued(
                dimic_da(),
                AuthorityCommand::ChangeWorkflowRole {
                    area: pq(),
                    workflow,
                    role,
                },
            ))
            .await
            .then_expect_error(error);
    }
    given(validated_ca())
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::ChangeWorkflowRole {
                area: pq(),
                workflow: Workflow::Requests,
                role: WorkflowRole::RequestAuthority,
            },
        ))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn the_national_coordinator_moves_the_incoming_alert_postbox() {
    // The access coordinator may not nominate it ...
    given(dimic_x())
        .when_async(issued(
            limic_da(),
            AuthorityCommand::ChangeWorkflowRole {
                area: pq(),
                workflow: Workflow::Alerts,
                role: WorkflowRole::IncomingAlertPostbox,
            },
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a data administrator in PQ of the national coordinator may nominate or \
             remove the incoming alert postbox",
        ));
    // ... the national coordinator may, once the current one is no longer the postbox.
    given(dimic_x())
        .when_async(issued(
            nimic_da(),
            AuthorityCommand::ChangeWorkflowRole {
                area: pq(),
                workflow: Workflow::Alerts,
                role: WorkflowRole::IncomingAlertPostbox,
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "DE already has an incoming alert postbox",
        ));
    given(nimic_history())
        .when_async(issued(
            nimic_da(),
            AuthorityCommand::ChangeWorkflowRole {
                area: pq(),
                workflow: Workflow::Alerts,
                role: WorkflowRole::AlertCoordinator,
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::WorkflowRoleChanged {
            area: pq(),
            workflow: Workflow::Alerts,
            role: WorkflowRole::AlertCoordinator,
        }]);
    let mut nimic = nimic_history();
    nimic.push(AuthorityEvent::WorkflowRoleChanged {
        area: pq(),
        workflow: Workflow::Alerts,
        role: WorkflowRole::AlertCoordinator,
    });
    given_in(directory().with_history("nimic", nimic), dimic_x())
        .when_async(issued(
            nimic_da(),
            AuthorityCommand::ChangeWorkflowRole {
                area: pq(),
                workflow: Workflow::Alerts,
                role: WorkflowRole::IncomingAlertPostbox,
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::WorkflowRoleChanged {
            area: pq(),
            workflow: Workflow::Alerts,
            role: WorkflowRole::IncomingAlertPostbox,
        }]);
}

// --- Access coordinator hand-over -------------------------------------------------------

fn hand_over(to: &str) -> AuthorityCommand {
    AuthorityCommand::HandOverAccessCoordination {
        area: pq(),
        to: to.into(),
    }
}

#[tokio::test]
async fn the_access_coordinator_hands_over_to_another_responsible_coordinator() {
    given(validated_ca())
        .when_async(issued(dimic_da(), hand_over("limic-pq")))
        .await
        .then_expect_events(vec![AuthorityEvent::AccessCoordinationHandedOver {
            area: pq(),
            from: "dimic-by".into(),
            to: "limic-pq".into(),
        }]);
}

#[tokio::test]
async fn only_the_access_coordinator_hands_over() {
    for by in [limic_da(), ca_lda(), nimic_da()] {
        given(validated_ca())
            .when_async(issued(by, hand_over("limic-pq")))
            .await
            .then_expect_error(DomainError::forbidden(
                "only a data administrator in PQ of the authority's access coordinator for PQ \
                 may hand over its access coordination",
            ));
    }
}

#[tokio::test]
async fn the_successor_must_be_a_validated_coordinator_responsible_for_the_authority() {
    let cases = [
        (
            "dimic-by",
            DomainError::refused("dimic-by is already the access coordinator for PQ"),
        ),
        ("ghost", DomainError::not_found("no authority ghost")),
        (
            "pending",
            DomainError::refused("pending is not validated yet"),
        ),
        (
            "fr-nimic",
            DomainError::refused(
                "fr-nimic cannot be the access coordinator for PQ: a coordinator acts only in \
                 its own Member State",
            ),
        ),
        (
            "ca-other",
            DomainError::refused(
                "ca-other cannot be the access coordinator for PQ: a competent authority \
                 registers, validates and coordinates no one",
            ),
        ),
    ];
    for (to, error) in cases {
        given(validated_ca())
            .when_async(issued(dimic_da(), hand_over(to)))
            .await
            .then_expect_error(error);
    }
}

#[tokio::test]
async fn after_a_hand_over_the_new_access_coordinator_manages_the_area() {
    let mut events = validated_ca();
    events.push(AuthorityEvent::AccessCoordinationHandedOver {
        area: pq(),
        from: "dimic-by".into(),
        to: "limic-pq".into(),
    });
    let approve = AuthorityCommand::SetFlag {
        area: pq(),
        workflow: Workflow::Requests,
        flag: Flag::ApprovalOfResponses,
        enabled: true,
    };
    given(events.clone())
        .when_async(issued(dimic_da(), approve.clone()))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a data administrator in PQ of the authority's access coordinator for PQ may \
             set its approval flags there",
        ));
    given(events)
        .when_async(issued(limic_da(), approve))
        .await
        .then_expect_events(vec![AuthorityEvent::FlagSet {
            area: pq(),
            workflow: Workflow::Requests,
            flag: Flag::ApprovalOfResponses,
            enabled: true,
        }]);
}

// --- Flags ------------------------------------------------------------------------------

fn flag(flag: Flag, enabled: bool) -> AuthorityCommand {
    AuthorityCommand::SetFlag {
        area: pq(),
        workflow: Workflow::Requests,
        flag,
        enabled,
    }
}

#[tokio::test]
async fn the_lda_sets_the_allocation_flag() {
    given(validated_ca())
        .when_async(issued(ca_lda(), flag(Flag::Allocation, true)))
        .await
        .then_expect_events(vec![AuthorityEvent::FlagSet {
            area: pq(),
            workflow: Workflow::Requests,
            flag: Flag::Allocation,
            enabled: true,
        }]);
    for by in [dimic_da(), ca_user()] {
        given(validated_ca())
            .when_async(issued(by, flag(Flag::Allocation, true)))
            .await
            .then_expect_error(DomainError::forbidden(
                "only a local data administrator of this authority may set its allocation flag",
            ));
    }
}

#[tokio::test]
async fn the_access_coordinator_sets_the_approval_flags() {
    for f in [Flag::ApprovalOfNewRequests, Flag::ApprovalOfResponses] {
        given(validated_ca())
            .when_async(issued(dimic_da(), flag(f, true)))
            .await
            .then_expect_events(vec![AuthorityEvent::FlagSet {
                area: pq(),
                workflow: Workflow::Requests,
                flag: f,
                enabled: true,
            }]);
        given(validated_ca())
            .when_async(issued(ca_lda(), flag(f, true)))
            .await
            .then_expect_error(DomainError::forbidden(
                "only a data administrator in PQ of the authority's access coordinator for PQ \
                 may set its approval flags there",
            ));
    }
}

#[tokio::test]
async fn a_flag_already_so_records_nothing_and_can_be_cleared() {
    given(validated_ca())
        .when_async(issued(ca_lda(), flag(Flag::Allocation, false)))
        .await
        .then_expect_events(vec![]);
    let mut events = validated_ca();
    events.push(AuthorityEvent::FlagSet {
        area: pq(),
        workflow: Workflow::Requests,
        flag: Flag::Allocation,
        enabled: true,
    });
    given(events)
        .when_async(issued(ca_lda(), flag(Flag::Allocation, false)))
        .await
        .then_expect_events(vec![AuthorityEvent::FlagSet {
            area: pq(),
            workflow: Workflow::Requests,
            flag: Flag::Allocation,
            enabled: false,
        }]);
}

#[tokio::test]
async fn flags_belong_to_the_request_workflow() {
    given(with_alerts())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetFlag {
                area: pq(),
                workflow: Workflow::Alerts,
                flag: Flag::Allocation,
                enabled: true,
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the Allocation flag belongs to the requests workflow",
        ));
}

#[tokio::test]
async fn flags_need_the_workflow() {
    let mut events = validated_ca();
    events.push(AuthorityEvent::AreaAccessGranted {
        area: sd(),
        access_coordinator: "nimic".into(),
        workflows: workflows(&[(Workflow::Alerts, WorkflowRole::AlertAuthority, &["nimic"])]),
    });
    given(events)
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetFlag {
                area: sd(),
                workflow: Workflow::Requests,
                flag: Flag::Allocation,
                enabled: true,
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "the authority has no access to the requests workflow in SD",
        ));
}
