//! What each view level shows of an alert, declared once: one rule per field of the views and
//! one per kind of history entry, each with the lowest level that reads it and how far it
//! reaches. The application layer shapes every view, list, queue and history from these
//! tables; the policy ([`super::view_level`]) says which level a reader has.
//!
//! The glossary: "Only an alert coordinator can broadcast an alert and make it visible outside
//! the initiating Member State. The same applies to alert-related information like additional
//! information to an alert and closure proposals." So an entry written in one Member State
//! stays there until a coordinator broadcasts it; a coordinator's send-back, comments on a
//! closure proposal and the rejection of a proposal never leave it. A closure proposal in its
//! comment period is not shown outside the Member State responsible for closure, not even as a
//! status.

use super::model::{AlertStatus, AlertSummary};
use super::policy::AlertViewLevel;
use crate::access::ActorContext;
use crate::reference::MemberState;

/// A field of an alert's views.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertField {
    /// Id, kind, area, status, the authorities involved, dates, closure periods.
    Overview,
    /// A PQ alert's profession and the scope of the decision.
    ProfessionAndScope,
    /// The content without personal data (activity, Member State of Establishment, dates of
    /// the decision) and the history's entries without their texts.
    ContentFacts,
    /// The personal data: the service provider or professional, the dangerous activity,
    /// details, attachments' names, the history's texts.
    PersonalData,
}

/// The lowest level that reads each field. Levels are not a line: a PQ alert's routing
/// postbox reads profession and scope but no content; after closure the content facts show
/// without personal data.
pub const FIELD_RULES: [(AlertField, &[AlertViewLevel]); 4] = {
    use AlertField as F;
    use AlertViewLevel as L;
    [
        (
            F::Overview,
            &[
                L::HighLevel,
                L::ProfessionAndScope,
                L::ReducedAfterClosure,
                L::FullWithPersonalData,
            ],
        ),
        (
            F::ProfessionAndScope,
            &[
                L::ProfessionAndScope,
                L::ReducedAfterClosure,
                L::FullWithPersonalData,
            ],
        ),
        (
            F::ContentFacts,
            &[L::ReducedAfterClosure, L::FullWithPersonalData],
        ),
        (F::PersonalData, &[L::FullWithPersonalData]),
    ]
};

impl AlertField {
    /// Whether a reader at `level` reads this field.
    pub fn shown_at(self, level: AlertViewLevel) -> bool {
        FIELD_RULES
            .iter()
            .find(|(field, _)| *field == self)
            .is_some_and(|(_, levels)| levels.contains(&level))
    }
}

/// A kind of entry in an alert's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKind {
    SentBack,
    Information,
    InformationRequest,
    ClosureProposal,
    Comment,
    ClosureRejection,
    Objection,
    Withdrawal,
}

impl EntryKind {
    pub const ALL: [EntryKind; 8] = [
        Self::SentBack,
        Self::Information,
        Self::InformationRequest,
        Self::ClosureProposal,
        Self::Comment,
        Self::ClosureRejection,
        Self::Objection,
        Self::Withdrawal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SentBack => "SentBack",
            Self::Information => "Information",
            Self::InformationRequest => "InformationRequest",
            Self::ClosureProposal => "ClosureProposal",
            Self::Comment => "Comment",
            Self::ClosureRejection => "ClosureRejection",
            Self::Objection => "Objection",
            Self::Withdrawal => "Withdrawal",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// How far an entry reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Every reader of the history.
    Everywhere,
    /// The Member State of the authority that wrote it, until a coordinator broadcasts it.
    AuthorsMemberStateUntilBroadcast,
    /// The Member State of the authority that wrote it, always.
    AuthorsMemberState,
}

/// The reach of each kind of entry. Texts of every kind are personal data
/// ([`AlertField::PersonalData`]); the entries themselves show from
/// [`AlertField::ContentFacts`].
pub const ENTRY_RULES: [(EntryKind, Reach); 8] = {
    use EntryKind as K;
    use Reach as R;
    [
        (K::SentBack, R::AuthorsMemberState),
        (K::Information, R::AuthorsMemberStateUntilBroadcast),
        (K::InformationRequest, R::AuthorsMemberStateUntilBroadcast),
        (K::ClosureProposal, R::AuthorsMemberStateUntilBroadcast),
        (K::Comment, R::AuthorsMemberState),
        (K::ClosureRejection, R::AuthorsMemberState),
        // Objections are made by coordinators of recipient Member States: broadcast as made.
        (K::Objection, R::Everywhere),
        (K::Withdrawal, R::Everywhere),
    ]
};

impl EntryKind {
    pub fn reach(self) -> Reach {
        ENTRY_RULES
            .iter()
            .find(|(kind, _)| *kind == self)
            .map(|(_, reach)| *reach)
            .unwrap_or(Reach::AuthorsMemberState)
    }
}

/// The Member State of an authority involved in the alert.
fn member_state_of(alert: &AlertSummary, authority_id: &str) -> Option<MemberState> {
    alert.involved().remove(authority_id).map(|(ms, _)| ms)
}

/// Whether `reader` (at `level`) reads an entry of `kind` written by `author`, broadcast or
/// not. An entry of an unknown kind or author shows to its author only.
pub fn shows_entry(
    reader: &ActorContext,
    alert: &AlertSummary,
    level: AlertViewLevel,
    kind: Option<EntryKind>,
    author: &str,
    broadcast: bool,
) -> bool {
    if !AlertField::ContentFacts.shown_at(level) {
        return false;
    }
    if reader.belongs_to(author) {
        return true;
    }
    let Some(kind) = kind else {
        return false;
    };
    let same_member_state =
        member_state_of(alert, author).is_some_and(|ms| ms == reader.authority.member_state);
    match kind.reach() {
        Reach::Everywhere => true,
        Reach::AuthorsMemberStateUntilBroadcast => broadcast || same_member_state,
        Reach::AuthorsMemberState => same_member_state,
    }
}

/// The alert as `reader` may know it: outside the Member State responsible for closure, a
/// closure proposal still in its comment period does not exist (the status shows as
/// broadcast, no closure is shown).
pub fn as_seen_by(reader: &ActorContext, alert: &AlertSummary) -> AlertSummary {
    let mut seen = alert.clone();
    let inside = &reader.authority.member_state == alert.responsible_member_state();
    let unbroadcast_proposal = alert
        .closure
        .as_ref()
        .is_some_and(|c| c.objection_period_ends_at.is_none());
    if !inside && unbroadcast_proposal {
        seen.closure = None;
        if seen.status == AlertStatus::ClosureProposed {
            seen.status = AlertStatus::Broadcast;
        }
    }
    // Information not broadcast yet is known in its own Member State only.
    let own = &reader.authority.member_state;
    seen.pending_information.retain(|_, coordinator| {
        reader.belongs_to(coordinator) || member_state_of(alert, coordinator).as_ref() == Some(own)
    });
    seen
}
