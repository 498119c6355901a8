//! The InformationRequest aggregate: one exchange of information between a requesting
//! authority and a responding authority in another Member State, from the draft to its
//! closure (or withdrawal), with the coordinators' approval and referral, allocation within
//! each authority, and the time facts a scheduler records.
//!
//! Every command a user issues is checked against the access policy ([`policy`]); the
//! authorities involved, their flags, links and users, and the question sets come through
//! the aggregate's services ([`RequestServices`]). Personal data (the subject, free texts,
//! answers, justifications, opinions, attachments' names) arrive sealed under the request's
//! key ([`request_key_id`]) and are checked to be. Handlers live by step in `drafting`,
//! `responding`, `replies`, `closure` and `timing`.

mod closure;
mod command;
mod drafting;
mod event;
mod model;
mod persons;
pub mod policy;
mod rating;
mod replies;
mod responding;
pub mod services;
mod subjects;
pub mod testing;
#[cfg(test)]
mod tests;
mod timing;
pub mod upcasting;
pub mod visibility;

pub use command::{Answers, RequestCommand, RequestContent};
pub use drafting::ID_TAKEN;
pub use event::{DraftContent, RequestEvent};
pub use model::{
    request_key_id, Attachment, Party, QuestionSetSummary, ReferralSummary, RequestDates,
    RequestStatus, RequestSummary, ACCEPTANCE_DAYS, ALLOWED_MEDIA_TYPES, INACTIVITY_MONTHS,
    MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES, MAX_REASON_CHARS, REMINDER_DAYS_BEFORE_DUE,
};
pub use persons::{PersonOfRequest, ResealedValue, MAX_PERSONS_CONCERNED};
pub use policy::{audit_level, authorize, view_level, RequestAction, RequestViewLevel};
pub use rating::{ReplyRating, NEGATIVE_AT_MOST, RATING_RANGE};
pub use services::{QuestionSets, RequestServices};

use crate::access::ActorContext;
use crate::actor::Actor;
use crate::authority::{AuthoritySummary, LegislativeArea, LookupError, Workflow};
use crate::command::Issued;
use crate::error::DomainError;
use crate::sealed::Sealed;
use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

/// An information request, with the services `S` its commands consult.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct InformationRequest<S = ()> {
    state: RequestState,
    #[serde(skip)]
    services: PhantomData<fn() -> S>,
}

impl<S> Default for InformationRequest<S> {
    fn default() -> Self {
        Self {
            state: RequestState::default(),
            services: PhantomData,
        }
    }
}

impl<S> Clone for InformationRequest<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            services: PhantomData,
        }
    }
}

impl<S> fmt::Debug for InformationRequest<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt(f)
    }
}

impl<S> PartialEq for InformationRequest<S> {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
    }
}

impl<S> InformationRequest<S> {
    /// Who is involved in which role, status, area and dates; `None` before the draft.
    pub fn summary(&self) -> Option<RequestSummary> {
        self.state.request.as_ref().map(Request::summary)
    }

    /// The content (personal data sealed); `None` before the draft.
    pub fn details(&self) -> Option<RequestDetails> {
        self.state.request.as_ref().map(|r| RequestDetails {
            drafted_by: r.drafted_by.clone(),
            draft: r.draft.clone(),
            answers: r.answers.clone(),
            reply_attachments: r.reply_attachments.clone(),
            pending_reply: r.pending_reply.clone(),
            persons_concerned: r.persons_concerned.clone(),
            data_key: r.current_key(),
        })
    }

    /// Applies one recorded event (read models fold the log with it).
    pub fn record(&mut self, event: RequestEvent) {
        self.state.apply(event);
    }

    /// Replays `events` (for tests and tools).
    pub fn from_events(events: impl IntoIterator<Item = RequestEvent>) -> Self {
        let mut request = Self::default();
        for e in events {
            request.state.apply(e);
        }
        request
    }
}

impl<S: RequestServices + 'static> Aggregate for InformationRequest<S> {
    const TYPE: &'static str = "InformationRequest";
    type Command = Issued<RequestCommand>;
    type Event = RequestEvent;
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

    fn apply(&mut self, event: RequestEvent) {
        self.state.apply(event);
    }
}

