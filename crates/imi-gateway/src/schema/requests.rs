//! Information requests: a mutation per step of the workflow (each one command to the
//! InformationRequest aggregate, which decides with the request policy), and the views a
//! caller may read: the monitoring view, the full view without and with personal data, what
//! awaits them, the allocators' report, and the question sets in the caller's language.
//!
//! Personal data (the subject, free texts, answers, justifications, opinions, comments,
//! attachments' names) are sealed here under the request's key before the command is sent,
//! and opened only for a caller whose view level includes them
//! ([`imi_domain::request::view_level`]); everyone else reads null. A request the caller may
//! not see at all is NOT_FOUND, like one that does not exist.

use super::directory::{parse_id, wait, wait_list};
use super::i18n::{pick, LocalizedText};
use super::model::parse_area;
use super::profile::viewer;
use super::relay::{decode_cursor, encode_cursor, page_size, PageInfo};
use super::{data, request, services};
use crate::errors::{command_error, outcome_label, ApiError, Code};
use crate::metrics::Metrics;
use crate::state::Services;
use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use imi_domain::access::ActorContext;
use imi_domain::authority::UserRole;
use imi_domain::command::Issued;
use imi_domain::reference::Language;
use imi_domain::request::{
    self as r, request_key_id, view_level, Answers, RequestCommand, RequestContent,
    RequestViewLevel,
};
use imi_domain::sealed::Sealed;
use imi_projections::request_monitoring::{self, MonitoringRow, RequestFilter};
use imi_projections::{allocator_report, request_full, request_inbox};
use imi_store::sealing::Opened;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Longest free text, answer, justification, opinion or comment accepted, in characters.
const MAX_TEXT_CHARS: usize = 20_000;
/// The read models a request mutation waits for unless told otherwise.
const DEFAULT_WAIT: [&str; 3] = [
    request_monitoring::NAME,
    request_full::NAME,
    request_inbox::NAME,
];

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

