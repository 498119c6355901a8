//! The values an information request is described by: its status, the parties and their
//! links, attachments, question sets as the aggregate sees them, and the read-only
//! [`RequestSummary`] the access policy, the projections and the gateway decide on.

use super::rating::ReplyRating;
use crate::authority::{AuthoritySummary, LegislativeArea, Workflow};
use crate::reference::MemberState;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Largest attachment accepted, in bytes (10 MiB).
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;
/// Most attachments one message (a draft, a reply) may carry.
pub const MAX_ATTACHMENTS: usize = 20;
/// The media types an attachment may have: documents and scans authorities exchange, nothing
/// executable.
pub const ALLOWED_MEDIA_TYPES: [&str; 9] = [
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "text/plain",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
    "application/xml",
];
/// Longest reason (send-back, withdrawal, date proposal, forward) accepted, in characters.
/// Reasons explain the procedure and are kept in clear; the gateway tells users to leave
/// personal data out of them.
pub const MAX_REASON_CHARS: usize = 2000;
/// Days the responding authority has to accept a request (Single Market Scoreboard).
pub const ACCEPTANCE_DAYS: i64 = 7;
/// Days before the agreed answer date when the responding authority is reminded.
pub const REMINDER_DAYS_BEFORE_DUE: i64 = 3;
/// Months without any action after which an open request is raised to the coordinators.
pub const INACTIVITY_MONTHS: u32 = 2;

/// The data key a request's personal data are sealed under.
pub fn request_key_id(request_id: &str) -> String {
    format!("InformationRequest/{request_id}")
}

/// Where a request is in its workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RequestStatus {
    /// Being written by the requesting authority (also after a send-back).
    Draft,
    /// Sent, waiting for the requesting authority's request coordinator to approve it.
    AwaitingApproval,
    /// Dispatched to the responding authority, not accepted yet.
    Sent,
    /// Accepted: the responding authority answers the whole request.
    Accepted,
    /// Some questions answered.
    PartiallyAnswered,
    /// Every question answered (the full reply).
    Answered,
    /// The requesting authority asked for clarifications of the reply.
    AdditionalInformationRequested,
    /// Both request coordinators were asked to referee.
    InReferral,
    /// Formally closed by the requesting authority: the retention clock runs.
    Closed,
    /// Withdrawn by the requesting authority.
    Withdrawn,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 10] = [
        Self::Draft,
        Self::AwaitingApproval,
        Self::Sent,
        Self::Accepted,
        Self::PartiallyAnswered,
        Self::Answered,
        Self::AdditionalInformationRequested,
        Self::InReferral,
        Self::Closed,
        Self::Withdrawn,
    ];

    /// The name stored in read models.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::AwaitingApproval => "AwaitingApproval",
            Self::Sent => "Sent",
            Self::Accepted => "Accepted",
            Self::PartiallyAnswered => "PartiallyAnswered",
            Self::Answered => "Answered",
            Self::AdditionalInformationRequested => "AdditionalInformationRequested",
            Self::InReferral => "InReferral",
            Self::Closed => "Closed",
            Self::Withdrawn => "Withdrawn",
        }
    }

    /// Closed or withdrawn: nothing but rating and the retention facts happen any more.
    pub fn ended(self) -> bool {
        matches!(self, Self::Closed | Self::Withdrawn)
    }

    /// With the responding authority and not ended: the time facts of an open exchange apply.
    /// (Whether a request ever reached the other side is [`RequestSummary::dispatched`]: a
    /// status alone cannot tell, a request withdrawn as a draft never left.)
    pub fn open(self) -> bool {
        !matches!(
            self,
            Self::Draft | Self::AwaitingApproval | Self::Closed | Self::Withdrawn
        )
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One side of a request (requesting or responding authority) with who watches it: its
/// linked request coordinators in the area and the authorities linked to it, as they were
/// when it became involved. They get the monitoring view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub authority_id: String,
    pub member_state: MemberState,
    pub linked_coordinators: BTreeSet<String>,
    pub linked_authorities: BTreeSet<String>,
}

impl Party {
    /// The party `authority` is in `area`'s request workflow.
    pub fn of(authority: &AuthoritySummary, area: &LegislativeArea) -> Self {
        Self {
            authority_id: authority.authority_id.clone(),
            member_state: authority.member_state.clone(),
            linked_coordinators: authority
                .areas
                .get(area)
                .and_then(|a| a.workflows.get(&Workflow::Requests))
                .map(|w| w.linked_coordinators.clone())
                .unwrap_or_default(),
            linked_authorities: authority.linked_authorities.clone(),
        }
    }
}

