//! Data subjects' requests: recorded, carried out and closed by a data administrator of an
//! authority that took part in the information request; the queue of the authority's open
//! ones with their deadlines. The use cases decide who may (`imi_app::subject_requests`);
//! anyone else gets NOT_FOUND, as for a missing one.

use super::requests::RequestSubjectInput;
use super::{app, caller};
use crate::errors::ApiError;
use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use imi_app::requests::SubjectInput;
use imi_app::subject_requests::{SubjectExport, SubjectRequestView};
use imi_domain::subject_request::{SubjectRequestKind, SubjectRequestStatus};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Default)]
pub struct SubjectRequestsQuery;

#[derive(Default)]
pub struct SubjectRequestsMutation;

/// What the data subject asks for.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "SubjectRequestKind")]
pub enum KindGql {
    Access,
    Rectification,
    Erasure,
    Blocking,
}

impl From<KindGql> for SubjectRequestKind {
    fn from(k: KindGql) -> Self {
        match k {
            KindGql::Access => Self::Access,
            KindGql::Rectification => Self::Rectification,
            KindGql::Erasure => Self::Erasure,
            KindGql::Blocking => Self::Blocking,
        }
    }
}

impl From<SubjectRequestKind> for KindGql {
    fn from(k: SubjectRequestKind) -> Self {
        match k {
            SubjectRequestKind::Access => Self::Access,
            SubjectRequestKind::Rectification => Self::Rectification,
            SubjectRequestKind::Erasure => Self::Erasure,
            SubjectRequestKind::Blocking => Self::Blocking,
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "SubjectRequestStatus")]
pub enum StatusGql {
    Open,
    CarriedOut,
    Closed,
}

/// A data subject's request. `subject` and `answer` (personal data) only in
/// `subjectRequest(id:)`, null in the queue.
#[derive(SimpleObject)]
pub struct SubjectRequest {
    pub id: ID,
    pub kind: KindGql,
    pub authority_id: ID,
    /// The information request it is about.
    pub request_id: ID,
    pub status: StatusGql,
    pub recorded_by: ID,
    pub recorded_at: DateTime<Utc>,
    /// Answered by this day (30 days after it was recorded).
    pub due_on: NaiveDate,
    pub overdue: bool,
    pub carried_out_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub subject: Option<String>,
    pub answer: Option<String>,
}

impl From<SubjectRequestView> for SubjectRequest {
    fn from(v: SubjectRequestView) -> Self {
        Self {
            id: ID(v.id),
            kind: v.kind.into(),
            authority_id: ID(v.authority_id),
            request_id: ID(v.request_id),
            status: match v.status {
                SubjectRequestStatus::Open => StatusGql::Open,
                SubjectRequestStatus::CarriedOut => StatusGql::CarriedOut,
                SubjectRequestStatus::Closed => StatusGql::Closed,
            },
            recorded_by: ID(v.recorded_by),
            recorded_at: v.recorded_at,
            due_on: v.due_on,
            overdue: v.overdue,
            carried_out_at: v.carried_out_at,
            closed_at: v.closed_at,
            subject: v.subject,
            answer: v.answer,
        }
    }
}

/// One answer of the export.
#[derive(SimpleObject)]
pub struct ExportedAnswer {
    pub question: String,
    /// Null when erased or blocked.
    pub answer: Option<String>,
}

/// A data subject's access: their data in the information request, at the level the policy
/// allows (facts only once blocked; erased values null).
#[derive(SimpleObject)]
#[graphql(name = "SubjectExport")]
pub struct SubjectExportGql {
    pub request_id: ID,
    pub area: String,
    pub requesting_authority: ID,
    pub responding_authority: Option<ID>,
    pub drafted_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub personal_data_blocked: bool,
    pub personal_data_erased: bool,
    pub subject: Option<Json<serde_json::Value>>,
    pub free_text: Option<String>,
    pub answers: Vec<ExportedAnswer>,
    pub attachment_names: Vec<Option<String>>,
    pub step_texts: Vec<Option<String>>,
}

impl From<SubjectExport> for SubjectExportGql {
    fn from(e: SubjectExport) -> Self {
        Self {
            request_id: ID(e.request_id),
            area: e.area,
            requesting_authority: ID(e.requesting_authority),
            responding_authority: e.responding_authority.map(ID),
            drafted_at: e.drafted_at,
            closed_at: e.closed_at,
            personal_data_blocked: e.personal_data_blocked,
            personal_data_erased: e.personal_data_erased,
            subject: e.subject.map(Json),
            free_text: e.free_text,
            answers: e
                .answers
                .into_iter()
                .map(|(question, answer)| ExportedAnswer { question, answer })
                .collect(),
            attachment_names: e.attachment_names,
            step_texts: e.step_texts,
        }
    }
}

#[derive(InputObject)]
pub struct RecordSubjectRequestInput {
    /// The information request the subject's data are in.
    pub request_id: ID,
    pub kind: KindGql,
    /// Who the subject is and how they identified themselves (personal data: sealed).
    pub subject: String,
}

#[derive(InputObject)]
pub struct CarryOutSubjectRequestInput {
    pub subject_request_id: ID,
    /// The corrected subject: required for a rectification, refused for any other kind.
    pub corrected_subject: Option<RequestSubjectInput>,
}

#[derive(InputObject)]
pub struct CloseSubjectRequestInput {
    pub subject_request_id: ID,
    /// The answer given to the subject (personal data: sealed); required.
    pub answer: Option<String>,
}

#[derive(SimpleObject)]
pub struct SubjectRequestPayload {
    pub subject_request_id: ID,
    /// Feed position of the latest event written; null when nothing was recorded.
    pub position: Option<String>,
    pub waited: bool,
    /// The export, for an access.
    pub export: Option<SubjectExportGql>,
}

#[Object]
impl SubjectRequestsQuery {
    /// The open data subjects' requests of the caller's authority that the caller handles
    /// (a local data administrator, or a data administrator of the area), the nearest
    /// deadline first.
    async fn subject_request_queue(&self, ctx: &Context<'_>) -> Result<Vec<SubjectRequest>> {
        let queue = app(ctx)?.subject_request_queue(&caller(ctx)?).await?;
        Ok(queue.into_iter().map(SubjectRequest::from).collect())
    }

