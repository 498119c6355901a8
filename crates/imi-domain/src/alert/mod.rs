//! The Alert aggregate: an SD alert (Services Directive, Art. 29 and 32) or a PQ alert
//! (Art. 56a of Directive 2005/36/EC), from its draft to its closure or withdrawal.
//!
//! The workflow: an alert handler drafts and submits to a linked alert coordinator; an alert
//! disseminator there broadcasts it to recipient Member States (or sends it back); the
//! initiating Member State's incoming alert postbox (IAP) receives it too; each recipient
//! IAP acknowledges and disseminates within its Member State, and IAPs and coordinators add
//! recipients at any time; involved authorities add information through a coordinator that
//! broadcasts it; the Member State of Establishment (or the initiating one) proposes closure,
//! comments run for the area's comment period, the closing coordinator broadcasts the
//! proposal, recipient Member States may object during the objection period, and the closing
//! coordinator closes at its end. The initiating authority withdraws an unfounded alert at
//! once.
//!
//! Every command a user issues is checked by [`policy::authorize`]; periods are checked
//! against the services' clock whenever a user acts, and the system records their ends (and
//! a PQ alert's 3-day deadline) once each, so a scheduler may repeat itself safely.
//! Handlers live by step in `initiation`, `reception` and `closure`.

mod closure;
mod command;
mod event;
mod initiation;
mod model;
pub mod policy;
mod reception;
mod retention;
pub mod services;
mod subjects;
pub mod testing;
#[cfg(test)]
mod tests;
pub mod visibility;

pub use command::AlertCommand;
pub use event::AlertEvent;
pub use model::{
    AlertContent, AlertKind, AlertQueue, AlertStatus, AlertSummary, ClosurePeriods, ClosureSummary,
    InformationKind, Involvement, ProfessionalAlert, RecipientState, RestrictionScope,
    ServicesAlert,
};
pub use policy::{audit_level, authorize, view_level, AlertViewLevel};
pub use services::{AlertPeriods, AlertServices};

use crate::access::ActorContext;
use crate::actor::Actor;
use crate::authority::{AuthoritySummary, LookupError, Workflow, WorkflowRole};
use crate::command::Issued;
use crate::error::DomainError;
use crate::sealed::Sealed;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;

/// Days a PQ alert is due within, from the decision (Art. 56a(3) of Directive 2005/36/EC).
pub const PQ_ALERT_DAYS: i64 = 3;

/// The data key an alert's personal data is sealed under.
pub fn alert_key_id(alert_id: &str) -> String {
    format!("Alert/{alert_id}")
}

/// An alert, with the services `S` its commands consult.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct Alert<S = ()> {
    state: AlertState,
    #[serde(skip)]
    services: PhantomData<fn() -> S>,
}

impl<S> Default for Alert<S> {
    fn default() -> Self {
        Self {
            state: AlertState::default(),
            services: PhantomData,
        }
    }
}

impl<S> Clone for Alert<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            services: PhantomData,
        }
    }
}

impl<S> fmt::Debug for Alert<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt(f)
    }
}

impl<S> PartialEq for Alert<S> {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
    }
}

impl<S> Alert<S> {
    /// What the access policy, read models and the gateway know of this alert; `None`
    /// before it is drafted.
    pub fn summary(&self) -> Option<&AlertSummary> {
        self.state.summary.as_ref()
    }

    /// The content (sealed where personal); `None` before it is drafted.
    pub fn content(&self) -> Option<&AlertContent> {
        self.state.content.as_ref()
    }

    /// Applies one event as the aggregate does: read models fold alerts with its own rules.
    pub fn fold(&mut self, event: AlertEvent) {
        self.state.apply(event);
    }

    /// Replays `events` (for tests, tools and read models).
    pub fn from_events(events: impl IntoIterator<Item = AlertEvent>) -> Self {
        let mut alert = Self::default();
        for e in events {
            alert.state.apply(e);
        }
        alert
    }
}

impl<S: AlertServices + 'static> Aggregate for Alert<S> {
    const TYPE: &'static str = "Alert";
    type Command = Issued<AlertCommand>;
    type Event = AlertEvent;
    type Error = DomainError;
    type Services = S;

    async fn handle(
        &mut self,
        issued: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let events = self.state.decide(issued, services).await?;
        for event in events {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: AlertEvent) {
        self.state.apply(event);
    }
}

/// The aggregate's state; its serialized form is the snapshot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct AlertState {
    summary: Option<AlertSummary>,
    content: Option<AlertContent>,
    /// Additional information already broadcast.
    #[serde(default)]
    broadcast_information: BTreeSet<String>,
}