/// An attachment stored beforehand, by its SHA-256 (its bytes are outside the events).
#[derive(InputObject)]
pub struct AttachmentInput {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
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
    /// 1 (poor) to 5 (excellent).
    pub rating: i32,
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

// --- Helpers -------------------------------------------------------------------------------

fn text(what: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_input(format!(
            "{what} must have 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(value.to_string())
}

async fn seal(
    services: &Services,
    request_id: &str,
    value: &impl serde::Serialize,
) -> Result<Sealed, ApiError> {
    services
        .keyring
        .seal(&request_key_id(request_id), value)
        .await
        .map_err(|e| match e {
            imi_store::sealing::SealError::Erased { .. } => ApiError::new(
                Code::Conflict,
                "the request's personal data were erased: nothing can be added to it",
            ),
            e => ApiError::internal("sealing request data", &e),
        })
}

async fn attachments(
    services: &Services,
    request_id: &str,
    input: &[AttachmentInput],
) -> Result<Vec<r::Attachment>, ApiError> {
    let mut out = Vec::with_capacity(input.len());
    for a in input {
        out.push(r::Attachment {
            sha256: a.sha256.trim().to_ascii_lowercase(),
            size: a.size,
            media_type: a.media_type.trim().to_string(),
            name: seal(
                services,
                request_id,
                &text("an attachment's name", &a.name)?,
            )
            .await?,
        });
    }
    Ok(out)
}

/// A trimmed optional text; blank means none.
fn optional(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

async fn content(
    services: &Services,
    request_id: &str,
    input: RequestContentInput,
) -> Result<RequestContent, ApiError> {
    let s = &input.subject;
    let subject = serde_json::json!({
        "name": text("the subject's name", &s.name)?,
        "birth_date": optional(&s.birth_date),
        "birth_place": optional(&s.birth_place),
        "identifiers": optional(&s.identifiers),
        "address": optional(&s.address),
        "professional_details": optional(&s.professional_details),
    });
    let free_text = match optional(&input.free_text) {
        Some(t) => Some(seal(services, request_id, &text("the free text", t)?).await?),
        None => None,
    };
    Ok(RequestContent {
        question_set: input.question_set.trim().to_string(),
        questions: input
            .questions
            .iter()
            .map(|q| q.trim().to_string())
            .collect(),
        free_text,
        subject: seal(services, request_id, &subject).await?,
        attachments: attachments(services, request_id, &input.attachments).await?,
        proposed_answer_date: input.proposed_answer_date,
        responding_authority: parse_id(&input.responding_authority)?,
        request_coordinator: input
            .request_coordinator
            .as_ref()
            .map(parse_id)
            .transpose()?,
    })
}

async fn answers(
    services: &Services,
    request_id: &str,
    input: &[AnswerInput],
) -> Result<Answers, ApiError> {
    let mut out = Answers::new();
    for a in input {
        let sealed = seal(services, request_id, &text("an answer", &a.text)?).await?;
        if out
            .insert(a.question_id.trim().to_string(), sealed)
            .is_some()
        {
            return Err(ApiError::bad_input(format!(
                "question {} is answered twice",
                a.question_id
            )));
        }
    }
    Ok(out)
}

fn request_wait_list(requested: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    wait_list(Some(requested.unwrap_or_else(|| {
        DEFAULT_WAIT.iter().map(|s| s.to_string()).collect()
    })))
}

/// Sends `command` to request `request_id` as the signed-in caller, then waits for
/// `wait_for`.
async fn run(
    ctx: &Context<'_>,
    request_id: String,
    wait_for: Option<Vec<String>>,
    command: RequestCommand,
) -> async_graphql::Result<RequestPayload> {
    let request = request(ctx)?;
    let principal = request.principal()?;
    let services = services(ctx)?;
    let metrics = data::<Metrics>(ctx)?;
    let wait_for = request_wait_list(wait_for)?;
    let name = command.name();
    let result = services
        .requests
        .execute(
            &request_id,
            Issued::new(principal.actor(), command),
            request.metadata(principal),
        )
        .await
        .map_err(command_error);
    metrics.command(
        "InformationRequest",
        name,
        outcome_label(&result.as_ref().map(|_| ())),
    );
    let position = result?;
    let waited = match position {
        Some(at) if !wait_for.is_empty() => wait(&services.pool, &wait_for, at).await?,
        _ => true,
    };
    Ok(RequestPayload {
        request_id: ID(request_id),
        position: position.map(|at| at.to_string()),
        waited,
    })
}

/// The signed-in caller as the policy sees them.
async fn caller(ctx: &Context<'_>) -> Result<Arc<ActorContext>, ApiError> {
    let principal = request(ctx)?.principal()?;
    let services = services(ctx)?;
    let actor = viewer(&services.pool, &principal.user_id, &principal.authority_id)
        .await?
        .ok_or_else(|| ApiError::new(Code::Forbidden, "your authority is not registered"))?;
    if let Some(denied) = actor.unable() {
        return Err(ApiError::new(Code::Forbidden, denied.0));
    }
    Ok(actor)
}

// --- Mutations -----------------------------------------------------------------------------

#[Object]
impl RequestsMutation {
    /// A request handler drafts a request (its personal data sealed under its own key).
    async fn draft_request(
        &self,
        ctx: &Context<'_>,
        input: DraftRequestInput,
    ) -> async_graphql::Result<RequestPayload> {
        let request_id = match &input.request_id {
            Some(id) => parse_id(id)?,
            None => uuid::Uuid::now_v7().to_string(),
        };
        let area = parse_area(&input.area)?;
        let content = content(services(ctx)?, &request_id, input.content).await?;
        let command = RequestCommand::Draft {
            request_id: request_id.clone(),
            area,
            content,
        };
        run(ctx, request_id, input.wait_for, command).await
    }

    /// Rewrites a draft (also after its coordinator sent it back).
    async fn update_request_draft(
        &self,
        ctx: &Context<'_>,
        input: UpdateDraftInput,
    ) -> async_graphql::Result<RequestPayload> {
        let request_id = parse_id(&input.request_id)?;
        let content = content(services(ctx)?, &request_id, input.content).await?;
        run(
            ctx,
            request_id,
            input.wait_for,
            RequestCommand::UpdateDraft { content },
        )
        .await
    }

    /// Sends the draft (to the request coordinator first when the approval flag is on).
    async fn send_request(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::Send,
        )
        .await
    }

    /// The request coordinator approves a new request: it is dispatched.
    async fn approve_request(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::ApproveRequest,
        )
        .await
    }

    /// The request coordinator sends a new request back to its drafters.
    async fn send_back_request(
        &self,
        ctx: &Context<'_>,
        input: RequestReasonInput,
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::SendBackRequest {
                reason: input.reason,
            },
        )
        .await
    }

    /// The responding authority accepts the request.
    async fn accept_request(
        &self,
        ctx: &Context<'_>,
        input: AcceptRequestInput,
    ) -> async_graphql::Result<RequestPayload> {
        let request_coordinator = input
            .request_coordinator
            .as_ref()
            .map(parse_id)
            .transpose()?;
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::Accept {
                request_coordinator,
            },
        )
        .await
    }

