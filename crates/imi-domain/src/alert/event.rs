use super::model::{AlertContent, InformationKind};
use crate::authority::LegislativeArea;
use crate::reference::MemberState;
use crate::sealed::Sealed;
use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What happened to an alert. Events are forever: add variants, never change one's shape
/// without an upcaster and a new version. Personal data and free text are only ever
/// [`Sealed`] under the alert's key; authorities are named by id (the acting user is in the
/// event's metadata). Times that rules depend on are recorded, from the injectable clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AlertEvent {
    /// The alert is created by this event.
    AlertDrafted {
        alert_id: String,
        area: LegislativeArea,
        initiating_authority: String,
        initiating_member_state: MemberState,
        content: AlertContent,
        at: DateTime<Utc>,
    },
    DraftAmended {
        content: AlertContent,
    },
    AlertSubmitted {
        coordinator: String,
        at: DateTime<Utc>,
    },
    AlertSentBack {
        coordinator: String,
        reason: Sealed,
    },
    /// Visible from now on to the postboxes of `member_states` (Member State -> postbox)
    /// and to the initiating Member State's postbox.
    AlertBroadcast {
        coordinator: String,
        member_states: BTreeMap<MemberState, String>,
        sending_postbox: Option<String>,
        at: DateTime<Utc>,
    },
    BroadcastExtended {
        member_states: BTreeMap<MemberState, String>,
    },
    ReceiptAcknowledged {
        member_state: MemberState,
        postbox: String,
        at: DateTime<Utc>,
    },
    RecipientsAdded {
        member_state: MemberState,
        added_by: String,
        authorities: BTreeSet<String>,
    },
    AdditionalInformationSubmitted {
        information_id: String,
        kind: InformationKind,
        submitted_by: String,
        coordinator: String,
        text: Sealed,
        attachments: Vec<Sealed>,
    },
    AdditionalInformationBroadcast {
        information_id: String,
        coordinator: String,
    },
    ClosureProposed {
        proposed_by: String,
        closing_coordinator: String,
        responsible_member_state: MemberState,
        reason: Sealed,
        comment_period_ends_at: DateTime<Utc>,
    },
    ClosureCommented {
        commented_by: String,
        comment: Sealed,
    },
    CommentPeriodEnded {
        ended_at: DateTime<Utc>,
    },
    ClosureProposalBroadcast {
        closing_coordinator: String,
        objection_period_ends_at: DateTime<Utc>,
    },
    ClosureProposalRejected {
        closing_coordinator: String,
        reason: Sealed,
    },
    ClosureObjected {
        objected_by: String,
        member_state: MemberState,
        objection: Sealed,
    },
    ObjectionPeriodEnded {
        ended_at: DateTime<Utc>,
    },
    AlertClosed {
        closing_coordinator: String,
        at: DateTime<Utc>,
    },
    AlertWithdrawn {
        withdrawn_by: String,
        reason: Sealed,
        at: DateTime<Utc>,
    },
    /// A PQ alert's 3 days from the decision passed; whether it had been broadcast by then.
    ThreeDayDeadlinePassed {
        deadline: DateTime<Utc>,
        broadcast_in_time: bool,
    },
    /// The blocking delay passed: the personal data only prove that the alert took place.
    PersonalDataBlocked {
        at: DateTime<Utc>,
    },
    /// The deletion delay passed: the personal data are deleted (the data key erased); the
    /// facts of the alert remain.
    PersonalDataDeleted {
        at: DateTime<Utc>,
    },
    /// A data subject's request (its id) rectified the identity of the alert's person (the
    /// service provider or the professional).
    PersonRectified {
        subject_request: String,
        person: Sealed,
        at: DateTime<Utc>,
    },
    /// A data subject's request rectified the alert's description (the dangerous activity,
    /// or a PQ alert's details).
    DescriptionRectified {
        subject_request: String,
        text: Sealed,
        at: DateTime<Utc>,
    },
    /// A data subject's request blocked the personal data before any retention delay.
    PersonalDataBlockedForSubject {
        subject_request: String,
        at: DateTime<Utc>,
    },
    /// A data subject's request erased the personal data (the data key is erased). The facts
    /// of the alert remain.
    PersonalDataErasedForSubject {
        subject_request: String,
        at: DateTime<Utc>,
    },
}

impl DomainEvent for AlertEvent {
    fn event_type(&self) -> String {
        match self {
            Self::AlertDrafted { .. } => "AlertDrafted",
            Self::DraftAmended { .. } => "DraftAmended",
            Self::AlertSubmitted { .. } => "AlertSubmitted",
            Self::AlertSentBack { .. } => "AlertSentBack",
            Self::AlertBroadcast { .. } => "AlertBroadcast",
            Self::BroadcastExtended { .. } => "BroadcastExtended",
            Self::ReceiptAcknowledged { .. } => "ReceiptAcknowledged",
            Self::RecipientsAdded { .. } => "RecipientsAdded",
            Self::AdditionalInformationSubmitted { .. } => "AdditionalInformationSubmitted",
            Self::AdditionalInformationBroadcast { .. } => "AdditionalInformationBroadcast",
            Self::ClosureProposed { .. } => "ClosureProposed",
            Self::ClosureCommented { .. } => "ClosureCommented",
            Self::CommentPeriodEnded { .. } => "CommentPeriodEnded",
            Self::ClosureProposalBroadcast { .. } => "ClosureProposalBroadcast",
            Self::ClosureProposalRejected { .. } => "ClosureProposalRejected",
            Self::ClosureObjected { .. } => "ClosureObjected",
            Self::ObjectionPeriodEnded { .. } => "ObjectionPeriodEnded",
            Self::AlertClosed { .. } => "AlertClosed",
            Self::AlertWithdrawn { .. } => "AlertWithdrawn",
            Self::ThreeDayDeadlinePassed { .. } => "ThreeDayDeadlinePassed",
            Self::PersonalDataBlocked { .. } => "PersonalDataBlocked",
            Self::PersonalDataDeleted { .. } => "PersonalDataDeleted",
            Self::PersonRectified { .. } => "PersonRectified",
            Self::DescriptionRectified { .. } => "DescriptionRectified",
            Self::PersonalDataBlockedForSubject { .. } => "PersonalDataBlockedForSubject",
            Self::PersonalDataErasedForSubject { .. } => "PersonalDataErasedForSubject",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
