//! The retention facts of an alert (Regulation 1024/2012, Art. 14): its personal data are
//! blocked, then deleted, the area's delays after the alert ended (closure or withdrawal).
//! Each is recorded once and refused before it is due, so the scheduler may repeat itself.

use super::{AlertCommand, AlertEvent, AlertState, AlertSummary};
use crate::error::DomainError;
use crate::retention::RetentionDelays;
use chrono::{DateTime, Utc};

impl AlertState {
    pub(super) fn retention_fact(
        alert: &AlertSummary,
        now: DateTime<Utc>,
        delays: RetentionDelays,
        fact: AlertCommand,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        let Some(ended) = alert.ended_at else {
            return Err(DomainError::refused(
                "personal data are blocked and deleted only after the alert is closed or \
                 withdrawn",
            ));
        };
        match fact {
            AlertCommand::BlockPersonalData => {
                if alert.personal_data_blocked_at.is_some() {
                    return Err(DomainError::refused(
                        "the personal data are already blocked",
                    ));
                }
                if now < delays.blocking_due(ended) {
                    return Err(DomainError::refused(format!(
                        "{} months have not passed since the alert ended",
                        delays.blocking_months
                    )));
                }
                Ok(vec![AlertEvent::PersonalDataBlocked { at: now }])
            }
            AlertCommand::RecordPersonalDataDeleted => {
                if alert.personal_data_deleted_at.is_some() {
                    return Err(DomainError::refused(
                        "the personal data are already deleted",
                    ));
                }
                if alert.personal_data_blocked_at.is_none() {
                    return Err(DomainError::refused(
                        "personal data are deleted only once they are blocked",
                    ));
                }
                if now < delays.deletion_due(ended) {
                    return Err(DomainError::refused(format!(
                        "{} months have not passed since the alert ended",
                        delays.deletion_months
                    )));
                }
                Ok(vec![AlertEvent::PersonalDataDeleted { at: now }])
            }
            _ => Err(DomainError::invalid("not a retention fact")),
        }
    }
}
