//! Drafting a request, sending it, and its approval by the request coordinator.

use super::*;
use crate::authority::Flag;

/// The refusal of a request id already in use, whoever's request it is: request ids are
/// global, so a taken id says only that it is taken (clients that want no such signal let the
/// service generate ids).
pub const ID_TAKEN: &str = "the request already exists";

impl RequestState {
    pub(super) async fn draft(
        &self,
        by: &Actor,
        s: &dyn RequestServices,
        request_id: String,
        area: LegislativeArea,
        content: RequestContent,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        let actor = actor_context(by, s).await?;
        if self.request.is_some() {
            return Err(DomainError::refused(ID_TAKEN));
        }
        let request_id = request_id.trim().to_string();
        if request_id.is_empty() {
            return Err(DomainError::invalid("a request needs an id"));
        }
        let workflows = s.workflows_of(&area).await.map_err(unavailable)?;
        match workflows {
            None => {
                return Err(DomainError::not_found(format!(
                    "unknown legislative area {area}"
                )))
            }
            Some(w) if !w.contains(&Workflow::Requests) => {
                return Err(DomainError::invalid(format!(
                    "{area} has no information request workflow"
                )))
            }
            Some(_) => {}
        }
        let requesting = Party::of(&actor.authority, &area);
        let would_be = provisional_summary(&request_id, &area, &requesting, &actor, &content);
        policy::authorize(&actor, RequestAction::Draft, &would_be)?;
        let now = s.now();
        let draft = checked_draft(&request_id, &area, &requesting, content, s, now).await?;
        Ok(vec![RequestEvent::RequestDrafted {
            request_id,
            area,
            requesting,
            drafted_by: actor.user_id.clone(),
            draft,
            at: now,
        }])
    }
}

/// The request as it would be once drafted, for the policy's decision on drafting it.
fn provisional_summary(
    request_id: &str,
    area: &LegislativeArea,
    requesting: &Party,
    actor: &ActorContext,
    content: &RequestContent,
) -> RequestSummary {
    let unknown = DateTime::<Utc>::MIN_UTC;
    RequestSummary {
        request_id: request_id.to_string(),
        area: area.clone(),
        question_set: content.question_set.clone(),
        status: RequestStatus::Draft,
        requesting: requesting.clone(),
        responding: Party {
            authority_id: content.responding_authority.clone(),
            member_state: requesting.member_state.clone(),
            linked_coordinators: BTreeSet::new(),
            linked_authorities: BTreeSet::new(),
        },
        forwarded_from: BTreeSet::new(),
        requesting_coordinator: content.request_coordinator.clone().unwrap_or_default(),
        responding_coordinator: None,
        requesting_handlers: BTreeSet::from([actor.user_id.clone()]),
        responding_handlers: BTreeSet::new(),
        request_approval: false,
        reply_approval: false,
        reply_awaiting_approval: false,
        referral: None,
        dates: RequestDates {
            drafted_at: unknown,
            sent_at: None,
            accepted_at: None,
            proposed_answer_date: content.proposed_answer_date,
            counter_proposed_answer_date: None,
            agreed_answer_date: None,
            fully_answered_at: None,
            last_activity_at: unknown,
            closed_at: None,
            withdrawn_at: None,
            personal_data_blocked_at: None,
            personal_data_deleted_at: None,
        },
        rating: None,
    }
}

/// The responding authority as a party, if it can respond to `requesting` in `area`.
async fn responding_party(
    s: &dyn RequestServices,
    area: &LegislativeArea,
    requesting: &Party,
    id: &str,
) -> Result<Party, DomainError> {
    let candidate = s.authority(id).await.map_err(unavailable)?;
    let candidate = respondent(candidate, id, area)?;
    if candidate.member_state == requesting.member_state {
        return Err(DomainError::refused(
            "the responding authority must be in another Member State",
        ));
    }
    Ok(Party::of(&candidate, area))
}

