//! The scene the Authority tests play in (DE unless said):
//!
//! | id | kind | region, areas | users |
//! |---|---|---|---|
//! | `nimic` | NIMIC | PQ (request coordinator, incoming alert postbox) | `nimic-lda`: LDA, DA in PQ, SD, ECOM |
//! | `sdimic-by` | SDIMIC | DE-BY | `sdimic-da`: LDA, DA in PQ, SD |
//! | `limic-pq` | LIMIC of PQ | PQ (request and alert coordinator) | `limic-da`: LDA, DA in PQ |
//! | `dimic-by` | DIMIC of PQ | DE-BY; PQ (request and alert coordinator) | `dimic-da`: LDA, DA in PQ; `dimic-lda`: LDA only |
//! | `ca-other` | CA | PQ requests, linked to `limic-pq` | `other-lda` |
//! | `pending` | CA | self-registered, not validated | `pending-lda` |
//! | `fr-nimic` | NIMIC of FR | PQ (request coordinator) | `fr-lda`: LDA, DA in PQ |
//!
//! The authority under test is usually `ca`: a CA in DE-BY invited by `dimic-by` with PQ
//! requests ("Authority (requests)", linked to `dimic-by`), which registers with first user
//! `ca-lda`, is validated, and has a basic user `ca-user`.

use crate::actor::Actor;
use crate::authority::testing::InMemoryDirectory;
use crate::authority::*;
use crate::command::Issued;
use crate::reference::{Language, MemberState};
use crate::sealed::{Sealed, A256GCM};
use chrono::{DateTime, Duration, TimeZone, Utc};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use std::collections::{BTreeMap, BTreeSet};

pub type Subject = Authority<InMemoryDirectory>;

/// SHA-256 of "test" and of "other", as the caller would send them.
pub const CODE: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
pub const OTHER_CODE: &str = "d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}
pub fn expiry() -> DateTime<Utc> {
    now() + Duration::days(30)
}

pub fn de() -> MemberState {
    MemberState::parse("DE").unwrap()
}
pub fn fr() -> MemberState {
    MemberState::parse("FR").unwrap()
}
pub fn en() -> Language {
    Language::parse("en").unwrap()
}
pub fn area(code: &str) -> LegislativeArea {
    LegislativeArea::parse(code).unwrap()
}
pub fn pq() -> LegislativeArea {
    area("PQ")
}
pub fn sd() -> LegislativeArea {
    area("SD")
}
pub fn region(code: &str) -> Option<Region> {
    Some(Region::parse(code).unwrap())
}
pub fn areas(codes: &[&str]) -> BTreeSet<LegislativeArea> {
    codes.iter().map(|c| area(c)).collect()
}
pub fn ids(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}
pub fn roles(roles: &[UserRole]) -> BTreeSet<UserRole> {
    roles.iter().copied().collect()
}

pub fn sealed_under(key: String) -> Sealed {
    Sealed {
        key_id: key,
        alg: A256GCM.to_string(),
        nonce: "bm9uY2U=".into(),
        ciphertext: "Y3Q=".into(),
    }
}
pub fn sealed_for(user_id: &str) -> Sealed {
    sealed_under(user_key_id(user_id))
}
pub fn sealed_for_authority(authority_id: &str) -> Sealed {
    sealed_under(authority_key_id(authority_id))
}
pub fn new_user(user_id: &str) -> NewUser {
    NewUser {
        user_id: user_id.into(),
        identity: sealed_for(user_id),
    }
}

pub fn user(user_id: &str, authority_id: &str) -> Actor {
    Actor::User {
        user_id: user_id.into(),
        authority_id: authority_id.into(),
    }
}
pub fn system() -> Actor {
    Actor::system("seed")
}

/// One workflow setup.
pub fn setup(role: WorkflowRole, linked: &[&str]) -> WorkflowSetup {
    WorkflowSetup {
        role,
        linked_coordinators: ids(linked),
    }
}
/// The workflows of one area.
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

pub fn granted(user_id: &str, area_code: &str, r: &[UserRole]) -> AuthorityEvent {
    AuthorityEvent::UserRolesGranted {
        user_id: user_id.into(),
        area: area(area_code),
        roles: roles(r),
    }
}
pub fn user_registered(user_id: &str, lda: bool) -> AuthorityEvent {
    AuthorityEvent::UserRegistered {
        user_id: user_id.into(),
        identity: sealed_for(user_id),
        local_data_administrator: lda,
    }
}

pub fn data(name: &str) -> AuthorityData {
    AuthorityData {
        official_name: name.into(),
        ..AuthorityData::default()
    }
}

