//! Which events IMI announces, and to whom. One function per aggregate type; an event that
//! announces nothing yields no draft.

use super::{AlertRow, Draft, EmailTo, InvitationRow, Memory, RequestRow};
use crate::projection::ProjectionError;
use imi_domain::alert::AlertEvent;
use imi_domain::authority::AuthorityEvent;
use imi_domain::request::RequestEvent;
use imi_domain::subject_request::SubjectRequestEvent;
use imi_store::feed::FeedEvent;
use serde_json::json;

/// The kinds of notification, as stored and as the texts know them.
pub mod kinds {
    /// To an invited authority's address: its registration code (put in by the sender).
    pub const REGISTRATION_CODE: &str = "registration_code";
    /// To the inviting coordinator: the code expired unused.
    pub const INVITATION_EXPIRED: &str = "invitation_expired";
    /// To the inviting coordinator's data administrators: an authority registered itself.
    pub const AWAITING_VALIDATION: &str = "awaiting_validation";
    /// To the authority: its coordinator validated it; it can work in IMI.
    pub const AUTHORITY_VALIDATED: &str = "authority_validated";
    /// To a new user: they are registered.
    pub const USER_REGISTERED: &str = "user_registered";
    /// To a user: their password was reset.
    pub const PASSWORD_RESET: &str = "password_reset";

    // Information requests.
    /// To the request coordinator: a new request awaits its approval.
    pub const REQUEST_AWAITING_APPROVAL: &str = "request_awaiting_approval";
    /// To the requesting authority: its coordinator sent the request back.
    pub const REQUEST_SENT_BACK: &str = "request_sent_back";
    /// To the responding authority: a new incoming request.
    pub const REQUEST_RECEIVED: &str = "request_received";
    /// To the authority a request was forwarded to (and the requester).
    pub const REQUEST_FORWARDED: &str = "request_forwarded";
    /// To the responding authority's allocators: a request to allocate.
    pub const REQUEST_AWAITING_ALLOCATION: &str = "request_awaiting_allocation";
    /// To a request handler: a request was assigned to them.
    pub const REQUEST_ASSIGNED: &str = "request_assigned";
    pub const REQUEST_ACCEPTED: &str = "request_accepted";
    pub const ANSWER_DATE_PROPOSED: &str = "answer_date_proposed";
    /// To the responding side's coordinator: a reply awaits its approval.
    pub const REPLY_AWAITING_APPROVAL: &str = "reply_awaiting_approval";
    pub const PARTIAL_REPLY: &str = "partial_reply";
    pub const FULL_REPLY: &str = "full_reply";
    pub const ADDITIONAL_INFORMATION_REQUESTED: &str = "additional_information_requested";
    pub const REPLY_MAINTAINED: &str = "reply_maintained";
    /// To both request coordinators' referral handlers.
    pub const REFERRAL_OPENED: &str = "referral_opened";
    pub const REQUEST_CLOSED: &str = "request_closed";
    pub const REQUEST_WITHDRAWN: &str = "request_withdrawn";
    pub const ACCEPTANCE_OVERDUE: &str = "acceptance_overdue";
    pub const ANSWER_DUE_SOON: &str = "answer_due_soon";
    pub const ANSWER_OVERDUE: &str = "answer_overdue";
    /// To the request coordinators: a request has been inactive for 2 months.
    pub const REQUEST_INACTIVE: &str = "request_inactive";

    // Alerts.
    /// To the alert coordinator's disseminators: an alert to check and broadcast.
    pub const ALERT_AWAITING_BROADCAST: &str = "alert_awaiting_broadcast";
    pub const ALERT_SENT_BACK: &str = "alert_sent_back";
    /// To a Member State's incoming alert postbox: an alert arrived.
    pub const INCOMING_ALERT: &str = "incoming_alert";
    /// To the sending Member State's postbox: an alert left the country.
    pub const OUTGOING_ALERT: &str = "outgoing_alert";
    /// To an authority an alert was disseminated to.
    pub const ALERT_DISSEMINATED: &str = "alert_disseminated";
    /// To the coordinator's disseminators: additional information to broadcast.
    pub const ALERT_INFORMATION_TO_BROADCAST: &str = "alert_information_to_broadcast";
    pub const ALERT_INFORMATION: &str = "alert_information";
    /// To the closing coordinator: closure proposed; the comment period runs.
    pub const CLOSURE_PROPOSED: &str = "closure_proposed";
    pub const COMMENT_PERIOD_ENDED: &str = "comment_period_ended";
    /// To the involved authorities: a closure proposal; the objection period runs.
    pub const CLOSURE_PROPOSAL_BROADCAST: &str = "closure_proposal_broadcast";
    pub const CLOSURE_OBJECTED: &str = "closure_objected";
    pub const OBJECTION_PERIOD_ENDED: &str = "objection_period_ended";
    pub const ALERT_CLOSED: &str = "alert_closed";
    pub const ALERT_WITHDRAWN: &str = "alert_withdrawn";
    pub const THREE_DAY_DEADLINE_MISSED: &str = "three_day_deadline_missed";

