//! Users of an authority: registered by an LDA; roles per legislative area only where the
//! glossary allows them; never without an active LDA; password resets; deactivation.

use super::support::*;
use crate::authority::*;
use crate::error::DomainError;

const USERS_DENIED: &str = "only a local data administrator of this authority may manage its users";
const LAST_LDA: &str = "an authority keeps at least one active local data administrator";

fn register(user_id: &str, lda: bool) -> AuthorityCommand {
    AuthorityCommand::RegisterUser {
        user: new_user(user_id),
        local_data_administrator: lda,
    }
}

fn grant(user_id: &str, area_code: &str, r: &[UserRole]) -> AuthorityCommand {
    AuthorityCommand::GrantUserRoles {
        user_id: user_id.into(),
        area: area(area_code),
        roles: roles(r),
    }
}

fn revoke(user_id: &str, area_code: &str, r: &[UserRole]) -> AuthorityCommand {
    AuthorityCommand::RevokeUserRoles {
        user_id: user_id.into(),
        area: area(area_code),
        roles: roles(r),
    }
}

#[tokio::test]
async fn the_lda_registers_users() {
    given(validated_ca())
        .when_async(issued(ca_lda(), register("ca-2", false)))
        .await
        .then_expect_events(vec![user_registered("ca-2", false)]);
    given(validated_ca())
        .when_async(issued(ca_lda(), register("ca-3", true)))
        .await
        .then_expect_events(vec![user_registered("ca-3", true)]);
}

#[tokio::test]
async fn only_the_lda_registers_users() {
    for by in [ca_user(), dimic_da(), nimic_da()] {
        given(validated_ca())
            .when_async(issued(by, register("ca-2", false)))
            .await
            .then_expect_error(DomainError::forbidden(USERS_DENIED));
    }
}

#[tokio::test]
async fn a_user_is_registered_once_with_an_identity_under_their_own_key() {
    given(validated_ca())
        .when_async(issued(ca_lda(), register("ca-user", false)))
        .await
        .then_expect_error(DomainError::refused("this user is already registered"));
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::RegisterUser {
                user: NewUser {
                    user_id: "ca-2".into(),
                    identity: sealed_for("ca-3"),
                },
                local_data_administrator: false,
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "a user's identity must be sealed under that user's own key",
        ));
    given(validated_ca())
        .when_async(issued(ca_lda(), register(" ", false)))
        .await
        .then_expect_error(DomainError::invalid("the user needs an id"));
}

// --- Roles ------------------------------------------------------------------------------

#[tokio::test]
async fn request_roles_are_granted_where_the_authority_has_the_request_workflow() {
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            grant(
                "ca-user",
                "PQ",
                &[
                    UserRole::RequestHandler,
                    UserRole::RequestViewer,
                    UserRole::Allocator,
                ],
            ),
        ))
        .await
        .then_expect_events(vec![granted(
            "ca-user",
            "PQ",
            &[
                UserRole::RequestHandler,
                UserRole::RequestViewer,
                UserRole::Allocator,
            ],
        )]);
}

#[tokio::test]
async fn roles_already_held_are_not_granted_again() {
    let mut events = validated_ca();
    events.push(granted("ca-user", "PQ", &[UserRole::RequestHandler]));
    given(events.clone())
        .when_async(issued(
            ca_lda(),
            grant("ca-user", "PQ", &[UserRole::RequestHandler]),
        ))
        .await
        .then_expect_events(vec![]);
    given(events)
        .when_async(issued(
            ca_lda(),
            grant(
                "ca-user",
                "PQ",
                &[UserRole::RequestHandler, UserRole::Allocator],
            ),
        ))
        .await
        .then_expect_events(vec![granted("ca-user", "PQ", &[UserRole::Allocator])]);
}

