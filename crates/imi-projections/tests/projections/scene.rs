//! A realistic history of authorities, written through the Authority aggregate's commands
//! (`CommandBus<Authority<InMemoryDirectory>>`; the in-memory directory is rebuilt from the
//! store's events before every command, so cross-authority rules see the real log).
//!
//! | id | kind | what happens |
//! |---|---|---|
//! | `nimic-de` | NIMIC DE | PQ (request coordinator, incoming alert postbox), SD (request coordinator) |
//! | `zab` | LIMIC of PQ, registered by `nimic-de` | PQ request and alert coordinator |
//! | `blaek` | CA in DE-BY invited by `zab` | registers itself, is validated; PQ requests, linked to `nimic-de` instead of `zab`; competences, professions, flag; users, roles, resets |
//! | `gewerbeamt` | CA in DE-BY registered by `nimic-de` | SD requests, service activities, renamed |
//! | `pending` | CA invited by `zab` | never registers |
//! | `nimic-fr` | NIMIC FR | PQ (request coordinator) |
//!
//! Personal data in it: users' identities (sealed under `User/<id>`), `blaek`'s contact person
//! and the invitation e-mail addresses (sealed under `Authority/<id>`). The strings in
//! [`SECRETS`] occur only inside them.

use crate::ledger::migrated;
use imi_domain::actor::Actor;
use imi_domain::authority::testing::InMemoryDirectory;
use imi_domain::authority::{
    authority_key_id, user_key_id, Authority, AuthorityCommand, AuthorityData, AuthorityEvent,
    AuthorityKind, ContactDetails, Keyword, KeywordList, LegislativeArea, NewUser, Region,
    UserRole, Workflow, WorkflowRole, WorkflowSetup,
};
use imi_domain::command::Issued;
use imi_domain::reference::{Language, MemberState};
use imi_domain::sealed::Sealed;
use imi_store::commands::{AggregateConfig, CommandBus};
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};

/// SHA-256 of "test": the registration code's digest.
pub const CODE: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Clear personal data of the scene: none may appear in a projection.
pub const SECRETS: [&str; 8] = [
    "Erika",
    "Mustermann",
    "erika.mustermann@bva.example.de",
    "Jean Dupont",
    "Maximilian Huber",
    "max.huber@blaek.example.de",
    "Dr. Anna Schmid",
    "invite-blaek@",
];

pub struct Scene {
    pub pool: PgPool,
    pub keys: KeyRing,
}

pub fn area(code: &str) -> LegislativeArea {
    LegislativeArea::parse(code).unwrap()
}
pub fn lang(code: &str) -> Language {
    Language::parse(code).unwrap()
}
pub fn user(user_id: &str, authority_id: &str) -> Actor {
    Actor::User {
        user_id: user_id.into(),
        authority_id: authority_id.into(),
    }
}
fn titles(pairs: &[(&str, &str)]) -> BTreeMap<Language, String> {
    pairs
        .iter()
        .map(|(l, t)| (lang(l), t.to_string()))
        .collect()
}
fn setup(role: WorkflowRole, linked: &[&str]) -> WorkflowSetup {
    WorkflowSetup {
        role,
        linked_coordinators: linked.iter().map(|s| s.to_string()).collect(),
    }
}
fn grants(
    area_code: &str,
    entries: &[(Workflow, WorkflowRole, &[&str])],
) -> BTreeMap<LegislativeArea, BTreeMap<Workflow, WorkflowSetup>> {
    BTreeMap::from([(
        area(area_code),
        entries
            .iter()
            .map(|(w, r, linked)| (*w, setup(*r, linked)))
            .collect(),
    )])
}
pub fn health() -> Keyword {
    Keyword {
        list: KeywordList::PolicyAreas,
        code: "HEALTH".into(),
    }
}
pub fn q86() -> Keyword {
    Keyword {
        list: KeywordList::EconomicActivities,
        code: "Q86".into(),
    }
}

/// The reference data and the other authorities, as the log has them now.
async fn directory(pool: &PgPool) -> InMemoryDirectory {
    let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT aggregate_id, payload FROM events WHERE aggregate_type = 'Authority'
          ORDER BY aggregate_id, sequence",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut histories: BTreeMap<String, Vec<AuthorityEvent>> = BTreeMap::new();
    for (id, payload) in rows {
        histories
            .entry(id)
            .or_default()
            .push(serde_json::from_value(payload).unwrap());
    }
    let mut dir = InMemoryDirectory::new()
        .with_area("PQ", &[Workflow::Requests, Workflow::Alerts])
        .with_area("SD", &[Workflow::Requests, Workflow::Alerts])
        .with_keyword(health())
        .with_keyword(q86())
        .with_profession("PQ", "doctor")
        .with_profession("PQ", "dentist")
        .with_service_activity("SD", "construction");
    for (id, events) in histories {
        dir = dir.with_history(&id, events);
    }
    dir
}