    // Data subjects' requests.
    /// To the data administrator who recorded it: the deadline is near.
    pub const SUBJECT_REQUEST_DUE_SOON: &str = "subject_request_due_soon";
    /// To the data administrator who recorded it: the deadline passed without an answer.
    pub const SUBJECT_REQUEST_OVERDUE: &str = "subject_request_overdue";

    pub const ALL: [&str; 43] = [
        REGISTRATION_CODE,
        INVITATION_EXPIRED,
        AWAITING_VALIDATION,
        AUTHORITY_VALIDATED,
        USER_REGISTERED,
        PASSWORD_RESET,
        REQUEST_AWAITING_APPROVAL,
        REQUEST_SENT_BACK,
        REQUEST_RECEIVED,
        REQUEST_FORWARDED,
        REQUEST_AWAITING_ALLOCATION,
        REQUEST_ASSIGNED,
        REQUEST_ACCEPTED,
        ANSWER_DATE_PROPOSED,
        REPLY_AWAITING_APPROVAL,
        PARTIAL_REPLY,
        FULL_REPLY,
        ADDITIONAL_INFORMATION_REQUESTED,
        REPLY_MAINTAINED,
        REFERRAL_OPENED,
        REQUEST_CLOSED,
        REQUEST_WITHDRAWN,
        ACCEPTANCE_OVERDUE,
        ANSWER_DUE_SOON,
        ANSWER_OVERDUE,
        REQUEST_INACTIVE,
        ALERT_AWAITING_BROADCAST,
        ALERT_SENT_BACK,
        INCOMING_ALERT,
        OUTGOING_ALERT,
        ALERT_DISSEMINATED,
        ALERT_INFORMATION_TO_BROADCAST,
        ALERT_INFORMATION,
        CLOSURE_PROPOSED,
        COMMENT_PERIOD_ENDED,
        CLOSURE_PROPOSAL_BROADCAST,
        CLOSURE_OBJECTED,
        OBJECTION_PERIOD_ENDED,
        ALERT_CLOSED,
        ALERT_WITHDRAWN,
        THREE_DAY_DEADLINE_MISSED,
        SUBJECT_REQUEST_DUE_SOON,
        SUBJECT_REQUEST_OVERDUE,
    ];
}

/// The drafts `e` announces.
pub fn announce(e: &FeedEvent, memory: &mut Memory) -> Result<Vec<Draft>, ProjectionError> {
    match e.aggregate_type.as_str() {
        "Authority" => {
            let event = e
                .event::<AuthorityEvent>()
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(authority(&e.aggregate_id, event, memory))
        }
        "InformationRequest" => {
            let event = e
                .event::<RequestEvent>()
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(request(&e.aggregate_id, event, memory))
        }
        "Alert" => {
            let event = e
                .event::<AlertEvent>()
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(alert(&e.aggregate_id, event, memory))
        }
        "SubjectRequest" => {
            let event = e
                .event::<SubjectRequestEvent>()
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(subject_request(&e.aggregate_id, event))
        }
        _ => Ok(vec![]),
    }
}

/// A request notification to `authority` (all its users; mailed to its office).
fn to(kind: &'static str, authority: &str, id: &str, extra: serde_json::Value) -> Draft {
    let mut params = json!({ "request_id": id, "authority_id": authority });
    merge(&mut params, extra);
    Draft::to_authority(kind, authority, params)
}

fn merge(params: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(p), serde_json::Value::Object(extra)) = (params.as_object_mut(), extra) {
        p.extend(extra);
    }
}

