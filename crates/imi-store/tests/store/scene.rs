//! A migrated database with the bundled reference data, the Authority bus wired as the binary
//! wires it (the store's lookup, the guard keys) but with a clock the test sets, and the steps
//! of a coordinated Member State.

use crate::support::migrated;
use chrono::{DateTime, Duration, TimeZone, Utc};
use imi_domain::actor::Actor;
use imi_domain::authority::testing::InMemoryDirectory;
use imi_domain::authority::{
    authority_key_id, user_key_id, AreaGrants, AuthorityCommand, AuthorityData, AuthorityEvent,
    AuthorityKind, Clock, Keyword, KeywordList, LegislativeArea, NewUser, Region, UserRole,
    Workflow, WorkflowRole, WorkflowSetup,
};
use imi_domain::command::Issued;
use imi_domain::error::DomainError;
use imi_domain::reference::{Language, MemberState};
use imi_store::authority_bus::{authority_bus_with, AuthorityBus, SharedServices};
use imi_store::authority_lookup::StoreLookup;
use imi_store::commands::{AggregateConfig, CommandError};
use imi_store::feed::FeedPosition;
use imi_store::metadata::CommandMetadata;
use imi_store::reference::{self, ReferenceData};
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// A clock the test moves.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn at(now: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(Mutex::new(now)))
    }
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap()
}

pub struct Scene {
    pub pool: PgPool,
    pub bus: AuthorityBus,
    pub keys: KeyRing,
    pub clock: Arc<TestClock>,
    pub reference: ReferenceData,
}

pub type Outcome = Result<Option<FeedPosition>, CommandError<DomainError>>;

impl Scene {
    pub async fn new(config: AggregateConfig) -> Self {
        let pool = migrated().await;
        let reference = ReferenceData::bundled().expect("the bundled reference data");
        reference::load(&pool, &reference)
            .await
            .expect("load the reference data");
        let clock = TestClock::at(start());
        let bus = authority_bus_with(
            pool.clone(),
            config,
            SharedServices::new(self::lookup(&pool, &clock)),
            Wake::local_only(),
        );
        Self {
            keys: KeyRing::new(pool.clone(), MasterKey::generate()),
            pool,
            bus,
            clock,
            reference,
        }
    }

    /// A lookup on the scene's database, at the scene's time.
    pub fn lookup(&self) -> StoreLookup {
        lookup(&self.pool, &self.clock)
    }

    pub async fn run(&self, id: &str, by: &Actor, command: AuthorityCommand) -> Outcome {
        self.bus
            .execute(
                id,
                Issued::new(by.clone(), command),
                CommandMetadata::for_actor(by),
            )
            .await
    }

    /// Runs a command that must succeed.
    pub async fn ok(&self, id: &str, by: &Actor, command: AuthorityCommand) {
        let name = command.name();
        if let Err(e) = self.run(id, by, command).await {
            panic!("{name} on {id} by {by:?} failed: {e:?}");
        }
    }

    /// Runs a command that must be refused by the aggregate; returns the refusal.
    pub async fn refused(&self, id: &str, by: &Actor, command: AuthorityCommand) -> DomainError {
        let name = command.name();
        match self.run(id, by, command).await {
            Err(CommandError::Domain(e)) => e,
            other => panic!("{name} on {id} should have been refused, got {other:?}"),
        }
    }

    pub async fn new_user(&self, user_id: &str) -> NewUser {
        NewUser {
            user_id: user_id.into(),
            identity: self
                .keys
                .seal(
                    &user_key_id(user_id),
                    &serde_json::json!({ "name": format!("User {user_id}") }),
                )
                .await
                .expect("seal"),
        }
    }

    /// Registers the national coordinator `nimic-<ms>` with its LDA `<ms>-lda`.
    pub async fn nimic(&self, ms: &str) -> (String, Actor) {
        let lower = ms.to_ascii_lowercase();
        let id = format!("nimic-{lower}");
        let lda = user(&format!("{lower}-lda"), &id);
        let first_user = self.new_user(&format!("{lower}-lda")).await;
        self.ok(
            &id,
            &Actor::system("test"),
            AuthorityCommand::RegisterNationalCoordinator {
                member_state: MemberState::parse(ms).unwrap(),
                official_name: format!("National IMI Coordinator {ms}"),
                informal_titles: BTreeMap::from([(
                    Language::parse("en").unwrap(),
                    format!("IMI coordinator {ms}"),
                )]),
                first_user,
            },
        )
        .await;
        (id, lda)
    }

