//! Table tests of the access policy: every (actor × mutation) and (actor × view) cell is
//! computed and compared with an explicit expected matrix.
//!
//! The scene, all in DE unless said:
//! - `ca`: the target, a competent authority in region DE-BY with access to PQ (requests as
//!   "Authority (requests)", alerts as alert authority). Invited and validated by `dimic`; its
//!   access coordinator for PQ is `limic`; linked to the coordinator `rc` in both workflows.
//! - `dimic`: DIMIC for PQ in DE-BY (the validating coordinator);
//! - `limic`: LIMIC for PQ (the access coordinator);
//! - `rc`: DIMIC for PQ, request and alert coordinator there (the linked coordinator);
//! - `nimic`: the national coordinator; `other`: an unrelated competent authority;
//! - `fr-nimic`: France's national coordinator.
//!
//! Every actor is one user of one of these authorities holding one role, in both PQ and SD
//! (the local data administrator row holds no area role).

use super::*;
use crate::authority::{
    AreaAccess, AuthorityStatus, Region, Workflow, WorkflowAccess, WorkflowRole,
};
use crate::reference::MemberState;
use std::collections::BTreeMap;

fn area(code: &str) -> LegislativeArea {
    LegislativeArea::parse(code).unwrap()
}

fn summary(
    id: &str,
    ms: &str,
    kind: AuthorityKind,
    region: Option<&str>,
    coordinated: &[&str],
) -> AuthoritySummary {
    AuthoritySummary {
        authority_id: id.into(),
        member_state: MemberState::parse(ms).unwrap(),
        kind,
        region: region.map(|r| Region::parse(r).unwrap()),
        coordinated_areas: coordinated.iter().map(|a| area(a)).collect(),
        status: AuthorityStatus::Validated,
        invited_by: None,
        validating_coordinator: None,
        areas: BTreeMap::new(),
        linked_authorities: BTreeSet::new(),
        users: BTreeMap::new(),
    }
}

fn workflow(role: WorkflowRole, linked: &[&str]) -> WorkflowAccess {
    WorkflowAccess {
        role,
        linked_coordinators: linked.iter().map(|s| s.to_string()).collect(),
        flags: BTreeSet::new(),
    }
}

fn pq_access(
    coordinator: &str,
    requests: WorkflowRole,
    alerts: WorkflowRole,
    linked: &[&str],
) -> AreaAccess {
    AreaAccess {
        access_coordinator: coordinator.into(),
        workflows: BTreeMap::from([
            (Workflow::Requests, workflow(requests, linked)),
            (Workflow::Alerts, workflow(alerts, linked)),
        ]),
        competences: BTreeSet::new(),
        professions: BTreeSet::new(),
        service_activities: BTreeSet::new(),
    }
}

fn target() -> AuthoritySummary {
    let mut t = summary(
        "ca",
        "DE",
        AuthorityKind::CompetentAuthority,
        Some("DE-BY"),
        &[],
    );
    t.invited_by = Some("dimic".into());
    t.validating_coordinator = Some("dimic".into());
    t.areas.insert(
        area("PQ"),
        pq_access(
            "limic",
            WorkflowRole::RequestAuthority,
            WorkflowRole::AlertAuthority,
            &["rc"],
        ),
    );
    t
}

/// The authorities actors come from, by relation to the target.
fn relations() -> Vec<(&'static str, AuthoritySummary)> {
    use AuthorityKind::*;
    let mut rc = summary("rc", "DE", DelegatedCoordinator, None, &["PQ"]);
    rc.areas.insert(
        area("PQ"),
        pq_access(
            "nimic",
            WorkflowRole::RequestCoordinator,
            WorkflowRole::AlertCoordinator,
            &["rc"],
        ),
    );
    vec![
        ("own", target()),
        (
            "validating",
            summary("dimic", "DE", DelegatedCoordinator, Some("DE-BY"), &["PQ"]),
        ),
        (
            "access",
            summary("limic", "DE", LegislativeAreaCoordinator, None, &["PQ"]),
        ),
        ("linked", rc),
        (
            "national",
            summary("nimic", "DE", NationalCoordinator, None, &[]),
        ),
        (
            "same-ms",
            summary("other", "DE", CompetentAuthority, None, &[]),
        ),
        (
            "foreign",
            summary("fr-nimic", "FR", NationalCoordinator, None, &[]),
        ),
    ]
}

const ROLES: [&str; 10] = [
    "basic user",
    "request handler",
    "request viewer",
    "allocator",
    "referral handler",
    "alert handler",
    "alert disseminator",
    "alert viewer",
    "data administrator",
    "LDA",
];

