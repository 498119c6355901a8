//! The Authority aggregate through the command bus with the store's lookup: a Member State
//! coordinated from its national coordinator down to a competent authority's user; the
//! cross-authority rules decided on what the event store holds.

use crate::scene::{area, coordinated_germany, data, grants, ids, setup, Scene};
use imi_domain::actor::Actor;
use imi_domain::authority::{
    AuthorityCommand, AuthorityDirectoryLookup, AuthorityKind, AuthorityStatus, Keyword,
    KeywordList, UserRole, Workflow, WorkflowRole,
};
use imi_domain::error::DomainError;
use imi_domain::reference::MemberState;
use imi_store::commands::AggregateConfig;
use std::collections::BTreeSet;

#[tokio::test]
async fn invite_self_register_validate_grant_link_and_register_a_user() {
    let scene = Scene::new(AggregateConfig::default()).await;
    let de = coordinated_germany(&scene).await;
    let lookup = scene.lookup();

    let ca = lookup.authority(&de.ca).await.unwrap().expect("ca-1");
    assert_eq!(ca.status, AuthorityStatus::Validated);
    assert_eq!(ca.kind, AuthorityKind::CompetentAuthority);
    assert_eq!(ca.invited_by.as_deref(), Some("nimic-de"));
    assert_eq!(ca.validating_coordinator.as_deref(), Some("nimic-de"));
    let pq = &ca.areas[&area("PQ")];
    assert_eq!(pq.access_coordinator, "nimic-de");
    assert_eq!(
        pq.workflows[&Workflow::Requests].linked_coordinators,
        ids(&["limic-pq", "nimic-de"])
    );
    assert_eq!(pq.professions, ids(&["doctor", "specialist-doctor"]));
    assert_eq!(pq.competences.len(), 2);
    assert!(ca.areas.contains_key(&area("PW")));
    assert!(ca.users["ca-lda"].local_data_administrator);
    assert!(ca.users["ca-handler"].has_role(&area("PQ"), UserRole::RequestHandler));

    let germany = MemberState::parse("DE").unwrap();
    assert_eq!(
        lookup.national_coordinator(&germany).await.unwrap(),
        Some("nimic-de".into())
    );
    assert_eq!(
        lookup.incoming_alert_postbox(&germany).await.unwrap(),
        Some("nimic-de".into())
    );
    let limics = lookup
        .area_coordinators(&germany, &area("PQ"))
        .await
        .unwrap();
    assert_eq!(limics.len(), 1);
    assert_eq!(limics[0].authority_id, "limic-pq");
    assert_eq!(
        lookup
            .authorities_linked_to("limic-pq", &area("PQ"), Workflow::Requests)
            .await
            .unwrap(),
        ["ca-1", "limic-pq"]
    );
}

#[tokio::test]
async fn cross_authority_rules_and_reference_data_refuse_on_what_the_store_holds() {
    let scene = Scene::new(AggregateConfig::default()).await;
    let de = coordinated_germany(&scene).await;
    let nimic = &de.nimic_lda;

    // One national coordinator per Member State.
    let first_user = scene.new_user("de-2-lda").await;
    let twice = scene
        .refused(
            "nimic-de-2",
            &Actor::system("test"),
            AuthorityCommand::RegisterNationalCoordinator {
                member_state: MemberState::parse("DE").unwrap(),
                official_name: "A second one".into(),
                informal_titles: Default::default(),
                first_user,
            },
        )
        .await;
    assert!(
        twice
            .to_string()
            .contains("already has a national coordinator"),
        "{twice}"
    );

    // One legislative area coordinator of PQ in Germany.
    let first_user = scene.new_user("limic-2-lda").await;
    let second_limic = scene
        .refused(
            "limic-pq-2",
            nimic,
            AuthorityCommand::RegisterAuthority {
                authority_id: "limic-pq-2".into(),
                kind: AuthorityKind::LegislativeAreaCoordinator,
                region: None,
                coordinated_areas: BTreeSet::from([area("PQ")]),
                access: grants(
                    "PQ",
                    &[(
                        Workflow::Requests,
                        WorkflowRole::RequestCoordinator,
                        &["limic-pq-2"],
                    )],
                ),
                data: data("Another PQ coordinator"),
                first_user,
            },
        )
        .await;
    assert!(
        matches!(second_limic, DomainError::Refused(_)),
        "{second_limic}"
    );

    // One incoming alert postbox per Member State (the national coordinator is it).
    let postbox = scene
        .refused(
            &de.limic,
            nimic,
            AuthorityCommand::GrantWorkflowAccess {
                area: area("PQ"),
                workflow: Workflow::Alerts,
                setup: setup(WorkflowRole::IncomingAlertPostbox, &["limic-pq"]),
            },
        )
        .await;
    assert!(
        postbox.to_string().contains("incoming alert postbox"),
        "{postbox}"
    );

    // A coordinator others rely on keeps its role.
    let relied_on = scene
        .refused(
            &de.limic,
            nimic,
            AuthorityCommand::RevokeAreaAccess { area: area("PQ") },
        )
        .await;
    assert!(
        relied_on.to_string().contains("linked to this authority"),
        "{relied_on}"
    );

    // Reference data: unknown area, a workflow the area lacks, unknown codes.
    let unknown_area = scene
        .refused(
            &de.nimic,
            nimic,
            AuthorityCommand::GrantUserRoles {
                user_id: "de-lda".into(),
                area: area("XX"),
                roles: BTreeSet::from([UserRole::DataAdministrator]),
            },
        )
        .await;
    assert!(
        matches!(unknown_area, DomainError::Invalid(_)),
        "{unknown_area}"
    );
    let no_alerts_in_pw = scene
        .refused(
            &de.ca,
            nimic,
            AuthorityCommand::GrantWorkflowAccess {
                area: area("PW"),
                workflow: Workflow::Alerts,
                setup: setup(WorkflowRole::AlertAuthority, &["nimic-de"]),
            },
        )
        .await;
    assert!(
        no_alerts_in_pw.to_string().contains("no alerts workflow"),
        "{no_alerts_in_pw}"
    );
    for command in [
        AuthorityCommand::SetProfessions {
            area: area("PQ"),
            professions: ids(&["astronaut"]),
        },
        AuthorityCommand::SetProfessions {
            area: area("PW"),
            professions: ids(&["doctor"]),
        },
        AuthorityCommand::SetServiceActivities {
            area: area("PQ"),
            service_activities: ids(&["construction"]),
        },
        AuthorityCommand::SetCompetences {
            area: area("PQ"),
            keywords: BTreeSet::from([Keyword {
                list: KeywordList::PolicyAreas,
                code: "Q86".into(),
            }]),
        },
    ] {
        let name = command.name();
        let refused = scene.refused(&de.ca, &de.ca_lda, command).await;
        assert!(
            matches!(refused, DomainError::Invalid(_) | DomainError::Refused(_)),
            "{name}: {refused}"
        );
    }

    // Nothing refused was written.
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id IN ('nimic-de-2', 'limic-pq-2')",
    )
    .fetch_one(&scene.pool)
    .await
    .unwrap();
    assert_eq!(events, 0);
}
