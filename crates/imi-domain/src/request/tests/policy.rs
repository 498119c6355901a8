//! Table tests of the request policy: every (actor × action) and (actor × request state)
//! cell is computed and compared with an explicit expected matrix.
//!
//! The scene (PQ): `de-ca` requests, linked to the request coordinators `de-rc` (chosen for
//! the request) and `de-rc2`, with `de-linked` linked to it; `fr-ca` responds, linked to
//! `fr-rc`; `fr-old` forwarded the request to `fr-ca`; `de-other` and `it-ca` are unrelated.
//! Every actor is one user holding one role in PQ in one of these authorities; then special
//! rows for allocation and for users who cannot act at all.

use super::support::*;
use crate::access::ActorContext;
use crate::authority::{AuthorityKind, AuthorityStatus, AuthoritySummary, Flag, UserRole};
use crate::request::*;
use chrono::Duration;
use std::collections::BTreeSet;

const ROLES: [(&str, Option<UserRole>); 5] = [
    ("basic user", None),
    ("request handler", Some(UserRole::RequestHandler)),
    ("request viewer", Some(UserRole::RequestViewer)),
    ("allocator", Some(UserRole::Allocator)),
    ("referral handler", Some(UserRole::ReferralHandler)),
];

fn requesting() -> AuthoritySummary {
    let mut a = with_coordinators(de_ca(), &["de-rc", "de-rc2"]);
    a.users.clear();
    a
}
fn responding() -> AuthoritySummary {
    let mut a = fr_ca();
    a.users.clear();
    a
}
fn bare(id: &str, ms: &str, kind: AuthorityKind, coordinator: bool) -> AuthoritySummary {
    use crate::authority::WorkflowRole::*;
    let role = if coordinator {
        RequestCoordinator
    } else {
        RequestAuthority
    };
    authority(id, ms, kind, Some(role), &[id], &[])
}

/// The authorities actors come from, by relation to the request.
fn relations() -> Vec<(&'static str, AuthoritySummary)> {
    use AuthorityKind::*;
    vec![
        ("requesting", requesting()),
        ("responding", responding()),
        ("req coord", bare("de-rc", "DE", DelegatedCoordinator, true)),
        (
            "resp coord",
            bare("fr-rc", "FR", DelegatedCoordinator, true),
        ),
        (
            "other coord",
            bare("de-rc2", "DE", DelegatedCoordinator, true),
        ),
        (
            "linked auth",
            bare("de-linked", "DE", CompetentAuthority, false),
        ),
        ("forwarder", bare("fr-old", "FR", CompetentAuthority, false)),
        ("same-ms", bare("de-other", "DE", CompetentAuthority, false)),
        ("foreign", bare("it-ca", "IT", CompetentAuthority, false)),
    ]
}

fn actor(mut authority: AuthoritySummary, user_id: &str, role: Option<UserRole>) -> ActorContext {
    let mut user = crate::authority::UserSummary {
        local_data_administrator: false,
        active: true,
        roles: Default::default(),
    };
    if let Some(role) = role {
        user.roles.insert(pq(), BTreeSet::from([role]));
    }
    authority.users.insert(user_id.into(), user);
    ActorContext::new(user_id, authority)
}