/// The refusal when a lookup fails: the client may retry; the cause is the store's to log.
fn unavailable(_: LookupError) -> DomainError {
    DomainError::refused("the authority directory is temporarily unavailable; try again")
}

/// `sealed` must be sealed under this alert's key.
fn checked_sealed(what: &str, sealed: &Sealed, alert_id: &str) -> Result<(), DomainError> {
    if sealed.key_id != alert_key_id(alert_id) {
        return Err(DomainError::invalid(format!(
            "{what} must be sealed under the alert's own key"
        )));
    }
    Ok(())
}

/// An authority another command names: known, validated, with a role in the alerts workflow
/// of the alert's area.
async fn alert_participant(
    services: &dyn AlertServices,
    id: &str,
    area: &crate::authority::LegislativeArea,
) -> Result<(AuthoritySummary, WorkflowRole), DomainError> {
    let summary = services
        .authority(id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| DomainError::not_found(format!("no authority {id}")))?;
    if !summary.validated() {
        return Err(DomainError::refused(format!("{id} is not validated yet")));
    }
    let role = summary
        .role(area, Workflow::Alerts)
        .ok_or_else(|| DomainError::refused(format!("{id} has no access to alerts in {area}")))?;
    Ok((summary, role))
}

/// An authority named as a coordinator: a participant whose role coordinates alerts.
async fn alert_coordinator(
    services: &dyn AlertServices,
    id: &str,
    area: &crate::authority::LegislativeArea,
) -> Result<AuthoritySummary, DomainError> {
    let (summary, role) = alert_participant(services, id, area).await?;
    if !policy::is_alert_coordinator(Some(role)) {
        return Err(DomainError::refused(format!(
            "{id} is not an alert coordinator in {area}"
        )));
    }
    Ok(summary)
}

/// The refusal for an alert that does not exist or that the actor may not see.
pub fn unknown_alert() -> DomainError {
    DomainError::not_found("no such alert")
}

impl AlertState {
    fn require(&self) -> Result<&AlertSummary, DomainError> {
        self.summary.as_ref().ok_or_else(unknown_alert)
    }

    /// The acting user and their authority, looked up.
    async fn actor(by: &Actor, services: &dyn AlertServices) -> Result<ActorContext, DomainError> {
        let Actor::User {
            user_id,
            authority_id,
        } = by
        else {
            return Err(DomainError::forbidden("this command is issued by a user"));
        };
        let theirs = services
            .authority(authority_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| DomainError::forbidden(crate::access::NOT_REGISTERED))?;
        Ok(ActorContext::new(user_id, theirs))
    }

    /// Refuses any step on an alert that is closed or withdrawn.
    fn require_not_ended(alert: &AlertSummary) -> Result<(), DomainError> {
        match alert.status {
            model::AlertStatus::Closed => Err(DomainError::refused("the alert is closed")),
            model::AlertStatus::Withdrawn => Err(DomainError::refused("the alert was withdrawn")),
            _ => Ok(()),
        }
    }

    /// Refuses a step that needs the alert broadcast and not ended.
    fn require_live(alert: &AlertSummary) -> Result<(), DomainError> {
        Self::require_not_ended(alert)?;
        if !alert.status.is_live() {
            return Err(DomainError::refused("the alert has not been broadcast yet"));
        }
        Ok(())
    }

