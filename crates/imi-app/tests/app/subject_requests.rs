//! Data subjects' requests through the application layer, each kind carried out on a
//! dispatched request, and what the views show after. The scene: national coordinators
//! `nimic-de` and `nimic-fr` (PQ request coordinators); `de-ca` requests (its local data
//! administrator `de-ca-lda` is also its request handler; `de-ca-basic` has no role), `fr-ca`
//! answers (`fr-ca-lda` likewise); `it-ca` took no part.

use crate::support::{english, exchange_read_models, start_with_exchanges, Scene};
use imi_app::caller::Caller;
use imi_app::dispatch::Wait;
use imi_app::requests::{ContentInput, SubjectInput};
use imi_app::subject_requests::Rectification;
use imi_app::Code;
use imi_domain::authority::{
    user_key_id, AuthorityCommand, AuthorityData, AuthorityKind, LegislativeArea, NewUser,
    UserRole, Workflow, WorkflowRole, WorkflowSetup,
};
use imi_domain::request::{RequestCommand, RequestViewLevel};
use imi_domain::subject_request::{SubjectRequestKind, SubjectRequestStatus};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

const SUBJECT: &str = "Dr. Jan Betroffener";
const ANSWER: &str = "Licensed since 2015";
const IDENTIFICATION: &str = "Jan B., passport shown";

fn pq() -> LegislativeArea {
    LegislativeArea::parse("PQ").unwrap()
}

fn everything() -> Wait {
    let names = exchange_read_models()
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    Wait::of(Some(names), &[]).unwrap()
}

async fn authority_step(scene: &Scene, by: &Caller, id: &str, command: AuthorityCommand) {
    let name = command.name();
    scene
        .app
        .execute(by, id, command, &everything())
        .await
        .unwrap_or_else(|e| panic!("{name} on {id}: {e:?}"));
}

async fn new_user(scene: &Scene, user_id: &str) -> NewUser {
    NewUser {
        user_id: user_id.into(),
        identity: scene
            .app
            .seal(&user_key_id(user_id), &json!({ "name": user_id }))
            .await
            .unwrap(),
    }
}

fn requests_of(role: WorkflowRole, linked: &str) -> BTreeMap<Workflow, WorkflowSetup> {
    BTreeMap::from([(
        Workflow::Requests,
        WorkflowSetup {
            role,
            linked_coordinators: BTreeSet::from([linked.to_string()]),
        },
    )])
}

/// The national coordinator of `ms`, PQ request coordinator; its first user is its data
/// administrator in PQ.
async fn coordinator(scene: &Scene, ms: &str) -> Caller {
    let nimic = scene.nimic(ms).await;
    let id = format!("nimic-{}", ms.to_ascii_lowercase());
    let roles = |roles: &[UserRole]| AuthorityCommand::GrantUserRoles {
        user_id: nimic.user_ids().unwrap().0.to_string(),
        area: pq(),
        roles: roles.iter().copied().collect(),
    };
    authority_step(scene, &nimic, &id, roles(&[UserRole::DataAdministrator])).await;
    let access = AuthorityCommand::GrantAreaAccess {
        area: pq(),
        workflows: requests_of(WorkflowRole::RequestCoordinator, &id),
    };
    authority_step(scene, &nimic, &id, access).await;
    nimic
}

