use super::model::Attachment;
use crate::authority::LegislativeArea;
use crate::sealed::Sealed;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What a request handler writes in a draft. Personal data (the subject, the free text, the
/// attachments' names) come sealed under [`super::request_key_id`] of this request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestContent {
    /// The question set (of the request's area) the questions come from.
    pub question_set: String,
    /// The selected questions' ids: at least one.
    pub questions: BTreeSet<String>,
    pub free_text: Option<Sealed>,
    /// The person the request is about.
    pub subject: Sealed,
    pub attachments: Vec<Attachment>,
    /// When the requesting authority would like the answer.
    pub proposed_answer_date: NaiveDate,
    /// The authority asked, in another Member State.
    pub responding_authority: String,
    /// The requesting authority's request coordinator for this request; required only when
    /// it is linked to several in the area.
    pub request_coordinator: Option<String>,
}

/// Answers by question id, each sealed under the request's key.
pub type Answers = BTreeMap<String, Sealed>;

/// Commands the InformationRequest aggregate handles, each sent to the aggregate of the
/// request it concerns. Issued by a user ([`crate::actor::Actor::User`]) unless said
/// otherwise; the access policy ([`super::policy`]) says which user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RequestCommand {
    // --- The requesting authority writes and sends ----------------------------------------
    /// A request handler drafts a new request; it is created by this command.
    Draft {
        /// The id of the aggregate this command is sent to.
        request_id: String,
        area: LegislativeArea,
        content: RequestContent,
    },
    /// Rewrites the draft (also after the coordinator sent it back).
    UpdateDraft { content: RequestContent },
    /// Sends the draft: to the request coordinator when the approval flag for new requests
    /// is on, otherwise straight to the responding authority.
    Send,
    /// The request coordinator approves: the request is dispatched.
    ApproveRequest,
    /// The request coordinator sends the request back to its drafters.
    SendBackRequest { reason: String },

    // --- The responding authority takes it ------------------------------------------------
    /// Accepts the request: it will answer all of it. Names its request coordinator for this
    /// request when it is linked to several.
    Accept { request_coordinator: Option<String> },
    /// Proposes another answer date (before or after accepting).
    ProposeAnswerDate { date: NaiveDate, reason: String },
    /// The requesting authority agrees to the proposed answer date.
    AgreeAnswerDate,
    /// Hands the request to a competent authority of the same Member State.
    Forward { to: String, reason: String },
    /// An allocator (re-)assigns the request to request handlers of its own authority.
    Assign { handlers: BTreeSet<String> },

    // --- Replies --------------------------------------------------------------------------
    /// Answers some questions; others remain open.
    ReplyPartially {
        answers: Answers,
        attachments: Vec<Attachment>,
    },
    /// The full reply: after it, every question is answered (earlier answers may be
    /// revised).
    Reply {
        answers: Answers,
        attachments: Vec<Attachment>,
    },
    /// The responding coordinator approves the reply waiting for it: it is sent.
    ApproveReply,
    /// The responding coordinator sends the reply back.
    SendBackReply { reason: String },

    // --- Not satisfied --------------------------------------------------------------------
    /// Asks for clarifications of the reply, with a justification; `questions` are the
    /// request's questions whose answers were insufficient (no new questions).
    RequestAdditionalInformation {
        justification: Sealed,
        questions: BTreeSet<String>,
    },
    /// The responding authority insists on its reply.
    MaintainReply { comment: Option<Sealed> },
    /// The requesting authority involves both request coordinators.
    OpenReferral,
    /// A referral handler says whether its coordinator takes part in the referral.
    DecideReferralParticipation { participates: bool },
    /// A referral handler of a participating coordinator gives its opinion.
    GiveReferralOpinion {
        opinion: Sealed,
        /// Whether it considers the reply satisfactory.
        satisfactory: bool,
    },

    // --- The end --------------------------------------------------------------------------
    /// Formal closure, once every question is answered: the retention clock starts.
    Close,
    /// Withdraws the request at any point before closure.
    Withdraw { reason: String },
    /// Rates the reply, once: its timeliness and the effort made, each 1 to 5.
    RateReply { timeliness: u8, effort: u8 },
    /// Names a further person concerned besides the subject (while a draft), their
    /// identification sealed under the request's key.
    NamePersonConcerned { person: String, identity: Sealed },

    // --- Time facts, issued by the scheduler (Actor::System) --------------------------------
    /// The responding authority did not accept within 7 days of dispatch.
    RecordAcceptanceOverdue,
    /// The agreed answer date is near and the reply is not complete.
    RecordDueDateApproaching,
    /// The agreed answer date passed without the full reply.
    RecordAnswerOverdue,
    /// Nothing happened for 2 months: raised to the request coordinators.
    RaiseInactivity,
    /// The area's blocking delay (6 months by default) after formal closure (or withdrawal):
    /// personal data are blocked.
    BlockPersonalData,
    /// The area's deletion delay (3 years by default) after formal closure: the personal data
    /// are deleted (the scheduler then erases the exchange's data key).
    RecordPersonalDataDeleted,

    // --- A data subject's request carried out (the application, for a data administrator
    // whose request the SubjectRequest aggregate accepted) --------------------------------
    /// Replaces personal values (the subject's identification, the free text, answers) with
    /// corrected ones, sealed under the request's key: one event per corrected field.
    Rectify {
        subject_request: String,
        corrections: Vec<crate::subject_request::Correction>,
    },
    /// Blocks the personal data at once, whatever the retention delays.
    BlockPersonalDataForSubject { subject_request: String },
    /// Records that the personal data are erased (the application then erases the data key).
    RecordPersonalDataErasedForSubject { subject_request: String },
    /// Erases one person among several: the others' values, re-sealed under the request's
    /// next key `key_id`, replace those under `from_key` (the application then erases it).
    Reseal {
        subject_request: String,
        erased: super::PersonOfRequest,
        from_key: String,
        key_id: String,
        values: Vec<super::ResealedValue>,
    },
}