    async fn decide(
        &self,
        issued: Issued<AlertCommand>,
        services: &dyn AlertServices,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        use AlertCommand as C;
        let Issued { by, command } = issued;
        let s = services;
        if command.is_time_fact() {
            let alert = self.require()?;
            if !matches!(by, Actor::System { .. }) {
                return Err(DomainError::forbidden(
                    "only the system records that a period has passed",
                ));
            }
            if matches!(command, C::BlockPersonalData | C::RecordPersonalDataDeleted) {
                let retention = s.retention(&alert.area).await.map_err(unavailable)?;
                return Self::retention_fact(alert, s.now(), retention.alerts, command);
            }
            return self.record_time_fact(alert, s, command);
        }
        if command.for_data_subject() {
            let alert = self.require()?;
            if !matches!(by, Actor::System { .. }) {
                return Err(DomainError::forbidden(
                    "only the system carries out a data subject's request, for its data \
                     administrator",
                ));
            }
            return self.for_data_subject(alert, command, s.now());
        }
        if let C::DraftAlert {
            alert_id,
            area,
            content,
        } = command
        {
            return self.draft(&by, s, alert_id, area, content).await;
        }
        let alert = self.require()?;
        let actor = Self::actor(&by, s).await?;
        // An alert the actor may not see at all is refused exactly as an unknown one, before
        // anything about its state is said: ids cannot be probed.
        // (A coordinator that additional information was submitted to is told of it and acts
        // on it even where it is not otherwise involved.)
        let asked_to_broadcast = alert
            .pending_information
            .values()
            .any(|c| actor.belongs_to(c));
        if policy::view_level(Some(&actor), alert).is_none() && !asked_to_broadcast {
            return Err(unknown_alert());
        }
        // What the command names must exist before the policy can say who acts on it.
        match &command {
            C::BroadcastAdditionalInformation { information_id } => {
                Self::require_live(alert)?;
                self.information_exists(alert, information_id)?;
            }
            C::BroadcastClosureProposal | C::RejectClosureProposal { .. } | C::CloseAlert => {
                Self::closure_exists(alert)?;
            }
            _ => {}
        }
        policy::authorize(&actor, &command, alert)?;
        match command {
            C::DraftAlert { .. } => unreachable!("handled above"),
            C::AmendDraft { content } => self.amend(alert, s, content).await,
            C::SubmitAlert { coordinator_id } => self.submit(alert, s, coordinator_id).await,
            C::SendBackAlert { reason } => self.send_back(alert, reason),
            C::BroadcastAlert { member_states } => self.broadcast(alert, s, member_states).await,
            C::ExtendBroadcast { member_states } => {
                self.extend_broadcast(alert, s, member_states).await
            }
            C::AcknowledgeReceipt => self.acknowledge(alert, s, &actor),
            C::AddRecipients { authorities } => {
                self.add_recipients(alert, s, &actor, authorities).await
            }
            C::SubmitAdditionalInformation {
                information_id,
                kind,
                coordinator_id,
                text,
                attachments,
            } => {
                self.submit_information(
                    alert,
                    s,
                    &actor,
                    reception::Information {
                        information_id,
                        kind,
                        coordinator_id,
                        text,
                        attachments,
                    },
                )
                .await
            }
            C::BroadcastAdditionalInformation { information_id } => {
                self.broadcast_information(alert, information_id)
            }
            C::ProposeClosure {
                closing_coordinator_id,
                reason,
            } => {
                self.propose_closure(alert, s, &actor, closing_coordinator_id, reason)
                    .await
            }
            C::CommentOnClosure { comment } => self.comment(alert, s, &actor, comment),
            C::BroadcastClosureProposal => self.broadcast_closure(alert, s).await,
            C::RejectClosureProposal { reason } => self.reject_closure(alert, reason),
            C::ObjectToClosure { objection } => self.object(alert, s, &actor, objection),
            C::CloseAlert => self.close(alert, s),
            C::WithdrawAlert { reason } => self.withdraw(alert, s, &actor, reason),
            C::EndCommentPeriod
            | C::EndObjectionPeriod
            | C::PassThreeDayDeadline
            | C::BlockPersonalData
            | C::RecordPersonalDataDeleted
            | C::RectifyForSubject { .. }
            | C::BlockPersonalDataForSubject { .. }
            | C::RecordPersonalDataErasedForSubject { .. } => {
                unreachable!("handled above")
            }
        }
    }