impl Scene {
    pub async fn new() -> Self {
        let pool = migrated().await;
        let keys = KeyRing::new(pool.clone(), MasterKey::generate());
        Scene { pool, keys }
    }

    /// Runs one command; panics with the refusal if the aggregate refuses it.
    pub async fn exec(&self, id: &str, by: Actor, command: AuthorityCommand) {
        let name = command.name();
        let bus: CommandBus<Authority<InMemoryDirectory>> = CommandBus::new(
            self.pool.clone(),
            AggregateConfig::default(),
            vec![],
            directory(&self.pool).await,
            Wake::local_only(),
        );
        let metadata = CommandMetadata::for_actor(&by);
        if let Err(e) = bus.execute(id, Issued::new(by, command), metadata).await {
            panic!("{name} on {id} failed: {e:?}");
        }
    }

    pub async fn identity(&self, user_id: &str, name: &str, email: &str) -> NewUser {
        NewUser {
            user_id: user_id.into(),
            identity: self
                .keys
                .seal(
                    &user_key_id(user_id),
                    &serde_json::json!({"name": name, "email": email, "login": user_id}),
                )
                .await
                .unwrap(),
        }
    }

    async fn sealed_for_authority(&self, id: &str, value: serde_json::Value) -> Sealed {
        self.keys.seal(&authority_key_id(id), &value).await.unwrap()
    }

    /// The German national coordinator, its areas and its first user.
    pub async fn german_nimic(&self) {
        let system = Actor::system("test");
        let first = self
            .identity(
                "de-lda",
                "Erika Mustermann",
                "erika.mustermann@bva.example.de",
            )
            .await;
        self.exec(
            "nimic-de",
            system,
            AuthorityCommand::RegisterNationalCoordinator {
                member_state: MemberState::parse("DE").unwrap(),
                official_name: "Bundesverwaltungsamt".into(),
                informal_titles: titles(&[
                    ("de", "Nationaler IMI-Koordinator"),
                    ("en", "German IMI coordinator"),
                ]),
                first_user: first,
            },
        )
        .await;
        let lda = user("de-lda", "nimic-de");
        for a in ["PQ", "SD"] {
            self.exec(
                "nimic-de",
                lda.clone(),
                AuthorityCommand::GrantUserRoles {
                    user_id: "de-lda".into(),
                    area: area(a),
                    roles: BTreeSet::from([UserRole::DataAdministrator]),
                },
            )
            .await;
        }
        self.exec(
            "nimic-de",
            lda.clone(),
            AuthorityCommand::GrantAreaAccess {
                area: area("PQ"),
                workflows: grants(
                    "PQ",
                    &[
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
                    ],
                )
                .remove(&area("PQ"))
                .unwrap(),
            },
        )
        .await;
        self.exec(
            "nimic-de",
            lda,
            AuthorityCommand::GrantAreaAccess {
                area: area("SD"),
                workflows: grants(
                    "SD",
                    &[(
                        Workflow::Requests,
                        WorkflowRole::RequestCoordinator,
                        &["nimic-de"],
                    )],
                )
                .remove(&area("SD"))
                .unwrap(),
            },
        )
        .await;
    }

    /// The PQ area coordinator, registered directly by the NIMIC.
    pub async fn limic(&self) {
        let first = self
            .identity("zab-lda", "Jean Dupont", "jd@zab.example.de")
            .await;
        self.exec(
            "zab",
            user("de-lda", "nimic-de"),
            AuthorityCommand::RegisterAuthority {
                authority_id: "zab".into(),
                kind: AuthorityKind::LegislativeAreaCoordinator,
                region: None,
                coordinated_areas: BTreeSet::from([area("PQ")]),
                access: grants(
                    "PQ",
                    &[
                        (
                            Workflow::Requests,
                            WorkflowRole::RequestCoordinator,
                            &["zab"],
                        ),
                        (Workflow::Alerts, WorkflowRole::AlertCoordinator, &["zab"]),
                    ],
                ),
                data: AuthorityData {
                    official_name: "Zentralstelle für ausländisches Bildungswesen".into(),
                    informal_titles: titles(&[("de", "ZAB"), ("en", "Central Office")]),
                    description: Some("Recognition of foreign qualifications".into()),
                    contact: ContactDetails {
                        city: Some("Bonn".into()),
                        email: Some("zab@kmk.example.de".into()),
                        ..Default::default()
                    },
                    contact_person: None,
                },
                first_user: first,
            },
        )
        .await;
        self.exec(
            "zab",
            user("zab-lda", "zab"),
            AuthorityCommand::GrantUserRoles {
                user_id: "zab-lda".into(),
                area: area("PQ"),
                roles: BTreeSet::from([UserRole::DataAdministrator]),
            },
        )
        .await;
    }