/// The aggregate's state (also its snapshot): nothing before the draft.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct RequestState {
    request: Option<Request>,
}

/// A reply waiting for the responding coordinator's approval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingReply {
    pub full: bool,
    pub answers: Answers,
    pub attachments: Vec<Attachment>,
}

/// The content of a request as read models keep it: personal data still sealed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestDetails {
    pub drafted_by: String,
    pub draft: DraftContent,
    /// The answers sent so far, by question.
    pub answers: Answers,
    /// The attachments of the replies sent so far.
    pub reply_attachments: Vec<Attachment>,
    pub pending_reply: Option<PendingReply>,
    /// Further persons concerned, by id, each identification sealed.
    #[serde(default)]
    pub persons_concerned: BTreeMap<String, Sealed>,
    /// The data key new values are sealed under: the request's own, or its latest
    /// generation after an erasure of one person among several.
    #[serde(default)]
    pub data_key: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Request {
    id: String,
    area: LegislativeArea,
    requesting: Party,
    drafted_by: String,
    draft: DraftContent,
    status: RequestStatus,
    forwarded_from: BTreeSet<String>,
    responding_coordinator: Option<String>,
    requesting_handlers: BTreeSet<String>,
    responding_handlers: BTreeSet<String>,
    request_approval: bool,
    reply_approval: bool,
    pending_reply: Option<PendingReply>,
    answers: Answers,
    reply_attachments: Vec<Attachment>,
    dates: RequestDates,
    reply_maintained: bool,
    referral: Option<ReferralSummary>,
    rating: Option<ReplyRating>,
    /// When the current responding authority received the request.
    dispatched_at: Option<DateTime<Utc>>,
    acceptance_overdue_recorded: bool,
    reminded_for: Option<NaiveDate>,
    overdue_for: Option<NaiveDate>,
    inactivity_raised_for: Option<DateTime<Utc>>,
    #[serde(default)]
    persons_concerned: BTreeMap<String, Sealed>,
    /// Set once an erasure of one person among several re-sealed the others' values.
    #[serde(default)]
    data_key: Option<String>,
    /// The subject's identification was erased, another person's data remain.
    #[serde(default)]
    subject_erased: bool,
}

/// The refusal when a lookup fails: the client may retry; the cause is the store's to log.
fn unavailable(_: LookupError) -> DomainError {
    DomainError::refused("the authority directory is temporarily unavailable; try again")
}

/// The acting user with their authority, looked up.
async fn actor_context(
    by: &Actor,
    services: &dyn RequestServices,
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
        .map_err(unavailable)?
        .ok_or_else(|| DomainError::forbidden(crate::access::NOT_REGISTERED))?;
    Ok(ActorContext::new(user_id, authority))
}

/// The refusal for a request that does not exist or that the actor may not see.
pub fn unknown_request() -> DomainError {
    DomainError::not_found("no such request")
}

/// A sealed value must be sealed under this request's key (or a later generation of it).
fn checked_sealed(what: &str, sealed: &Sealed, request_id: &str) -> Result<(), DomainError> {
    if crate::sealed::key_generation(&sealed.key_id, &request_key_id(request_id)).is_none() {
        return Err(DomainError::invalid(format!(
            "{what} must be sealed under the request's own key"
        )));
    }
    Ok(())
}

/// A trimmed, non-empty reason of at most [`MAX_REASON_CHARS`] characters.
fn checked_reason(what: &str, reason: &str) -> Result<String, DomainError> {
    if reason.contains('\0') {
        return Err(DomainError::invalid(format!(
            "{what} may not contain the NUL character"
        )));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(DomainError::invalid(format!("{what} is required")));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(DomainError::invalid(format!(
            "{what} is longer than {MAX_REASON_CHARS} characters"
        )));
    }
    Ok(reason.to_string())
}

