//! The access policy for alerts: pure functions deciding whether an acting user may issue a
//! command on an alert ([`authorize`]) and at which level they may read it ([`view_level`]).
//!
//! The Alert aggregate calls [`authorize`] for every command a user issues (for a draft, on
//! the summary the alert would have); the gateway calls [`view_level`] for every field that
//! exposes an alert. Roles are the user's roles in the alert's legislative area; workflow
//! roles are their authority's in the alerts workflow of that area.
//!
//! Who may do what (the glossary's rules):
//! - draft, amend, submit: an alert handler of the initiating authority, submitting to an
//!   alert coordinator its authority is linked to (or to itself, being one);
//! - send back, broadcast, extend the broadcast: an alert disseminator of that coordinator;
//! - acknowledge receipt: an alert handler or disseminator of a recipient Member State's
//!   incoming alert postbox;
//! - add recipients: an alert disseminator of an involved alert coordinator or postbox;
//! - additional information: an alert handler of an involved authority, to a coordinator it
//!   is linked to (or itself); its broadcast: a disseminator of that coordinator;
//! - propose closure, comment: an alert handler of an involved authority of the Member State
//!   responsible for closure; broadcast, reject the proposal, close: a disseminator of the
//!   closing coordinator; object: a disseminator of an involved coordinator or postbox of
//!   another Member State;
//! - withdraw: an alert handler of the initiating authority, or a disseminator of its
//!   coordinator on its behalf;
//! - the time facts: the system only.
//!
//! Alert viewers and basic users act on nothing. Only an active user of a validated authority
//! acts or reads at all.

use super::command::AlertCommand;
use super::model::{AlertKind, AlertQueue, AlertSummary, Involvement};
use crate::access::{ActorContext, Denied};
use crate::authority::{UserRole, Workflow, WorkflowRole};

/// Whether the authority's workflow role lets it coordinate alerts (broadcast, disseminate).
pub fn is_alert_coordinator(role: Option<WorkflowRole>) -> bool {
    matches!(
        role,
        Some(WorkflowRole::AlertCoordinator | WorkflowRole::IncomingAlertPostbox)
    )
}

struct Check<'a> {
    actor: &'a ActorContext,
    alert: &'a AlertSummary,
}

impl Check<'_> {
    fn role(&self) -> Option<WorkflowRole> {
        self.actor
            .authority
            .role(&self.alert.area, Workflow::Alerts)
    }
    fn has(&self, role: UserRole) -> bool {
        self.actor
            .user()
            .is_some_and(|u| u.has_role(&self.alert.area, role))
    }
    fn handler(&self) -> bool {
        self.role().is_some() && self.has(UserRole::AlertHandler)
    }
    fn disseminator(&self) -> bool {
        is_alert_coordinator(self.role()) && self.has(UserRole::AlertDisseminator)
    }
    fn is(&self, authority: Option<&str>) -> bool {
        authority.is_some_and(|a| self.actor.belongs_to(a))
    }
    fn involved(&self) -> bool {
        self.alert.is_involved(self.actor.authority_id())
    }
    fn in_responsible_member_state(&self) -> bool {
        &self.actor.authority.member_state == self.alert.responsible_member_state()
    }
    /// `coordinator` is one the actor's authority is linked to for alerts in the area, or
    /// the actor's authority itself when it coordinates alerts.
    fn may_submit_to(&self, coordinator: &str) -> bool {
        (self.actor.belongs_to(coordinator) && is_alert_coordinator(self.role()))
            || self
                .actor
                .authority
                .areas
                .get(&self.alert.area)
                .and_then(|a| a.workflows.get(&Workflow::Alerts))
                .is_some_and(|w| w.linked_coordinators.contains(coordinator))
    }
}

/// A step of the alert workflow, as the policy decides on it (commands without their data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertStep<'a> {
    /// Draft, amend, submit.
    Draft,
    /// Send back, broadcast, extend the broadcast.
    Broadcast,
    Acknowledge,
    AddRecipients,
    AddInformation,
    /// Broadcast the additional information with this id.
    BroadcastInformation(&'a str),
    /// Propose closure or comment on a proposal.
    ProposeOrComment,
    /// Broadcast or reject the closure proposal, close.
    Close,
    Object,
    Withdraw,
    /// The facts of time.
    TimeFact,
}