    /// `zab` invites `id`, a CA in Bavaria with PQ requests linked to itself.
    pub async fn invite(&self, id: &str) {
        let email = self
            .sealed_for_authority(id, serde_json::json!(format!("invite-{id}@example.de")))
            .await;
        self.exec(
            id,
            user("zab-lda", "zab"),
            AuthorityCommand::InviteAuthority {
                authority_id: id.into(),
                kind: AuthorityKind::CompetentAuthority,
                region: Some(Region::parse("DE-BY").unwrap()),
                coordinated_areas: BTreeSet::new(),
                access: grants(
                    "PQ",
                    &[(Workflow::Requests, WorkflowRole::RequestAuthority, &["zab"])],
                ),
                code_digest: CODE.into(),
                contact_email: email,
            },
        )
        .await;
    }

    /// `blaek` registers itself with the invitation's code (awaiting validation after this).
    pub async fn blaek_registers(&self) {
        let first = self
            .identity(
                "blaek-lda",
                "Maximilian Huber",
                "max.huber@blaek.example.de",
            )
            .await;
        let person = self
            .sealed_for_authority("blaek", serde_json::json!({"name": "Dr. Anna Schmid"}))
            .await;
        self.exec(
            "blaek",
            user("blaek-lda", "blaek"),
            AuthorityCommand::RegisterWithInvitation {
                code_digest: CODE.into(),
                data: AuthorityData {
                    official_name: "Bayerische Landesärztekammer".into(),
                    informal_titles: titles(&[
                        ("de", "Ärztekammer Bayern"),
                        ("fr", "Chambre des médecins de Bavière"),
                        ("en", "Bavarian Medical Association"),
                    ]),
                    description: Some("Registration of physicians in Bavaria".into()),
                    contact: ContactDetails {
                        city: Some("München".into()),
                        email: Some("info@blaek.example.de".into()),
                        ..Default::default()
                    },
                    contact_person: Some(person),
                },
                first_user: first,
            },
        )
        .await;
    }

    /// Everything after `blaek`'s validation: users, roles, data, links, resets.
    pub async fn blaek_works(&self) {
        let zab = user("zab-lda", "zab");
        let lda = user("blaek-lda", "blaek");
        self.exec("blaek", zab.clone(), AuthorityCommand::ValidateAuthority)
            .await;
        let handler = self
            .identity("blaek-handler", "Jean Dupont", "handler@blaek.example.de")
            .await;
        self.exec(
            "blaek",
            lda.clone(),
            AuthorityCommand::RegisterUser {
                user: handler,
                local_data_administrator: false,
            },
        )
        .await;
        let commands = [
            (
                lda.clone(),
                AuthorityCommand::GrantUserRoles {
                    user_id: "blaek-handler".into(),
                    area: area("PQ"),
                    roles: BTreeSet::from([UserRole::RequestHandler, UserRole::Allocator]),
                },
            ),
            (
                lda.clone(),
                AuthorityCommand::SetCompetences {
                    area: area("PQ"),
                    keywords: BTreeSet::from([health(), q86()]),
                },
            ),
            (
                zab.clone(),
                AuthorityCommand::SetProfessions {
                    area: area("PQ"),
                    professions: BTreeSet::from(["doctor".to_string(), "dentist".into()]),
                },
            ),
            (
                zab.clone(),
                AuthorityCommand::LinkCoordinator {
                    area: area("PQ"),
                    workflow: Workflow::Requests,
                    coordinator_id: "nimic-de".into(),
                },
            ),
            (
                zab.clone(),
                AuthorityCommand::UnlinkCoordinator {
                    area: area("PQ"),
                    workflow: Workflow::Requests,
                    coordinator_id: "zab".into(),
                },
            ),
            (
                zab.clone(),
                AuthorityCommand::SetFlag {
                    area: area("PQ"),
                    workflow: Workflow::Requests,
                    flag: imi_domain::authority::Flag::ApprovalOfNewRequests,
                    enabled: true,
                },
            ),
            (
                lda.clone(),
                AuthorityCommand::SetInformalTitle {
                    language: lang("pl"),
                    title: Some("Bawarska Izba Lekarska".into()),
                },
            ),
            (
                lda.clone(),
                AuthorityCommand::ResetPassword {
                    user_id: "blaek-handler".into(),
                },
            ),
            (
                lda.clone(),
                AuthorityCommand::ResetPassword {
                    user_id: "blaek-handler".into(),
                },
            ),
            (
                zab.clone(),
                AuthorityCommand::ResetPassword {
                    user_id: "blaek-lda".into(),
                },
            ),
            (
                lda.clone(),
                AuthorityCommand::RevokeUserRoles {
                    user_id: "blaek-handler".into(),
                    area: area("PQ"),
                    roles: BTreeSet::from([UserRole::Allocator]),
                },
            ),
            (
                lda.clone(),
                AuthorityCommand::DeactivateUser {
                    user_id: "blaek-handler".into(),
                },
            ),
        ];
        for (by, command) in commands {
            self.exec("blaek", by, command).await;
        }
    }