/// A competent authority `id` linked to `coordinator` in PQ requests; its local data
/// administrator `<id>-lda` is also its request handler; `<id>-basic` has no role.
async fn competent_authority(scene: &Scene, by: &Caller, coordinator: &str, id: &str) -> Caller {
    let lda_id = format!("{id}-lda");
    let register = AuthorityCommand::RegisterAuthority {
        authority_id: id.into(),
        kind: AuthorityKind::CompetentAuthority,
        region: None,
        coordinated_areas: BTreeSet::new(),
        access: BTreeMap::from([(
            pq(),
            requests_of(WorkflowRole::RequestAuthority, coordinator),
        )]),
        data: AuthorityData {
            official_name: format!("Authority {id}"),
            contact: imi_domain::authority::ContactDetails {
                email: Some(format!("office@{id}.example.eu")),
                ..Default::default()
            },
            ..AuthorityData::default()
        },
        first_user: new_user(scene, &lda_id).await,
    };
    authority_step(scene, by, id, register).await;
    let lda = Caller::user(&lda_id, id, english());
    let grant = AuthorityCommand::GrantUserRoles {
        user_id: lda_id.clone(),
        area: pq(),
        roles: BTreeSet::from([UserRole::RequestHandler]),
    };
    authority_step(scene, &lda, id, grant).await;
    let basic = AuthorityCommand::RegisterUser {
        user: new_user(scene, &format!("{id}-basic")).await,
        local_data_administrator: false,
    };
    authority_step(scene, &lda, id, basic).await;
    lda
}

struct People {
    scene: Scene,
    de: Caller,
    de_basic: Caller,
    fr: Caller,
    it: Caller,
}

/// The scene with request `r-1` (about [`SUBJECT`]) dispatched to `fr-ca`, accepted and
/// answered.
async fn dispatched() -> People {
    dispatched_naming(&[]).await
}

/// The same, the draft naming further persons concerned (id, name).
async fn dispatched_naming(persons: &[(&str, &str)]) -> People {
    let scene = start_with_exchanges().await;
    let nimic_de = coordinator(&scene, "DE").await;
    let nimic_fr = coordinator(&scene, "FR").await;
    let nimic_it = coordinator(&scene, "IT").await;
    let de = competent_authority(&scene, &nimic_de, "nimic-de", "de-ca").await;
    let fr = competent_authority(&scene, &nimic_fr, "nimic-fr", "fr-ca").await;
    let it = competent_authority(&scene, &nimic_it, "nimic-it", "it-ca").await;
    let app = &scene.app;
    let wait = everything();
    let content = ContentInput {
        question_set: "PQ-GEN".into(),
        questions: vec!["PQ-GEN-01".into()],
        free_text: Some(format!("About {SUBJECT}")),
        subject: SubjectInput {
            name: SUBJECT.into(),
            ..SubjectInput::default()
        },
        attachments: vec![],
        proposed_answer_date: chrono::NaiveDate::from_ymd_opt(2030, 6, 1).unwrap(),
        responding_authority: "fr-ca".into(),
        request_coordinator: None,
    };
    app.draft_request(&de, Some("r-1"), "PQ", content, &wait)
        .await
        .expect("draft");
    for (person, name) in persons {
        let identity = SubjectInput {
            name: name.to_string(),
            ..SubjectInput::default()
        };
        app.name_person_concerned(&de, "r-1", person, &identity, &wait)
            .await
            .expect("a further person");
    }
    app.request_step(&de, "r-1", RequestCommand::Send, &wait)
        .await
        .expect("send");
    let accept = RequestCommand::Accept {
        request_coordinator: None,
    };
    app.request_step(&fr, "r-1", accept, &wait)
        .await
        .expect("accept");
    let answers = [("PQ-GEN-01".to_string(), ANSWER.to_string())];
    app.reply_to_request(&fr, "r-1", true, &answers, &[], &wait)
        .await
        .expect("reply");
    People {
        de_basic: Caller::user("de-ca-basic", "de-ca", english()),
        scene,
        de,
        fr,
        it,
    }
}

impl People {
    async fn record(&self, kind: SubjectRequestKind) -> String {
        let (id, outcome) = self
            .scene
            .app
            .record_subject_request(&self.de, "r-1", kind, IDENTIFICATION)
            .await
            .expect("record");
        assert!(outcome.waited);
        id
    }

    /// The request as `caller` reads it: its level and its subject's name, if shown.
    async fn view(&self, caller: &Caller) -> (RequestViewLevel, bool, Option<String>) {
        let app = &self.scene.app;
        let view = app.request(caller, "r-1").await.expect("the request");
        let content = app.request_content(&view).await.expect("its content");
        let name = content
            .as_ref()
            .and_then(|c| c.subject.as_ref())
            .and_then(|s| s["name"].as_str())
            .map(String::from);
        let erased =
            view.personal_data_erased || content.as_ref().is_some_and(|c| c.personal_data_erased);
        (view.level, erased, name)
    }

