//! A data subject's request carried out on the request it is about: personal values
//! rectified (re-sealed, one new event per field: earlier events never change), the
//! personal data blocked at once, or erased. The SubjectRequest aggregate decided who may; the
//! request only refuses what its own state makes impossible.

use super::*;
use crate::subject_request::{CorrectedField, Correction};

impl Request {
    pub(super) fn for_data_subject(
        &self,
        command: RequestCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        use RequestCommand as C;
        if self.dates.personal_data_deleted_at.is_some() {
            return Err(DomainError::refused(
                "the personal data of this request are already erased",
            ));
        }
        let event = match command {
            C::Rectify {
                subject_request,
                corrections,
            } => return self.rectify(subject_request, corrections, now),
            C::BlockPersonalDataForSubject { subject_request } => {
                if self.dates.personal_data_blocked_at.is_some() {
                    return Err(DomainError::refused(
                        "the personal data are already blocked",
                    ));
                }
                RequestEvent::PersonalDataBlockedForSubject {
                    subject_request,
                    at: now,
                }
            }
            C::Reseal {
                subject_request,
                erased,
                from_key,
                key_id,
                values,
            } => return self.reseal(subject_request, erased, from_key, key_id, values, now),
            C::RecordPersonalDataErasedForSubject { subject_request } => {
                RequestEvent::PersonalDataErasedForSubject {
                    subject_request,
                    at: now,
                }
            }
            _ => return Err(DomainError::forbidden("this command is issued by a user")),
        };
        Ok(vec![event])
    }

    /// One event per corrected field; an answer is corrected only where one was given.
    fn rectify(
        &self,
        subject_request: String,
        corrections: Vec<Correction>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
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
                    checked_sealed("the corrected subject", &value, &self.id)?;
                    RequestEvent::SubjectRectified {
                        subject_request,
                        subject: value,
                        at: now,
                    }
                }
                CorrectedField::FreeText => {
                    checked_sealed("the corrected free text", &value, &self.id)?;
                    RequestEvent::FreeTextRectified {
                        subject_request,
                        free_text: value,
                        at: now,
                    }
                }
                CorrectedField::Answer { question } => {
                    checked_sealed("the corrected answer", &value, &self.id)?;
                    if !self.answers.contains_key(&question) {
                        return Err(DomainError::invalid(format!(
                            "question {question} has no answer to rectify"
                        )));
                    }
                    RequestEvent::AnswerRectified {
                        subject_request,
                        question,
                        answer: value,
                        at: now,
                    }
                }
            });
        }
        Ok(events)
    }
}
