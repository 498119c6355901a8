//! Information requests: a mutation per step of the workflow and the views a caller may read
//! (the monitoring view, the full view without and with personal data, what awaits them, the
//! allocators' report, the question sets in the caller's language). Each resolver maps its
//! arguments to one use case of the application layer ([`imi_app::requests`]), which seals,
//! runs, decides the level and opens personal data; a request the caller may not see at all
//! answers exactly as one that does not exist.

use super::i18n::{pick_or_translate, LocalizedText};
use super::relay::{decode_cursor, encode_cursor, page_size, PageInfo};
use super::translation::{of_text, MachineTranslation};
use super::{app, caller, request};
use crate::errors::ApiError;
use async_graphql::{ComplexObject, Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use imi_app::requests::{self as uc, AttachmentRef, ContentInput, SubjectInput};
use imi_app::translation::TextSource;
use imi_app::{Outcome, Wait};
use imi_domain::reference::Language;
use imi_domain::request::{self as r, RequestCommand, RequestViewLevel};
use imi_projections::request_inbox::InboxKey;
use std::collections::BTreeSet;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Default)]
pub struct RequestsQuery;

#[derive(Default)]
pub struct RequestsMutation;

/// What a request mutation did.
#[derive(SimpleObject)]
pub struct RequestPayload {
    pub request_id: ID,
    /// Feed position of the request's latest event; null when nothing was recorded.
    pub position: Option<String>,
    /// Whether the projections in `waitFor` had applied that position when this answered.
    pub waited: bool,
}

impl RequestPayload {
    fn of(request_id: String, outcome: Outcome) -> Self {
        Self {
            request_id: ID(request_id),
            position: outcome.position.map(|at| at.to_string()),
            waited: outcome.waited,
        }
    }
}

// --- Inputs -------------------------------------------------------------------------------

/// The person a request is about. Personal data: sealed under the request's key.
#[derive(InputObject)]
pub struct RequestSubjectInput {
    pub name: String,
    pub birth_date: Option<String>,
    pub birth_place: Option<String>,
    /// National or professional identifiers.
    pub identifiers: Option<String>,
    pub address: Option<String>,
    /// Professional details (qualification, registration, activity).
    pub professional_details: Option<String>,
}

/// An attachment stored beforehand for this request (`PUT /requests/{id}/attachments`), by
/// its SHA-256. Its size and media type are taken from the stored bytes.
#[derive(InputObject)]
pub struct AttachmentInput {
    pub sha256: String,
    /// Must equal the stored size when given.
    #[graphql(deprecation = "taken from the stored bytes; leave it out")]
    pub size: Option<u64>,
    /// Must equal the stored media type when given.
    #[graphql(deprecation = "taken from the stored bytes; leave it out")]
    pub media_type: Option<String>,
    /// The file name (personal data: sealed).
    pub name: String,
}

/// What a draft holds.
#[derive(InputObject)]
pub struct RequestContentInput {
    pub question_set: String,
    /// At least one question id of the set.
    pub questions: Vec<String>,
    pub free_text: Option<String>,
    pub subject: RequestSubjectInput,
    #[graphql(default)]
    pub attachments: Vec<AttachmentInput>,
    pub proposed_answer_date: NaiveDate,
    pub responding_authority: ID,
    /// Required only when the requesting authority is linked to several request
    /// coordinators in the area.
    pub request_coordinator: Option<ID>,
}