fn actor_rows() -> Vec<(String, ActorContext)> {
    let mut rows = vec![];
    for (relation, authority) in relations() {
        for (label, role) in ROLES {
            rows.push((
                format!("{relation:<12}{label}"),
                actor(authority.clone(), "someone", role),
            ));
        }
    }
    let allocating_requester = with_flags(requesting(), &[Flag::Allocation]);
    let allocating_responder = with_flags(responding(), &[Flag::Allocation]);
    let handler = Some(UserRole::RequestHandler);
    rows.extend([
        (
            "requesting  handler, allocation, assigned".to_string(),
            actor(allocating_requester.clone(), "de-handler", handler),
        ),
        (
            "requesting  handler, allocation, not assigned".to_string(),
            actor(allocating_requester.clone(), "someone", handler),
        ),
        (
            "requesting  allocator, allocation".to_string(),
            actor(allocating_requester, "someone", Some(UserRole::Allocator)),
        ),
        (
            "responding  handler, allocation, assigned".to_string(),
            actor(allocating_responder.clone(), "fr-handler", handler),
        ),
        (
            "responding  handler, allocation, not assigned".to_string(),
            actor(allocating_responder.clone(), "someone", handler),
        ),
        (
            "responding  allocator, allocation".to_string(),
            actor(allocating_responder, "someone", Some(UserRole::Allocator)),
        ),
    ]);
    let mut deactivated = actor(requesting(), "someone", handler);
    deactivated
        .authority
        .users
        .get_mut("someone")
        .unwrap()
        .active = false;
    rows.push(("requesting  handler, deactivated".into(), deactivated));
    let mut unvalidated = actor(responding(), "someone", handler);
    unvalidated.authority.status = AuthorityStatus::AwaitingValidation;
    rows.push(("responding  handler, not validated".into(), unvalidated));
    let mut stranger = actor(requesting(), "someone", handler);
    stranger.user_id = "not-its-user".into();
    rows.push(("requesting  not its user".into(), stranger));
    rows
}

/// The request in `status`, its coordinators having intervened (approval, referral).
fn request(status: RequestStatus) -> RequestSummary {
    let mut summary = Subject::from_events(in_referral()).summary().unwrap();
    summary.status = status;
    summary.requesting = party(&requesting());
    summary.forwarded_from = ids(&["fr-old"]);
    summary.request_approval = true;
    summary.reply_approval = true;
    summary.requesting_handlers = ids(&["de-handler"]);
    summary.responding_handlers = ids(&["fr-handler"]);
    if matches!(
        status,
        RequestStatus::Draft | RequestStatus::AwaitingApproval
    ) {
        summary.dates.sent_at = None;
    }
    summary
}

/// A request withdrawn before it was ever sent: it never reached the responding side.
fn withdrawn_unsent() -> RequestSummary {
    let mut summary = request(RequestStatus::Withdrawn);
    summary.dates.sent_at = None;
    summary
}

fn render(header: String, rows: Vec<(String, Vec<String>)>) -> String {
    let body = rows
        .into_iter()
        .map(|(label, cells)| format!("{label:<48}{}", cells.join("  ")))
        .collect::<Vec<_>>()
        .join("\n");
    format!("{header}\n{body}")
}

