//! National coordinators' bootstrap, invitations, self-registration, direct registration and
//! validation, with every refusal.

use super::support::*;
use crate::authority::testing::InMemoryDirectory;
use crate::authority::*;
use crate::error::DomainError;
use cqrs_es::test::TestFramework;
use std::collections::{BTreeMap, BTreeSet};

// --- National coordinators --------------------------------------------------------------

fn register_nimic() -> AuthorityCommand {
    AuthorityCommand::RegisterNationalCoordinator {
        member_state: de(),
        official_name: " Bundesverwaltungsamt ".into(),
        informal_titles: BTreeMap::from([(en(), "German NIMIC".into())]),
        first_user: new_user("u-1"),
    }
}

fn nimic_registered() -> Vec<AuthorityEvent> {
    vec![
        AuthorityEvent::NationalCoordinatorRegistered {
            member_state: de(),
            official_name: "Bundesverwaltungsamt".into(),
            informal_titles: BTreeMap::from([(en(), "German NIMIC".into())]),
        },
        user_registered("u-1", true),
    ]
}

fn bootstrap() -> InMemoryDirectory {
    InMemoryDirectory::new().at(now())
}

#[tokio::test]
async fn the_system_registers_a_national_coordinator_whose_first_user_is_lda() {
    given_in(bootstrap(), vec![])
        .when_async(issued(system(), register_nimic()))
        .await
        .then_expect_events(nimic_registered());
}

