//! Information requests, end to end over HTTP. The authorities are seeded through the
//! Authority aggregate (as `imi seed` and the administration mutations would leave them);
//! the request itself only through GraphQL:
//!
//! | id | Member State | in PQ | users |
//! |---|---|---|---|
//! | `nimic-de` | DE | request coordinator | `user-nimic-de-lda`: data administrator, request handler, referral handler |
//! | `de-ca` | DE | Authority (requests), linked to `nimic-de`, approval of new requests on, `de-linked` linked to it | `de-handler` request handler; `de-basic` basic user |
//! | `de-linked` | DE | Authority (requests) | `de-linked-lda` |
//! | `nimic-fr` | FR | request coordinator | `user-nimic-fr-lda`: data administrator, request handler, referral handler |
//! | `fr-ca` | FR | Authority (requests), linked to `nimic-fr`, allocation on | `fr-handler` request handler; `fr-allocator` allocator |
//!
//! One PQ request goes through approval, allocation, a partial reply, the full reply,
//! additional information, a referral and closure; each participant's view is checked at its
//! level, and no monitoring view or allocator report holds personal data.

use crate::harness::{start, Account, Service};
use imi_domain::actor::Actor;
use imi_domain::authority::{
    user_key_id, AuthorityCommand, AuthorityData, AuthorityKind, Flag, LegislativeArea, NewUser,
    UserRole, Workflow, WorkflowRole, WorkflowSetup,
};
use imi_domain::command::Issued;
use imi_store::metadata::CommandMetadata;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const SUBJECT: &str = "Dr. Ingrid Vollmer-Geheim";
const FIRST_ANSWER: &str = "Registered with the Ordre since 2011 under number 75-31415";
const SECOND_ANSWER: &str = "The diploma is authentic";
const JUSTIFICATION: &str = "Please confirm the registration number of Dr. Vollmer";

const LOGIN: &str = "mutation($login: String!, $password: String!) {
  login(login: $login, password: $password) { token }
}";

const VIEW: &str = "query($id: ID!) {
  informationRequest(id: $id) {
    id viewLevel area questionSet status requestingAuthority respondingAuthority
    requestingCoordinator respondingCoordinator sentAt acceptedAt proposedAnswerDate
    agreedAnswerDate closedAt questionSetName { text language fallback }
    content {
      questions { id answered answer text { text language fallback } }
      attachments { sha256 name }
      subject freeText personalDataErased respondingHandlers rating { timeliness effort }
      referralParticipation { coordinator participates opinionGiven }
      steps { eventType byAuthority reason text }
    }
  }
}";

const LIST: &str = "query {
  informationRequests(first: 10) {
    edges { cursor node { id viewLevel status content { questions { id } } } }
    pageInfo { hasNextPage }
  }
}";

pub(crate) fn pq() -> LegislativeArea {
    LegislativeArea::parse("PQ").unwrap()
}

pub(crate) fn user(user_id: &str, authority_id: &str) -> Actor {
    Actor::User {
        user_id: user_id.into(),
        authority_id: authority_id.into(),
    }
}

pub(crate) async fn exec(service: &Service, id: &str, by: &Actor, command: AuthorityCommand) {
    let name = command.name();
    service
        .services
        .authorities
        .execute(
            id,
            Issued::new(by.clone(), command),
            CommandMetadata::for_actor(by),
        )
        .await
        .unwrap_or_else(|e| panic!("{name} on {id}: {e:?}"));
}

pub(crate) async fn new_user(service: &Service, user_id: &str) -> NewUser {
    NewUser {
        user_id: user_id.into(),
        identity: service
            .services
            .keyring
            .seal(&user_key_id(user_id), &json!({ "name": user_id }))
            .await
            .unwrap(),
    }
}

/// Gives `user_id` of `authority_id` the login `user_id` and a password, and signs in.
pub(crate) async fn sign_in(service: &Service, user_id: &str, authority_id: &str) -> String {
    let password = format!("{user_id}-password");
    imi_store::credentials::set(
        &service.services.pool,
        user_id,
        authority_id,
        user_id,
        &password,
    )
    .await
    .unwrap();
    log_in(service, user_id, &password).await
}

pub(crate) async fn log_in(service: &Service, login: &str, password: &str) -> String {
    let (user_id, password) = (login, password.to_string());
    let answer = service
        .graphql(
            None,
            None,
            LOGIN,
            json!({ "login": user_id, "password": password }),
        )
        .await;
    answer["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token for {user_id}: {answer}"))
        .to_string()
}

fn requests_of(
    role: WorkflowRole,
    linked: &str,
) -> BTreeMap<LegislativeArea, BTreeMap<Workflow, WorkflowSetup>> {
    BTreeMap::from([(
        pq(),
        BTreeMap::from([(
            Workflow::Requests,
            WorkflowSetup {
                role,
                linked_coordinators: BTreeSet::from([linked.to_string()]),
            },
        )]),
    )])
}