fn request(id: &str, event: RequestEvent, memory: &mut Memory) -> Vec<Draft> {
    use kinds::*;
    use RequestEvent as E;
    if let E::RequestDrafted {
        area,
        requesting,
        draft,
        ..
    } = &event
    {
        memory.remember_request(RequestRow {
            request_id: id.to_string(),
            area: area.code().to_string(),
            requesting: requesting.authority_id.clone(),
            responding: draft.responding.authority_id.clone(),
            requesting_coordinator: draft.request_coordinator.clone(),
            responding_coordinator: None,
            dispatched: false,
        });
        return vec![];
    }
    let Some(mut r) = memory.requests.get(id).cloned() else {
        return vec![];
    };
    let area = r.area.clone();
    let none = json!({});
    let drafts = match event {
        E::DraftUpdated { draft, .. } => {
            r.responding = draft.responding.authority_id;
            r.requesting_coordinator = draft.request_coordinator;
            vec![]
        }
        E::RequestSubmittedForApproval { coordinator, .. } => vec![to(
            REQUEST_AWAITING_APPROVAL,
            &coordinator,
            id,
            json!({ "requesting": r.requesting }),
        )
        .for_role(Some(&area), "RequestHandler")],
        E::RequestSentBack { .. } => vec![to(REQUEST_SENT_BACK, &r.requesting, id, none)],
        E::RequestSent { responding, .. } => {
            r.responding = responding.authority_id;
            r.dispatched = true;
            vec![
                to(
                    REQUEST_RECEIVED,
                    &r.responding,
                    id,
                    json!({ "requesting": r.requesting }),
                ),
                to(REQUEST_AWAITING_ALLOCATION, &r.responding, id, none)
                    .for_role(Some(&area), "Allocator")
                    .in_app_only(),
            ]
        }
        E::RequestForwarded {
            from, to: target, ..
        } => {
            r.responding = target.authority_id;
            vec![
                to(
                    REQUEST_FORWARDED,
                    &r.responding,
                    id,
                    json!({ "from": from }),
                ),
                to(REQUEST_AWAITING_ALLOCATION, &r.responding, id, none.clone())
                    .for_role(Some(&area), "Allocator")
                    .in_app_only(),
                to(
                    REQUEST_FORWARDED,
                    &r.requesting,
                    id,
                    json!({ "from": from, "to": r.responding }),
                ),
            ]
        }
        E::RequestAssigned {
            authority_id,
            handlers,
            ..
        } => handlers
            .iter()
            .map(|user| {
                Draft::to_user(
                    REQUEST_ASSIGNED,
                    &authority_id,
                    user,
                    json!({ "request_id": id, "authority_id": authority_id }),
                )
            })
            .collect(),
        E::RequestAccepted {
            responding_coordinator,
            agreed_answer_date,
            ..
        } => {
            r.responding_coordinator = Some(responding_coordinator);
            vec![to(
                REQUEST_ACCEPTED,
                &r.requesting,
                id,
                json!({ "answer_date": agreed_answer_date }),
            )]
        }
        E::AnswerDateProposed { date, .. } => vec![to(
            ANSWER_DATE_PROPOSED,
            &r.requesting,
            id,
            json!({ "answer_date": date }),
        )],
        E::ReplySubmittedForApproval { coordinator, .. } => vec![to(
            REPLY_AWAITING_APPROVAL,
            &coordinator,
            id,
            json!({ "responding": r.responding }),
        )
        .for_role(Some(&area), "RequestHandler")],
        E::PartialReplySent { .. } => vec![to(PARTIAL_REPLY, &r.requesting, id, none)],
        E::FullReplySent { .. } => vec![to(FULL_REPLY, &r.requesting, id, none)],
        E::AdditionalInformationRequested { .. } => {
            vec![to(
                ADDITIONAL_INFORMATION_REQUESTED,
                &r.responding,
                id,
                none,
            )]
        }
        E::ReplyMaintained { .. } => vec![to(REPLY_MAINTAINED, &r.requesting, id, none)],
        E::ReferralOpened {
            requesting_coordinator,
            responding_coordinator,
            ..
        } => [requesting_coordinator, responding_coordinator]
            .iter()
            .map(|c| to(REFERRAL_OPENED, c, id, json!({})).for_role(Some(&area), "ReferralHandler"))
            .collect(),
        E::RequestClosed { .. } => vec![to(REQUEST_CLOSED, &r.responding, id, none)],
        // A request withdrawn before it was sent never existed for the responding side.
        E::RequestWithdrawn { .. } if r.dispatched => {
            vec![to(REQUEST_WITHDRAWN, &r.responding, id, none)]
        }
        E::AcceptanceOverdue { .. } => vec![
            to(ACCEPTANCE_OVERDUE, &r.responding, id, none.clone()),
            to(ACCEPTANCE_OVERDUE, &r.requesting, id, none),
        ],
        E::DueDateApproaching { due_date, .. } => vec![to(
            ANSWER_DUE_SOON,
            &r.responding,
            id,
            json!({ "answer_date": due_date }),
        )],
        E::AnswerOverdue { due_date, .. } => vec![
            to(
                ANSWER_OVERDUE,
                &r.responding,
                id,
                json!({ "answer_date": due_date }),
            ),
            to(
                ANSWER_OVERDUE,
                &r.requesting,
                id,
                json!({ "answer_date": due_date }),
            ),
        ],
        E::InactivityRaised { coordinators, .. } => coordinators
            .iter()
            .map(|c| to(REQUEST_INACTIVE, c, id, json!({})))
            .collect(),
        _ => vec![],
    };
    memory.remember_request(r);
    drafts
}

