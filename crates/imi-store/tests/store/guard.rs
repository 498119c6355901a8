//! Cross-authority rules under concurrency: two commands that both ask "is there a national
//! coordinator for DE yet?" before either has appended would both hear "no". The lookup below
//! makes them meet right after that question (each waits up to a second for the other), so
//! without the guard both pass; with it the second runs only after the first has committed.

use crate::scene::{area, data, grants, user, Scene};
use imi_domain::actor::Actor;
use imi_domain::authority::{
    AreaCoordinator, AuthorityCommand, AuthorityDirectoryLookup, AuthorityKind, AuthoritySummary,
    Clock, Keyword, LegislativeArea, Lookup, UserRole, Workflow, WorkflowRole,
};
use imi_domain::command::Issued;
use imi_domain::error::DomainError;
use imi_domain::reference::MemberState;
use imi_store::authority_bus::{authority_bus_with, AuthorityBus, SharedServices};
use imi_store::authority_lookup::{authority_upcasters, StoreLookup};
use imi_store::commands::{AggregateConfig, CommandBus, CommandError};
use imi_store::guard;
use imi_store::metadata::CommandMetadata;
use imi_store::wake::Wake;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Barrier;

/// The store's lookup, where two callers of `at` wait for each other (up to `patience`) once
/// they have their answer.
struct Rendezvous {
    inner: StoreLookup,
    at: &'static str,
    barrier: Barrier,
    patience: Duration,
}

impl Rendezvous {
    async fn after<T>(&self, method: &str, answer: T) -> T {
        if method == self.at {
            let _ = tokio::time::timeout(self.patience, self.barrier.wait()).await;
        }
        answer
    }
}

impl Clock for Rendezvous {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.now()
    }
}

#[async_trait::async_trait]
impl AuthorityDirectoryLookup for Rendezvous {
    async fn national_coordinator(&self, ms: &MemberState) -> Lookup<Option<String>> {
        let answer = self.inner.national_coordinator(ms).await;
        self.after("national_coordinator", answer).await
    }
    async fn area_coordinators(
        &self,
        ms: &MemberState,
        area: &LegislativeArea,
    ) -> Lookup<Vec<AreaCoordinator>> {
        let answer = self.inner.area_coordinators(ms, area).await;
        self.after("area_coordinators", answer).await
    }
    async fn incoming_alert_postbox(&self, ms: &MemberState) -> Lookup<Option<String>> {
        let answer = self.inner.incoming_alert_postbox(ms).await;
        self.after("incoming_alert_postbox", answer).await
    }
    async fn authority(&self, id: &str) -> Lookup<Option<AuthoritySummary>> {
        self.inner.authority(id).await
    }
    async fn authorities_linked_to(
        &self,
        coordinator: &str,
        area: &LegislativeArea,
        workflow: Workflow,
    ) -> Lookup<Vec<String>> {
        self.inner
            .authorities_linked_to(coordinator, area, workflow)
            .await
    }
    async fn workflows_of(&self, area: &LegislativeArea) -> Lookup<Option<BTreeSet<Workflow>>> {
        self.inner.workflows_of(area).await
    }
    async fn is_known_keyword(&self, keyword: &Keyword) -> Lookup<bool> {
        self.inner.is_known_keyword(keyword).await
    }
    async fn is_known_profession(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        self.inner.is_known_profession(area, code).await
    }
    async fn is_known_service_activity(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        self.inner.is_known_service_activity(area, code).await
    }
}

fn racing_bus(scene: &Scene, at: &'static str, guarded: bool) -> Arc<AuthorityBus> {
    let services = SharedServices::new(Rendezvous {
        inner: scene.lookup(),
        at,
        barrier: Barrier::new(2),
        patience: Duration::from_secs(1),
    });
    Arc::new(if guarded {
        authority_bus_with(
            scene.pool.clone(),
            AggregateConfig::default(),
            services,
            Wake::local_only(),
        )
    } else {
        CommandBus::new(
            scene.pool.clone(),
            AggregateConfig::default(),
            authority_upcasters(),
            services,
            Wake::local_only(),
        )
    })
}

/// Runs two commands at once; returns their outcomes in order.
async fn race(
    bus: &Arc<AuthorityBus>,
    a: (String, Actor, AuthorityCommand),
    b: (String, Actor, AuthorityCommand),
) -> [Result<(), CommandError<DomainError>>; 2] {
    let run = |(id, by, command): (String, Actor, AuthorityCommand)| {
        let bus = bus.clone();
        tokio::spawn(async move {
            bus.execute(
                &id,
                Issued::new(by.clone(), command),
                CommandMetadata::for_actor(&by),
            )
            .await
            .map(|_| ())
        })
    };
    let (a, b) = (run(a), run(b));
    [a.await.unwrap(), b.await.unwrap()]
}

async fn register_nimic(scene: &Scene, id: &str) -> (String, Actor, AuthorityCommand) {
    let first_user = scene.new_user(&format!("{id}-lda")).await;
    (
        id.to_string(),
        Actor::system("test"),
        AuthorityCommand::RegisterNationalCoordinator {
            member_state: MemberState::parse("DE").unwrap(),
            official_name: format!("Coordinator {id}"),
            informal_titles: BTreeMap::new(),
            first_user,
        },
    )
}