/// A national coordinator that is PQ request coordinator; its LDA is also data
/// administrator, request handler and referral handler there.
pub(crate) async fn coordinator(service: &Service, ms: &str, name: &str) -> Account {
    let account = service.seed_national_coordinator(ms, name).await;
    let lda = user(&account.user_id, &account.authority_id);
    let roles = |roles: &[UserRole]| AuthorityCommand::GrantUserRoles {
        user_id: account.user_id.clone(),
        area: pq(),
        roles: roles.iter().copied().collect(),
    };
    exec(
        service,
        &account.authority_id,
        &lda,
        roles(&[UserRole::DataAdministrator]),
    )
    .await;
    exec(
        service,
        &account.authority_id,
        &lda,
        AuthorityCommand::GrantAreaAccess {
            area: pq(),
            workflows: requests_of(WorkflowRole::RequestCoordinator, &account.authority_id)
                .remove(&pq())
                .unwrap(),
        },
    )
    .await;
    exec(
        service,
        &account.authority_id,
        &lda,
        roles(&[UserRole::RequestHandler, UserRole::ReferralHandler]),
    )
    .await;
    account
}

/// A competent authority registered by `by` (a coordinator's data administrator), PQ
/// requests linked to that coordinator, with its LDA `<id>-lda` and `users` with one role
/// each in PQ (`None`: a basic user).
pub(crate) async fn competent_authority(
    service: &Service,
    by: &Actor,
    coordinator: &str,
    id: &str,
    users: &[(&str, Option<UserRole>)],
) -> Actor {
    let lda_id = format!("{id}-lda");
    exec(
        service,
        id,
        by,
        AuthorityCommand::RegisterAuthority {
            authority_id: id.into(),
            kind: AuthorityKind::CompetentAuthority,
            region: None,
            coordinated_areas: BTreeSet::new(),
            access: requests_of(WorkflowRole::RequestAuthority, coordinator),
            data: AuthorityData {
                official_name: format!("Authority {id}"),
                contact: imi_domain::authority::ContactDetails {
                    email: Some(format!("office@{id}.example.eu")),
                    ..Default::default()
                },
                ..AuthorityData::default()
            },
            first_user: new_user(service, &lda_id).await,
        },
    )
    .await;
    let lda = user(&lda_id, id);
    for (user_id, role) in users {
        exec(
            service,
            id,
            &lda,
            AuthorityCommand::RegisterUser {
                user: new_user(service, user_id).await,
                local_data_administrator: false,
            },
        )
        .await;
        if let Some(role) = role {
            exec(
                service,
                id,
                &lda,
                AuthorityCommand::GrantUserRoles {
                    user_id: user_id.to_string(),
                    area: pq(),
                    roles: BTreeSet::from([*role]),
                },
            )
            .await;
        }
    }
    lda
}

pub(crate) struct Tokens {
    pub(crate) de_handler: String,
    pub(crate) de_basic: String,
    de_linked: String,
    pub(crate) de_coordinator: String,
    pub(crate) fr_handler: String,
    pub(crate) fr_allocator: String,
    fr_coordinator: String,
}

pub(crate) async fn scene(service: &Service) -> Tokens {
    let de = coordinator(service, "DE", "Bundesverwaltungsamt").await;
    let fr = coordinator(
        service,
        "FR",
        "Secrétariat général des affaires européennes",
    )
    .await;
    let de_da = user(&de.user_id, &de.authority_id);
    let fr_da = user(&fr.user_id, &fr.authority_id);
    let de_lda = competent_authority(
        service,
        &de_da,
        "nimic-de",
        "de-ca",
        &[
            ("de-handler", Some(UserRole::RequestHandler)),
            ("de-basic", None),
        ],
    )
    .await;
    competent_authority(service, &de_da, "nimic-de", "de-linked", &[]).await;
    exec(
        service,
        "de-ca",
        &de_lda,
        AuthorityCommand::LinkAuthority {
            authority_id: "de-linked".into(),
        },
    )
    .await;
    exec(
        service,
        "de-ca",
        &de_da,
        AuthorityCommand::SetFlag {
            area: pq(),
            workflow: Workflow::Requests,
            flag: Flag::ApprovalOfNewRequests,
            enabled: true,
        },
    )
    .await;
    let fr_lda = competent_authority(
        service,
        &fr_da,
        "nimic-fr",
        "fr-ca",
        &[
            ("fr-handler", Some(UserRole::RequestHandler)),
            ("fr-allocator", Some(UserRole::Allocator)),
        ],
    )
    .await;
    exec(
        service,
        "fr-ca",
        &fr_lda,
        AuthorityCommand::SetFlag {
            area: pq(),
            workflow: Workflow::Requests,
            flag: Flag::Allocation,
            enabled: true,
        },
    )
    .await;
    Tokens {
        de_handler: sign_in(service, "de-handler", "de-ca").await,
        de_basic: sign_in(service, "de-basic", "de-ca").await,
        de_linked: sign_in(service, "de-linked-lda", "de-linked").await,
        de_coordinator: log_in(service, &de.login, &de.password).await,
        fr_handler: sign_in(service, "fr-handler", "fr-ca").await,
        fr_allocator: sign_in(service, "fr-allocator", "fr-ca").await,
        fr_coordinator: log_in(service, &fr.login, &fr.password).await,
    }
}