fn trimmed(text: &str) -> String {
    text.trim_matches('\n')
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Columns: Dr draft · Ud update the draft · Se send · Ag agree to another answer date ·
/// Ai ask for additional information · Or open a referral · Cl close · Wd withdraw ·
/// Ra rate · Aq approve the request · Bq send the request back · Ac accept ·
/// Pd propose another answer date · Fw forward · Re reply (partial or full) · Mr maintain the
/// reply · Ar approve the reply · Br send the reply back · As assign · Dp decide on taking
/// part in the referral · Op give a referral opinion. The request is dispatched.
const EXPECTED_ACTIONS: &str = "
                                                Dr Ud Se Ag Ai Or Cl Wd Ra Aq Bq Ac Pd Fw Re Mr Ar Br As Dp Op
requesting  basic user                          .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
requesting  request handler                     Y  Y  Y  Y  Y  Y  Y  Y  Y  .  .  .  .  .  .  .  .  .  .  .  .
requesting  request viewer                      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
requesting  allocator                           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
requesting  referral handler                    .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
responding  basic user                          .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
responding  request handler                     .  .  .  .  .  .  .  .  .  .  .  Y  Y  Y  Y  Y  .  .  .  .  .
responding  request viewer                      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
responding  allocator                           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
responding  referral handler                    .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
req coord   basic user                          .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
req coord   request handler                     .  .  .  .  .  .  .  .  .  Y  Y  .  .  .  .  .  .  .  .  .  .
req coord   request viewer                      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
req coord   allocator                           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
req coord   referral handler                    .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  Y  Y
resp coord  basic user                          .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
resp coord  request handler                     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  Y  Y  .  .  .
resp coord  request viewer                      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
resp coord  allocator                           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
resp coord  referral handler                    .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  Y  Y
other coord basic user                          .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
other coord request handler                     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
other coord request viewer                      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
other coord allocator                           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
other coord referral handler                    .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked auth basic user                          .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked auth request handler                     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked auth request viewer                      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked auth allocator                           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
linked auth referral handler                    .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
forwarder   basic user                          .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
forwarder   request handler                     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
forwarder   request viewer                      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
forwarder   allocator                           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
forwarder   referral handler                    .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms     basic user                          .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms     request handler                     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms     request viewer                      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms     allocator                           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms     referral handler                    .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign     basic user                          .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign     request handler                     .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign     request viewer                      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign     allocator                           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign     referral handler                    .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
requesting  handler, allocation, assigned       Y  Y  Y  Y  Y  Y  Y  Y  Y  .  .  .  .  .  .  .  .  .  .  .  .
requesting  handler, allocation, not assigned   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
requesting  allocator, allocation               .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  Y  .  .
responding  handler, allocation, assigned       .  .  .  .  .  .  .  .  .  .  .  Y  Y  Y  Y  Y  .  .  .  .  .
responding  handler, allocation, not assigned   .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
responding  allocator, allocation               .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  Y  .  .
requesting  handler, deactivated                .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
responding  handler, not validated              .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
requesting  not its user                        .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
";

#[test]
fn every_actor_and_action_cell_is_as_expected() {
    let labels = [
        "Dr", "Ud", "Se", "Ag", "Ai", "Or", "Cl", "Wd", "Ra", "Aq", "Bq", "Ac", "Pd", "Fw", "Re",
        "Mr", "Ar", "Br", "As", "Dp", "Op",
    ];
    assert_eq!(labels.len(), RequestAction::ALL.len());
    let summary = request(RequestStatus::InReferral);
    let rows = actor_rows()
        .into_iter()
        .map(|(label, actor)| {
            let cells = RequestAction::ALL
                .iter()
                .map(|action| {
                    if authorize(&actor, *action, &summary).is_ok() {
                        "Y".to_string()
                    } else {
                        ".".to_string()
                    }
                })
                .collect();
            (label, cells)
        })
        .collect();
    let actual = render(format!("{:<48}{}", "", labels.join(" ")), rows);
    assert_eq!(trimmed(&actual), trimmed(EXPECTED_ACTIONS), "\n{actual}");
}

/// Before dispatch the responding side can take no step at all; its allocator neither.
#[test]
fn the_responding_side_acts_only_once_the_request_is_dispatched() {
    let draft = request(RequestStatus::Draft);
    for role in [UserRole::RequestHandler, UserRole::Allocator] {
        let actor = actor(
            with_flags(responding(), &[Flag::Allocation]),
            "fr-handler",
            Some(role),
        );
        for action in RequestAction::ALL {
            assert!(
                authorize(&actor, action, &draft).is_err(),
                "{role:?} {action:?}"
            );
        }
    }
}

/// Columns: the request as a draft (Dr), awaiting approval (Aw), withdrawn before it was
/// sent (Wu), sent (Se), in referral (Rf), closed (Cl), closed with personal data blocked
/// (Bl). Cells: `-` nothing,
/// `M` monitoring, `F` full without personal data, `P` full with personal data.
const EXPECTED_VIEWS: &str = "
                                                Dr Aw Wu Se Rf Cl Bl
requesting  basic user                          M  M  M  M  M  M  M
requesting  request handler                     P  P  P  P  P  P  M
requesting  request viewer                      P  P  P  P  P  P  M
requesting  allocator                           F  F  F  F  F  F  M
requesting  referral handler                    M  M  M  M  M  M  M
responding  basic user                          -  -  -  M  M  M  M
responding  request handler                     -  -  -  P  P  P  M
responding  request viewer                      -  -  -  P  P  P  M
responding  allocator                           -  -  -  F  F  F  M
responding  referral handler                    -  -  -  M  M  M  M
req coord   basic user                          M  M  M  M  M  M  M
req coord   request handler                     F  F  F  F  F  F  M
req coord   request viewer                      M  M  M  M  M  M  M
req coord   allocator                           M  M  M  M  M  M  M
req coord   referral handler                    F  F  F  F  F  F  M
resp coord  basic user                          -  -  -  M  M  M  M
resp coord  request handler                     -  -  -  F  F  F  M
resp coord  request viewer                      -  -  -  M  M  M  M
resp coord  allocator                           -  -  -  M  M  M  M
resp coord  referral handler                    -  -  -  F  F  F  M
other coord basic user                          M  M  M  M  M  M  M
other coord request handler                     M  M  M  M  M  M  M
other coord request viewer                      M  M  M  M  M  M  M
other coord allocator                           M  M  M  M  M  M  M
other coord referral handler                    M  M  M  M  M  M  M
linked auth basic user                          M  M  M  M  M  M  M
linked auth request handler                     M  M  M  M  M  M  M
linked auth request viewer                      M  M  M  M  M  M  M
linked auth allocator                           M  M  M  M  M  M  M
linked auth referral handler                    M  M  M  M  M  M  M
forwarder   basic user                          -  -  -  M  M  M  M
forwarder   request handler                     -  -  -  M  M  M  M
forwarder   request viewer                      -  -  -  M  M  M  M
forwarder   allocator                           -  -  -  M  M  M  M
forwarder   referral handler                    -  -  -  M  M  M  M
same-ms     basic user                          -  -  -  -  -  -  -
same-ms     request handler                     -  -  -  -  -  -  -
same-ms     request viewer                      -  -  -  -  -  -  -
same-ms     allocator                           -  -  -  -  -  -  -
same-ms     referral handler                    -  -  -  -  -  -  -
foreign     basic user                          -  -  -  -  -  -  -
foreign     request handler                     -  -  -  -  -  -  -
foreign     request viewer                      -  -  -  -  -  -  -
foreign     allocator                           -  -  -  -  -  -  -
foreign     referral handler                    -  -  -  -  -  -  -
requesting  handler, allocation, assigned       P  P  P  P  P  P  M
requesting  handler, allocation, not assigned   M  M  M  M  M  M  M
requesting  allocator, allocation               F  F  F  F  F  F  M
responding  handler, allocation, assigned       -  -  -  P  P  P  M
responding  handler, allocation, not assigned   -  -  -  M  M  M  M
responding  allocator, allocation               -  -  -  F  F  F  M
requesting  handler, deactivated                -  -  -  -  -  -  -
responding  handler, not validated              -  -  -  -  -  -  -
requesting  not its user                        -  -  -  -  -  -  -
";

#[test]
fn every_actor_and_view_cell_is_as_expected() {
    let mut blocked = request(RequestStatus::Closed);
    blocked.dates.personal_data_blocked_at = Some(now() + Duration::days(181));
    let columns = [
        request(RequestStatus::Draft),
        request(RequestStatus::AwaitingApproval),
        withdrawn_unsent(),
        request(RequestStatus::Sent),
        request(RequestStatus::InReferral),
        request(RequestStatus::Closed),
        blocked,
    ];
    let rows = actor_rows()
        .into_iter()
        .map(|(label, actor)| {
            let cells = columns
                .iter()
                .map(|summary| {
                    match view_level(&actor, summary) {
                        None => "-",
                        Some(RequestViewLevel::Monitoring) => "M",
                        Some(RequestViewLevel::Full) => "F",
                        Some(RequestViewLevel::FullWithPersonalData) => "P",
                    }
                    .to_string()
                })
                .collect();
            (label, cells)
        })
        .collect();
    let actual = render(format!("{:<48}Dr Aw Wu Se Rf Cl Bl", ""), rows);
    assert_eq!(trimmed(&actual), trimmed(EXPECTED_VIEWS), "\n{actual}");
}

/// The coordinators' full views come from their intervention: without approval or referral
/// they only monitor.
#[test]
fn coordinators_without_intervention_only_monitor() {
    let mut summary = request(RequestStatus::Sent);
    summary.request_approval = false;
    summary.reply_approval = false;
    summary.referral = None;
    for (id, ms) in [("de-rc", "DE"), ("fr-rc", "FR")] {
        for role in [UserRole::RequestHandler, UserRole::ReferralHandler] {
            let coordinator = bare(id, ms, AuthorityKind::DelegatedCoordinator, true);
            let actor = actor(coordinator, "someone", Some(role));
            assert_eq!(
                view_level(&actor, &summary),
                Some(RequestViewLevel::Monitoring),
                "{id} {role:?}"
            );
        }
    }
}

/// Columns: kinds of step and who recorded them: drafted by the requester (Dr), sent back by
/// its coordinator (Sb), sent (Se), a reply submitted for approval by the responder (Rs), sent
/// back by its coordinator (Rb), assigned by the responder's allocator (As), the full reply
/// (Fr), personal data blocked by the system (Bl). The request is in referral, both
/// coordinators having intervened. What one side does among itself stays with that side.
const EXPECTED_STEPS: &str = "
                                                Dr Sb Se Rs Rb As Fr Bl
requesting  request handler                     Y  Y  Y  .  .  .  Y  Y
requesting  referral handler                    .  .  .  .  .  .  .  .
responding  request handler                     .  .  Y  Y  Y  Y  Y  Y
responding  referral handler                    .  .  .  .  .  .  .  .
req coord   request handler                     Y  Y  Y  .  .  .  Y  Y
req coord   referral handler                    Y  Y  Y  .  .  .  Y  Y
resp coord  request handler                     .  .  Y  Y  Y  Y  Y  Y
resp coord  referral handler                    .  .  Y  Y  Y  Y  Y  Y
other coord request handler                     .  .  .  .  .  .  .  .
other coord referral handler                    .  .  .  .  .  .  .  .
linked auth request handler                     .  .  .  .  .  .  .  .
linked auth referral handler                    .  .  .  .  .  .  .  .
forwarder   request handler                     .  .  .  .  .  .  .  .
forwarder   referral handler                    .  .  .  .  .  .  .  .
same-ms     request handler                     .  .  .  .  .  .  .  .
same-ms     referral handler                    .  .  .  .  .  .  .  .
foreign     request handler                     .  .  .  .  .  .  .  .
foreign     referral handler                    .  .  .  .  .  .  .  .
";

#[test]
fn every_actor_and_step_cell_is_as_expected() {
    use crate::request::visibility::shows_step;
    let summary = request(RequestStatus::InReferral);
    let steps: [(&str, Option<&str>); 8] = [
        ("RequestDrafted", Some("de-ca")),
        ("RequestSentBack", Some("de-rc")),
        ("RequestSent", Some("de-ca")),
        ("ReplySubmittedForApproval", Some("fr-ca")),
        ("ReplySentBack", Some("fr-rc")),
        ("RequestAssigned", Some("fr-ca")),
        ("FullReplySent", Some("fr-ca")),
        ("PersonalDataBlocked", None),
    ];
    let mut rows = vec![];
    for (relation, authority) in relations() {
        for (label, role) in [
            ("request handler", Some(UserRole::RequestHandler)),
            ("referral handler", Some(UserRole::ReferralHandler)),
        ] {
            let reader = actor(authority.clone(), "someone", role);
            let cells = steps
                .iter()
                .map(|(kind, by)| {
                    let shown = view_level(&reader, &summary)
                        .is_some_and(|level| shows_step(&reader, &summary, level, kind, *by));
                    if shown { "Y" } else { "." }.to_string()
                })
                .collect();
            rows.push((format!("{relation:<12}{label}"), cells));
        }
    }
    let actual = render(format!("{:<48}Dr Sb Se Rs Rb As Fr Bl", ""), rows);
    assert_eq!(trimmed(&actual), trimmed(EXPECTED_STEPS), "\n{actual}");
}

/// Every field of the views is declared, each at the lowest level that reads it; personal
/// data only with the full view with personal data, content only from the full view.
#[test]
fn every_field_and_level_cell_is_as_expected() {
    use crate::request::visibility::{RequestField as F, FIELD_RULES};
    const EXPECTED: &str = "
                          M F P
Identity                  Y Y Y
Parties                   Y Y Y
Dates                     Y Y Y
Blocking                  Y Y Y
Questions                 . Y Y
AttachmentFacts           . Y Y
Handlers                  . Y Y
ReplyAwaitingApproval     . Y Y
Rating                    . Y Y
ReferralDecisions         . Y Y
Steps                     . Y Y
Subject                   . . Y
FreeText                  . . Y
Answers                   . . Y
AttachmentNamesAndContent . . Y
StepTexts                 . . Y
";
    let body: Vec<String> = FIELD_RULES
        .iter()
        .map(|(field, _)| {
            let cells: Vec<&str> = RequestViewLevel::ALL
                .iter()
                .map(|level| if field.shown_at(*level) { "Y" } else { "." })
                .collect();
            format!("{:<26}{}", format!("{field:?}"), cells.join(" "))
        })
        .collect();
    let actual = format!("{:<26}M F P\n{}", "", body.join("\n"));
    assert_eq!(trimmed(&actual), trimmed(EXPECTED), "\n{actual}");
    // Each field is declared once.
    let declared: BTreeSet<F> = FIELD_RULES.iter().map(|(f, _)| *f).collect();
    assert_eq!(declared.len(), FIELD_RULES.len());
}

/// Every event of the request is declared in the step rules.
#[test]
fn every_kind_of_step_has_a_rule() {
    use crate::request::visibility::STEP_RULES;
    use cqrs_es::DomainEvent;
    let kinds: BTreeSet<&str> = STEP_RULES.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds.len(), STEP_RULES.len(), "a kind is declared twice");
    for event in super::serialization::one_of_each() {
        assert!(
            kinds.contains(event.event_type().as_str()),
            "{} has no step rule",
            event.event_type()
        );
    }
}