/// A data subject's request's reminders go to the data administrator who recorded it.
fn subject_request(id: &str, event: SubjectRequestEvent) -> Vec<Draft> {
    use kinds::*;
    use SubjectRequestEvent as E;
    let (kind, authority, user, due_on) = match event {
        E::SubjectRequestDeadlineNeared {
            authority_id,
            recorded_by,
            due_on,
            ..
        } => (SUBJECT_REQUEST_DUE_SOON, authority_id, recorded_by, due_on),
        E::SubjectRequestDeadlineMissed {
            authority_id,
            recorded_by,
            due_on,
            ..
        } => (SUBJECT_REQUEST_OVERDUE, authority_id, recorded_by, due_on),
        _ => return vec![],
    };
    vec![Draft::to_user(
        kind,
        &authority,
        &user,
        json!({ "subject_request_id": id, "authority_id": authority, "answer_date": due_on }),
    )]
}

fn alert(id: &str, event: AlertEvent, memory: &mut Memory) -> Vec<Draft> {
    use kinds::*;
    use AlertEvent as E;
    if let E::AlertDrafted {
        initiating_authority,
        ..
    } = &event
    {
        memory.remember_alert(AlertRow {
            alert_id: id.to_string(),
            initiating: initiating_authority.clone(),
            coordinator: None,
            closing_coordinator: None,
            involved: vec![initiating_authority.clone()],
        });
        return vec![];
    }
    let Some(mut a) = memory.alerts.get(id).cloned() else {
        return vec![];
    };
    let note = |kind: &'static str, authority: &str, extra: serde_json::Value| {
        let mut params = json!({ "alert_id": id, "authority_id": authority });
        merge(&mut params, extra);
        Draft::to_authority(kind, authority, params)
    };
    let everyone = |a: &AlertRow, kind: &'static str, extra: serde_json::Value| -> Vec<Draft> {
        a.involved
            .iter()
            .map(|authority| note(kind, authority, extra.clone()))
            .collect()
    };
    let drafts = match event {
        E::AlertSubmitted { coordinator, .. } => {
            a.coordinator = Some(coordinator.clone());
            a.involve(&coordinator);
            vec![note(ALERT_AWAITING_BROADCAST, &coordinator, json!({}))
                .for_role(None, "AlertDisseminator")]
        }
        E::AlertSentBack { .. } => vec![note(ALERT_SENT_BACK, &a.initiating, json!({}))],
        E::AlertBroadcast {
            member_states,
            sending_postbox,
            ..
        } => {
            let mut drafts = Vec::new();
            if let Some(postbox) = sending_postbox {
                a.involve(&postbox);
                drafts.push(note(OUTGOING_ALERT, &postbox, json!({})));
            }
            for (ms, postbox) in member_states {
                a.involve(&postbox);
                drafts.push(note(
                    INCOMING_ALERT,
                    &postbox,
                    json!({ "member_state": ms.code() }),
                ));
            }
            drafts
        }
        E::BroadcastExtended { member_states } => member_states
            .into_iter()
            .map(|(ms, postbox)| {
                a.involve(&postbox);
                note(
                    INCOMING_ALERT,
                    &postbox,
                    json!({ "member_state": ms.code() }),
                )
            })
            .collect(),
        E::RecipientsAdded { authorities, .. } => authorities
            .into_iter()
            .map(|authority| {
                a.involve(&authority);
                note(ALERT_DISSEMINATED, &authority, json!({}))
            })
            .collect(),
        E::AdditionalInformationSubmitted { coordinator, .. } => {
            vec![
                note(ALERT_INFORMATION_TO_BROADCAST, &coordinator, json!({}))
                    .for_role(None, "AlertDisseminator"),
            ]
        }
        E::AdditionalInformationBroadcast { .. } => everyone(&a, ALERT_INFORMATION, json!({})),
        E::ClosureProposed {
            closing_coordinator,
            comment_period_ends_at,
            ..
        } => {
            a.involve(&closing_coordinator);
            a.closing_coordinator = Some(closing_coordinator.clone());
            vec![note(
                CLOSURE_PROPOSED,
                &closing_coordinator,
                json!({ "ends_at": comment_period_ends_at }),
            )]
        }
        E::CommentPeriodEnded { .. } => a
            .closing_coordinator
            .iter()
            .map(|c| note(COMMENT_PERIOD_ENDED, c, json!({})))
            .collect(),
        E::ClosureProposalBroadcast {
            objection_period_ends_at,
            ..
        } => everyone(
            &a,
            CLOSURE_PROPOSAL_BROADCAST,
            json!({ "ends_at": objection_period_ends_at }),
        ),
        E::ClosureObjected { member_state, .. } => a
            .closing_coordinator
            .iter()
            .map(|c| {
                note(
                    CLOSURE_OBJECTED,
                    c,
                    json!({ "member_state": member_state.code() }),
                )
            })
            .collect(),
        E::ObjectionPeriodEnded { .. } => a
            .closing_coordinator
            .iter()
            .map(|c| note(OBJECTION_PERIOD_ENDED, c, json!({})))
            .collect(),
        E::AlertClosed { .. } => everyone(&a, ALERT_CLOSED, json!({})),
        E::AlertWithdrawn { .. } => everyone(&a, ALERT_WITHDRAWN, json!({})),
        E::ThreeDayDeadlinePassed {
            broadcast_in_time: false,
            deadline,
        } => vec![note(
            THREE_DAY_DEADLINE_MISSED,
            &a.initiating,
            json!({ "deadline": deadline }),
        )],
        _ => vec![],
    };
    memory.remember_alert(a);
    drafts
}