    /// The responding authority proposes another answer date.
    async fn propose_answer_date(
        &self,
        ctx: &Context<'_>,
        input: ProposeAnswerDateInput,
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::ProposeAnswerDate {
                date: input.date,
                reason: input.reason,
            },
        )
        .await
    }

    /// The requesting authority agrees to the proposed answer date.
    async fn agree_answer_date(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
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
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::Forward {
                to: parse_id(&input.to)?,
                reason: input.reason,
            },
        )
        .await
    }

    /// An allocator (re-)assigns the request to request handlers of its authority.
    async fn assign_request(
        &self,
        ctx: &Context<'_>,
        input: AssignRequestInput,
    ) -> async_graphql::Result<RequestPayload> {
        let handlers = input
            .handlers
            .iter()
            .map(parse_id)
            .collect::<Result<BTreeSet<_>, _>>()?;
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::Assign { handlers },
        )
        .await
    }

    /// Answers some of the questions.
    async fn reply_partially(
        &self,
        ctx: &Context<'_>,
        input: ReplyInput,
    ) -> async_graphql::Result<RequestPayload> {
        let request_id = parse_id(&input.request_id)?;
        let services = services(ctx)?;
        let command = RequestCommand::ReplyPartially {
            answers: answers(services, &request_id, &input.answers).await?,
            attachments: attachments(services, &request_id, &input.attachments).await?,
        };
        run(ctx, request_id, input.wait_for, command).await
    }

    /// The full reply: afterwards every question is answered.
    async fn reply_to_request(
        &self,
        ctx: &Context<'_>,
        input: ReplyInput,
    ) -> async_graphql::Result<RequestPayload> {
        let request_id = parse_id(&input.request_id)?;
        let services = services(ctx)?;
        let command = RequestCommand::Reply {
            answers: answers(services, &request_id, &input.answers).await?,
            attachments: attachments(services, &request_id, &input.attachments).await?,
        };
        run(ctx, request_id, input.wait_for, command).await
    }

    /// The responding coordinator approves the reply waiting for it.
    async fn approve_reply(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::ApproveReply,
        )
        .await
    }

    /// The responding coordinator sends the reply back.
    async fn send_back_reply(
        &self,
        ctx: &Context<'_>,
        input: RequestReasonInput,
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::SendBackReply {
                reason: input.reason,
            },
        )
        .await
    }

    /// The requesting authority asks for clarifications (no new questions).
    async fn request_additional_information(
        &self,
        ctx: &Context<'_>,
        input: AdditionalInformationInput,
    ) -> async_graphql::Result<RequestPayload> {
        let request_id = parse_id(&input.request_id)?;
        let justification = seal(
            services(ctx)?,
            &request_id,
            &text("the justification", &input.justification)?,
        )
        .await?;
        let command = RequestCommand::RequestAdditionalInformation {
            justification,
            questions: input
                .questions
                .iter()
                .map(|q| q.trim().to_string())
                .collect(),
        };
        run(ctx, request_id, input.wait_for, command).await
    }

    /// The responding authority insists on its reply.
    async fn maintain_reply(
        &self,
        ctx: &Context<'_>,
        input: MaintainReplyInput,
    ) -> async_graphql::Result<RequestPayload> {
        let request_id = parse_id(&input.request_id)?;
        let comment = match input.comment.as_deref().map(str::trim) {
            Some(c) if !c.is_empty() => {
                Some(seal(services(ctx)?, &request_id, &text("the comment", c)?).await?)
            }
            _ => None,
        };
        run(
            ctx,
            request_id,
            input.wait_for,
            RequestCommand::MaintainReply { comment },
        )
        .await
    }

    /// The requesting authority involves both request coordinators.
    async fn open_referral(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
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
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::DecideReferralParticipation {
                participates: input.participates,
            },
        )
        .await
    }

    /// A referral handler of a participating coordinator gives its opinion.
    async fn give_referral_opinion(
        &self,
        ctx: &Context<'_>,
        input: ReferralOpinionInput,
    ) -> async_graphql::Result<RequestPayload> {
        let request_id = parse_id(&input.request_id)?;
        let opinion = seal(
            services(ctx)?,
            &request_id,
            &text("the opinion", &input.opinion)?,
        )
        .await?;
        run(
            ctx,
            request_id,
            input.wait_for,
            RequestCommand::GiveReferralOpinion {
                opinion,
                satisfactory: input.satisfactory,
            },
        )
        .await
    }

    /// Formal closure, once every question is answered.
    async fn close_request(
        &self,
        ctx: &Context<'_>,
        input: RequestStepInput,
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::Close,
        )
        .await
    }

    /// Withdraws the request before closure.
    async fn withdraw_request(
        &self,
        ctx: &Context<'_>,
        input: RequestReasonInput,
    ) -> async_graphql::Result<RequestPayload> {
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::Withdraw {
                reason: input.reason,
            },
        )
        .await
    }

    /// Rates the full reply, once.
    async fn rate_reply(
        &self,
        ctx: &Context<'_>,
        input: RateReplyInput,
    ) -> async_graphql::Result<RequestPayload> {
        let rating = u8::try_from(input.rating)
            .map_err(|_| ApiError::bad_input("a rating is from 1 to 5"))?;
        run(
            ctx,
            parse_id(&input.request_id)?,
            input.wait_for,
            RequestCommand::RateReply { rating },
        )
        .await
    }
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
    row: MonitoringRow,
    level: RequestViewLevel,
    language: Language,
}