#[tokio::test]
async fn the_bootstrap_commands_work_with_services_that_know_nothing() {
    TestFramework::<Authority>::with(())
        .given_no_previous_events()
        .when_async(issued(system(), register_nimic()))
        .await
        .then_expect_events(nimic_registered());
    TestFramework::<Authority>::with(())
        .given(nimic_registered())
        .when_async(issued(
            user("u-1", "a-1"),
            AuthorityCommand::SetInformalTitle {
                language: en(),
                title: Some("NIMIC".into()),
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::InformalTitleSet {
            language: en(),
            title: "NIMIC".into(),
        }]);
}

#[tokio::test]
async fn a_user_may_not_register_a_national_coordinator() {
    given_in(bootstrap(), vec![])
        .when_async(issued(user("u-1", "a-1"), register_nimic()))
        .await
        .then_expect_error(DomainError::forbidden(
            "national coordinators are registered from reference data only",
        ));
}

#[tokio::test]
async fn an_authority_is_registered_once() {
    given_in(bootstrap(), nimic_registered())
        .when_async(issued(system(), register_nimic()))
        .await
        .then_expect_error(DomainError::refused("this authority is already registered"));
}

#[tokio::test]
async fn a_member_state_has_one_national_coordinator() {
    given(vec![])
        .when_async(issued(system(), register_nimic()))
        .await
        .then_expect_error(DomainError::refused(
            "DE already has a national coordinator",
        ));
}

#[tokio::test]
async fn an_empty_official_name_is_refused() {
    let mut cmd = register_nimic();
    if let AuthorityCommand::RegisterNationalCoordinator { official_name, .. } = &mut cmd {
        *official_name = "  ".into();
    }
    given_in(bootstrap(), vec![])
        .when_async(issued(system(), cmd))
        .await
        .then_expect_error(DomainError::invalid("official name must not be empty"));
}

#[tokio::test]
async fn an_overlong_informal_title_is_refused() {
    let mut cmd = register_nimic();
    if let AuthorityCommand::RegisterNationalCoordinator {
        informal_titles, ..
    } = &mut cmd
    {
        informal_titles.insert(en(), "x".repeat(MAX_NAME_CHARS + 1));
    }
    given_in(bootstrap(), vec![])
        .when_async(issued(system(), cmd))
        .await
        .then_expect_error(DomainError::invalid(format!(
            "informal title is longer than {MAX_NAME_CHARS} characters"
        )));
}

#[tokio::test]
async fn a_first_user_without_id_is_refused() {
    let mut cmd = register_nimic();
    if let AuthorityCommand::RegisterNationalCoordinator { first_user, .. } = &mut cmd {
        first_user.user_id = "".into();
    }
    given_in(bootstrap(), vec![])
        .when_async(issued(system(), cmd))
        .await
        .then_expect_error(DomainError::invalid("the first user needs an id"));
}

#[tokio::test]
async fn an_identity_sealed_under_another_key_is_refused() {
    let mut cmd = register_nimic();
    if let AuthorityCommand::RegisterNationalCoordinator { first_user, .. } = &mut cmd {
        first_user.identity = sealed_for("someone-else");
    }
    given_in(bootstrap(), vec![])
        .when_async(issued(system(), cmd))
        .await
        .then_expect_error(DomainError::invalid(
            "a user's identity must be sealed under that user's own key",
        ));
}

#[tokio::test]
async fn an_unavailable_directory_refuses_rather_than_guesses() {
    given_in(bootstrap().unavailable(), vec![])
        .when_async(issued(system(), register_nimic()))
        .await
        .then_expect_error(DomainError::refused(
            "the authority directory is temporarily unavailable; try again",
        ));
}

// --- Invitations ------------------------------------------------------------------------

/// `dimic-by` invites `ca`: a CA in DE-BY, PQ requests linked to itself.
fn invite_ca() -> AuthorityCommand {
    AuthorityCommand::InviteAuthority {
        authority_id: "ca".into(),
        kind: AuthorityKind::CompetentAuthority,
        region: region("DE-BY"),
        coordinated_areas: BTreeSet::new(),
        access: grants(
            "PQ",
            &[(
                Workflow::Requests,
                WorkflowRole::RequestAuthority,
                &["dimic-by"],
            )],
        ),
        code_digest: CODE.to_uppercase(),
        contact_email: sealed_for_authority("ca"),
    }
}

fn invite(
    id: &str,
    kind: AuthorityKind,
    region_code: Option<&str>,
    coordinated: &[&str],
    access: AreaGrants,
) -> AuthorityCommand {
    AuthorityCommand::InviteAuthority {
        authority_id: id.into(),
        kind,
        region: region_code.and_then(region),
        coordinated_areas: areas(coordinated),
        access,
        code_digest: CODE.into(),
        contact_email: sealed_for_authority(id),
    }
}

fn with_invite(f: impl FnOnce(&mut AuthorityCommand)) -> AuthorityCommand {
    let mut cmd = invite_ca();
    f(&mut cmd);
    cmd
}

fn set_access(cmd: &mut AuthorityCommand, new: AreaGrants) {
    if let AuthorityCommand::InviteAuthority { access, .. } = cmd {
        *access = new;
    }
}

#[tokio::test]
async fn a_delegated_coordinator_invites_a_competent_authority_for_30_days() {
    given(vec![])
        .when_async(issued(dimic_da(), invite_ca()))
        .await
        .then_expect_events(invited_ca());
}

#[tokio::test]
async fn the_national_coordinator_invites_a_super_delegated_coordinator() {
    given(vec![])
        .when_async(issued(
            nimic_da(),
            invite(
                "sdimic-be",
                AuthorityKind::SuperDelegatedCoordinator,
                Some("DE-BE"),
                &[],
                BTreeMap::new(),
            ),
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::InvitationIssued {
            authority_id: "sdimic-be".into(),
            invited_by: "nimic".into(),
            member_state: de(),
            kind: AuthorityKind::SuperDelegatedCoordinator,
            region: region("DE-BE"),
            coordinated_areas: BTreeSet::new(),
            access: BTreeMap::new(),
            code_digest: CODE.into(),
            expires_at: expiry(),
            contact_email: sealed_for_authority("sdimic-be"),
        }]);
}

#[tokio::test]
async fn a_super_delegated_coordinator_invites_a_legislative_area_coordinator_of_its_region() {
    let events = given(vec![])
        .when_async(issued(
            sdimic_da(),
            invite(
                "limic-sd-by",
                AuthorityKind::LegislativeAreaCoordinator,
                Some("DE-BY"),
                &["SD"],
                BTreeMap::new(),
            ),
        ))
        .await
        .inspect_result()
        .unwrap();
    assert!(matches!(
        &events[..],
        [AuthorityEvent::InvitationIssued { invited_by, .. }] if invited_by == "sdimic-by"
    ));
}

#[tokio::test]
async fn a_legislative_area_coordinator_invites_a_delegated_coordinator_of_its_area() {
    let result = given(vec![])
        .when_async(issued(
            limic_da(),
            invite(
                "dimic-x",
                AuthorityKind::DelegatedCoordinator,
                None,
                &["PQ"],
                coordinating_pq("dimic-x"),
            ),
        ))
        .await
        .inspect_result();
    assert_eq!(result.map(|e| e.len()), Ok(1));
}

#[tokio::test]
async fn a_competent_authority_invites_no_one() {
    given(vec![])
        .when_async(issued(
            other_lda(),
            invite(
                "x",
                AuthorityKind::CompetentAuthority,
                None,
                &[],
                BTreeMap::new(),
            ),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "a competent authority registers, validates and coordinates no one",
        ));
}

#[tokio::test]
async fn a_delegated_coordinator_cannot_invite_a_legislative_area_coordinator() {
    given(vec![])
        .when_async(issued(
            dimic_da(),
            invite(
                "limic-x",
                AuthorityKind::LegislativeAreaCoordinator,
                Some("DE-BY"),
                &["PQ"],
                BTreeMap::new(),
            ),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "a DIMIC cannot register or coordinate a LIMIC",
        ));
}

#[tokio::test]
async fn a_legislative_area_coordinator_cannot_invite_a_super_delegated_coordinator() {
    given(vec![])
        .when_async(issued(
            limic_da(),
            invite(
                "sd-x",
                AuthorityKind::SuperDelegatedCoordinator,
                Some("DE-HE"),
                &[],
                BTreeMap::new(),
            ),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "a LIMIC cannot register or coordinate a SDIMIC",
        ));
}

#[tokio::test]
async fn a_regional_coordinator_invites_only_in_its_region() {
    given(vec![])
        .when_async(issued(
            dimic_da(),
            with_invite(|c| {
                if let AuthorityCommand::InviteAuthority { region: r, .. } = c {
                    *r = region("DE-BE");
                }
            }),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "the authority is outside the coordinator's region DE-BY",
        ));
}

#[tokio::test]
async fn a_delegated_coordinator_invites_only_in_its_areas() {
    given(vec![])
        .when_async(issued(
            dimic_da(),
            with_invite(|c| {
                set_access(
                    c,
                    grants(
                        "SD",
                        &[(
                            Workflow::Requests,
                            WorkflowRole::RequestAuthority,
                            &["nimic"],
                        )],
                    ),
                )
            }),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "the coordinator is not responsible for SD",
        ));
}

#[tokio::test]
async fn only_a_data_administrator_of_the_coordinator_invites() {
    given(vec![])
        .when_async(issued(dimic_lda_only(), invite_ca()))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a data administrator of the coordinator, in every area concerned, may \
             register or invite an authority",
        ));
}

