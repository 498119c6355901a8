//! The scene the Alert tests play in. Every authority below is validated and has the alerts
//! workflow in SD and PQ (unless said) with the role shown, linked to the coordinators shown.
//!
//! | id | MS | kind | alerts role | linked to | users (roles in SD and PQ) |
//! |---|---|---|---|---|---|
//! | `de-ca` | DE | CA | alert authority | `de-coord` | `de-handler`: handler; `de-viewer`: viewer; `de-basic`: basic |
//! | `de-coord` | DE | DIMIC | alert coordinator | `de-coord` | `de-dissem`: disseminator; `de-coord-handler`: handler |
//! | `de-iap` | DE | NIMIC | incoming alert postbox | `de-iap` | `de-iap-user`: handler, disseminator |
//! | `de-ca2` | DE | CA | alert authority | `de-coord` | `de-ca2-handler`: handler |
//! | `de-req` | DE | CA | none (requests only) | | `de-req-handler`: handler |
//! | `de-pending` | DE | CA | alert authority, not validated | `de-coord` | `de-pending-handler`: handler |
//! | `fr-iap` | FR | NIMIC | incoming alert postbox | `fr-iap` | `fr-iap-user`: handler, disseminator; `fr-iap-viewer`: viewer |
//! | `fr-ca` | FR | CA | alert authority | `fr-iap` | `fr-handler`: handler; `fr-basic`: basic |
//! | `at-iap` | AT | NIMIC | incoming alert postbox | `at-iap` | `at-iap-user`: handler, disseminator |
//! | `at-ca` | AT | CA | alert authority | `at-iap` | `at-handler`: handler |
//! | `pl-ca` | PL | CA | alert authority (PL has no postbox) | | `pl-handler`: handler |
//!
//! Closure periods: SD 7 days of comments and 14 of objections; PQ 5 and 10. The clock stands
//! at [`now`] (2026-03-02T00:00Z) unless a test moves it.
//!
//! The alert under test is `a1`: an SD alert drafted by `de-ca` (the provider established in
//! AT, so AT is responsible for closure), submitted to `de-coord`, broadcast to FR and AT.

use crate::actor::Actor;
use crate::alert::testing::InMemoryAlertServices;
use crate::alert::*;
use crate::authority::testing::InMemoryDirectory;
use crate::authority::{
    AreaAccess, AuthorityKind, AuthorityStatus, AuthoritySummary, LegislativeArea, UserRole,
    UserSummary, Workflow, WorkflowAccess, WorkflowRole,
};
use crate::command::Issued;
use crate::reference::MemberState;
use crate::sealed::{Sealed, A256GCM};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use std::collections::{BTreeMap, BTreeSet};

pub type Subject = Alert<InMemoryAlertServices>;

pub const ID: &str = "a1";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
}
pub fn days(n: i64) -> DateTime<Utc> {
    now() + Duration::days(n)
}
pub fn ms(code: &str) -> MemberState {
    MemberState::parse(code).unwrap()
}
pub fn area(code: &str) -> LegislativeArea {
    LegislativeArea::parse(code).unwrap()
}
pub fn sd() -> LegislativeArea {
    area("SD")
}
pub fn pq() -> LegislativeArea {
    area("PQ")
}
pub fn ids(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}
pub fn states(codes: &[&str]) -> BTreeSet<MemberState> {
    codes.iter().map(|c| ms(c)).collect()
}

pub fn sealed_under(key: &str, what: &str) -> Sealed {
    Sealed {
        key_id: key.into(),
        alg: A256GCM.to_string(),
        nonce: "bm9uY2U=".into(),
        ciphertext: what.into(),
    }
}
/// A value sealed under the alert's key.
pub fn sealed(what: &str) -> Sealed {
    sealed_under(&alert_key_id(ID), what)
}
/// A value sealed under another exchange's key.
pub fn foreign_sealed() -> Sealed {
    sealed_under("Alert/other", "x")
}

pub fn user(user_id: &str, authority_id: &str) -> Actor {
    Actor::User {
        user_id: user_id.into(),
        authority_id: authority_id.into(),
    }
}
pub fn system() -> Actor {
    Actor::system("scheduler")
}

