//! Table tests of the alert access policy: every (actor × command) and (actor × view) cell is
//! computed and compared with an explicit expected matrix.
//!
//! The alert is `a1` of the scene (see `support`): an SD alert (PQ in the `Pq` view column)
//! drafted by `de-ca`, submitted to `de-coord`, broadcast to FR and AT (seen by `de-iap`),
//! disseminated to `fr-ca` and `at-ca`; `at-ca` proposed closure with `at-iap` closing (AT is
//! the Member State of Establishment), the proposal is broadcast; `fr-ca` submitted
//! additional information to `fr-iap`.
//!
//! Each row is one user of one authority holding one role in SD and PQ, the authority keeping
//! its workflow role and links from the scene.

use super::support::*;
use crate::access::ActorContext;
use crate::alert::*;
use crate::authority::{AuthorityStatus, AuthoritySummary, UserRole, UserSummary, Workflow};
use std::collections::BTreeMap;

const RELATIONS: [(&str, &str); 9] = [
    ("initiating", "de-ca"),
    ("coordinator", "de-coord"),
    ("sending iap", "de-iap"),
    ("recipient iap", "fr-iap"),
    ("recipient", "fr-ca"),
    ("closing iap", "at-iap"),
    ("proposer", "at-ca"),
    ("same-ms", "de-ca2"),
    ("foreign", "pl-ca"),
];

const ROLES: [(&str, Option<UserRole>); 4] = [
    ("basic user", None),
    ("alert handler", Some(UserRole::AlertHandler)),
    ("alert disseminator", Some(UserRole::AlertDisseminator)),
    ("alert viewer", Some(UserRole::AlertViewer)),
];

fn template(id: &str) -> AuthoritySummary {
    scene()
        .into_iter()
        .find(|a| a.authority_id == id)
        .expect("an authority of the scene")
}

fn actor(mut authority: AuthoritySummary, role: Option<UserRole>) -> ActorContext {
    let held: std::collections::BTreeSet<UserRole> = role.into_iter().collect();
    authority.users = BTreeMap::from([(
        "u".to_string(),
        UserSummary {
            local_data_administrator: false,
            active: true,
            roles: BTreeMap::from([(sd(), held.clone()), (pq(), held)]),
        },
    )]);
    ActorContext::new("u", authority)
}

fn actor_rows() -> Vec<(String, Option<ActorContext>)> {
    let mut rows = vec![];
    for (relation, id) in RELATIONS {
        for (label, role) in ROLES {
            rows.push((
                format!("{relation:<14}{label}"),
                Some(actor(template(id), role)),
            ));
        }
    }
    let mut deactivated = actor(template("de-ca"), Some(UserRole::AlertHandler));
    deactivated.authority.users.get_mut("u").unwrap().active = false;
    rows.push((
        "initiating    handler, deactivated".into(),
        Some(deactivated),
    ));
    let mut unvalidated = actor(template("fr-iap"), Some(UserRole::AlertDisseminator));
    unvalidated.authority.status = AuthorityStatus::AwaitingValidation;
    rows.push((
        "recipient iap disseminator, unvalid.".into(),
        Some(unvalidated),
    ));
    let mut stranger = actor(template("de-ca"), Some(UserRole::AlertHandler));
    stranger.user_id = "not-a-user".into();
    rows.push(("initiating    not its user".into(), Some(stranger)));
    rows.push(("anonymous".into(), None));
    rows
}

