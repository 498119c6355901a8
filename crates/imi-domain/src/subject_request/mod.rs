//! The SubjectRequest aggregate: a data subject's request (access, rectification, erasure,
//! blocking) about their data in one exchange, recorded by a data administrator of an
//! authority that took part in it, answered within [`ANSWER_DAYS`] days: carried out on the
//! exchange, then closed with the answer given to the subject.
//!
//! Who may: a local data administrator of the authority, or one of its data administrators
//! in the exchange's area, while the authority is a participant of the exchange (it holds the
//! data). The same authority carries it out and closes it. The subject's identification and
//! the answer are personal data: sealed under the request's own key
//! ([`subject_request_key_id`]), which the exchange's erasure does not touch, so the record of
//! having answered remains.

mod command;
mod event;
mod extension;
mod model;
#[cfg(test)]
mod tests;

pub use command::SubjectRequestCommand;
pub use event::SubjectRequestEvent;
pub use extension::{MAX_EXTENSION_MONTHS, MAX_EXTENSION_REASON_CHARS};
pub use model::{
    due_on, subject_request_key_id, CorrectedField, Correction, ExchangeFacts, PartialErasure,
    SubjectRequestKind, SubjectRequestStatus, SubjectRequestSummary, ANSWER_DAYS,
    COMPLETE_ON_EXCHANGE, COMPLETION_GRACE_MINUTES, REMINDER_DAYS_BEFORE_DUE,
};

use crate::access::ActorContext;
use crate::actor::Actor;
use crate::authority::{AuthorityDirectoryLookup, Clock, LegislativeArea};
use crate::command::Issued;
use crate::error::DomainError;
use crate::request::{RequestSummary, RequestViewLevel};
use crate::sealed::Sealed;
use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;

/// Everything the SubjectRequest aggregate's `Services` must provide: the acting user's
/// authority and the time.
pub trait SubjectRequestServices: AuthorityDirectoryLookup + Clock {}
impl<T: AuthorityDirectoryLookup + Clock + ?Sized> SubjectRequestServices for T {}

/// A data subject's request, with the services `S` its commands consult.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubjectRequest<S = ()> {
    state: Option<SubjectRequestSummary>,
    #[serde(skip)]
    services: PhantomData<fn() -> S>,
}

impl<S> Default for SubjectRequest<S> {
    fn default() -> Self {
        Self {
            state: None,
            services: PhantomData,
        }
    }
}

impl<S> Clone for SubjectRequest<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            services: PhantomData,
        }
    }
}

impl<S> fmt::Debug for SubjectRequest<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt(f)
    }
}

impl<S> PartialEq for SubjectRequest<S> {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
    }
}

impl<S> SubjectRequest<S> {
    /// The request; `None` before it is recorded.
    pub fn summary(&self) -> Option<&SubjectRequestSummary> {
        self.state.as_ref()
    }

    /// The request as a read model stored it, to fold further events over.
    pub fn from_summary(summary: SubjectRequestSummary) -> Self {
        Self {
            state: Some(summary),
            services: PhantomData,
        }
    }

    /// Applies one recorded event (read models fold the log with it).
    pub fn record(&mut self, event: SubjectRequestEvent) {
        apply(&mut self.state, event);
    }
}

impl<S: SubjectRequestServices + 'static> Aggregate for SubjectRequest<S> {
    const TYPE: &'static str = "SubjectRequest";
    type Command = Issued<SubjectRequestCommand>;
    type Event = SubjectRequestEvent;
    type Error = DomainError;
    type Services = S;

    async fn handle(
        &mut self,
        issued: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let event = decide(self.state.as_ref(), issued, services).await?;
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: SubjectRequestEvent) {
        apply(&mut self.state, event);
    }
}

/// The refusal for a request that does not exist or that the actor may not see.
pub fn unknown_subject_request() -> DomainError {
    DomainError::not_found("no such data subject's request")
}

/// The level at which a data subject's access exports the information request it is about:
/// everything the authority's side holds, personal data included, unless they are blocked
/// (blocked data only prove that the exchange took place: the facts).
pub fn subject_access_level(summary: &RequestSummary) -> RequestViewLevel {
    if summary.personal_data_blocked() {
        RequestViewLevel::Monitoring
    } else {
        RequestViewLevel::FullWithPersonalData
    }
}

/// Whether `actor` answers data subjects' requests for its authority in `area`.
pub fn handles_subject_requests(actor: &ActorContext, area: &LegislativeArea) -> bool {
    actor.unable().is_none()
        && (actor.is_local_data_administrator()
            || actor
                .user()
                .is_some_and(|u| u.has_role(area, crate::authority::UserRole::DataAdministrator)))
}