#[derive(InputObject)]
pub struct DraftRequestInput {
    /// The new request's id; generated when absent.
    pub request_id: Option<ID>,
    pub area: String,
    pub content: RequestContentInput,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct UpdateDraftInput {
    pub request_id: ID,
    pub content: RequestContentInput,
    pub wait_for: Option<Vec<String>>,
}

/// A step that needs nothing but the request.
#[derive(InputObject)]
pub struct RequestStepInput {
    pub request_id: ID,
    pub wait_for: Option<Vec<String>>,
}

/// A further person concerned named in a draft: an id of its own within the request
/// (lower-case letters, digits, dashes) and their identification (personal data: sealed).
#[derive(InputObject)]
pub struct NamePersonConcernedInput {
    pub request_id: ID,
    pub person: String,
    pub identity: RequestSubjectInput,
    pub wait_for: Option<Vec<String>>,
}

/// A step with a reason (kept in clear: it explains the procedure; leave personal data out).
#[derive(InputObject)]
pub struct RequestReasonInput {
    pub request_id: ID,
    pub reason: String,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct AcceptRequestInput {
    pub request_id: ID,
    /// Required only when the responding authority is linked to several request
    /// coordinators in the area.
    pub request_coordinator: Option<ID>,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct ProposeAnswerDateInput {
    pub request_id: ID,
    pub date: NaiveDate,
    pub reason: String,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct ForwardRequestInput {
    pub request_id: ID,
    /// A competent authority of the responding authority's Member State.
    pub to: ID,
    pub reason: String,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct AssignRequestInput {
    pub request_id: ID,
    /// Request handlers of the allocator's own authority.
    pub handlers: Vec<ID>,
    pub wait_for: Option<Vec<String>>,
}

/// An answer to one question (personal data: sealed).
#[derive(InputObject)]
pub struct AnswerInput {
    pub question_id: String,
    pub text: String,
}

#[derive(InputObject)]
pub struct ReplyInput {
    pub request_id: ID,
    pub answers: Vec<AnswerInput>,
    #[graphql(default)]
    pub attachments: Vec<AttachmentInput>,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct AdditionalInformationInput {
    pub request_id: ID,
    /// Why the reply is not satisfactory (sealed).
    pub justification: String,
    /// The request's questions whose answers were insufficient: no new questions.
    #[graphql(default)]
    pub questions: Vec<String>,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct MaintainReplyInput {
    pub request_id: ID,
    /// Why the reply stands (sealed).
    pub comment: Option<String>,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct ReferralParticipationInput {
    pub request_id: ID,
    pub participates: bool,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct ReferralOpinionInput {
    pub request_id: ID,
    /// The referral handler's opinion (sealed).
    pub opinion: String,
    /// Whether the reply is considered satisfactory.
    pub satisfactory: bool,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct RateReplyInput {
    pub request_id: ID,
    /// The reply's timeliness: 1 (poor) to 5 (excellent).
    pub timeliness: i32,
    /// The effort the responding authority made: 1 (poor) to 5 (excellent).
    pub effort: i32,
    pub wait_for: Option<Vec<String>>,
}

/// Narrows `informationRequests`; all given filters must hold.
#[derive(InputObject, Default)]
pub struct RequestFilterInput {
    pub status: Option<RequestStatus>,
    pub area: Option<String>,
    /// The requesting or the responding authority's Member State.
    pub member_state: Option<String>,
    /// The requesting or the responding authority.
    pub authority: Option<ID>,
    pub drafted_from: Option<DateTime<Utc>>,
    pub drafted_until: Option<DateTime<Utc>>,
}

// --- Mapping to the use cases ----------------------------------------------------------------

fn wait(requested: Option<Vec<String>>) -> Result<Wait> {
    Ok(Wait::of(requested, &uc::DEFAULT_WAIT)?)
}

fn attachment_refs(list: Vec<AttachmentInput>) -> Vec<AttachmentRef> {
    list.into_iter()
        .map(|a| AttachmentRef {
            sha256: a.sha256,
            name: a.name,
            claimed_size: a.size,
            claimed_media_type: a.media_type,
        })
        .collect()
}

impl From<RequestContentInput> for ContentInput {
    fn from(c: RequestContentInput) -> Self {
        let s = c.subject;
        ContentInput {
            question_set: c.question_set,
            questions: c.questions,
            free_text: c.free_text,
            subject: SubjectInput {
                name: s.name,
                birth_date: s.birth_date,
                birth_place: s.birth_place,
                identifiers: s.identifiers,
                address: s.address,
                professional_details: s.professional_details,
            },
            attachments: attachment_refs(c.attachments),
            proposed_answer_date: c.proposed_answer_date,
            responding_authority: c.responding_authority.0,
            request_coordinator: c.request_coordinator.map(|id| id.0),
        }
    }
}

/// A step without personal data.
async fn step(
    ctx: &Context<'_>,
    request_id: ID,
    wait_for: Option<Vec<String>>,
    command: RequestCommand,
) -> Result<RequestPayload> {
    let outcome = app(ctx)?
        .request_step(&caller(ctx)?, &request_id, command, &wait(wait_for)?)
        .await?;
    Ok(RequestPayload::of(request_id.0, outcome))
}

// --- Mutations -----------------------------------------------------------------------------

#[Object]
impl RequestsMutation {
    /// A request handler drafts a request (its personal data sealed under its own key).
    async fn draft_request(
        &self,
        ctx: &Context<'_>,
        input: DraftRequestInput,
    ) -> Result<RequestPayload> {
        let (id, outcome) = app(ctx)?
            .draft_request(
                &caller(ctx)?,
                input.request_id.as_ref().map(|id| id.as_str()),
                &input.area,
                input.content.into(),
                &wait(input.wait_for)?,
            )
            .await?;
        Ok(RequestPayload::of(id, outcome))
    }

    /// Rewrites a draft (also after its coordinator sent it back).
    async fn update_request_draft(
        &self,
        ctx: &Context<'_>,
        input: UpdateDraftInput,
    ) -> Result<RequestPayload> {
        let outcome = app(ctx)?
            .update_request_draft(
                &caller(ctx)?,
                &input.request_id,
                input.content.into(),
                &wait(input.wait_for)?,
            )
            .await?;
        Ok(RequestPayload::of(input.request_id.0, outcome))
    }

    /// Names a further person concerned in a draft, besides its subject.
    async fn name_person_concerned(
        &self,
        ctx: &Context<'_>,
        input: NamePersonConcernedInput,
    ) -> Result<RequestPayload> {
        let i = input.identity;
        let identity = SubjectInput {
            name: i.name,
            birth_date: i.birth_date,
            birth_place: i.birth_place,
            identifiers: i.identifiers,
            address: i.address,
            professional_details: i.professional_details,
        };
        let outcome = app(ctx)?
            .name_person_concerned(
                &caller(ctx)?,
                &input.request_id,
                &input.person,
                &identity,
                &wait(input.wait_for)?,
            )
            .await?;
        Ok(RequestPayload::of(input.request_id.0, outcome))
    }

    /// Sends the draft (to the request coordinator first when the approval flag is on).
    async fn send_request(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> Result<RequestPayload> {
        step(ctx, input.request_id, input.wait_for, RequestCommand::Send).await
    }

    /// The request coordinator approves a new request: it is dispatched.
    async fn approve_request(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> Result<RequestPayload> {
        step(
            ctx,
            input.request_id,
            input.wait_for,
            RequestCommand::ApproveRequest,
        )
        .await
    }

    /// The request coordinator sends a new request back, with a reason.
    async fn send_back_request(
        &self,
        ctx: &Context<'_>,
        input: RequestReasonInput,
    ) -> Result<RequestPayload> {
        let command = RequestCommand::SendBackRequest {
            reason: input.reason,
        };
        step(ctx, input.request_id, input.wait_for, command).await
    }

    /// The responding authority accepts: it answers the whole request.
    async fn accept_request(
        &self,
        ctx: &Context<'_>,
        input: AcceptRequestInput,
    ) -> Result<RequestPayload> {
        let command = RequestCommand::Accept {
            request_coordinator: input
                .request_coordinator
                .map(|id| imi_app::input::id(&id))
                .transpose()?,
        };
        step(ctx, input.request_id, input.wait_for, command).await
    }

    /// The responding authority proposes another answer date.
    async fn propose_answer_date(
        &self,
        ctx: &Context<'_>,
        input: ProposeAnswerDateInput,
    ) -> Result<RequestPayload> {
        let command = RequestCommand::ProposeAnswerDate {
            date: input.date,
            reason: input.reason,
        };
        step(ctx, input.request_id, input.wait_for, command).await
    }

    /// The requesting authority agrees to the proposed answer date.
    async fn agree_answer_date(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> Result<RequestPayload> {
        step(
            ctx,
            input.request_id,
            input.wait_for,
            RequestCommand::AgreeAnswerDate,
        )
        .await
    }

    /// The responding authority forwards the request within its Member State.
    async fn forward_request(
        &self,
        ctx: &Context<'_>,
        input: ForwardRequestInput,
    ) -> Result<RequestPayload> {
        let command = RequestCommand::Forward {
            to: imi_app::input::id(&input.to)?,
            reason: input.reason,
        };
        step(ctx, input.request_id, input.wait_for, command).await
    }

    /// An allocator (re-)assigns the request to request handlers of its authority.
    async fn assign_request(
        &self,
        ctx: &Context<'_>,
        input: AssignRequestInput,
    ) -> Result<RequestPayload> {
        let handlers = input
            .handlers
            .iter()
            .map(|id| imi_app::input::id(id))
            .collect::<std::result::Result<BTreeSet<_>, _>>()?;
        let command = RequestCommand::Assign { handlers };
        step(ctx, input.request_id, input.wait_for, command).await
    }

    /// Answers some of the questions.
    async fn reply_partially(
        &self,
        ctx: &Context<'_>,
        input: ReplyInput,
    ) -> Result<RequestPayload> {
        reply(ctx, input, false).await
    }

    /// The full reply: afterwards every question is answered.
    async fn reply_to_request(
        &self,
        ctx: &Context<'_>,
        input: ReplyInput,
    ) -> Result<RequestPayload> {
        reply(ctx, input, true).await
    }

    /// The responding coordinator approves the reply waiting for it: it is sent.
    async fn approve_reply(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> Result<RequestPayload> {
        step(
            ctx,
            input.request_id,
            input.wait_for,
            RequestCommand::ApproveReply,
        )
        .await
    }

    /// The responding coordinator sends the reply back to its authority, with a reason.
    async fn send_back_reply(
        &self,
        ctx: &Context<'_>,
        input: RequestReasonInput,
    ) -> Result<RequestPayload> {
        let command = RequestCommand::SendBackReply {
            reason: input.reason,
        };
        step(ctx, input.request_id, input.wait_for, command).await
    }

    /// The requesting authority asks for clarifications (no new questions).
    async fn request_additional_information(
        &self,
        ctx: &Context<'_>,
        input: AdditionalInformationInput,
    ) -> Result<RequestPayload> {
        let outcome = app(ctx)?
            .request_additional_information(
                &caller(ctx)?,
                &input.request_id,
                &input.justification,
                &input.questions,
                &wait(input.wait_for)?,
            )
            .await?;
        Ok(RequestPayload::of(input.request_id.0, outcome))
    }

    /// The responding authority insists on its reply.
    async fn maintain_reply(
        &self,
        ctx: &Context<'_>,
        input: MaintainReplyInput,
    ) -> Result<RequestPayload> {
        let outcome = app(ctx)?
            .maintain_reply(
                &caller(ctx)?,
                &input.request_id,
                input.comment.as_deref(),
                &wait(input.wait_for)?,
            )
            .await?;
        Ok(RequestPayload::of(input.request_id.0, outcome))
    }

    /// The requesting authority involves both request coordinators.
    async fn open_referral(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> Result<RequestPayload> {
        step(
            ctx,
            input.request_id,
            input.wait_for,
            RequestCommand::OpenReferral,
        )
        .await
    }

    /// A referral handler says whether its coordinator takes part in the referral.
    async fn decide_referral_participation(
        &self,
        ctx: &Context<'_>,
        input: ReferralParticipationInput,
    ) -> Result<RequestPayload> {
        let command = RequestCommand::DecideReferralParticipation {
            participates: input.participates,
        };
        step(ctx, input.request_id, input.wait_for, command).await
    }

    /// A referral handler of a participating coordinator gives its opinion.
    async fn give_referral_opinion(
        &self,
        ctx: &Context<'_>,
        input: ReferralOpinionInput,
    ) -> Result<RequestPayload> {
        let outcome = app(ctx)?
            .give_referral_opinion(
                &caller(ctx)?,
                &input.request_id,
                &input.opinion,
                input.satisfactory,
                &wait(input.wait_for)?,
            )
            .await?;
        Ok(RequestPayload::of(input.request_id.0, outcome))
    }

    /// The requesting authority closes the request once every question is answered.
    async fn close_request(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> Result<RequestPayload> {
        step(ctx, input.request_id, input.wait_for, RequestCommand::Close).await
    }

    /// The requesting authority withdraws the request, with a reason.
    async fn withdraw_request(
        &self,
        ctx: &Context<'_>,
        input: RequestReasonInput,
    ) -> Result<RequestPayload> {
        let command = RequestCommand::Withdraw {
            reason: input.reason,
        };
        step(ctx, input.request_id, input.wait_for, command).await
    }

    /// The requesting authority rates the reply: its timeliness and the effort made.
    async fn rate_reply(&self, ctx: &Context<'_>, input: RateReplyInput) -> Result<RequestPayload> {
        let answer = |what: &str, value: i32| {
            u8::try_from(value)
                .map_err(|_| ApiError::bad_input(format!("a rating of {what} is from 1 to 5")))
        };
        let command = RequestCommand::RateReply {
            timeliness: answer("timeliness", input.timeliness)?,
            effort: answer("effort", input.effort)?,
        };
        step(ctx, input.request_id, input.wait_for, command).await
    }
}

async fn reply(ctx: &Context<'_>, input: ReplyInput, full: bool) -> Result<RequestPayload> {
    let answers: Vec<(String, String)> = input
        .answers
        .into_iter()
        .map(|a| (a.question_id, a.text))
        .collect();
    let outcome = app(ctx)?
        .reply_to_request(
            &caller(ctx)?,
            &input.request_id,
            full,
            &answers,
            &attachment_refs(input.attachments),
            &wait(input.wait_for)?,
        )
        .await?;
    Ok(RequestPayload::of(input.request_id.0, outcome))
}

// --- Views ---------------------------------------------------------------------------------

/// Which view of a request the caller reads.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "RequestViewLevel")]
pub enum RequestViewLevelGql {
    /// Authorities involved, area, question set, status, dates: no content.
    Monitoring,
    /// Everything but personal data (the allocators' report is this view).
    Full,
    /// Everything, personal data included.
    FullWithPersonalData,
}

impl From<RequestViewLevel> for RequestViewLevelGql {
    fn from(l: RequestViewLevel) -> Self {
        match l {
            RequestViewLevel::Monitoring => Self::Monitoring,
            RequestViewLevel::Full => Self::Full,
            RequestViewLevel::FullWithPersonalData => Self::FullWithPersonalData,
        }
    }
}

/// Where a request is in its workflow.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum RequestStatus {
    Draft,
    AwaitingApproval,
    Sent,
    Accepted,
    PartiallyAnswered,
    Answered,
    AdditionalInformationRequested,
    InReferral,
    Closed,
    Withdrawn,
}

impl RequestStatus {
    fn domain(self) -> r::RequestStatus {
        use r::RequestStatus as S;
        match self {
            Self::Draft => S::Draft,
            Self::AwaitingApproval => S::AwaitingApproval,
            Self::Sent => S::Sent,
            Self::Accepted => S::Accepted,
            Self::PartiallyAnswered => S::PartiallyAnswered,
            Self::Answered => S::Answered,
            Self::AdditionalInformationRequested => S::AdditionalInformationRequested,
            Self::InReferral => S::InReferral,
            Self::Closed => S::Closed,
            Self::Withdrawn => S::Withdrawn,
        }
    }
    fn of(s: r::RequestStatus) -> Self {
        use r::RequestStatus as S;
        match s {
            S::Draft => Self::Draft,
            S::AwaitingApproval => Self::AwaitingApproval,
            S::Sent => Self::Sent,
            S::Accepted => Self::Accepted,
            S::PartiallyAnswered => Self::PartiallyAnswered,
            S::Answered => Self::Answered,
            S::AdditionalInformationRequested => Self::AdditionalInformationRequested,
            S::InReferral => Self::InReferral,
            S::Closed => Self::Closed,
            S::Withdrawn => Self::Withdrawn,
        }
    }
}

/// An information request as the caller may see it.
pub struct InformationRequest {
    view: uc::RequestView,
    language: Language,
}

#[Object]
impl InformationRequest {
    async fn id(&self) -> ID {
        ID(self.view.request_id.clone())
    }
    async fn view_level(&self) -> RequestViewLevelGql {
        self.view.level.into()
    }
    async fn area(&self) -> &str {
        &self.view.area
    }
    async fn question_set(&self) -> &str {
        &self.view.question_set
    }
    /// The question set's name in the caller's language; when missing, machine-translated
    /// (marked), else visibly in another language.
    async fn question_set_name(&self, ctx: &Context<'_>) -> Result<Option<LocalizedText>> {
        let app = app(ctx)?;
        let names = app.question_set_names(&self.view.question_set).await?;
        Ok(pick_or_translate(app, &names, &self.language).await)
    }
    async fn status(&self) -> RequestStatus {
        RequestStatus::of(self.view.status)
    }
    async fn requesting_authority(&self) -> ID {
        ID(self.view.requesting_authority.clone())
    }
    async fn requesting_member_state(&self) -> &str {
        &self.view.requesting_member_state
    }
    /// Null while the request has not reached it (a draft, awaiting approval).
    async fn responding_authority(&self) -> Option<ID> {
        self.view.responding_authority.clone().map(ID)
    }
    async fn responding_member_state(&self) -> &str {
        &self.view.responding_member_state
    }
    async fn requesting_coordinator(&self) -> ID {
        ID(self.view.requesting_coordinator.clone())
    }
    async fn responding_coordinator(&self) -> Option<ID> {
        self.view.responding_coordinator.clone().map(ID)
    }
    async fn forwarded_from(&self) -> Vec<ID> {
        self.view.forwarded_from.iter().cloned().map(ID).collect()
    }
    async fn drafted_at(&self) -> DateTime<Utc> {
        self.view.drafted_at
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.view.sent_at
    }
    /// The end of the 7 days to accept, while the request waits for acceptance.
    async fn acceptance_due_at(&self) -> Option<DateTime<Utc>> {
        self.view.acceptance_due_at
    }
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.view.accepted_at
    }
    async fn proposed_answer_date(&self) -> NaiveDate {
        self.view.proposed_answer_date
    }
    /// Another answer date the responding authority proposed, not agreed yet.
    async fn counter_proposed_answer_date(&self) -> Option<NaiveDate> {
        self.view.counter_proposed_answer_date
    }
    async fn agreed_answer_date(&self) -> Option<NaiveDate> {
        self.view.agreed_answer_date
    }
    async fn fully_answered_at(&self) -> Option<DateTime<Utc>> {
        self.view.fully_answered_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.view.closed_at
    }
    async fn withdrawn_at(&self) -> Option<DateTime<Utc>> {
        self.view.withdrawn_at
    }
    async fn last_activity_at(&self) -> DateTime<Utc> {
        self.view.last_activity_at
    }
    async fn personal_data_blocked(&self) -> bool {
        self.view.personal_data_blocked
    }
    /// The deletion delay passed: the personal data are erased; the facts remain.
    async fn personal_data_erased(&self) -> bool {
        self.view.personal_data_erased
    }
    /// The content: null in the monitoring view.
    async fn content(&self, ctx: &Context<'_>) -> Result<Option<RequestContentView>> {
        let content = app(ctx)?.request_content(&self.view).await?;
        Ok(content.map(|c| RequestContentView::of(c, &self.language)))
    }
}

/// A question of the request, with its answer as far as the caller may read it.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct RequestQuestion {
    pub id: String,
    #[graphql(skip)]
    pub texts: std::collections::BTreeMap<String, String>,
    #[graphql(skip)]
    pub language: Language,
    pub answered: bool,
    /// Null without personal data (and once erased).
    pub answer: Option<String>,
    #[graphql(skip)]
    pub answer_source: Option<TextSource>,
}

#[ComplexObject]
impl RequestQuestion {
    /// The question in the caller's language; when missing, machine-translated (marked), else
    /// visibly in another language.
    async fn text(&self, ctx: &Context<'_>) -> Result<Option<LocalizedText>> {
        Ok(pick_or_translate(app(ctx)?, &self.texts, &self.language).await)
    }

    /// The answer translated by machine into `language` (null without the answer).
    async fn answer_translation(
        &self,
        ctx: &Context<'_>,
        language: String,
        #[graphql(desc = "the text's language; default: its author's Member State's")] from: Option<
            String,
        >,
    ) -> Result<Option<MachineTranslation>> {
        of_text(
            ctx,
            self.answer_source.as_ref(),
            self.answer.as_ref(),
            &language,
            from,
        )
        .await
    }
}

#[derive(SimpleObject)]
pub struct RequestAttachment {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    /// Null without personal data (and once erased).
    pub name: Option<String>,
}

impl From<uc::AttachmentView> for RequestAttachment {
    fn from(a: uc::AttachmentView) -> Self {
        Self {
            sha256: a.sha256,
            size: a.size,
            media_type: a.media_type,
            name: a.name,
        }
    }
}

/// One step of the request's history that the caller's side may see.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct RequestStep {
    pub sequence: i64,
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub by_user: Option<String>,
    pub by_authority: Option<String>,
    /// The reason given (send-back, withdrawal, date, forwarding).
    pub reason: Option<String>,
    /// The justification, opinion or comment: null without personal data.
    pub text: Option<String>,
    #[graphql(skip)]
    pub text_source: Option<TextSource>,
}

#[ComplexObject]
impl RequestStep {
    /// The text translated by machine into `language` (null without the text).
    async fn translation(
        &self,
        ctx: &Context<'_>,
        language: String,
        #[graphql(desc = "the text's language; default: its author's Member State's")] from: Option<
            String,
        >,
    ) -> Result<Option<MachineTranslation>> {
        of_text(
            ctx,
            self.text_source.as_ref(),
            self.text.as_ref(),
            &language,
            from,
        )
        .await
    }
}

/// The requesting authority's rating of the reply, each answer 1 (poor) to 5 (excellent).
#[derive(SimpleObject)]
pub struct ReplyRatingView {
    pub timeliness: i32,
    pub effort: i32,
}

/// A further person concerned.
#[derive(SimpleObject)]
pub struct PersonConcerned {
    /// Their id within the request.
    pub person: String,
    /// Their identification (personal data): null without personal data, or once erased.
    pub identity: Option<Json<serde_json::Value>>,
}

/// The full view of a request.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct RequestContentView {
    pub questions: Vec<RequestQuestion>,
    pub attachments: Vec<RequestAttachment>,
    pub reply_attachments: Vec<RequestAttachment>,
    pub requesting_handlers: Vec<ID>,
    pub responding_handlers: Vec<ID>,
    pub reply_awaiting_approval: bool,
    pub rating: Option<ReplyRatingView>,
    /// Coordinators that decided on taking part in the referral, with their decision.
    pub referral_participation: Vec<ReferralParticipationView>,
    pub steps: Vec<RequestStep>,
    /// The subject (personal data): null without personal data, or once erased.
    pub subject: Option<Json<serde_json::Value>>,
    /// Further persons concerned besides the subject.
    pub persons_concerned: Vec<PersonConcerned>,
    pub free_text: Option<String>,
    #[graphql(skip)]
    pub free_text_source: Option<TextSource>,
    /// True when the request's personal data were erased (the key is gone).
    pub personal_data_erased: bool,
}

#[ComplexObject]
impl RequestContentView {
    /// The free text translated by machine into `language` (null without the free text).
    async fn free_text_translation(
        &self,
        ctx: &Context<'_>,
        language: String,
        #[graphql(desc = "the text's language; default: its author's Member State's")] from: Option<
            String,
        >,
    ) -> Result<Option<MachineTranslation>> {
        of_text(
            ctx,
            self.free_text_source.as_ref(),
            self.free_text.as_ref(),
            &language,
            from,
        )
        .await
    }
}

impl RequestContentView {
    fn of(c: uc::RequestContentView, language: &Language) -> Self {
        Self {
            questions: c
                .questions
                .into_iter()
                .map(|q| RequestQuestion {
                    texts: q.texts,
                    language: language.clone(),
                    id: q.id,
                    answered: q.answered,
                    answer: q.answer,
                    answer_source: q.answer_source,
                })
                .collect(),
            attachments: c.attachments.into_iter().map(Into::into).collect(),
            reply_attachments: c.reply_attachments.into_iter().map(Into::into).collect(),
            requesting_handlers: c.requesting_handlers.into_iter().map(ID).collect(),
            responding_handlers: c.responding_handlers.into_iter().map(ID).collect(),
            reply_awaiting_approval: c.reply_awaiting_approval,
            rating: c.rating.map(|r| ReplyRatingView {
                timeliness: r.timeliness.into(),
                effort: r.effort.into(),
            }),
            referral_participation: c
                .referral_participation
                .into_iter()
                .map(|p| ReferralParticipationView {
                    coordinator: ID(p.coordinator),
                    participates: p.participates,
                    opinion_given: p.opinion_given,
                })
                .collect(),
            steps: c
                .steps
                .into_iter()
                .map(|s| RequestStep {
                    sequence: s.sequence,
                    event_type: s.event_type,
                    at: s.at,
                    by_user: s.by_user,
                    by_authority: s.by_authority,
                    reason: s.reason,
                    text: s.text,
                    text_source: s.text_source,
                })
                .collect(),
            subject: c.subject.map(Json),
            persons_concerned: c
                .persons_concerned
                .into_iter()
                .map(|p| PersonConcerned {
                    person: p.person,
                    identity: p.identity.map(Json),
                })
                .collect(),
            free_text: c.free_text,
            free_text_source: c.free_text_source,
            personal_data_erased: c.personal_data_erased,
        }
    }
}

#[derive(SimpleObject)]
pub struct ReferralParticipationView {
    pub coordinator: ID,
    pub participates: bool,
    pub opinion_given: bool,
}

#[derive(SimpleObject)]
pub struct InformationRequestEdge {
    pub cursor: String,
    pub node: InformationRequest,
}

#[derive(SimpleObject)]
pub struct InformationRequestConnection {
    pub edges: Vec<InformationRequestEdge>,
    pub page_info: PageInfo,
}

const INBOX_CURSOR_KIND: &str = "RequestInbox";

#[derive(SimpleObject)]
pub struct RequestInboxEdge {
    pub cursor: String,
    pub node: RequestInboxItem,
}

#[derive(SimpleObject)]
pub struct RequestInboxConnection {
    pub edges: Vec<RequestInboxEdge>,
    pub page_info: PageInfo,
}

/// An action awaiting the caller's authority.
#[derive(SimpleObject)]
pub struct RequestInboxItem {
    pub request_id: ID,
    /// `send`, `approve-request`, `accept`, `agree-answer-date`, `reply`, `approve-reply`,
    /// `review-reply`, `referral`.
    pub action: String,
    pub area: String,
    pub due_date: Option<NaiveDate>,
    pub since: DateTime<Utc>,
    /// The users it is assigned to; empty: anyone with the role it needs.
    pub assigned_to: Vec<ID>,
}

/// A line of the allocators' report (no personal data).
#[derive(SimpleObject)]
pub struct AllocatorReportLine {
    pub request_id: ID,
    /// `requesting` or `responding`.
    pub side: String,
    pub area: String,
    pub question_set: String,
    pub status: String,
    pub other_authority: ID,
    pub handlers: Vec<ID>,
    pub questions: i32,
    pub answered: i32,
    pub drafted_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub due_date: NaiveDate,
    pub fully_answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A question of a question set, in the caller's language.
#[derive(SimpleObject)]
pub struct QuestionView {
    pub id: String,
    pub text: Option<LocalizedText>,
}

/// A question set of a legislative area, in the caller's language.
#[derive(SimpleObject)]
pub struct QuestionSetView {
    pub id: String,
    pub area: String,
    pub name: Option<LocalizedText>,
    pub questions: Vec<QuestionView>,
}

#[Object]
impl RequestsQuery {
    /// One request, at the view level the policy allows; NOT_FOUND when the caller may not
    /// see it at all. With `asOf`, as it stood at that point of the log (docs/AUDIT.md): for
    /// a caller who may see it now and could then, at the lower of the two levels; for an
    /// auditor of a Member State that took part, without personal data.
    async fn information_request(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<super::history::AsOf>,
    ) -> Result<InformationRequest> {
        let app = app(ctx)?;
        let view = match as_of {
            Some(point) => {
                app.request_as_of(&caller(ctx)?, &id, point.point()?)
                    .await?
            }
            None => app.request(&caller(ctx)?, &id).await?,
        };
        Ok(InformationRequest {
            view,
            language: request(ctx)?.language.clone(),
        })
    }

    /// The requests the caller's authority may see, ordered by id, as a Relay page.
    async fn information_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        filter: Option<RequestFilterInput>,
    ) -> Result<InformationRequestConnection> {
        let limit = page_size(first)?;
        let after = after
            .as_deref()
            .map(|c| decode_cursor("InformationRequest", c))
            .transpose()?;
        let f = filter.unwrap_or_default();
        let filter = uc::RequestsFilter {
            status: f.status.map(RequestStatus::domain),
            area: f.area,
            member_state: f.member_state,
            authority: f.authority.map(|id| id.0),
            drafted_from: f.drafted_from,
            drafted_until: f.drafted_until,
        };
        let has_previous_page = after.is_some();
        let (views, has_next_page) = app(ctx)?
            .requests(&caller(ctx)?, filter, after, limit)
            .await?;
        let language = request(ctx)?.language.clone();
        let edges: Vec<InformationRequestEdge> = views
            .into_iter()
            .map(|view| InformationRequestEdge {
                cursor: encode_cursor("InformationRequest", &view.request_id),
                node: InformationRequest {
                    view,
                    language: language.clone(),
                },
            })
            .collect();
        Ok(InformationRequestConnection {
            page_info: PageInfo::of(
                has_next_page,
                has_previous_page,
                edges.first().map(|e| &e.cursor),
                edges.last().map(|e| &e.cursor),
            ),
            edges,
        })
    }

    /// What awaits the caller now: the steps their roles allow on their authority's requests,
    /// assigned to them or to no one in particular, oldest first, as a Relay page. The steps
    /// of one request's action stay on one page (an allocator sees `assign` beside it).
    async fn request_inbox(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<RequestInboxConnection> {
        let limit = page_size(first)?;
        let after = after
            .map(|c| {
                let key = decode_cursor(INBOX_CURSOR_KIND, &c)?;
                InboxKey::decode(&key).ok_or_else(|| {
                    ApiError::bad_input("invalid cursor: pass a cursor this connection returned")
                })
            })
            .transpose()?;
        let has_previous_page = after.is_some();
        let (entries, has_next_page) = app(ctx)?.request_inbox(&caller(ctx)?, after, limit).await?;
        let edges: Vec<RequestInboxEdge> = entries
            .into_iter()
            .map(|i| RequestInboxEdge {
                cursor: encode_cursor(INBOX_CURSOR_KIND, &i.key.encode()),
                node: RequestInboxItem {
                    request_id: ID(i.request_id),
                    action: i.action,
                    area: i.area,
                    due_date: i.due_date,
                    since: i.since,
                    assigned_to: i.assigned_to.into_iter().map(ID).collect(),
                },
            })
            .collect();
        Ok(RequestInboxConnection {
            page_info: PageInfo::of(
                has_next_page,
                has_previous_page,
                edges.first().map(|e| &e.cursor),
                edges.last().map(|e| &e.cursor),
            ),
            edges,
        })
    }

    /// The allocators' report of the caller's authority: only for its allocators, only the
    /// areas they allocate in; no personal data.
    async fn allocator_report(&self, ctx: &Context<'_>) -> Result<Vec<AllocatorReportLine>> {
        let rows = app(ctx)?.allocator_report(&caller(ctx)?).await?;
        Ok(rows
            .into_iter()
            .map(|r| AllocatorReportLine {
                request_id: ID(r.request_id),
                side: r.side,
                area: r.area,
                question_set: r.question_set,
                status: r.status,
                other_authority: ID(r.other_authority),
                handlers: r.handlers.into_iter().map(ID).collect(),
                questions: r.questions,
                answered: r.answered,
                drafted_at: r.drafted_at,
                sent_at: r.sent_at,
                accepted_at: r.accepted_at,
                due_date: r.due_date,
                fully_answered_at: r.fully_answered_at,
                closed_at: r.closed_at,
            })
            .collect())
    }

    /// The question sets of a legislative area, in the caller's language (visibly another
    /// where a translation is missing).
    async fn question_sets(&self, ctx: &Context<'_>, area: String) -> Result<Vec<QuestionSetView>> {
        let app = app(ctx)?;
        let sets = app.question_sets(&caller(ctx)?, &area).await?;
        let language = &request(ctx)?.language;
        let mut out = Vec::with_capacity(sets.len());
        for set in sets {
            let mut questions = Vec::with_capacity(set.questions.len());
            for (id, texts) in set.questions {
                questions.push(QuestionView {
                    text: pick_or_translate(app, &texts, language).await,
                    id,
                });
            }
            out.push(QuestionSetView {
                name: pick_or_translate(app, &set.names, language).await,
                id: set.id,
                area: set.area,
                questions,
            });
        }
        Ok(out)
    }
}