#[tokio::test]
async fn roles_are_granted_only_where_the_glossary_allows_them() {
    let cases = [
        (
            "PQ",
            UserRole::AlertHandler,
            DomainError::refused("alert handler needs access to the alerts workflow in PQ"),
        ),
        (
            "PQ",
            UserRole::AlertViewer,
            DomainError::refused("alert viewer needs access to the alerts workflow in PQ"),
        ),
        (
            "PQ",
            UserRole::ReferralHandler,
            DomainError::refused("referral handler is only available in request coordinators"),
        ),
        (
            "SD",
            UserRole::RequestHandler,
            DomainError::refused("the authority has no access to SD"),
        ),
        (
            "PQ",
            UserRole::DataAdministrator,
            DomainError::refused("data administrator is only available in IMI coordinators"),
        ),
        (
            "PQ",
            UserRole::BasicUser,
            DomainError::invalid(
                "every user is a basic user: that role is never granted or revoked",
            ),
        ),
    ];
    for (area_code, role, error) in cases {
        given(validated_ca())
            .when_async(issued(ca_lda(), grant("ca-user", area_code, &[role])))
            .await
            .then_expect_error(error);
    }
}

#[tokio::test]
async fn alert_disseminators_are_in_alert_coordinators_only() {
    let mut events = validated_ca();
    events.push(AuthorityEvent::WorkflowAccessGranted {
        area: pq(),
        workflow: Workflow::Alerts,
        role: WorkflowRole::AlertAuthority,
        linked_coordinators: ids(&["dimic-by"]),
    });
    given(events.clone())
        .when_async(issued(
            ca_lda(),
            grant("ca-user", "PQ", &[UserRole::AlertDisseminator]),
        ))
        .await
        .then_expect_error(DomainError::refused(
            "alert disseminator is only available in alert coordinators and incoming alert \
             postboxes",
        ));
    given(events)
        .when_async(issued(
            ca_lda(),
            grant(
                "ca-user",
                "PQ",
                &[UserRole::AlertHandler, UserRole::AlertViewer],
            ),
        ))
        .await
        .then_expect_events(vec![granted(
            "ca-user",
            "PQ",
            &[UserRole::AlertHandler, UserRole::AlertViewer],
        )]);
    let mut dimic = dimic_history();
    dimic.push(user_registered("dimic-user", false));
    given(dimic)
        .when_async(issued(
            dimic_da(),
            grant(
                "dimic-user",
                "PQ",
                &[UserRole::AlertDisseminator, UserRole::ReferralHandler],
            ),
        ))
        .await
        .then_expect_events(vec![granted(
            "dimic-user",
            "PQ",
            &[UserRole::ReferralHandler, UserRole::AlertDisseminator],
        )]);
}

#[tokio::test]
async fn the_incoming_alert_postbox_has_alert_disseminators() {
    let mut nimic = nimic_history();
    nimic.push(user_registered("nimic-user", false));
    given(nimic)
        .when_async(issued(
            nimic_da(),
            grant("nimic-user", "PQ", &[UserRole::AlertDisseminator]),
        ))
        .await
        .then_expect_events(vec![granted(
            "nimic-user",
            "PQ",
            &[UserRole::AlertDisseminator],
        )]);
}

#[tokio::test]
async fn data_administrators_are_in_coordinators_for_the_areas_they_coordinate() {
    let mut dimic = dimic_history();
    dimic.push(user_registered("dimic-user", false));
    given(dimic.clone())
        .when_async(issued(
            dimic_da(),
            grant("dimic-user", "PQ", &[UserRole::DataAdministrator]),
        ))
        .await
        .then_expect_events(vec![granted(
            "dimic-user",
            "PQ",
            &[UserRole::DataAdministrator],
        )]);
    given(dimic)
        .when_async(issued(
            dimic_da(),
            grant("dimic-user", "SD", &[UserRole::DataAdministrator]),
        ))
        .await
        .then_expect_error(DomainError::refused(
            "data administrator is only available in the areas the coordinator coordinates, \
             not in SD",
        ));
    // National and super-delegated coordinators coordinate every known area.
    let mut sdimic = sdimic_history();
    sdimic.push(user_registered("sdimic-user", false));
    given(sdimic.clone())
        .when_async(issued(
            sdimic_da(),
            grant("sdimic-user", "ECOM", &[UserRole::DataAdministrator]),
        ))
        .await
        .then_expect_events(vec![granted(
            "sdimic-user",
            "ECOM",
            &[UserRole::DataAdministrator],
        )]);
    given(sdimic)
        .when_async(issued(
            sdimic_da(),
            grant("sdimic-user", "XX", &[UserRole::DataAdministrator]),
        ))
        .await
        .then_expect_error(DomainError::invalid("unknown legislative area XX"));
}