async fn decide<S: SubjectRequestServices>(
    state: Option<&SubjectRequestSummary>,
    issued: Issued<SubjectRequestCommand>,
    services: &S,
) -> Result<SubjectRequestEvent, DomainError> {
    use SubjectRequestCommand as C;
    let Issued { by, command } = issued;
    let now = services.now();
    if command.issued_by_system() {
        if !matches!(by, Actor::System { .. }) {
            return Err(DomainError::forbidden(
                "only the scheduler records the reminders of a data subject's request",
            ));
        }
        let r = state.ok_or_else(unknown_subject_request)?;
        return reminder(r, command, now);
    }
    let actor = actor_context(&by, services).await?;
    if let C::Record {
        id,
        kind,
        exchange,
        subject,
    } = command
    {
        if state.is_some() {
            return Err(DomainError::refused(
                "the data subject's request already exists",
            ));
        }
        if !exchange.participants.contains(actor.authority_id()) {
            return Err(DomainError::forbidden(
                "the acting authority did not take part in the exchange: it holds no data of it",
            ));
        }
        if !handles_subject_requests(&actor, &exchange.area) {
            return Err(DomainError::forbidden(
                "only a data administrator of the authority records a data subject's request",
            ));
        }
        sealed_here(&subject, &id, "the subject's identification")?;
        return Ok(SubjectRequestEvent::SubjectRequestRecorded {
            due_on: due_on(now),
            authority_id: actor.authority_id().to_string(),
            recorded_by: actor.user_id.clone(),
            id,
            kind,
            exchange,
            subject,
            at: now,
        });
    }
    let r = state.ok_or_else(unknown_subject_request)?;
    if !actor.belongs_to(&r.authority_id) {
        return Err(unknown_subject_request());
    }
    if !handles_subject_requests(&actor, &r.area) {
        return Err(DomainError::forbidden(
            "only a data administrator of the authority handles a data subject's request",
        ));
    }
    if !r.open() {
        return Err(DomainError::refused(
            "the data subject's request is already closed",
        ));
    }
    match command {
        C::CarryOut | C::Rectify { .. } | C::CarryOutErasure { .. }
            if r.carried_out_at.is_some() =>
        {
            Err(DomainError::refused(
                "the data subject's request was already carried out",
            ))
        }
        C::CarryOutErasure { erasure } => {
            checked_erasure(r, &erasure)?;
            Ok(SubjectRequestEvent::SubjectErasureCarriedOut {
                erasure,
                by: actor.user_id.clone(),
                at: now,
            })
        }
        C::CarryOut => {
            if r.kind == SubjectRequestKind::Rectification {
                return Err(DomainError::invalid(
                    "a rectification is carried out with the corrected values",
                ));
            }
            Ok(SubjectRequestEvent::SubjectRequestCarriedOut {
                by: actor.user_id.clone(),
                at: now,
            })
        }
        C::Rectify { corrections } => {
            checked_corrections(r, &corrections)?;
            Ok(SubjectRequestEvent::SubjectRectificationCarriedOut {
                corrections,
                by: actor.user_id.clone(),
                at: now,
            })
        }
        C::ExtendDeadline { months, reason } => {
            extension::extend(r, months, &reason, &actor.user_id, now)
        }
        C::Close { answer } => {
            let Some(answer) = answer else {
                return Err(DomainError::invalid(
                    "a data subject's request is closed with the answer given to the subject",
                ));
            };
            sealed_here(&answer, &r.id, "the answer")?;
            Ok(SubjectRequestEvent::SubjectRequestClosed {
                answer,
                by: actor.user_id.clone(),
                at: now,
            })
        }
        C::Record { .. } | C::RecordDeadlineApproaching | C::RecordOverdue => {
            unreachable!("handled above")
        }
    }
}

fn reminder(
    r: &SubjectRequestSummary,
    command: SubjectRequestCommand,
    now: DateTime<Utc>,
) -> Result<SubjectRequestEvent, DomainError> {
    if !r.open() {
        return Err(DomainError::refused(
            "the data subject's request is already closed",
        ));
    }
    let today = now.date_naive();
    match command {
        SubjectRequestCommand::RecordDeadlineApproaching => {
            if r.reminded {
                return Err(DomainError::refused("the reminder was already recorded"));
            }
            if today < r.due_on - Duration::days(REMINDER_DAYS_BEFORE_DUE) {
                return Err(DomainError::refused("the deadline is not close yet"));
            }
            Ok(SubjectRequestEvent::SubjectRequestDeadlineNeared {
                authority_id: r.authority_id.clone(),
                recorded_by: r.recorded_by.clone(),
                due_on: r.due_on,
                at: now,
            })
        }
        SubjectRequestCommand::RecordOverdue => {
            if r.overdue {
                return Err(DomainError::refused("the overdue was already recorded"));
            }
            if today <= r.due_on {
                return Err(DomainError::refused("the deadline has not passed"));
            }
            Ok(SubjectRequestEvent::SubjectRequestDeadlineMissed {
                authority_id: r.authority_id.clone(),
                recorded_by: r.recorded_by.clone(),
                due_on: r.due_on,
                at: now,
            })
        }
        _ => Err(DomainError::forbidden("this command is issued by a user")),
    }
}