/// Auditors looking back at a request: the full view without personal data where their
/// Member State took part (the responding one once the request was dispatched), nothing
/// elsewhere; the auditor role outside a national coordinator counts for nothing.
#[test]
fn auditors_read_the_requests_their_member_state_took_part_in_without_personal_data() {
    use AuthorityKind::*;
    let auditor = |id: &str, ms: &str, kind: AuthorityKind| {
        actor(
            bare(id, ms, kind, false),
            "auditor",
            Some(UserRole::Auditor),
        )
    };
    let rows = [
        ("DE auditor", auditor("nimic-de", "DE", NationalCoordinator)),
        ("FR auditor", auditor("nimic-fr", "FR", NationalCoordinator)),
        ("IT auditor", auditor("nimic-it", "IT", NationalCoordinator)),
        (
            "DE auditor in a CA",
            auditor("de-other", "DE", CompetentAuthority),
        ),
        (
            "DE coordinator, no auditor",
            actor(
                bare("nimic-de", "DE", NationalCoordinator, false),
                "x",
                None,
            ),
        ),
    ];
    let actual: Vec<String> = rows
        .iter()
        .map(|(label, a)| {
            let cells: Vec<String> = [
                request(RequestStatus::Draft),
                request(RequestStatus::AwaitingApproval),
                request(RequestStatus::Accepted),
                withdrawn_unsent(),
            ]
            .iter()
            .map(|s| format!("{:?}", audit_level(a, s)))
            .collect();
            format!("{label}: {}", cells.join(" "))
        })
        .collect();
    assert_eq!(
        actual,
        [
            "DE auditor: Some(Full) Some(Full) Some(Full) Some(Full)",
            "FR auditor: None None Some(Full) None",
            "IT auditor: None None None None",
            "DE auditor in a CA: None None None None",
            "DE coordinator, no auditor: None None None None",
        ]
    );
}