async fn national_coordinators_of_germany(scene: &Scene) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'NationalCoordinatorRegistered'
            AND payload -> 'NationalCoordinatorRegistered' ->> 'member_state' = 'DE'",
    )
    .fetch_one(&scene.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn without_the_guard_two_concurrent_national_coordinators_both_pass() {
    // The control experiment: the race is real, so the next test proves the guard.
    let scene = Scene::new(AggregateConfig::default()).await;
    let bus = racing_bus(&scene, "national_coordinator", false);
    let outcomes = race(
        &bus,
        register_nimic(&scene, "nimic-de-a").await,
        register_nimic(&scene, "nimic-de-b").await,
    )
    .await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(national_coordinators_of_germany(&scene).await, 2);
}

#[tokio::test]
async fn with_the_guard_only_one_of_two_concurrent_national_coordinators_is_registered() {
    let scene = Scene::new(AggregateConfig::default()).await;
    let bus = racing_bus(&scene, "national_coordinator", true);
    let outcomes = race(
        &bus,
        register_nimic(&scene, "nimic-de-a").await,
        register_nimic(&scene, "nimic-de-b").await,
    )
    .await;
    let won: Vec<usize> = (0..2).filter(|i| outcomes[*i].is_ok()).collect();
    assert_eq!(won.len(), 1, "{outcomes:?}");
    let lost = &outcomes[1 - won[0]];
    assert!(
        matches!(lost, Err(CommandError::Domain(DomainError::Refused(why))) if why.contains("already has a national coordinator")),
        "{lost:?}"
    );
    assert_eq!(national_coordinators_of_germany(&scene).await, 1);
    let winner = ["nimic-de-a", "nimic-de-b"][won[0]];
    assert_eq!(
        scene
            .lookup()
            .national_coordinator(&MemberState::parse("DE").unwrap())
            .await
            .unwrap()
            .as_deref(),
        Some(winner)
    );
}

#[tokio::test]
async fn with_the_guard_only_one_of_two_concurrent_area_coordinators_is_registered() {
    let scene = Scene::new(AggregateConfig::default()).await;
    let (nimic, de) = scene.nimic("DE").await;
    scene
        .ok(
            &nimic,
            &de,
            AuthorityCommand::GrantUserRoles {
                user_id: "de-lda".into(),
                area: area("PQ"),
                roles: BTreeSet::from([UserRole::DataAdministrator]),
            },
        )
        .await;
    let bus = racing_bus(&scene, "area_coordinators", true);
    let mut commands = Vec::new();
    for id in ["limic-a", "limic-b"] {
        let first_user = scene.new_user(&format!("{id}-lda")).await;
        commands.push((
            id.to_string(),
            user("de-lda", &nimic),
            AuthorityCommand::RegisterAuthority {
                authority_id: id.into(),
                kind: AuthorityKind::LegislativeAreaCoordinator,
                region: None,
                coordinated_areas: BTreeSet::from([area("PQ")]),
                access: grants(
                    "PQ",
                    &[(Workflow::Requests, WorkflowRole::RequestCoordinator, &[id])],
                ),
                data: data(id),
                first_user,
            },
        ));
    }
    let b = commands.pop().unwrap();
    let a = commands.pop().unwrap();
    let outcomes = race(&bus, a, b).await;
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    let coordinators = scene
        .lookup()
        .area_coordinators(&MemberState::parse("DE").unwrap(), &area("PQ"))
        .await
        .unwrap();
    assert_eq!(coordinators.len(), 1, "{coordinators:?}");
}

#[tokio::test]
async fn a_held_key_makes_others_wait_until_released_or_dropped() {
    let scene = Scene::new(AggregateConfig::default()).await;
    let keys = ["nimic:DE".to_string()];
    let held = guard::acquire(&scene.pool, &keys, Duration::from_secs(1))
        .await
        .unwrap();
    // Another key is free; the same key (even among others) is not.
    let other = guard::acquire(&scene.pool, &["nimic:FR".into()], Duration::from_millis(10))
        .await
        .unwrap();
    let both = ["nimic:FR".to_string(), "nimic:DE".to_string()];
    other.release().await;
    assert!(matches!(
        guard::acquire(&scene.pool, &both, Duration::from_millis(100)).await,
        Err(guard::GuardError::Timeout(_))
    ));
    // A waiter gets the key once it is released.
    let pool = scene.pool.clone();
    let waiter = tokio::spawn(async move {
        guard::acquire(&pool, &both, Duration::from_secs(5))
            .await
            .map(|_| ())
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    held.release().await;
    waiter.await.unwrap().unwrap();
    // Dropped without release (a cancelled command): the key comes free all the same.
    let dropped = guard::acquire(&scene.pool, &keys, Duration::from_secs(1))
        .await
        .unwrap();
    drop(dropped);
    guard::acquire(&scene.pool, &keys, Duration::from_secs(5))
        .await
        .unwrap()
        .release()
        .await;
}
