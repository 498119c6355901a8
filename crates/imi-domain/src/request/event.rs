use super::command::Answers;
use super::model::{Attachment, Party};
use crate::authority::LegislativeArea;
use crate::sealed::Sealed;
use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A draft as recorded: the content with the responding authority resolved to a party and
/// the request coordinator chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DraftContent {
    pub question_set: String,
    pub questions: BTreeSet<String>,
    pub free_text: Option<Sealed>,
    pub subject: Sealed,
    pub attachments: Vec<Attachment>,
    pub proposed_answer_date: NaiveDate,
    pub responding: Party,
    pub request_coordinator: String,
}

/// What happened to an information request. Events are forever: add variants, never change
/// one's shape without an upcaster and a new version. Personal data (the subject, free text,
/// answers, justifications, opinions, attachments' names) are only ever [`Sealed`] under the
/// request's key; attachments' bytes are not in events at all. `at` is the time of the fact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RequestEvent {
    RequestDrafted {
        request_id: String,
        area: LegislativeArea,
        requesting: Party,
        drafted_by: String,
        draft: DraftContent,
        at: DateTime<Utc>,
    },
    DraftUpdated {
        draft: DraftContent,
        at: DateTime<Utc>,
    },
    RequestSubmittedForApproval {
        coordinator: String,
        at: DateTime<Utc>,
    },
    RequestApproved {
        coordinator: String,
        at: DateTime<Utc>,
    },
    RequestSentBack {
        reason: String,
        at: DateTime<Utc>,
    },
    /// Dispatched to the responding authority (as it is now).
    RequestSent {
        responding: Party,
        at: DateTime<Utc>,
    },
    RequestAccepted {
        responding_coordinator: String,
        agreed_answer_date: NaiveDate,
        at: DateTime<Utc>,
    },
    AnswerDateProposed {
        date: NaiveDate,
        reason: String,
        at: DateTime<Utc>,
    },
    AnswerDateAgreed {
        date: NaiveDate,
        at: DateTime<Utc>,
    },
    RequestForwarded {
        from: String,
        to: Party,
        reason: String,
        at: DateTime<Utc>,
    },
    /// The handlers of `authority_id` on this request are now exactly `handlers`.
    RequestAssigned {
        authority_id: String,
        handlers: BTreeSet<String>,
        at: DateTime<Utc>,
    },
    ReplySubmittedForApproval {
        full: bool,
        answers: Answers,
        attachments: Vec<Attachment>,
        coordinator: String,
        at: DateTime<Utc>,
    },
    ReplyApproved {
        coordinator: String,
        at: DateTime<Utc>,
    },
    ReplySentBack {
        reason: String,
        at: DateTime<Utc>,
    },
    PartialReplySent {
        answers: Answers,
        attachments: Vec<Attachment>,
        at: DateTime<Utc>,
    },
    FullReplySent {
        answers: Answers,
        attachments: Vec<Attachment>,
        at: DateTime<Utc>,
    },
    AdditionalInformationRequested {
        justification: Sealed,
        questions: BTreeSet<String>,
        at: DateTime<Utc>,
    },
    ReplyMaintained {
        comment: Option<Sealed>,
        at: DateTime<Utc>,
    },
    ReferralOpened {
        requesting_coordinator: String,
        responding_coordinator: String,
        at: DateTime<Utc>,
    },
    ReferralParticipationDecided {
        coordinator: String,
        participates: bool,
        at: DateTime<Utc>,
    },
    ReferralOpinionGiven {
        coordinator: String,
        opinion: Sealed,
        satisfactory: bool,
        at: DateTime<Utc>,
    },
    /// Both coordinators decided and every participating one gave its opinion.
    ReferralConcluded {
        at: DateTime<Utc>,
    },
    RequestClosed {
        at: DateTime<Utc>,
    },
    RequestWithdrawn {
        reason: String,
        at: DateTime<Utc>,
    },
    /// Version 2: two answers; version 1 held one `rating` (see [`super::upcasting`]).
    ReplyRated {
        timeliness: u8,
        effort: u8,
        at: DateTime<Utc>,
    },
    /// Not accepted within 7 days of `dispatched_at`.
    AcceptanceOverdue {
        dispatched_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    DueDateApproaching {
        due_date: NaiveDate,
        at: DateTime<Utc>,
    },
    AnswerOverdue {
        due_date: NaiveDate,
        at: DateTime<Utc>,
    },
    /// Nothing happened since `inactive_since`; raised to `coordinators`.
    InactivityRaised {
        inactive_since: DateTime<Utc>,
        coordinators: BTreeSet<String>,
        at: DateTime<Utc>,
    },
    PersonalDataBlocked {
        at: DateTime<Utc>,
    },
    /// The deletion delay passed: the request's personal data are deleted (its data key is
    /// erased). The facts of the exchange remain.
    PersonalDataDeleted {
        at: DateTime<Utc>,
    },
    /// A data subject's request (its id) rectified the subject's identification.
    SubjectRectified {
        subject_request: String,
        subject: Sealed,
        at: DateTime<Utc>,
    },
    /// A data subject's request (its id) rectified the request's free text.
    FreeTextRectified {
        subject_request: String,
        free_text: Sealed,
        at: DateTime<Utc>,
    },
    /// A data subject's request (its id) rectified the answer to `question`.
    AnswerRectified {
        subject_request: String,
        question: String,
        answer: Sealed,
        at: DateTime<Utc>,
    },
    /// A data subject's request blocked the personal data before any retention delay.
    PersonalDataBlockedForSubject {
        subject_request: String,
        at: DateTime<Utc>,
    },
    /// A data subject's request erased the personal data (the data key is erased). The facts
    /// of the exchange remain.
    PersonalDataErasedForSubject {
        subject_request: String,
        at: DateTime<Utc>,
    },
    /// A further person concerned was named (their identification sealed).
    PersonConcernedNamed {
        person: String,
        identity: Sealed,
        at: DateTime<Utc>,
    },
    /// A data subject's request erased one person among several: the others' values are
    /// re-sealed under `key_id`, the request's next key; `from_key`, holding the erased
    /// person's data, is erased after this event.
    PersonalDataResealed {
        subject_request: String,
        erased: super::PersonOfRequest,
        from_key: String,
        key_id: String,
        values: Vec<super::ResealedValue>,
        at: DateTime<Utc>,
    },
}

