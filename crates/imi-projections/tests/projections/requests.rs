//! The request read models: monitoring, full (sealed), what awaits whom, the allocators'
//! report; built incrementally and rebuilt alike; no personal data outside sealed values.
//!
//! The scene (PQ): `de-ca` (DE) asks `fr-ca` (FR, with allocation) about a professional;
//! `de-ca` is linked to the request coordinator `de-rc` and has `de-linked` linked to it;
//! `fr-ca` is linked to `fr-rc`. Authorities are given to the aggregate in memory: these
//! read models read only the requests' events.

use crate::directory::{assert_rebuild_equals_incremental, build};
use crate::ledger::migrated;
use chrono::NaiveDate;
use imi_domain::actor::Actor;
use imi_domain::authority::testing::InMemoryDirectory;
use imi_domain::authority::{
    AreaAccess, AuthorityKind, AuthorityStatus, AuthoritySummary, Flag, LegislativeArea, UserRole,
    UserSummary, Workflow, WorkflowAccess, WorkflowRole,
};
use imi_domain::command::Issued;
use imi_domain::reference::MemberState;
use imi_domain::request::testing::InMemoryRequestServices;
use imi_domain::request::{
    request_key_id, InformationRequest, RequestCommand, RequestContent, RequestStatus,
};
use imi_projections::allocator_report::{self, AllocatorReport};
use imi_projections::request_full::{self, RequestFull};
use imi_projections::request_inbox::{self, RequestInbox};
use imi_projections::request_monitoring::{self, RequestFilter, RequestMonitoring};
use imi_projections::Projection;
use imi_store::commands::{AggregateConfig, CommandBus};
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};

const SUBJECT: &str = "Dr. Jeanne Martin-Secret";
const ANSWER: &str = "registered under number 4711-secret";

pub(crate) fn pq() -> LegislativeArea {
    LegislativeArea::parse("PQ").unwrap()
}

fn authority(
    id: &str,
    ms: &str,
    role: WorkflowRole,
    linked: &str,
    flags: &[Flag],
    users: &[(&str, UserRole)],
) -> AuthoritySummary {
    AuthoritySummary {
        authority_id: id.into(),
        member_state: MemberState::parse(ms).unwrap(),
        kind: if role == WorkflowRole::RequestCoordinator {
            AuthorityKind::DelegatedCoordinator
        } else {
            AuthorityKind::CompetentAuthority
        },
        region: None,
        coordinated_areas: BTreeSet::from([pq()]),
        status: AuthorityStatus::Validated,
        invited_by: None,
        validating_coordinator: None,
        areas: BTreeMap::from([(
            pq(),
            AreaAccess {
                access_coordinator: linked.into(),
                workflows: BTreeMap::from([(
                    Workflow::Requests,
                    WorkflowAccess {
                        role,
                        linked_coordinators: BTreeSet::from([linked.to_string()]),
                        flags: flags.iter().copied().collect(),
                    },
                )]),
                competences: BTreeSet::new(),
                professions: BTreeSet::new(),
                service_activities: BTreeSet::new(),
            },
        )]),
        linked_authorities: BTreeSet::new(),
        users: users
            .iter()
            .map(|(u, r)| {
                (
                    u.to_string(),
                    UserSummary {
                        local_data_administrator: false,
                        active: true,
                        roles: BTreeMap::from([(pq(), BTreeSet::from([*r]))]),
                    },
                )
            })
            .collect(),
    }
}