#[tokio::test]
async fn a_foreign_coordinator_invites_for_its_own_member_state_only() {
    // France's coordinator may invite a French authority, but not link it to a German one.
    given(vec![])
        .when_async(issued(
            fr_da(),
            with_invite(|c| {
                if let AuthorityCommand::InviteAuthority { region: r, .. } = c {
                    *r = None;
                }
            }),
        ))
        .await
        .then_expect_error(DomainError::refused(
            "a linked coordinator must be of the same Member State",
        ));
}

#[tokio::test]
async fn national_coordinators_are_not_invited() {
    given(vec![])
        .when_async(issued(
            nimic_da(),
            invite(
                "x",
                AuthorityKind::NationalCoordinator,
                None,
                &[],
                BTreeMap::new(),
            ),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "national coordinators are registered from reference data only",
        ));
}

#[tokio::test]
async fn each_kind_has_its_shape() {
    use AuthorityKind::*;
    let cases = [
        (
            SuperDelegatedCoordinator,
            None,
            &[][..],
            "a super-delegated coordinator needs its region",
        ),
        (
            SuperDelegatedCoordinator,
            Some("DE-BY"),
            &["PQ"][..],
            "only legislative area and delegated coordinators coordinate specific areas",
        ),
        (
            LegislativeAreaCoordinator,
            None,
            &["PQ", "SD"][..],
            "a legislative area coordinator coordinates exactly one legislative area",
        ),
        (
            LegislativeAreaCoordinator,
            None,
            &[][..],
            "a legislative area coordinator coordinates exactly one legislative area",
        ),
        (
            DelegatedCoordinator,
            None,
            &[][..],
            "a delegated coordinator coordinates at least one legislative area",
        ),
        (
            CompetentAuthority,
            None,
            &["PQ"][..],
            "only legislative area and delegated coordinators coordinate specific areas",
        ),
    ];
    for (kind, region_code, coordinated, why) in cases {
        given(vec![])
            .when_async(issued(
                nimic_da(),
                invite("x", kind, region_code, coordinated, BTreeMap::new()),
            ))
            .await
            .then_expect_error(DomainError::invalid(why));
    }
}

#[tokio::test]
async fn an_invitation_needs_an_authority_id() {
    given(vec![])
        .when_async(issued(
            dimic_da(),
            with_invite(|c| {
                if let AuthorityCommand::InviteAuthority { authority_id, .. } = c {
                    *authority_id = " ".into();
                }
            }),
        ))
        .await
        .then_expect_error(DomainError::invalid("the authority needs an id"));
}

#[tokio::test]
async fn unknown_legislative_areas_are_refused() {
    given(vec![])
        .when_async(issued(
            nimic_da(),
            invite(
                "x",
                AuthorityKind::DelegatedCoordinator,
                None,
                &["XX"],
                BTreeMap::new(),
            ),
        ))
        .await
        .then_expect_error(DomainError::invalid("unknown legislative area XX"));
}

#[tokio::test]
async fn a_workflow_the_area_does_not_have_is_refused() {
    given(vec![])
        .when_async(issued(
            nimic_da(),
            invite(
                "x",
                AuthorityKind::CompetentAuthority,
                None,
                &[],
                grants(
                    "ECOM",
                    &[(Workflow::Alerts, WorkflowRole::AlertAuthority, &["nimic"])],
                ),
            ),
        ))
        .await
        .then_expect_error(DomainError::invalid("ECOM has no alerts workflow"));
}