fn user_with(role: &str) -> UserSummary {
    let roles = UserRole::ALL
        .into_iter()
        .filter(|r| r.label() == role && *r != UserRole::BasicUser)
        .collect::<BTreeSet<_>>();
    UserSummary {
        local_data_administrator: role == "LDA",
        active: true,
        roles: if roles.is_empty() {
            BTreeMap::new()
        } else {
            BTreeMap::from([(area("PQ"), roles.clone()), (area("SD"), roles)])
        },
    }
}

fn actor(mut authority: AuthoritySummary, role: &str) -> ActorContext {
    authority.users.insert("actor".into(), user_with(role));
    ActorContext::new("actor", authority)
}

/// Every actor row: relation × role, then the special cases.
fn actor_rows() -> Vec<(String, Option<ActorContext>)> {
    let mut rows = vec![];
    for (relation, authority) in relations() {
        for role in ROLES {
            rows.push((
                format!("{relation:<11}{role}"),
                Some(actor(authority.clone(), role)),
            ));
        }
    }
    let mut deactivated = actor(target(), "LDA");
    deactivated.authority.users.get_mut("actor").unwrap().active = false;
    rows.push(("own        LDA, deactivated".into(), Some(deactivated)));
    let mut unvalidated = actor(
        summary(
            "dimic",
            "DE",
            AuthorityKind::DelegatedCoordinator,
            Some("DE-BY"),
            &["PQ"],
        ),
        "data administrator",
    );
    unvalidated.authority.status = AuthorityStatus::AwaitingValidation;
    rows.push(("validating DA, not validated".into(), Some(unvalidated)));
    let mut stranger = actor(target(), "LDA");
    stranger.user_id = "someone-else".into();
    rows.push(("own        not its user".into(), Some(stranger)));
    rows.push(("anonymous".into(), None));
    rows
}

