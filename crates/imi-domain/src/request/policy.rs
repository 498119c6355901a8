//! The access policy for information requests: pure functions deciding whether an acting user
//! may take a step ([`authorize`]) and which view of a request they may read
//! ([`view_level`]).
//!
//! Who may do what (the glossary's rules), always in the request's legislative area:
//! - drafting, sending, agreeing to another answer date, asking for additional information,
//!   opening a referral, closing, withdrawing, rating: a request handler of the requesting
//!   authority;
//! - accepting, proposing another answer date, forwarding, replying, insisting on the reply:
//!   a request handler of the responding authority;
//! - where an authority uses allocation, only the handlers assigned to the request act for
//!   it (the responding side waits for its allocator's assignment); its allocators
//!   (re-)assign the request and need the allocation flag on;
//! - approving or sending back a new request: a request handler of the request coordinator
//!   chosen for it; the same for a reply and the responding authority's coordinator;
//! - the referral: the referral handlers of the two request coordinators;
//! - request viewers, basic users, linked coordinators and linked authorities take no action.
//!
//! Who sees what ([`RequestViewLevel`]):
//! - in the requesting and the responding authority (the latter once the request is
//!   dispatched): request handlers and request viewers the full view with personal data (a
//!   handler not assigned, where the authority uses allocation: the monitoring view only),
//!   allocators the full view without personal data (their report), everyone else the
//!   monitoring view;
//! - request handlers of a coordinator approving the request or a reply, and referral
//!   handlers of the coordinators in a referral: the full view without personal data;
//! - linked coordinators and linked authorities of either party, and authorities that
//!   forwarded the request on: the monitoring view;
//! - once personal data are blocked (the area's blocking delay after closure) everyone sees
//!   the monitoring view at most: the facts that prove the exchange took place.
//!
//! Only an active user of a validated authority acts or reads at all.

use super::command::RequestCommand;
use super::model::RequestSummary;
use crate::access::{ActorContext, Denied};
use crate::authority::{Flag, UserRole, Workflow};
use serde::{Deserialize, Serialize};

/// A step of the request workflow, as the policy classifies commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RequestAction {
    Draft,
    UpdateDraft,
    Send,
    AgreeAnswerDate,
    RequestAdditionalInformation,
    OpenReferral,
    Close,
    Withdraw,
    RateReply,
    ApproveRequest,
    SendBackRequest,
    Accept,
    ProposeAnswerDate,
    Forward,
    Reply,
    MaintainReply,
    ApproveReply,
    SendBackReply,
    Assign,
    DecideReferralParticipation,
    GiveReferralOpinion,
}

/// Whose step an action is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Requester,
    Responder,
    RequestingCoordinator,
    RespondingCoordinator,
    Allocator,
    Referee,
}

impl RequestAction {
    pub const ALL: [RequestAction; 21] = [
        Self::Draft,
        Self::UpdateDraft,
        Self::Send,
        Self::AgreeAnswerDate,
        Self::RequestAdditionalInformation,
        Self::OpenReferral,
        Self::Close,
        Self::Withdraw,
        Self::RateReply,
        Self::ApproveRequest,
        Self::SendBackRequest,
        Self::Accept,
        Self::ProposeAnswerDate,
        Self::Forward,
        Self::Reply,
        Self::MaintainReply,
        Self::ApproveReply,
        Self::SendBackReply,
        Self::Assign,
        Self::DecideReferralParticipation,
        Self::GiveReferralOpinion,
    ];

    /// The action a user's command is; `None` for the scheduler's time facts.
    pub fn of(command: &RequestCommand) -> Option<Self> {
        use RequestCommand as C;
        Some(match command {
            C::Draft { .. } => Self::Draft,
            // Naming a further person is writing the draft.
            C::UpdateDraft { .. } | C::NamePersonConcerned { .. } => Self::UpdateDraft,
            C::Send => Self::Send,
            C::ApproveRequest => Self::ApproveRequest,
            C::SendBackRequest { .. } => Self::SendBackRequest,
            C::Accept { .. } => Self::Accept,
            C::ProposeAnswerDate { .. } => Self::ProposeAnswerDate,
            C::AgreeAnswerDate => Self::AgreeAnswerDate,
            C::Forward { .. } => Self::Forward,
            C::Assign { .. } => Self::Assign,
            C::ReplyPartially { .. } | C::Reply { .. } => Self::Reply,
            C::ApproveReply => Self::ApproveReply,
            C::SendBackReply { .. } => Self::SendBackReply,
            C::RequestAdditionalInformation { .. } => Self::RequestAdditionalInformation,
            C::MaintainReply { .. } => Self::MaintainReply,
            C::OpenReferral => Self::OpenReferral,
            C::DecideReferralParticipation { .. } => Self::DecideReferralParticipation,
            C::GiveReferralOpinion { .. } => Self::GiveReferralOpinion,
            C::Close => Self::Close,
            C::Withdraw { .. } => Self::Withdraw,
            C::RateReply { .. } => Self::RateReply,
            C::RecordAcceptanceOverdue
            | C::RecordDueDateApproaching
            | C::RecordAnswerOverdue
            | C::RaiseInactivity
            | C::BlockPersonalData
            | C::RecordPersonalDataDeleted
            | C::Rectify { .. }
            | C::BlockPersonalDataForSubject { .. }
            | C::RecordPersonalDataErasedForSubject { .. }
            | C::Reseal { .. } => return None,
        })
    }

