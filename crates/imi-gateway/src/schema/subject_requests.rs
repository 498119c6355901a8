//! Data subjects' requests: recorded, carried out and closed by a data administrator of an
//! authority that took part in the information request; the queue of the authority's open
//! ones with their deadlines. The use cases decide who may (`imi_app::subject_requests`);
//! anyone else gets NOT_FOUND, as for a missing one.

use super::requests::{AnswerInput, RequestSubjectInput};
use super::{app, caller};
use crate::errors::ApiError;
use async_graphql::{Context, Enum, InputObject, Json, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use imi_app::requests::SubjectInput;
use imi_app::subject_alerts::AlertSubjectExport;
use imi_app::subject_requests::{Rectification, SubjectExport, SubjectRequestView};
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
    /// The information request it is about (null for an alert).
    pub request_id: Option<ID>,
    /// The alert it is about (null for an information request).
    pub alert_id: Option<ID>,
    pub status: StatusGql,
    pub recorded_by: ID,
    pub recorded_at: DateTime<Utc>,
    /// Answered by this day (30 days after it was recorded, up to two months more once
    /// extended).
    pub due_on: NaiveDate,
    /// The deadline was extended (once at most).
    pub extended: bool,
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
            request_id: v.request_id.map(ID),
            alert_id: v.alert_id.map(ID),
            status: match v.status {
                SubjectRequestStatus::Open => StatusGql::Open,
                SubjectRequestStatus::CarriedOut => StatusGql::CarriedOut,
                SubjectRequestStatus::Closed => StatusGql::Closed,
            },
            recorded_by: ID(v.recorded_by),
            recorded_at: v.recorded_at,
            due_on: v.due_on,
            extended: v.extended,
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

/// A data subject's access: their data in the alert, at the level the policy allows (facts
/// only once blocked; erased values null).
#[derive(SimpleObject)]
#[graphql(name = "AlertSubjectExport")]
pub struct AlertSubjectExportGql {
    pub alert_id: ID,
    pub area: String,
    /// `SD` or `PQ`.
    pub kind: String,
    pub initiating_authority: ID,
    pub drafted_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub personal_data_blocked: bool,
    pub personal_data_erased: bool,
    /// The service provider or the professional.
    pub person: Option<String>,
    /// The dangerous activity, or a PQ alert's details.
    pub description: Option<String>,
    pub attachment_names: Vec<Option<String>>,
    pub history_texts: Vec<Option<String>>,
}

impl From<AlertSubjectExport> for AlertSubjectExportGql {
    fn from(e: AlertSubjectExport) -> Self {
        Self {
            alert_id: ID(e.alert_id),
            area: e.area,
            kind: e.kind,
            initiating_authority: ID(e.initiating_authority),
            drafted_at: e.drafted_at,
            ended_at: e.ended_at,
            personal_data_blocked: e.personal_data_blocked,
            personal_data_erased: e.personal_data_erased,
            person: e.person,
            description: e.description,
            attachment_names: e.attachment_names,
            history_texts: e.history_texts,
        }
    }
}

#[derive(InputObject)]
pub struct RecordSubjectRequestInput {
    /// The information request the subject's data are in (exactly one of `requestId` and
    /// `alertId`).
    pub request_id: Option<ID>,
    /// The alert the subject's data are in.
    pub alert_id: Option<ID>,
    pub kind: KindGql,
    /// Who the subject is and how they identified themselves (personal data: sealed).
    pub subject: String,
}

#[derive(InputObject)]
pub struct CarryOutSubjectRequestInput {
    pub subject_request_id: ID,
    /// A rectification's corrected values (at least one, each re-sealed as a new event);
    /// refused for any other kind. The corrected subject of an information request.
    pub corrected_subject: Option<RequestSubjectInput>,
    /// The corrected person of an alert (the service provider or the professional).
    pub corrected_person: Option<String>,
    /// The corrected free text (an alert's dangerous activity or details).
    pub corrected_free_text: Option<String>,
    /// Corrected answers, by question (only questions answered already).
    #[graphql(default)]
    pub corrected_answers: Vec<AnswerInput>,
    /// An erasure about an information request that names further persons: the person
    /// erased, `subject` or a further person's id. The others' identifications are re-sealed
    /// under the request's next key and kept; the rest is erased. Without it an erasure
    /// erases all the exchange's personal data.
    pub erased_person: Option<String>,
    /// With `erasedPerson`: also keep the free text and the answers (re-sealed), read and
    /// found to say nothing of the person erased.
    #[graphql(default)]
    pub keep_texts: bool,
}

/// An extension of a data subject's request's deadline (Art. 12(3) of Regulation (EU)
/// 2016/679).
#[derive(InputObject)]
pub struct ExtendSubjectRequestDeadlineInput {
    pub subject_request_id: ID,
    /// 1 or 2.
    pub months: i32,
    /// The reason the subject is told (kept in clear: leave personal data out); required.
    pub reason: String,
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
    /// The export, for an access about an information request.
    pub export: Option<SubjectExportGql>,
    /// The export, for an access about an alert.
    pub alert_export: Option<AlertSubjectExportGql>,
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
        let (app, caller) = (app(ctx)?, caller(ctx)?);
        let (id, outcome) = match (input.request_id, input.alert_id) {
            (Some(request), None) => {
                app.record_subject_request(&caller, &request.0, input.kind.into(), &input.subject)
                    .await?
            }
            (None, Some(alert)) => {
                app.record_alert_subject_request(
                    &caller,
                    &alert.0,
                    input.kind.into(),
                    &input.subject,
                )
                .await?
            }
            _ => {
                return Err(imi_app::error::AppError::bad_input(
                    "a data subject's request names either an information request or an alert",
                )
                .into())
            }
        };
        Ok(SubjectRequestPayload {
            subject_request_id: ID(id),
            position: outcome.position.map(|p| p.to_string()),
            waited: outcome.waited,
            export: None,
            alert_export: None,
        })
    }

    /// Carries the request out on the information request: an access answers the export; a
    /// rectification re-seals the corrected values; blocking blocks; erasure erases.
    async fn carry_out_subject_request(
        &self,
        ctx: &Context<'_>,
        input: CarryOutSubjectRequestInput,
    ) -> Result<SubjectRequestPayload> {
        let subject = input.corrected_subject.map(|s| SubjectInput {
            name: s.name,
            birth_date: s.birth_date,
            birth_place: s.birth_place,
            identifiers: s.identifiers,
            address: s.address,
            professional_details: s.professional_details,
        });
        let corrected = (subject.is_some()
            || input.corrected_person.is_some()
            || input.corrected_free_text.is_some()
            || !input.corrected_answers.is_empty())
        .then(|| Rectification {
            subject,
            person: input.corrected_person,
            free_text: input.corrected_free_text,
            answers: input
                .corrected_answers
                .into_iter()
                .map(|a| (a.question_id, a.text))
                .collect(),
        });
        let done = match &input.erased_person {
            Some(person) if corrected.is_none() => {
                app(ctx)?
                    .carry_out_erasure_of(
                        &caller(ctx)?,
                        &input.subject_request_id.0,
                        person,
                        input.keep_texts,
                    )
                    .await?
            }
            Some(_) => {
                return Err(ApiError::bad_input(
                    "only an erasure names the person whose data are erased",
                ))
            }
            None => {
                app(ctx)?
                    .carry_out_subject_request(
                        &caller(ctx)?,
                        &input.subject_request_id.0,
                        corrected.as_ref(),
                    )
                    .await?
            }
        };
        Ok(SubjectRequestPayload {
            subject_request_id: input.subject_request_id,
            position: done.outcome.position.map(|p| p.to_string()),
            waited: done.outcome.waited,
            export: done.export.map(SubjectExportGql::from),
            alert_export: done.alert_export.map(AlertSubjectExportGql::from),
        })
    }

    /// Extends the deadline by up to two months, once, before it passed, with a reason.
    async fn extend_subject_request_deadline(
        &self,
        ctx: &Context<'_>,
        input: ExtendSubjectRequestDeadlineInput,
    ) -> Result<SubjectRequestPayload> {
        let months = u32::try_from(input.months)
            .map_err(|_| ApiError::bad_input("the deadline is extended by 1 to 2 months"))?;
        let outcome = app(ctx)?
            .extend_subject_request_deadline(
                &caller(ctx)?,
                &input.subject_request_id.0,
                months,
                &input.reason,
            )
            .await?;
        Ok(SubjectRequestPayload {
            subject_request_id: input.subject_request_id,
            position: outcome.position.map(|p| p.to_string()),
            waited: outcome.waited,
            export: None,
            alert_export: None,
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
            alert_export: None,
        })
    }
}
