//! What each view level shows of a request, declared once: one rule per field of the views and
//! one per kind of history step. The application layer shapes every view, list and history
//! from these tables; the policy ([`super::view_level`]) says which level a reader has.
//!
//! Steps have an audience besides a level: what one side does among itself (drafting, its
//! coordinator's approval or send-back, a reply awaiting approval, its allocators' assignments)
//! stays with that side. The requesting side is the requesting authority, its request
//! coordinator and its watchers; the responding side the responding authority (and those it
//! forwarded from), its coordinator and its watchers.

use super::model::RequestSummary;
use super::policy::RequestViewLevel;
use crate::access::ActorContext;

/// A field of a request's views.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestField {
    /// Id, area, question set, status.
    Identity,
    /// The authorities involved and their coordinators.
    Parties,
    /// Dates and deadlines.
    Dates,
    /// Whether personal data are blocked.
    Blocking,
    /// The selected questions, their texts and which are answered.
    Questions,
    /// Attachments' digest, size and media type.
    AttachmentFacts,
    /// The handlers assigned on each side.
    Handlers,
    /// Whether a reply awaits its coordinator's approval.
    ReplyAwaitingApproval,
    /// The requester's rating of the reply.
    Rating,
    /// The coordinators' decisions and opinions given in a referral (not their text).
    ReferralDecisions,
    /// The history's steps and their reasons (which explain the procedure, no personal data).
    Steps,
    /// The subject (personal data).
    Subject,
    /// The free text (may hold personal data).
    FreeText,
    /// The answers (may hold personal data).
    Answers,
    /// Attachments' file names and bytes.
    AttachmentNamesAndContent,
    /// Justifications, opinions and comments in the history.
    StepTexts,
}

/// The lowest level that reads each field.
pub const FIELD_RULES: [(RequestField, RequestViewLevel); 16] = {
    use RequestField as F;
    use RequestViewLevel as L;
    [
        (F::Identity, L::Monitoring),
        (F::Parties, L::Monitoring),
        (F::Dates, L::Monitoring),
        (F::Blocking, L::Monitoring),
        (F::Questions, L::Full),
        (F::AttachmentFacts, L::Full),
        (F::Handlers, L::Full),
        (F::ReplyAwaitingApproval, L::Full),
        (F::Rating, L::Full),
        (F::ReferralDecisions, L::Full),
        (F::Steps, L::Full),
        (F::Subject, L::FullWithPersonalData),
        (F::FreeText, L::FullWithPersonalData),
        (F::Answers, L::FullWithPersonalData),
        (F::AttachmentNamesAndContent, L::FullWithPersonalData),
        (F::StepTexts, L::FullWithPersonalData),
    ]
};

impl RequestField {
    /// The lowest level that reads this field.
    pub fn level(self) -> RequestViewLevel {
        FIELD_RULES
            .iter()
            .find(|(field, _)| *field == self)
            .map(|(_, level)| *level)
            // Unreachable while the table lists every field (a test checks it); the safe
            // answer otherwise is the highest level.
            .unwrap_or(RequestViewLevel::FullWithPersonalData)
    }

    /// Whether a reader at `level` reads this field.
    pub fn shown_at(self, level: RequestViewLevel) -> bool {
        level >= self.level()
    }
}

/// Who reads a kind of step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Every reader of the history.
    Everyone,
    /// Only the side of the authority that recorded it.
    ActingSide,
}

/// The audience of each kind of step (by event type). A step of a kind not listed here is
/// shown to the acting side only.
pub const STEP_RULES: [(&str, Audience); 38] = {
    use Audience::*;
    [
        ("RequestDrafted", ActingSide),
        ("DraftUpdated", ActingSide),
        ("RequestSubmittedForApproval", ActingSide),
        ("RequestApproved", ActingSide),
        ("RequestSentBack", ActingSide),
        ("RequestSent", Everyone),
        ("RequestAccepted", Everyone),
        ("AnswerDateProposed", Everyone),
        ("AnswerDateAgreed", Everyone),
        ("RequestForwarded", Everyone),
        ("RequestAssigned", ActingSide),
        ("ReplySubmittedForApproval", ActingSide),
        ("ReplyApproved", ActingSide),
        ("ReplySentBack", ActingSide),
        ("PartialReplySent", Everyone),
        ("FullReplySent", Everyone),
        ("AdditionalInformationRequested", Everyone),
        ("ReplyMaintained", Everyone),
        ("ReferralOpened", Everyone),
        ("ReferralParticipationDecided", Everyone),
        ("ReferralOpinionGiven", Everyone),
        ("ReferralConcluded", Everyone),
        ("RequestClosed", Everyone),
        ("RequestWithdrawn", Everyone),
        ("ReplyRated", Everyone),
        ("AcceptanceOverdue", Everyone),
        ("DueDateApproaching", Everyone),
        ("AnswerOverdue", Everyone),
        ("InactivityRaised", Everyone),
        ("PersonalDataBlocked", Everyone),
        ("PersonalDataDeleted", Everyone),
        ("SubjectRectified", Everyone),
        ("FreeTextRectified", Everyone),
        ("AnswerRectified", Everyone),
        ("PersonalDataBlockedForSubject", Everyone),
        ("PersonalDataErasedForSubject", Everyone),
        ("PersonConcernedNamed", ActingSide),
        ("PersonalDataResealed", Everyone),
    ]
};

/// The audience of a kind of step.
pub fn step_audience(event_type: &str) -> Audience {
    STEP_RULES
        .iter()
        .find(|(kind, _)| *kind == event_type)
        .map(|(_, audience)| *audience)
        .unwrap_or(Audience::ActingSide)
}

/// A side of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Requesting,
    Responding,
}

/// The side `authority_id` is on, if any.
pub fn side_of(summary: &RequestSummary, authority_id: &str) -> Option<Side> {
    let requesting = &summary.requesting;
    if requesting.authority_id == authority_id
        || summary.requesting_coordinator == authority_id
        || requesting.linked_coordinators.contains(authority_id)
        || requesting.linked_authorities.contains(authority_id)
    {
        return Some(Side::Requesting);
    }
    if !summary.dispatched() {
        return None;
    }
    let responding = &summary.responding;
    let on_responding = responding.authority_id == authority_id
        || summary.responding_coordinator.as_deref() == Some(authority_id)
        || summary.forwarded_from.contains(authority_id)
        || responding.linked_coordinators.contains(authority_id)
        || responding.linked_authorities.contains(authority_id);
    on_responding.then_some(Side::Responding)
}

/// Whether `reader` (at `level`) reads a step of kind `event_type` recorded by
/// `by_authority` (`None`: the system).
pub fn shows_step(
    reader: &ActorContext,
    summary: &RequestSummary,
    level: RequestViewLevel,
    event_type: &str,
    by_authority: Option<&str>,
) -> bool {
    if !RequestField::Steps.shown_at(level) {
        return false;
    }
    match (step_audience(event_type), by_authority) {
        (Audience::Everyone, _) => true,
        (Audience::ActingSide, Some(by)) => {
            let own = side_of(summary, reader.authority_id());
            own.is_some() && own == side_of(summary, by)
        }
        // A system step of a side's own kind: the requesting side, which owns the request.
        (Audience::ActingSide, None) => {
            side_of(summary, reader.authority_id()) == Some(Side::Requesting)
        }
    }
}
