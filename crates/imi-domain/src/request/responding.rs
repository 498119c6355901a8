//! The responding authority takes the request: accepting it, another answer date, forwarding
//! it within its Member State; and allocation to request handlers on either side.

use super::*;
use crate::authority::UserRole;

impl Request {
    pub(super) fn accept(
        &self,
        actor: &ActorContext,
        request_coordinator: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if self.status != RequestStatus::Sent {
            return Err(DomainError::refused("the request was already accepted"));
        }
        let party = Party::of(&actor.authority, &self.area);
        let responding_coordinator = chosen_coordinator(&party, &self.area, request_coordinator)?;
        Ok(vec![RequestEvent::RequestAccepted {
            responding_coordinator,
            agreed_answer_date: self.dates.proposed_answer_date,
            at: now,
        }])
    }

    pub(super) fn propose_answer_date(
        &self,
        date: NaiveDate,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        use RequestStatus as S;
        self.require_not_ended()?;
        if !matches!(
            self.status,
            S::Sent | S::Accepted | S::PartiallyAnswered | S::AdditionalInformationRequested
        ) {
            return Err(DomainError::refused(
                "another answer date is proposed only while a reply is due",
            ));
        }
        if date <= now.date_naive() {
            return Err(DomainError::invalid(
                "the proposed answer date must be after today",
            ));
        }
        let current = self
            .dates
            .agreed_answer_date
            .unwrap_or(self.dates.proposed_answer_date);
        if date == current {
            return Err(DomainError::refused("that is already the answer date"));
        }
        let reason = checked_reason("the reason for another answer date", reason)?;
        Ok(vec![RequestEvent::AnswerDateProposed {
            date,
            reason,
            at: now,
        }])
    }

    pub(super) fn agree_answer_date(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        let Some(date) = self.dates.counter_proposed_answer_date else {
            return Err(DomainError::refused("no other answer date was proposed"));
        };
        Ok(vec![RequestEvent::AnswerDateAgreed { date, at: now }])
    }

    pub(super) async fn forward(
        &self,
        s: &dyn RequestServices,
        to: String,
        reason: &str,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if self.status != RequestStatus::Sent {
            return Err(DomainError::refused(
                "only a request not accepted yet is forwarded",
            ));
        }
        let from = &self.draft.responding;
        if to == from.authority_id {
            return Err(DomainError::invalid(
                "the request is already with that authority",
            ));
        }
        let candidate = s.authority(&to).await.map_err(unavailable)?;
        let candidate = respondent(candidate, &to, &self.area)?;
        if candidate.member_state != from.member_state {
            return Err(DomainError::refused(
                "a request is forwarded only to an authority of the responding authority's \
                 Member State",
            ));
        }
        let reason = checked_reason("the reason for forwarding", reason)?;
        Ok(vec![RequestEvent::RequestForwarded {
            from: from.authority_id.clone(),
            to: Party::of(&candidate, &self.area),
            reason,
            at: s.now(),
        }])
    }

    pub(super) fn assign(
        &self,
        actor: &ActorContext,
        handlers: BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if handlers.is_empty() {
            return Err(DomainError::invalid("assign at least one request handler"));
        }
        for h in &handlers {
            let handler = actor
                .authority
                .users
                .get(h)
                .is_some_and(|u| u.active && u.has_role(&self.area, UserRole::RequestHandler));
            if !handler {
                return Err(DomainError::invalid(format!(
                    "{h} is not an active request handler of the authority in {}",
                    self.area
                )));
            }
        }
        let authority_id = actor.authority_id().to_string();
        let current = if authority_id == self.requesting.authority_id {
            &self.requesting_handlers
        } else {
            &self.responding_handlers
        };
        if *current == handlers {
            return Err(DomainError::refused(
                "the request is already assigned to exactly these handlers",
            ));
        }
        Ok(vec![RequestEvent::RequestAssigned {
            authority_id,
            handlers,
            at: now,
        }])
    }
}