#[Object]
impl InformationRequest {
    async fn id(&self) -> ID {
        ID(self.row.request_id.clone())
    }
    async fn view_level(&self) -> RequestViewLevelGql {
        self.level.into()
    }
    async fn area(&self) -> &str {
        &self.row.area
    }
    async fn question_set(&self) -> &str {
        &self.row.question_set
    }
    /// The question set's name in the caller's language (visibly another when missing).
    async fn question_set_name(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<LocalizedText>> {
        let names: Option<serde_json::Value> =
            sqlx::query_scalar("SELECT names FROM reference.question_sets WHERE id = $1")
                .bind(&self.row.question_set)
                .fetch_optional(&services(ctx)?.pool)
                .await
                .map_err(|e| ApiError::database("reading a question set", &e))?;
        let names: BTreeMap<String, String> = names
            .and_then(|n| serde_json::from_value(n).ok())
            .unwrap_or_default();
        Ok(pick(&names, &self.language))
    }
    async fn status(&self) -> RequestStatus {
        RequestStatus::of(self.row.summary.status)
    }
    async fn requesting_authority(&self) -> ID {
        ID(self.row.requesting_authority.clone())
    }
    async fn requesting_member_state(&self) -> &str {
        &self.row.requesting_member_state
    }
    /// Null while the request has not reached it (a draft, awaiting approval).
    async fn responding_authority(&self) -> Option<ID> {
        self.row
            .summary
            .status
            .dispatched()
            .then(|| ID(self.row.responding_authority.clone()))
    }
    async fn responding_member_state(&self) -> &str {
        &self.row.responding_member_state
    }
    async fn requesting_coordinator(&self) -> ID {
        ID(self.row.requesting_coordinator.clone())
    }
    async fn responding_coordinator(&self) -> Option<ID> {
        self.row.responding_coordinator.clone().map(ID)
    }
    async fn forwarded_from(&self) -> Vec<ID> {
        self.row
            .summary
            .forwarded_from
            .iter()
            .cloned()
            .map(ID)
            .collect()
    }
    async fn drafted_at(&self) -> DateTime<Utc> {
        self.row.drafted_at
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.row.sent_at
    }
    /// The end of the 7 days to accept, while the request waits for acceptance.
    async fn acceptance_due_at(&self) -> Option<DateTime<Utc>> {
        self.row.acceptance_due_at
    }
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.row.accepted_at
    }
    async fn proposed_answer_date(&self) -> NaiveDate {
        self.row.proposed_answer_date
    }
    /// Another answer date the responding authority proposed, not agreed yet.
    async fn counter_proposed_answer_date(&self) -> Option<NaiveDate> {
        self.row.summary.dates.counter_proposed_answer_date
    }
    async fn agreed_answer_date(&self) -> Option<NaiveDate> {
        self.row.agreed_answer_date
    }
    async fn fully_answered_at(&self) -> Option<DateTime<Utc>> {
        self.row.fully_answered_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.row.closed_at
    }
    async fn withdrawn_at(&self) -> Option<DateTime<Utc>> {
        self.row.withdrawn_at
    }
    async fn last_activity_at(&self) -> DateTime<Utc> {
        self.row.last_activity_at
    }
    async fn personal_data_blocked(&self) -> bool {
        self.row.personal_data_blocked
    }
    /// The content: null in the monitoring view.
    async fn content(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<RequestContentView>> {
        if self.level < RequestViewLevel::Full {
            return Ok(None);
        }
        let services = services(ctx)?;
        let Some(full) = request_full::get(&services.pool, &self.row.request_id)
            .await
            .map_err(|e| ApiError::database("reading a request", &e))?
        else {
            return Ok(None);
        };
        let steps = request_full::steps(&services.pool, &self.row.request_id)
            .await
            .map_err(|e| ApiError::database("reading a request's steps", &e))?;
        let personal = self.level == RequestViewLevel::FullWithPersonalData;
        Ok(Some(
            RequestContentView::build(services, full, steps, personal, &self.language).await?,
        ))
    }
}

/// A question of the request, with its answer as far as the caller may read it.
#[derive(SimpleObject)]
pub struct RequestQuestion {
    pub id: String,
    pub text: Option<LocalizedText>,
    pub answered: bool,
    /// Null without personal data (and once erased).
    pub answer: Option<String>,
}

#[derive(SimpleObject)]
pub struct RequestAttachment {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    /// Null without personal data (and once erased).
    pub name: Option<String>,
}

/// One step of the request's history.
#[derive(SimpleObject)]
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
}

