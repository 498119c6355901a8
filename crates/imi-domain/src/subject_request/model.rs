//! What a data subject's request is about and where it stands.

use crate::authority::LegislativeArea;
use crate::sealed::Sealed;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Days within which a data subject's request is answered (Art. 12(3) of Regulation (EU)
/// 2016/679, as Art. 19 of Regulation 1024/2012 refers to it: one month, kept as 30 days).
pub const ANSWER_DAYS: i64 = 30;
/// The reminder comes this many days before the deadline.
pub const REMINDER_DAYS_BEFORE_DUE: i64 = 7;

/// The data key of a data subject's request: its own, not the exchange's, so that the record
/// of having answered outlives an erased exchange.
pub fn subject_request_key_id(id: &str) -> String {
    format!("SubjectRequest/{id}")
}

/// What the data subject asks for (Arts. 15 to 18 of Regulation (EU) 2016/679).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SubjectRequestKind {
    /// A copy of their data.
    Access,
    /// Their identification corrected.
    Rectification,
    /// Their data erased.
    Erasure,
    /// Their data blocked (restriction of processing).
    Blocking,
}

impl SubjectRequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "Access",
            Self::Rectification => "Rectification",
            Self::Erasure => "Erasure",
            Self::Blocking => "Blocking",
        }
    }
}

/// The exchange a request is about, as the application found it when the request was
/// recorded: participants only ever grow, so a later look finds at least these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeFacts {
    /// `InformationRequest/<id>` or `Alert/<id>`: also its data key.
    pub exchange: String,
    pub area: LegislativeArea,
    /// The authorities that took part in it (that hold its data).
    pub participants: BTreeSet<String>,
}

/// A personal-data field of an exchange that a rectification corrects.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CorrectedField {
    /// The subject's identification.
    Subject,
    /// The free text of the request.
    FreeText,
    /// The answer to one question.
    Answer { question: String },
}

/// One corrected value: the field and its new value, sealed under the exchange's key (the
/// exchange's erasure erases it with the rest).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    pub field: CorrectedField,
    pub value: Sealed,
}

/// An erasure of one person among several persons of an information request: everything the
/// request's side needs, recorded on the data subject's request first (the values sealed
/// under the exchange's next key, erased with the exchange).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartialErasure {
    /// The person erased.
    pub person: crate::request::PersonOfRequest,
    /// The key holding the erased person's data, erased once the others' are re-sealed.
    pub from_key: String,
    /// The exchange's next key, the others' values re-sealed under it.
    pub key_id: String,
    pub values: Vec<crate::request::ResealedValue>,
}

/// Where a data subject's request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubjectRequestStatus {
    Open,
    CarriedOut,
    Closed,
}

/// A data subject's request as the views and the aggregate see it; the subject's
/// identification and the answer stay sealed under [`subject_request_key_id`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubjectRequestSummary {
    pub id: String,
    pub kind: SubjectRequestKind,
    /// The authority that holds the data and answers.
    pub authority_id: String,
    pub exchange: String,
    pub area: LegislativeArea,
    pub subject: Sealed,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    pub due_on: NaiveDate,
    pub status: SubjectRequestStatus,
    pub carried_out_at: Option<DateTime<Utc>>,
    pub answer: Option<Sealed>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The deadline for which the reminder was recorded.
    pub reminded: bool,
    /// The deadline was extended (once at most).
    #[serde(default)]
    pub extended: bool,
    pub overdue: bool,
    /// A rectification's corrected values (sealed under the exchange's key), kept so that the
    /// exchange's side of carrying it out can be completed after an interruption.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<Correction>,
    /// An erasure of one person among several, kept likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erasure: Option<PartialErasure>,
}

impl SubjectRequestSummary {
    pub fn open(&self) -> bool {
        self.status != SubjectRequestStatus::Closed
    }
}

/// How long after a request is carried out the scheduler completes the exchange's side if
/// the application was interrupted between the two writes (it normally follows at once).
pub const COMPLETION_GRACE_MINUTES: i64 = 10;

/// The command of the scheduler's rule that completes the exchange's side of a carried-out
/// request (see `imi_app::subject_requests`).
pub const COMPLETE_ON_EXCHANGE: &str = "CompleteOnExchange";

/// The day by which a request recorded at `recorded_at` is answered.
pub fn due_on(recorded_at: DateTime<Utc>) -> NaiveDate {
    recorded_at.date_naive() + Duration::days(ANSWER_DAYS)
}