#[tokio::test]
async fn role_grants_name_a_user_and_roles() {
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            grant("ghost", "PQ", &[UserRole::RequestHandler]),
        ))
        .await
        .then_expect_error(DomainError::not_found("no such user in this authority"));
    given(validated_ca())
        .when_async(issued(ca_lda(), grant("ca-user", "PQ", &[])))
        .await
        .then_expect_error(DomainError::invalid("no roles given"));
}

#[tokio::test]
async fn only_the_lda_changes_roles() {
    for by in [ca_user(), dimic_da()] {
        given(validated_ca())
            .when_async(issued(
                by.clone(),
                grant("ca-user", "PQ", &[UserRole::RequestHandler]),
            ))
            .await
            .then_expect_error(DomainError::forbidden(USERS_DENIED));
        given(validated_ca())
            .when_async(issued(
                by,
                revoke("ca-user", "PQ", &[UserRole::RequestHandler]),
            ))
            .await
            .then_expect_error(DomainError::forbidden(USERS_DENIED));
    }
}

#[tokio::test]
async fn the_lda_revokes_roles_held() {
    let mut events = validated_ca();
    events.push(granted(
        "ca-user",
        "PQ",
        &[UserRole::RequestHandler, UserRole::Allocator],
    ));
    given(events.clone())
        .when_async(issued(
            ca_lda(),
            revoke(
                "ca-user",
                "PQ",
                &[UserRole::Allocator, UserRole::RequestViewer],
            ),
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::UserRolesRevoked {
            user_id: "ca-user".into(),
            area: pq(),
            roles: roles(&[UserRole::Allocator]),
        }]);
    given(events.clone())
        .when_async(issued(
            ca_lda(),
            revoke("ca-user", "PQ", &[UserRole::RequestViewer]),
        ))
        .await
        .then_expect_events(vec![]);
    given(events.clone())
        .when_async(issued(
            ca_lda(),
            revoke("ca-user", "PQ", &[UserRole::BasicUser]),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "every user is a basic user: that role is never granted or revoked",
        ));
    given(events)
        .when_async(issued(ca_lda(), revoke("ca-user", "PQ", &[])))
        .await
        .then_expect_error(DomainError::invalid("no roles given"));
}

// --- Local data administrators ----------------------------------------------------------

fn appoint(user_id: &str) -> AuthorityCommand {
    AuthorityCommand::AppointLocalDataAdministrator {
        user_id: user_id.into(),
    }
}
fn dismiss(user_id: &str) -> AuthorityCommand {
    AuthorityCommand::DismissLocalDataAdministrator {
        user_id: user_id.into(),
    }
}
fn deactivate(user_id: &str) -> AuthorityCommand {
    AuthorityCommand::DeactivateUser {
        user_id: user_id.into(),
    }
}
fn reactivate(user_id: &str) -> AuthorityCommand {
    AuthorityCommand::ReactivateUser {
        user_id: user_id.into(),
    }
}

fn two_ldas() -> Vec<AuthorityEvent> {
    let mut events = validated_ca();
    events.push(AuthorityEvent::LocalDataAdministratorAppointed {
        user_id: "ca-user".into(),
    });
    events
}