    fn actor(self) -> Actor {
        use RequestAction::*;
        match self {
            Draft
            | UpdateDraft
            | Send
            | AgreeAnswerDate
            | RequestAdditionalInformation
            | OpenReferral
            | Close
            | Withdraw
            | RateReply => Actor::Requester,
            ApproveRequest | SendBackRequest => Actor::RequestingCoordinator,
            Accept | ProposeAnswerDate | Forward | Reply | MaintainReply => Actor::Responder,
            ApproveReply | SendBackReply => Actor::RespondingCoordinator,
            Assign => Actor::Allocator,
            DecideReferralParticipation | GiveReferralOpinion => Actor::Referee,
        }
    }
}

/// The step an entry of a request inbox asks for (`None`: not an inbox action). An entry is
/// shown to a user only when the policy lets them take that step now.
pub fn inbox_action(name: &str) -> Option<RequestAction> {
    Some(match name {
        "send" => RequestAction::Send,
        "approve-request" => RequestAction::ApproveRequest,
        "accept" => RequestAction::Accept,
        "agree-answer-date" => RequestAction::AgreeAnswerDate,
        "reply" => RequestAction::Reply,
        "approve-reply" => RequestAction::ApproveReply,
        "review-reply" => RequestAction::RequestAdditionalInformation,
        "referral" => RequestAction::DecideReferralParticipation,
        "assign" => RequestAction::Assign,
        _ => return None,
    })
}

/// What can be read of a request. Ordered: each level shows all of the one before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RequestViewLevel {
    /// Authorities involved, area, question set, status, dates and deadlines: no content, no
    /// personal data, no attachments.
    Monitoring,
    /// Everything but personal data: the questions, which are answered and when, reasons,
    /// attachments' sizes and types (not their names or content), referral decisions,
    /// the rating. The allocator's report is this view.
    Full,
    /// Everything, personal data and attachments included.
    FullWithPersonalData,
}

impl RequestViewLevel {
    pub const ALL: [RequestViewLevel; 3] =
        [Self::Monitoring, Self::Full, Self::FullWithPersonalData];
}

fn has_role(actor: &ActorContext, summary: &RequestSummary, role: UserRole) -> bool {
    actor
        .user()
        .is_some_and(|u| u.has_role(&summary.area, role))
}

/// Whether the actor's authority uses allocation for requests in the request's area.
pub fn uses_allocation(actor: &ActorContext, summary: &RequestSummary) -> bool {
    actor
        .authority
        .areas
        .get(&summary.area)
        .and_then(|a| a.workflows.get(&Workflow::Requests))
        .is_some_and(|w| w.flags.contains(&Flag::Allocation))
}

/// Whether the actor is a handler of its side on this request, where its authority uses
/// allocation (the assigned ones); any request handler otherwise.
fn assigned(actor: &ActorContext, summary: &RequestSummary, requesting: bool) -> bool {
    if !uses_allocation(actor, summary) {
        return true;
    }
    let handlers = if requesting {
        &summary.requesting_handlers
    } else {
        &summary.responding_handlers
    };
    handlers.contains(&actor.user_id)
}