    /// Entries of `operation` on the data of `exchange` by `de-ca-lda`.
    async fn readings(&self, exchange: &str, operation: &str) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM processing_log WHERE operation = $1
                AND exchange = $2 AND acting_user = 'user:de-ca-lda'",
        )
        .bind(operation)
        .bind(exchange)
        .fetch_one(&self.scene.app.pool)
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn an_access_exports_the_subjects_data_logged_and_is_closed_with_the_answer() {
    let p = dispatched().await;
    let app = &p.scene.app;
    let id = p.record(SubjectRequestKind::Access).await;
    let queue = app.subject_request_queue(&p.de).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].status, SubjectRequestStatus::Open);
    assert_eq!(
        queue[0].due_on,
        queue[0].recorded_at.date_naive() + chrono::Duration::days(30)
    );
    assert!(
        queue[0].subject.is_none(),
        "the queue opens no personal data"
    );
    assert!(app.subject_request_queue(&p.fr).await.unwrap().is_empty());

    let done = app
        .carry_out_subject_request(&p.de, &id, None)
        .await
        .expect("carry out");
    let export = done.export.expect("an access exports");
    assert_eq!(export.subject.unwrap()["name"], SUBJECT);
    assert_eq!(
        export.free_text.as_deref(),
        Some(&*format!("About {SUBJECT}"))
    );
    assert_eq!(
        export.answers,
        vec![("PQ-GEN-01".to_string(), Some(ANSWER.to_string()))]
    );
    assert!(!export.personal_data_blocked && !export.personal_data_erased);
    let exchange = "InformationRequest/r-1";
    assert_eq!(p.readings(exchange, "subjectRequest.accessExport").await, 1);

    let missing = app
        .close_subject_request(&p.de, &id, None)
        .await
        .unwrap_err();
    assert_eq!(missing.code, Code::BadUserInput);
    app.close_subject_request(&p.de, &id, Some(ANSWER))
        .await
        .expect("close");
    let closed = app.subject_request(&p.de, &id).await.unwrap();
    assert_eq!(closed.status, SubjectRequestStatus::Closed);
    assert_eq!(closed.subject.as_deref(), Some(IDENTIFICATION));
    assert_eq!(closed.answer.as_deref(), Some(ANSWER));
    let own = format!("SubjectRequest/{id}");
    assert_eq!(p.readings(&own, "subjectRequest.view").await, 1);
    assert!(app.subject_request_queue(&p.de).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_rectification_reseals_the_corrected_subject_for_every_view() {
    let p = dispatched().await;
    let app = &p.scene.app;
    let id = p.record(SubjectRequestKind::Rectification).await;
    let without = app
        .carry_out_subject_request(&p.de, &id, None)
        .await
        .unwrap_err();
    assert_eq!(without.code, Code::BadUserInput);
    let corrected = Rectification {
        subject: Some(SubjectInput {
            name: "Dr. Jan Berichtigt".into(),
            ..SubjectInput::default()
        }),
        ..Rectification::default()
    };
    let empty = app
        .carry_out_subject_request(&p.de, &id, Some(&Rectification::default()))
        .await
        .unwrap_err();
    assert_eq!(empty.code, Code::BadUserInput);
    app.carry_out_subject_request(&p.de, &id, Some(&corrected))
        .await
        .expect("rectify");
    for caller in [&p.de, &p.fr] {
        let (level, erased, name) = p.view(caller).await;
        assert_eq!(level, RequestViewLevel::FullWithPersonalData);
        assert!(!erased);
        assert_eq!(name.as_deref(), Some("Dr. Jan Berichtigt"));
    }
    let again = app
        .carry_out_subject_request(&p.de, &id, Some(&corrected))
        .await
        .unwrap_err();
    assert_eq!(again.code, Code::BadUserInput, "carried out once");
}

#[tokio::test]
async fn blocking_drops_every_view_to_the_facts() {
    let p = dispatched().await;
    let app = &p.scene.app;
    let id = p.record(SubjectRequestKind::Blocking).await;
    app.carry_out_subject_request(&p.de, &id, None)
        .await
        .expect("block");
    for caller in [&p.de, &p.fr] {
        let (level, _, name) = p.view(caller).await;
        assert_eq!(level, RequestViewLevel::Monitoring);
        assert_eq!(name, None);
    }
    // An access after blocking exports the facts only.
    let access = p.record(SubjectRequestKind::Access).await;
    let export = app
        .carry_out_subject_request(&p.de, &access, None)
        .await
        .unwrap()
        .export
        .unwrap();
    assert!(export.personal_data_blocked);
    assert_eq!(export.subject, None);
    assert_eq!(export.answers, vec![("PQ-GEN-01".to_string(), None)]);
}

#[tokio::test]
async fn erasure_erases_the_requests_key_and_the_views_say_so() {
    let p = dispatched().await;
    let app = &p.scene.app;
    let id = p.record(SubjectRequestKind::Erasure).await;
    app.carry_out_subject_request(&p.de, &id, None)
        .await
        .expect("erase");
    let (_, erased, name) = p.view(&p.de).await;
    assert!(erased);
    assert_eq!(name, None);
    let access = p.record(SubjectRequestKind::Access).await;
    let export = app
        .carry_out_subject_request(&p.de, &access, None)
        .await
        .unwrap()
        .export
        .unwrap();
    assert!(export.personal_data_erased);
    assert_eq!(export.subject, None);
    // Nothing more is carried out on erased data.
    let rectification = p.record(SubjectRequestKind::Rectification).await;
    let corrected = Rectification {
        subject: Some(SubjectInput {
            name: "x".into(),
            ..SubjectInput::default()
        }),
        ..Rectification::default()
    };
    assert!(app
        .carry_out_subject_request(&p.de, &rectification, Some(&corrected))
        .await
        .is_err());
    let events = imi_store::audit::verify(&app.pool).await.unwrap();
    assert!(events.first_broken.is_none(), "{:?}", events.first_broken);
}

#[tokio::test]
async fn only_a_data_administrator_of_a_participant_handles_the_request() {
    let p = dispatched().await;
    let app = &p.scene.app;
    let by_basic = app
        .record_subject_request(&p.de_basic, "r-1", SubjectRequestKind::Access, "x")
        .await
        .unwrap_err();
    assert_eq!(by_basic.code, Code::Forbidden);
    let by_stranger = app
        .record_subject_request(&p.it, "r-1", SubjectRequestKind::Access, "x")
        .await
        .unwrap_err();
    assert_eq!(by_stranger.code, Code::NotFound, "a request it cannot see");
    let unknown = app
        .record_subject_request(&p.de, "r-none", SubjectRequestKind::Access, "x")
        .await
        .unwrap_err();
    assert_eq!(unknown.code, Code::NotFound);
    let empty = app
        .record_subject_request(&p.de, "r-1", SubjectRequestKind::Access, " ")
        .await
        .unwrap_err();
    assert_eq!(empty.code, Code::BadUserInput);

    let id = p.record(SubjectRequestKind::Access).await;
    for caller in [&p.fr, &p.it, &p.de_basic] {
        let carried = app
            .carry_out_subject_request(caller, &id, None)
            .await
            .unwrap_err();
        assert_eq!(carried.code, Code::NotFound);
        let read = app.subject_request(caller, &id).await.unwrap_err();
        assert_eq!(read.code, Code::NotFound);
        let closed = app
            .close_subject_request(caller, &id, Some(ANSWER))
            .await
            .unwrap_err();
        assert_eq!(closed.code, Code::NotFound);
    }
    // The responding side's data administrator records its own.
    let (theirs, _) = app
        .record_subject_request(&p.fr, "r-1", SubjectRequestKind::Access, IDENTIFICATION)
        .await
        .expect("a participant records");
    assert_eq!(app.subject_request_queue(&p.fr).await.unwrap().len(), 1);
    assert_eq!(
        app.subject_request(&p.de, &theirs).await.unwrap_err().code,
        Code::NotFound
    );
}

#[tokio::test]
async fn a_rectification_corrects_the_free_text_and_an_answer_for_every_view() {
    let p = dispatched().await;
    let app = &p.scene.app;
    let id = p.record(SubjectRequestKind::Rectification).await;
    let unanswered = Rectification {
        answers: vec![("PQ-GEN-09".into(), "x".into())],
        ..Rectification::default()
    };
    let refused = app
        .carry_out_subject_request(&p.de, &id, Some(&unanswered))
        .await
        .unwrap_err();
    assert_eq!(refused.code, Code::BadUserInput, "no answer to rectify");
    let corrected = Rectification {
        free_text: Some("About Dr. Jan Berichtigt".into()),
        answers: vec![("PQ-GEN-01".into(), "Licensed since 2016".into())],
        ..Rectification::default()
    };
    app.carry_out_subject_request(&p.de, &id, Some(&corrected))
        .await
        .expect("rectify");
    for caller in [&p.de, &p.fr] {
        let view = app.request(caller, "r-1").await.unwrap();
        let content = app.request_content(&view).await.unwrap().unwrap();
        assert_eq!(
            content.free_text.as_deref(),
            Some("About Dr. Jan Berichtigt")
        );
        let name = p.view(caller).await.2;
        assert_eq!(name.as_deref(), Some(SUBJECT), "the subject stays");
    }
    let access = p.record(SubjectRequestKind::Access).await;
    let export = app
        .carry_out_subject_request(&p.de, &access, None)
        .await
        .unwrap()
        .export
        .unwrap();
    assert_eq!(
        export.free_text.as_deref(),
        Some("About Dr. Jan Berichtigt")
    );
    assert_eq!(
        export.answers,
        vec![(
            "PQ-GEN-01".to_string(),
            Some("Licensed since 2016".to_string())
        )]
    );
}

/// The scheduler of a process started `minutes` after now, on the deadlines of the whole log
/// (built here: the test database's pool has no connection to spare for one more runner).
async fn scheduler_after(scene: &Scene, minutes: i64) -> imi_notify::scheduler::Scheduler {
    imi_projections::rebuild::rebuild(
        &scene.app.pool,
        &imi_projections::deadlines::Deadlines,
        |_| {},
    )
    .await
    .expect("the deadlines");
    let clock = imi_store::clock::AdjustableClock::new();
    clock.advance(chrono::Duration::minutes(minutes));
    imi_app::scheduled::Scheduled::routes(&scene.app)
        .into_iter()
        .fold(
            imi_notify::scheduler::Scheduler::new(
                scene.app.pool.clone(),
                std::sync::Arc::new(clock),
            ),
            |s, (aggregate, dispatch)| s.route(aggregate, dispatch),
        )
}

/// A carrying out interrupted after the data subject's request's own event (the state a
/// crash between the two writes leaves): the scheduler's completion rule writes the
/// exchange's side once the grace period passed, and acting on it again changes nothing.
#[tokio::test]
async fn an_erasure_interrupted_between_the_two_writes_is_completed_by_the_scheduler() {
    use imi_domain::subject_request::{SubjectRequestCommand, COMPLETION_GRACE_MINUTES};
    let p = dispatched().await;
    let app = &p.scene.app;
    let id = p.record(SubjectRequestKind::Erasure).await;
    app.execute(&p.de, &id, SubjectRequestCommand::CarryOut, &everything())
        .await
        .expect("the first write only");
    let (_, erased, name) = p.view(&p.de).await;
    assert!(!erased && name.is_some(), "the exchange is not erased yet");
    let early = scheduler_after(&p.scene, 1).await.run_due().await.unwrap();
    assert!(early.is_empty(), "not within the grace period: {early:?}");
    let done = scheduler_after(&p.scene, COMPLETION_GRACE_MINUTES + 1)
        .await
        .run_due()
        .await
        .unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].1, imi_notify::scheduler::Acted::Done);
    // Recording waits for the read models: they then applied the scheduler's writes too.
    p.record(SubjectRequestKind::Access).await;
    let (_, erased, name) = p.view(&p.de).await;
    assert!(erased, "completed: the key erased and the fact recorded");
    assert_eq!(name, None);
    let facts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = 'r-1'
            AND event_type = 'PersonalDataErasedForSubject'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(facts, 1);
    // Completing again (a retry, or the rule acted on twice) writes nothing more.
    let again = app
        .complete_subject_request(
            &id,
            imi_store::metadata::CommandMetadata::for_actor(&imi_domain::actor::Actor::system(
                "test",
            )),
        )
        .await
        .unwrap();
    assert_eq!(again, None);
    let verified = imi_store::audit::verify(&app.pool).await.unwrap();
    assert!(verified.first_broken.is_none());
}