#[tokio::test]
async fn the_lda_appoints_further_ldas() {
    given(validated_ca())
        .when_async(issued(ca_lda(), appoint("ca-user")))
        .await
        .then_expect_events(vec![AuthorityEvent::LocalDataAdministratorAppointed {
            user_id: "ca-user".into(),
        }]);
    given(two_ldas())
        .when_async(issued(ca_lda(), appoint("ca-user")))
        .await
        .then_expect_events(vec![]);
    given(validated_ca())
        .when_async(issued(ca_user(), appoint("ca-user")))
        .await
        .then_expect_error(DomainError::forbidden(USERS_DENIED));
}

#[tokio::test]
async fn a_deactivated_user_is_not_appointed_lda() {
    let mut events = validated_ca();
    events.push(AuthorityEvent::UserDeactivated {
        user_id: "ca-user".into(),
    });
    given(events)
        .when_async(issued(ca_lda(), appoint("ca-user")))
        .await
        .then_expect_error(DomainError::refused(
            "a deactivated user cannot be a local data administrator",
        ));
}

#[tokio::test]
async fn an_lda_is_dismissed_while_another_remains() {
    given(two_ldas())
        .when_async(issued(ca_user(), dismiss("ca-lda")))
        .await
        .then_expect_events(vec![AuthorityEvent::LocalDataAdministratorDismissed {
            user_id: "ca-lda".into(),
        }]);
    given(validated_ca())
        .when_async(issued(ca_lda(), dismiss("ca-user")))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn the_last_active_lda_is_never_dismissed() {
    given(validated_ca())
        .when_async(issued(ca_lda(), dismiss("ca-lda")))
        .await
        .then_expect_error(DomainError::refused(LAST_LDA));
    // A deactivated second LDA does not count.
    let mut events = two_ldas();
    events.push(AuthorityEvent::UserDeactivated {
        user_id: "ca-user".into(),
    });
    given(events)
        .when_async(issued(ca_lda(), dismiss("ca-lda")))
        .await
        .then_expect_error(DomainError::refused(LAST_LDA));
}

// --- Deactivation -----------------------------------------------------------------------

#[tokio::test]
async fn the_lda_deactivates_and_reactivates_users() {
    given(validated_ca())
        .when_async(issued(ca_lda(), deactivate("ca-user")))
        .await
        .then_expect_events(vec![AuthorityEvent::UserDeactivated {
            user_id: "ca-user".into(),
        }]);
    let mut events = validated_ca();
    events.push(AuthorityEvent::UserDeactivated {
        user_id: "ca-user".into(),
    });
    given(events.clone())
        .when_async(issued(ca_lda(), deactivate("ca-user")))
        .await
        .then_expect_events(vec![]);
    given(events)
        .when_async(issued(ca_lda(), reactivate("ca-user")))
        .await
        .then_expect_events(vec![AuthorityEvent::UserReactivated {
            user_id: "ca-user".into(),
        }]);
    given(validated_ca())
        .when_async(issued(ca_lda(), reactivate("ca-user")))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn the_last_active_lda_is_never_deactivated() {
    given(validated_ca())
        .when_async(issued(ca_lda(), deactivate("ca-lda")))
        .await
        .then_expect_error(DomainError::refused(LAST_LDA));
    given(two_ldas())
        .when_async(issued(ca_lda(), deactivate("ca-lda")))
        .await
        .then_expect_events(vec![AuthorityEvent::UserDeactivated {
            user_id: "ca-lda".into(),
        }]);
}

#[tokio::test]
async fn only_the_lda_changes_a_users_status() {
    for by in [ca_user(), dimic_da()] {
        given(validated_ca())
            .when_async(issued(by, deactivate("ca-user")))
            .await
            .then_expect_error(DomainError::forbidden(USERS_DENIED));
    }
    given(validated_ca())
        .when_async(issued(ca_lda(), deactivate("ghost")))
        .await
        .then_expect_error(DomainError::not_found("no such user in this authority"));
}

#[tokio::test]
async fn a_deactivated_user_cannot_act() {
    let mut events = two_ldas();
    events.push(AuthorityEvent::UserDeactivated {
        user_id: "ca-lda".into(),
    });
    given(events)
        .when_async(issued(ca_lda(), register("ca-2", false)))
        .await
        .then_expect_error(DomainError::forbidden("the acting user is deactivated"));
}

// --- Password resets --------------------------------------------------------------------

fn reset(user_id: &str) -> AuthorityCommand {
    AuthorityCommand::ResetPassword {
        user_id: user_id.into(),
    }
}

fn reset_by(user_id: &str, by_user: &str, by_authority: &str) -> AuthorityEvent {
    AuthorityEvent::PasswordReset {
        user_id: user_id.into(),
        reset_by_user: by_user.into(),
        reset_by_authority: by_authority.into(),
    }
}

#[tokio::test]
async fn the_lda_resets_any_password_of_its_authority() {
    for target in ["ca-user", "ca-lda"] {
        given(validated_ca())
            .when_async(issued(ca_lda(), reset(target)))
            .await
            .then_expect_events(vec![reset_by(target, "ca-lda", "ca")]);
    }
}

#[tokio::test]
async fn the_validating_coordinator_resets_the_passwords_of_ldas_only() {
    given(validated_ca())
        .when_async(issued(dimic_da(), reset("ca-lda")))
        .await
        .then_expect_events(vec![reset_by("ca-lda", "dimic-da", "dimic-by")]);
    given(validated_ca())
        .when_async(issued(dimic_da(), reset("ca-user")))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a local data administrator of this authority, or for its local data \
             administrators a data administrator of its validating coordinator, may reset a \
             password",
        ));
}