/// A history of an authority registered directly by `coordinator`, with its first user.
#[allow(clippy::too_many_arguments)]
pub fn registered_by(
    coordinator: &str,
    id: &str,
    kind: AuthorityKind,
    region_code: Option<&str>,
    coordinated: &[&str],
    access: AreaGrants,
    first_user: &str,
) -> Vec<AuthorityEvent> {
    vec![
        AuthorityEvent::AuthorityRegistered {
            authority_id: id.into(),
            registered_by: coordinator.into(),
            member_state: de(),
            kind,
            region: region_code.and_then(region),
            coordinated_areas: areas(coordinated),
            access,
            official_name: format!("Authority {id}"),
            informal_titles: BTreeMap::new(),
            description: None,
            contact: ContactDetails::default(),
            contact_person: None,
        },
        user_registered(first_user, true),
        AuthorityEvent::AuthorityValidated {
            validated_by: coordinator.into(),
        },
    ]
}

pub fn nimic_history() -> Vec<AuthorityEvent> {
    nimic_of(de(), "nimic-lda", &["PQ", "SD", "ECOM"], "nimic")
}

fn nimic_of(ms: MemberState, lda: &str, da_areas: &[&str], id: &str) -> Vec<AuthorityEvent> {
    let mut events = vec![
        AuthorityEvent::NationalCoordinatorRegistered {
            member_state: ms,
            official_name: format!("National IMI Coordinator {id}"),
            informal_titles: BTreeMap::new(),
        },
        user_registered(lda, true),
    ];
    for a in da_areas {
        events.push(granted(lda, a, &[UserRole::DataAdministrator]));
    }
    events.push(AuthorityEvent::AreaAccessGranted {
        area: pq(),
        access_coordinator: id.into(),
        workflows: workflows(&[
            (Workflow::Requests, WorkflowRole::RequestCoordinator, &[id]),
            (Workflow::Alerts, WorkflowRole::IncomingAlertPostbox, &[id]),
        ]),
    });
    events
}

pub fn fr_nimic_history() -> Vec<AuthorityEvent> {
    let mut events = nimic_of(fr(), "fr-lda", &["PQ"], "fr-nimic");
    // France's postbox is its national coordinator too; keep only requests for simplicity.
    events.pop();
    events.push(AuthorityEvent::AreaAccessGranted {
        area: pq(),
        access_coordinator: "fr-nimic".into(),
        workflows: workflows(&[(
            Workflow::Requests,
            WorkflowRole::RequestCoordinator,
            &["fr-nimic"],
        )]),
    });
    events
}

pub fn sdimic_history() -> Vec<AuthorityEvent> {
    let mut events = registered_by(
        "nimic",
        "sdimic-by",
        AuthorityKind::SuperDelegatedCoordinator,
        Some("DE-BY"),
        &[],
        BTreeMap::new(),
        "sdimic-da",
    );
    events.push(granted("sdimic-da", "PQ", &[UserRole::DataAdministrator]));
    events.push(granted("sdimic-da", "SD", &[UserRole::DataAdministrator]));
    events
}

pub fn coordinating_pq(id: &str) -> AreaGrants {
    grants(
        "PQ",
        &[
            (Workflow::Requests, WorkflowRole::RequestCoordinator, &[id]),
            (Workflow::Alerts, WorkflowRole::AlertCoordinator, &[id]),
        ],
    )
}

pub fn limic_history() -> Vec<AuthorityEvent> {
    let mut events = registered_by(
        "nimic",
        "limic-pq",
        AuthorityKind::LegislativeAreaCoordinator,
        None,
        &["PQ"],
        coordinating_pq("limic-pq"),
        "limic-da",
    );
    events.push(granted("limic-da", "PQ", &[UserRole::DataAdministrator]));
    events
}

pub fn dimic_history() -> Vec<AuthorityEvent> {
    let mut events = registered_by(
        "sdimic-by",
        "dimic-by",
        AuthorityKind::DelegatedCoordinator,
        Some("DE-BY"),
        &["PQ"],
        coordinating_pq("dimic-by"),
        "dimic-da",
    );
    events.push(granted("dimic-da", "PQ", &[UserRole::DataAdministrator]));
    events.push(user_registered("dimic-lda", true));
    events
}

pub fn other_ca_history() -> Vec<AuthorityEvent> {
    registered_by(
        "nimic",
        "ca-other",
        AuthorityKind::CompetentAuthority,
        None,
        &[],
        grants(
            "PQ",
            &[(
                Workflow::Requests,
                WorkflowRole::RequestAuthority,
                &["limic-pq"],
            )],
        ),
        "other-lda",
    )
}