/// The same for a rectification: its corrected values were recorded with the first write,
/// so the completion re-seals nothing and needs no one to type them again.
#[tokio::test]
async fn a_rectification_interrupted_between_the_two_writes_is_completed_from_the_log() {
    use imi_domain::subject_request::{
        CorrectedField, Correction, SubjectRequestCommand, COMPLETION_GRACE_MINUTES,
    };
    let p = dispatched().await;
    let app = &p.scene.app;
    let id = p.record(SubjectRequestKind::Rectification).await;
    let value = app
        .seal(
            "InformationRequest/r-1",
            &json!({ "name": "Dr. Jan Berichtigt" }),
        )
        .await
        .unwrap();
    let rectify = SubjectRequestCommand::Rectify {
        corrections: vec![Correction {
            field: CorrectedField::Subject,
            value,
        }],
    };
    app.execute(&p.de, &id, rectify, &everything())
        .await
        .expect("the first write only");
    assert_eq!(p.view(&p.de).await.2.as_deref(), Some(SUBJECT));
    let done = scheduler_after(&p.scene, COMPLETION_GRACE_MINUTES + 1)
        .await
        .run_due()
        .await
        .unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    p.record(SubjectRequestKind::Access).await;
    assert_eq!(p.view(&p.fr).await.2.as_deref(), Some("Dr. Jan Berichtigt"));
}