fn render(rows: Vec<(String, Vec<String>)>) -> String {
    rows.into_iter()
        .map(|(label, cells)| format!("{label:<38}{}", cells.join("  ")))
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

fn scene_alert(content: AlertContent) -> AlertSummary {
    let mut events = drafted_with("SD", content);
    events.extend(proposal_broadcast().into_iter().skip(1));
    events.push(AlertEvent::AdditionalInformationSubmitted {
        information_id: "i1".into(),
        kind: InformationKind::Information,
        submitted_by: "fr-ca".into(),
        coordinator: "fr-iap".into(),
        text: sealed("t"),
        attachments: vec![],
    });
    summary_of(events)
}

/// The coordinator the actor's authority would send through: the first it is linked to.
fn linked_coordinator(actor: &ActorContext) -> String {
    actor
        .authority
        .areas
        .get(&sd())
        .and_then(|a| a.workflows.get(&Workflow::Alerts))
        .and_then(|w| w.linked_coordinators.iter().next().cloned())
        .unwrap_or_default()
}

type Column = (&'static str, fn(&ActorContext) -> AlertCommand);

/// Columns: Df draft · Am amend · Sb submit (to its linked coordinator) · Sk send back ·
/// Bc broadcast · Ex extend the broadcast · Ak acknowledge receipt · Ad add recipients ·
/// Ai add information (through its linked coordinator) · Bi broadcast information `i1` ·
/// Pc propose closure · Cm comment · Bp broadcast the proposal · Rj reject it · Ob object ·
/// Cl close · Wd withdraw · Ec, Eo, P3 the system's facts of time.
fn command_columns() -> Vec<Column> {
    vec![
        ("Df", |_| AlertCommand::DraftAlert {
            alert_id: ID.into(),
            area: sd(),
            content: sd_content(),
        }),
        ("Am", |_| AlertCommand::AmendDraft {
            content: sd_content(),
        }),
        ("Sb", |a| AlertCommand::SubmitAlert {
            coordinator_id: linked_coordinator(a),
        }),
        ("Sk", |_| AlertCommand::SendBackAlert {
            reason: sealed("r"),
        }),
        ("Bc", |_| AlertCommand::BroadcastAlert {
            member_states: states(&["FR"]),
        }),
        ("Ex", |_| AlertCommand::ExtendBroadcast {
            member_states: states(&["PL"]),
        }),
        ("Ak", |_| AlertCommand::AcknowledgeReceipt),
        ("Ad", |_| AlertCommand::AddRecipients {
            authorities: ids(&["x"]),
        }),
        ("Ai", |a| AlertCommand::SubmitAdditionalInformation {
            information_id: "i2".into(),
            kind: InformationKind::Information,
            coordinator_id: linked_coordinator(a),
            text: sealed("t"),
            attachments: vec![],
        }),
        ("Bi", |_| AlertCommand::BroadcastAdditionalInformation {
            information_id: "i1".into(),
        }),
        ("Pc", |_| AlertCommand::ProposeClosure {
            closing_coordinator_id: "at-iap".into(),
            reason: sealed("r"),
        }),
        ("Cm", |_| AlertCommand::CommentOnClosure {
            comment: sealed("c"),
        }),
        ("Bp", |_| AlertCommand::BroadcastClosureProposal),
        ("Rj", |_| AlertCommand::RejectClosureProposal {
            reason: sealed("r"),
        }),
        ("Ob", |_| AlertCommand::ObjectToClosure {
            objection: sealed("o"),
        }),
        ("Cl", |_| AlertCommand::CloseAlert),
        ("Wd", |_| AlertCommand::WithdrawAlert {
            reason: sealed("r"),
        }),
        ("Ec", |_| AlertCommand::EndCommentPeriod),
        ("Eo", |_| AlertCommand::EndObjectionPeriod),
        ("P3", |_| AlertCommand::PassThreeDayDeadline),
    ]
}

const EXPECTED_COMMANDS: &str = "
                                      Df Am Sb Sk Bc Ex Ak Ad Ai Bi Pc Cm Bp Rj Ob Cl Wd Ec Eo P3
initiating    basic user              .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
initiating    alert handler           Y  Y  Y  .  .  .  .  .  Y  .  .  .  .  .  .  .  Y  .  .  .
initiating    alert disseminator      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
initiating    alert viewer            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
coordinator   basic user              .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
coordinator   alert handler           .  .  .  .  .  .  .  .  Y  .  .  .  .  .  .  .  .  .  .  .
coordinator   alert disseminator      .  .  .  Y  Y  Y  .  Y  .  .  .  .  .  .  Y  .  Y  .  .  .
coordinator   alert viewer            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
sending iap   basic user              .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
sending iap   alert handler           .  .  .  .  .  .  .  .  Y  .  .  .  .  .  .  .  .  .  .  .
sending iap   alert disseminator      .  .  .  .  .  .  .  Y  .  .  .  .  .  .  Y  .  .  .  .  .
sending iap   alert viewer            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
recipient iap basic user              .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
recipient iap alert handler           .  .  .  .  .  .  Y  .  Y  .  .  .  .  .  .  .  .  .  .  .
recipient iap alert disseminator      .  .  .  .  .  .  Y  Y  .  Y  .  .  .  .  Y  .  .  .  .  .
recipient iap alert viewer            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
recipient     basic user              .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
recipient     alert handler           .  .  .  .  .  .  .  .  Y  .  .  .  .  .  .  .  .  .  .  .
recipient     alert disseminator      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
recipient     alert viewer            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
closing iap   basic user              .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
closing iap   alert handler           .  .  .  .  .  .  Y  .  Y  .  Y  Y  .  .  .  .  .  .  .  .
closing iap   alert disseminator      .  .  .  .  .  .  Y  Y  .  .  .  .  Y  Y  .  Y  .  .  .  .
closing iap   alert viewer            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
proposer      basic user              .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
proposer      alert handler           .  .  .  .  .  .  .  .  Y  .  Y  Y  .  .  .  .  .  .  .  .
proposer      alert disseminator      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
proposer      alert viewer            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms       basic user              .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms       alert handler           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms       alert disseminator      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
same-ms       alert viewer            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign       basic user              .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign       alert handler           .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign       alert disseminator      .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
foreign       alert viewer            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
initiating    handler, deactivated    .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
recipient iap disseminator, unvalid.  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
initiating    not its user            .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .
";

#[test]
fn every_actor_and_command_cell_is_as_expected() {
    let alert = scene_alert(sd_content());
    let columns = command_columns();
    let header = format!(
        "{:<38}{}",
        "",
        columns.iter().map(|c| c.0).collect::<Vec<_>>().join(" ")
    );
    let rows: Vec<(String, Vec<String>)> = actor_rows()
        .into_iter()
        // A command always has an actor: anonymous requests are refused before the policy.
        .filter_map(|(label, actor)| Some((label, actor?)))
        .map(|(label, actor)| {
            let cells = columns
                .iter()
                .map(|(_, command)| {
                    let ok = authorize(&actor, &command(&actor), &alert).is_ok();
                    (if ok { "Y" } else { "." }).to_string()
                })
                .collect();
            (label, cells)
        })
        .collect();
    let actual = format!("{header}\n{}", render(rows));
    assert_eq!(trimmed(&actual), trimmed(EXPECTED_COMMANDS), "\n{actual}");
}

/// Columns: Sd the SD alert above · Pq the same as a PQ alert · Cl the SD alert closed ·
/// Wd withdrawn · Dr a draft not yet submitted · Sb submitted, not broadcast. Cells: `.` no
/// access, `H` high level, `P` profession and scope, `R` reduced after closure, `F` full with
/// personal data.
const EXPECTED_VIEWS: &str = "
                                      Sd Pq Cl Wd Dr Sb
initiating    basic user              H  H  H  H  H  H
initiating    alert handler           F  F  R  R  F  F
initiating    alert disseminator      F  F  R  R  F  F
initiating    alert viewer            F  F  R  R  F  F
coordinator   basic user              H  H  H  H  .  H
coordinator   alert handler           F  F  R  R  .  F
coordinator   alert disseminator      F  F  R  R  .  F
coordinator   alert viewer            F  F  R  R  .  F
sending iap   basic user              H  H  H  H  .  .
sending iap   alert handler           F  P  R  R  .  .
sending iap   alert disseminator      F  P  R  R  .  .
sending iap   alert viewer            F  P  R  R  .  .
recipient iap basic user              H  H  H  H  .  .
recipient iap alert handler           F  P  R  R  .  .
recipient iap alert disseminator      F  P  R  R  .  .
recipient iap alert viewer            F  P  R  R  .  .
recipient     basic user              H  H  H  H  .  .
recipient     alert handler           F  F  R  R  .  .
recipient     alert disseminator      F  F  R  R  .  .
recipient     alert viewer            F  F  R  R  .  .
closing iap   basic user              H  H  H  H  .  .
closing iap   alert handler           F  F  R  R  .  .
closing iap   alert disseminator      F  F  R  R  .  .
closing iap   alert viewer            F  F  R  R  .  .
proposer      basic user              H  H  H  H  .  .
proposer      alert handler           F  F  R  R  .  .
proposer      alert disseminator      F  F  R  R  .  .
proposer      alert viewer            F  F  R  R  .  .
same-ms       basic user              .  .  .  .  .  .
same-ms       alert handler           .  .  .  .  .  .
same-ms       alert disseminator      .  .  .  .  .  .
same-ms       alert viewer            .  .  .  .  .  .
foreign       basic user              .  .  .  .  .  .
foreign       alert handler           .  .  .  .  .  .
foreign       alert disseminator      .  .  .  .  .  .
foreign       alert viewer            .  .  .  .  .  .
initiating    handler, deactivated    .  .  .  .  .  .
recipient iap disseminator, unvalid.  .  .  .  .  .  .
initiating    not its user            .  .  .  .  .  .
anonymous                             .  .  .  .  .  .
";

#[test]
fn every_actor_and_view_cell_is_as_expected() {
    let sd_alert = scene_alert(sd_content());
    let pq_alert = {
        let mut events = drafted_with("PQ", pq_content());
        events.extend(proposal_broadcast().into_iter().skip(1));
        summary_of(events)
    };
    let closed_alert = summary_of(closed());
    let withdrawn_alert = summary_of(with(disseminated(), withdrawn_event()));
    let draft = summary_of(drafted());
    let submitted_alert = summary_of(submitted());
    let columns = [
        ("Sd", &sd_alert),
        ("Pq", &pq_alert),
        ("Cl", &closed_alert),
        ("Wd", &withdrawn_alert),
        ("Dr", &draft),
        ("Sb", &submitted_alert),
    ];
    let header = format!(
        "{:<38}{}",
        "",
        columns.iter().map(|c| c.0).collect::<Vec<_>>().join(" ")
    );
    let rows: Vec<(String, Vec<String>)> = actor_rows()
        .into_iter()
        .map(|(label, actor)| {
            let cells = columns
                .iter()
                .map(|(_, alert)| {
                    match view_level(actor.as_ref(), alert) {
                        None => ".",
                        Some(AlertViewLevel::HighLevel) => "H",
                        Some(AlertViewLevel::ProfessionAndScope) => "P",
                        Some(AlertViewLevel::ReducedAfterClosure) => "R",
                        Some(AlertViewLevel::FullWithPersonalData) => "F",
                    }
                    .to_string()
                })
                .collect();
            (label, cells)
        })
        .collect();
    let actual = format!("{header}\n{}", render(rows));
    assert_eq!(trimmed(&actual), trimmed(EXPECTED_VIEWS), "\n{actual}");
}

#[test]
fn a_pq_postbox_that_assigns_the_alert_to_itself_sees_it_in_full() {
    let mut events = drafted_with("PQ", pq_content());
    events.extend(disseminated().into_iter().skip(1));
    events.push(AlertEvent::RecipientsAdded {
        member_state: ms("FR"),
        added_by: "fr-iap".into(),
        authorities: ids(&["fr-iap"]),
    });
    let alert = summary_of(events);
    let fr = actor(template("fr-iap"), Some(UserRole::AlertHandler));
    let at = actor(template("at-iap"), Some(UserRole::AlertHandler));
    assert_eq!(
        view_level(Some(&fr), &alert),
        Some(AlertViewLevel::FullWithPersonalData)
    );
    assert_eq!(
        view_level(Some(&at), &alert),
        Some(AlertViewLevel::ProfessionAndScope)
    );
}

#[test]
fn an_authority_that_lost_the_alerts_workflow_reads_nothing() {
    let alert = scene_alert(sd_content());
    let mut fr = actor(template("fr-ca"), Some(UserRole::AlertHandler));
    fr.authority.areas.clear();
    assert_eq!(view_level(Some(&fr), &alert), None);
}

/// Columns: entries of the history by author and state: the coordinator's send-back (Sb);
/// `fr-ca`'s additional information pending (Ip) and broadcast (Ib); `at-ca`'s closure
/// proposal in its comment period (Pp) and broadcast (Pb); a comment (Cm) and the rejection of
/// a proposal (Rj) in AT; `fr-iap`'s objection (Ob); the withdrawal (Wd). Rows: alert
/// handlers. Only a coordinator's broadcast carries an entry out of its Member State; a
/// send-back, comments and a rejection never leave it.
const EXPECTED_ENTRIES: &str = "
                                      Sb Ip Ib Pp Pb Cm Rj Ob Wd
initiating    alert handler           Y  .  Y  .  Y  .  .  Y  Y
coordinator   alert handler           Y  .  Y  .  Y  .  .  Y  Y
sending iap   alert handler           Y  .  Y  .  Y  .  .  Y  Y
recipient iap alert handler           .  Y  Y  .  Y  .  .  Y  Y
recipient     alert handler           .  Y  Y  .  Y  .  .  Y  Y
closing iap   alert handler           .  .  Y  Y  Y  Y  Y  Y  Y
proposer      alert handler           .  .  Y  Y  Y  Y  Y  Y  Y
same-ms       alert handler           .  .  .  .  .  .  .  .  .
foreign       alert handler           .  .  .  .  .  .  .  .  .
";

#[test]
fn every_actor_and_history_entry_cell_is_as_expected() {
    use crate::alert::visibility::{shows_entry, EntryKind as K};
    let alert = scene_alert(sd_content());
    let columns = [
        (K::SentBack, "de-coord", true),
        (K::Information, "fr-ca", false),
        (K::Information, "fr-ca", true),
        (K::ClosureProposal, "at-ca", false),
        (K::ClosureProposal, "at-ca", true),
        (K::Comment, "at-iap", true),
        (K::ClosureRejection, "at-iap", true),
        (K::Objection, "fr-iap", true),
        (K::Withdrawal, "de-ca", true),
    ];
    let rows = RELATIONS
        .iter()
        .map(|(relation, id)| {
            let reader = actor(template(id), Some(UserRole::AlertHandler));
            let cells = columns
                .iter()
                .map(|(kind, author, broadcast)| {
                    let shown = view_level(Some(&reader), &alert).is_some_and(|level| {
                        shows_entry(&reader, &alert, level, Some(*kind), author, *broadcast)
                    });
                    if shown { "Y" } else { "." }.to_string()
                })
                .collect();
            (format!("{relation:<14}alert handler"), cells)
        })
        .collect();
    let header = format!("{:<38}Sb Ip Ib Pp Pb Cm Rj Ob Wd", "");
    let actual = format!("{header}\n{}", render(rows));
    assert_eq!(
        actual.trim_matches('\n'),
        trimmed(EXPECTED_ENTRIES),
        "\n{actual}"
    );
}

/// Outside the Member State responsible for closure, a proposal in its comment period is not
/// known, not even as a status; inside it is.
#[test]
fn a_proposal_in_its_comment_period_is_known_only_where_it_was_made() {
    use crate::alert::visibility::as_seen_by;
    let mut alert = scene_alert(sd_content());
    alert.status = AlertStatus::ClosureProposed;
    if let Some(closure) = &mut alert.closure {
        closure.objection_period_ends_at = None;
    }
    let outside = actor(template("fr-iap"), Some(UserRole::AlertHandler));
    let seen = as_seen_by(&outside, &alert);
    assert_eq!(seen.status, AlertStatus::Broadcast);
    assert!(seen.closure.is_none());
    let inside = actor(template("at-ca"), Some(UserRole::AlertHandler));
    let seen = as_seen_by(&inside, &alert);
    assert_eq!(seen.status, AlertStatus::ClosureProposed);
    assert!(seen.closure.is_some());
    // Information pending with fr-iap is known in FR only.
    assert!(alert.pending_information.contains_key("i1"));
    assert!(as_seen_by(&outside, &alert)
        .pending_information
        .contains_key("i1"));
    assert!(as_seen_by(&inside, &alert).pending_information.is_empty());
}

/// An entry of every kind has a rule, declared once.
#[test]
fn every_kind_of_entry_has_one_rule() {
    use crate::alert::visibility::{EntryKind, ENTRY_RULES};
    for kind in EntryKind::ALL {
        assert_eq!(
            ENTRY_RULES.iter().filter(|(k, _)| *k == kind).count(),
            1,
            "{kind:?}"
        );
        assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
    }
}

/// Auditors looking back at an alert: the high level where their Member State initiated or
/// received it, nothing elsewhere; the auditor role outside a national coordinator counts for
/// nothing.
#[test]
fn auditors_read_the_alerts_of_their_member_state_at_the_high_level() {
    let auditor = |id: &str, national: bool| {
        let mut authority = template(id);
        if national {
            authority.kind = crate::authority::AuthorityKind::NationalCoordinator;
        }
        actor(authority, Some(UserRole::Auditor))
    };
    let alert = scene_alert(sd_content());
    let cells: Vec<(&str, Option<AlertViewLevel>)> = vec![
        (
            "initiating DE",
            audit_level(&auditor("de-iap", true), &alert),
        ),
        (
            "recipient FR",
            audit_level(&auditor("fr-iap", true), &alert),
        ),
        ("foreign PL", audit_level(&auditor("pl-ca", true), &alert)),
        (
            "DE, no national coordinator",
            audit_level(&auditor("de-ca2", false), &alert),
        ),
    ];
    assert_eq!(
        cells,
        vec![
            ("initiating DE", Some(AlertViewLevel::HighLevel)),
            ("recipient FR", Some(AlertViewLevel::HighLevel)),
            ("foreign PL", None),
            ("DE, no national coordinator", None),
        ]
    );
}
