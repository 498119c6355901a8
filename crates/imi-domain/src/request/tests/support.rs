//! The scene the request tests play in (area PQ unless said):
//!
//! | id | Member State, kind | request workflow in PQ | users |
//! |---|---|---|---|
//! | `de-ca` | DE, CA: the requesting authority | Authority (requests), linked to `de-rc`; `de-linked` linked to it | `de-handler`, `de-handler2` request handlers; `de-viewer` request viewer; `de-allocator` allocator; `de-basic` basic user |
//! | `de-rc` | DE, DIMIC | request coordinator | `de-rc-handler` request handler; `de-rc-referee` referral handler |
//! | `de-rc2` | DE, DIMIC | request coordinator | `de-rc2-handler` request handler |
//! | `de-linked` | DE, CA | Authority (requests), linked to `de-rc` | `de-linked-user` request handler |
//! | `de-other` | DE, CA | Authority (requests), linked to `de-rc` | `de-other-handler` request handler |
//! | `fr-ca` | FR, CA: the responding authority | Authority (requests), linked to `fr-rc` | `fr-handler`, `fr-handler2` request handlers; `fr-viewer`; `fr-allocator`; `fr-basic` |
//! | `fr-rc` | FR, DIMIC | request coordinator | `fr-rc-handler` request handler; `fr-rc-referee` referral handler |
//! | `fr-ca2` | FR, CA | Authority (requests), linked to `fr-rc` | `fr2-handler` request handler |
//! | `fr-nopq` | FR, CA | none | `fr-nopq-handler` |
//! | `fr-pending` | FR, CA, not validated | Authority (requests) | `fr-pending-handler` |
//! | `it-ca` | IT, CA | Authority (requests), linked to `it-rc` | `it-handler` |
//!
//! Question sets: `PQ-GEN` (PQ: `PQ-GEN-01` to `PQ-GEN-03`), `SD-GEN` (SD: `SD-GEN-01`).
//! The request under test is `r1`: drafted by `de-handler` on 2026-01-01 asking `PQ-GEN-01`
//! and `PQ-GEN-02` of `fr-ca`, answer proposed for 2026-02-01.

use crate::actor::Actor;
use crate::authority::testing::InMemoryDirectory;
use crate::authority::*;
use crate::command::Issued;
use crate::reference::MemberState;
use crate::request::testing::InMemoryRequestServices;
use crate::request::*;
use crate::sealed::{Sealed, A256GCM};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use std::collections::{BTreeMap, BTreeSet};

pub type Subject = InformationRequest<InMemoryRequestServices>;