// Actors of the scene.
pub fn de_handler() -> Actor {
    user("de-handler", "de-ca")
}
pub fn de_viewer() -> Actor {
    user("de-viewer", "de-ca")
}
pub fn de_dissem() -> Actor {
    user("de-dissem", "de-coord")
}
pub fn de_coord_handler() -> Actor {
    user("de-coord-handler", "de-coord")
}
pub fn de_iap() -> Actor {
    user("de-iap-user", "de-iap")
}
pub fn de_ca2() -> Actor {
    user("de-ca2-handler", "de-ca2")
}
pub fn fr_iap() -> Actor {
    user("fr-iap-user", "fr-iap")
}
pub fn fr_handler() -> Actor {
    user("fr-handler", "fr-ca")
}
pub fn at_iap() -> Actor {
    user("at-iap-user", "at-iap")
}
pub fn at_handler() -> Actor {
    user("at-handler", "at-ca")
}

fn user_with(roles: &[UserRole]) -> UserSummary {
    let held: BTreeSet<UserRole> = roles.iter().copied().collect();
    UserSummary {
        local_data_administrator: false,
        active: true,
        roles: BTreeMap::from([(sd(), held.clone()), (pq(), held)]),
    }
}

/// A validated authority with the alerts workflow (when `role` is given) in SD and PQ.
pub fn authority(
    id: &str,
    member_state: &str,
    kind: AuthorityKind,
    role: Option<WorkflowRole>,
    linked: &[&str],
    users: &[(&str, &[UserRole])],
) -> AuthoritySummary {
    let access = |role: WorkflowRole| AreaAccess {
        access_coordinator: "nobody".into(),
        workflows: BTreeMap::from([(
            Workflow::Alerts,
            WorkflowAccess {
                role,
                linked_coordinators: ids(linked),
                flags: BTreeSet::new(),
            },
        )]),
        competences: BTreeSet::new(),
        professions: BTreeSet::new(),
        service_activities: BTreeSet::new(),
    };
    AuthoritySummary {
        authority_id: id.into(),
        member_state: ms(member_state),
        kind,
        region: None,
        coordinated_areas: BTreeSet::new(),
        status: AuthorityStatus::Validated,
        invited_by: None,
        validating_coordinator: None,
        areas: role
            .map(|r| BTreeMap::from([(sd(), access(r)), (pq(), access(r))]))
            .unwrap_or_default(),
        linked_authorities: BTreeSet::new(),
        users: users
            .iter()
            .map(|(u, roles)| (u.to_string(), user_with(roles)))
            .collect(),
    }
}

pub fn scene() -> Vec<AuthoritySummary> {
    use AuthorityKind::*;
    use UserRole::*;
    use WorkflowRole::*;
    let mut pending = authority(
        "de-pending",
        "DE",
        CompetentAuthority,
        Some(AlertAuthority),
        &["de-coord"],
        &[("de-pending-handler", &[AlertHandler])],
    );
    pending.status = AuthorityStatus::AwaitingValidation;
    vec![
        authority(
            "de-ca",
            "DE",
            CompetentAuthority,
            Some(AlertAuthority),
            &["de-coord"],
            &[
                ("de-handler", &[AlertHandler]),
                ("de-viewer", &[AlertViewer]),
                ("de-basic", &[]),
            ],
        ),
        authority(
            "de-coord",
            "DE",
            DelegatedCoordinator,
            Some(AlertCoordinator),
            &["de-coord"],
            &[
                ("de-dissem", &[AlertDisseminator]),
                ("de-coord-handler", &[AlertHandler]),
            ],
        ),
        authority(
            "de-iap",
            "DE",
            NationalCoordinator,
            Some(IncomingAlertPostbox),
            &["de-iap"],
            &[("de-iap-user", &[AlertHandler, AlertDisseminator])],
        ),
        authority(
            "de-ca2",
            "DE",
            CompetentAuthority,
            Some(AlertAuthority),
            &["de-coord"],
            &[("de-ca2-handler", &[AlertHandler])],
        ),
        authority(
            "de-req",
            "DE",
            CompetentAuthority,
            None,
            &[],
            &[("de-req-handler", &[AlertHandler])],
        ),
        pending,
        authority(
            "fr-iap",
            "FR",
            NationalCoordinator,
            Some(IncomingAlertPostbox),
            &["fr-iap"],
            &[
                ("fr-iap-user", &[AlertHandler, AlertDisseminator]),
                ("fr-iap-viewer", &[AlertViewer]),
            ],
        ),
        authority(
            "fr-ca",
            "FR",
            CompetentAuthority,
            Some(AlertAuthority),
            &["fr-iap"],
            &[("fr-handler", &[AlertHandler]), ("fr-basic", &[])],
        ),
        authority(
            "at-iap",
            "AT",
            NationalCoordinator,
            Some(IncomingAlertPostbox),
            &["at-iap"],
            &[("at-iap-user", &[AlertHandler, AlertDisseminator])],
        ),
        authority(
            "at-ca",
            "AT",
            CompetentAuthority,
            Some(AlertAuthority),
            &["at-iap"],
            &[("at-handler", &[AlertHandler])],
        ),
        authority(
            "pl-ca",
            "PL",
            CompetentAuthority,
            Some(AlertAuthority),
            &[],
            &[("pl-handler", &[AlertHandler])],
        ),
    ]
}

