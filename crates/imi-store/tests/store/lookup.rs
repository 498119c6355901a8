//! The store's lookup answers exactly what the in-memory reference directory answers for the
//! same history and reference data, for every question the aggregate can ask.

use crate::scene::{area, coordinated_germany, digest, Scene};
use chrono::Duration;
use imi_domain::authority::{
    authority_key_id, AuthorityCommand, AuthorityDirectoryLookup, AuthorityKind, Clock, Keyword,
    KeywordList, LegislativeArea, Region, UserRole, Workflow, WorkflowRole,
};
use imi_domain::reference::{MemberState, MEMBER_STATES};
use imi_store::authority_lookup::StoreLookup;
use imi_store::commands::AggregateConfig;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Germany coordinated (see `coordinated_germany`), France's national coordinator, an invited
/// (not yet registered) regional coordinator of SD in Bavaria, and a postbox moved from the
/// national coordinator to the PQ coordinator. Snapshots every 3 events, so the lookup loads
/// from snapshots too.
async fn history() -> Scene {
    let scene = Scene::new(AggregateConfig {
        snapshot_every: Some(3),
    })
    .await;
    let de = coordinated_germany(&scene).await;
    scene.nimic("FR").await;
    let nimic = &de.nimic_lda;
    scene
        .ok(
            &de.nimic,
            nimic,
            AuthorityCommand::GrantUserRoles {
                user_id: "de-lda".into(),
                area: area("SD"),
                roles: BTreeSet::from([UserRole::DataAdministrator]),
            },
        )
        .await;
    let contact_email = scene
        .keys
        .seal(
            &authority_key_id("limic-sd-by"),
            &serde_json::json!("sd@bayern.example.de"),
        )
        .await
        .unwrap();
    scene
        .ok(
            "limic-sd-by",
            nimic,
            AuthorityCommand::InviteAuthority {
                authority_id: "limic-sd-by".into(),
                kind: AuthorityKind::LegislativeAreaCoordinator,
                region: Region::parse("DE-BY").ok(),
                coordinated_areas: BTreeSet::from([area("SD")]),
                access: Default::default(),
                code_digest: digest("sd code"),
                contact_email,
            },
        )
        .await;
    // The national coordinator hands the postbox role to the PQ coordinator.
    scene
        .ok(
            &de.nimic,
            nimic,
            AuthorityCommand::ChangeWorkflowRole {
                area: area("PQ"),
                workflow: Workflow::Alerts,
                role: WorkflowRole::AlertCoordinator,
            },
        )
        .await;
    scene
        .ok(
            &de.limic,
            nimic,
            AuthorityCommand::GrantWorkflowAccess {
                area: area("PQ"),
                workflow: Workflow::Alerts,
                setup: crate::scene::setup(WorkflowRole::IncomingAlertPostbox, &["limic-pq"]),
            },
        )
        .await;
    scene
}