const PARTNER: &str = "Anna Teilhaberin";

/// The persons concerned `caller` reads, by id, with their names.
async fn persons_read(p: &People, caller: &Caller) -> Vec<(String, Option<String>)> {
    let app = &p.scene.app;
    let view = app.request(caller, "r-1").await.unwrap();
    let content = app.request_content(&view).await.unwrap().unwrap();
    content
        .persons_concerned
        .iter()
        .map(|c| {
            let name = c.identity.as_ref().and_then(|i| i["name"].as_str());
            (c.person.clone(), name.map(String::from))
        })
        .collect()
}

/// Whether any view, export or log row `caller` can read shows `text`.
async fn shows(p: &People, caller: &Caller, text: &str) -> bool {
    let app = &p.scene.app;
    let view = app.request(caller, "r-1").await.unwrap();
    let content = app.request_content(&view).await.unwrap();
    serde_json::to_string(&content).unwrap().contains(text)
}

#[tokio::test]
async fn a_further_person_is_named_in_the_draft_only_by_its_handler() {
    let p = dispatched_naming(&[("partner", PARTNER)]).await;
    let app = &p.scene.app;
    for caller in [&p.de, &p.fr] {
        assert_eq!(
            persons_read(&p, caller).await,
            vec![("partner".to_string(), Some(PARTNER.to_string()))]
        );
    }
    let basic = app.request(&p.de_basic, "r-1").await.unwrap();
    let content = app.request_content(&basic).await.unwrap();
    assert!(!serde_json::to_string(&content).unwrap().contains(PARTNER));
    let identity = SubjectInput {
        name: "Late Person".into(),
        ..SubjectInput::default()
    };
    let sent = app
        .name_person_concerned(&p.de, "r-1", "late", &identity, &everything())
        .await
        .unwrap_err();
    assert_eq!(sent.code, Code::BadUserInput, "{sent:?}");
    let by_fr = app
        .name_person_concerned(&p.fr, "r-1", "late", &identity, &everything())
        .await
        .unwrap_err();
    assert_eq!(by_fr.code, Code::Forbidden, "{by_fr:?}");
}