pub fn directory() -> InMemoryDirectory {
    let mut dir = InMemoryDirectory::new()
        .at(now())
        .with_area("SD", &[Workflow::Requests, Workflow::Alerts])
        .with_area("PQ", &[Workflow::Requests, Workflow::Alerts])
        .with_area("ECOM", &[Workflow::Requests])
        .with_profession("PQ", "doctor")
        .with_service_activity("SD", "construction");
    for a in scene() {
        dir = dir.with_authority(a);
    }
    dir
}

pub fn services() -> InMemoryAlertServices {
    InMemoryAlertServices::new(directory())
        .with_periods("SD", 7, 14)
        .with_periods("PQ", 5, 10)
}

/// The given step at [`now`].
pub fn given(events: Vec<AlertEvent>) -> AggregateTestExecutor<Subject> {
    TestFramework::<Subject>::with(services()).given(events)
}

/// The given step with the clock at `at`.
pub fn given_at(at: DateTime<Utc>, events: Vec<AlertEvent>) -> AggregateTestExecutor<Subject> {
    TestFramework::<Subject>::with(services().at(at)).given(events)
}

/// The given step over other services.
pub fn given_in(
    services: InMemoryAlertServices,
    events: Vec<AlertEvent>,
) -> AggregateTestExecutor<Subject> {
    TestFramework::<Subject>::with(services).given(events)
}

pub fn issued(by: Actor, command: AlertCommand) -> Issued<AlertCommand> {
    Issued::new(by, command)
}

// --- Contents -----------------------------------------------------------------------------

pub fn sd_content() -> AlertContent {
    AlertContent::Services(ServicesAlert {
        service_activity: Some("construction".into()),
        member_state_of_establishment: Some(ms("AT")),
        dangerous_activity: sealed("activity"),
        service_provider: sealed("provider"),
        attachments: vec![sealed("report.pdf")],
    })
}

/// An SD content whose provider's establishment is unknown.
pub fn sd_content_without_mse() -> AlertContent {
    match sd_content() {
        AlertContent::Services(mut s) => {
            s.member_state_of_establishment = None;
            AlertContent::Services(s)
        }
        other => other,
    }
}

pub fn pq_alert() -> ProfessionalAlert {
    ProfessionalAlert {
        profession: "doctor".into(),
        scope: RestrictionScope::Prohibition,
        applies_from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        applies_until: None,
        decided_at: now() - Duration::days(1),
        deciding_authority: "Landesärztekammer".into(),
        member_state_of_establishment: None,
        professional: sealed("professional"),
        details: Some(sealed("details")),
        attachments: vec![],
    }
}

pub fn pq_content() -> AlertContent {
    AlertContent::ProfessionalQualifications(pq_alert())
}

// --- Histories ----------------------------------------------------------------------------

pub fn drafted_with(area_code: &str, content: AlertContent) -> Vec<AlertEvent> {
    vec![AlertEvent::AlertDrafted {
        alert_id: ID.into(),
        area: area(area_code),
        initiating_authority: "de-ca".into(),
        initiating_member_state: ms("DE"),
        content,
        at: now(),
    }]
}

/// `a1` drafted by `de-ca`.
pub fn drafted() -> Vec<AlertEvent> {
    drafted_with("SD", sd_content())
}

pub fn submitted_event() -> AlertEvent {
    AlertEvent::AlertSubmitted {
        coordinator: "de-coord".into(),
        at: now(),
    }
}