    fn apply(&mut self, event: AlertEvent) {
        use AlertEvent as E;
        use AlertStatus as St;
        if let E::AlertDrafted {
            alert_id,
            area,
            initiating_authority,
            initiating_member_state,
            content,
            at,
        } = event
        {
            let (profession, scope, deadline) = match &content {
                AlertContent::Services(_) => (None, None, None),
                AlertContent::ProfessionalQualifications(p) => (
                    Some(p.profession.clone()),
                    Some(p.scope),
                    Some(p.decided_at + chrono::Duration::days(PQ_ALERT_DAYS)),
                ),
            };
            self.summary = Some(AlertSummary {
                alert_id,
                kind: content.kind(),
                area,
                status: St::Draft,
                initiating_authority,
                initiating_member_state,
                member_state_of_establishment: content.member_state_of_establishment().cloned(),
                profession,
                scope,
                coordinator: None,
                sending_postbox: None,
                recipient_member_states: Default::default(),
                recipients: Default::default(),
                pending_information: Default::default(),
                closure: None,
                drafted_at: at,
                submitted_at: None,
                broadcast_at: None,
                ended_at: None,
                three_day_deadline: deadline,
                broadcast_in_time: None,
                personal_data_blocked_at: None,
                personal_data_deleted_at: None,
            });
            self.content = Some(content);
            return;
        }
        let Some(s) = self.summary.as_mut() else {
            return;
        };
        match event {
            E::AlertDrafted { .. } => {}
            E::DraftAmended { content } => {
                s.member_state_of_establishment = content.member_state_of_establishment().cloned();
                if let AlertContent::ProfessionalQualifications(p) = &content {
                    s.profession = Some(p.profession.clone());
                    s.scope = Some(p.scope);
                    s.three_day_deadline =
                        Some(p.decided_at + chrono::Duration::days(PQ_ALERT_DAYS));
                }
                self.content = Some(content);
            }
            E::AlertSubmitted { coordinator, at } => {
                s.coordinator = Some(coordinator);
                s.submitted_at = Some(at);
                s.status = St::Submitted;
            }
            E::AlertSentBack { .. } => s.status = St::SentBack,
            E::AlertBroadcast {
                member_states,
                sending_postbox,
                at,
                ..
            } => {
                s.status = St::Broadcast;
                s.broadcast_at = Some(at);
                s.sending_postbox = sending_postbox;
                for (ms, postbox) in member_states {
                    s.recipient_member_states.insert(
                        ms,
                        RecipientState {
                            postbox,
                            acknowledged_at: None,
                        },
                    );
                }
            }
            E::BroadcastExtended { member_states } => {
                for (ms, postbox) in member_states {
                    s.recipient_member_states.insert(
                        ms,
                        RecipientState {
                            postbox,
                            acknowledged_at: None,
                        },
                    );
                }
            }
            E::ReceiptAcknowledged {
                member_state, at, ..
            } => {
                if let Some(r) = s.recipient_member_states.get_mut(&member_state) {
                    r.acknowledged_at = Some(at);
                }
            }
            E::RecipientsAdded {
                member_state,
                authorities,
                ..
            } => {
                for a in authorities {
                    s.recipients.insert(a, member_state.clone());
                }
            }
            E::AdditionalInformationSubmitted {
                information_id,
                coordinator,
                ..
            } => {
                s.pending_information.insert(information_id, coordinator);
            }
            E::AdditionalInformationBroadcast { information_id, .. } => {
                s.pending_information.remove(&information_id);
                self.broadcast_information.insert(information_id);
            }
            E::ClosureProposed {
                proposed_by,
                closing_coordinator,
                comment_period_ends_at,
                ..
            } => {
                s.status = St::ClosureProposed;
                s.closure = Some(ClosureSummary {
                    proposed_by,
                    closing_coordinator,
                    comment_period_ends_at,
                    comment_period_ended: false,
                    commented_by: BTreeSet::new(),
                    objection_period_ends_at: None,
                    objection_period_ended: false,
                    objecting_member_states: BTreeSet::new(),
                });
            }
            E::ClosureCommented { commented_by, .. } => {
                if let Some(c) = &mut s.closure {
                    c.commented_by.insert(commented_by);
                }
            }
            E::CommentPeriodEnded { .. } => {
                if let Some(c) = &mut s.closure {
                    c.comment_period_ended = true;
                }
            }
            E::ClosureProposalBroadcast {
                objection_period_ends_at,
                ..
            } => {
                s.status = St::ClosureProposalBroadcast;
                if let Some(c) = &mut s.closure {
                    c.objection_period_ends_at = Some(objection_period_ends_at);
                }
            }
            E::ClosureProposalRejected { .. } => {
                s.status = St::Broadcast;
                s.closure = None;
            }
            E::ClosureObjected { member_state, .. } => {
                if let Some(c) = &mut s.closure {
                    c.objecting_member_states.insert(member_state);
                }
            }
            E::ObjectionPeriodEnded { .. } => {
                if let Some(c) = &mut s.closure {
                    c.objection_period_ended = true;
                }
            }
            E::AlertClosed { at, .. } => {
                s.status = St::Closed;
                s.ended_at = Some(at);
            }
            E::AlertWithdrawn { at, .. } => {
                s.status = St::Withdrawn;
                s.ended_at = Some(at);
            }
            E::ThreeDayDeadlinePassed {
                broadcast_in_time, ..
            } => s.broadcast_in_time = Some(broadcast_in_time),
            E::PersonalDataBlocked { at } => s.personal_data_blocked_at = Some(at),
            E::PersonalDataDeleted { at } => s.personal_data_deleted_at = Some(at),
            E::PersonRectified { person, .. } => match &mut self.content {
                Some(AlertContent::Services(c)) => c.service_provider = person,
                Some(AlertContent::ProfessionalQualifications(c)) => c.professional = person,
                None => {}
            },
            E::DescriptionRectified { text, .. } => match &mut self.content {
                Some(AlertContent::Services(c)) => c.dangerous_activity = text,
                Some(AlertContent::ProfessionalQualifications(c)) => c.details = Some(text),
                None => {}
            },
            E::PersonalDataBlockedForSubject { at, .. } => s.personal_data_blocked_at = Some(at),
            E::PersonalDataErasedForSubject { at, .. } => s.personal_data_deleted_at = Some(at),
        }
    }
}
