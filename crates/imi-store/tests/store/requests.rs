//! The InformationRequest aggregate through its bus with the store's lookup and question sets;
//! attachments sealed per exchange and erased with it.

use crate::scene::{area, coordinated_germany, data, grants, user, Scene};
use imi_domain::actor::Actor;
use imi_domain::authority::{AuthorityCommand, AuthorityKind, UserRole, Workflow, WorkflowRole};
use imi_domain::command::Issued;
use imi_domain::error::DomainError;
use imi_domain::request::{
    request_key_id, Attachment, QuestionSets, RequestCommand, RequestContent,
};
use imi_store::attachments::{self, AttachmentError};
use imi_store::commands::{AggregateConfig, CommandError};
use imi_store::metadata::CommandMetadata;
use imi_store::request_bus::{request_bus_with, RequestBus, SharedRequestServices};
use imi_store::sealing::Opened;
use imi_store::wake::Wake;
use std::collections::BTreeSet;

/// France: its national coordinator (PQ request coordinator) and `fr-ca`, a competent
/// authority for PQ requests linked to it, with the request handler `fr-handler`.
async fn france(scene: &Scene) -> Actor {
    let (nimic, fr) = scene.nimic("FR").await;
    scene
        .ok(
            &nimic,
            &fr,
            AuthorityCommand::GrantUserRoles {
                user_id: "fr-lda".into(),
                area: area("PQ"),
                roles: BTreeSet::from([UserRole::DataAdministrator]),
            },
        )
        .await;
    scene
        .ok(
            &nimic,
            &fr,
            AuthorityCommand::GrantAreaAccess {
                area: area("PQ"),
                workflows: crate::scene::workflows(&[(
                    Workflow::Requests,
                    WorkflowRole::RequestCoordinator,
                    &["nimic-fr"],
                )]),
            },
        )
        .await;
    let first_user = scene.new_user("fr-ca-lda").await;
    scene
        .ok(
            "fr-ca",
            &fr,
            AuthorityCommand::RegisterAuthority {
                authority_id: "fr-ca".into(),
                kind: AuthorityKind::CompetentAuthority,
                region: None,
                coordinated_areas: BTreeSet::new(),
                access: grants(
                    "PQ",
                    &[(
                        Workflow::Requests,
                        WorkflowRole::RequestAuthority,
                        &["nimic-fr"],
                    )],
                ),
                data: data("Ordre des médecins"),
                first_user,
            },
        )
        .await;
    let lda = user("fr-ca-lda", "fr-ca");
    let handler = scene.new_user("fr-handler").await;
    scene
        .ok(
            "fr-ca",
            &lda,
            AuthorityCommand::RegisterUser {
                user: handler,
                local_data_administrator: false,
            },
        )
        .await;
    scene
        .ok(
            "fr-ca",
            &lda,
            AuthorityCommand::GrantUserRoles {
                user_id: "fr-handler".into(),
                area: area("PQ"),
                roles: BTreeSet::from([UserRole::RequestHandler]),
            },
        )
        .await;
    user("fr-handler", "fr-ca")
}

fn bus(scene: &Scene) -> RequestBus {
    request_bus_with(
        scene.pool.clone(),
        AggregateConfig::default(),
        SharedRequestServices::new(scene.lookup()),
        Wake::local_only(),
    )
}

async fn run(
    bus: &RequestBus,
    by: &Actor,
    command: RequestCommand,
) -> Result<(), CommandError<DomainError>> {
    bus.execute(
        "r-1",
        Issued::new(by.clone(), command),
        CommandMetadata::for_actor(by),
    )
    .await
    .map(|_| ())
}

