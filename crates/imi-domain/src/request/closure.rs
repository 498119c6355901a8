//! The end of a request: formal closure once every question is answered, withdrawal, and the
//! rating of the reply.

use super::*;

impl Request {
    pub(super) fn close(&self, now: DateTime<Utc>) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if self.dates.sent_at.is_none() {
            return Err(DomainError::refused("the request was not sent"));
        }
        let unanswered = self.unanswered_after(&Answers::new());
        if !unanswered.is_empty() {
            return Err(DomainError::refused(format!(
                "the request is closed only when every question is answered; unanswered: {}",
                unanswered.join(", ")
            )));
        }
        Ok(vec![RequestEvent::RequestClosed { at: now }])
    }

    pub(super) fn withdraw(
        &self,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        let reason = checked_reason("the reason for withdrawing", reason)?;
        Ok(vec![RequestEvent::RequestWithdrawn { reason, at: now }])
    }

    pub(super) fn rate(
        &self,
        rating: ReplyRating,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        for (what, answer) in [("timeliness", rating.timeliness), ("effort", rating.effort)] {
            if !RATING_RANGE.contains(&answer) {
                return Err(DomainError::invalid(format!(
                    "a rating of {what} is from {} to {}",
                    RATING_RANGE.start(),
                    RATING_RANGE.end()
                )));
            }
        }
        if self.dates.fully_answered_at.is_none() {
            return Err(DomainError::refused("only a full reply is rated"));
        }
        if self.rating.is_some() {
            return Err(DomainError::refused("the reply was already rated"));
        }
        Ok(vec![RequestEvent::ReplyRated {
            timeliness: rating.timeliness,
            effort: rating.effort,
            at: now,
        }])
    }
}
