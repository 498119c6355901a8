use super::model::{AlertContent, InformationKind};
use crate::authority::LegislativeArea;
use crate::reference::MemberState;
use crate::sealed::Sealed;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Commands the Alert aggregate handles, each sent to the aggregate of the alert it concerns
/// (for a draft: the new alert's id). Issued by a user ([`crate::actor::Actor::User`]) unless
/// said otherwise; sealed values are sealed under [`super::alert_key_id`] of this alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AlertCommand {
    // --- Initiation ---------------------------------------------------------------------
    /// An alert handler of an alert authority (or coordinator) drafts an alert in `area`;
    /// the acting authority becomes the initiating authority.
    DraftAlert {
        /// The id of the aggregate this command is sent to.
        alert_id: String,
        area: LegislativeArea,
        content: AlertContent,
    },
    /// The initiating authority replaces the content of its draft (or of an alert sent back).
    AmendDraft { content: AlertContent },
    /// The initiating authority submits the alert to an alert coordinator it is linked to
    /// (an alert coordinator may submit to itself).
    SubmitAlert { coordinator_id: String },
    /// An alert disseminator of that coordinator returns the alert to the initiating
    /// authority instead of broadcasting it.
    SendBackAlert { reason: Sealed },
    /// An alert disseminator of that coordinator broadcasts the alert to the postboxes of
    /// `member_states`; the postbox of the initiating Member State receives it too.
    BroadcastAlert {
        member_states: BTreeSet<MemberState>,
    },
    /// The same disseminators add recipient Member States later.
    ExtendBroadcast {
        member_states: BTreeSet<MemberState>,
    },

    // --- Reception ----------------------------------------------------------------------
    /// A recipient Member State's incoming alert postbox acknowledges receipt.
    AcknowledgeReceipt,
    /// An incoming alert postbox or alert coordinator with access to the alert disseminates
    /// it to alert coordinators and alert authorities of its own Member State.
    AddRecipients { authorities: BTreeSet<String> },

    // --- Additional information ----------------------------------------------------------
    /// An involved authority adds information (or asks for more), submitting it to an alert
    /// coordinator it is linked to (a coordinator may submit to itself).
    SubmitAdditionalInformation {
        information_id: String,
        kind: InformationKind,
        coordinator_id: String,
        text: Sealed,
        #[serde(default)]
        attachments: Vec<Sealed>,
    },
    /// An alert disseminator of that coordinator broadcasts it.
    BroadcastAdditionalInformation { information_id: String },

    // --- Closure ------------------------------------------------------------------------
    /// An involved authority of the Member State responsible for closure proposes it and
    /// picks the closing coordinator; the comment period starts.
    ProposeClosure {
        closing_coordinator_id: String,
        reason: Sealed,
    },
    /// An involved authority of the Member State responsible comments, during the comment
    /// period.
    CommentOnClosure { comment: Sealed },
    /// The closing coordinator broadcasts the proposal once the comment period is over; the
    /// objection period starts.
    BroadcastClosureProposal,
    /// The closing coordinator drops the proposal (after the comments or the objections);
    /// the alert stays open.
    RejectClosureProposal { reason: Sealed },
    /// A recipient Member State's coordinator objects, during the objection period.
    ObjectToClosure { objection: Sealed },
    /// The closing coordinator closes the alert once the objection period is over.
    CloseAlert,

    // --- Withdrawal ---------------------------------------------------------------------
    /// The initiating authority (or the coordinator, on its behalf) withdraws an unfounded
    /// alert, at once.
    WithdrawAlert { reason: Sealed },

    // --- Time facts (issued by the system, idempotent for a scheduler) ------------------
    /// The comment period of the closure proposal has ended.
    EndCommentPeriod,
    /// The objection period of the broadcast closure proposal has ended.
    EndObjectionPeriod,
    /// A PQ alert's 3 days from the decision have passed.
    PassThreeDayDeadline,
    /// The area's blocking delay for alerts passed since closure (or withdrawal): the
    /// personal data are blocked.
    BlockPersonalData,
    /// The area's deletion delay for alerts passed since closure (or withdrawal): the
    /// personal data are deleted (the scheduler then erases the alert's data key).
    RecordPersonalDataDeleted,

    // --- A data subject's request carried out (the application, for a data administrator
    // whose request the SubjectRequest aggregate accepted) --------------------------------
    /// Replaces personal values (the provider's or professional's identity, the description)
    /// with corrected ones sealed under the alert's key: one event per corrected field.
    RectifyForSubject {
        subject_request: String,
        corrections: Vec<crate::subject_request::Correction>,
    },
    /// Blocks the personal data at once, whatever the retention delays.
    BlockPersonalDataForSubject { subject_request: String },
    /// Records that the personal data are erased (the application erases the data key first).
    RecordPersonalDataErasedForSubject { subject_request: String },
}

impl AlertCommand {
    /// The command's name, for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::DraftAlert { .. } => "DraftAlert",
            Self::AmendDraft { .. } => "AmendDraft",
            Self::SubmitAlert { .. } => "SubmitAlert",
            Self::SendBackAlert { .. } => "SendBackAlert",
            Self::BroadcastAlert { .. } => "BroadcastAlert",
            Self::ExtendBroadcast { .. } => "ExtendBroadcast",
            Self::AcknowledgeReceipt => "AcknowledgeReceipt",
            Self::AddRecipients { .. } => "AddRecipients",
            Self::SubmitAdditionalInformation { .. } => "SubmitAdditionalInformation",
            Self::BroadcastAdditionalInformation { .. } => "BroadcastAdditionalInformation",
            Self::ProposeClosure { .. } => "ProposeClosure",
            Self::CommentOnClosure { .. } => "CommentOnClosure",
            Self::BroadcastClosureProposal => "BroadcastClosureProposal",
            Self::RejectClosureProposal { .. } => "RejectClosureProposal",
            Self::ObjectToClosure { .. } => "ObjectToClosure",
            Self::CloseAlert => "CloseAlert",
            Self::WithdrawAlert { .. } => "WithdrawAlert",
            Self::EndCommentPeriod => "EndCommentPeriod",
            Self::EndObjectionPeriod => "EndObjectionPeriod",
            Self::PassThreeDayDeadline => "PassThreeDayDeadline",
            Self::BlockPersonalData => "BlockPersonalData",
            Self::RecordPersonalDataDeleted => "RecordPersonalDataDeleted",
            Self::RectifyForSubject { .. } => "RectifyForSubject",
            Self::BlockPersonalDataForSubject { .. } => "BlockPersonalDataForSubject",
            Self::RecordPersonalDataErasedForSubject { .. } => "RecordPersonalDataErasedForSubject",
        }
    }

    /// The facts of time only the system records.
    pub fn is_time_fact(&self) -> bool {
        matches!(
            self,
            Self::EndCommentPeriod
                | Self::EndObjectionPeriod
                | Self::PassThreeDayDeadline
                | Self::BlockPersonalData
                | Self::RecordPersonalDataDeleted
        )
    }

    /// Carries out a data subject's request (the system's, for its data administrator).
    pub fn for_data_subject(&self) -> bool {
        matches!(
            self,
            Self::RectifyForSubject { .. }
                | Self::BlockPersonalDataForSubject { .. }
                | Self::RecordPersonalDataErasedForSubject { .. }
        )
    }
}