#[tokio::test]
async fn a_request_runs_from_draft_to_closure_on_what_the_store_holds() {
    let scene = Scene::new(AggregateConfig::default()).await;
    coordinated_germany(&scene).await;
    let fr_handler = france(&scene).await;
    let bus = bus(&scene);
    let de_handler = user("ca-handler", "ca-1");
    let key = request_key_id("r-1");
    let sealed = |v: &'static str| {
        let keys = scene.keys.clone();
        let key = key.clone();
        async move { keys.seal(&key, &v).await.unwrap() }
    };
    let stored = attachments::put(
        &scene.pool,
        &scene.keys,
        &key,
        "application/pdf",
        b"%PDF-1.7 diploma",
    )
    .await
    .unwrap();
    let subject = sealed("Dr. Anna Beispiel, born 1980-02-03").await;
    let content = |question_set: &str, questions: &[&str]| RequestContent {
        question_set: question_set.into(),
        questions: questions.iter().map(|q| q.to_string()).collect(),
        free_text: None,
        subject: subject.clone(),
        attachments: vec![],
        proposed_answer_date: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        responding_authority: "fr-ca".into(),
        // `ca-1` is linked to `nimic-de` and `limic-pq`: it picks one.
        request_coordinator: Some("limic-pq".into()),
    };

    // A set of another area, read from the reference tables, is refused.
    let refused = run(
        &bus,
        &de_handler,
        RequestCommand::Draft {
            request_id: "r-1".into(),
            area: area("PQ"),
            content: content("SD-GEN", &["SD-GEN-01"]),
        },
    )
    .await;
    assert!(
        matches!(&refused, Err(CommandError::Domain(DomainError::Invalid(m))) if m == "the question set SD-GEN belongs to SD, not PQ"),
        "{refused:?}"
    );

    let mut draft = content("PQ-GEN", &["PQ-GEN-01", "PQ-GEN-02"]);
    draft.attachments = vec![Attachment {
        sha256: stored.sha256.clone(),
        size: stored.size,
        media_type: stored.media_type.clone(),
        name: sealed("diploma.pdf").await,
    }];
    run(
        &bus,
        &de_handler,
        RequestCommand::Draft {
            request_id: "r-1".into(),
            area: area("PQ"),
            content: draft,
        },
    )
    .await
    .unwrap();
    run(&bus, &de_handler, RequestCommand::Send).await.unwrap();
    run(
        &bus,
        &fr_handler,
        RequestCommand::Accept {
            request_coordinator: None,
        },
    )
    .await
    .unwrap();
    let answers = [
        ("PQ-GEN-01".to_string(), sealed("yes, since 2008").await),
        ("PQ-GEN-02".to_string(), sealed("authentic").await),
    ]
    .into();
    run(
        &bus,
        &fr_handler,
        RequestCommand::Reply {
            answers,
            attachments: vec![],
        },
    )
    .await
    .unwrap();
    run(&bus, &de_handler, RequestCommand::Close).await.unwrap();

    let events: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT event_type, payload FROM events WHERE aggregate_type = 'InformationRequest'
          ORDER BY sequence",
    )
    .fetch_all(&scene.pool)
    .await
    .unwrap();
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "RequestDrafted",
            "RequestSent",
            "RequestAccepted",
            "FullReplySent",
            "RequestClosed"
        ]
    );
    let drafted = &events[0].1["RequestDrafted"];
    assert_eq!(drafted["draft"]["request_coordinator"], "limic-pq");
    assert_eq!(drafted["draft"]["responding"]["member_state"], "FR");
    assert_eq!(
        events[2].1["RequestAccepted"]["responding_coordinator"],
        "nimic-fr"
    );
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains("Beispiel") && !text.contains("diploma.pdf"));
}

#[tokio::test]
async fn question_sets_answer_as_the_reference_tables_hold() {
    let scene = Scene::new(AggregateConfig::default()).await;
    let lookup = scene.lookup();
    for set in &scene.reference.question_sets {
        let found = lookup.question_set(&set.id).await.unwrap().unwrap();
        assert_eq!(found.area.code(), set.area);
        let expected: BTreeSet<String> = set.questions.iter().map(|q| q.id.clone()).collect();
        assert_eq!(found.questions, expected);
    }
    let pq = lookup.question_set("PQ-GEN").await.unwrap().unwrap();
    assert_eq!(pq.questions.len(), 10);
    assert_eq!(lookup.question_set("NOPE").await.unwrap(), None);
}

#[tokio::test]
async fn attachments_are_sealed_per_exchange_and_erased_with_it() {
    use sha2::{Digest, Sha256};
    let scene = Scene::new(AggregateConfig::default()).await;
    let (pool, keys) = (&scene.pool, &scene.keys);
    let one = request_key_id("one");
    let two = request_key_id("two");
    let content = b"certificate of good standing".as_slice();
    let stored = attachments::put(pool, keys, &one, "text/plain", content)
        .await
        .unwrap();
    assert_eq!(stored.size, content.len() as u64);
    assert_eq!(stored.sha256, hex::encode(Sha256::digest(content)));
    // Storing it again changes nothing; another exchange gets its own sealed copy.
    attachments::put(pool, keys, &one, "text/plain", content)
        .await
        .unwrap();
    attachments::put(pool, keys, &two, "text/plain", content)
        .await
        .unwrap();
    let rows: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT key_id, content FROM attachments ORDER BY key_id")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].1["key"], one.as_str());
    assert!(!rows[0].1.to_string().contains("certificate"));

    let (media_type, opened) = attachments::get(pool, keys, &one, &stored.sha256)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(media_type, "text/plain");
    assert_eq!(opened, Opened::Value(content.to_vec()));
    assert!(attachments::get(pool, keys, &one, &"0".repeat(64))
        .await
        .unwrap()
        .is_none());

    keys.erase(&one, "test", "data subject's request")
        .await
        .unwrap();
    let (_, erased) = attachments::get(pool, keys, &one, &stored.sha256)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(erased, Opened::Erased);
    let (_, kept) = attachments::get(pool, keys, &two, &stored.sha256)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept, Opened::Value(content.to_vec()));
}

#[tokio::test]
async fn attachments_outside_the_limits_are_refused() {
    let scene = Scene::new(AggregateConfig::default()).await;
    let (pool, keys) = (&scene.pool, &scene.keys);
    let key = request_key_id("one");
    let empty = attachments::put(pool, keys, &key, "text/plain", b"").await;
    assert!(matches!(empty, Err(AttachmentError::Empty)), "{empty:?}");
    let big = vec![b'x'; imi_domain::request::MAX_ATTACHMENT_BYTES as usize + 1];
    let big = attachments::put(pool, keys, &key, "text/plain", &big).await;
    assert!(matches!(big, Err(AttachmentError::TooLarge)), "{big:?}");
    let exe = attachments::put(pool, keys, &key, "application/x-msdownload", b"MZ").await;
    assert!(matches!(exe, Err(AttachmentError::MediaType(_))), "{exe:?}");
}