/// The full view of a request.
#[derive(SimpleObject)]
pub struct RequestContentView {
    pub questions: Vec<RequestQuestion>,
    pub attachments: Vec<RequestAttachment>,
    pub reply_attachments: Vec<RequestAttachment>,
    pub requesting_handlers: Vec<ID>,
    pub responding_handlers: Vec<ID>,
    pub reply_awaiting_approval: bool,
    pub rating: Option<i32>,
    /// Coordinators that decided on taking part in the referral, with their decision.
    pub referral_participation: Vec<ReferralParticipationView>,
    pub steps: Vec<RequestStep>,
    /// The subject (personal data): null without personal data, or once erased.
    pub subject: Option<Json<serde_json::Value>>,
    pub free_text: Option<String>,
    /// True when the request's personal data were erased (the key is gone).
    pub personal_data_erased: bool,
}

#[derive(SimpleObject)]
pub struct ReferralParticipationView {
    pub coordinator: ID,
    pub participates: bool,
    pub opinion_given: bool,
}

/// Opens sealed values (all under one request key) for a caller allowed to read them.
struct Opener<'a> {
    services: &'a Services,
    allowed: bool,
    erased: bool,
}

impl Opener<'_> {
    async fn open(&mut self, sealed: &Sealed) -> Result<Option<serde_json::Value>, ApiError> {
        if !self.allowed {
            return Ok(None);
        }
        match self
            .services
            .keyring
            .open::<serde_json::Value>(sealed)
            .await
        {
            Ok(Opened::Value(v)) => Ok(Some(v)),
            Ok(Opened::Erased) => {
                self.erased = true;
                Ok(None)
            }
            Err(e) => Err(ApiError::internal("opening request data", &e)),
        }
    }
    async fn text(&mut self, sealed: &Sealed) -> Result<Option<String>, ApiError> {
        Ok(self.open(sealed).await?.map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }))
    }
    async fn attachments(
        &mut self,
        list: &[r::Attachment],
    ) -> Result<Vec<RequestAttachment>, ApiError> {
        let mut out = Vec::new();
        for a in list {
            out.push(RequestAttachment {
                sha256: a.sha256.clone(),
                size: a.size,
                media_type: a.media_type.clone(),
                name: self.text(&a.name).await?,
            });
        }
        Ok(out)
    }
}