/// A document attached to a request or a reply. Its bytes are stored outside the events,
/// addressed by their SHA-256; its name may hold personal data and is sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    /// The file name, sealed under the request's key.
    pub name: crate::sealed::Sealed,
}

/// A question set as the aggregate needs it: its area and its questions' stable ids. Texts
/// and translations are reference data the gateway shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionSetSummary {
    pub id: String,
    pub area: LegislativeArea,
    pub questions: BTreeSet<String>,
}

/// The referral of a request: which coordinator decided to take part, which gave its opinion.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralSummary {
    /// Coordinators that decided, with their decision.
    pub participation: std::collections::BTreeMap<String, bool>,
    /// Coordinators that gave their opinion.
    pub opinions: BTreeSet<String>,
    pub concluded: bool,
}

/// The dates of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDates {
    pub drafted_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// The answer date the requesting authority proposes (or agreed to change to).
    pub proposed_answer_date: NaiveDate,
    /// Another answer date the responding authority proposed, not agreed yet.
    pub counter_proposed_answer_date: Option<NaiveDate>,
    /// The answer date in force once the request is accepted.
    pub agreed_answer_date: Option<NaiveDate>,
    pub fully_answered_at: Option<DateTime<Utc>>,
    pub last_activity_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub personal_data_blocked_at: Option<DateTime<Utc>>,
    /// When the personal data were deleted (the data key erased); the facts remain.
    #[serde(default)]
    pub personal_data_deleted_at: Option<DateTime<Utc>>,
}

/// What the access policy, the projections and the gateway know of a request: who is
/// involved in which role, its status, area and dates. No content, no personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSummary {
    pub request_id: String,
    pub area: LegislativeArea,
    pub question_set: String,
    pub status: RequestStatus,
    pub requesting: Party,
    /// The responding authority (the current one, after forwarding).
    pub responding: Party,
    /// Responding authorities that forwarded the request on.
    pub forwarded_from: BTreeSet<String>,
    /// The requesting authority's request coordinator for this request.
    pub requesting_coordinator: String,
    /// The responding authority's request coordinator for this request (chosen on accepting).
    pub responding_coordinator: Option<String>,
    /// The requesting authority's request handlers on this request (the drafter, or whom its
    /// allocators assigned).
    pub requesting_handlers: BTreeSet<String>,
    /// The responding authority's request handlers its allocators assigned.
    pub responding_handlers: BTreeSet<String>,
    /// The requesting coordinator approves (or approved) the request.
    pub request_approval: bool,
    /// The responding coordinator approves (or approved) a reply.
    pub reply_approval: bool,
    /// A reply waits for the responding coordinator's approval.
    pub reply_awaiting_approval: bool,
    pub referral: Option<ReferralSummary>,
    pub dates: RequestDates,
    pub rating: Option<ReplyRating>,
}

impl RequestSummary {
    pub fn personal_data_blocked(&self) -> bool {
        self.dates.personal_data_blocked_at.is_some()
    }

    pub fn personal_data_deleted(&self) -> bool {
        self.dates.personal_data_deleted_at.is_some()
    }

    /// Whether the request ever reached the responding authority. Until then (a draft, awaiting
    /// approval, sent back, withdrawn before sending) it exists for the requesting side only.
    pub fn dispatched(&self) -> bool {
        self.dates.sent_at.is_some()
    }

    /// The answer date in force: the agreed one once accepted, else the proposed one.
    pub fn due_date(&self) -> NaiveDate {
        self.dates
            .agreed_answer_date
            .unwrap_or(self.dates.proposed_answer_date)
    }

    /// The authorities that hold the request's data: the requesting authority and its
    /// coordinator, and once dispatched the responding authority, those that forwarded it and
    /// the responding coordinator (watchers have a monitoring view only).
    pub fn participants(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::from([
            self.requesting.authority_id.clone(),
            self.requesting_coordinator.clone(),
        ]);
        if self.dispatched() {
            out.insert(self.responding.authority_id.clone());
            out.extend(self.forwarded_from.iter().cloned());
            out.extend(self.responding_coordinator.iter().cloned());
        }
        out
    }

    /// The request coordinators a referral involves.
    pub fn referral_coordinators(&self) -> BTreeSet<&str> {
        std::iter::once(self.requesting_coordinator.as_str())
            .chain(self.responding_coordinator.as_deref())
            .collect()
    }
}
