//! Need to know, as a property: random valid sequences of request and alert steps run over
//! GraphQL against the whole service; after every step every user of the scene asks every
//! query (views, lists, inbox, queue, allocators' report, statistics, notifications, history,
//! attachments) and the mails written so far are read. An oracle computed from this file's own
//! model of the scene (not from the service's policy) says what each user may know:
//! - no personal-data marker shows beyond the level the caller should have;
//! - no exchange id reaches a user (or a mailbox) with no right to it;
//! - an exchange the caller may not see answers exactly like an unknown id.
//!
//! The oracle is an upper bound: the service may show less, never more.
//!
//! Cases: `PROPTEST_CASES` (default 8), from a fixed seed.
//!
//! | authority | Member State | requests (PQ) | alerts (SD) | users |
//! |---|---|---|---|---|
//! | `nimic-de` | DE | request coordinator | incoming postbox | LDA (all coordinator roles), basic |
//! | `de-ca` | DE | approval of new requests on; `de-linked` linked | alert authority | LDA, handler, viewer |
//! | `de-linked` | DE | request authority | - | LDA |
//! | `de-other` | DE | request authority (unrelated) | alert authority | LDA, handler |
//! | `nimic-fr` | FR | request coordinator | incoming postbox | LDA |
//! | `fr-ca` | FR | allocation on | alert authority | LDA, two request handlers, allocator, alert handler |
//! | `nimic-at` | AT | request coordinator | incoming postbox | LDA, alert viewer |
//! | `at-ca` | AT | request authority | alert authority | LDA, handler, viewer |

use crate::harness::{start, Service};
use crate::requests::{competent_authority, coordinator, exec, log_in, pq, sign_in, user};
use imi_domain::authority::{
    AuthorityCommand, Flag, LegislativeArea, UserRole, Workflow, WorkflowRole, WorkflowSetup,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const SEED: [u8; 32] = *b"imi-need-to-know-property-seed!!";

use UserRole::{
    AlertDisseminator as AD, AlertHandler as AH, AlertViewer as AV, Allocator as AL,
    DataAdministrator as DA, ReferralHandler as RF, RequestHandler as RH, RequestViewer as RV,
};

/// A user of the scene and its roles in PQ (requests) and SD (alerts).
struct Person {
    user: &'static str,
    authority: &'static str,
    pq: &'static [UserRole],
    sd: &'static [UserRole],
}

const fn p(
    user: &'static str,
    authority: &'static str,
    pq: &'static [UserRole],
    sd: &'static [UserRole],
) -> Person {
    Person {
        user,
        authority,
        pq,
        sd,
    }
}

const PEOPLE: &[Person] = &[
    p(
        "user-nimic-de-lda",
        "nimic-de",
        &[DA, RH, RF],
        &[DA, AH, AD],
    ),
    p("nimic-de-basic", "nimic-de", &[], &[]),
    p("de-ca-lda", "de-ca", &[], &[]),
    p("de-handler", "de-ca", &[RH], &[AH]),
    p("de-viewer", "de-ca", &[RV], &[AV]),
    p("de-linked-lda", "de-linked", &[], &[]),
    p("de-other-lda", "de-other", &[], &[]),
    p("de-other-h", "de-other", &[RH], &[AH]),
    p(
        "user-nimic-fr-lda",
        "nimic-fr",
        &[DA, RH, RF],
        &[DA, AH, AD],
    ),
    p("fr-ca-lda", "fr-ca", &[], &[]),
    p("fr-handler", "fr-ca", &[RH], &[]),
    p("fr-handler2", "fr-ca", &[RH], &[]),
    p("fr-allocator", "fr-ca", &[AL], &[]),
    p("fr-alert", "fr-ca", &[], &[AH]),
    p(
        "user-nimic-at-lda",
        "nimic-at",
        &[DA, RH, RF],
        &[DA, AH, AD],
    ),
    p("nimic-at-viewer", "nimic-at", &[], &[AV]),
    p("at-ca-lda", "at-ca", &[], &[]),
    p("at-handler", "at-ca", &[RH], &[AH]),
    p("at-viewer", "at-ca", &[RV], &[AV]),
];

const STATES: [&str; 3] = ["DE", "FR", "AT"];

fn member_state(authority: &str) -> &'static str {
    match authority
        .strip_prefix("nimic-")
        .unwrap_or(authority)
        .get(..2)
    {
        Some("de") => "DE",
        Some("fr") => "FR",
        _ => "AT",
    }
}

fn nimic(ms: &str) -> String {
    format!("nimic-{}", ms.to_ascii_lowercase())
}

fn lda_of(authority: &str) -> &'static str {
    match authority {
        "nimic-de" => "user-nimic-de-lda",
        "nimic-fr" => "user-nimic-fr-lda",
        _ => "user-nimic-at-lda",
    }
}

/// The competent authority of a Member State that takes part in alerts, and its alert handler.
fn alert_authority(ms: &str) -> (&'static str, &'static str) {
    match ms {
        "DE" => ("de-ca", "de-handler"),
        "FR" => ("fr-ca", "fr-alert"),
        _ => ("at-ca", "at-handler"),
    }
}

fn sd() -> LegislativeArea {
    LegislativeArea::parse("SD").unwrap()
}

fn setup(role: WorkflowRole, linked: &str) -> BTreeMap<Workflow, WorkflowSetup> {
    let workflow = if matches!(role, WorkflowRole::RequestAuthority) {
        Workflow::Requests
    } else {
        Workflow::Alerts
    };
    BTreeMap::from([(
        workflow,
        WorkflowSetup {
            role,
            linked_coordinators: BTreeSet::from([linked.to_string()]),
        },
    )])
}