impl<'a> AlertStep<'a> {
    pub fn of(command: &'a AlertCommand) -> Self {
        use AlertCommand as C;
        match command {
            C::DraftAlert { .. } | C::AmendDraft { .. } | C::SubmitAlert { .. } => Self::Draft,
            C::SendBackAlert { .. } | C::BroadcastAlert { .. } | C::ExtendBroadcast { .. } => {
                Self::Broadcast
            }
            C::AcknowledgeReceipt => Self::Acknowledge,
            C::AddRecipients { .. } => Self::AddRecipients,
            C::SubmitAdditionalInformation { .. } => Self::AddInformation,
            C::BroadcastAdditionalInformation { information_id } => {
                Self::BroadcastInformation(information_id)
            }
            C::ProposeClosure { .. } | C::CommentOnClosure { .. } => Self::ProposeOrComment,
            C::BroadcastClosureProposal | C::RejectClosureProposal { .. } | C::CloseAlert => {
                Self::Close
            }
            C::ObjectToClosure { .. } => Self::Object,
            C::WithdrawAlert { .. } => Self::Withdraw,
            C::EndCommentPeriod
            | C::EndObjectionPeriod
            | C::PassThreeDayDeadline
            | C::BlockPersonalData
            | C::RecordPersonalDataDeleted
            | C::RectifyForSubject { .. }
            | C::BlockPersonalDataForSubject { .. }
            | C::RecordPersonalDataErasedForSubject { .. } => Self::TimeFact,
        }
    }

    /// The step a work queue asks of the authority whose queue it is.
    pub fn of_queue(queue: AlertQueue, actor: &ActorContext, alert: &'a AlertSummary) -> Self {
        match queue {
            AlertQueue::ToBroadcast => Self::Broadcast,
            AlertQueue::ToAcknowledge => Self::Acknowledge,
            AlertQueue::ToDisseminate => Self::AddRecipients,
            AlertQueue::ToComment => Self::ProposeOrComment,
            AlertQueue::ToObject => Self::Object,
            AlertQueue::InformationToBroadcast => alert
                .pending_information
                .iter()
                .find(|(_, coordinator)| actor.belongs_to(coordinator))
                .map(|(id, _)| Self::BroadcastInformation(id))
                .unwrap_or(Self::TimeFact),
            AlertQueue::ToClose => Self::Close,
        }
    }
}

/// Whether `actor` may issue `command` on `alert`.
pub fn authorize(
    actor: &ActorContext,
    command: &AlertCommand,
    alert: &AlertSummary,
) -> Result<(), Denied> {
    use AlertCommand as C;
    authorize_step(actor, AlertStep::of(command), alert)?;
    let c = Check { actor, alert };
    let area = &alert.area;
    match command {
        C::SubmitAlert { coordinator_id }
        | C::SubmitAdditionalInformation { coordinator_id, .. } => {
            if c.may_submit_to(coordinator_id) {
                Ok(())
            } else {
                Err(Denied(format!(
                    "{coordinator_id} is not an alert coordinator the authority is linked to in \
                     {area}"
                )))
            }
        }
        _ => Ok(()),
    }
}

/// Whether `actor` may take `step` on `alert` (a work queue's step included).
pub fn authorize_step(
    actor: &ActorContext,
    step: AlertStep<'_>,
    alert: &AlertSummary,
) -> Result<(), Denied> {
    use AlertStep as S;
    if let Some(denied) = actor.unable() {
        return Err(denied);
    }
    let c = Check { actor, alert };
    let area = &alert.area;
    let allowed = |ok: bool, why: String| if ok { Ok(()) } else { Err(Denied(why)) };
    match step {
        S::Draft => {
            if c.role().is_none() {
                return Err(Denied(format!(
                    "the authority has no access to the alerts workflow in {area}"
                )));
            }
            allowed(
                c.is(Some(&alert.initiating_authority)) && c.handler(),
                format!(
                    "only an alert handler in {area} of the initiating authority may draft, \
                     amend or submit the alert"
                ),
            )
        }
        S::Broadcast => allowed(
            c.is(alert.coordinator.as_deref()) && c.disseminator(),
            format!(
                "only an alert disseminator in {area} of the alert coordinator the alert was \
                 submitted to may send it back or broadcast it"
            ),
        ),
        S::Acknowledge => allowed(
            c.is(alert.recipient_postbox(&actor.authority.member_state))
                && (c.handler() || c.disseminator()),
            format!(
                "only an alert handler or disseminator in {area} of a recipient Member State's \
                 incoming alert postbox may acknowledge receipt"
            ),
        ),
        S::AddRecipients => allowed(
            c.involved() && c.disseminator(),
            format!(
                "only an alert disseminator in {area} of an alert coordinator or incoming alert \
                 postbox with access to the alert may add recipients"
            ),
        ),
        S::AddInformation => allowed(
            c.involved() && c.handler(),
            format!(
                "only an alert handler in {area} of an authority involved in the alert may \
                 add information"
            ),
        ),
        S::BroadcastInformation(information_id) => allowed(
            c.is(alert
                .pending_information
                .get(information_id)
                .map(String::as_str))
                && c.disseminator(),
            format!(
                "only an alert disseminator in {area} of the coordinator the information was \
                 submitted to may broadcast it"
            ),
        ),
        S::ProposeOrComment => allowed(
            c.involved() && c.in_responsible_member_state() && c.handler(),
            format!(
                "only an alert handler in {area} of an involved authority of the Member State \
                 responsible for closure ({}) may propose or comment on closure",
                alert.responsible_member_state()
            ),
        ),
        S::Close => allowed(
            c.is(alert
                .closure
                .as_ref()
                .map(|x| x.closing_coordinator.as_str()))
                && c.disseminator(),
            format!(
                "only an alert disseminator in {area} of the closing coordinator may broadcast, \
                 reject or close"
            ),
        ),
        S::Object => allowed(
            c.involved() && !c.in_responsible_member_state() && c.disseminator(),
            format!(
                "only an alert disseminator in {area} of an involved coordinator of a recipient \
                 Member State may object to closure"
            ),
        ),
        S::Withdraw => allowed(
            (c.is(Some(&alert.initiating_authority)) && c.handler())
                || (c.is(alert.coordinator.as_deref()) && c.disseminator()),
            format!(
                "only an alert handler in {area} of the initiating authority, or an alert \
                 disseminator of its coordinator, may withdraw the alert"
            ),
        ),
        S::TimeFact => Err(Denied::new(
            "only the system records that a period has passed",
        )),
    }
}