impl RequestEvent {
    /// When the fact happened.
    pub fn at(&self) -> DateTime<Utc> {
        use RequestEvent::*;
        match self {
            RequestDrafted { at, .. }
            | DraftUpdated { at, .. }
            | RequestSubmittedForApproval { at, .. }
            | RequestApproved { at, .. }
            | RequestSentBack { at, .. }
            | RequestSent { at, .. }
            | RequestAccepted { at, .. }
            | AnswerDateProposed { at, .. }
            | AnswerDateAgreed { at, .. }
            | RequestForwarded { at, .. }
            | RequestAssigned { at, .. }
            | ReplySubmittedForApproval { at, .. }
            | ReplyApproved { at, .. }
            | ReplySentBack { at, .. }
            | PartialReplySent { at, .. }
            | FullReplySent { at, .. }
            | AdditionalInformationRequested { at, .. }
            | ReplyMaintained { at, .. }
            | ReferralOpened { at, .. }
            | ReferralParticipationDecided { at, .. }
            | ReferralOpinionGiven { at, .. }
            | ReferralConcluded { at }
            | RequestClosed { at }
            | RequestWithdrawn { at, .. }
            | ReplyRated { at, .. }
            | AcceptanceOverdue { at, .. }
            | DueDateApproaching { at, .. }
            | AnswerOverdue { at, .. }
            | InactivityRaised { at, .. }
            | PersonalDataBlocked { at }
            | PersonalDataDeleted { at }
            | SubjectRectified { at, .. }
            | FreeTextRectified { at, .. }
            | AnswerRectified { at, .. }
            | PersonalDataBlockedForSubject { at, .. }
            | PersonalDataErasedForSubject { at, .. }
            | PersonConcernedNamed { at, .. }
            | PersonalDataResealed { at, .. } => *at,
        }
    }