/// Attachments within the limits, each content-addressed, typed and named under the key.
fn checked_attachments(attachments: &[Attachment], request_id: &str) -> Result<(), DomainError> {
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(DomainError::invalid(format!(
            "at most {MAX_ATTACHMENTS} attachments are accepted at once"
        )));
    }
    let mut seen = BTreeSet::new();
    for a in attachments {
        let hex = a.sha256.len() == 64
            && a.sha256
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        if !hex {
            return Err(DomainError::invalid(
                "an attachment's SHA-256 must be 64 lower-case hexadecimal digits",
            ));
        }
        if a.size == 0 {
            return Err(DomainError::invalid("an attachment must not be empty"));
        }
        if a.size > MAX_ATTACHMENT_BYTES {
            return Err(DomainError::invalid(format!(
                "an attachment is larger than {MAX_ATTACHMENT_BYTES} bytes"
            )));
        }
        if !ALLOWED_MEDIA_TYPES.contains(&a.media_type.as_str()) {
            return Err(DomainError::invalid(format!(
                "attachments of type {:?} are not accepted",
                a.media_type
            )));
        }
        if !seen.insert(&a.sha256) {
            return Err(DomainError::invalid(
                "the same attachment is attached twice",
            ));
        }
        checked_sealed("an attachment's name", &a.name, request_id)?;
    }
    Ok(())
}

/// The request coordinator of `party` for this request: the chosen one, which must be linked
/// to it; the only one when it has one.
fn chosen_coordinator(
    party: &Party,
    area: &LegislativeArea,
    chosen: Option<String>,
) -> Result<String, DomainError> {
    let linked = &party.linked_coordinators;
    match chosen {
        Some(c) if linked.contains(&c) => Ok(c),
        Some(c) => Err(DomainError::invalid(format!(
            "{c} is not a request coordinator linked to the authority in {area}"
        ))),
        None if linked.len() == 1 => Ok(linked.iter().next().cloned().unwrap_or_default()),
        None if linked.is_empty() => Err(DomainError::refused(format!(
            "the authority has no linked request coordinator in {area}"
        ))),
        None => Err(DomainError::invalid(format!(
            "the authority is linked to several request coordinators in {area}: choose one for \
             this request"
        ))),
    }
}

/// Whether the actor's authority has `flag` on for requests in `area`.
fn flag_on(actor: &ActorContext, area: &LegislativeArea, flag: crate::authority::Flag) -> bool {
    actor
        .authority
        .areas
        .get(area)
        .and_then(|a| a.workflows.get(&Workflow::Requests))
        .is_some_and(|w| w.flags.contains(&flag))
}

/// An authority that can respond to a request of `area` for `requesting`: registered,
/// validated, with the request workflow in `area`.
fn respondent(
    candidate: Option<AuthoritySummary>,
    id: &str,
    area: &LegislativeArea,
) -> Result<AuthoritySummary, DomainError> {
    let candidate =
        candidate.ok_or_else(|| DomainError::not_found(format!("no authority {id}")))?;
    if !candidate.validated() {
        return Err(DomainError::refused(format!(
            "the authority {id} is not validated yet"
        )));
    }
    if candidate.role(area, Workflow::Requests).is_none() {
        return Err(DomainError::refused(format!(
            "the authority {id} has no access to the request workflow in {area}"
        )));
    }
    Ok(candidate)
}

impl Request {
    fn summary(&self) -> RequestSummary {
        RequestSummary {
            request_id: self.id.clone(),
            area: self.area.clone(),
            question_set: self.draft.question_set.clone(),
            status: self.status,
            requesting: self.requesting.clone(),
            responding: self.draft.responding.clone(),
            forwarded_from: self.forwarded_from.clone(),
            requesting_coordinator: self.draft.request_coordinator.clone(),
            responding_coordinator: self.responding_coordinator.clone(),
            requesting_handlers: self.requesting_handlers.clone(),
            responding_handlers: self.responding_handlers.clone(),
            request_approval: self.request_approval,
            reply_approval: self.reply_approval,
            reply_awaiting_approval: self.pending_reply.is_some(),
            referral: self.referral.clone(),
            dates: self.dates.clone(),
            rating: self.rating,
        }
    }

    /// The refusal for a request that ended.
    fn require_not_ended(&self) -> Result<(), DomainError> {
        match self.status {
            RequestStatus::Closed => Err(DomainError::refused("the request is closed")),
            RequestStatus::Withdrawn => Err(DomainError::refused("the request was withdrawn")),
            _ => Ok(()),
        }
    }