#[tokio::test]
async fn an_area_is_given_with_at_least_one_workflow() {
    given(vec![])
        .when_async(issued(
            dimic_da(),
            with_invite(|c| set_access(c, BTreeMap::from([(pq(), BTreeMap::new())]))),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "access to PQ needs at least one workflow",
        ));
}

#[tokio::test]
async fn a_role_belongs_to_its_workflow() {
    given(vec![])
        .when_async(issued(
            dimic_da(),
            with_invite(|c| {
                set_access(
                    c,
                    grants(
                        "PQ",
                        &[(
                            Workflow::Requests,
                            WorkflowRole::AlertAuthority,
                            &["dimic-by"],
                        )],
                    ),
                )
            }),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the alert authority role belongs to the alerts workflow",
        ));
}

#[tokio::test]
async fn coordinating_workflow_roles_are_for_coordinators_only() {
    given(vec![])
        .when_async(issued(
            dimic_da(),
            with_invite(|c| {
                set_access(
                    c,
                    grants(
                        "PQ",
                        &[(
                            Workflow::Requests,
                            WorkflowRole::RequestCoordinator,
                            &["dimic-by"],
                        )],
                    ),
                )
            }),
        ))
        .await
        .then_expect_error(DomainError::refused(
            "the request coordinator role is only for IMI coordinators",
        ));
}

#[tokio::test]
async fn every_workflow_has_a_linked_coordinator() {
    given(vec![])
        .when_async(issued(
            dimic_da(),
            with_invite(|c| {
                set_access(
                    c,
                    grants(
                        "PQ",
                        &[(Workflow::Requests, WorkflowRole::RequestAuthority, &[])],
                    ),
                )
            }),
        ))
        .await
        .then_expect_error(DomainError::refused(
            "an authority needs at least one linked coordinator for requests in PQ",
        ));
}

#[tokio::test]
async fn a_linked_coordinator_must_exist_be_validated_and_coordinate_the_workflow() {
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
            "ca",
            DomainError::refused(
                "an authority can be its own linked coordinator only as a coordinator of the \
                 requests workflow",
            ),
        ),
    ];
    for (linked, error) in cases {
        given(vec![])
            .when_async(issued(
                dimic_da(),
                with_invite(|c| {
                    set_access(
                        c,
                        grants(
                            "PQ",
                            &[(
                                Workflow::Requests,
                                WorkflowRole::RequestAuthority,
                                &[linked],
                            )],
                        ),
                    )
                }),
            ))
            .await
            .then_expect_error(error);
    }
}

#[tokio::test]
async fn only_the_national_coordinator_nominates_the_incoming_alert_postbox() {
    given(vec![])
        .when_async(issued(
            limic_da(),
            invite(
                "dimic-x",
                AuthorityKind::DelegatedCoordinator,
                None,
                &["PQ"],
                grants(
                    "PQ",
                    &[(
                        Workflow::Alerts,
                        WorkflowRole::IncomingAlertPostbox,
                        &["dimic-x"],
                    )],
                ),
            ),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a data administrator in PQ of the national coordinator may nominate or \
             remove the incoming alert postbox",
        ));
}

#[tokio::test]
async fn a_member_state_has_one_incoming_alert_postbox() {
    given(vec![])
        .when_async(issued(
            nimic_da(),
            invite(
                "dimic-x",
                AuthorityKind::DelegatedCoordinator,
                None,
                &["PQ"],
                grants(
                    "PQ",
                    &[(
                        Workflow::Alerts,
                        WorkflowRole::IncomingAlertPostbox,
                        &["dimic-x"],
                    )],
                ),
            ),
        ))
        .await
        .then_expect_error(DomainError::refused(
            "DE already has an incoming alert postbox",
        ));
}

fn invite_limic(region_code: Option<&str>) -> AuthorityCommand {
    invite(
        "limic-new",
        AuthorityKind::LegislativeAreaCoordinator,
        region_code,
        &["PQ"],
        BTreeMap::new(),
    )
}

#[tokio::test]
async fn a_member_state_has_one_legislative_area_coordinator_per_area() {
    given(vec![])
        .when_async(issued(nimic_da(), invite_limic(None)))
        .await
        .then_expect_error(DomainError::refused(
            "DE already has a legislative area coordinator for PQ",
        ));
}

#[tokio::test]
async fn area_coordinators_are_national_or_per_federal_state_not_both() {
    given(vec![])
        .when_async(issued(nimic_da(), invite_limic(Some("DE-BY"))))
        .await
        .then_expect_error(DomainError::refused(
            "DE has legislative area coordinators for PQ either for the whole Member State or \
             per federal state, not both",
        ));
}