fn authority(id: &str, event: AuthorityEvent, memory: &mut Memory) -> Vec<Draft> {
    use kinds::*;
    use AuthorityEvent as E;
    match event {
        E::InvitationIssued {
            invited_by,
            member_state,
            code_digest,
            expires_at,
            contact_email,
            ..
        } => {
            memory.remember_invitation(InvitationRow {
                authority_id: id.to_string(),
                invited_by: invited_by.clone(),
                email: contact_email.clone(),
            });
            vec![registration_code(
                id,
                &contact_email,
                json!({
                    "authority_id": id,
                    "invited_by": invited_by,
                    "member_state": member_state.code(),
                    "code_digest": code_digest,
                    "expires_at": expires_at,
                }),
            )]
        }
        E::InvitationRenewed {
            renewed_by,
            code_digest,
            expires_at,
        } => match memory.invitations.get(id) {
            Some(invitation) => vec![registration_code(
                id,
                &invitation.email,
                json!({
                    "authority_id": id,
                    "invited_by": renewed_by,
                    "code_digest": code_digest,
                    "expires_at": expires_at,
                }),
            )],
            None => vec![],
        },
        E::InvitationExpired { .. } => match memory.invitations.get(id) {
            Some(invitation) => vec![Draft::to_authority(
                INVITATION_EXPIRED,
                &invitation.invited_by,
                json!({ "authority_id": id }),
            )
            .for_role(None, "DataAdministrator")],
            None => vec![],
        },
        E::AuthoritySelfRegistered { official_name, .. } => match memory.invitations.get(id) {
            Some(invitation) => vec![Draft::to_authority(
                AWAITING_VALIDATION,
                &invitation.invited_by,
                json!({ "authority_id": id, "official_name": official_name }),
            )
            .for_role(None, "DataAdministrator")],
            None => vec![],
        },
        E::AuthorityValidated { validated_by } => vec![Draft::to_authority(
            AUTHORITY_VALIDATED,
            id,
            json!({ "authority_id": id, "validated_by": validated_by }),
        )],
        E::UserRegistered { user_id, .. } => vec![Draft::to_user(
            USER_REGISTERED,
            id,
            &user_id,
            json!({ "authority_id": id, "user_id": user_id }),
        )],
        E::PasswordReset {
            user_id,
            reset_by_authority,
            ..
        } => vec![Draft::to_user(
            PASSWORD_RESET,
            id,
            &user_id,
            json!({ "authority_id": id, "user_id": user_id, "reset_by_authority": reset_by_authority }),
        )],
        _ => vec![],
    }
}

/// The registration code's mail, to the sealed address the invitation was sent to.
fn registration_code(
    id: &str,
    email: &imi_domain::sealed::Sealed,
    params: serde_json::Value,
) -> Draft {
    Draft {
        email_to: EmailTo::Sealed,
        email: Some(email.clone()),
        ..Draft::to_authority(kinds::REGISTRATION_CODE, id, params)
    }
}