/// Builds the scene of the table above; returns each user's token.
async fn scene(service: &Service) -> BTreeMap<&'static str, String> {
    let mut tokens = BTreeMap::new();
    for (ms, name) in [
        ("DE", "Bundesverwaltungsamt"),
        ("FR", "Secrétariat général des affaires européennes"),
        ("AT", "Bundeskanzleramt"),
    ] {
        let account = coordinator(service, ms, name).await;
        let da = user(&account.user_id, &account.authority_id);
        let id = account.authority_id.as_str();
        let roles = |area: LegislativeArea, roles: &[UserRole]| AuthorityCommand::GrantUserRoles {
            user_id: account.user_id.clone(),
            area,
            roles: roles.iter().copied().collect(),
        };
        exec(service, id, &da, roles(sd(), &[DA])).await;
        exec(
            service,
            id,
            &da,
            AuthorityCommand::GrantAreaAccess {
                area: sd(),
                workflows: setup(WorkflowRole::IncomingAlertPostbox, id),
            },
        )
        .await;
        exec(service, id, &da, roles(sd(), &[AH, AD])).await;
        let others: &[&str] = match ms {
            "DE" => &["de-ca", "de-linked", "de-other"],
            "FR" => &["fr-ca"],
            _ => &["at-ca"],
        };
        for authority in others {
            let users: Vec<(&str, Option<UserRole>)> = PEOPLE
                .iter()
                .filter(|p| p.authority == *authority && !p.user.ends_with("-lda"))
                .map(|p| (p.user, None))
                .collect();
            let lda = competent_authority(service, &da, id, authority, &users).await;
            if *authority != "de-linked" {
                exec(
                    service,
                    authority,
                    &da,
                    AuthorityCommand::GrantAreaAccess {
                        area: sd(),
                        workflows: setup(WorkflowRole::AlertAuthority, id),
                    },
                )
                .await;
            }
            for person in PEOPLE.iter().filter(|p| p.authority == *authority) {
                for (area, roles) in [(pq(), person.pq), (sd(), person.sd)] {
                    if !roles.is_empty() {
                        exec(
                            service,
                            authority,
                            &lda,
                            AuthorityCommand::GrantUserRoles {
                                user_id: person.user.into(),
                                area,
                                roles: roles.iter().copied().collect(),
                            },
                        )
                        .await;
                    }
                }
            }
        }
        // The coordinator's own further users.
        for person in PEOPLE
            .iter()
            .filter(|p| p.authority == id && p.user != account.user_id)
        {
            exec(
                service,
                id,
                &da,
                AuthorityCommand::RegisterUser {
                    user: crate::requests::new_user(service, person.user).await,
                    local_data_administrator: false,
                },
            )
            .await;
            if !person.sd.is_empty() {
                exec(
                    service,
                    id,
                    &da,
                    AuthorityCommand::GrantUserRoles {
                        user_id: person.user.into(),
                        area: sd(),
                        roles: person.sd.iter().copied().collect(),
                    },
                )
                .await;
            }
        }
        tokens.insert(
            lda_of(id),
            log_in(service, &account.login, &account.password).await,
        );
    }
    exec(
        service,
        "de-ca",
        &user("de-ca-lda", "de-ca"),
        AuthorityCommand::LinkAuthority {
            authority_id: "de-linked".into(),
        },
    )
    .await;
    exec(
        service,
        "de-ca",
        &user("user-nimic-de-lda", "nimic-de"),
        AuthorityCommand::SetFlag {
            area: pq(),
            workflow: Workflow::Requests,
            flag: Flag::ApprovalOfNewRequests,
            enabled: true,
        },
    )
    .await;
    exec(
        service,
        "fr-ca",
        &user("fr-ca-lda", "fr-ca"),
        AuthorityCommand::SetFlag {
            area: pq(),
            workflow: Workflow::Requests,
            flag: Flag::Allocation,
            enabled: true,
        },
    )
    .await;
    for person in PEOPLE {
        if !tokens.contains_key(person.user) {
            tokens.insert(
                person.user,
                sign_in(service, person.user, person.authority).await,
            );
        }
    }
    tokens
}

fn person(user: &str) -> &'static Person {
    PEOPLE
        .iter()
        .find(|p| p.user == user)
        .expect("a user of the scene")
}

// ---------------------------------------------------------------------------------------------
// The model.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RStatus {
    Draft,
    AwaitingApproval,
    Sent,
    Accepted,
    PartiallyAnswered,
    Answered,
    AdditionalInformation,
    InReferral,
    Closed,
    Withdrawn,
}

struct Request {
    id: String,
    requesting: &'static str,
    responding: &'static str,
    status: RStatus,
    dispatched: bool,
    /// The responding handler assigned (fr-ca uses allocation).
    assigned: Option<&'static str>,
    answered: BTreeSet<&'static str>,
    additional_asked: bool,
    maintained: bool,
    referral: Option<BTreeMap<String, Option<bool>>>,
    opinions: BTreeSet<String>,
    sha256: String,
}