/// Erasing the partner among two persons: every view then shows the subject and nothing of
/// the partner, the texts kept are re-sealed, the old key is erased, the chain verifies.
#[tokio::test]
async fn erasing_one_person_among_two_keeps_the_other_for_every_view() {
    let p = dispatched_naming(&[("partner", PARTNER)]).await;
    let app = &p.scene.app;
    let id = p.record(SubjectRequestKind::Erasure).await;
    for (person, why) in [("nobody", "unknown person"), ("", "no person")] {
        let refused = app
            .carry_out_erasure_of(&p.de, &id, person, true)
            .await
            .unwrap_err();
        assert_eq!(refused.code, Code::BadUserInput, "{why}: {refused:?}");
    }
    app.carry_out_erasure_of(&p.de, &id, "partner", true)
        .await
        .expect("erase the partner");
    for caller in [&p.de, &p.fr] {
        let (level, _, name) = p.view(caller).await;
        assert_eq!(level, RequestViewLevel::FullWithPersonalData);
        assert_eq!(name.as_deref(), Some(SUBJECT), "the subject stays");
        assert!(persons_read(&p, caller).await.is_empty());
        assert!(!shows(&p, caller, PARTNER).await, "nothing of the partner");
        let view = app.request(caller, "r-1").await.unwrap();
        let content = app.request_content(&view).await.unwrap().unwrap();
        assert_eq!(
            content.free_text.as_deref(),
            Some(&*format!("About {SUBJECT}")),
            "kept"
        );
    }
    let keys: Vec<(String, bool)> = sqlx::query_as(
        "SELECT key_id, erased_at IS NOT NULL FROM data_keys
          WHERE key_id LIKE 'InformationRequest/r-1%' ORDER BY key_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        keys,
        vec![
            ("InformationRequest/r-1".to_string(), true),
            ("InformationRequest/r-1#2".to_string(), false)
        ]
    );
    // Once only; the request goes on under its new key.
    let again = app
        .carry_out_erasure_of(&p.de, &id, "subject", false)
        .await
        .unwrap_err();
    assert_eq!(again.code, Code::BadUserInput, "{again:?}");
    let rectification = p.record(SubjectRequestKind::Rectification).await;
    let corrected = Rectification {
        subject: Some(SubjectInput {
            name: "Dr. Jan Berichtigt".into(),
            ..SubjectInput::default()
        }),
        ..Rectification::default()
    };
    app.carry_out_subject_request(&p.de, &rectification, Some(&corrected))
        .await
        .expect("rectified under the new key");
    assert_eq!(p.view(&p.fr).await.2.as_deref(), Some("Dr. Jan Berichtigt"));
    let verified = imi_store::audit::verify(&app.pool).await.unwrap();
    assert!(verified.first_broken.is_none(), "{verified:?}");
}