#[tokio::test]
async fn no_one_else_resets_passwords() {
    for by in [
        ca_user(),
        dimic_lda_only(),
        limic_da(),
        nimic_da(),
        other_lda(),
    ] {
        let result = given(validated_ca())
            .when_async(issued(by.clone(), reset("ca-lda")))
            .await
            .inspect_result();
        assert!(
            matches!(result, Err(DomainError::Forbidden(_))),
            "{by:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_reset_needs_an_active_user_of_the_authority() {
    given(validated_ca())
        .when_async(issued(ca_lda(), reset("ghost")))
        .await
        .then_expect_error(DomainError::not_found("no such user in this authority"));
    let mut events = validated_ca();
    events.push(AuthorityEvent::UserDeactivated {
        user_id: "ca-user".into(),
    });
    given(events)
        .when_async(issued(ca_lda(), reset("ca-user")))
        .await
        .then_expect_error(DomainError::refused("the user is deactivated"));
}

#[tokio::test]
async fn data_protection_officers_and_auditors_are_appointed_in_the_national_coordinator_by_its_data_administrators(
) {
    for role in UserRole::SUPERVISORY {
        let mut nimic = nimic_history();
        nimic.push(user_registered("nimic-dpo", false));
        nimic.push(user_registered("nimic-lda-only", true));
        given(nimic.clone())
            .when_async(issued(nimic_da(), grant("nimic-dpo", "PQ", &[role])))
            .await
            .then_expect_events(vec![granted("nimic-dpo", "PQ", &[role])]);
        // A local data administrator who is no data administrator does not.
        for command in [
            grant("nimic-dpo", "PQ", &[role]),
            revoke("nimic-dpo", "PQ", &[role]),
        ] {
            given(nimic.clone())
                .when_async(issued(user("nimic-lda-only", "nimic"), command))
                .await
                .then_expect_error(DomainError::forbidden(format!(
                    "only a data administrator of the national coordinator grants or revokes \
                     the {} role",
                    role.label()
                )));
        }
        // Nowhere else.
        let mut dimic = dimic_history();
        dimic.push(user_registered("dimic-user", false));
        given(dimic)
            .when_async(issued(dimic_da(), grant("dimic-user", "PQ", &[role])))
            .await
            .then_expect_error(DomainError::refused(format!(
                "{} is only available in the national coordinator",
                role.label()
            )));
    }
}