    /// Every authority's events, by id.
    pub async fn histories(&self) -> BTreeMap<String, Vec<AuthorityEvent>> {
        let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
            "SELECT aggregate_id, payload FROM events WHERE aggregate_type = 'Authority'
              ORDER BY aggregate_id, sequence",
        )
        .fetch_all(&self.pool)
        .await
        .unwrap();
        let mut histories: BTreeMap<String, Vec<AuthorityEvent>> = BTreeMap::new();
        for (id, payload) in rows {
            histories
                .entry(id)
                .or_default()
                .push(serde_json::from_value(payload).expect("an Authority event"));
        }
        histories
    }

    /// The in-memory reference directory over the same history and reference data.
    pub async fn in_memory(&self) -> InMemoryDirectory {
        let mut directory = InMemoryDirectory::new().at(self.clock.now());
        for area in &self.reference.legislative_areas {
            let workflows: Vec<Workflow> = area
                .workflows
                .iter()
                .map(|w| reference::workflow(w).unwrap())
                .collect();
            directory = directory.with_area(&area.code, &workflows);
        }
        for (list, entries) in &self.reference.keywords {
            for e in entries {
                directory = directory.with_keyword(Keyword {
                    list: reference::keyword_list(list).unwrap(),
                    code: e.code.clone(),
                });
            }
        }
        for (area, entries) in &self.reference.professions {
            for e in entries {
                directory = directory.with_profession(area, &e.code);
            }
        }
        for (area, entries) in &self.reference.service_activities {
            for e in entries {
                directory = directory.with_service_activity(area, &e.code);
            }
        }
        for (id, events) in self.histories().await {
            directory = directory.with_history(&id, events);
        }
        directory
    }
}

fn lookup(pool: &PgPool, clock: &Arc<TestClock>) -> StoreLookup {
    StoreLookup::new(pool.clone()).with_clock(clock.clone())
}

pub fn user(user_id: &str, authority_id: &str) -> Actor {
    Actor::User {
        user_id: user_id.into(),
        authority_id: authority_id.into(),
    }
}

pub fn area(code: &str) -> LegislativeArea {
    LegislativeArea::parse(code).unwrap()
}