    /// The selected questions not answered yet, after `more` answers.
    fn unanswered_after(&self, more: &Answers) -> Vec<String> {
        self.draft
            .questions
            .iter()
            .filter(|q| !self.answers.contains_key(*q) && !more.contains_key(*q))
            .cloned()
            .collect()
    }
}

impl RequestState {
    fn existing(&self) -> Result<&Request, DomainError> {
        self.request.as_ref().ok_or_else(unknown_request)
    }

    /// The common steps of a user's command on an existing request: it exists, the actor
    /// may act and may take `action`.
    async fn prelude(
        &self,
        by: &Actor,
        services: &dyn RequestServices,
        action: RequestAction,
    ) -> Result<(&Request, ActorContext), DomainError> {
        let request = self.existing()?;
        let actor = actor_context(by, services).await?;
        let summary = request.summary();
        if let Err(denied) = policy::authorize(&actor, action, &summary) {
            // A request the actor may not see at all is refused exactly as an unknown one:
            // ids cannot be probed.
            if policy::view_level(&actor, &summary).is_none() {
                return Err(unknown_request());
            }
            return Err(denied.into());
        }
        Ok((request, actor))
    }

    async fn decide(
        &self,
        issued: Issued<RequestCommand>,
        services: &dyn RequestServices,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        use RequestCommand as C;
        let Issued { by, command } = issued;
        let s = services;
        let now = s.now();
        if command.issued_by_system() {
            if !matches!(by, Actor::System { .. }) {
                return Err(DomainError::forbidden(if command.for_data_subject() {
                    "only the system carries out a data subject's request, for its data \
                     administrator"
                } else {
                    "only the scheduler records the time facts of a request"
                }));
            }
            let request = self.existing()?;
            if command.for_data_subject() {
                return request.for_data_subject(command, now);
            }
            let retention = match command {
                C::BlockPersonalData | C::RecordPersonalDataDeleted => {
                    s.retention(&request.area)
                        .await
                        .map_err(unavailable)?
                        .requests
                }
                _ => Default::default(),
            };
            return request.time_fact(command, now, retention);
        }
        let Some(action) = RequestAction::of(&command) else {
            return Err(DomainError::forbidden("this command is issued by a user"));
        };
        if let C::Draft {
            request_id,
            area,
            content,
        } = command
        {
            return self.draft(&by, s, request_id, area, content).await;
        }
        let (r, actor) = self.prelude(&by, s, action).await?;
        match command {
            C::Draft { .. } => unreachable!("handled above"),
            C::UpdateDraft { content } => r.update_draft(&actor, s, content).await,
            C::Send => r.send(&actor, s).await,
            C::ApproveRequest => r.approve_request(s).await,
            C::SendBackRequest { reason } => r.send_back_request(&reason, now),
            C::Accept {
                request_coordinator,
            } => r.accept(&actor, request_coordinator, now),
            C::ProposeAnswerDate { date, reason } => r.propose_answer_date(date, &reason, now),
            C::AgreeAnswerDate => r.agree_answer_date(now),
            C::Forward { to, reason } => r.forward(s, to, &reason).await,
            C::Assign { handlers } => r.assign(&actor, handlers, now),
            C::ReplyPartially {
                answers,
                attachments,
            } => r.reply(&actor, false, answers, attachments, now),
            C::Reply {
                answers,
                attachments,
            } => r.reply(&actor, true, answers, attachments, now),
            C::ApproveReply => r.approve_reply(now),
            C::SendBackReply { reason } => r.send_back_reply(&reason, now),
            C::RequestAdditionalInformation {
                justification,
                questions,
            } => r.request_additional_information(justification, questions, now),
            C::MaintainReply { comment } => r.maintain_reply(comment, now),
            C::OpenReferral => r.open_referral(now),
            C::DecideReferralParticipation { participates } => {
                r.decide_referral_participation(&actor, participates, now)
            }
            C::GiveReferralOpinion {
                opinion,
                satisfactory,
            } => r.give_referral_opinion(&actor, opinion, satisfactory, now),
            C::Close => r.close(now),
            C::Withdraw { reason } => r.withdraw(&reason, now),
            C::RateReply { timeliness, effort } => r.rate(ReplyRating { timeliness, effort }, now),
            C::NamePersonConcerned { person, identity } => {
                r.name_person_concerned(person, identity, now)
            }
            C::RecordAcceptanceOverdue
            | C::RecordDueDateApproaching
            | C::RecordAnswerOverdue
            | C::RaiseInactivity
            | C::BlockPersonalData
            | C::RecordPersonalDataDeleted
            | C::Rectify { .. }
            | C::BlockPersonalDataForSubject { .. }
            | C::RecordPersonalDataErasedForSubject { .. }
            | C::Reseal { .. } => {
                unreachable!("system commands are handled above")
            }
        }
    }