fn render(rows: Vec<(String, Vec<bool>)>) -> String {
    rows.into_iter()
        .map(|(label, cells)| {
            let cells: Vec<&str> = cells.iter().map(|c| if *c { "Y" } else { "." }).collect();
            format!("{label:<32}{}", cells.join("  "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn trimmed(expected: &str) -> String {
    expected
        .trim_matches('\n')
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The columns of the mutation matrix: a label, the target, the mutation.
fn mutation_columns() -> Vec<(&'static str, AuthoritySummary, AuthorityMutation)> {
    use AuthorityMutation::*;
    let pq = area("PQ");
    let mut prospective = summary(
        "new-ca",
        "DE",
        AuthorityKind::CompetentAuthority,
        Some("DE-BY"),
        &[],
    );
    prospective.status = AuthorityStatus::Invited;
    prospective.areas.insert(
        pq.clone(),
        pq_access(
            "x",
            WorkflowRole::RequestAuthority,
            WorkflowRole::AlertAuthority,
            &["rc"],
        ),
    );
    let mut awaiting = target();
    awaiting.status = AuthorityStatus::AwaitingValidation;
    awaiting.validating_coordinator = None;
    let mut invited = awaiting.clone();
    invited.status = AuthorityStatus::Invited;
    vec![
        ("Rg", prospective, Register),
        ("Va", awaiting, Validate),
        ("Rn", invited, RenewInvitation),
        ("Ed", target(), EditGeneralData),
        ("Ea", target(), EditAreaData(pq.clone())),
        ("Ga", target(), GrantAreaAccess(area("SD"))),
        ("Wf", target(), ManageWorkflows(pq.clone())),
        ("Ip", target(), NominateIncomingAlertPostbox(pq.clone())),
        ("Ho", target(), HandOverAccessCoordination(pq.clone())),
        ("Ap", target(), SetApprovalFlags(pq.clone())),
        ("Lc", target(), LinkCoordinators(pq.clone())),
        ("Al", target(), SetAllocationFlag(pq)),
        ("La", target(), LinkAuthorities),
        ("Ru", target(), RegisterUser),
        ("Ur", target(), ChangeUserRoles),
        ("Ld", target(), ManageLocalDataAdministrators),
        ("Us", target(), ChangeUserStatus),
        (
            "PL",
            target(),
            ResetPassword {
                of_local_data_administrator: true,
            },
        ),
        (
            "Pu",
            target(),
            ResetPassword {
                of_local_data_administrator: false,
            },
        ),
    ]
}

/// Columns: Rg register/invite a CA with PQ in DE-BY · Va validate · Rn renew the invitation ·
/// Ed edit general data · Ea edit PQ data · Ga grant access to SD · Wf manage PQ workflows ·
/// Ip nominate the incoming alert postbox in PQ · Ho hand over PQ access coordination ·
/// Ap approval flags · Lc linked coordinators · Al allocation flag · La linked authorities ·
/// Ru register a user · Ur user roles · Ld LDAs · Us (de)activate users · PL reset an LDA's
/// password · Pu reset another user's password.
const EXPECTED_MUTATIONS: &str = "
                                Rg Va Rn Ed Ea Ga Wf Ip Ho Ap Lc Al La Ru Ur Ld Us PL Pu
own        basic user           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
own        request handler      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
own        request viewer       .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
own        allocator            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
own        referral handler     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
own        alert handler        .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
own        alert disseminator   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
own        alert viewer         .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
own        data administrator   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
own        LDA                  .  .  .  Y  Y  .  .  .  .  .  .  Y  Y  Y  Y  Y  Y  Y  Y
validating basic user           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
validating request handler      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
validating request viewer       .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
validating allocator            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
validating referral handler     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
validating alert handler        .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
validating alert disseminator   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
validating alert viewer         .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
validating data administrator   Y  Y  Y  Y  .  .  .  .  .  .  .  .  .  .  .  .  .  Y  .
validating LDA                  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
access     basic user           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
access     request handler      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
access     request viewer       .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
access     allocator            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
access     referral handler     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
access     alert handler        .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
access     alert disseminator   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
access     alert viewer         .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
access     data administrator   Y  .  .  .  Y  .  Y  .  Y  Y  Y  .  .  .  .  .  .  .  .
access     LDA                  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked     basic user           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked     request handler      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked     request viewer       .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked     allocator            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked     referral handler     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked     alert handler        .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked     alert disseminator   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked     alert viewer         .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked     data administrator   Y  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked     LDA                  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
national   basic user           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
national   request handler      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
national   request viewer       .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
national   allocator            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
national   referral handler     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
national   alert handler        .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
national   alert disseminator   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
national   alert viewer         .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
national   data administrator   Y  .  .  .  .  Y  .  Y  .  .  .  .  .  .  .  .  .  .  .
national   LDA                  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms    basic user           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms    request handler      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms    request viewer       .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms    allocator            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms    referral handler     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms    alert handler        .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms    alert disseminator   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms    alert viewer         .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms    data administrator   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms    LDA                  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign    basic user           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign    request handler      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign    request viewer       .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign    allocator            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign    referral handler     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign    alert handler        .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign    alert disseminator   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign    alert viewer         .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign    data administrator   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign    LDA                  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
own        LDA, deactivated     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
validating DA, not validated    .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
own        not its user         .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
";

#[test]
fn every_actor_and_mutation_cell_is_as_expected() {
    let columns = mutation_columns();
    let header = format!(
        "{:<32}{}",
        "",
        columns.iter().map(|c| c.0).collect::<Vec<_>>().join(" ")
    );
    let rows: Vec<(String, Vec<bool>)> = actor_rows()
        .into_iter()
        // A mutation always has an actor: anonymous requests are refused before the policy.
        .filter_map(|(label, actor)| Some((label, actor?)))
        .map(|(label, actor)| {
            let cells = columns
                .iter()
                .map(|(_, target, mutation)| authorize(&actor, target, mutation).is_ok())
                .collect();
            (label, cells)
        })
        .collect();
    let actual = format!("{header}\n{}", render(rows));
    assert_eq!(trimmed(&actual), trimmed(EXPECTED_MUTATIONS), "\n{actual}");
}

/// Columns: Di directory · Pr profile · Ct coordination tree · Ws workflow settings ·
/// Cp contact person · Us users · In invitation · Du directory entry of the same authority
/// while it awaits validation.
const EXPECTED_VIEWS: &str = "
                                Di Pr Ct Ws Cp Us In Du
own        basic user           Y  Y  Y  Y  Y  .  .  .
own        request handler      Y  Y  Y  Y  Y  .  .  .
own        request viewer       Y  Y  Y  Y  Y  .  .  .
own        allocator            Y  Y  Y  Y  Y  .  .  .
own        referral handler     Y  Y  Y  Y  Y  .  .  .
own        alert handler        Y  Y  Y  Y  Y  .  .  .
own        alert disseminator   Y  Y  Y  Y  Y  .  .  .
own        alert viewer         Y  Y  Y  Y  Y  .  .  .
own        data administrator   Y  Y  Y  Y  Y  .  .  .
own        LDA                  Y  Y  Y  Y  Y  Y  .  .
validating basic user           Y  Y  Y  Y  .  .  .  .
validating request handler      Y  Y  Y  Y  .  .  .  .
validating request viewer       Y  Y  Y  Y  .  .  .  .
validating allocator            Y  Y  Y  Y  .  .  .  .
validating referral handler     Y  Y  Y  Y  .  .  .  .
validating alert handler        Y  Y  Y  Y  .  .  .  .
validating alert disseminator   Y  Y  Y  Y  .  .  .  .
validating alert viewer         Y  Y  Y  Y  .  .  .  .
validating data administrator   Y  Y  Y  Y  Y  Y  Y  Y
validating LDA                  Y  Y  Y  Y  .  .  .  .
access     basic user           Y  Y  Y  Y  .  .  .  .
access     request handler      Y  Y  Y  Y  .  .  .  .
access     request viewer       Y  Y  Y  Y  .  .  .  .
access     allocator            Y  Y  Y  Y  .  .  .  .
access     referral handler     Y  Y  Y  Y  .  .  .  .
access     alert handler        Y  Y  Y  Y  .  .  .  .
access     alert disseminator   Y  Y  Y  Y  .  .  .  .
access     alert viewer         Y  Y  Y  Y  .  .  .  .
access     data administrator   Y  Y  Y  Y  Y  .  .  .
access     LDA                  Y  Y  Y  Y  .  .  .  .
linked     basic user           Y  Y  Y  Y  .  .  .  .
linked     request handler      Y  Y  Y  Y  .  .  .  .
linked     request viewer       Y  Y  Y  Y  .  .  .  .
linked     allocator            Y  Y  Y  Y  .  .  .  .
linked     referral handler     Y  Y  Y  Y  .  .  .  .
linked     alert handler        Y  Y  Y  Y  .  .  .  .
linked     alert disseminator   Y  Y  Y  Y  .  .  .  .
linked     alert viewer         Y  Y  Y  Y  .  .  .  .
linked     data administrator   Y  Y  Y  Y  .  .  .  .
linked     LDA                  Y  Y  Y  Y  .  .  .  .
national   basic user           Y  Y  Y  .  .  .  .  .
national   request handler      Y  Y  Y  .  .  .  .  .
national   request viewer       Y  Y  Y  .  .  .  .  .
national   allocator            Y  Y  Y  .  .  .  .  .
national   referral handler     Y  Y  Y  .  .  .  .  .
national   alert handler        Y  Y  Y  .  .  .  .  .
national   alert disseminator   Y  Y  Y  .  .  .  .  .
national   alert viewer         Y  Y  Y  .  .  .  .  .
national   data administrator   Y  Y  Y  .  .  .  .  .
national   LDA                  Y  Y  Y  .  .  .  .  .
same-ms    basic user           Y  Y  Y  .  .  .  .  .
same-ms    request handler      Y  Y  Y  .  .  .  .  .
same-ms    request viewer       Y  Y  Y  .  .  .  .  .
same-ms    allocator            Y  Y  Y  .  .  .  .  .
same-ms    referral handler     Y  Y  Y  .  .  .  .  .
same-ms    alert handler        Y  Y  Y  .  .  .  .  .
same-ms    alert disseminator   Y  Y  Y  .  .  .  .  .
same-ms    alert viewer         Y  Y  Y  .  .  .  .  .
same-ms    data administrator   Y  Y  Y  .  .  .  .  .
same-ms    LDA                  Y  Y  Y  .  .  .  .  .
foreign    basic user           Y  Y  Y  .  .  .  .  .
foreign    request handler      Y  Y  Y  .  .  .  .  .
foreign    request viewer       Y  Y  Y  .  .  .  .  .
foreign    allocator            Y  Y  Y  .  .  .  .  .
foreign    referral handler     Y  Y  Y  .  .  .  .  .
foreign    alert handler        Y  Y  Y  .  .  .  .  .
foreign    alert disseminator   Y  Y  Y  .  .  .  .  .
foreign    alert viewer         Y  Y  Y  .  .  .  .  .
foreign    data administrator   Y  Y  Y  .  .  .  .  .
foreign    LDA                  Y  Y  Y  .  .  .  .  .
own        LDA, deactivated     .  .  .  .  .  .  .  .
validating DA, not validated    .  .  .  .  .  .  .  .
own        not its user         .  .  .  .  .  .  .  .
anonymous                       .  .  .  .  .  .  .  .
";

#[test]
fn every_actor_and_view_cell_is_as_expected() {
    let validated = target();
    let mut awaiting = target();
    awaiting.status = AuthorityStatus::AwaitingValidation;
    awaiting.validating_coordinator = None;
    let mut columns: Vec<(&str, &AuthoritySummary, AuthorityView)> = AuthorityView::ALL
        .into_iter()
        .zip(["Di", "Pr", "Ct", "Ws", "Cp", "Us", "In"])
        .map(|(view, label)| (label, &validated, view))
        .collect();
    columns.push(("Du", &awaiting, AuthorityView::Directory));
    let header = format!(
        "{:<32}{}",
        "",
        columns.iter().map(|c| c.0).collect::<Vec<_>>().join(" ")
    );
    let rows: Vec<(String, Vec<bool>)> = actor_rows()
        .into_iter()
        .map(|(label, actor)| {
            let cells = columns
                .iter()
                .map(|(_, target, view)| may_view(actor.as_ref(), target, *view))
                .collect();
            (label, cells)
        })
        .collect();
    let actual = format!("{header}\n{}", render(rows));
    assert_eq!(trimmed(&actual), trimmed(EXPECTED_VIEWS), "\n{actual}");
}

/// Rows: the coordinator's kind; columns: the kind it would register, validate or coordinate.
const EXPECTED_HIERARCHY: &str = "
          NIMIC  SDIMIC LIMIC  DIMIC  CA
NIMIC     .      Y      Y      Y      Y
SDIMIC    .      .      Y      Y      Y
LIMIC     .      .      .      Y      Y
DIMIC     .      .      .      .      Y
CA        .      .      .      .      .
";

#[test]
fn the_coordination_hierarchy_is_as_the_glossary_says() {
    let mut actual = format!(
        "{:<10}{}",
        "",
        AuthorityKind::ALL
            .iter()
            .map(|k| format!("{:<7}", k.abbreviation()))
            .collect::<String>()
    );
    for coordinator in AuthorityKind::ALL {
        actual.push_str(&format!("\n{:<10}", coordinator.abbreviation()));
        for kind in AuthorityKind::ALL {
            let cell = if may_coordinate(coordinator, kind) {
                "Y"
            } else {
                "."
            };
            actual.push_str(&format!("{cell:<7}"));
        }
    }
    assert_eq!(trimmed(&actual), trimmed(EXPECTED_HIERARCHY), "\n{actual}");
}

#[test]
fn coordinators_act_in_their_member_state_region_and_areas_only() {
    use AuthorityKind::*;
    let pq = BTreeSet::from([area("PQ")]);
    let sd = BTreeSet::from([area("SD")]);
    let ca_by = summary("t", "DE", CompetentAuthority, Some("DE-BY"), &[]);
    let ca_be = summary("t", "DE", CompetentAuthority, Some("DE-BE"), &[]);
    let ca_nowhere = summary("t", "DE", CompetentAuthority, None, &[]);
    let sdimic = summary("s", "DE", SuperDelegatedCoordinator, Some("DE-BY"), &[]);
    let dimic = summary("d", "DE", DelegatedCoordinator, Some("DE-BY"), &["PQ"]);
    let limic = summary("l", "DE", LegislativeAreaCoordinator, None, &["PQ"]);
    let nimic_fr = summary("n", "FR", NationalCoordinator, None, &[]);

    assert!(
        coordinates(&sdimic, &ca_by, &sd).is_ok(),
        "SDIMIC: any area in its region"
    );
    assert_eq!(
        coordinates(&sdimic, &ca_be, &pq),
        Err(Denied::new(
            "the authority is outside the coordinator's region DE-BY"
        ))
    );
    assert!(coordinates(&sdimic, &ca_nowhere, &pq).is_err());
    assert!(coordinates(&dimic, &ca_by, &pq).is_ok());
    assert_eq!(
        coordinates(&dimic, &ca_by, &sd),
        Err(Denied::new("the coordinator is not responsible for SD"))
    );
    assert!(
        coordinates(&limic, &ca_be, &pq).is_ok(),
        "LIMIC for the whole Member State"
    );
    assert_eq!(
        coordinates(&nimic_fr, &ca_by, &pq),
        Err(Denied::new(
            "a coordinator acts only in its own Member State"
        ))
    );
    let dimic_sd = summary("d2", "DE", DelegatedCoordinator, None, &["PQ", "SD"]);
    assert_eq!(
        coordinates(&limic, &dimic_sd, &dimic_sd.coordinated_areas),
        Err(Denied::new("the coordinator is not responsible for SD")),
        "a LIMIC registers DIMICs of its own area only"
    );
    assert_eq!(
        coordinates(&ca_by, &ca_be, &pq),
        Err(Denied::new(
            "a competent authority registers, validates and coordinates no one"
        ))
    );
}

#[test]
fn a_national_coordinator_grants_itself_access() {
    let mut nimic = summary("nimic", "DE", AuthorityKind::NationalCoordinator, None, &[]);
    nimic
        .users
        .insert("u".into(), user_with("data administrator"));
    let actor = ActorContext::new("u", nimic.clone());
    let grant = AuthorityMutation::GrantAreaAccess(area("SD"));
    assert!(authorize(&actor, &nimic, &grant).is_ok());
    let mut limic = summary(
        "limic",
        "DE",
        AuthorityKind::LegislativeAreaCoordinator,
        None,
        &["SD"],
    );
    limic
        .users
        .insert("u".into(), user_with("data administrator"));
    let actor = ActorContext::new("u", limic.clone());
    assert_eq!(
        authorize(&actor, &limic, &grant),
        Err(Denied::new(
            "only a data administrator in SD of a coordinator responsible for this authority \
             may grant it access to SD"
        )),
        "other coordinators get access from their coordinators"
    );
}

#[test]
fn a_data_administrator_role_outside_the_coordinated_areas_counts_for_nothing() {
    let mut dimic = summary(
        "dimic",
        "DE",
        AuthorityKind::DelegatedCoordinator,
        Some("DE-BY"),
        &["PQ"],
    );
    dimic.users.insert(
        "u".into(),
        UserSummary {
            local_data_administrator: false,
            active: true,
            roles: BTreeMap::from([(area("SD"), BTreeSet::from([UserRole::DataAdministrator]))]),
        },
    );
    let actor = ActorContext::new("u", dimic);
    assert!(!actor.is_data_administrator(&area("SD")));
    assert!(!actor.is_data_administrator_anywhere());
}

/// Who reads which kind of data at all: users by their roles, and the European Commission's
/// statistics-only reader, which reads the statistics of every Member State and nothing else.
#[test]
fn every_reader_and_kind_of_data_cell_is_as_expected() {
    use AuthorityKind::*;
    let nimic = summary("nimic", "DE", NationalCoordinator, None, &[]);
    let with_role = |authority: &AuthoritySummary, role: UserRole| {
        let mut a = authority.clone();
        a.users.insert(
            "actor".into(),
            UserSummary {
                local_data_administrator: false,
                active: true,
                roles: BTreeMap::from([(area("PQ"), BTreeSet::from([role]))]),
            },
        );
        Reader::User(std::sync::Arc::new(ActorContext::new("actor", a)))
    };
    let mut deactivated = actor(target(), "basic user");
    deactivated.authority.users.get_mut("actor").unwrap().active = false;
    let rows = vec![
        (
            "CA basic user",
            Reader::User(actor(target(), "basic user").into()),
        ),
        ("CA deactivated", Reader::User(deactivated.into())),
        ("CA auditor", with_role(&target(), UserRole::Auditor)),
        (
            "NIMIC data administrator",
            with_role(&nimic, UserRole::DataAdministrator),
        ),
        (
            "NIMIC data protection officer",
            with_role(&nimic, UserRole::DataProtectionOfficer),
        ),
        ("NIMIC auditor", with_role(&nimic, UserRole::Auditor)),
        (
            "Commission statistics reader",
            Reader::CommissionStatistics {
                user_id: "ec-reader".into(),
            },
        ),
    ];
    let actual = render(
        rows.into_iter()
            .map(|(label, reader)| {
                (
                    label.to_string(),
                    ReadKind::ALL
                        .into_iter()
                        .map(|kind| may_read(&reader, kind))
                        .collect(),
                )
            })
            .collect(),
    );
    // Columns: statistics, exchanges, authorities, processing log, histories.
    let expected = "
CA basic user                   Y  Y  Y  .  .
CA deactivated                  .  .  .  .  .
CA auditor                      Y  Y  Y  .  .
NIMIC data administrator        Y  Y  Y  .  .
NIMIC data protection officer   Y  Y  Y  Y  .
NIMIC auditor                   Y  Y  Y  .  Y
Commission statistics reader    Y  .  .  .  .
";
    assert_eq!(actual, trimmed(expected), "\n{actual}");
}