/// Runs a request mutation as `token`; panics on any error.
pub(crate) async fn step(
    service: &Service,
    token: &str,
    field: &str,
    input_type: &str,
    input: Value,
) {
    let query = format!(
        "mutation($input: {input_type}!) {{ {field}(input: $input) {{ requestId waited }} }}"
    );
    let answer = service
        .graphql(Some(token), None, &query, json!({ "input": input }))
        .await;
    assert!(answer["errors"].is_null(), "{field}: {answer}");
    assert_eq!(answer["data"][field]["waited"], true, "{field}: {answer}");
}

/// Drafts the request `draft` describes as the German handler, sends it, and has the German
/// coordinator approve it (`de-ca` needs approval): it reaches its responding authority.
pub(crate) async fn dispatch(service: &Service, t: &Tokens, draft: Value) {
    let id = by_id(
        draft["requestId"]
            .as_str()
            .expect("a draft names its request"),
    );
    step(
        service,
        &t.de_handler,
        "draftRequest",
        "DraftRequestInput",
        draft,
    )
    .await;
    step(
        service,
        &t.de_handler,
        "sendRequest",
        "RequestStepInput",
        id.clone(),
    )
    .await;
    step(
        service,
        &t.de_coordinator,
        "approveRequest",
        "RequestStepInput",
        id,
    )
    .await;
}

/// A request mutation that must be refused with `code`.
async fn refused(
    service: &Service,
    token: &str,
    field: &str,
    input_type: &str,
    input: Value,
    code: &str,
) {
    let query =
        format!("mutation($input: {input_type}!) {{ {field}(input: $input) {{ requestId }} }}");
    let answer = service
        .graphql(Some(token), None, &query, json!({ "input": input }))
        .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], code,
        "{field}: {answer}"
    );
}