#[tokio::test]
async fn a_federal_state_has_one_legislative_area_coordinator_per_area() {
    let one_per_state = directory().without("limic-pq").with_history(
        "limic-be",
        registered_by(
            "nimic",
            "limic-be",
            AuthorityKind::LegislativeAreaCoordinator,
            Some("DE-BE"),
            &["PQ"],
            BTreeMap::new(),
            "limic-be-lda",
        ),
    );
    given_in(one_per_state.clone(), vec![])
        .when_async(issued(nimic_da(), invite_limic(Some("DE-BE"))))
        .await
        .then_expect_error(DomainError::refused(
            "DE already has a legislative area coordinator for PQ in DE-BE",
        ));
    let result = given_in(one_per_state, vec![])
        .when_async(issued(nimic_da(), invite_limic(Some("DE-HE"))))
        .await
        .inspect_result();
    assert_eq!(result.map(|e| e.len()), Ok(1));
}

#[tokio::test]
async fn a_malformed_code_digest_is_refused() {
    given(vec![])
        .when_async(issued(
            dimic_da(),
            with_invite(|c| {
                if let AuthorityCommand::InviteAuthority { code_digest, .. } = c {
                    *code_digest = "123456".into();
                }
            }),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the registration code digest must be 64 hexadecimal digits (SHA-256)",
        ));
}

#[tokio::test]
async fn the_contact_email_is_sealed_under_the_authoritys_key() {
    given(vec![])
        .when_async(issued(
            dimic_da(),
            with_invite(|c| {
                if let AuthorityCommand::InviteAuthority { contact_email, .. } = c {
                    *contact_email = sealed_for_authority("other");
                }
            }),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the invitation's e-mail address must be sealed under the authority's own key",
        ));
}

#[tokio::test]
async fn an_existing_authority_is_not_invited_again() {
    given(invited_ca())
        .when_async(issued(dimic_da(), invite_ca()))
        .await
        .then_expect_error(DomainError::refused("this authority already exists"));
}

#[tokio::test]
async fn invitations_are_issued_by_users() {
    given(vec![])
        .when_async(issued(system(), invite_ca()))
        .await
        .then_expect_error(DomainError::forbidden("this command is issued by a user"));
}

#[tokio::test]
async fn an_unknown_acting_authority_cannot_invite() {
    given(vec![])
        .when_async(issued(user("x", "nowhere"), invite_ca()))
        .await
        .then_expect_error(DomainError::forbidden(
            "the acting authority is not registered",
        ));
}

#[tokio::test]
async fn a_user_acting_for_an_authority_they_do_not_belong_to_is_refused() {
    given(vec![])
        .when_async(issued(user("limic-da", "dimic-by"), invite_ca()))
        .await
        .then_expect_error(DomainError::forbidden(
            "the acting user does not belong to the acting authority",
        ));
}

#[tokio::test]
async fn an_authority_awaiting_validation_cannot_invite() {
    given(vec![])
        .when_async(issued(user("pending-lda", "pending"), invite_ca()))
        .await
        .then_expect_error(DomainError::forbidden(
            "the acting authority is not validated yet: it cannot work in IMI before its \
             coordinator validates it",
        ));
}

#[tokio::test]
async fn a_deactivated_user_cannot_invite() {
    let mut dimic = dimic_history();
    dimic.push(AuthorityEvent::UserDeactivated {
        user_id: "dimic-da".into(),
    });
    given_in(directory().with_history("dimic-by", dimic), vec![])
        .when_async(issued(dimic_da(), invite_ca()))
        .await
        .then_expect_error(DomainError::forbidden("the acting user is deactivated"));
}

// --- Renewal ----------------------------------------------------------------------------

fn renew(code: &str) -> AuthorityCommand {
    AuthorityCommand::RenewInvitation {
        code_digest: code.into(),
    }
}

fn renewed() -> AuthorityEvent {
    AuthorityEvent::InvitationRenewed {
        renewed_by: "dimic-by".into(),
        code_digest: OTHER_CODE.into(),
        expires_at: expiry(),
    }
}

#[tokio::test]
async fn the_inviting_coordinator_renews_an_invitation() {
    given(invited_ca())
        .when_async(issued(dimic_da(), renew(OTHER_CODE)))
        .await
        .then_expect_events(vec![renewed()]);
}

#[tokio::test]
async fn only_the_inviting_coordinator_renews_an_invitation() {
    given(invited_ca())
        .when_async(issued(limic_da(), renew(OTHER_CODE)))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a data administrator of the inviting coordinator may renew its invitation",
        ));
}