    fn apply(&mut self, event: RequestEvent) {
        if let RequestEvent::RequestDrafted {
            request_id,
            area,
            requesting,
            drafted_by,
            draft,
            at,
        } = event
        {
            self.request = Some(Request {
                id: request_id,
                area,
                requesting,
                requesting_handlers: BTreeSet::from([drafted_by.clone()]),
                drafted_by,
                dates: RequestDates {
                    drafted_at: at,
                    sent_at: None,
                    accepted_at: None,
                    proposed_answer_date: draft.proposed_answer_date,
                    counter_proposed_answer_date: None,
                    agreed_answer_date: None,
                    fully_answered_at: None,
                    last_activity_at: at,
                    closed_at: None,
                    withdrawn_at: None,
                    personal_data_blocked_at: None,
                    personal_data_deleted_at: None,
                },
                draft,
                status: RequestStatus::Draft,
                forwarded_from: BTreeSet::new(),
                responding_coordinator: None,
                responding_handlers: BTreeSet::new(),
                request_approval: false,
                reply_approval: false,
                pending_reply: None,
                answers: BTreeMap::new(),
                reply_attachments: vec![],
                reply_maintained: false,
                referral: None,
                rating: None,
                dispatched_at: None,
                acceptance_overdue_recorded: false,
                reminded_for: None,
                overdue_for: None,
                inactivity_raised_for: None,
                persons_concerned: BTreeMap::new(),
                data_key: None,
                subject_erased: false,
            });
            return;
        }
        if let Some(r) = &mut self.request {
            r.apply(event);
        }
    }
}