    /// One data subject's request, with the subject's identification and the answer.
    async fn subject_request(&self, ctx: &Context<'_>, id: ID) -> Result<SubjectRequest> {
        Ok(app(ctx)?
            .subject_request(&caller(ctx)?, &id.0)
            .await?
            .into())
    }
}

#[Object]
impl SubjectRequestsMutation {
    /// Records a data subject's request about an information request the caller's authority
    /// took part in; due in 30 days.
    async fn record_subject_request(
        &self,
        ctx: &Context<'_>,
        input: RecordSubjectRequestInput,
    ) -> Result<SubjectRequestPayload> {
        let (id, outcome) = app(ctx)?
            .record_subject_request(
                &caller(ctx)?,
                &input.request_id.0,
                input.kind.into(),
                &input.subject,
            )
            .await?;
        Ok(SubjectRequestPayload {
            subject_request_id: ID(id),
            position: outcome.position.map(|p| p.to_string()),
            waited: outcome.waited,
            export: None,
        })
    }

    /// Carries the request out on the information request: an access answers the export; a
    /// rectification re-seals the corrected subject; blocking blocks; erasure erases.
    async fn carry_out_subject_request(
        &self,
        ctx: &Context<'_>,
        input: CarryOutSubjectRequestInput,
    ) -> Result<SubjectRequestPayload> {
        let corrected = input.corrected_subject.map(|s| SubjectInput {
            name: s.name,
            birth_date: s.birth_date,
            birth_place: s.birth_place,
            identifiers: s.identifiers,
            address: s.address,
            professional_details: s.professional_details,
        });
        let done = app(ctx)?
            .carry_out_subject_request(
                &caller(ctx)?,
                &input.subject_request_id.0,
                corrected.as_ref(),
            )
            .await?;
        Ok(SubjectRequestPayload {
            subject_request_id: input.subject_request_id,
            position: done.outcome.position.map(|p| p.to_string()),
            waited: done.outcome.waited,
            export: done.export.map(SubjectExportGql::from),
        })
    }

    /// Closes the request with the answer given to the subject.
    async fn close_subject_request(
        &self,
        ctx: &Context<'_>,
        input: CloseSubjectRequestInput,
    ) -> Result<SubjectRequestPayload> {
        let outcome = app(ctx)?
            .close_subject_request(
                &caller(ctx)?,
                &input.subject_request_id.0,
                input.answer.as_deref(),
            )
            .await?;
        Ok(SubjectRequestPayload {
            subject_request_id: input.subject_request_id,
            position: outcome.position.map(|p| p.to_string()),
            waited: outcome.waited,
            export: None,
        })
    }
}