pub const ID: &str = "r1";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap()
}
pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}
pub fn answer_date() -> NaiveDate {
    day(2026, 2, 1)
}
pub fn pq() -> LegislativeArea {
    LegislativeArea::parse("PQ").unwrap()
}
pub fn ids(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

pub fn sealed_under(key: &str) -> Sealed {
    Sealed {
        key_id: key.to_string(),
        alg: A256GCM.to_string(),
        nonce: "bm9uY2U=".into(),
        ciphertext: "Y3Q=".into(),
    }
}
/// A value sealed under `r1`'s key.
pub fn sealed() -> Sealed {
    sealed_under(&request_key_id(ID))
}
pub fn foreign_sealed() -> Sealed {
    sealed_under("InformationRequest/other")
}

pub fn attachment(sha_digit: char) -> Attachment {
    Attachment {
        sha256: std::iter::repeat_n(sha_digit, 64).collect(),
        size: 1024,
        media_type: "application/pdf".into(),
        name: sealed(),
    }
}

pub fn answers(questions: &[&str]) -> Answers {
    questions
        .iter()
        .map(|q| (q.to_string(), sealed()))
        .collect()
}

// --- Authorities ------------------------------------------------------------------------

fn user(roles: &[UserRole]) -> UserSummary {
    UserSummary {
        local_data_administrator: false,
        active: true,
        roles: if roles.is_empty() {
            BTreeMap::new()
        } else {
            BTreeMap::from([(pq(), roles.iter().copied().collect())])
        },
    }
}

pub fn authority(
    id: &str,
    ms: &str,
    kind: AuthorityKind,
    role: Option<WorkflowRole>,
    linked: &[&str],
    users: &[(&str, &[UserRole])],
) -> AuthoritySummary {
    AuthoritySummary {
        authority_id: id.into(),
        member_state: MemberState::parse(ms).unwrap(),
        kind,
        region: None,
        coordinated_areas: if kind.is_coordinator() {
            BTreeSet::from([pq()])
        } else {
            BTreeSet::new()
        },
        status: AuthorityStatus::Validated,
        invited_by: None,
        validating_coordinator: None,
        areas: match role {
            None => BTreeMap::new(),
            Some(role) => BTreeMap::from([(
                pq(),
                AreaAccess {
                    access_coordinator: linked.first().copied().unwrap_or(id).into(),
                    workflows: BTreeMap::from([(
                        Workflow::Requests,
                        WorkflowAccess {
                            role,
                            linked_coordinators: ids(linked),
                            flags: BTreeSet::new(),
                        },
                    )]),
                    competences: BTreeSet::new(),
                    professions: BTreeSet::new(),
                    service_activities: BTreeSet::new(),
                },
            )]),
        },
        linked_authorities: BTreeSet::new(),
        users: users
            .iter()
            .map(|(u, roles)| (u.to_string(), user(roles)))
            .collect(),
    }
}

use UserRole::{Allocator, ReferralHandler, RequestHandler, RequestViewer};

pub fn party_authority(ms: &str, prefix: &str, id: &str, coordinator: &str) -> AuthoritySummary {
    let name = |s: &str| format!("{prefix}-{s}");
    let (h, h2, v, a, b) = (
        name("handler"),
        name("handler2"),
        name("viewer"),
        name("allocator"),
        name("basic"),
    );
    authority(
        id,
        ms,
        AuthorityKind::CompetentAuthority,
        Some(WorkflowRole::RequestAuthority),
        &[coordinator],
        &[
            (&h, &[RequestHandler]),
            (&h2, &[RequestHandler]),
            (&v, &[RequestViewer]),
            (&a, &[Allocator]),
            (&b, &[]),
        ],
    )
}

pub fn de_ca() -> AuthoritySummary {
    let mut a = party_authority("DE", "de", "de-ca", "de-rc");
    a.linked_authorities = ids(&["de-linked"]);
    a
}
pub fn fr_ca() -> AuthoritySummary {
    party_authority("FR", "fr", "fr-ca", "fr-rc")
}
pub fn coordinator(id: &str, ms: &str, prefix: &str) -> AuthoritySummary {
    let (h, r, b) = (
        format!("{prefix}-handler"),
        format!("{prefix}-referee"),
        format!("{prefix}-basic"),
    );
    authority(
        id,
        ms,
        AuthorityKind::DelegatedCoordinator,
        Some(WorkflowRole::RequestCoordinator),
        &[id],
        &[(&h, &[RequestHandler]), (&r, &[ReferralHandler]), (&b, &[])],
    )
}
fn simple_ca(id: &str, ms: &str, linked: &str, handler: &str) -> AuthoritySummary {
    authority(
        id,
        ms,
        AuthorityKind::CompetentAuthority,
        Some(WorkflowRole::RequestAuthority),
        &[linked],
        &[(handler, &[RequestHandler])],
    )
}

/// `summary` with `flags` on in PQ requests.
pub fn with_flags(mut summary: AuthoritySummary, flags: &[Flag]) -> AuthoritySummary {
    let w = summary
        .areas
        .get_mut(&pq())
        .and_then(|a| a.workflows.get_mut(&Workflow::Requests))
        .expect("PQ requests");
    w.flags.extend(flags.iter().copied());
    summary
}
/// `summary` linked to several request coordinators in PQ.
pub fn with_coordinators(mut summary: AuthoritySummary, linked: &[&str]) -> AuthoritySummary {
    let w = summary
        .areas
        .get_mut(&pq())
        .and_then(|a| a.workflows.get_mut(&Workflow::Requests))
        .expect("PQ requests");
    w.linked_coordinators = ids(linked);
    summary
}

pub fn directory() -> InMemoryDirectory {
    let mut pending = simple_ca("fr-pending", "FR", "fr-rc", "fr-pending-handler");
    pending.status = AuthorityStatus::AwaitingValidation;
    InMemoryDirectory::new()
        .at(now())
        .with_area("PQ", &[Workflow::Requests, Workflow::Alerts])
        .with_area("SD", &[Workflow::Requests, Workflow::Alerts])
        .with_area("ECOM", &[Workflow::Alerts])
        .with_authority(de_ca())
        .with_authority(coordinator("de-rc", "DE", "de-rc"))
        .with_authority(coordinator("de-rc2", "DE", "de-rc2"))
        .with_authority(simple_ca("de-linked", "DE", "de-rc", "de-linked-user"))
        .with_authority(simple_ca("de-other", "DE", "de-rc", "de-other-handler"))
        .with_authority(fr_ca())
        .with_authority(coordinator("fr-rc", "FR", "fr-rc"))
        .with_authority(simple_ca("fr-ca2", "FR", "fr-rc", "fr2-handler"))
        .with_authority(authority(
            "fr-nopq",
            "FR",
            AuthorityKind::CompetentAuthority,
            None,
            &[],
            &[("fr-nopq-handler", &[RequestHandler])],
        ))
        .with_authority(pending)
        .with_authority(simple_ca("it-ca", "IT", "it-rc", "it-handler"))
}

pub fn services() -> InMemoryRequestServices {
    InMemoryRequestServices::new(directory())
        .with_question_set("PQ-GEN", "PQ", &["PQ-GEN-01", "PQ-GEN-02", "PQ-GEN-03"])
        .with_question_set("SD-GEN", "SD", &["SD-GEN-01"])
}

// --- Actors -----------------------------------------------------------------------------

pub fn as_user(user_id: &str, authority_id: &str) -> Actor {
    Actor::User {
        user_id: user_id.into(),
        authority_id: authority_id.into(),
    }
}
pub fn de_handler() -> Actor {
    as_user("de-handler", "de-ca")
}
pub fn de_handler2() -> Actor {
    as_user("de-handler2", "de-ca")
}
pub fn de_allocator() -> Actor {
    as_user("de-allocator", "de-ca")
}
pub fn de_viewer() -> Actor {
    as_user("de-viewer", "de-ca")
}
pub fn fr_handler() -> Actor {
    as_user("fr-handler", "fr-ca")
}
pub fn fr_handler2() -> Actor {
    as_user("fr-handler2", "fr-ca")
}
pub fn fr_allocator() -> Actor {
    as_user("fr-allocator", "fr-ca")
}
pub fn de_rc_handler() -> Actor {
    as_user("de-rc-handler", "de-rc")
}
pub fn de_rc_referee() -> Actor {
    as_user("de-rc-referee", "de-rc")
}
pub fn fr_rc_handler() -> Actor {
    as_user("fr-rc-handler", "fr-rc")
}
pub fn fr_rc_referee() -> Actor {
    as_user("fr-rc-referee", "fr-rc")
}
pub fn fr2_handler() -> Actor {
    as_user("fr2-handler", "fr-ca2")
}
pub fn scheduler() -> Actor {
    Actor::system("scheduler")
}

// --- Histories --------------------------------------------------------------------------

pub fn party(summary: &AuthoritySummary) -> Party {
    Party::of(summary, &pq())
}

pub fn content() -> RequestContent {
    RequestContent {
        question_set: "PQ-GEN".into(),
        questions: ids(&["PQ-GEN-01", "PQ-GEN-02"]),
        free_text: Some(sealed()),
        subject: sealed(),
        attachments: vec![attachment('a')],
        proposed_answer_date: answer_date(),
        responding_authority: "fr-ca".into(),
        request_coordinator: None,
    }
}

pub fn draft_command() -> RequestCommand {
    RequestCommand::Draft {
        request_id: ID.into(),
        area: pq(),
        content: content(),
    }
}

pub fn draft_content() -> DraftContent {
    DraftContent {
        question_set: "PQ-GEN".into(),
        questions: ids(&["PQ-GEN-01", "PQ-GEN-02"]),
        free_text: Some(sealed()),
        subject: sealed(),
        attachments: vec![attachment('a')],
        proposed_answer_date: answer_date(),
        responding: party(&fr_ca()),
        request_coordinator: "de-rc".into(),
    }
}

pub fn drafted() -> Vec<RequestEvent> {
    vec![RequestEvent::RequestDrafted {
        request_id: ID.into(),
        area: pq(),
        requesting: party(&de_ca()),
        drafted_by: "de-handler".into(),
        draft: draft_content(),
        at: now(),
    }]
}
pub fn sent() -> Vec<RequestEvent> {
    let mut e = drafted();
    e.push(RequestEvent::RequestSent {
        responding: party(&fr_ca()),
        at: now(),
    });
    e
}
pub fn accepted() -> Vec<RequestEvent> {
    let mut e = sent();
    e.push(RequestEvent::RequestAccepted {
        responding_coordinator: "fr-rc".into(),
        agreed_answer_date: answer_date(),
        at: now(),
    });
    e
}
pub fn partially_answered() -> Vec<RequestEvent> {
    let mut e = accepted();
    e.push(RequestEvent::PartialReplySent {
        answers: answers(&["PQ-GEN-01"]),
        attachments: vec![],
        at: now(),
    });
    e
}
pub fn answered() -> Vec<RequestEvent> {
    let mut e = accepted();
    e.push(RequestEvent::FullReplySent {
        answers: answers(&["PQ-GEN-01", "PQ-GEN-02"]),
        attachments: vec![],
        at: now(),
    });
    e
}
pub fn additional_information_requested() -> Vec<RequestEvent> {
    let mut e = answered();
    e.push(RequestEvent::AdditionalInformationRequested {
        justification: sealed(),
        questions: ids(&["PQ-GEN-02"]),
        at: now(),
    });
    e
}
pub fn maintained() -> Vec<RequestEvent> {
    let mut e = additional_information_requested();
    e.push(RequestEvent::ReplyMaintained {
        comment: None,
        at: now(),
    });
    e
}
pub fn in_referral() -> Vec<RequestEvent> {
    let mut e = maintained();
    e.push(RequestEvent::ReferralOpened {
        requesting_coordinator: "de-rc".into(),
        responding_coordinator: "fr-rc".into(),
        at: now(),
    });
    e
}
pub fn closed() -> Vec<RequestEvent> {
    let mut e = answered();
    e.push(RequestEvent::RequestClosed { at: now() });
    e
}
pub fn withdrawn() -> Vec<RequestEvent> {
    let mut e = sent();
    e.push(RequestEvent::RequestWithdrawn {
        reason: "no longer needed".into(),
        at: now(),
    });
    e
}
pub fn with(mut events: Vec<RequestEvent>, more: RequestEvent) -> Vec<RequestEvent> {
    events.push(more);
    events
}

// --- Given/when/then --------------------------------------------------------------------

pub fn given(events: Vec<RequestEvent>) -> AggregateTestExecutor<Subject> {
    TestFramework::<Subject>::with(services()).given(events)
}
pub fn given_in(
    services: InMemoryRequestServices,
    events: Vec<RequestEvent>,
) -> AggregateTestExecutor<Subject> {
    TestFramework::<Subject>::with(services).given(events)
}
pub fn issued(by: Actor, command: RequestCommand) -> Issued<RequestCommand> {
    Issued::new(by, command)
}
/// The services at `days` days after the scene's start.
pub fn later(days: i64) -> InMemoryRequestServices {
    services().at(now() + Duration::days(days))
}