impl Request {
    fn apply(&mut self, event: RequestEvent) {
        use RequestEvent as E;
        use RequestStatus as S;
        if !event.is_time_fact() {
            self.dates.last_activity_at = event.at();
        }
        match event {
            E::RequestDrafted { .. } => {}
            E::DraftUpdated { draft, .. } => {
                self.dates.proposed_answer_date = draft.proposed_answer_date;
                self.draft = draft;
            }
            E::RequestSubmittedForApproval { .. } => {
                self.status = S::AwaitingApproval;
                self.request_approval = true;
            }
            E::RequestApproved { .. } => {}
            E::RequestSentBack { .. } => self.status = S::Draft,
            E::RequestSent { responding, at } => {
                self.status = S::Sent;
                self.draft.responding = responding;
                self.dates.sent_at = Some(at);
                self.dispatched_at = Some(at);
            }
            E::RequestAccepted {
                responding_coordinator,
                agreed_answer_date,
                at,
            } => {
                self.status = S::Accepted;
                self.responding_coordinator = Some(responding_coordinator);
                self.dates.agreed_answer_date = Some(agreed_answer_date);
                self.dates.accepted_at = Some(at);
                self.dates.counter_proposed_answer_date = None;
            }
            E::AnswerDateProposed { date, .. } => {
                self.dates.counter_proposed_answer_date = Some(date);
            }
            E::AnswerDateAgreed { date, .. } => {
                if self.dates.agreed_answer_date.is_some() {
                    self.dates.agreed_answer_date = Some(date);
                } else {
                    self.dates.proposed_answer_date = date;
                }
                self.dates.counter_proposed_answer_date = None;
            }
            E::RequestForwarded { from, to, at, .. } => {
                self.forwarded_from.insert(from);
                self.draft.responding = to;
                self.responding_handlers.clear();
                self.responding_coordinator = None;
                self.dates.counter_proposed_answer_date = None;
                self.dispatched_at = Some(at);
                self.acceptance_overdue_recorded = false;
            }
            E::RequestAssigned {
                authority_id,
                handlers,
                ..
            } => {
                if authority_id == self.requesting.authority_id {
                    self.requesting_handlers = handlers;
                } else {
                    self.responding_handlers = handlers;
                }
            }
            E::ReplySubmittedForApproval {
                full,
                answers,
                attachments,
                ..
            } => {
                self.reply_approval = true;
                self.pending_reply = Some(PendingReply {
                    full,
                    answers,
                    attachments,
                });
            }
            E::ReplyApproved { .. } => {}
            E::ReplySentBack { .. } => self.pending_reply = None,
            E::PartialReplySent {
                answers,
                attachments,
                ..
            } => {
                self.pending_reply = None;
                self.answers.extend(answers);
                self.reply_attachments.extend(attachments);
                self.status = S::PartiallyAnswered;
            }
            E::FullReplySent {
                answers,
                attachments,
                at,
            } => {
                self.pending_reply = None;
                self.answers.extend(answers);
                self.reply_attachments.extend(attachments);
                self.status = S::Answered;
                self.reply_maintained = false;
                self.dates.fully_answered_at = Some(at);
            }
            E::AdditionalInformationRequested { .. } => {
                self.status = S::AdditionalInformationRequested;
                self.reply_maintained = false;
            }
            E::ReplyMaintained { .. } => {
                self.status = S::Answered;
                self.reply_maintained = true;
            }
            E::ReferralOpened { .. } => {
                self.status = S::InReferral;
                self.referral = Some(ReferralSummary::default());
            }
            E::ReferralParticipationDecided {
                coordinator,
                participates,
                ..
            } => {
                if let Some(referral) = &mut self.referral {
                    referral.participation.insert(coordinator, participates);
                }
            }
            E::ReferralOpinionGiven { coordinator, .. } => {
                if let Some(referral) = &mut self.referral {
                    referral.opinions.insert(coordinator);
                }
            }
            E::ReferralConcluded { .. } => {
                if let Some(referral) = &mut self.referral {
                    referral.concluded = true;
                }
                self.status = S::Answered;
            }
            E::RequestClosed { at } => {
                self.status = S::Closed;
                self.dates.closed_at = Some(at);
            }
            E::RequestWithdrawn { at, .. } => {
                self.status = S::Withdrawn;
                self.dates.withdrawn_at = Some(at);
            }
            E::ReplyRated {
                timeliness, effort, ..
            } => self.rating = Some(ReplyRating { timeliness, effort }),
            E::AcceptanceOverdue { .. } => self.acceptance_overdue_recorded = true,
            E::DueDateApproaching { due_date, .. } => self.reminded_for = Some(due_date),
            E::AnswerOverdue { due_date, .. } => self.overdue_for = Some(due_date),
            E::InactivityRaised { inactive_since, .. } => {
                self.inactivity_raised_for = Some(inactive_since)
            }
            E::PersonalDataBlocked { at } => self.dates.personal_data_blocked_at = Some(at),
            E::PersonalDataDeleted { at } => self.dates.personal_data_deleted_at = Some(at),
            E::SubjectRectified { subject, .. } => self.draft.subject = subject,
            E::FreeTextRectified { free_text, .. } => self.draft.free_text = Some(free_text),
            E::AnswerRectified {
                question, answer, ..
            } => {
                self.answers.insert(question, answer);
            }
            E::PersonalDataBlockedForSubject { at, .. } => {
                self.dates.personal_data_blocked_at = Some(at)
            }
            E::PersonalDataErasedForSubject { at, .. } => {
                self.dates.personal_data_deleted_at = Some(at)
            }
            E::PersonConcernedNamed {
                person, identity, ..
            } => {
                self.persons_concerned.insert(person, identity);
            }
            E::PersonalDataResealed {
                erased,
                key_id,
                values,
                ..
            } => self.resealed(erased, key_id, values),
        }
    }
}
