use super::model::{Correction, ExchangeFacts, PartialErasure, SubjectRequestKind};
use crate::sealed::Sealed;
use serde::{Deserialize, Serialize};

/// Commands of the SubjectRequest aggregate. Issued by a data administrator of the authority
/// that holds the data, except the reminders (the scheduler's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SubjectRequestCommand {
    /// Records a data subject's request about `exchange`; it creates the aggregate.
    Record {
        id: String,
        kind: SubjectRequestKind,
        exchange: ExchangeFacts,
        /// Who the subject is (name, how they identified themselves): sealed under the
        /// request's own key.
        subject: Sealed,
    },
    /// The request was carried out on the exchange (the export made, the value rectified,
    /// the data blocked or erased).
    CarryOut,
    /// A rectification was carried out with these corrected values (sealed under the
    /// exchange's key); recorded before the exchange is changed, so that an interrupted
    /// carrying out can be completed from the log.
    Rectify { corrections: Vec<Correction> },
    /// An erasure carried out on one person among several of an information request: the
    /// others' values re-sealed, recorded before the request is changed.
    CarryOutErasure { erasure: PartialErasure },
    /// Extends the deadline by `months` (at most two), once, before it passed, with the
    /// reason the subject is told (in clear: it names no person).
    ExtendDeadline { months: u32, reason: String },
    /// Closes the request with the answer given to the subject (sealed under its own key).
    Close { answer: Option<Sealed> },
    /// The deadline comes within [`super::REMINDER_DAYS_BEFORE_DUE`] days.
    RecordDeadlineApproaching,
    /// The deadline passed without an answer.
    RecordOverdue,
}

impl SubjectRequestCommand {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Record { .. } => "Record",
            Self::CarryOut => "CarryOut",
            Self::Rectify { .. } => "Rectify",
            Self::CarryOutErasure { .. } => "CarryOutErasure",
            Self::ExtendDeadline { .. } => "ExtendDeadline",
            Self::Close { .. } => "Close",
            Self::RecordDeadlineApproaching => "RecordDeadlineApproaching",
            Self::RecordOverdue => "RecordOverdue",
        }
    }

    /// The reminders are the scheduler's.
    pub fn issued_by_system(&self) -> bool {
        matches!(self, Self::RecordDeadlineApproaching | Self::RecordOverdue)
    }
}