impl Request {
    fn requester(&self) -> &'static str {
        match self.requesting {
            "de-ca" => "de-handler",
            _ => "at-handler",
        }
    }
    fn responder(&self) -> Option<&'static str> {
        match self.responding {
            "fr-ca" => self.assigned,
            "at-ca" => Some("at-handler"),
            _ => Some("de-other-h"),
        }
    }
    fn requesting_coordinator(&self) -> String {
        nimic(member_state(self.requesting))
    }
    fn responding_coordinator(&self) -> String {
        nimic(member_state(self.responding))
    }
    fn ended(&self) -> bool {
        matches!(self.status, RStatus::Closed | RStatus::Withdrawn)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AStatus {
    Draft,
    Submitted,
    SentBack,
    Broadcast,
    ClosureProposed,
    ProposalBroadcast,
    Withdrawn,
}

struct Information {
    id: String,
    author: &'static str,
    broadcast: bool,
}

struct Alert {
    id: String,
    initiating: &'static str,
    mse: Option<&'static str>,
    status: AStatus,
    submitted: bool,
    /// Recipient Member States and whether their postbox acknowledged.
    recipient_states: BTreeMap<&'static str, bool>,
    recipients: BTreeSet<&'static str>,
    information: Vec<Information>,
    closing: Option<String>,
    objected: BTreeSet<&'static str>,
}

impl Alert {
    fn ms(&self) -> &'static str {
        member_state(self.initiating)
    }
    fn responsible(&self) -> &'static str {
        self.mse.unwrap_or(self.ms())
    }
    fn involved(&self, authority: &str) -> bool {
        authority == self.initiating
            || (self.submitted && authority == nimic(self.ms()))
            || self
                .recipient_states
                .keys()
                .any(|ms| authority == nimic(ms))
            || self.recipients.contains(authority)
            || self.closing.as_deref() == Some(authority)
    }
    fn open(&self) -> bool {
        matches!(
            self.status,
            AStatus::Broadcast | AStatus::ClosureProposed | AStatus::ProposalBroadcast
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RLevel {
    Monitoring,
    Full,
    Personal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ALevel {
    High,
    Reduced,
    Personal,
}

/// Who may read a marker.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Personal data of request `n`.
    RequestPersonal(usize),
    /// A reason of request `n`, in clear: the full view.
    RequestReason(usize),
    /// A send-back reason of request `n`: the requesting side's full view.
    RequestingSideReason(usize),
    /// Personal data of alert `n`.
    AlertPersonal(usize),
    /// A text of alert `n` that stays in the Member State.
    AlertInState(usize, &'static str),
    /// Information `i` of alert `n`: in its author's Member State until broadcast.
    AlertInformation(usize, usize),
    /// The closure proposal of alert `n`: in the responsible Member State until broadcast.
    AlertProposal(usize),
}

#[derive(Default)]
struct Model {
    requests: Vec<Request>,
    alerts: Vec<Alert>,
    markers: Vec<(String, Rule)>,
    proposal_broadcast: BTreeSet<usize>,
    /// What was issued, for the failure report.
    log: Vec<String>,
    refused: usize,
    done: usize,
}

impl Model {
    fn marker(&mut self, rule: Rule) -> String {
        let text = format!("PDM{:03}X", self.markers.len());
        self.markers.push((text.clone(), rule));
        text
    }

    fn request_level(&self, user: &str, r: &Request) -> Option<RLevel> {
        use RLevel::*;
        let who = person(user);
        let a = who.authority;
        let has = |role: UserRole| who.pq.contains(&role);
        let mut level = None;
        let mut raise = |to: RLevel| level = level.max(Some(to));
        let party = |authority: &str, assigned_ok: bool, raise: &mut dyn FnMut(RLevel)| {
            if a == authority {
                raise(Monitoring);
                if has(AL) {
                    raise(Full);
                }
                if has(RV) || (has(RH) && assigned_ok) {
                    raise(Personal);
                }
            }
        };
        party(r.requesting, true, &mut raise);
        if r.dispatched {
            let ok = r.responding != "fr-ca" || r.assigned == Some(user);
            party(r.responding, ok, &mut raise);
        }
        // Watchers: the linked coordinators, and de-ca's linked authority.
        let watchers = |authority: &str| {
            let mut w = vec![nimic(member_state(authority))];
            if authority == "de-ca" {
                w.push("de-linked".into());
            }
            w
        };
        if watchers(r.requesting).iter().any(|w| w == a)
            || (r.dispatched && watchers(r.responding).iter().any(|w| w == a))
        {
            raise(Monitoring);
        }
        if r.requesting == "de-ca" && a == r.requesting_coordinator() && has(RH) {
            raise(Full);
        }
        if r.referral.is_some()
            && (a == r.requesting_coordinator() || a == r.responding_coordinator())
            && has(RF)
        {
            raise(Full);
        }
        level
    }

    fn requesting_side(&self, authority: &str, r: &Request) -> bool {
        authority == r.requesting
            || authority == r.requesting_coordinator()
            || (r.requesting == "de-ca" && authority == "de-linked")
    }

    fn alert_level(&self, user: &str, alert: &Alert) -> Option<ALevel> {
        let who = person(user);
        if who.authority == "de-linked" || !alert.involved(who.authority) {
            return None;
        }
        if who.sd.iter().all(|r| ![AH, AD, AV].contains(r)) {
            return Some(ALevel::High);
        }
        if alert.status == AStatus::Withdrawn {
            return Some(ALevel::Reduced);
        }
        Some(ALevel::Personal)
    }

    fn may_read(&self, user: &str, rule: Rule) -> bool {
        let ms = member_state(person(user).authority);
        match rule {
            Rule::RequestPersonal(n) => {
                self.request_level(user, &self.requests[n]) == Some(RLevel::Personal)
            }
            Rule::RequestReason(n) => {
                self.request_level(user, &self.requests[n]) >= Some(RLevel::Full)
            }
            Rule::RequestingSideReason(n) => {
                let r = &self.requests[n];
                self.request_level(user, r) >= Some(RLevel::Full)
                    && self.requesting_side(person(user).authority, r)
            }
            Rule::AlertPersonal(n) => {
                self.alert_level(user, &self.alerts[n]) == Some(ALevel::Personal)
            }
            Rule::AlertInState(n, state) => {
                self.alert_level(user, &self.alerts[n]) == Some(ALevel::Personal) && ms == state
            }
            Rule::AlertInformation(n, i) => {
                let info = &self.alerts[n].information[i];
                self.alert_level(user, &self.alerts[n]) == Some(ALevel::Personal)
                    && (info.broadcast || ms == member_state(info.author))
            }
            Rule::AlertProposal(n) => {
                self.alert_level(user, &self.alerts[n]) == Some(ALevel::Personal)
                    && (self.proposal_broadcast.contains(&n) || ms == self.alerts[n].responsible())
            }
        }
    }

    /// Whether some user of `authority` may know of the exchange with `id`.
    fn authority_knows(&self, authority: &str, id: &str) -> bool {
        PEOPLE.iter().filter(|p| p.authority == authority).any(|p| {
            self.requests
                .iter()
                .any(|r| r.id == id && self.request_level(p.user, r).is_some())
                || self
                    .alerts
                    .iter()
                    .any(|a| a.id == id && self.alert_level(p.user, a).is_some())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Steps.

/// A step as issued: who, which mutation, its input.
struct Call {
    user: &'static str,
    field: &'static str,
    input_type: &'static str,
    selection: &'static str,
    input: Value,
}

fn call(user: &'static str, field: &'static str, input_type: &'static str, input: Value) -> Call {
    Call {
        user,
        field,
        input_type,
        selection: "waited",
        input,
    }
}

/// What a step changes in the model once the service accepted it.
type Effect = Box<dyn FnOnce(&mut Model, &Value)>;

/// The steps valid in the model's state, each with its effect.
fn valid_steps(model: &mut Model, param: u8) -> Vec<(Call, Effect)> {
    let mut steps: Vec<(Call, Effect)> = Vec::new();
    let bit = param & 1 == 1;
    // Requests.
    if model.requests.len() < 3 {
        let pairs = [
            ("de-ca", "fr-ca"),
            ("at-ca", "fr-ca"),
            ("de-ca", "at-ca"),
            ("at-ca", "de-other"),
        ];
        let (requesting, responding) = pairs[param as usize % pairs.len()];
        let n = model.requests.len();
        let id = format!("npreq{:02}", n + 1);
        let subject = model.marker(Rule::RequestPersonal(n));
        let free = model.marker(Rule::RequestPersonal(n));
        let name = model.marker(Rule::RequestPersonal(n));
        let requester = if requesting == "de-ca" {
            "de-handler"
        } else {
            "at-handler"
        };
        let input = json!({
            "requestId": id, "area": "PQ",
            "content": {
                "questionSet": "PQ-GEN", "questions": ["PQ-GEN-01", "PQ-GEN-02"],
                "freeText": free, "subject": { "name": subject, "birthDate": "1979-04-02" },
                "attachments": [{ "sha256": "<stored>", "name": name }],
                "proposedAnswerDate": "2030-06-01", "respondingAuthority": responding
            }
        });
        let id2 = id.clone();
        steps.push((
            call(requester, "draftRequest", "DraftRequestInput", input),
            Box::new(move |m, stored| {
                m.requests.push(Request {
                    id: id2,
                    requesting,
                    responding,
                    status: RStatus::Draft,
                    dispatched: false,
                    assigned: None,
                    answered: BTreeSet::new(),
                    additional_asked: false,
                    maintained: false,
                    referral: None,
                    opinions: BTreeSet::new(),
                    sha256: stored.as_str().unwrap_or_default().to_string(),
                })
            }),
        ));
    }
    for n in 0..model.requests.len() {
        let r = &model.requests[n];
        let id = r.id.clone();
        let by_id = json!({ "requestId": id });
        let set = move |status: RStatus| -> Effect {
            Box::new(move |m: &mut Model, _: &Value| {
                let r = &mut m.requests[n];
                r.status = status;
                if status == RStatus::Sent {
                    r.dispatched = true;
                }
            })
        };
        match r.status {
            RStatus::Draft => {
                let next = if r.requesting == "de-ca" {
                    RStatus::AwaitingApproval
                } else {
                    RStatus::Sent
                };
                steps.push((
                    call(
                        r.requester(),
                        "sendRequest",
                        "RequestStepInput",
                        by_id.clone(),
                    ),
                    set(next),
                ));
            }
            RStatus::AwaitingApproval => {
                steps.push((
                    call(
                        "user-nimic-de-lda",
                        "approveRequest",
                        "RequestStepInput",
                        by_id.clone(),
                    ),
                    set(RStatus::Sent),
                ));
                let reason = model.marker(Rule::RequestingSideReason(n));
                steps.push((
                    call(
                        "user-nimic-de-lda",
                        "sendBackRequest",
                        "RequestReasonInput",
                        json!({ "requestId": id, "reason": reason }),
                    ),
                    set(RStatus::Draft),
                ));
            }
            _ => {}
        }
        let r = &model.requests[n];
        // Offered one time in eight: otherwise withdrawals end most workflows early.
        if !r.ended() && param.is_multiple_of(8) {
            let reason = model.marker(Rule::RequestReason(n));
            let r = &model.requests[n];
            steps.push((
                call(
                    r.requester(),
                    "withdrawRequest",
                    "RequestReasonInput",
                    json!({ "requestId": id, "reason": reason }),
                ),
                set(RStatus::Withdrawn),
            ));
        }
        let r = &model.requests[n];
        if r.dispatched && !r.ended() && r.responding == "fr-ca" {
            let handler = if bit { "fr-handler2" } else { "fr-handler" };
            steps.push((
                call(
                    "fr-allocator",
                    "assignRequest",
                    "AssignRequestInput",
                    json!({ "requestId": id, "handlers": [handler] }),
                ),
                Box::new(move |m, _| m.requests[n].assigned = Some(handler)),
            ));
        }
        let Some(responder) = r.responder() else {
            continue;
        };
        let requester = r.requester();
        let answer = |m: &mut Model, q: &str| json!({ "questionId": q, "text": m.marker(Rule::RequestPersonal(n)) });
        match model.requests[n].status {
            RStatus::Sent => steps.push((
                call(
                    responder,
                    "acceptRequest",
                    "AcceptRequestInput",
                    by_id.clone(),
                ),
                set(RStatus::Accepted),
            )),
            RStatus::Accepted | RStatus::PartiallyAnswered | RStatus::AdditionalInformation => {
                let r = &model.requests[n];
                if r.status == RStatus::Accepted {
                    let a = answer(model, "PQ-GEN-01");
                    steps.push((
                        call(
                            responder,
                            "replyPartially",
                            "ReplyInput",
                            json!({ "requestId": id, "answers": [a] }),
                        ),
                        Box::new(move |m, _| {
                            m.requests[n].answered.insert("PQ-GEN-01");
                            m.requests[n].status = RStatus::PartiallyAnswered;
                        }),
                    ));
                }
                let r = &model.requests[n];
                let mut questions: Vec<&str> = ["PQ-GEN-01", "PQ-GEN-02"]
                    .into_iter()
                    .filter(|q| !r.answered.contains(q))
                    .collect();
                if questions.is_empty() {
                    questions.push("PQ-GEN-01");
                }
                let answers: Vec<Value> = questions.iter().map(|q| answer(model, q)).collect();
                steps.push((
                    call(
                        responder,
                        "replyToRequest",
                        "ReplyInput",
                        json!({ "requestId": id, "answers": answers }),
                    ),
                    Box::new(move |m, _| {
                        let r = &mut m.requests[n];
                        r.answered.extend(["PQ-GEN-01", "PQ-GEN-02"]);
                        r.status = RStatus::Answered;
                    }),
                ));
                if model.requests[n].status == RStatus::AdditionalInformation {
                    let comment = model.marker(Rule::RequestPersonal(n));
                    steps.push((
                        call(
                            responder,
                            "maintainReply",
                            "MaintainReplyInput",
                            json!({ "requestId": id, "comment": comment }),
                        ),
                        Box::new(move |m, _| {
                            m.requests[n].maintained = true;
                            m.requests[n].status = RStatus::Answered;
                        }),
                    ));
                }
            }
            RStatus::Answered => {
                let r = &model.requests[n];
                let (asked, maintained, referral) =
                    (r.additional_asked, r.maintained, r.referral.is_some());
                if !asked && !referral {
                    let justification = model.marker(Rule::RequestPersonal(n));
                    steps.push((
                        call(
                            requester,
                            "requestAdditionalInformation",
                            "AdditionalInformationInput",
                            json!({ "requestId": id, "justification": justification,
                                    "questions": ["PQ-GEN-01"] }),
                        ),
                        Box::new(move |m, _| {
                            m.requests[n].additional_asked = true;
                            m.requests[n].status = RStatus::AdditionalInformation;
                        }),
                    ));
                }
                if maintained && !referral {
                    steps.push((
                        call(requester, "openReferral", "RequestStepInput", by_id.clone()),
                        Box::new(move |m, _| {
                            let r = &mut m.requests[n];
                            r.referral = Some(BTreeMap::from([
                                (r.requesting_coordinator(), None),
                                (r.responding_coordinator(), None),
                            ]));
                            r.status = RStatus::InReferral;
                        }),
                    ));
                }
                steps.push((
                    call(requester, "closeRequest", "RequestStepInput", by_id.clone()),
                    set(RStatus::Closed),
                ));
            }
            RStatus::InReferral => {
                let referral = model.requests[n].referral.clone().unwrap_or_default();
                for (c, decided) in referral {
                    let lda = lda_of(&c);
                    let c2 = c.clone();
                    match decided {
                        None => steps.push((
                            call(
                                lda,
                                "decideReferralParticipation",
                                "ReferralParticipationInput",
                                json!({ "requestId": id, "participates": bit }),
                            ),
                            Box::new(move |m, _| {
                                m.requests[n]
                                    .referral
                                    .as_mut()
                                    .unwrap()
                                    .insert(c2, Some(bit));
                                conclude(&mut m.requests[n]);
                            }),
                        )),
                        Some(true) if !model.requests[n].opinions.contains(&c) => {
                            let opinion = model.marker(Rule::RequestPersonal(n));
                            steps.push((
                                call(
                                    lda,
                                    "giveReferralOpinion",
                                    "ReferralOpinionInput",
                                    json!({ "requestId": id, "opinion": opinion,
                                            "satisfactory": true }),
                                ),
                                Box::new(move |m, _| {
                                    m.requests[n].opinions.insert(c2);
                                    conclude(&mut m.requests[n]);
                                }),
                            ))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // Alerts.
    if model.alerts.len() < 2 {
        let initiating_ms = STATES[param as usize % 3];
        let (initiating, handler) = alert_authority(initiating_ms);
        let mse = match (param / 3) % 3 {
            0 => None,
            k => Some(
                STATES
                    .into_iter()
                    .filter(|s| *s != initiating_ms)
                    .nth(k as usize - 1)
                    .unwrap(),
            ),
        };
        let n = model.alerts.len();
        let provider = model.marker(Rule::AlertPersonal(n));
        let activity = model.marker(Rule::AlertPersonal(n));
        let attachment = model.marker(Rule::AlertPersonal(n));
        steps.push((
            Call {
                selection: "waited alertId",
                ..call(
                    handler,
                    "draftSdAlert",
                    "DraftSdAlertInput",
                    json!({ "alert": { "memberStateOfEstablishment": mse,
                        "dangerousActivity": activity, "serviceProvider": provider,
                        "attachmentNames": [attachment] } }),
                )
            },
            Box::new(move |m, answer| {
                m.alerts.push(Alert {
                    id: answer["alertId"].as_str().unwrap_or_default().to_string(),
                    initiating,
                    mse,
                    status: AStatus::Draft,
                    submitted: false,
                    recipient_states: BTreeMap::new(),
                    recipients: BTreeSet::new(),
                    information: Vec::new(),
                    closing: None,
                    objected: BTreeSet::new(),
                })
            }),
        ));
    }
    for n in 0..model.alerts.len() {
        let a = &model.alerts[n];
        let id = a.id.clone();
        let ms = a.ms();
        let (_, handler) = alert_authority(ms);
        let coordinator = nimic(ms);
        let coordinator_lda = lda_of(&coordinator);
        let set = move |status: AStatus| -> Effect {
            Box::new(move |m: &mut Model, _: &Value| m.alerts[n].status = status)
        };
        match a.status {
            AStatus::Draft | AStatus::SentBack => steps.push((
                call(
                    handler,
                    "submitAlert",
                    "SubmitAlertInput",
                    json!({ "alertId": id, "coordinatorId": coordinator }),
                ),
                Box::new(move |m, _| {
                    m.alerts[n].submitted = true;
                    m.alerts[n].status = AStatus::Submitted;
                }),
            )),
            AStatus::Submitted => {
                let text = model.marker(Rule::AlertInState(n, ms));
                steps.push((
                    call(
                        coordinator_lda,
                        "sendBackAlert",
                        "AlertTextInput",
                        json!({ "alertId": id, "text": text }),
                    ),
                    set(AStatus::SentBack),
                ));
                let others: Vec<&'static str> = STATES.into_iter().filter(|s| *s != ms).collect();
                let to: Vec<&'static str> = match param % 3 {
                    0 => vec![others[0]],
                    1 => vec![others[1]],
                    _ => others.clone(),
                };
                steps.push((
                    call(
                        coordinator_lda,
                        "broadcastAlert",
                        "AlertMemberStatesInput",
                        json!({ "alertId": id, "memberStates": to }),
                    ),
                    Box::new(move |m, _| {
                        let a = &mut m.alerts[n];
                        a.status = AStatus::Broadcast;
                        a.recipient_states = to.into_iter().map(|s| (s, false)).collect();
                    }),
                ));
            }
            _ => {}
        }
        let a = &model.alerts[n];
        if (matches!(a.status, AStatus::Submitted) || a.open()) && param.is_multiple_of(8) {
            let text = model.marker(Rule::AlertPersonal(n));
            steps.push((
                call(
                    handler,
                    "withdrawAlert",
                    "AlertTextInput",
                    json!({ "alertId": id, "text": text }),
                ),
                set(AStatus::Withdrawn),
            ));
        }
        let a = &model.alerts[n];
        if !a.open() {
            continue;
        }
        let states: Vec<(&'static str, bool)> =
            a.recipient_states.iter().map(|(s, k)| (*s, *k)).collect();
        for (state, acknowledged) in states {
            let postbox = nimic(state);
            let lda = lda_of(&postbox);
            let (authority, _) = alert_authority(state);
            if !acknowledged {
                steps.push((
                    call(
                        lda,
                        "acknowledgeAlert",
                        "AlertInput",
                        json!({ "alertId": id }),
                    ),
                    Box::new(move |m, _| {
                        m.alerts[n].recipient_states.insert(state, true);
                    }),
                ));
            } else if !model.alerts[n].recipients.contains(authority) {
                steps.push((
                    call(
                        lda,
                        "addAlertRecipients",
                        "AddAlertRecipientsInput",
                        json!({ "alertId": id, "authorityIds": [authority] }),
                    ),
                    Box::new(move |m, _| {
                        m.alerts[n].recipients.insert(authority);
                    }),
                ));
            }
        }
        // Additional information from an involved alert authority, through its coordinator.
        let a = &model.alerts[n];
        let authors: Vec<&'static str> = std::iter::once(a.initiating)
            .chain(a.recipients.iter().copied())
            .collect();
        let author = authors[param as usize % authors.len()];
        let author_ms = member_state(author);
        let (_, author_handler) = alert_authority(author_ms);
        let i = a.information.len();
        let text = model.marker(Rule::AlertInformation(n, i));
        steps.push((
            Call {
                selection: "waited informationId",
                ..call(
                    author_handler,
                    "submitAlertInformation",
                    "SubmitAlertInformationInput",
                    json!({ "alertId": id, "kind": "INFORMATION",
                            "coordinatorId": nimic(author_ms), "text": text }),
                )
            },
            Box::new(move |m, answer| {
                m.alerts[n].information.push(Information {
                    id: answer["informationId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    author,
                    broadcast: false,
                })
            }),
        ));
        for (i, info) in model.alerts[n].information.iter().enumerate() {
            if !info.broadcast {
                steps.push((
                    call(
                        lda_of(&nimic(member_state(info.author))),
                        "broadcastAlertInformation",
                        "BroadcastAlertInformationInput",
                        json!({ "alertId": id, "informationId": info.id }),
                    ),
                    Box::new(move |m, _| m.alerts[n].information[i].broadcast = true),
                ));
            }
        }
        // Closure: proposed in the responsible Member State by an authority involved there.
        let a = &model.alerts[n];
        let responsible = a.responsible();
        let closing = nimic(responsible);
        let (ca, ca_handler) = alert_authority(responsible);
        let proposer = if a.initiating == ca || a.recipients.contains(ca) {
            Some(ca_handler)
        } else if a.involved(&closing) {
            Some(lda_of(&closing))
        } else {
            None
        };
        match (a.status, proposer) {
            (AStatus::Broadcast, Some(proposer)) => {
                let reason = model.marker(Rule::AlertProposal(n));
                let closing2 = closing.clone();
                steps.push((
                    call(
                        proposer,
                        "proposeAlertClosure",
                        "ProposeAlertClosureInput",
                        json!({ "alertId": id, "closingCoordinatorId": closing,
                                "reason": reason }),
                    ),
                    Box::new(move |m, _| {
                        m.alerts[n].closing = Some(closing2);
                        m.alerts[n].status = AStatus::ClosureProposed;
                    }),
                ));
            }
            (AStatus::ClosureProposed, Some(proposer)) => {
                let text = model.marker(Rule::AlertInState(n, responsible));
                steps.push((
                    call(
                        proposer,
                        "commentOnAlertClosure",
                        "AlertTextInput",
                        json!({ "alertId": id, "text": text }),
                    ),
                    Box::new(|_, _| {}),
                ));
                steps.push((
                    call(
                        lda_of(&closing),
                        "broadcastAlertClosureProposal",
                        "AlertInput",
                        json!({ "alertId": id }),
                    ),
                    Box::new(move |m, _| {
                        m.proposal_broadcast.insert(n);
                        m.alerts[n].status = AStatus::ProposalBroadcast;
                    }),
                ));
            }
            (AStatus::ProposalBroadcast, _) => {
                let a = &model.alerts[n];
                let objectors: Vec<&'static str> = a
                    .recipient_states
                    .iter()
                    .filter(|(s, acknowledged)| **acknowledged && **s != responsible)
                    .map(|(s, _)| *s)
                    .filter(|s| !a.objected.contains(s))
                    .collect();
                for state in objectors {
                    let text = model.marker(Rule::AlertPersonal(n));
                    steps.push((
                        call(
                            lda_of(&nimic(state)),
                            "objectToAlertClosure",
                            "AlertTextInput",
                            json!({ "alertId": id, "text": text }),
                        ),
                        Box::new(move |m, _| {
                            m.alerts[n].objected.insert(state);
                        }),
                    ));
                }
            }
            _ => {}
        }
    }
    steps
}

/// A referral concludes once both coordinators decided and the participants gave opinions.
fn conclude(r: &mut Request) {
    let Some(referral) = &r.referral else { return };
    let done = referral.iter().all(|(c, d)| match d {
        None => false,
        Some(true) => r.opinions.contains(c),
        Some(false) => true,
    });
    if done {
        r.status = RStatus::Answered;
    }
}

// ---------------------------------------------------------------------------------------------
// Running a case.

struct Case<'a> {
    service: &'a Service,
    tokens: BTreeMap<&'static str, String>,
    http: reqwest::Client,
    model: Model,
}

const REQUEST: &str = "id viewLevel status requestingAuthority respondingAuthority
  content {
    questions { id answered answer }
    attachments { sha256 name } replyAttachments { sha256 name }
    subject freeText respondingHandlers requestingHandlers
    referralParticipation { coordinator participates opinionGiven }
    steps { eventType byAuthority byUser reason text }
  }";

const ALERT: &str = "id viewLevel status
  recipientMemberStates { memberState postboxId acknowledgedAt }
  recipientAuthorityIds
  closure { closingCoordinatorId proposedBy objectingMemberStates }
  content { serviceProvider dangerousActivity memberStateOfEstablishment attachmentNames erased }
  history { entry authorityId broadcast text attachmentNames informationId }";

/// The lists, in three documents (each within the complexity limit).
fn lists_queries() -> [String; 3] {
    [
        format!(
            "{{ informationRequests(first: 5) {{ edges {{ node {{ {REQUEST} }} }} }}
               requestInbox(first: 50) {{ edges {{ node {{ requestId action assignedTo }} }} }} }}"
        ),
        format!(
            "{{ alerts(first: 5) {{ edges {{ node {{ {ALERT} }} }} }}
               alertQueue(first: 5) {{ edges {{ node {{ queue alert {{ {ALERT} }} }} }} }} }}"
        ),
        "{ alertStatistics { memberState sent received closed objections open withdrawn }
           notifications(first: 60) { edges { node { kind aggregateId subject body } } } }"
            .to_string(),
    ]
}

/// An error's code and message, or the data.
fn outcome(answer: &Value, field: &str) -> Result<Value, (String, String)> {
    match answer["errors"].get(0) {
        Some(error) => Err((
            error["extensions"]["code"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            error["message"].as_str().unwrap_or("").to_string(),
        )),
        None => Ok(answer["data"][field].clone()),
    }
}

impl Case<'_> {
    async fn mutate(&self, c: &Call) -> Result<Value, (String, String)> {
        let query = format!(
            "mutation($input: {}!) {{ {}(input: $input) {{ {} }} }}",
            c.input_type, c.field, c.selection
        );
        let answer = self
            .service
            .graphql(
                Some(&self.tokens[c.user]),
                None,
                &query,
                json!({ "input": c.input }),
            )
            .await;
        outcome(&answer, c.field)
    }

    /// Stores the attachment of request `id` (distinct bytes per request); its digest.
    async fn store_attachment(&self, user: &str, id: &str) -> String {
        let stored = self
            .http
            .put(format!("{}/requests/{id}/attachments", self.service.base))
            .bearer_auth(&self.tokens[user])
            .header("content-type", "application/pdf")
            .body(format!("%PDF-1.7 evidence for {id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(stored.status(), 201, "storing the attachment of {id}");
        let stored: Value = stored.json().await.unwrap();
        stored["sha256"].as_str().unwrap().to_string()
    }

    async fn step(&mut self, selector: u8, param: u8) {
        let mut steps = valid_steps(&mut self.model, param);
        // Three times in four a step on an exchange under way, when there is one: otherwise
        // new drafts crowd out the later steps (replies, referrals, closure, objections).
        let creates = |c: &Call| matches!(c.field, "draftRequest" | "draftSdAlert");
        if selector >= 64 && steps.iter().any(|(c, _)| !creates(c)) {
            steps.retain(|(c, _)| !creates(c));
        }
        if steps.is_empty() {
            return;
        }
        let (mut c, effect) = steps.swap_remove(selector as usize % steps.len());
        let mut extra = Value::Null;
        if c.field == "draftRequest" {
            let id = c.input["requestId"].as_str().unwrap().to_string();
            let sha = self.store_attachment(c.user, &id).await;
            c.input["content"]["attachments"][0]["sha256"] = json!(sha);
            extra = json!(sha);
        }
        let mut answer = self.mutate(&c).await;
        if c.field == "broadcastAlertClosureProposal" {
            // The comment period (7 days in SD) must end first: the scheduler records it.
            self.service.clock.advance(chrono::Duration::days(7));
            let until = Instant::now() + Duration::from_secs(30);
            while answer.is_err() && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(100)).await;
                answer = self.mutate(&c).await;
            }
        }
        let line = format!("{} {}({})", c.user, c.field, c.input);
        match answer {
            Ok(value) => {
                self.model.done += 1;
                let value = if extra.is_null() { value } else { extra };
                effect(&mut self.model, &value);
                self.model.log.push(line);
            }
            Err((code, message)) => {
                self.model.refused += 1;
                self.model
                    .log
                    .push(format!("{line} refused: {code} {message}"));
            }
        }
    }

    /// Every query of every user, and the mails, against the oracle.
    async fn check(&self) -> Result<(), String> {
        let checks = PEOPLE.iter().map(|p| self.check_user(p.user));
        let mut problems: Vec<String> = futures::future::join_all(checks)
            .await
            .into_iter()
            .flatten()
            .collect();
        problems.extend(self.check_mails());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }

    /// What `text` (an answer to `user`) shows beyond what the user may know.
    fn leaks(&self, user: &str, what: &str, text: &str) -> Vec<String> {
        let m = &self.model;
        let mut found = Vec::new();
        for (marker, rule) in &m.markers {
            if text.contains(marker.as_str()) && !m.may_read(user, *rule) {
                found.push(format!("{user}: {what} shows {marker} ({rule:?}): {text}"));
            }
        }
        for r in &m.requests {
            if text.contains(&r.id) && m.request_level(user, r).is_none() {
                found.push(format!("{user}: {what} names request {}: {text}", r.id));
            }
        }
        for a in &m.alerts {
            if !a.id.is_empty() && text.contains(&a.id) && m.alert_level(user, a).is_none() {
                found.push(format!("{user}: {what} names alert {}: {text}", a.id));
            }
        }
        found
    }

    async fn check_user(&self, user: &'static str) -> Vec<String> {
        let m = &self.model;
        let token = Some(self.tokens[user].as_str());
        let g = |query: String, variables: Value| async move {
            self.service.graphql(token, None, &query, variables).await
        };
        let mut problems = Vec::new();
        let mut lists = json!({});
        for query in lists_queries() {
            let answer = g(query, json!({})).await;
            if !answer["errors"].is_null() {
                problems.push(format!("{user}: a list answered an error: {answer}"));
            }
            if let Some(data) = answer["data"].as_object() {
                for (k, v) in data {
                    lists[k] = v.clone();
                }
            }
        }
        problems.extend(self.leaks(user, "the lists", &lists.to_string()));
        let ms = member_state(person(user).authority);
        // Levels in the lists: never above the oracle's.
        for edge in lists["informationRequests"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let node = &edge["node"];
            if let Some(r) = m.requests.iter().find(|r| node["id"] == r.id.as_str()) {
                let shown = request_level_of(&node["viewLevel"]);
                if shown > m.request_level(user, r) {
                    problems.push(format!("{user}: list shows {} at {shown:?}", r.id));
                }
            }
        }
        let mut alert_nodes: Vec<&Value> = lists["alerts"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["node"])
            .collect();
        alert_nodes.extend(
            lists["alertQueue"]["edges"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| &e["node"]["alert"]),
        );
        for node in &alert_nodes {
            problems.extend(self.alert_node(user, ms, node, "an alert list"));
        }
        let report = g(
            "{ allocatorReport { requestId side status handlers questions answered otherAuthority } }"
                .into(),
            json!({}),
        )
        .await;
        problems.extend(self.leaks(user, "the allocators' report", &report.to_string()));
        for line in report["data"]["allocatorReport"]
            .as_array()
            .into_iter()
            .flatten()
        {
            problems.extend(
                m.markers
                    .iter()
                    .filter(|(marker, _)| line.to_string().contains(marker.as_str()))
                    .map(|(marker, _)| format!("{user}: the allocators' report shows {marker}")),
            );
        }
        // Single views, and an unknown id for comparison.
        let request_query =
            format!("query($id: ID!) {{ informationRequest(id: $id) {{ {REQUEST} }} }}");
        let unknown_request = outcome(
            &g(request_query.clone(), json!({ "id": "npreq99" })).await,
            "informationRequest",
        );
        let unknown_download = self.download("npreq99", &"0".repeat(64), user).await;
        for r in &m.requests {
            let answer = g(request_query.clone(), json!({ "id": r.id })).await;
            problems.extend(self.leaks(user, &format!("request {}", r.id), &answer.to_string()));
            let level = m.request_level(user, r);
            match (outcome(&answer, "informationRequest"), level) {
                (Ok(view), _) => {
                    let shown = request_level_of(&view["viewLevel"]);
                    if shown > level {
                        problems.push(format!("{user}: {} at {shown:?}: {view}", r.id));
                    }
                }
                (Err(error), None) => {
                    if Err(error.clone()) != unknown_request {
                        problems.push(format!(
                            "{user}: hidden request {} answers {error:?}, an unknown one {unknown_request:?}",
                            r.id
                        ));
                    }
                }
                (Err(_), Some(_)) => {}
            }
            if !r.sha256.is_empty() {
                let status = self.download(&r.id, &r.sha256, user).await;
                match level {
                    None if status != unknown_download => problems.push(format!(
                        "{user}: the attachment of hidden request {} answers {status}, an unknown request {unknown_download}",
                        r.id
                    )),
                    Some(l) if l < RLevel::Personal && status == 200 => problems
                        .push(format!("{user}: downloads the attachment of {} at {l:?}", r.id)),
                    _ => {}
                }
            }
        }
        let alert_query = format!("query($id: ID!) {{ alert(id: $id) {{ {ALERT} }} }}");
        let unknown_alert = outcome(
            &g(
                alert_query.clone(),
                json!({ "id": uuid::Uuid::now_v7().to_string() }),
            )
            .await,
            "alert",
        );
        for a in &m.alerts {
            let answer = g(alert_query.clone(), json!({ "id": a.id })).await;
            problems.extend(self.leaks(user, &format!("alert {}", a.id), &answer.to_string()));
            match outcome(&answer, "alert") {
                Ok(view) => problems.extend(self.alert_node(user, ms, &view, "an alert view")),
                Err(error) => {
                    if m.alert_level(user, a).is_none() && Err(error.clone()) != unknown_alert {
                        problems.push(format!(
                            "{user}: hidden alert {} answers {error:?}, an unknown one {unknown_alert:?}",
                            a.id
                        ));
                    }
                }
            }
        }
        problems
    }

    /// Checks an alert as shown to `user` of Member State `ms`.
    fn alert_node(&self, user: &str, ms: &str, node: &Value, what: &str) -> Vec<String> {
        let m = &self.model;
        let mut problems = Vec::new();
        let Some((n, a)) = m
            .alerts
            .iter()
            .enumerate()
            .find(|(_, a)| node["id"] == a.id.as_str())
        else {
            return problems;
        };
        let shown = alert_level_of(&node["viewLevel"]);
        if shown > m.alert_level(user, a) {
            problems.push(format!("{user}: {what} shows {} at {shown:?}", a.id));
        }
        // A proposal in its comment period does not exist outside the responsible state.
        if ms != a.responsible()
            && !m.proposal_broadcast.contains(&n)
            && (node["status"] == "CLOSURE_PROPOSED" || !node["closure"].is_null())
        {
            problems.push(format!(
                "{user}: {what} shows the unbroadcast closure proposal of {}: {node}",
                a.id
            ));
        }
        problems
    }

    async fn download(&self, id: &str, sha256: &str, user: &str) -> u16 {
        self.http
            .get(format!(
                "{}/requests/{id}/attachments/{sha256}",
                self.service.base
            ))
            .bearer_auth(&self.tokens[user])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The mails so far: no personal-data marker at all; exchange ids only to authorities
    /// that know them.
    fn check_mails(&self) -> Vec<String> {
        let m = &self.model;
        let mut problems = Vec::new();
        for mail in self.service.smtp.received() {
            let text = format!("{}\n{}", mail.data, mail.body());
            let authorities: Vec<String> = mail
                .to
                .iter()
                .filter_map(|to| {
                    to.trim_matches(['<', '>'])
                        .strip_prefix("office@")
                        .and_then(|rest| rest.strip_suffix(".example.eu"))
                        .map(str::to_string)
                })
                .collect();
            for (marker, _) in &m.markers {
                if text.contains(marker.as_str()) {
                    problems.push(format!("a mail to {:?} shows {marker}", mail.to));
                }
            }
            let ids = m
                .requests
                .iter()
                .map(|r| r.id.as_str())
                .chain(m.alerts.iter().map(|a| a.id.as_str()));
            for id in ids.filter(|id| !id.is_empty() && text.contains(id)) {
                if authorities.is_empty() || !authorities.iter().any(|a| m.authority_knows(a, id)) {
                    problems.push(format!("a mail to {:?} names {id}", mail.to));
                }
            }
        }
        problems
    }
}

fn request_level_of(level: &Value) -> Option<RLevel> {
    match level.as_str()? {
        "MONITORING" => Some(RLevel::Monitoring),
        "FULL" => Some(RLevel::Full),
        _ => Some(RLevel::Personal),
    }
}

fn alert_level_of(level: &Value) -> Option<ALevel> {
    match level.as_str()? {
        "HIGH_LEVEL" | "PROFESSION_AND_SCOPE" => Some(ALevel::High),
        "REDUCED_AFTER_CLOSURE" => Some(ALevel::Reduced),
        _ => Some(ALevel::Personal),
    }
}

async fn run_case(steps: Vec<(u8, u8)>) -> Result<(), String> {
    let service = start().await;
    run_steps(&service, steps).await
}

async fn run_steps(service: &Service, steps: Vec<(u8, u8)>) -> Result<(), String> {
    let tokens = scene(service).await;
    let mut case = Case {
        service,
        tokens,
        http: reqwest::Client::new(),
        model: Model::default(),
    };
    for (selector, param) in steps {
        case.step(selector, param).await;
        if let Err(problems) = case.check().await {
            return Err(report(&case.model, &problems));
        }
    }
    // The last mails: the outbox drains within a few polls.
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let Err(problems) = case.check().await {
        return Err(report(&case.model, &problems));
    }
    let m = &case.model;
    let fields: BTreeSet<&str> = m
        .log
        .iter()
        .filter_map(|l| l.split(' ').nth(1)?.split('(').next())
        .collect();
    eprintln!(
        "need to know: {} steps done, {} refused, {} requests, {} alerts: {fields:?}",
        m.done,
        m.refused,
        m.requests.len(),
        m.alerts.len(),
    );
    if m.refused * 4 > m.done + m.refused {
        return Err(report(m, "more than a quarter of the steps were refused"));
    }
    Ok(())
}

fn report(model: &Model, problems: &str) -> String {
    let mut text = String::from("steps issued:\n");
    for line in &model.log {
        let _ = writeln!(text, "  {line}");
    }
    let _ = write!(text, "found:\n{problems}");
    text
}

#[test]
fn nobody_learns_more_than_they_need_to_know() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 32,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &SEED));
    let strategy = proptest::collection::vec((any::<u8>(), any::<u8>()), 12..28);
    let result = runner.run(&strategy, |steps| {
        // A runtime per case: dropping it ends the case's service and closes its pool.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(8 * 1024 * 1024)
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(run_case(steps))
            .map_err(TestCaseError::fail)
    });
    if let Err(error) = result {
        panic!("{error}");
    }
}
