//! A data subject's request carried out on the request it is about: the subject's
//! identification rectified (re-sealed, as a new event: earlier events never change), the
//! personal data blocked at once, or erased. The SubjectRequest aggregate decided who may; the
//! request only refuses what its own state makes impossible.

use super::*;

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
            C::RectifySubject {
                subject_request,
                subject,
            } => {
                checked_sealed("the corrected subject", &subject, &self.id)?;
                RequestEvent::SubjectRectified {
                    subject_request,
                    subject,
                    at: now,
                }
            }
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
}