#[tokio::test]
async fn a_used_invitation_is_not_renewed() {
    given(registered_ca())
        .when_async(issued(dimic_da(), renew(OTHER_CODE)))
        .await
        .then_expect_error(DomainError::refused(
            "the authority has already registered itself",
        ));
}

#[tokio::test]
async fn a_renewed_code_replaces_the_old_one() {
    let mut events = invited_ca();
    events.push(renewed());
    given(events.clone())
        .when_async(issued(ca_lda(), self_register(CODE)))
        .await
        .then_expect_error(DomainError::forbidden(
            "the registration code does not match",
        ));
    given(events)
        .when_async(issued(ca_lda(), self_register(OTHER_CODE)))
        .await
        .then_expect_events(self_registration("ca-lda"));
}

// --- Self-registration ------------------------------------------------------------------

fn self_register(code: &str) -> AuthorityCommand {
    AuthorityCommand::RegisterWithInvitation {
        code_digest: code.into(),
        data: data(" Landesamt "),
        first_user: new_user("ca-lda"),
    }
}

#[tokio::test]
async fn an_invited_authority_registers_itself_and_its_first_user_is_lda() {
    given(invited_ca())
        .when_async(issued(ca_lda(), self_register(CODE)))
        .await
        .then_expect_events(self_registration("ca-lda"));
}