pub fn pending_history() -> Vec<AuthorityEvent> {
    let mut events = invited("pending", "dimic-by");
    events.extend(self_registration("pending-lda"));
    events
}

/// `id` invited by `coordinator`: a CA in DE-BY with PQ requests linked to `coordinator`.
pub fn invited(id: &str, coordinator: &str) -> Vec<AuthorityEvent> {
    vec![AuthorityEvent::InvitationIssued {
        authority_id: id.into(),
        invited_by: coordinator.into(),
        member_state: de(),
        kind: AuthorityKind::CompetentAuthority,
        region: region("DE-BY"),
        coordinated_areas: BTreeSet::new(),
        access: grants(
            "PQ",
            &[(
                Workflow::Requests,
                WorkflowRole::RequestAuthority,
                &[coordinator],
            )],
        ),
        code_digest: CODE.into(),
        expires_at: expiry(),
        contact_email: sealed_for_authority(id),
    }]
}

pub fn self_registration(first_user: &str) -> Vec<AuthorityEvent> {
    vec![
        AuthorityEvent::AuthoritySelfRegistered {
            member_state: de(),
            kind: AuthorityKind::CompetentAuthority,
            official_name: "Landesamt".into(),
            informal_titles: BTreeMap::new(),
            description: None,
            contact: ContactDetails::default(),
            contact_person: None,
        },
        user_registered(first_user, true),
    ]
}

/// The authority under test: invited by `dimic-by`, not yet registered.
pub fn invited_ca() -> Vec<AuthorityEvent> {
    invited("ca", "dimic-by")
}
/// ... registered itself, awaiting validation.
pub fn registered_ca() -> Vec<AuthorityEvent> {
    let mut events = invited_ca();
    events.extend(self_registration("ca-lda"));
    events
}
/// ... validated, with a basic user `ca-user`.
pub fn validated_ca() -> Vec<AuthorityEvent> {
    let mut events = registered_ca();
    events.push(AuthorityEvent::AuthorityValidated {
        validated_by: "dimic-by".into(),
    });
    events.push(user_registered("ca-user", false));
    events
}

pub fn directory() -> InMemoryDirectory {
    InMemoryDirectory::new()
        .at(now())
        .with_area("PQ", &[Workflow::Requests, Workflow::Alerts])
        .with_area("SD", &[Workflow::Requests, Workflow::Alerts])
        .with_area("ECOM", &[Workflow::Requests])
        .with_keyword(Keyword {
            list: KeywordList::EconomicActivities,
            code: "M69".into(),
        })
        .with_keyword(Keyword {
            list: KeywordList::PolicyAreas,
            code: "HEALTH".into(),
        })
        .with_profession("PQ", "doctor")
        .with_profession("PQ", "architect")
        .with_service_activity("SD", "construction")
        .with_history("nimic", nimic_history())
        .with_history("fr-nimic", fr_nimic_history())
        .with_history("sdimic-by", sdimic_history())
        .with_history("limic-pq", limic_history())
        .with_history("dimic-by", dimic_history())
        .with_history("ca-other", other_ca_history())
        .with_history("pending", pending_history())
        .with_history("ca", validated_ca())
}

/// The given step over the standard directory.
pub fn given(events: Vec<AuthorityEvent>) -> AggregateTestExecutor<Subject> {
    TestFramework::<Subject>::with(directory()).given(events)
}

/// The given step over another directory.
pub fn given_in(
    dir: InMemoryDirectory,
    events: Vec<AuthorityEvent>,
) -> AggregateTestExecutor<Subject> {
    TestFramework::<Subject>::with(dir).given(events)
}

pub fn issued(by: Actor, command: AuthorityCommand) -> Issued<AuthorityCommand> {
    Issued::new(by, command)
}

// Actors of the scene.
pub fn nimic_da() -> Actor {
    user("nimic-lda", "nimic")
}
pub fn sdimic_da() -> Actor {
    user("sdimic-da", "sdimic-by")
}
pub fn limic_da() -> Actor {
    user("limic-da", "limic-pq")
}
pub fn dimic_da() -> Actor {
    user("dimic-da", "dimic-by")
}
pub fn dimic_lda_only() -> Actor {
    user("dimic-lda", "dimic-by")
}
pub fn fr_da() -> Actor {
    user("fr-lda", "fr-nimic")
}
pub fn ca_lda() -> Actor {
    user("ca-lda", "ca")
}
pub fn ca_user() -> Actor {
    user("ca-user", "ca")
}
pub fn other_lda() -> Actor {
    user("other-lda", "ca-other")
}