/// ... submitted to `de-coord`.
pub fn submitted() -> Vec<AlertEvent> {
    let mut e = drafted();
    e.push(submitted_event());
    e
}

pub fn broadcast_event() -> AlertEvent {
    AlertEvent::AlertBroadcast {
        coordinator: "de-coord".into(),
        member_states: BTreeMap::from([
            (ms("AT"), "at-iap".to_string()),
            (ms("FR"), "fr-iap".to_string()),
        ]),
        sending_postbox: Some("de-iap".into()),
        at: now(),
    }
}

/// ... broadcast to FR and AT (and seen by `de-iap`).
pub fn broadcast() -> Vec<AlertEvent> {
    let mut e = submitted();
    e.push(broadcast_event());
    e
}

pub fn acknowledged_by(code: &str, postbox: &str) -> AlertEvent {
    AlertEvent::ReceiptAcknowledged {
        member_state: ms(code),
        postbox: postbox.into(),
        at: now(),
    }
}

/// ... acknowledged by both postboxes, disseminated to `at-ca` and `fr-ca`.
pub fn disseminated() -> Vec<AlertEvent> {
    let mut e = broadcast();
    e.push(acknowledged_by("AT", "at-iap"));
    e.push(acknowledged_by("FR", "fr-iap"));
    e.push(AlertEvent::RecipientsAdded {
        member_state: ms("AT"),
        added_by: "at-iap".into(),
        authorities: ids(&["at-ca"]),
    });
    e.push(AlertEvent::RecipientsAdded {
        member_state: ms("FR"),
        added_by: "fr-iap".into(),
        authorities: ids(&["fr-ca"]),
    });
    e
}

pub fn proposed_event() -> AlertEvent {
    AlertEvent::ClosureProposed {
        proposed_by: "at-ca".into(),
        closing_coordinator: "at-iap".into(),
        responsible_member_state: ms("AT"),
        reason: sealed("risk gone"),
        comment_period_ends_at: days(7),
    }
}

/// ... `at-ca` proposed closure with `at-iap` closing; comments until day 7.
pub fn proposed() -> Vec<AlertEvent> {
    let mut e = disseminated();
    e.push(proposed_event());
    e
}

pub fn proposal_broadcast_event() -> AlertEvent {
    AlertEvent::ClosureProposalBroadcast {
        closing_coordinator: "at-iap".into(),
        objection_period_ends_at: days(21),
    }
}

/// ... the proposal broadcast on day 7; objections until day 21.
pub fn proposal_broadcast() -> Vec<AlertEvent> {
    let mut e = proposed();
    e.push(AlertEvent::CommentPeriodEnded { ended_at: days(7) });
    e.push(proposal_broadcast_event());
    e
}

pub fn closed() -> Vec<AlertEvent> {
    let mut e = proposal_broadcast();
    e.push(AlertEvent::AlertClosed {
        closing_coordinator: "at-iap".into(),
        at: days(21),
    });
    e
}

pub fn withdrawn_event() -> AlertEvent {
    AlertEvent::AlertWithdrawn {
        withdrawn_by: "de-ca".into(),
        reason: sealed("unfounded"),
        at: now(),
    }
}

pub fn with(mut events: Vec<AlertEvent>, more: AlertEvent) -> Vec<AlertEvent> {
    events.push(more);
    events
}

pub fn summary_of(events: Vec<AlertEvent>) -> AlertSummary {
    Alert::<()>::from_events(events)
        .summary()
        .cloned()
        .expect("a drafted alert")
}

/// The refusal `by` meets on the alert `events` describe: `why` where its authority may see
/// the alert, the same answer as for an unknown alert where it may not (ids cannot be probed).
pub fn refusal(events: &[AlertEvent], by: &Actor, why: &str) -> crate::error::DomainError {
    let summary = summary_of(events.to_vec());
    let visible = match by {
        Actor::User {
            user_id,
            authority_id,
        } => scene()
            .into_iter()
            .find(|a| &a.authority_id == authority_id)
            .is_some_and(|a| {
                view_level(
                    Some(&crate::access::ActorContext::new(user_id, a)),
                    &summary,
                )
                .is_some()
            }),
        Actor::System { .. } => true,
    };
    if visible {
        crate::error::DomainError::forbidden(why)
    } else {
        unknown_alert()
    }
}