/// How much of an alert a reader sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertViewLevel {
    /// Authorities, area, kind, status, dates: no content, no personal data.
    HighLevel,
    /// For a PQ alert's incoming-alert postbox that does not handle it: the high level plus
    /// the profession and the scope of the decision.
    ProfessionAndScope,
    /// Once closed or withdrawn: the high level plus the content without personal data.
    ReducedAfterClosure,
    /// Everything, personal data included.
    FullWithPersonalData,
}

impl AlertViewLevel {
    pub const ALL: [AlertViewLevel; 4] = [
        Self::HighLevel,
        Self::ProfessionAndScope,
        Self::ReducedAfterClosure,
        Self::FullWithPersonalData,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HighLevel => "HighLevel",
            Self::ProfessionAndScope => "ProfessionAndScope",
            Self::ReducedAfterClosure => "ReducedAfterClosure",
            Self::FullWithPersonalData => "FullWithPersonalData",
        }
    }
}

/// What an auditor ([`ActorContext::auditor_of`]) reads of an alert when looking back at it:
/// the high-level overview (no content, no personal data) when their Member State initiated
/// it or received it; else nothing.
pub fn audit_level(actor: &ActorContext, alert: &AlertSummary) -> Option<AlertViewLevel> {
    let ms = actor.auditor_of()?;
    let took_part =
        alert.initiating_member_state == *ms || alert.recipient_member_states.contains_key(ms);
    took_part.then_some(AlertViewLevel::HighLevel)
}

/// At which level `actor` may read `alert`; `None`: not at all.
///
/// Only users of involved authorities with the alerts workflow in the area read an alert
/// (need to know, Art. 9 of Regulation 1024/2012). Basic users get the high-level overview;
/// alert handlers, disseminators and viewers the full view with personal data, reduced once
/// the alert is closed or withdrawn. For a PQ alert, an incoming alert postbox that only
/// routes it (not the initiating authority, its coordinator, a recipient or the closing
/// coordinator) sees the profession and the scope only.
pub fn view_level(actor: Option<&ActorContext>, alert: &AlertSummary) -> Option<AlertViewLevel> {
    let actor = actor?;
    if actor.unable().is_some() {
        return None;
    }
    let c = Check { actor, alert };
    c.role()?;
    let how = alert.involvement(actor.authority_id());
    if how.is_empty() {
        return None;
    }
    let detail = [
        UserRole::AlertHandler,
        UserRole::AlertDisseminator,
        UserRole::AlertViewer,
    ]
    .into_iter()
    .any(|r| c.has(r));
    if !detail {
        return Some(AlertViewLevel::HighLevel);
    }
    // Blocked personal data only prove that the alert took place: the overview, for everyone.
    if alert.personal_data_blocked_at.is_some() {
        return Some(AlertViewLevel::HighLevel);
    }
    if alert.status.is_ended() {
        return Some(AlertViewLevel::ReducedAfterClosure);
    }
    let routing_only = how.iter().all(|h| *h == Involvement::Postbox);
    if alert.kind == AlertKind::ProfessionalQualifications && routing_only {
        return Some(AlertViewLevel::ProfessionAndScope);
    }
    Some(AlertViewLevel::FullWithPersonalData)
}