/// Erasing one person of a request about one person is refused (the erasure without a
/// person erases everything); so is naming a person for another kind of request.
#[tokio::test]
async fn one_person_is_erased_only_among_several_and_only_by_an_erasure() {
    let p = dispatched().await;
    let app = &p.scene.app;
    let id = p.record(SubjectRequestKind::Erasure).await;
    let alone = app
        .carry_out_erasure_of(&p.de, &id, "subject", false)
        .await
        .unwrap_err();
    assert_eq!(alone.code, Code::BadUserInput, "{alone:?}");
    let access = p.record(SubjectRequestKind::Access).await;
    let other_kind = app
        .carry_out_erasure_of(&p.de, &access, "subject", false)
        .await
        .unwrap_err();
    assert_eq!(other_kind.code, Code::BadUserInput, "{other_kind:?}");
    let by_fr = app
        .carry_out_erasure_of(&p.fr, &id, "subject", false)
        .await
        .unwrap_err();
    assert_eq!(by_fr.code, Code::NotFound, "{by_fr:?}");
    assert_eq!(p.view(&p.de).await.2.as_deref(), Some(SUBJECT));
}

/// Interrupted after the data subject's request's event: the scheduler's completion rule
/// records the re-sealed values on the request and erases the old key, once.
#[tokio::test]
async fn erasing_one_person_interrupted_between_the_two_writes_is_completed() {
    use imi_domain::request::{PersonOfRequest, ResealedValue};
    use imi_domain::subject_request::{
        PartialErasure, SubjectRequestCommand, COMPLETION_GRACE_MINUTES,
    };
    let p = dispatched_naming(&[("partner", PARTNER)]).await;
    let app = &p.scene.app;
    let id = p.record(SubjectRequestKind::Erasure).await;
    let identity = app
        .seal("InformationRequest/r-1#2", &json!({ "name": SUBJECT }))
        .await
        .unwrap();
    let erasure = PartialErasure {
        person: PersonOfRequest::Concerned("partner".into()),
        from_key: "InformationRequest/r-1".into(),
        key_id: "InformationRequest/r-1#2".into(),
        values: vec![ResealedValue::Person {
            person: PersonOfRequest::Subject,
            identity,
        }],
    };
    app.execute(
        &p.de,
        &id,
        SubjectRequestCommand::CarryOutErasure { erasure },
        &everything(),
    )
    .await
    .expect("the first write only");
    assert_eq!(persons_read(&p, &p.de).await.len(), 1, "not erased yet");
    let done = scheduler_after(&p.scene, COMPLETION_GRACE_MINUTES + 1)
        .await
        .run_due()
        .await
        .unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].1, imi_notify::scheduler::Acted::Done);
    p.record(SubjectRequestKind::Access).await;
    assert!(persons_read(&p, &p.fr).await.is_empty());
    assert!(!shows(&p, &p.fr, PARTNER).await);
    assert_eq!(p.view(&p.fr).await.2.as_deref(), Some(SUBJECT));
    let again = app
        .complete_subject_request(
            &id,
            imi_store::metadata::CommandMetadata::for_actor(&imi_domain::actor::Actor::system(
                "test",
            )),
        )
        .await
        .unwrap();
    assert_eq!(again, None);
    let facts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = 'r-1'
            AND event_type = 'PersonalDataResealed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(facts, 1);
    let verified = imi_store::audit::verify(&app.pool).await.unwrap();
    assert!(verified.first_broken.is_none(), "{verified:?}");
}