pub(crate) fn services() -> InMemoryRequestServices {
    use WorkflowRole::*;
    let mut de = authority(
        "de-ca",
        "DE",
        RequestAuthority,
        "de-rc",
        &[],
        &[("de-handler", UserRole::RequestHandler)],
    );
    de.linked_authorities = BTreeSet::from(["de-linked".to_string()]);
    let directory = InMemoryDirectory::new()
        .with_area("PQ", &[Workflow::Requests, Workflow::Alerts])
        .with_authority(de)
        .with_authority(authority(
            "fr-ca",
            "FR",
            RequestAuthority,
            "fr-rc",
            &[Flag::Allocation],
            &[
                ("fr-handler", UserRole::RequestHandler),
                ("fr-allocator", UserRole::Allocator),
            ],
        ))
        .with_authority(authority(
            "de-rc",
            "DE",
            RequestCoordinator,
            "de-rc",
            &[],
            &[],
        ))
        .with_authority(authority(
            "fr-rc",
            "FR",
            RequestCoordinator,
            "fr-rc",
            &[],
            &[],
        ));
    InMemoryRequestServices::new(directory).with_question_set(
        "PQ-GEN",
        "PQ",
        &["PQ-GEN-01", "PQ-GEN-02"],
    )
}

struct Scene {
    pool: PgPool,
    keys: KeyRing,
    bus: CommandBus<InformationRequest<InMemoryRequestServices>>,
}

impl Scene {
    async fn new() -> Self {
        let pool = migrated().await;
        Scene {
            keys: KeyRing::new(pool.clone(), MasterKey::generate()),
            bus: CommandBus::new(
                pool.clone(),
                AggregateConfig::default(),
                vec![],
                services(),
                Wake::local_only(),
            ),
            pool,
        }
    }
    async fn run(&self, by: (&str, &str), command: RequestCommand) {
        let actor = Actor::User {
            user_id: by.0.into(),
            authority_id: by.1.into(),
        };
        let metadata = CommandMetadata::for_actor(&actor);
        self.bus
            .execute("r-1", Issued::new(actor, command), metadata)
            .await
            .unwrap();
    }
    async fn seal(&self, text: &str) -> imi_domain::sealed::Sealed {
        self.keys.seal(&request_key_id("r-1"), text).await.unwrap()
    }
    async fn build_all(&self) {
        for p in projections() {
            build(&self.pool, p.as_ref()).await;
        }
    }
}

fn projections() -> Vec<Box<dyn Projection>> {
    vec![
        Box::new(RequestMonitoring),
        Box::new(RequestFull),
        Box::new(RequestInbox),
        Box::new(AllocatorReport),
    ]
}

const DE: (&str, &str) = ("de-handler", "de-ca");
const FR: (&str, &str) = ("fr-handler", "fr-ca");

async fn drafted_and_sent(scene: &Scene) {
    let content = RequestContent {
        question_set: "PQ-GEN".into(),
        questions: BTreeSet::from(["PQ-GEN-01".to_string(), "PQ-GEN-02".to_string()]),
        free_text: Some(scene.seal("please check the register").await),
        subject: scene.seal(SUBJECT).await,
        attachments: vec![],
        proposed_answer_date: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        responding_authority: "fr-ca".into(),
        request_coordinator: None,
    };
    scene
        .run(
            DE,
            RequestCommand::Draft {
                request_id: "r-1".into(),
                area: pq(),
                content,
            },
        )
        .await;
    scene.run(DE, RequestCommand::Send).await;
}

async fn answered_and_closed(scene: &Scene) {
    scene
        .run(
            ("fr-allocator", "fr-ca"),
            RequestCommand::Assign {
                handlers: BTreeSet::from(["fr-handler".to_string()]),
            },
        )
        .await;
    scene
        .run(
            FR,
            RequestCommand::Accept {
                request_coordinator: None,
            },
        )
        .await;
    let first = BTreeMap::from([("PQ-GEN-01".to_string(), scene.seal(ANSWER).await)]);
    scene
        .run(
            FR,
            RequestCommand::ReplyPartially {
                answers: first,
                attachments: vec![],
            },
        )
        .await;
    let second = BTreeMap::from([("PQ-GEN-02".to_string(), scene.seal("authentic").await)]);
    scene
        .run(
            FR,
            RequestCommand::Reply {
                answers: second,
                attachments: vec![],
            },
        )
        .await;
    scene.run(DE, RequestCommand::Close).await;
}