impl RequestCommand {
    /// The command's name (for metrics and logs).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Draft { .. } => "Draft",
            Self::UpdateDraft { .. } => "UpdateDraft",
            Self::Send => "Send",
            Self::ApproveRequest => "ApproveRequest",
            Self::SendBackRequest { .. } => "SendBackRequest",
            Self::Accept { .. } => "Accept",
            Self::ProposeAnswerDate { .. } => "ProposeAnswerDate",
            Self::AgreeAnswerDate => "AgreeAnswerDate",
            Self::Forward { .. } => "Forward",
            Self::Assign { .. } => "Assign",
            Self::ReplyPartially { .. } => "ReplyPartially",
            Self::Reply { .. } => "Reply",
            Self::ApproveReply => "ApproveReply",
            Self::SendBackReply { .. } => "SendBackReply",
            Self::RequestAdditionalInformation { .. } => "RequestAdditionalInformation",
            Self::MaintainReply { .. } => "MaintainReply",
            Self::OpenReferral => "OpenReferral",
            Self::DecideReferralParticipation { .. } => "DecideReferralParticipation",
            Self::GiveReferralOpinion { .. } => "GiveReferralOpinion",
            Self::Close => "Close",
            Self::Withdraw { .. } => "Withdraw",
            Self::RateReply { .. } => "RateReply",
            Self::NamePersonConcerned { .. } => "NamePersonConcerned",
            Self::RecordAcceptanceOverdue => "RecordAcceptanceOverdue",
            Self::RecordDueDateApproaching => "RecordDueDateApproaching",
            Self::RecordAnswerOverdue => "RecordAnswerOverdue",
            Self::RaiseInactivity => "RaiseInactivity",
            Self::BlockPersonalData => "BlockPersonalData",
            Self::RecordPersonalDataDeleted => "RecordPersonalDataDeleted",
            Self::Rectify { .. } => "Rectify",
            Self::BlockPersonalDataForSubject { .. } => "BlockPersonalDataForSubject",
            Self::RecordPersonalDataErasedForSubject { .. } => "RecordPersonalDataErasedForSubject",
            Self::Reseal { .. } => "Reseal",
        }
    }

    /// Time facts are the scheduler's, a data subject's request is carried out by the
    /// application; every other command is a user's.
    pub fn issued_by_system(&self) -> bool {
        matches!(
            self,
            Self::RecordAcceptanceOverdue
                | Self::RecordDueDateApproaching
                | Self::RecordAnswerOverdue
                | Self::RaiseInactivity
                | Self::BlockPersonalData
                | Self::RecordPersonalDataDeleted
        ) || self.for_data_subject()
    }

    /// Carries out a data subject's request.
    pub fn for_data_subject(&self) -> bool {
        matches!(
            self,
            Self::Rectify { .. }
                | Self::BlockPersonalDataForSubject { .. }
                | Self::RecordPersonalDataErasedForSubject { .. }
                | Self::Reseal { .. }
        )
    }
}