#[tokio::test]
async fn self_registration_keeps_the_authoritys_data() {
    let contact = ContactDetails {
        address: Some(" Hauptstr. 1 ".into()),
        city: Some("München".into()),
        email: Some("poststelle@landesamt.example.de".into()),
        ..ContactDetails::default()
    };
    let events = given(invited_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::RegisterWithInvitation {
                code_digest: CODE.into(),
                data: AuthorityData {
                    official_name: "Landesamt".into(),
                    informal_titles: BTreeMap::from([(en(), "State office".into())]),
                    description: Some("Recognises qualifications".into()),
                    contact,
                    contact_person: Some(sealed_for_authority("ca")),
                },
                first_user: new_user("ca-lda"),
            },
        ))
        .await
        .inspect_result()
        .unwrap();
    match &events[0] {
        AuthorityEvent::AuthoritySelfRegistered {
            informal_titles,
            description,
            contact,
            contact_person,
            ..
        } => {
            assert_eq!(informal_titles[&en()], "State office");
            assert_eq!(description.as_deref(), Some("Recognises qualifications"));
            assert_eq!(contact.address.as_deref(), Some("Hauptstr. 1"));
            assert_eq!(contact_person, &Some(sealed_for_authority("ca")));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_registration_code_is_refused() {
    given(invited_ca())
        .when_async(issued(ca_lda(), self_register(OTHER_CODE)))
        .await
        .then_expect_error(DomainError::forbidden(
            "the registration code does not match",
        ));
}

#[tokio::test]
async fn a_registration_code_is_used_once() {
    given(registered_ca())
        .when_async(issued(ca_lda(), self_register(CODE)))
        .await
        .then_expect_error(DomainError::refused(
            "the registration code has already been used",
        ));
}

#[tokio::test]
async fn a_registration_code_expires_after_30_days() {
    given_in(directory().at(expiry()), invited_ca())
        .when_async(issued(ca_lda(), self_register(CODE)))
        .await
        .then_expect_error(DomainError::refused("the registration code has expired"));
    let just_in_time = expiry() - chrono::Duration::seconds(1);
    given_in(directory().at(just_in_time), invited_ca())
        .when_async(issued(ca_lda(), self_register(CODE)))
        .await
        .then_expect_events(self_registration("ca-lda"));
}

#[tokio::test]
async fn registering_without_an_invitation_is_not_found() {
    given(vec![])
        .when_async(issued(ca_lda(), self_register(CODE)))
        .await
        .then_expect_error(DomainError::not_found("no invitation to register"));
}

#[tokio::test]
async fn a_registered_authority_cannot_register_with_a_code() {
    given(nimic_history())
        .when_async(issued(ca_lda(), self_register(CODE)))
        .await
        .then_expect_error(DomainError::refused("this authority is already registered"));
}

#[tokio::test]
async fn self_registration_is_issued_as_the_first_user() {
    for by in [user("someone", "ca"), user("ca-lda", "elsewhere"), system()] {
        given(invited_ca())
            .when_async(issued(by, self_register(CODE)))
            .await
            .then_expect_error(DomainError::forbidden(
                "a self-registration is issued as the authority's first user",
            ));
    }
}

#[tokio::test]
async fn self_registration_data_is_checked() {
    let cases: Vec<(AuthorityData, DomainError)> = vec![
        (
            data(""),
            DomainError::invalid("official name must not be empty"),
        ),
        (
            AuthorityData {
                description: Some("x".repeat(MAX_DESCRIPTION_CHARS + 1)),
                ..data("Landesamt")
            },
            DomainError::invalid(format!(
                "the description is longer than {MAX_DESCRIPTION_CHARS} characters"
            )),
        ),
        (
            AuthorityData {
                contact: ContactDetails {
                    email: Some("not an address".into()),
                    ..ContactDetails::default()
                },
                ..data("Landesamt")
            },
            DomainError::invalid("the e-mail address is malformed"),
        ),
        (
            AuthorityData {
                contact: ContactDetails {
                    phone: Some("1".repeat(MAX_CONTACT_CHARS + 1)),
                    ..ContactDetails::default()
                },
                ..data("Landesamt")
            },
            DomainError::invalid(format!(
                "the phone number is longer than {MAX_CONTACT_CHARS} characters"
            )),
        ),
        (
            AuthorityData {
                contact_person: Some(sealed_for("ca-lda")),
                ..data("Landesamt")
            },
            DomainError::invalid("the contact person must be sealed under the authority's own key"),
        ),
    ];
    for (data, error) in cases {
        given(invited_ca())
            .when_async(issued(
                ca_lda(),
                AuthorityCommand::RegisterWithInvitation {
                    code_digest: CODE.into(),
                    data,
                    first_user: new_user("ca-lda"),
                },
            ))
            .await
            .then_expect_error(error);
    }
}

#[tokio::test]
async fn the_first_user_is_checked() {
    given(invited_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::RegisterWithInvitation {
                code_digest: CODE.into(),
                data: data("Landesamt"),
                first_user: NewUser {
                    user_id: "ca-lda".into(),
                    identity: sealed_for("x"),
                },
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "a user's identity must be sealed under that user's own key",
        ));
}

// --- Validation -------------------------------------------------------------------------

#[tokio::test]
async fn the_inviting_coordinator_validates_and_becomes_validating_coordinator() {
    given(registered_ca())
        .when_async(issued(dimic_da(), AuthorityCommand::ValidateAuthority))
        .await
        .then_expect_events(vec![AuthorityEvent::AuthorityValidated {
            validated_by: "dimic-by".into(),
        }]);
    let mut events = registered_ca();
    events.push(AuthorityEvent::AuthorityValidated {
        validated_by: "dimic-by".into(),
    });
    let summary = Authority::<()>::from_events(events).summary("ca").unwrap();
    assert_eq!(summary.validating_coordinator.as_deref(), Some("dimic-by"));
    assert_eq!(summary.status, AuthorityStatus::Validated);
    assert_eq!(summary.access_coordinator(&pq()), Some("dimic-by"));
}

#[tokio::test]
async fn only_the_inviting_coordinator_validates() {
    for by in [nimic_da(), limic_da(), dimic_lda_only(), ca_lda()] {
        let result = given(registered_ca())
            .when_async(issued(by.clone(), AuthorityCommand::ValidateAuthority))
            .await
            .inspect_result();
        assert!(
            matches!(result, Err(DomainError::Forbidden(_))),
            "{by:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn an_authority_is_validated_after_it_registered_itself() {
    given(invited_ca())
        .when_async(issued(dimic_da(), AuthorityCommand::ValidateAuthority))
        .await
        .then_expect_error(DomainError::refused(
            "the authority has not registered itself yet",
        ));
}

#[tokio::test]
async fn an_authority_is_validated_once() {
    given(validated_ca())
        .when_async(issued(dimic_da(), AuthorityCommand::ValidateAuthority))
        .await
        .then_expect_error(DomainError::refused("the authority is already validated"));
}

#[tokio::test]
async fn an_unvalidated_authority_cannot_work() {
    given(registered_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetInformalTitle {
                language: en(),
                title: Some("State office".into()),
            },
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "the acting authority is not validated yet: it cannot work in IMI before its \
             coordinator validates it",
        ));
}

#[tokio::test]
async fn an_unvalidated_authority_is_not_managed_yet() {
    given(registered_ca())
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::SetFlag {
                area: pq(),
                workflow: Workflow::Requests,
                flag: Flag::ApprovalOfNewRequests,
                enabled: true,
            },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "the authority is not validated yet: it cannot work in IMI before its coordinator \
             validates it",
        ));
}

#[tokio::test]
async fn commands_to_an_unknown_authority_are_not_found() {
    given(vec![])
        .when_async(issued(dimic_da(), AuthorityCommand::ValidateAuthority))
        .await
        .then_expect_error(DomainError::not_found("no such authority"));
}

// --- Direct registration ----------------------------------------------------------------

fn register_limic_sd() -> AuthorityCommand {
    AuthorityCommand::RegisterAuthority {
        authority_id: "limic-sd".into(),
        kind: AuthorityKind::LegislativeAreaCoordinator,
        region: None,
        coordinated_areas: areas(&["SD"]),
        access: grants(
            "SD",
            &[(
                Workflow::Requests,
                WorkflowRole::RequestCoordinator,
                &["limic-sd"],
            )],
        ),
        data: data("Bundesamt für Dienstleistungen"),
        first_user: new_user("limic-sd-lda"),
    }
}

#[tokio::test]
async fn a_coordinator_registers_an_authority_directly_and_validates_it_at_once() {
    given(vec![])
        .when_async(issued(nimic_da(), register_limic_sd()))
        .await
        .then_expect_events(vec![
            AuthorityEvent::AuthorityRegistered {
                authority_id: "limic-sd".into(),
                registered_by: "nimic".into(),
                member_state: de(),
                kind: AuthorityKind::LegislativeAreaCoordinator,
                region: None,
                coordinated_areas: areas(&["SD"]),
                access: grants(
                    "SD",
                    &[(
                        Workflow::Requests,
                        WorkflowRole::RequestCoordinator,
                        &["limic-sd"],
                    )],
                ),
                official_name: "Bundesamt für Dienstleistungen".into(),
                informal_titles: BTreeMap::new(),
                description: None,
                contact: ContactDetails::default(),
                contact_person: None,
            },
            user_registered("limic-sd-lda", true),
            AuthorityEvent::AuthorityValidated {
                validated_by: "nimic".into(),
            },
        ]);
}

#[tokio::test]
async fn direct_registration_follows_the_same_rules_as_invitations() {
    given(vec![])
        .when_async(issued(limic_da(), register_limic_sd()))
        .await
        .then_expect_error(DomainError::forbidden(
            "a LIMIC cannot register or coordinate a LIMIC",
        ));
    let mut no_user = register_limic_sd();
    if let AuthorityCommand::RegisterAuthority { first_user, .. } = &mut no_user {
        first_user.user_id = "".into();
    }
    given(vec![])
        .when_async(issued(nimic_da(), no_user))
        .await
        .then_expect_error(DomainError::invalid("the first user needs an id"));
}

// --- Expiry recorded by the scheduler ---------------------------------------------------

fn expire(code: &str) -> AuthorityCommand {
    AuthorityCommand::ExpireInvitation {
        code_digest: code.into(),
    }
}

fn expired(code: &str) -> AuthorityEvent {
    AuthorityEvent::InvitationExpired {
        code_digest: code.into(),
    }
}

#[tokio::test]
async fn the_scheduler_records_that_an_unused_code_expired() {
    given_in(directory().at(expiry()), invited_ca())
        .when_async(issued(system(), expire(CODE)))
        .await
        .then_expect_events(vec![expired(CODE)]);
}

#[tokio::test]
async fn an_expiry_is_recorded_once() {
    let mut events = invited_ca();
    events.push(expired(CODE));
    given_in(directory().at(expiry()), events)
        .when_async(issued(system(), expire(CODE)))
        .await
        .then_expect_error(DomainError::refused(
            "the expiry of this registration code is already recorded",
        ));
}

#[tokio::test]
async fn a_code_is_not_expired_before_its_time() {
    let just_in_time = expiry() - chrono::Duration::seconds(1);
    given_in(directory().at(just_in_time), invited_ca())
        .when_async(issued(system(), expire(CODE)))
        .await
        .then_expect_error(DomainError::refused(
            "the registration code has not expired yet",
        ));
}

#[tokio::test]
async fn a_renewed_invitation_does_not_expire_with_its_old_code() {
    let mut events = invited_ca();
    events.push(renewed());
    given_in(directory().at(expiry()), events)
        .when_async(issued(system(), expire(CODE)))
        .await
        .then_expect_error(DomainError::refused(
            "the invitation was renewed: that code is no longer the current one",
        ));
}

#[tokio::test]
async fn a_used_code_does_not_expire() {
    given_in(directory().at(expiry()), registered_ca())
        .when_async(issued(system(), expire(CODE)))
        .await
        .then_expect_error(DomainError::refused(
            "the registration code has already been used",
        ));
}

#[tokio::test]
async fn only_the_scheduler_records_an_expiry() {
    given_in(directory().at(expiry()), invited_ca())
        .when_async(issued(dimic_da(), expire(CODE)))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the scheduler records that a registration code expired",
        ));
}

#[tokio::test]
async fn an_authority_never_invited_has_nothing_to_expire() {
    given(vec![])
        .when_async(issued(system(), expire(CODE)))
        .await
        .then_expect_error(DomainError::not_found("no invitation to expire"));
}

#[tokio::test]
async fn a_renewal_after_expiry_lets_the_authority_register() {
    let mut events = invited_ca();
    events.push(expired(CODE));
    events.push(renewed());
    given(events)
        .when_async(issued(ca_lda(), self_register(OTHER_CODE)))
        .await
        .then_expect_events(self_registration("ca-lda"));
}