/// A rectification's corrections: for a rectification only, at least one, each field once,
/// each value sealed under the exchange's key (it replaces a value of the exchange).
fn checked_corrections(
    r: &SubjectRequestSummary,
    corrections: &[Correction],
) -> Result<(), DomainError> {
    if r.kind != SubjectRequestKind::Rectification {
        return Err(DomainError::invalid(
            "only a rectification is carried out with corrected values",
        ));
    }
    if corrections.is_empty() {
        return Err(DomainError::invalid(
            "a rectification is carried out with the corrected values",
        ));
    }
    let mut fields = std::collections::BTreeSet::new();
    for c in corrections {
        if !fields.insert(&c.field) {
            return Err(DomainError::invalid("a field is corrected once"));
        }
        if crate::sealed::key_generation(&c.value.key_id, &r.exchange).is_none() {
            return Err(DomainError::invalid(
                "a corrected value must be sealed under the exchange's key",
            ));
        }
    }
    Ok(())
}

/// An erasure of one person among several: for an erasure of an information request only,
/// from one of the exchange's keys to a later one, every value sealed under the later one.
fn checked_erasure(r: &SubjectRequestSummary, e: &PartialErasure) -> Result<(), DomainError> {
    if r.kind != SubjectRequestKind::Erasure || !r.exchange.starts_with("InformationRequest/") {
        return Err(DomainError::invalid(
            "only an erasure about an information request erases one person among several",
        ));
    }
    let from = crate::sealed::key_generation(&e.from_key, &r.exchange);
    let to = crate::sealed::key_generation(&e.key_id, &r.exchange);
    if !matches!((from, to), (Some(from), Some(to)) if to > from) {
        return Err(DomainError::invalid(
            "the other persons' values are re-sealed under the exchange's next key",
        ));
    }
    let sealed_there = e.values.iter().all(|v| {
        let sealed = match v {
            crate::request::ResealedValue::Person { identity, .. } => identity,
            crate::request::ResealedValue::FreeText { text } => text,
            crate::request::ResealedValue::Answer { answer, .. } => answer,
        };
        sealed.key_id == e.key_id
    });
    if !sealed_there {
        return Err(DomainError::invalid(
            "a re-sealed value must be sealed under the exchange's next key",
        ));
    }
    Ok(())
}

/// A personal value of the request must be sealed under the request's own key.
fn sealed_here(sealed: &Sealed, id: &str, what: &str) -> Result<(), DomainError> {
    if sealed.key_id != subject_request_key_id(id) {
        return Err(DomainError::invalid(format!(
            "{what} must be sealed under the data subject's request's own key"
        )));
    }
    Ok(())
}

async fn actor_context<S: SubjectRequestServices>(
    by: &Actor,
    services: &S,
) -> Result<ActorContext, DomainError> {
    let Actor::User {
        user_id,
        authority_id,
    } = by
    else {
        return Err(DomainError::forbidden("this command is issued by a user"));
    };
    let authority = services
        .authority(authority_id)
        .await
        .map_err(|_| {
            DomainError::refused("the authority directory is temporarily unavailable; try again")
        })?
        .ok_or_else(|| DomainError::forbidden(crate::access::NOT_REGISTERED))?;
    Ok(ActorContext::new(user_id, authority))
}

fn apply(state: &mut Option<SubjectRequestSummary>, event: SubjectRequestEvent) {
    use SubjectRequestEvent as E;
    if let E::SubjectRequestRecorded {
        id,
        kind,
        authority_id,
        exchange,
        subject,
        recorded_by,
        due_on,
        at,
    } = event
    {
        *state = Some(SubjectRequestSummary {
            id,
            kind,
            authority_id,
            exchange: exchange.exchange,
            area: exchange.area,
            subject,
            recorded_by,
            recorded_at: at,
            due_on,
            status: SubjectRequestStatus::Open,
            carried_out_at: None,
            answer: None,
            closed_at: None,
            reminded: false,
            extended: false,
            overdue: false,
            corrections: Vec::new(),
            erasure: None,
        });
        return;
    }
    let Some(r) = state else { return };
    match event {
        E::SubjectRequestRecorded { .. } => {}
        E::SubjectRequestCarriedOut { at, .. } => {
            r.status = SubjectRequestStatus::CarriedOut;
            r.carried_out_at = Some(at);
        }
        E::SubjectRectificationCarriedOut {
            corrections, at, ..
        } => {
            r.status = SubjectRequestStatus::CarriedOut;
            r.carried_out_at = Some(at);
            r.corrections = corrections;
        }
        E::SubjectErasureCarriedOut { erasure, at, .. } => {
            r.status = SubjectRequestStatus::CarriedOut;
            r.carried_out_at = Some(at);
            r.erasure = Some(erasure);
        }
        // A new deadline: its reminder and overdue are still to come.
        E::SubjectRequestDeadlineExtended { due_on, .. } => {
            r.due_on = due_on;
            r.extended = true;
            r.reminded = false;
            r.overdue = false;
        }
        E::SubjectRequestClosed { answer, at, .. } => {
            r.status = SubjectRequestStatus::Closed;
            r.answer = Some(answer);
            r.closed_at = Some(at);
        }
        E::SubjectRequestDeadlineNeared { .. } => r.reminded = true,
        E::SubjectRequestDeadlineMissed { .. } => r.overdue = true,
    }
}