/// No clear personal data in any row of the projection's live tables.
async fn assert_no_clear_personal_data(pool: &PgPool, schema: &str) {
    let dump = crate::scene::dump_schema(pool, schema).await;
    let text = format!("{dump:?}");
    for secret in [SUBJECT, ANSWER, "please check the register"] {
        assert!(!text.contains(secret), "{schema} holds {secret:?}");
    }
}

#[tokio::test]
async fn what_awaits_whom_follows_the_request() {
    let scene = Scene::new().await;
    drafted_and_sent(&scene).await;
    scene.build_all().await;
    let awaiting = |authority: &'static str, user: Option<&'static str>| {
        let pool = scene.pool.clone();
        async move {
            request_inbox::of_authority(&pool, authority, user, None, i64::MAX)
                .await
                .unwrap()
                .into_iter()
                .map(|i| (i.request_id, i.action, i.users))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        awaiting("fr-ca", None).await,
        [("r-1".to_string(), "accept".to_string(), vec![])]
    );
    assert!(awaiting("de-ca", None).await.is_empty());

    scene
        .run(
            ("fr-allocator", "fr-ca"),
            RequestCommand::Assign {
                handlers: BTreeSet::from(["fr-handler".to_string()]),
            },
        )
        .await;
    scene.build_all().await;
    assert_eq!(
        awaiting("fr-ca", Some("fr-handler")).await,
        [(
            "r-1".to_string(),
            "accept".to_string(),
            vec!["fr-handler".to_string()]
        )]
    );
    assert!(awaiting("fr-ca", Some("someone-else")).await.is_empty());
}

#[tokio::test]
async fn each_read_model_holds_its_part_and_no_clear_personal_data() {
    let scene = Scene::new().await;
    drafted_and_sent(&scene).await;
    answered_and_closed(&scene).await;
    scene.build_all().await;
    let pool = &scene.pool;

    let row = request_monitoring::get(pool, "r-1").await.unwrap().unwrap();
    assert_eq!(row.status, "Closed");
    assert_eq!(row.summary.status, RequestStatus::Closed);
    assert_eq!(
        (
            row.requesting_member_state.as_str(),
            row.responding_member_state.as_str()
        ),
        ("DE", "FR")
    );
    assert_eq!(
        row.watchers,
        ["de-ca", "de-linked", "de-rc", "fr-ca", "fr-rc"]
    );
    // The list's key holds one row per watcher, the same ones.
    let watched: Vec<String> = sqlx::query_scalar(
        "SELECT watcher FROM request_monitoring.watched WHERE request_id = 'r-1' ORDER BY watcher",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(watched, row.watchers);
    assert!(row.sent_at.is_some() && row.accepted_at.is_some() && row.closed_at.is_some());
    assert_eq!(row.acceptance_due_at, None, "no deadline once accepted");
    let visible = |watcher: &str| RequestFilter {
        watcher: watcher.into(),
        limit: 10,
        ..RequestFilter::default()
    };
    for watcher in ["de-ca", "fr-rc", "de-linked"] {
        let listed = request_monitoring::list(pool, &visible(watcher))
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{watcher}");
    }
    assert!(request_monitoring::list(pool, &visible("it-ca"))
        .await
        .unwrap()
        .is_empty());
    let filtered = RequestFilter {
        status: Some("Sent".into()),
        ..visible("de-ca")
    };
    assert!(request_monitoring::list(pool, &filtered)
        .await
        .unwrap()
        .is_empty());
    let filtered = RequestFilter {
        member_state: Some("FR".into()),
        area: Some("PQ".into()),
        authority: Some("fr-ca".into()),
        ..visible("de-ca")
    };
    assert_eq!(
        request_monitoring::list(pool, &filtered)
            .await
            .unwrap()
            .len(),
        1
    );

    let full = request_full::get(pool, "r-1").await.unwrap().unwrap();
    assert_eq!(full.details.answers.len(), 2);
    assert_eq!(full.details.draft.subject.key_id, request_key_id("r-1"));
    let opened: String = scene
        .keys
        .open(&full.details.draft.subject)
        .await
        .unwrap()
        .into_option()
        .unwrap();
    assert_eq!(opened, SUBJECT);
    let steps = request_full::steps(pool, "r-1").await.unwrap();
    let types: Vec<&str> = steps.iter().map(|s| s.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "RequestDrafted",
            "RequestSent",
            "RequestAssigned",
            "RequestAccepted",
            "PartialReplySent",
            "FullReplySent",
            "RequestClosed"
        ]
    );
    assert_eq!(steps[3].by_user.as_deref(), Some("user:fr-handler"));
    assert_eq!(steps[3].by_authority.as_deref(), Some("fr-ca"));
    // Both in one statement: the same row and steps, in the same order.
    assert_eq!(
        request_full::get_with_steps(pool, "r-1").await.unwrap(),
        Some((full, steps))
    );
    assert_eq!(
        request_full::get_with_steps(pool, "no-such-request")
            .await
            .unwrap(),
        None
    );

    let report = allocator_report::of_authority(pool, "fr-ca").await.unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].side, "responding");
    assert_eq!(report[0].handlers, ["fr-handler"]);
    assert_eq!((report[0].questions, report[0].answered), (2, 2));
    assert_eq!(
        allocator_report::of_authority(pool, "de-ca")
            .await
            .unwrap()
            .len(),
        1
    );

    assert!(
        request_inbox::of_authority(pool, "de-ca", None, None, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );

    for schema in [
        "request_monitoring",
        "request_full",
        "request_inbox",
        "allocator_report",
    ] {
        assert_no_clear_personal_data(pool, schema).await;
    }
    // The monitoring view and the report hold no sealed value at all.
    for schema in ["request_monitoring", "request_inbox", "allocator_report"] {
        for (table, rows) in crate::scene::dump_schema(pool, schema).await {
            if table == "request_states" {
                continue;
            }
            let text = rows.join("\n");
            assert!(
                !text.contains("A256GCM"),
                "{schema}.{table} holds a sealed value"
            );
        }
    }
}