/// The request was sent, accepted and fully answered within minutes, before its answer date,
/// and rated 4 for timeliness and 2 (negative) for effort: France, which responded, is green
/// on all but effort. Germany received nothing and has no row.
async fn scoreboard_shows_the_responding_member_state(service: &Service, token: &str) {
    let today = chrono::Utc::now().date_naive();
    let answer = service
        .graphql(
            Some(token),
            None,
            "query($from: NaiveDate!, $to: NaiveDate!) { scoreboard(from: $from, to: $to) {
               memberState overall figures { indicator value cases light } } }",
            json!({ "from": today - chrono::Days::new(1), "to": today + chrono::Days::new(1) }),
        )
        .await;
    let rows = &answer["data"]["scoreboard"];
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{answer}");
    assert_eq!(rows[0]["memberState"], "FR");
    let lights: Vec<(&str, &str)> = rows[0]["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["indicator"].as_str().unwrap(),
                f["light"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lights,
        [
            ("ACCEPTED_IN_TIME", "GREEN"),
            ("DAYS_TO_ANSWER", "GREEN"),
            ("ANSWERED_BY_AGREED_DATE", "GREEN"),
            ("NEGATIVE_TIMELINESS", "GREEN"),
            ("NEGATIVE_EFFORT", "RED"),
        ]
    );
    assert_eq!(rows[0]["figures"][4]["value"], 100.0);
    assert_eq!(rows[0]["overall"], 3);
    scoreboard_on_the_command_line(service, today).await;

    let backwards = service
        .graphql(
            Some(token),
            None,
            "{ scoreboard(from: \"2026-02-01\", to: \"2026-01-01\") { memberState } }",
            json!({}),
        )
        .await;
    assert_eq!(
        backwards["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{backwards}"
    );
}

/// `imi stats scoreboard` writes the same figures as CSV, and charts as SVG and PNG.
async fn scoreboard_on_the_command_line(service: &Service, today: chrono::NaiveDate) {
    use imi::stats::{run, Format, StatsCommand};
    let dir = std::env::temp_dir().join(format!("imi-scoreboard-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    for (format, name) in [
        (Format::Csv, "s.csv"),
        (Format::Svg, "s.svg"),
        (Format::Png, "s.png"),
    ] {
        let command = StatsCommand::Scoreboard {
            from: Some(today - chrono::Days::new(1)),
            to: Some(today + chrono::Days::new(1)),
            area: None,
            format,
            output: Some(dir.join(name)),
            font: imi::stats::DEFAULT_FONT.into(),
        };
        run(&service.services.app.pool, command).await.unwrap();
    }
    let csv = std::fs::read_to_string(dir.join("s.csv")).unwrap();
    assert!(csv.contains("FR,NEGATIVE_EFFORT,100.00,1,RED,3"), "{csv}");
    let svg = std::fs::read_to_string(dir.join("s.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("\nFR\n</text>"),
        "{svg}"
    );
    let png = std::fs::read(dir.join("s.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    std::fs::remove_dir_all(dir).unwrap();
}

async fn view(service: &Service, token: &str, language: Option<&str>) -> Value {
    let answer = service
        .graphql(Some(token), language, VIEW, json!({ "id": "r-1" }))
        .await;
    answer["data"]["informationRequest"].clone()
}

fn no_personal_data(what: &str, value: &Value) {
    let text = value.to_string();
    for secret in [
        SUBJECT,
        FIRST_ANSWER,
        SECOND_ANSWER,
        JUSTIFICATION,
        "diploma-vollmer.pdf",
    ] {
        assert!(!text.contains(secret), "{what} shows {secret:?}: {text}");
    }
}

pub(crate) fn by_id(id: &str) -> Value {
    json!({ "requestId": id })
}

#[tokio::test]
async fn a_pq_request_runs_from_draft_through_referral_to_closure() {
    let service = start().await;
    let t = scene(&service).await;

    // The requesting handler stores the diploma first (its bytes stay outside the events).
    let http = reqwest::Client::new();
    let url = format!("{}/requests/r-1/attachments", service.base);
    let pdf = b"%PDF-1.7 diploma of Dr. Vollmer".to_vec();
    let put = |token: &str, media_type: &str| {
        http.put(&url)
            .bearer_auth(token)
            .header("content-type", media_type)
            .body(pdf.clone())
            .send()
    };
    let refused_type = put(&t.de_handler, "application/x-msdownload")
        .await
        .unwrap();
    assert_eq!(refused_type.status(), 400);
    assert_eq!(
        put(&t.de_basic, "application/pdf").await.unwrap().status(),
        403
    );
    let stored = put(&t.de_handler, "application/pdf").await.unwrap();
    assert_eq!(stored.status(), 201);
    let stored: Value = stored.json().await.unwrap();
    assert_eq!(stored["size"], pdf.len());
    let sha256 = stored["sha256"].as_str().unwrap().to_string();

    // The requesting handler drafts and sends; the approval flag sends it to its coordinator.
    let draft = json!({
        "requestId": "r-1",
        "area": "PQ",
        "content": {
            "questionSet": "PQ-GEN",
            "questions": ["PQ-GEN-01", "PQ-GEN-02"],
            "freeText": "She applies for recognition in Bavaria",
            "subject": { "name": SUBJECT, "birthDate": "1979-04-02" },
            "attachments": [{
                "sha256": sha256, "size": pdf.len(), "mediaType": "application/pdf",
                "name": "diploma-vollmer.pdf"
            }],
            "proposedAnswerDate": "2030-06-01",
            "respondingAuthority": "fr-ca"
        }
    });
    step(
        &service,
        &t.de_handler,
        "draftRequest",
        "DraftRequestInput",
        draft,
    )
    .await;
    step(
        &service,
        &t.de_handler,
        "sendRequest",
        "RequestStepInput",
        by_id("r-1"),
    )
    .await;
    assert_eq!(
        view(&service, &t.de_basic, None).await["status"],
        "AWAITING_APPROVAL"
    );
    // Until it is dispatched the responding authority does not see it.
    let hidden = service
        .graphql(Some(&t.fr_handler), None, VIEW, json!({ "id": "r-1" }))
        .await;
    assert_eq!(
        hidden["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{hidden}"
    );
    // Only the chosen coordinator approves.
    refused(
        &service,
        &t.de_handler,
        "approveRequest",
        "RequestStepInput",
        by_id("r-1"),
        "FORBIDDEN",
    )
    .await;
    // The responding handler follows its notifications live.
    let mut live = service.subscriptions(&t.fr_handler).await;
    live.subscribe(
        "n",
        "subscription { notifications { kind aggregateId subject language } }",
        json!({}),
    )
    .await;
    step(
        &service,
        &t.de_coordinator,
        "approveRequest",
        "RequestStepInput",
        by_id("r-1"),
    )
    .await;
    // Dispatched: the responding authority is told by mail at its office address, in
    // French, and live in the app; the mail holds no personal data.
    let pushed = live.receive().await;
    let n = &pushed["payload"]["data"]["notifications"];
    assert_eq!(n["kind"], "request_received", "{pushed}");
    assert_eq!(n["aggregateId"], "r-1");
    live.close().await;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mail = loop {
        let received = service.smtp.to("office@fr-ca.example.eu");
        if let Some(mail) = received
            .iter()
            .find(|m| m.body().contains("demande d'information"))
        {
            break mail.clone();
        }
        assert!(
            std::time::Instant::now() < until,
            "no mail to the responding office"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let body = mail.body();
    assert!(
        body.contains("Nouvelle demande d'information reçue"),
        "{body}"
    );
    assert!(body.contains("Demande d'information: r-1"), "{body}");
    assert!(!mail.data.contains(SUBJECT), "personal data in a mail");

    // The responding authority uses allocation: its handler waits for the allocator.
    let accept = json!({ "requestId": "r-1" });
    refused(
        &service,
        &t.fr_handler,
        "acceptRequest",
        "AcceptRequestInput",
        accept.clone(),
        "FORBIDDEN",
    )
    .await;
    let inbox = service
        .graphql(
            Some(&t.fr_allocator),
            None,
            "{ requestInbox { edges { node { requestId action } } } }",
            json!({}),
        )
        .await;
    // The allocator's inbox shows the step its roles allow: the assignment, not the
    // acceptance; the handler, who may not act yet, sees nothing to do.
    assert_eq!(
        inbox["data"]["requestInbox"]["edges"],
        json!([{ "node": { "requestId": "r-1", "action": "assign" } }])
    );
    let inbox = service
        .graphql(
            Some(&t.fr_handler),
            None,
            "{ requestInbox { edges { node { requestId action } } } }",
            json!({}),
        )
        .await;
    assert_eq!(inbox["data"]["requestInbox"]["edges"], json!([]));
    step(
        &service,
        &t.fr_allocator,
        "assignRequest",
        "AssignRequestInput",
        json!({ "requestId": "r-1", "handlers": ["fr-handler"] }),
    )
    .await;
    step(
        &service,
        &t.fr_handler,
        "acceptRequest",
        "AcceptRequestInput",
        accept,
    )
    .await;

    // A partial reply, then the full reply.
    let reply = |answers: Value| json!({ "requestId": "r-1", "answers": answers });
    step(
        &service,
        &t.fr_handler,
        "replyPartially",
        "ReplyInput",
        reply(json!([{ "questionId": "PQ-GEN-01", "text": FIRST_ANSWER }])),
    )
    .await;
    assert_eq!(
        view(&service, &t.de_basic, None).await["status"],
        "PARTIALLY_ANSWERED"
    );
    refused(
        &service,
        &t.de_handler,
        "closeRequest",
        "RequestStepInput",
        by_id("r-1"),
        "BAD_USER_INPUT",
    )
    .await;
    step(
        &service,
        &t.fr_handler,
        "replyToRequest",
        "ReplyInput",
        reply(json!([{ "questionId": "PQ-GEN-02", "text": SECOND_ANSWER }])),
    )
    .await;

    // Not satisfied: additional information; the responder insists; a referral.
    step(
        &service,
        &t.de_handler,
        "requestAdditionalInformation",
        "AdditionalInformationInput",
        json!({ "requestId": "r-1", "justification": JUSTIFICATION, "questions": ["PQ-GEN-01"] }),
    )
    .await;
    refused(
        &service,
        &t.de_handler,
        "requestAdditionalInformation",
        "AdditionalInformationInput",
        json!({ "requestId": "r-1", "justification": "again", "questions": ["PQ-GEN-03"] }),
        "BAD_USER_INPUT",
    )
    .await;
    step(
        &service,
        &t.fr_handler,
        "maintainReply",
        "MaintainReplyInput",
        json!({ "requestId": "r-1", "comment": "The number is correct" }),
    )
    .await;
    step(
        &service,
        &t.de_handler,
        "openReferral",
        "RequestStepInput",
        by_id("r-1"),
    )
    .await;
    step(
        &service,
        &t.de_coordinator,
        "decideReferralParticipation",
        "ReferralParticipationInput",
        json!({ "requestId": "r-1", "participates": true }),
    )
    .await;
    step(
        &service,
        &t.de_coordinator,
        "giveReferralOpinion",
        "ReferralOpinionInput",
        json!({ "requestId": "r-1", "opinion": "The reply answers the question", "satisfactory": true }),
    )
    .await;
    step(
        &service,
        &t.fr_coordinator,
        "decideReferralParticipation",
        "ReferralParticipationInput",
        json!({ "requestId": "r-1", "participates": false }),
    )
    .await;
    assert_eq!(
        view(&service, &t.de_basic, None).await["status"],
        "ANSWERED"
    );

    step(
        &service,
        &t.de_handler,
        "closeRequest",
        "RequestStepInput",
        by_id("r-1"),
    )
    .await;
    step(
        &service,
        &t.de_handler,
        "rateReply",
        "RateReplyInput",
        json!({
            "requestId": "r-1", "timeliness": 4, "effort": 2,
            "waitFor": ["request_full", "request_scoreboard"]
        }),
    )
    .await;
    scoreboard_shows_the_responding_member_state(&service, &t.de_handler).await;

    // The handlers on both sides: everything, personal data included, in their language.
    for (token, language) in [(&t.de_handler, "de"), (&t.fr_handler, "fr")] {
        let full = view(&service, token, Some(language)).await;
        assert_eq!(full["viewLevel"], "FULL_WITH_PERSONAL_DATA", "{full}");
        assert_eq!(full["status"], "CLOSED");
        let content = &full["content"];
        assert_eq!(content["subject"]["name"], SUBJECT);
        assert_eq!(
            content["freeText"],
            "She applies for recognition in Bavaria"
        );
        assert_eq!(content["questions"][0]["answer"], FIRST_ANSWER);
        assert_eq!(content["questions"][1]["answer"], SECOND_ANSWER);
        assert_eq!(content["questions"][0]["text"]["language"], language);
        assert_eq!(content["questions"][0]["text"]["fallback"], false);
        assert_eq!(content["attachments"][0]["name"], "diploma-vollmer.pdf");
        assert_eq!(content["rating"], json!({ "timeliness": 4, "effort": 2 }));
        assert_eq!(content["respondingHandlers"], json!(["fr-handler"]));
        let texts: Vec<&Value> = content["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["text"])
            .collect();
        assert!(texts.contains(&&json!(JUSTIFICATION)), "{content}");
    }
    // A language without translations falls back visibly.
    let fallback = view(&service, &t.de_handler, Some("fi")).await;
    assert_eq!(
        fallback["content"]["questions"][0]["text"]["fallback"],
        true
    );

    // The coordinators (approval, referral) and the allocator: full without personal data.
    for token in [&t.de_coordinator, &t.fr_coordinator, &t.fr_allocator] {
        let full = view(&service, token, None).await;
        assert_eq!(full["viewLevel"], "FULL", "{full}");
        assert!(full["content"]["subject"].is_null());
        assert!(full["content"]["questions"][0]["answer"].is_null());
        assert_eq!(full["content"]["questions"][0]["answered"], true);
        no_personal_data("a full view without personal data", &full);
    }
    let referral =
        &view(&service, &t.de_coordinator, None).await["content"]["referralParticipation"];
    assert_eq!(referral.as_array().unwrap().len(), 2, "{referral}");

    // A basic user and a linked authority: the monitoring view only, no content.
    for token in [&t.de_basic, &t.de_linked] {
        let monitoring = view(&service, token, None).await;
        assert_eq!(monitoring["viewLevel"], "MONITORING", "{monitoring}");
        assert!(monitoring["content"].is_null());
        assert_eq!(monitoring["respondingAuthority"], "fr-ca");
        assert!(monitoring["closedAt"].is_string());
        no_personal_data("a monitoring view", &monitoring);
        let listed = service.graphql(Some(token), None, LIST, json!({})).await;
        assert_eq!(
            listed["data"]["informationRequests"]["edges"][0]["node"]["viewLevel"],
            "MONITORING"
        );
        no_personal_data("a monitoring list", &listed);
    }

    // The attachment's bytes: only with personal data.
    let get = |token: &str| {
        http.get(format!("{url}/{sha256}"))
            .bearer_auth(token)
            .send()
    };
    for token in [&t.de_handler, &t.fr_handler] {
        let answer = get(token).await.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["content-type"], "application/pdf");
        assert_eq!(answer.bytes().await.unwrap().to_vec(), pdf);
    }
    for token in [&t.fr_allocator, &t.de_basic] {
        assert_eq!(get(token).await.unwrap().status(), 403);
    }

    // The allocators' report: no personal data.
    let report = service
        .graphql(
            Some(&t.fr_allocator),
            None,
            "{ allocatorReport { requestId side status handlers questions answered } }",
            json!({}),
        )
        .await;
    assert_eq!(
        report["data"]["allocatorReport"],
        json!([{ "requestId": "r-1", "side": "responding", "status": "Closed",
                 "handlers": ["fr-handler"], "questions": 2, "answered": 2 }])
    );
    no_personal_data("the allocators' report", &report);
    let not_allocator = service
        .graphql(
            Some(&t.de_handler),
            None,
            "{ allocatorReport { requestId } }",
            json!({}),
        )
        .await;
    assert_eq!(
        not_allocator["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );

    // Nothing awaits anyone once the request is closed.
    let inbox = service
        .graphql(
            Some(&t.de_handler),
            None,
            "{ requestInbox { edges { node { requestId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(inbox["data"]["requestInbox"]["edges"], json!([]));
}

const NOTIFICATIONS: &str = "{ notifications(first: 50) { edges { node { kind aggregateId } } } }";

/// The error code and message a query or mutation answers.
fn error_of(answer: &Value) -> (Value, Value) {
    (
        answer["errors"][0]["extensions"]["code"].clone(),
        answer["errors"][0]["message"].clone(),
    )
}

/// A request drafted and withdrawn without ever being sent never reaches the responding
/// side: no view, no list row, no inbox entry, no notification, no mail; a mutation on it
/// from there answers exactly as for an unknown id. And a draft only lists attachments
/// stored for that request, with the stored size and type.
#[tokio::test]
async fn a_request_never_sent_exists_for_the_requesting_side_only() {
    let service = start().await;
    service.start_sender();
    let t = scene(&service).await;

    // A draft may not list what was never uploaded, nor misstate what was.
    let never_uploaded = "ab".repeat(32);
    let draft = |attachments: Value| {
        json!({
            "requestId": "r-2",
            "area": "PQ",
            "content": {
                "questionSet": "PQ-GEN",
                "questions": ["PQ-GEN-01"],
                "subject": { "name": SUBJECT },
                "attachments": attachments,
                "proposedAnswerDate": "2030-06-01",
                "respondingAuthority": "fr-ca"
            }
        })
    };
    refused(
        &service,
        &t.de_handler,
        "draftRequest",
        "DraftRequestInput",
        draft(json!([{ "sha256": never_uploaded, "name": "cv.pdf" }])),
        "BAD_USER_INPUT",
    )
    .await;
    let http = reqwest::Client::new();
    let stored: Value = http
        .put(format!("{}/requests/r-2/attachments", service.base))
        .bearer_auth(&t.de_handler)
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.7 a certificate".to_vec())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sha256 = stored["sha256"].as_str().unwrap().to_string();
    refused(
        &service,
        &t.de_handler,
        "draftRequest",
        "DraftRequestInput",
        draft(json!([{ "sha256": sha256, "size": 1, "name": "certificate.pdf" }])),
        "BAD_USER_INPUT",
    )
    .await;
    // Nothing was written by the refusals.
    let none = service
        .graphql(Some(&t.de_handler), None, VIEW, json!({ "id": "r-2" }))
        .await;
    assert_eq!(
        none["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{none}"
    );
    step(
        &service,
        &t.de_handler,
        "draftRequest",
        "DraftRequestInput",
        draft(json!([{ "sha256": sha256, "name": "certificate.pdf" }])),
    )
    .await;
    let own = service
        .graphql(Some(&t.de_handler), None, VIEW, json!({ "id": "r-2" }))
        .await;
    let attachment = &own["data"]["informationRequest"]["content"]["attachments"][0];
    assert_eq!(attachment["sha256"], sha256.as_str(), "{own}");
    let sized = service
        .graphql(
            Some(&t.de_handler),
            None,
            "query($id: ID!) { informationRequest(id: $id) { content { attachments { size mediaType } } } }",
            json!({ "id": "r-2" }),
        )
        .await;
    assert_eq!(
        sized["data"]["informationRequest"]["content"]["attachments"][0],
        json!({ "size": 22, "mediaType": "application/pdf" }),
        "{sized}"
    );

    step(
        &service,
        &t.de_handler,
        "withdrawRequest",
        "RequestReasonInput",
        json!({ "requestId": "r-2", "reason": "drafted by mistake", "waitFor": [
            "request_monitoring", "request_full", "request_inbox", "notifications"
        ] }),
    )
    .await;

    // The requesting side still reads it.
    let own = service
        .graphql(Some(&t.de_basic), None, VIEW, json!({ "id": "r-2" }))
        .await;
    assert_eq!(
        own["data"]["informationRequest"]["status"], "WITHDRAWN",
        "{own}"
    );
    for token in [&t.fr_allocator, &t.fr_handler, &t.fr_coordinator] {
        let hidden = service
            .graphql(Some(token), None, VIEW, json!({ "id": "r-2" }))
            .await;
        let unknown = service
            .graphql(Some(token), None, VIEW, json!({ "id": "r-unknown" }))
            .await;
        assert_eq!(error_of(&hidden), error_of(&unknown), "{hidden}");
        assert_eq!(error_of(&hidden).0, "NOT_FOUND");
        let list = service.graphql(Some(token), None, LIST, json!({})).await;
        assert_eq!(
            list["data"]["informationRequests"]["edges"],
            json!([]),
            "{list}"
        );
        let inbox = service
            .graphql(
                Some(token),
                None,
                "{ requestInbox { edges { node { requestId } } } }",
                json!({}),
            )
            .await;
        assert_eq!(inbox["data"]["requestInbox"]["edges"], json!([]), "{inbox}");
        let told = service
            .graphql(Some(token), None, NOTIFICATIONS, json!({}))
            .await;
        assert!(
            !told.to_string().contains("r-2"),
            "the responding side was told: {told}"
        );
        // A step on it answers exactly as a step on an unknown request.
        let on_hidden = service
            .graphql(
                Some(token),
                None,
                "mutation { acceptRequest(input: { requestId: \"r-2\" }) { requestId } }",
                json!({}),
            )
            .await;
        let on_unknown = service
            .graphql(
                Some(token),
                None,
                "mutation { acceptRequest(input: { requestId: \"r-unknown\" }) { requestId } }",
                json!({}),
            )
            .await;
        assert_eq!(error_of(&on_hidden), error_of(&on_unknown), "{on_hidden}");
        // Its attachment is as unknown as any.
        let download = http
            .get(format!(
                "{}/requests/r-2/attachments/{sha256}",
                service.base
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(download.status(), 404);
    }
    // Each Member State's auditor: the requesting side's reads the draft's history, the
    // other's finds it as unknown as a missing one.
    const HISTORY: &str = "query($e: String!) { exchangeHistory(exchange: $e) {
        edges { node { aggregateId sequence eventType payload actingUser } } } }";
    for ms in ["de", "fr"] {
        let (authority, lda) = (format!("nimic-{ms}"), format!("user-nimic-{ms}-lda"));
        exec(
            &service,
            &authority,
            &user(&lda, &authority),
            AuthorityCommand::GrantUserRoles {
                user_id: lda.clone(),
                area: pq(),
                roles: [UserRole::Auditor].into_iter().collect(),
            },
        )
        .await;
    }
    let (de_auditor, fr_auditor) = (&t.de_coordinator, &t.fr_coordinator);
    let history = service
        .graphql(
            Some(de_auditor),
            None,
            HISTORY,
            json!({ "e": "InformationRequest/r-2" }),
        )
        .await;
    let events = history["data"]["exchangeHistory"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(
        events[0]["node"]["eventType"], "RequestDrafted",
        "{history}"
    );
    assert_eq!(
        events.last().unwrap()["node"]["eventType"],
        "RequestWithdrawn",
        "{history}"
    );
    assert!(!history.to_string().contains(SUBJECT), "{history}");
    let hidden = service
        .graphql(
            Some(fr_auditor),
            None,
            HISTORY,
            json!({ "e": "InformationRequest/r-2" }),
        )
        .await;
    let unknown = service
        .graphql(
            Some(fr_auditor),
            None,
            HISTORY,
            json!({ "e": "InformationRequest/r-9" }),
        )
        .await;
    assert_eq!(error_of(&hidden), error_of(&unknown), "{hidden}");
    assert_eq!(error_of(&hidden).0, "NOT_FOUND");
    // Uploading to its id answers as drafting with that id does: the id is taken, no more.
    let upload = http
        .put(format!("{}/requests/r-2/attachments", service.base))
        .bearer_auth(&t.fr_handler)
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.7 probing".to_vec())
        .send()
        .await
        .unwrap();
    let status = upload.status();
    let upload: Value = upload.json().await.unwrap();
    assert_eq!(status, 400, "{upload}");
    let draft_taken = service
        .graphql(
            Some(&t.fr_handler),
            None,
            "mutation($input: DraftRequestInput!) { draftRequest(input: $input) { requestId } }",
            json!({ "input": draft(json!([])) }),
        )
        .await;
    assert_eq!(error_of(&upload), error_of(&draft_taken), "{upload}");
    // Every opening of personal data is in the processing log, once per reading; a reader
    // without personal data leaves nothing there.
    let readings = |user: &str| {
        let pool = service.services.pool.clone();
        let user = format!("user:{user}");
        async move {
            imi_store::processing_log::entries(
                &pool,
                &imi_store::processing_log::Filter {
                    exchange: Some("InformationRequest/r-2".into()),
                    acting_user: Some(user),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
        }
    };
    // The draft's personal data were written once, by the drafting handler.
    let writes: Vec<_> = readings("de-handler")
        .await
        .into_iter()
        .filter(|e| e.kind == "write")
        .collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].operation, "InformationRequest.Draft");
    assert_eq!(
        writes[0].fields,
        ["content.attachments.name", "content.subject"]
    );
    let before = readings("de-handler").await.len();
    service
        .graphql(Some(&t.de_handler), None, VIEW, json!({ "id": "r-2" }))
        .await;
    let after = readings("de-handler").await;
    assert_eq!(after.len(), before + 1, "{after:?}");
    let last = after.last().unwrap();
    assert_eq!(last.operation, "request.content");
    assert_eq!(last.kind, "read");
    assert_eq!(last.level.as_deref(), Some("FullWithPersonalData"));
    assert!(last.fields.contains(&"subject".to_string()), "{last:?}");
    assert_eq!(last.acting_authority.as_deref(), Some("de-ca"));
    let download = http
        .get(format!(
            "{}/requests/r-2/attachments/{sha256}",
            service.base
        ))
        .bearer_auth(&t.de_handler)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let after = readings("de-handler").await;
    assert_eq!(after.last().unwrap().operation, "attachment.download");
    assert_eq!(
        after.last().unwrap().fields,
        [format!("attachment:{sha256}")]
    );
    service
        .graphql(Some(&t.de_basic), None, VIEW, json!({ "id": "r-2" }))
        .await;
    assert!(readings("de-basic").await.is_empty());
    let chains = imi_store::processing_log::verify(&service.services.pool)
        .await
        .unwrap();
    assert_eq!(chains.first_broken, None);

    // The requester's own side was told nothing it should not be either; no mail left for
    // the responding side.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for mail in service.smtp.received() {
        assert!(
            !mail.data.contains("r-2"),
            "a mail about r-2: {}",
            mail.data
        );
    }
    service.stop_sender().await;
}
