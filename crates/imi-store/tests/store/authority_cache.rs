//! The authority cache answers as a fold of each authority's whole history, however that
//! history moved on since it kept the authority, and never from a history no longer there.

use crate::scene::{area, coordinated_germany, Scene};
use crate::support::tamper;
use cqrs_es::Aggregate;
use imi_domain::actor::Actor;
use imi_domain::authority::{
    Authority, AuthorityCommand, AuthorityKind, AuthoritySummary, UserRole, Workflow, WorkflowRole,
};
use imi_domain::reference::{Language, MemberState};
use imi_store::authority_cache;
use imi_store::commands::AggregateConfig;
use std::collections::{BTreeMap, BTreeSet};

/// Every authority of the scene, loaded through the lookup (and so the cache), against its
/// events folded from the first in memory.
async fn every_authority_answers_as_its_whole_history(scene: &Scene) -> usize {
    let lookup = scene.lookup();
    let histories = scene.histories().await;
    for (id, events) in &histories {
        let mut folded = Authority::<()>::default();
        for event in events.clone() {
            folded.apply(event);
        }
        let expected: Option<AuthoritySummary> = folded.summary(id);
        assert!(expected.is_some(), "{id} exists");
        assert_eq!(lookup.load(id).await.unwrap(), expected, "{id}");
    }
    histories.len()
}

#[tokio::test]
async fn a_kept_authority_loads_as_its_whole_history_after_every_further_event() {
    let scene = Scene::new(AggregateConfig {
        snapshot_every: Some(3),
    })
    .await;
    let de = coordinated_germany(&scene).await;
    let authorities = every_authority_answers_as_its_whole_history(&scene).await;
    assert!(authorities >= 3);
    let hits = authority_cache::hits(&scene.pool);
    let steps = [
        (
            de.nimic.clone(),
            AuthorityCommand::GrantUserRoles {
                user_id: "de-lda".into(),
                area: area("SD"),
                roles: BTreeSet::from([UserRole::DataAdministrator]),
            },
        ),
        (
            de.nimic.clone(),
            AuthorityCommand::ChangeWorkflowRole {
                area: area("PQ"),
                workflow: Workflow::Alerts,
                role: WorkflowRole::AlertCoordinator,
            },
        ),
        (
            de.limic.clone(),
            AuthorityCommand::GrantWorkflowAccess {
                area: area("PQ"),
                workflow: Workflow::Alerts,
                setup: crate::scene::setup(WorkflowRole::IncomingAlertPostbox, &["limic-pq"]),
            },
        ),
    ];
    for (id, command) in steps {
        scene.ok(&id, &de.nimic_lda, command).await;
        every_authority_answers_as_its_whole_history(&scene).await;
    }
    assert!(
        authority_cache::hits(&scene.pool) >= hits + 3 * authorities as u64,
        "the loads after the first start from what the cache kept"
    );
}

#[tokio::test]
async fn a_history_replaced_under_the_cache_is_read_afresh() {
    let scene = Scene::new(AggregateConfig::default()).await;
    let (fr, _) = scene.nimic("FR").await;
    every_authority_answers_as_its_whole_history(&scene).await;
    let kept = scene.lookup().load(&fr).await.unwrap().unwrap();
    assert_eq!(kept.member_state, MemberState::parse("FR").unwrap());

    // As a restore, or a database created again under the same name, would: the same id and
    // sequences, other events.
    tamper(
        &scene.pool,
        &format!(
            "DELETE FROM events WHERE aggregate_id = '{fr}';
             DELETE FROM snapshots WHERE aggregate_id = '{fr}'"
        ),
    )
    .await;
    let first_user = scene.new_user("be-lda").await;
    scene
        .ok(
            &fr,
            &Actor::system("test"),
            AuthorityCommand::RegisterNationalCoordinator {
                member_state: MemberState::parse("BE").unwrap(),
                official_name: "National IMI Coordinator BE".into(),
                informal_titles: BTreeMap::from([(
                    Language::parse("en").unwrap(),
                    "IMI coordinator BE".into(),
                )]),
                first_user,
            },
        )
        .await;
    every_authority_answers_as_its_whole_history(&scene).await;
    let now = scene.lookup().load(&fr).await.unwrap().unwrap();
    assert_eq!(now.member_state, MemberState::parse("BE").unwrap());
    assert_eq!(now.kind, AuthorityKind::NationalCoordinator);
}
