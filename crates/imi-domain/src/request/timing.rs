//! The time facts a scheduler records, each once: a missed acceptance, the reminders around
//! the agreed answer date, inactivity raised to the coordinators, and the blocking of
//! personal data after closure. A fact that is not due, or already recorded, is refused, so
//! the scheduler may issue them as often as it likes.

use super::*;
use crate::retention::RetentionDelays;
use chrono::{Duration, Months};

impl Request {
    pub(super) fn time_fact(
        &self,
        command: RequestCommand,
        now: DateTime<Utc>,
        retention: RetentionDelays,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        use RequestCommand as C;
        use RequestStatus as S;
        let today = now.date_naive();
        let due = self
            .dates
            .agreed_answer_date
            .unwrap_or(self.dates.proposed_answer_date);
        let reply_due = matches!(self.status, S::Accepted | S::PartiallyAnswered);
        let event = match command {
            C::RecordAcceptanceOverdue => {
                if self.status != S::Sent {
                    return Err(DomainError::refused(
                        "only a request waiting for acceptance is overdue for it",
                    ));
                }
                if self.acceptance_overdue_recorded {
                    return Err(DomainError::refused(
                        "the missed acceptance was already recorded",
                    ));
                }
                let dispatched_at = self.dispatched_at.unwrap_or(self.dates.drafted_at);
                if now < dispatched_at + Duration::days(ACCEPTANCE_DAYS) {
                    return Err(DomainError::refused(format!(
                        "the {ACCEPTANCE_DAYS} days to accept have not passed yet"
                    )));
                }
                RequestEvent::AcceptanceOverdue {
                    dispatched_at,
                    at: now,
                }
            }
            C::RecordDueDateApproaching => {
                if !reply_due {
                    return Err(DomainError::refused(
                        "reminders concern an accepted request without its full reply",
                    ));
                }
                if self.reminded_for == Some(due) {
                    return Err(DomainError::refused(
                        "the reminder before this answer date was already recorded",
                    ));
                }
                if today < due - Duration::days(REMINDER_DAYS_BEFORE_DUE) {
                    return Err(DomainError::refused(format!(
                        "the answer date is more than {REMINDER_DAYS_BEFORE_DUE} days away"
                    )));
                }
                if today > due {
                    return Err(DomainError::refused("the answer date has passed"));
                }
                RequestEvent::DueDateApproaching {
                    due_date: due,
                    at: now,
                }
            }
            C::RecordAnswerOverdue => {
                if !reply_due {
                    return Err(DomainError::refused(
                        "reminders concern an accepted request without its full reply",
                    ));
                }
                if self.overdue_for == Some(due) {
                    return Err(DomainError::refused(
                        "the missed answer date was already recorded",
                    ));
                }
                if today <= due {
                    return Err(DomainError::refused("the answer date has not passed yet"));
                }
                RequestEvent::AnswerOverdue {
                    due_date: due,
                    at: now,
                }
            }
            C::RaiseInactivity => {
                if !self.status.open() {
                    return Err(DomainError::refused(
                        "only an open request is raised for inactivity",
                    ));
                }
                let since = self.dates.last_activity_at;
                if self.inactivity_raised_for == Some(since) {
                    return Err(DomainError::refused(
                        "the inactivity was already raised; nothing happened since",
                    ));
                }
                if now < since + Months::new(INACTIVITY_MONTHS) {
                    return Err(DomainError::refused(format!(
                        "the request was active in the last {INACTIVITY_MONTHS} months"
                    )));
                }
                RequestEvent::InactivityRaised {
                    inactive_since: since,
                    coordinators: self
                        .summary()
                        .referral_coordinators()
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                    at: now,
                }
            }
            C::BlockPersonalData => {
                let Some(ended) = self.dates.closed_at.or(self.dates.withdrawn_at) else {
                    return Err(DomainError::refused(
                        "personal data are blocked only after the request is closed or \
                         withdrawn",
                    ));
                };
                if self.dates.personal_data_blocked_at.is_some() {
                    return Err(DomainError::refused(
                        "the personal data are already blocked",
                    ));
                }
                let months = retention.blocking_months;
                if now < retention.blocking_due(ended) {
                    return Err(DomainError::refused(format!(
                        "{months} months have not passed since the request ended"
                    )));
                }
                RequestEvent::PersonalDataBlocked { at: now }
            }
            C::RecordPersonalDataDeleted => {
                let Some(ended) = self.dates.closed_at.or(self.dates.withdrawn_at) else {
                    return Err(DomainError::refused(
                        "personal data are deleted only after the request is closed or \
                         withdrawn",
                    ));
                };
                if self.dates.personal_data_deleted_at.is_some() {
                    return Err(DomainError::refused(
                        "the personal data are already deleted",
                    ));
                }
                if self.dates.personal_data_blocked_at.is_none() {
                    return Err(DomainError::refused(
                        "personal data are deleted only once they are blocked",
                    ));
                }
                let months = retention.deletion_months;
                if now < retention.deletion_due(ended) {
                    return Err(DomainError::refused(format!(
                        "{months} months have not passed since the request ended"
                    )));
                }
                RequestEvent::PersonalDataDeleted { at: now }
            }
            _ => return Err(DomainError::forbidden("this command is issued by a user")),
        };
        Ok(vec![event])
    }
}