pub fn ids(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

pub fn setup(role: WorkflowRole, linked: &[&str]) -> WorkflowSetup {
    WorkflowSetup {
        role,
        linked_coordinators: ids(linked),
    }
}

pub fn workflows(
    entries: &[(Workflow, WorkflowRole, &[&str])],
) -> BTreeMap<Workflow, WorkflowSetup> {
    entries
        .iter()
        .map(|(w, r, linked)| (*w, setup(*r, linked)))
        .collect()
}

pub fn grants(area_code: &str, entries: &[(Workflow, WorkflowRole, &[&str])]) -> AreaGrants {
    BTreeMap::from([(area(area_code), workflows(entries))])
}

pub fn digest(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

pub fn data(name: &str) -> AuthorityData {
    AuthorityData {
        official_name: name.into(),
        ..AuthorityData::default()
    }
}

/// The authorities of a coordinated Member State, as the steps below leave them.
pub struct Coordinated {
    pub nimic: String,
    pub nimic_lda: Actor,
    pub limic: String,
    pub ca: String,
    pub ca_lda: Actor,
}

/// Germany, step by step, through the bus:
/// 1. its national coordinator (`nimic-de`, LDA `de-lda`) makes its LDA a data administrator
///    in PQ and PW and gives itself PQ (request coordinator, incoming alert postbox) and PW
///    (request coordinator);
/// 2. it registers the legislative area coordinator of PQ (`limic-pq`, request coordinator);
/// 3. it invites a competent authority (`ca-1`) for PQ requests, linked to itself; the code
///    expires, is renewed, and `ca-1` registers itself with it (first user `ca-lda`);
/// 4. the national coordinator validates `ca-1`, grants it PW and links it to `limic-pq`
///    in PQ;
/// 5. `ca-1` sets its professions and competences, registers a user and makes it a request
///    handler in PQ.
pub async fn coordinated_germany(scene: &Scene) -> Coordinated {
    let (nimic, de) = scene.nimic("DE").await;
    for a in ["PQ", "PW"] {
        scene
            .ok(
                &nimic,
                &de,
                AuthorityCommand::GrantUserRoles {
                    user_id: "de-lda".into(),
                    area: area(a),
                    roles: BTreeSet::from([UserRole::DataAdministrator]),
                },
            )
            .await;
    }
    scene
        .ok(
            &nimic,
            &de,
            AuthorityCommand::GrantAreaAccess {
                area: area("PQ"),
                workflows: workflows(&[
                    (
                        Workflow::Requests,
                        WorkflowRole::RequestCoordinator,
                        &["nimic-de"],
                    ),
                    (
                        Workflow::Alerts,
                        WorkflowRole::IncomingAlertPostbox,
                        &["nimic-de"],
                    ),
                ]),
            },
        )
        .await;
    scene
        .ok(
            &nimic,
            &de,
            AuthorityCommand::GrantAreaAccess {
                area: area("PW"),
                workflows: workflows(&[(
                    Workflow::Requests,
                    WorkflowRole::RequestCoordinator,
                    &["nimic-de"],
                )]),
            },
        )
        .await;

    let limic = "limic-pq".to_string();
    let limic_first_user = scene.new_user("limic-lda").await;
    scene
        .ok(
            &limic,
            &de,
            AuthorityCommand::RegisterAuthority {
                authority_id: limic.clone(),
                kind: AuthorityKind::LegislativeAreaCoordinator,
                region: None,
                coordinated_areas: BTreeSet::from([area("PQ")]),
                access: grants(
                    "PQ",
                    &[(
                        Workflow::Requests,
                        WorkflowRole::RequestCoordinator,
                        &["limic-pq"],
                    )],
                ),
                data: data("Coordinator for professional qualifications"),
                first_user: limic_first_user,
            },
        )
        .await;

    let ca = "ca-1".to_string();
    let contact_email = scene
        .keys
        .seal(
            &authority_key_id(&ca),
            &serde_json::json!("registry@kammer.example.de"),
        )
        .await
        .unwrap();
    scene
        .ok(
            &ca,
            &de,
            AuthorityCommand::InviteAuthority {
                authority_id: ca.clone(),
                kind: AuthorityKind::CompetentAuthority,
                region: Region::parse("DE-BY").ok(),
                coordinated_areas: BTreeSet::new(),
                access: grants(
                    "PQ",
                    &[(
                        Workflow::Requests,
                        WorkflowRole::RequestAuthority,
                        &["nimic-de"],
                    )],
                ),
                code_digest: digest("first code"),
                contact_email,
            },
        )
        .await;
    let ca_lda = user("ca-lda", &ca);
    let register = |code: &str, first_user: NewUser| AuthorityCommand::RegisterWithInvitation {
        code_digest: digest(code),
        data: data("Landesärztekammer Bayern"),
        first_user,
    };
    // The code is valid 30 days: on day 31 it no longer works, until the coordinator renews it.
    scene.clock.advance(Duration::days(31));
    let first_user = scene.new_user("ca-lda").await;
    let expired = scene
        .refused(&ca, &ca_lda, register("first code", first_user.clone()))
        .await;
    assert!(expired.to_string().contains("expired"), "{expired}");
    scene
        .ok(
            &ca,
            &de,
            AuthorityCommand::RenewInvitation {
                code_digest: digest("second code"),
            },
        )
        .await;
    scene
        .ok(&ca, &ca_lda, register("second code", first_user))
        .await;
    scene
        .ok(&ca, &de, AuthorityCommand::ValidateAuthority)
        .await;
    scene
        .ok(
            &ca,
            &de,
            AuthorityCommand::GrantAreaAccess {
                area: area("PW"),
                workflows: workflows(&[(
                    Workflow::Requests,
                    WorkflowRole::RequestAuthority,
                    &["nimic-de"],
                )]),
            },
        )
        .await;
    scene
        .ok(
            &ca,
            &de,
            AuthorityCommand::LinkCoordinator {
                area: area("PQ"),
                workflow: Workflow::Requests,
                coordinator_id: limic.clone(),
            },
        )
        .await;

    scene
        .ok(
            &ca,
            &ca_lda,
            AuthorityCommand::SetProfessions {
                area: area("PQ"),
                professions: ids(&["doctor", "specialist-doctor"]),
            },
        )
        .await;
    scene
        .ok(
            &ca,
            &ca_lda,
            AuthorityCommand::SetCompetences {
                area: area("PQ"),
                keywords: BTreeSet::from([
                    Keyword {
                        list: KeywordList::EconomicActivities,
                        code: "Q86".into(),
                    },
                    Keyword {
                        list: KeywordList::PolicyAreas,
                        code: "public-health".into(),
                    },
                ]),
            },
        )
        .await;
    let handler = scene.new_user("ca-handler").await;
    scene
        .ok(
            &ca,
            &ca_lda,
            AuthorityCommand::RegisterUser {
                user: handler,
                local_data_administrator: false,
            },
        )
        .await;
    scene
        .ok(
            &ca,
            &ca_lda,
            AuthorityCommand::GrantUserRoles {
                user_id: "ca-handler".into(),
                area: area("PQ"),
                roles: BTreeSet::from([UserRole::RequestHandler]),
            },
        )
        .await;
    Coordinated {
        nimic,
        nimic_lda: de,
        limic,
        ca,
        ca_lda,
    }
}
