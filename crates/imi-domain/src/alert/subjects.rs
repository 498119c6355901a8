//! A data subject's request carried out on the alert it is about: the person's identity or
//! the description rectified (re-sealed, one new event per field: earlier events never
//! change), the personal data blocked at once, or erased. The SubjectRequest aggregate
//! decided who may; the alert only refuses what its own state makes impossible.

use super::{checked_sealed, AlertCommand, AlertEvent, AlertState, AlertSummary};
use crate::error::DomainError;
use crate::subject_request::{CorrectedField, Correction};
use chrono::{DateTime, Utc};

impl AlertState {
    pub(super) fn for_data_subject(
        &self,
        alert: &AlertSummary,
        command: AlertCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        use AlertCommand as C;
        if alert.personal_data_deleted_at.is_some() {
            return Err(DomainError::refused(
                "the personal data of this alert are already erased",
            ));
        }
        match command {
            C::RectifyForSubject {
                subject_request,
                corrections,
            } => Self::rectify(alert, subject_request, corrections, now),
            C::BlockPersonalDataForSubject { subject_request } => {
                if alert.personal_data_blocked_at.is_some() {
                    return Err(DomainError::refused(
                        "the personal data are already blocked",
                    ));
                }
                Ok(vec![AlertEvent::PersonalDataBlockedForSubject {
                    subject_request,
                    at: now,
                }])
            }
            C::RecordPersonalDataErasedForSubject { subject_request } => {
                Ok(vec![AlertEvent::PersonalDataErasedForSubject {
                    subject_request,
                    at: now,
                }])
            }
            _ => Err(DomainError::invalid("not a data subject's request")),
        }
    }

    /// One event per corrected field: the person (the subject) and the description (the
    /// free text); an alert has no answers.
    fn rectify(
        alert: &AlertSummary,
        subject_request: String,
        corrections: Vec<Correction>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        if corrections.is_empty() {
            return Err(DomainError::invalid(
                "a rectification is carried out with the corrected values",
            ));
        }
        let mut events = Vec::with_capacity(corrections.len());
        for Correction { field, value } in corrections {
            let subject_request = subject_request.clone();
            events.push(match field {
                CorrectedField::Subject => {
                    checked_sealed("the corrected person", &value, &alert.alert_id)?;
                    AlertEvent::PersonRectified {
                        subject_request,
                        person: value,
                        at: now,
                    }
                }
                CorrectedField::FreeText => {
                    checked_sealed("the corrected description", &value, &alert.alert_id)?;
                    AlertEvent::DescriptionRectified {
                        subject_request,
                        text: value,
                        at: now,
                    }
                }
                CorrectedField::Answer { .. } => {
                    return Err(DomainError::invalid("an alert has no answers to rectify"))
                }
            });
        }
        Ok(events)
    }
}