#[tokio::test]
async fn the_store_lookup_answers_as_the_in_memory_directory() {
    let scene = history().await;
    let store = scene.lookup();
    let memory = scene.in_memory().await;
    let snapshots: i64 = sqlx::query_scalar("SELECT count(*) FROM snapshots")
        .fetch_one(&scene.pool)
        .await
        .unwrap();
    assert!(snapshots > 0, "the history should load from snapshots too");

    let mut ids: Vec<String> = scene.histories().await.into_keys().collect();
    assert!(ids.len() >= 5, "{ids:?}");
    ids.push("nobody".into());
    let mut areas: Vec<LegislativeArea> = scene
        .reference
        .legislative_areas
        .iter()
        .map(|a| area(&a.code))
        .collect();
    areas.push(area("XX"));
    let mut asked = 0;

    for code in MEMBER_STATES {
        let ms = MemberState::parse(code).unwrap();
        assert_eq!(
            store.national_coordinator(&ms).await.unwrap(),
            memory.national_coordinator(&ms).await.unwrap(),
            "national coordinator of {ms}"
        );
        assert_eq!(
            store.incoming_alert_postbox(&ms).await.unwrap(),
            memory.incoming_alert_postbox(&ms).await.unwrap(),
            "postbox of {ms}"
        );
        for a in &areas {
            assert_eq!(
                store.area_coordinators(&ms, a).await.unwrap(),
                memory.area_coordinators(&ms, a).await.unwrap(),
                "coordinators of {a} in {ms}"
            );
            asked += 1;
        }
    }
    for id in &ids {
        assert_eq!(
            store.authority(id).await.unwrap(),
            memory.authority(id).await.unwrap(),
            "{id}"
        );
        for a in &areas {
            for workflow in Workflow::ALL {
                assert_eq!(
                    store.authorities_linked_to(id, a, workflow).await.unwrap(),
                    memory.authorities_linked_to(id, a, workflow).await.unwrap(),
                    "linked to {id} for {workflow} in {a}"
                );
                asked += 1;
            }
        }
    }
    for a in &areas {
        assert_eq!(
            store.workflows_of(a).await.unwrap(),
            memory.workflows_of(a).await.unwrap(),
            "{a}"
        );
        assert_eq!(
            store.is_known_area(a).await.unwrap(),
            memory.is_known_area(a).await.unwrap()
        );
    }
    let mut codes: BTreeSet<String> = ["nope".to_string(), "q86".into(), String::new()].into();
    for entries in scene.reference.keywords.values() {
        codes.extend(entries.iter().map(|e| e.code.clone()));
    }
    for entries in scene
        .reference
        .professions
        .values()
        .chain(scene.reference.service_activities.values())
    {
        codes.extend(entries.iter().map(|e| e.code.clone()));
    }
    for code in &codes {
        for list in [KeywordList::EconomicActivities, KeywordList::PolicyAreas] {
            let keyword = Keyword {
                list,
                code: code.clone(),
            };
            assert_eq!(
                store.is_known_keyword(&keyword).await.unwrap(),
                memory.is_known_keyword(&keyword).await.unwrap(),
                "{keyword:?}"
            );
        }
        for a in &areas {
            assert_eq!(
                store.is_known_profession(a, code).await.unwrap(),
                memory.is_known_profession(a, code).await.unwrap(),
                "profession {code} in {a}"
            );
            assert_eq!(
                store.is_known_service_activity(a, code).await.unwrap(),
                memory.is_known_service_activity(a, code).await.unwrap(),
                "service activity {code} in {a}"
            );
            asked += 2;
        }
    }
    assert!(asked > 1000, "{asked}");

    // The answers that make the history interesting.
    let de = MemberState::parse("DE").unwrap();
    assert_eq!(
        store.incoming_alert_postbox(&de).await.unwrap().as_deref(),
        Some("limic-pq")
    );
    assert_eq!(
        store.area_coordinators(&de, &area("SD")).await.unwrap()[0].region,
        Region::parse("DE-BY").ok()
    );
    assert_eq!(
        store
            .national_coordinator(&MemberState::parse("FR").unwrap())
            .await
            .unwrap()
            .as_deref(),
        Some("nimic-fr")
    );
}

#[tokio::test]
async fn the_clock_is_the_system_clock_unless_one_is_injected() {
    let scene = Scene::new(AggregateConfig::default()).await;
    let system = StoreLookup::new(scene.pool.clone());
    let drift = (system.now() - chrono::Utc::now()).num_seconds().abs();
    assert!(drift < 5);
    let fixed = StoreLookup::new(scene.pool.clone()).with_clock(scene.clock.clone());
    assert_eq!(fixed.now(), crate::scene::start());
    scene.clock.advance(Duration::days(1));
    assert_eq!(fixed.now(), crate::scene::start() + Duration::days(1));
    let _: Arc<dyn Clock> = scene.clock.clone();
}

#[tokio::test]
async fn a_lookup_without_its_database_fails_rather_than_answers() {
    let scene = Scene::new(AggregateConfig::default()).await;
    let lookup = scene.lookup();
    scene.pool.close().await;
    assert!(lookup.authority("nimic-de").await.is_err());
    assert!(lookup
        .national_coordinator(&MemberState::parse("DE").unwrap())
        .await
        .is_err());
    assert!(lookup.workflows_of(&area("PQ")).await.is_err());
}