#[tokio::test]
async fn the_deadline_is_extended_once_with_a_reason_by_the_recording_authority() {
    let p = dispatched().await;
    let app = &p.scene.app;
    let id = p.record(SubjectRequestKind::Access).await;
    let before = app.subject_request(&p.de, &id).await.unwrap();
    for (caller, months, reason, code) in [
        (&p.de, 1, "  ", Code::BadUserInput),
        (&p.de, 3, "complex", Code::BadUserInput),
        (&p.fr, 1, "complex", Code::NotFound),
        (&p.de_basic, 1, "complex", Code::NotFound),
    ] {
        let refused = app
            .extend_subject_request_deadline(caller, &id, months, reason)
            .await
            .unwrap_err();
        assert_eq!(refused.code, code, "{refused:?}");
    }
    assert_eq!(app.subject_request(&p.de, &id).await.unwrap(), before);
    app.extend_subject_request_deadline(&p.de, &id, 2, "many requests at once")
        .await
        .expect("extended");
    let after = app.subject_request(&p.de, &id).await.unwrap();
    assert!(after.extended);
    assert_eq!(
        after.due_on,
        before
            .due_on
            .checked_add_months(chrono::Months::new(2))
            .unwrap()
    );
    let queue = app.subject_request_queue(&p.de).await.unwrap();
    assert_eq!(queue[0].due_on, after.due_on);
    let again = app
        .extend_subject_request_deadline(&p.de, &id, 1, "still many")
        .await
        .unwrap_err();
    assert_eq!(again.code, Code::BadUserInput, "{again:?}");
}
