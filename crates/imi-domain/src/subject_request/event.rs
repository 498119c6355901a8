use super::model::{Correction, ExchangeFacts, PartialErasure, SubjectRequestKind};
use crate::sealed::Sealed;
use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

/// What happened to a data subject's request. Events are forever: add variants, never change
/// one's shape without an upcaster and a new version. The subject's identification and the
/// answer are personal data: sealed under the request's own key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SubjectRequestEvent {
    SubjectRequestRecorded {
        id: String,
        kind: SubjectRequestKind,
        authority_id: String,
        exchange: ExchangeFacts,
        subject: Sealed,
        recorded_by: String,
        due_on: NaiveDate,
        at: DateTime<Utc>,
    },
    SubjectRequestCarriedOut {
        by: String,
        at: DateTime<Utc>,
    },
    /// A rectification was carried out: the corrected values, sealed under the exchange's
    /// key, that the exchange records as its own events.
    SubjectRectificationCarriedOut {
        corrections: Vec<Correction>,
        by: String,
        at: DateTime<Utc>,
    },
    /// An erasure of one person among several was carried out: the others' values,
    /// re-sealed, that the request records as its own event.
    SubjectErasureCarriedOut {
        erasure: PartialErasure,
        by: String,
        at: DateTime<Utc>,
    },
    /// The deadline was extended from `previous_due_on` to `due_on` (Art. 12(3) of
    /// Regulation (EU) 2016/679).
    SubjectRequestDeadlineExtended {
        previous_due_on: NaiveDate,
        due_on: NaiveDate,
        months: u32,
        reason: String,
        by: String,
        at: DateTime<Utc>,
    },
    SubjectRequestClosed {
        answer: Sealed,
        by: String,
        at: DateTime<Utc>,
    },
    /// The deadline is near: `recorded_by` of `authority_id` is reminded.
    SubjectRequestDeadlineNeared {
        authority_id: String,
        recorded_by: String,
        due_on: NaiveDate,
        at: DateTime<Utc>,
    },
    /// The deadline passed without an answer.
    SubjectRequestDeadlineMissed {
        authority_id: String,
        recorded_by: String,
        due_on: NaiveDate,
        at: DateTime<Utc>,
    },
}

impl SubjectRequestEvent {
    pub fn at(&self) -> DateTime<Utc> {
        use SubjectRequestEvent::*;
        match self {
            SubjectRequestRecorded { at, .. }
            | SubjectRequestCarriedOut { at, .. }
            | SubjectRectificationCarriedOut { at, .. }
            | SubjectErasureCarriedOut { at, .. }
            | SubjectRequestDeadlineExtended { at, .. }
            | SubjectRequestClosed { at, .. }
            | SubjectRequestDeadlineNeared { at, .. }
            | SubjectRequestDeadlineMissed { at, .. } => *at,
        }
    }
}

impl DomainEvent for SubjectRequestEvent {
    fn event_type(&self) -> String {
        use SubjectRequestEvent::*;
        match self {
            SubjectRequestRecorded { .. } => "SubjectRequestRecorded",
            SubjectRequestCarriedOut { .. } => "SubjectRequestCarriedOut",
            SubjectRectificationCarriedOut { .. } => "SubjectRectificationCarriedOut",
            SubjectErasureCarriedOut { .. } => "SubjectErasureCarriedOut",
            SubjectRequestDeadlineExtended { .. } => "SubjectRequestDeadlineExtended",
            SubjectRequestClosed { .. } => "SubjectRequestClosed",
            SubjectRequestDeadlineNeared { .. } => "SubjectRequestDeadlineNeared",
            SubjectRequestDeadlineMissed { .. } => "SubjectRequestDeadlineMissed",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
