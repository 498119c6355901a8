//! Partial and full replies, their approval by the responding coordinator, additional
//! information, and the referral to both request coordinators.

use super::*;
use crate::authority::Flag;

impl Request {
    pub(super) fn reply(
        &self,
        actor: &ActorContext,
        full: bool,
        answers: Answers,
        attachments: Vec<Attachment>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        use RequestStatus as S;
        self.require_not_ended()?;
        match self.status {
            S::Accepted | S::PartiallyAnswered | S::AdditionalInformationRequested => {}
            S::Sent => {
                return Err(DomainError::refused(
                    "the request is accepted before it is answered",
                ))
            }
            _ => {
                return Err(DomainError::refused(
                    "the full reply was sent: the responding authority replies again only \
                     when additional information is asked",
                ))
            }
        }
        if self.pending_reply.is_some() {
            return Err(DomainError::refused(
                "a reply awaits the coordinator's approval",
            ));
        }
        if answers.is_empty() {
            return Err(DomainError::invalid(
                "a reply answers at least one question",
            ));
        }
        if let Some(q) = answers.keys().find(|q| !self.draft.questions.contains(*q)) {
            return Err(DomainError::invalid(format!(
                "{q} is not a question of this request"
            )));
        }
        for answer in answers.values() {
            checked_sealed("an answer", answer, &self.id)?;
        }
        checked_attachments(&attachments, &self.id)?;
        let unanswered = self.unanswered_after(&answers);
        if !full && unanswered.is_empty() {
            return Err(DomainError::refused(
                "this reply answers every question: send it as the full reply",
            ));
        }
        if full && !unanswered.is_empty() {
            return Err(DomainError::refused(format!(
                "a full reply answers every question; unanswered: {}",
                unanswered.join(", ")
            )));
        }
        if flag_on(actor, &self.area, Flag::ApprovalOfResponses) {
            return Ok(vec![RequestEvent::ReplySubmittedForApproval {
                full,
                answers,
                attachments,
                coordinator: self.responding_coordinator.clone().unwrap_or_default(),
                at: now,
            }]);
        }
        Ok(vec![sent_reply(full, answers, attachments, now)])
    }

    pub(super) fn approve_reply(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        let Some(pending) = &self.pending_reply else {
            return Err(DomainError::refused("no reply awaits approval"));
        };
        Ok(vec![
            RequestEvent::ReplyApproved {
                coordinator: self.responding_coordinator.clone().unwrap_or_default(),
                at: now,
            },
            sent_reply(
                pending.full,
                pending.answers.clone(),
                pending.attachments.clone(),
                now,
            ),
        ])
    }

    pub(super) fn send_back_reply(
        &self,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if self.pending_reply.is_none() {
            return Err(DomainError::refused("no reply awaits approval"));
        }
        let reason = checked_reason("the reason for sending the reply back", reason)?;
        Ok(vec![RequestEvent::ReplySentBack { reason, at: now }])
    }

    pub(super) fn request_additional_information(
        &self,
        justification: Sealed,
        questions: BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if self.status != RequestStatus::Answered {
            return Err(DomainError::refused(
                "additional information is asked once the full reply is in",
            ));
        }
        checked_sealed("the justification", &justification, &self.id)?;
        if let Some(q) = questions
            .iter()
            .find(|q| !self.draft.questions.contains(*q))
        {
            return Err(DomainError::invalid(format!(
                "{q} is not a question of this request: a request for additional information \
                 asks no new questions"
            )));
        }
        Ok(vec![RequestEvent::AdditionalInformationRequested {
            justification,
            questions,
            at: now,
        }])
    }

    pub(super) fn maintain_reply(
        &self,
        comment: Option<Sealed>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if self.status != RequestStatus::AdditionalInformationRequested {
            return Err(DomainError::refused(
                "a reply is maintained only when additional information was asked",
            ));
        }
        if self.pending_reply.is_some() {
            return Err(DomainError::refused(
                "a reply awaits the coordinator's approval",
            ));
        }
        if let Some(comment) = &comment {
            checked_sealed("the comment", comment, &self.id)?;
        }
        Ok(vec![RequestEvent::ReplyMaintained { comment, at: now }])
    }

    pub(super) fn open_referral(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if self.referral.is_some() {
            return Err(DomainError::refused(
                "a referral was already opened for this request",
            ));
        }
        if self.status != RequestStatus::Answered || !self.reply_maintained {
            return Err(DomainError::refused(
                "a referral is opened when the responding authority insists on its reply",
            ));
        }
        Ok(vec![RequestEvent::ReferralOpened {
            requesting_coordinator: self.draft.request_coordinator.clone(),
            responding_coordinator: self.responding_coordinator.clone().unwrap_or_default(),
            at: now,
        }])
    }

    fn referral_in_progress(&self) -> Result<&ReferralSummary, DomainError> {
        self.require_not_ended()?;
        match &self.referral {
            Some(r) if self.status == RequestStatus::InReferral => Ok(r),
            _ => Err(DomainError::refused("no referral is in progress")),
        }
    }

    /// `ReferralConcluded` when, after `referral`, both coordinators decided and every one
    /// taking part gave its opinion.
    fn concluded_if_done(
        &self,
        referral: &ReferralSummary,
        now: DateTime<Utc>,
    ) -> Option<RequestEvent> {
        let summary = self.summary();
        let done = summary.referral_coordinators().into_iter().all(|c| {
            match referral.participation.get(c) {
                Some(true) => referral.opinions.contains(c),
                Some(false) => true,
                None => false,
            }
        });
        done.then_some(RequestEvent::ReferralConcluded { at: now })
    }

    pub(super) fn decide_referral_participation(
        &self,
        actor: &ActorContext,
        participates: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        let referral = self.referral_in_progress()?;
        let coordinator = actor.authority_id().to_string();
        if referral.participation.contains_key(&coordinator) {
            return Err(DomainError::refused(
                "the coordinator already decided whether it takes part",
            ));
        }
        let mut after = referral.clone();
        after
            .participation
            .insert(coordinator.clone(), participates);
        let mut events = vec![RequestEvent::ReferralParticipationDecided {
            coordinator,
            participates,
            at: now,
        }];
        events.extend(self.concluded_if_done(&after, now));
        Ok(events)
    }

    pub(super) fn give_referral_opinion(
        &self,
        actor: &ActorContext,
        opinion: Sealed,
        satisfactory: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        let referral = self.referral_in_progress()?;
        let coordinator = actor.authority_id().to_string();
        if referral.participation.get(&coordinator) != Some(&true) {
            return Err(DomainError::refused(
                "the coordinator gives an opinion only once it decided to take part",
            ));
        }
        if referral.opinions.contains(&coordinator) {
            return Err(DomainError::refused(
                "the coordinator already gave its opinion",
            ));
        }
        checked_sealed("the opinion", &opinion, &self.id)?;
        let mut after = referral.clone();
        after.opinions.insert(coordinator.clone());
        let mut events = vec![RequestEvent::ReferralOpinionGiven {
            coordinator,
            opinion,
            satisfactory,
            at: now,
        }];
        events.extend(self.concluded_if_done(&after, now));
        Ok(events)
    }
}

fn sent_reply(
    full: bool,
    answers: Answers,
    attachments: Vec<Attachment>,
    at: DateTime<Utc>,
) -> RequestEvent {
    if full {
        RequestEvent::FullReplySent {
            answers,
            attachments,
            at,
        }
    } else {
        RequestEvent::PartialReplySent {
            answers,
            attachments,
            at,
        }
    }
}