/// Whether `actor` may take `action` on the request `summary` describes (for
/// [`RequestAction::Draft`], the request as it would be).
pub fn authorize(
    actor: &ActorContext,
    action: RequestAction,
    summary: &RequestSummary,
) -> Result<(), Denied> {
    if let Some(denied) = actor.unable() {
        return Err(denied);
    }
    let area = &summary.area;
    let handler = has_role(actor, summary, UserRole::RequestHandler);
    let requests_access = actor.authority.role(area, Workflow::Requests).is_some();
    let denied = |why: String| Err(Denied(why));
    match action.actor() {
        Actor::Requester | Actor::Responder => {
            let requesting = action.actor() == Actor::Requester;
            let (party, side) = if requesting {
                (&summary.requesting, "requesting")
            } else {
                (&summary.responding, "responding")
            };
            if !actor.belongs_to(&party.authority_id) {
                return denied(format!("only the {side} authority may take this step"));
            }
            if !requesting && !summary.dispatched() {
                return denied("the request has not reached the responding authority".into());
            }
            if !requests_access {
                return denied(format!(
                    "the authority has no access to the request workflow in {area}"
                ));
            }
            if !handler {
                return denied(format!(
                    "only a request handler in {area} of the {side} authority may take this \
                     step"
                ));
            }
            if !assigned(actor, summary, requesting) {
                return denied(if !requesting && summary.responding_handlers.is_empty() {
                    "the request awaits its allocation to a request handler".to_string()
                } else {
                    "only the request handlers assigned to this request may act on it".to_string()
                });
            }
            Ok(())
        }
        Actor::RequestingCoordinator | Actor::RespondingCoordinator => {
            let coordinator = if action.actor() == Actor::RequestingCoordinator {
                Some(summary.requesting_coordinator.as_str())
            } else {
                summary.responding_coordinator.as_deref()
            };
            if coordinator.is_some_and(|c| actor.belongs_to(c)) && handler {
                Ok(())
            } else {
                denied(format!(
                    "only a request handler in {area} of the request coordinator chosen for \
                     this request may approve or send it back"
                ))
            }
        }
        Actor::Allocator => {
            let party_of_actor = actor.belongs_to(&summary.requesting.authority_id)
                || actor.belongs_to(&summary.responding.authority_id);
            let undispatched =
                !summary.dispatched() && !actor.belongs_to(&summary.requesting.authority_id);
            if !party_of_actor || undispatched || !has_role(actor, summary, UserRole::Allocator) {
                return denied(format!(
                    "only an allocator in {area} of the requesting or the responding authority \
                     may assign the request"
                ));
            }
            if !uses_allocation(actor, summary) {
                return denied(format!("the authority does not use allocation in {area}"));
            }
            Ok(())
        }
        Actor::Referee => {
            let coordinator = summary
                .referral_coordinators()
                .into_iter()
                .any(|c| actor.belongs_to(c));
            if coordinator && has_role(actor, summary, UserRole::ReferralHandler) {
                Ok(())
            } else {
                denied(format!(
                    "only a referral handler in {area} of one of the two request coordinators \
                     may take part in the referral"
                ))
            }
        }
    }
}

/// What an auditor ([`ActorContext::auditor_of`]) reads of a request when looking back at it
/// (as of a point, or the changes between two): the full view without personal data, when
/// an authority of their Member State took part (the requesting side; the responding side
/// once it was dispatched); else nothing.
pub fn audit_level(actor: &ActorContext, summary: &RequestSummary) -> Option<RequestViewLevel> {
    let ms = actor.auditor_of()?;
    let took_part = summary.requesting.member_state == *ms
        || (summary.dispatched() && summary.responding.member_state == *ms);
    took_part.then_some(RequestViewLevel::Full)
}

/// The view of the request `summary` describes that `actor` may read; `None`: none at all.
pub fn view_level(actor: &ActorContext, summary: &RequestSummary) -> Option<RequestViewLevel> {
    use RequestViewLevel::*;
    if actor.unable().is_some() {
        return None;
    }
    let dispatched = summary.dispatched();
    let role = |r: UserRole| has_role(actor, summary, r);
    let mut level: Option<RequestViewLevel> = None;
    let mut raise = |to: RequestViewLevel| level = level.max(Some(to));

    // The parties themselves.
    let parties = std::iter::once((&summary.requesting, true))
        .chain(dispatched.then_some((&summary.responding, false)));
    for (party, requesting) in parties.clone() {
        if actor.belongs_to(&party.authority_id) {
            raise(Monitoring);
            if role(UserRole::Allocator) {
                raise(Full);
            }
            if role(UserRole::RequestViewer)
                || (role(UserRole::RequestHandler) && assigned(actor, summary, requesting))
            {
                raise(FullWithPersonalData);
            }
        }
    }
    // Their watchers.
    for (party, _) in parties {
        if party.linked_coordinators.contains(actor.authority_id())
            || party.linked_authorities.contains(actor.authority_id())
        {
            raise(Monitoring);
        }
    }
    if dispatched && summary.forwarded_from.contains(actor.authority_id()) {
        raise(Monitoring);
    }
    // Coordinators intervening.
    if summary.request_approval
        && actor.belongs_to(&summary.requesting_coordinator)
        && role(UserRole::RequestHandler)
    {
        raise(Full);
    }
    let responding_coordinator = dispatched
        && summary
            .responding_coordinator
            .as_deref()
            .is_some_and(|c| actor.belongs_to(c));
    if summary.reply_approval && responding_coordinator && role(UserRole::RequestHandler) {
        raise(Full);
    }
    let requesting_coordinator = actor.belongs_to(&summary.requesting_coordinator);
    if summary.referral.is_some()
        && (requesting_coordinator || responding_coordinator)
        && role(UserRole::ReferralHandler)
    {
        raise(Full);
    }
    if summary.personal_data_blocked() {
        level = level.map(|l| l.min(RequestViewLevel::Monitoring));
    }
    level
}