    /// Facts the system records (the scheduler, a data subject's request carried out); they
    /// are not activity on the request.
    pub fn is_time_fact(&self) -> bool {
        matches!(
            self,
            Self::AcceptanceOverdue { .. }
                | Self::DueDateApproaching { .. }
                | Self::AnswerOverdue { .. }
                | Self::InactivityRaised { .. }
                | Self::PersonalDataBlocked { .. }
                | Self::PersonalDataDeleted { .. }
                | Self::SubjectRectified { .. }
                | Self::FreeTextRectified { .. }
                | Self::AnswerRectified { .. }
                | Self::PersonalDataBlockedForSubject { .. }
                | Self::PersonalDataErasedForSubject { .. }
                | Self::PersonalDataResealed { .. }
        )
    }
}

impl DomainEvent for RequestEvent {
    fn event_type(&self) -> String {
        use RequestEvent::*;
        match self {
            RequestDrafted { .. } => "RequestDrafted",
            DraftUpdated { .. } => "DraftUpdated",
            RequestSubmittedForApproval { .. } => "RequestSubmittedForApproval",
            RequestApproved { .. } => "RequestApproved",
            RequestSentBack { .. } => "RequestSentBack",
            RequestSent { .. } => "RequestSent",
            RequestAccepted { .. } => "RequestAccepted",
            AnswerDateProposed { .. } => "AnswerDateProposed",
            AnswerDateAgreed { .. } => "AnswerDateAgreed",
            RequestForwarded { .. } => "RequestForwarded",
            RequestAssigned { .. } => "RequestAssigned",
            ReplySubmittedForApproval { .. } => "ReplySubmittedForApproval",
            ReplyApproved { .. } => "ReplyApproved",
            ReplySentBack { .. } => "ReplySentBack",
            PartialReplySent { .. } => "PartialReplySent",
            FullReplySent { .. } => "FullReplySent",
            AdditionalInformationRequested { .. } => "AdditionalInformationRequested",
            ReplyMaintained { .. } => "ReplyMaintained",
            ReferralOpened { .. } => "ReferralOpened",
            ReferralParticipationDecided { .. } => "ReferralParticipationDecided",
            ReferralOpinionGiven { .. } => "ReferralOpinionGiven",
            ReferralConcluded { .. } => "ReferralConcluded",
            RequestClosed { .. } => "RequestClosed",
            RequestWithdrawn { .. } => "RequestWithdrawn",
            ReplyRated { .. } => "ReplyRated",
            AcceptanceOverdue { .. } => "AcceptanceOverdue",
            DueDateApproaching { .. } => "DueDateApproaching",
            AnswerOverdue { .. } => "AnswerOverdue",
            InactivityRaised { .. } => "InactivityRaised",
            PersonalDataBlocked { .. } => "PersonalDataBlocked",
            PersonalDataDeleted { .. } => "PersonalDataDeleted",
            SubjectRectified { .. } => "SubjectRectified",
            FreeTextRectified { .. } => "FreeTextRectified",
            AnswerRectified { .. } => "AnswerRectified",
            PersonalDataBlockedForSubject { .. } => "PersonalDataBlockedForSubject",
            PersonalDataErasedForSubject { .. } => "PersonalDataErasedForSubject",
            PersonConcernedNamed { .. } => "PersonConcernedNamed",
            PersonalDataResealed { .. } => "PersonalDataResealed",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        match self {
            Self::ReplyRated { .. } => "2",
            _ => "1",
        }
        .to_string()
    }
}