/// The draft's content, checked: the question set is the area's and holds the questions,
/// personal data are sealed under this request's key, attachments are within the limits, the
/// answer date is ahead, the responding authority can respond, the coordinator is linked.
async fn checked_draft(
    request_id: &str,
    area: &LegislativeArea,
    requesting: &Party,
    content: RequestContent,
    s: &dyn RequestServices,
    now: DateTime<Utc>,
) -> Result<DraftContent, DomainError> {
    let set = s
        .question_set(&content.question_set)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            DomainError::not_found(format!("no question set {}", content.question_set))
        })?;
    if set.area != *area {
        return Err(DomainError::invalid(format!(
            "the question set {} belongs to {}, not {area}",
            set.id, set.area
        )));
    }
    if content.questions.is_empty() {
        return Err(DomainError::invalid(
            "select at least one question of the question set",
        ));
    }
    if let Some(q) = content
        .questions
        .iter()
        .find(|q| !set.questions.contains(*q))
    {
        return Err(DomainError::invalid(format!(
            "{q} is not a question of the question set {}",
            set.id
        )));
    }
    checked_sealed("the subject", &content.subject, request_id)?;
    if let Some(text) = &content.free_text {
        checked_sealed("the free text", text, request_id)?;
    }
    checked_attachments(&content.attachments, request_id)?;
    if content.proposed_answer_date <= now.date_naive() {
        return Err(DomainError::invalid(
            "the proposed answer date must be after today",
        ));
    }
    let responding = responding_party(s, area, requesting, &content.responding_authority).await?;
    let request_coordinator = chosen_coordinator(requesting, area, content.request_coordinator)?;
    Ok(DraftContent {
        question_set: set.id,
        questions: content.questions,
        free_text: content.free_text,
        subject: content.subject,
        attachments: content.attachments,
        proposed_answer_date: content.proposed_answer_date,
        responding,
        request_coordinator,
    })
}

impl Request {
    pub(super) async fn update_draft(
        &self,
        actor: &ActorContext,
        s: &dyn RequestServices,
        content: RequestContent,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if self.status != RequestStatus::Draft {
            return Err(DomainError::refused(
                "only a draft is changed: the request was sent",
            ));
        }
        let requesting = Party::of(&actor.authority, &self.area);
        let now = s.now();
        let draft = checked_draft(&self.id, &self.area, &requesting, content, s, now).await?;
        Ok(vec![RequestEvent::DraftUpdated { draft, at: now }])
    }

    pub(super) async fn send(
        &self,
        actor: &ActorContext,
        s: &dyn RequestServices,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        match self.status {
            RequestStatus::Draft => {}
            RequestStatus::AwaitingApproval => {
                return Err(DomainError::refused(
                    "the request already awaits its coordinator's approval",
                ))
            }
            _ => return Err(DomainError::refused("the request was already sent")),
        }
        let now = s.now();
        if flag_on(actor, &self.area, Flag::ApprovalOfNewRequests) {
            return Ok(vec![RequestEvent::RequestSubmittedForApproval {
                coordinator: self.draft.request_coordinator.clone(),
                at: now,
            }]);
        }
        let responding = responding_party(
            s,
            &self.area,
            &self.requesting,
            &self.draft.responding.authority_id,
        )
        .await?;
        Ok(vec![RequestEvent::RequestSent {
            responding,
            at: now,
        }])
    }

    pub(super) async fn approve_request(
        &self,
        s: &dyn RequestServices,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if self.status != RequestStatus::AwaitingApproval {
            return Err(DomainError::refused("the request does not await approval"));
        }
        let responding = responding_party(
            s,
            &self.area,
            &self.requesting,
            &self.draft.responding.authority_id,
        )
        .await?;
        let now = s.now();
        Ok(vec![
            RequestEvent::RequestApproved {
                coordinator: self.draft.request_coordinator.clone(),
                at: now,
            },
            RequestEvent::RequestSent {
                responding,
                at: now,
            },
        ])
    }

    pub(super) fn send_back_request(
        &self,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if self.status != RequestStatus::AwaitingApproval {
            return Err(DomainError::refused("the request does not await approval"));
        }
        let reason = checked_reason("the reason for sending the request back", reason)?;
        Ok(vec![RequestEvent::RequestSentBack { reason, at: now }])
    }
}