impl RequestContentView {
    async fn build(
        services: &Services,
        full: request_full::FullRow,
        steps: Vec<request_full::Step>,
        personal: bool,
        language: &Language,
    ) -> Result<Self, ApiError> {
        let mut opener = Opener {
            services,
            allowed: personal && !full.summary.personal_data_blocked(),
            erased: false,
        };
        let d = &full.details;
        let ids: Vec<String> = d.draft.questions.iter().cloned().collect();
        let texts: Vec<(String, serde_json::Value)> =
            sqlx::query_as("SELECT id, texts FROM reference.questions WHERE id = ANY($1)")
                .bind(&ids)
                .fetch_all(&services.pool)
                .await
                .map_err(|e| ApiError::database("reading questions", &e))?;
        let texts: BTreeMap<String, BTreeMap<String, String>> = texts
            .into_iter()
            .filter_map(|(id, t)| serde_json::from_value(t).ok().map(|t| (id, t)))
            .collect();
        let mut questions = Vec::new();
        for q in &d.draft.questions {
            let answer = match d.answers.get(q) {
                Some(sealed) => opener.text(sealed).await?,
                None => None,
            };
            questions.push(RequestQuestion {
                id: q.clone(),
                text: texts.get(q).and_then(|t| pick(t, language)),
                answered: d.answers.contains_key(q),
                answer,
            });
        }
        let mut step_views = Vec::new();
        for s in steps {
            let body = s.payload.get(&s.event_type).cloned().unwrap_or_default();
            let reason = body
                .get("reason")
                .and_then(|v| v.as_str())
                .map(String::from);
            let mut text = None;
            for field in ["justification", "opinion", "comment"] {
                if let Some(sealed) = body
                    .get(field)
                    .and_then(|v| serde_json::from_value::<Sealed>(v.clone()).ok())
                {
                    text = opener.text(&sealed).await?;
                }
            }
            step_views.push(RequestStep {
                sequence: s.sequence,
                event_type: s.event_type,
                at: s.at,
                by_user: s.by_user,
                by_authority: s.by_authority,
                reason,
                text,
            });
        }
        let subject = opener.open(&d.draft.subject).await?.map(Json);
        let free_text = match &d.draft.free_text {
            Some(t) => opener.text(t).await?,
            None => None,
        };
        let attachments = opener.attachments(&d.draft.attachments).await?;
        let reply_attachments = opener.attachments(&d.reply_attachments).await?;
        let s = &full.summary;
        Ok(Self {
            questions,
            attachments,
            reply_attachments,
            requesting_handlers: s.requesting_handlers.iter().cloned().map(ID).collect(),
            responding_handlers: s.responding_handlers.iter().cloned().map(ID).collect(),
            reply_awaiting_approval: s.reply_awaiting_approval,
            rating: s.rating.map(i32::from),
            referral_participation: s
                .referral
                .as_ref()
                .map(|referral| {
                    referral
                        .participation
                        .iter()
                        .map(|(c, p)| ReferralParticipationView {
                            coordinator: ID(c.clone()),
                            participates: *p,
                            opinion_given: referral.opinions.contains(c),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            steps: step_views,
            subject,
            free_text,
            personal_data_erased: opener.erased,
        })
    }
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
    /// see it at all.
    async fn information_request(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<InformationRequest> {
        let actor = caller(ctx).await?;
        let id = parse_id(&id)?;
        let row = request_monitoring::get(&services(ctx)?.pool, &id)
            .await
            .map_err(|e| ApiError::database("reading a request", &e))?;
        let not_found = || ApiError::not_found("no such request");
        let row = row.ok_or_else(not_found)?;
        let level = view_level(&actor, &row.summary).ok_or_else(not_found)?;
        Ok(InformationRequest {
            row,
            level,
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
    ) -> async_graphql::Result<InformationRequestConnection> {
        let actor = caller(ctx).await?;
        let limit = page_size(first)?;
        let after = after
            .as_deref()
            .map(|c| decode_cursor("InformationRequest", c))
            .transpose()?;
        let f = filter.unwrap_or_default();
        let filter = RequestFilter {
            watcher: actor.authority_id().to_string(),
            status: f.status.map(|s| s.domain().as_str().to_string()),
            area: f
                .area
                .as_deref()
                .map(parse_area)
                .transpose()?
                .map(|a| a.code().to_string()),
            member_state: f
                .member_state
                .as_deref()
                .map(imi_domain::reference::MemberState::parse)
                .transpose()
                .map_err(ApiError::from)?
                .map(|m| m.code().to_string()),
            authority: f.authority.as_ref().map(parse_id).transpose()?,
            drafted_from: f.drafted_from,
            drafted_until: f.drafted_until,
            after: after.clone(),
            limit: limit + 1,
        };
        let mut rows = request_monitoring::list(&services(ctx)?.pool, &filter)
            .await
            .map_err(|e| ApiError::database("listing requests", &e))?;
        let has_next_page = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let language = request(ctx)?.language.clone();
        let edges: Vec<InformationRequestEdge> = rows
            .into_iter()
            .filter_map(|row| {
                let level = view_level(&actor, &row.summary)?;
                Some(InformationRequestEdge {
                    cursor: encode_cursor("InformationRequest", &row.request_id),
                    node: InformationRequest {
                        row,
                        level,
                        language: language.clone(),
                    },
                })
            })
            .collect();
        Ok(InformationRequestConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page: after.is_some(),
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }

    /// What awaits the caller (their authority's actions, assigned to them or to no one in
    /// particular), oldest first.
    async fn request_inbox(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<RequestInboxItem>> {
        let actor = caller(ctx).await?;
        let items = request_inbox::of_authority(
            &services(ctx)?.pool,
            actor.authority_id(),
            Some(&actor.user_id),
        )
        .await
        .map_err(|e| ApiError::database("reading the inbox", &e))?;
        Ok(items
            .into_iter()
            .map(|i| RequestInboxItem {
                request_id: ID(i.request_id),
                action: i.action,
                area: i.area,
                due_date: i.due_date,
                since: i.since,
                assigned_to: i.users.into_iter().map(ID).collect(),
            })
            .collect())
    }

    /// The allocators' report of the caller's authority: only for its allocators, only the
    /// areas they allocate in; no personal data.
    async fn allocator_report(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<AllocatorReportLine>> {
        let actor = caller(ctx).await?;
        let areas: BTreeSet<String> = actor
            .user()
            .map(|u| {
                u.roles
                    .iter()
                    .filter(|(_, roles)| roles.contains(&UserRole::Allocator))
                    .map(|(a, _)| a.code().to_string())
                    .collect()
            })
            .unwrap_or_default();
        if areas.is_empty() {
            return Err(ApiError::new(
                Code::Forbidden,
                "only an allocator reads the allocators' report",
            )
            .into());
        }
        let rows = allocator_report::of_authority(&services(ctx)?.pool, actor.authority_id())
            .await
            .map_err(|e| ApiError::database("reading the report", &e))?;
        Ok(rows
            .into_iter()
            .filter(|r| areas.contains(&r.area))
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
    async fn question_sets(
        &self,
        ctx: &Context<'_>,
        area: String,
    ) -> async_graphql::Result<Vec<QuestionSetView>> {
        request(ctx)?.principal()?;
        let area = parse_area(&area)?;
        let language = request(ctx)?.language.clone();
        let rows: Vec<(String, serde_json::Value, String, serde_json::Value)> = sqlx::query_as(
            "SELECT s.id, s.names, q.id, q.texts
               FROM reference.question_sets s
               JOIN reference.questions q ON q.question_set = s.id
              WHERE s.area = $1
              ORDER BY s.id COLLATE \"C\", q.position",
        )
        .bind(area.code())
        .fetch_all(&services(ctx)?.pool)
        .await
        .map_err(|e| ApiError::database("reading question sets", &e))?;
        let texts = |v: serde_json::Value| -> BTreeMap<String, String> {
            serde_json::from_value(v).unwrap_or_default()
        };
        let mut sets: Vec<QuestionSetView> = Vec::new();
        for (set, names, question, question_texts) in rows {
            if sets.last().map(|s| s.id.as_str()) != Some(set.as_str()) {
                sets.push(QuestionSetView {
                    id: set.clone(),
                    area: area.code().to_string(),
                    name: pick(&texts(names), &language),
                    questions: vec![],
                });
            }
            if let Some(last) = sets.last_mut() {
                last.questions.push(QuestionView {
                    id: question,
                    text: pick(&texts(question_texts), &language),
                });
            }
        }
        Ok(sets)
    }
}