#[tokio::test]
async fn rebuilt_request_read_models_equal_the_incrementally_built_ones() {
    let scene = Scene::new().await;
    drafted_and_sent(&scene).await;
    answered_and_closed(&scene).await;
    for p in projections() {
        assert_rebuild_equals_incremental(&scene.pool, p.as_ref()).await;
    }
}

#[tokio::test]
async fn a_diff_passes_over_a_state_the_live_slot_does_not_keep_and_names_a_wrong_one() {
    let scene = Scene::new().await;
    drafted_and_sent(&scene).await;
    let pool = &scene.pool;
    build(pool, &RequestInbox).await;
    let change = |sql: &'static str| async move { sqlx::query(sql).execute(pool).await.unwrap() };
    let diff = || async {
        let wait = std::time::Duration::from_secs(30);
        imi_projections::diff::diff(pool, &RequestInbox, wait)
            .await
            .unwrap()
    };
    // A member of a lane after the first keeps the requests' sequences, not their states.
    change("DELETE FROM request_inbox.request_states").await;
    let clean = diff().await;
    assert!(clean.is_clean(), "{clean:?}");

    // A state it keeps must be the fold's (rebuilt alone, it keeps them all again).
    imi_projections::rebuild::rebuild(pool, &RequestInbox, |_| {})
        .await
        .unwrap();
    change(
        "UPDATE request_inbox.request_states SET state = jsonb_set(state, '{request,area}', '\"SD\"')",
    )
    .await;
    let found = diff().await;
    let tables: Vec<&str> = found.differences.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(tables, ["request_states"], "{found:?}");
    assert_eq!(found.differences[0].live_only.len(), 1);
}