    /// A CA for services, registered directly by the NIMIC.
    pub async fn gewerbeamt(&self) {
        let first = self
            .identity(
                "gew-lda",
                "Erika Mustermann",
                "erika.mustermann@bva.example.de",
            )
            .await;
        let nimic = user("de-lda", "nimic-de");
        self.exec(
            "gewerbeamt",
            nimic.clone(),
            AuthorityCommand::RegisterAuthority {
                authority_id: "gewerbeamt".into(),
                kind: AuthorityKind::CompetentAuthority,
                region: Some(Region::parse("DE-BY").unwrap()),
                coordinated_areas: BTreeSet::new(),
                access: grants(
                    "SD",
                    &[(
                        Workflow::Requests,
                        WorkflowRole::RequestAuthority,
                        &["nimic-de"],
                    )],
                ),
                data: AuthorityData {
                    official_name: "Kreisverwaltungsreferat München – Gewerbeamt".into(),
                    informal_titles: titles(&[("en", "Munich trade office")]),
                    ..Default::default()
                },
                first_user: first,
            },
        )
        .await;
        self.exec(
            "gewerbeamt",
            nimic.clone(),
            AuthorityCommand::SetServiceActivities {
                area: area("SD"),
                service_activities: BTreeSet::from(["construction".to_string()]),
            },
        )
        .await;
        self.exec(
            "gewerbeamt",
            nimic,
            AuthorityCommand::SetOfficialName {
                official_name: "Kreisverwaltungsreferat der Landeshauptstadt München".into(),
            },
        )
        .await;
    }

    pub async fn french_nimic(&self) {
        let first = self
            .identity("fr-lda", "Jean Dupont", "jean.dupont@sgae.example.fr")
            .await;
        self.exec(
            "nimic-fr",
            Actor::system("test"),
            AuthorityCommand::RegisterNationalCoordinator {
                member_state: MemberState::parse("FR").unwrap(),
                official_name: "Secrétariat général des affaires européennes".into(),
                informal_titles: titles(&[
                    ("fr", "Coordinateur national IMI"),
                    ("en", "French IMI coordinator"),
                ]),
                first_user: first,
            },
        )
        .await;
    }

    /// The whole scene.
    pub async fn full() -> Self {
        let scene = Scene::new().await;
        scene.german_nimic().await;
        scene.limic().await;
        scene.invite("blaek").await;
        scene.invite("pending").await;
        scene.blaek_registers().await;
        scene.blaek_works().await;
        scene.gewerbeamt().await;
        scene.french_nimic().await;
        scene
    }
}

/// Every row of `schema.table` as text, sorted: equal dumps mean equal tables.
pub async fn dump(pool: &PgPool, schema: &str, table: &str) -> Vec<String> {
    sqlx::query_scalar(&format!(
        "SELECT t::text FROM {schema}.{table} t ORDER BY 1"
    ))
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The definitions of the indexes of a projection's schema, sorted: a rebuilt schema must have
/// every index a new one has, those it creates after its load included.
pub async fn indexes(pool: &PgPool, schema: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1")
        .bind(schema)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Every row of every table of a projection's live schema.
pub async fn dump_schema(pool: &PgPool, schema: &str) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1
          ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out = BTreeMap::new();
    for t in tables {
        let rows = dump(pool, schema, &t).await;
        out.insert(t, rows);
    }
    out
}
