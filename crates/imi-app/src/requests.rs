//! Information requests: the steps that carry personal data (sealed here under the request's
//! key, attachments taken from what was stored), and the views a caller may read: one
//! request, a page of them, what awaits the caller, the allocators' report. Every view is
//! shaped by [`imi_domain::request::visibility`] at the level of
//! [`imi_domain::request::view_level`].

use crate::caller::Caller;
use crate::dispatch::{Outcome, Wait};
use crate::error::{AppError, AppResult};
use crate::input;
use crate::opening::{Opener, Reading, Sealer};
use crate::translation::TextSource;
use crate::App;
use chrono::{DateTime, NaiveDate, Utc};
use imi_domain::access::ActorContext;
use imi_domain::authority::UserRole;
use imi_domain::request::visibility::{shows_step, RequestField};
use imi_domain::request::{
    self as r, request_key_id, view_level, Answers, ReplyRating, RequestCommand, RequestContent,
    RequestSummary, RequestViewLevel,
};
use imi_domain::sealed::Sealed;
use imi_notify::texts::language_of_member_state;
use imi_projections::as_of::RequestAt;
use imi_projections::request_inbox::InboxKey;
use imi_projections::request_monitoring::{self, MonitoringRow, RequestFilter};
use imi_projections::{allocator_report, request_full, request_inbox};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The read models a request command waits for unless told otherwise.
pub const DEFAULT_WAIT: [&str; 3] = [
    request_monitoring::NAME,
    request_full::NAME,
    request_inbox::NAME,
];

// --- Input ---------------------------------------------------------------------------------

/// The person a request is about (personal data).
#[derive(Clone, Debug, Default)]
pub struct SubjectInput {
    pub name: String,
    pub birth_date: Option<String>,
    pub birth_place: Option<String>,
    pub identifiers: Option<String>,
    pub address: Option<String>,
    pub professional_details: Option<String>,
}

impl SubjectInput {
    /// The subject as it is sealed: checked texts.
    pub fn checked(&self) -> AppResult<serde_json::Value> {
        let s = self;
        Ok(serde_json::json!({
            "name": input::text("the subject's name", &s.name)?,
            "birth_date": input::optional_text("the birth date", s.birth_date.as_deref())?,
            "birth_place": input::optional_text("the birth place", s.birth_place.as_deref())?,
            "identifiers": input::optional_text("the identifiers", s.identifiers.as_deref())?,
            "address": input::optional_text("the address", s.address.as_deref())?,
            "professional_details": input::optional_text(
                "the professional details",
                s.professional_details.as_deref()
            )?,
        }))
    }
}

/// An attachment stored beforehand for this request, by its SHA-256, with its file name.
/// Its size and media type are the stored bytes', never the client's: a client that states
/// them is refused when they differ.
#[derive(Clone, Debug)]
pub struct AttachmentRef {
    pub sha256: String,
    pub name: String,
    pub claimed_size: Option<u64>,
    pub claimed_media_type: Option<String>,
}

/// What a draft holds.
#[derive(Clone, Debug)]
pub struct ContentInput {
    pub question_set: String,
    pub questions: Vec<String>,
    pub free_text: Option<String>,
    pub subject: SubjectInput,
    pub attachments: Vec<AttachmentRef>,
    pub proposed_answer_date: NaiveDate,
    pub responding_authority: String,
    pub request_coordinator: Option<String>,
}

impl App {
    /// Seals `value` under request `id`'s key.
    async fn seal_for_request(&self, id: &str, value: &impl serde::Serialize) -> AppResult<Sealed> {
        self.request_sealer(id).seal(value).await
    }

    /// The data key request `id`'s new values are sealed under: its own, or the latest
    /// generation an erasure of one person among several re-sealed the others' values under.
    /// Read from the log, not a read model: one lagging behind a re-sealing would name the
    /// erased key (the aggregate refuses a value under any other than its current key).
    pub(crate) async fn request_data_key(&self, id: &str) -> AppResult<String> {
        let resealed: Option<Option<String>> = sqlx::query_scalar(
            "SELECT payload -> event_type ->> 'key_id' FROM events
              WHERE aggregate_type = 'InformationRequest' AND aggregate_id = $1
                AND event_type = 'PersonalDataResealed'
              ORDER BY sequence DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| AppError::database("reading a request's data key", &e))?;
        Ok(resealed.flatten().unwrap_or_else(|| request_key_id(id)))
    }

    /// Names a further person concerned in draft `id`, their identification sealed.
    pub async fn name_person_concerned(
        &self,
        caller: &Caller,
        id: &str,
        person: &str,
        identity: &SubjectInput,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let id = input::id(id)?;
        let identity = identity.checked()?;
        let command = RequestCommand::NamePersonConcerned {
            person: person.trim().to_string(),
            identity: self.seal_for_request(&id, &identity).await?,
        };
        self.execute(caller, &id, command, wait).await
    }

    /// The attachments as stored for request `id`; refused when one was not uploaded for it.
    async fn stored_attachments(
        &self,
        id: &str,
        list: &[AttachmentRef],
        sealer: &mut Sealer<'_>,
    ) -> AppResult<Vec<r::Attachment>> {
        if list.len() > r::MAX_ATTACHMENTS {
            return Err(AppError::bad_input(format!(
                "at most {} attachments",
                r::MAX_ATTACHMENTS
            )));
        }
        let mut out = Vec::with_capacity(list.len());
        for a in list {
            let sha256 = input::sha256(&a.sha256)?;
            let stored = imi_store::attachments::describe(&self.pool, &request_key_id(id), &sha256)
                .await
                .map_err(|e| AppError::database("reading an attachment", &e))?
                .ok_or_else(|| {
                    AppError::bad_input(format!(
                        "attachment {sha256} was not uploaded for this request: store it first"
                    ))
                })?;
            if a.claimed_size.is_some_and(|size| size != stored.size)
                || a.claimed_media_type
                    .as_deref()
                    .is_some_and(|t| !t.trim().eq_ignore_ascii_case(&stored.media_type))
            {
                return Err(AppError::bad_input(format!(
                    "attachment {sha256} was stored with size {} and type {}: leave both out, \
                     they are taken from the stored bytes",
                    stored.size, stored.media_type
                )));
            }
            let name = input::text("an attachment's name", &a.name)?;
            out.push(r::Attachment {
                sha256: stored.sha256,
                size: stored.size,
                media_type: stored.media_type,
                name: sealer.seal(&name).await?,
            });
        }
        Ok(out)
    }

    async fn content_of(&self, id: &str, c: ContentInput) -> AppResult<RequestContent> {
        let subject = c.subject.checked()?;
        let mut sealer = self.request_sealer(id);
        let free_text = match input::optional_text("the free text", c.free_text.as_deref())? {
            Some(t) => Some(sealer.seal(&t).await?),
            None => None,
        };
        let mut questions = Vec::with_capacity(c.questions.len());
        for q in &c.questions {
            input::no_nul("a question id", q)?;
            questions.push(q.trim().to_string());
        }
        input::no_nul("the question set", &c.question_set)?;
        Ok(RequestContent {
            question_set: c.question_set.trim().to_string(),
            questions: questions.into_iter().collect(),
            free_text,
            subject: sealer.seal(&subject).await?,
            attachments: self
                .stored_attachments(id, &c.attachments, &mut sealer)
                .await?,
            proposed_answer_date: c.proposed_answer_date,
            responding_authority: input::id(&c.responding_authority)?,
            request_coordinator: c
                .request_coordinator
                .as_deref()
                .map(input::id)
                .transpose()?,
        })
    }

    /// A request handler drafts a request; `id` is generated when absent.
    pub async fn draft_request(
        &self,
        caller: &Caller,
        id: Option<&str>,
        area: &str,
        content: ContentInput,
        wait: &Wait,
    ) -> AppResult<(String, Outcome)> {
        let id = match id {
            Some(id) => input::id(id)?,
            None => uuid::Uuid::now_v7().to_string(),
        };
        let area = input::area(area)?;
        let content = self.content_of(&id, content).await?;
        let command = RequestCommand::Draft {
            request_id: id.clone(),
            area,
            content,
        };
        let outcome = self.execute(caller, &id, command, wait).await?;
        Ok((id, outcome))
    }

    /// Rewrites a draft.
    pub async fn update_request_draft(
        &self,
        caller: &Caller,
        id: &str,
        content: ContentInput,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let id = input::id(id)?;
        let content = self.content_of(&id, content).await?;
        let command = RequestCommand::UpdateDraft { content };
        self.execute(caller, &id, command, wait).await
    }

    /// A (partial or full) reply: answers sealed, attachments as stored.
    pub async fn reply_to_request(
        &self,
        caller: &Caller,
        id: &str,
        full: bool,
        answers: &[(String, String)],
        attachments: &[AttachmentRef],
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let id = input::id(id)?;
        let mut sealed = Answers::new();
        let mut sealer = self.request_sealer(&id);
        for (question, text) in answers {
            input::no_nul("a question id", question)?;
            let text = sealer.seal(&input::text("an answer", text)?).await?;
            if sealed.insert(question.trim().to_string(), text).is_some() {
                return Err(AppError::bad_input(format!(
                    "question {question} is answered twice"
                )));
            }
        }
        let attachments = self
            .stored_attachments(&id, attachments, &mut sealer)
            .await?;
        let command = if full {
            RequestCommand::Reply {
                answers: sealed,
                attachments,
            }
        } else {
            RequestCommand::ReplyPartially {
                answers: sealed,
                attachments,
            }
        };
        self.execute(caller, &id, command, wait).await
    }

    /// The requester asks for clarifications, with a justification (sealed).
    pub async fn request_additional_information(
        &self,
        caller: &Caller,
        id: &str,
        justification: &str,
        questions: &[String],
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let id = input::id(id)?;
        let justification = input::text("the justification", justification)?;
        for q in questions {
            input::no_nul("a question id", q)?;
        }
        let command = RequestCommand::RequestAdditionalInformation {
            justification: self.seal_for_request(&id, &justification).await?,
            questions: questions.iter().map(|q| q.trim().to_string()).collect(),
        };
        self.execute(caller, &id, command, wait).await
    }

    /// The responder insists on its reply, with an optional comment (sealed).
    pub async fn maintain_reply(
        &self,
        caller: &Caller,
        id: &str,
        comment: Option<&str>,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let id = input::id(id)?;
        let comment = match input::optional_text("the comment", comment)? {
            Some(c) => Some(self.seal_for_request(&id, &c).await?),
            None => None,
        };
        let command = RequestCommand::MaintainReply { comment };
        self.execute(caller, &id, command, wait).await
    }

    /// A referral handler's opinion (sealed).
    pub async fn give_referral_opinion(
        &self,
        caller: &Caller,
        id: &str,
        opinion: &str,
        satisfactory: bool,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let id = input::id(id)?;
        let opinion = input::text("the opinion", opinion)?;
        let command = RequestCommand::GiveReferralOpinion {
            opinion: self.seal_for_request(&id, &opinion).await?,
            satisfactory,
        };
        self.execute(caller, &id, command, wait).await
    }

    /// A step that carries no personal data (its reason, if any, is checked by the domain).
    pub async fn request_step(
        &self,
        caller: &Caller,
        id: &str,
        command: RequestCommand,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let id = input::id(id)?;
        self.execute(caller, &id, command, wait).await
    }
}

// --- Views ---------------------------------------------------------------------------------

/// A request as a reader may see it: the monitoring fields, and the level that decides what
/// else [`App::request_content`] shows.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    pub level: RequestViewLevel,
    pub request_id: String,
    pub area: String,
    pub question_set: String,
    pub status: r::RequestStatus,
    pub requesting_authority: String,
    pub requesting_member_state: String,
    /// `None` while the request has not reached it.
    pub responding_authority: Option<String>,
    pub responding_member_state: String,
    pub requesting_coordinator: String,
    pub responding_coordinator: Option<String>,
    pub forwarded_from: Vec<String>,
    pub drafted_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub acceptance_due_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub proposed_answer_date: NaiveDate,
    pub counter_proposed_answer_date: Option<NaiveDate>,
    pub agreed_answer_date: Option<NaiveDate>,
    pub fully_answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub last_activity_at: DateTime<Utc>,
    pub personal_data_blocked: bool,
    /// The deletion delay passed: the data key is erased.
    pub personal_data_erased: bool,
    /// Who reads it (the content is decided for them again).
    #[serde(skip)]
    reader: Arc<ActorContext>,
    /// The rows as of a past point, when the view is of one (`crate::as_of`).
    #[serde(skip)]
    past: Option<Arc<RequestAt>>,
}

impl RequestView {
    fn of(reader: Arc<ActorContext>, level: RequestViewLevel, row: MonitoringRow) -> Self {
        let s = &row.summary;
        let dispatched = s.dispatched();
        Self {
            level,
            request_id: row.request_id.clone(),
            area: row.area.clone(),
            question_set: row.question_set.clone(),
            status: s.status,
            requesting_authority: row.requesting_authority.clone(),
            requesting_member_state: row.requesting_member_state.clone(),
            responding_authority: dispatched.then(|| row.responding_authority.clone()),
            responding_member_state: row.responding_member_state.clone(),
            requesting_coordinator: row.requesting_coordinator.clone(),
            responding_coordinator: row.responding_coordinator.clone(),
            forwarded_from: s.forwarded_from.iter().cloned().collect(),
            drafted_at: row.drafted_at,
            sent_at: row.sent_at,
            acceptance_due_at: row.acceptance_due_at,
            accepted_at: row.accepted_at,
            proposed_answer_date: row.proposed_answer_date,
            counter_proposed_answer_date: s.dates.counter_proposed_answer_date,
            agreed_answer_date: row.agreed_answer_date,
            fully_answered_at: row.fully_answered_at,
            closed_at: row.closed_at,
            withdrawn_at: row.withdrawn_at,
            last_activity_at: row.last_activity_at,
            personal_data_blocked: row.personal_data_blocked,
            personal_data_erased: s.personal_data_deleted(),
            reader,
            past: None,
        }
    }

    /// The view of the request as `past` holds it, at `level` (decided by the caller).
    pub(crate) fn as_of(
        reader: Arc<ActorContext>,
        level: RequestViewLevel,
        past: RequestAt,
    ) -> Self {
        let mut view = Self::of(reader, level, past.monitoring.clone());
        view.past = Some(Arc::new(past));
        view
    }
}

/// A question of the request, with its answer as far as the reader may read it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionView {
    pub id: String,
    /// The question's texts per language (reference data).
    pub texts: BTreeMap<String, String>,
    pub answered: bool,
    pub answer: Option<String>,
    /// The answer as a translation needs it (with the answer only).
    #[serde(skip)]
    pub answer_source: Option<TextSource>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    pub name: Option<String>,
}

/// One step of the request's history.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepView {
    pub sequence: i64,
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub by_user: Option<String>,
    pub by_authority: Option<String>,
    /// The reason given (send-back, withdrawal, date, forwarding).
    pub reason: Option<String>,
    /// The justification, opinion or comment, with personal data only.
    pub text: Option<String>,
    /// The text as a translation needs it (with the text only).
    #[serde(skip)]
    pub text_source: Option<TextSource>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferralParticipationView {
    pub coordinator: String,
    pub participates: bool,
    pub opinion_given: bool,
}

/// The full view of a request, at the reader's level.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContentView {
    pub questions: Vec<QuestionView>,
    pub attachments: Vec<AttachmentView>,
    pub reply_attachments: Vec<AttachmentView>,
    pub requesting_handlers: Vec<String>,
    pub responding_handlers: Vec<String>,
    pub reply_awaiting_approval: bool,
    pub rating: Option<ReplyRating>,
    pub referral_participation: Vec<ReferralParticipationView>,
    pub steps: Vec<StepView>,
    pub subject: Option<serde_json::Value>,
    /// Further persons concerned, by id; their identification `None` without personal data.
    pub persons_concerned: Vec<PersonConcernedView>,
    pub free_text: Option<String>,
    /// The free text as a translation needs it (with the free text only).
    #[serde(skip)]
    pub free_text_source: Option<TextSource>,
    pub personal_data_erased: bool,
}

/// A further person concerned, as a reader sees them.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonConcernedView {
    pub person: String,
    pub identity: Option<serde_json::Value>,
}

/// An action awaiting the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxEntry {
    /// The item's place in the inbox: the cursor of the page after it.
    pub key: InboxKey,
    pub request_id: String,
    pub action: String,
    pub area: String,
    pub due_date: Option<NaiveDate>,
    pub since: DateTime<Utc>,
    pub assigned_to: Vec<String>,
}

/// Narrows a page of requests; all given filters must hold.
#[derive(Clone, Debug, Default)]
pub struct RequestsFilter {
    pub status: Option<r::RequestStatus>,
    pub area: Option<String>,
    pub member_state: Option<String>,
    pub authority: Option<String>,
    pub drafted_from: Option<DateTime<Utc>>,
    pub drafted_until: Option<DateTime<Utc>>,
}

/// Most inbox items read in one round trip while filling a page.
const INBOX_CHUNK: i64 = 1_000;

/// The answer for a request that does not exist or that the reader may not see.
pub(crate) fn unknown_request() -> AppError {
    AppError::from(r::unknown_request())
}

impl App {
    /// One request at the reader's level.
    pub async fn request(&self, caller: &Caller, id: &str) -> AppResult<RequestView> {
        let reader = self.reader(caller).await?;
        let id = input::id(id)?;
        let row = request_monitoring::get(&self.reads, &id)
            .await
            .map_err(|e| AppError::database("reading a request", &e))?
            .ok_or_else(unknown_request)?;
        let level = view_level(&reader, &row.summary).ok_or_else(unknown_request)?;
        Ok(RequestView::of(reader, level, row))
    }

    /// The requests the reader's authority may see, ordered by id, after `after`; at most
    /// `limit`, and whether there are more.
    pub async fn requests(
        &self,
        caller: &Caller,
        filter: RequestsFilter,
        after: Option<String>,
        limit: i64,
    ) -> AppResult<(Vec<RequestView>, bool)> {
        let reader = self.reader(caller).await?;
        let area = filter.area.as_deref().map(input::area).transpose()?;
        let member_state = filter
            .member_state
            .as_deref()
            .map(imi_domain::reference::MemberState::parse)
            .transpose()
            .map_err(AppError::from)?;
        let query = RequestFilter {
            watcher: reader.authority_id().to_string(),
            status: filter.status.map(|s| s.as_str().to_string()),
            area: area.map(|a| a.code().to_string()),
            member_state: member_state.map(|m| m.code().to_string()),
            authority: filter.authority.as_deref().map(input::id).transpose()?,
            drafted_from: filter.drafted_from,
            drafted_until: filter.drafted_until,
            after,
            limit: limit + 1,
        };
        let mut rows = request_monitoring::list(&self.reads, &query)
            .await
            .map_err(|e| AppError::database("listing requests", &e))?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let views = rows
            .into_iter()
            .filter_map(|row| {
                let level = view_level(&reader, &row.summary)?;
                Some(RequestView::of(reader.clone(), level, row))
            })
            .collect();
        Ok((views, more))
    }

    /// The content of `view` as its level shows it (`None` below the full view).
    pub async fn request_content(
        &self,
        view: &RequestView,
    ) -> AppResult<Option<RequestContentView>> {
        let level = view.level;
        if !RequestField::Questions.shown_at(level) {
            return Ok(None);
        }
        let (full, steps, level, operation) = match &view.past {
            // As of a past point the level was decided on these very rows.
            Some(past) => (
                past.full.clone(),
                past.steps.clone(),
                level,
                "request.content.asOf",
            ),
            None => {
                let Some((full, steps)) =
                    request_full::get_with_steps(&self.reads, &view.request_id)
                        .await
                        .map_err(|e| AppError::database("reading a request", &e))?
                else {
                    return Ok(None);
                };
                // The level was decided on the monitoring row; the full row may be a little
                // ahead. Decide again on it, never showing more than either allows.
                let level = view_level(&view.reader, &full.summary)
                    .map(|l| l.min(level))
                    .ok_or_else(unknown_request)?;
                (full, steps, level, "request.content")
            }
        };
        let personal =
            RequestField::Subject.shown_at(level) && !full.summary.personal_data_blocked();
        let reading = Reading::by(&view.reader, operation, level);
        let mut opener = Opener::new(self, personal, reading.clone());
        // Texts are in their author's language: the first official one of its Member State.
        let s = &full.summary;
        let requesting_language = language_of_member_state(s.requesting.member_state.code());
        let responding_language = language_of_member_state(s.responding.member_state.code());
        let source = |sealed: &Sealed, field: &'static str, language: &str, shown: bool| {
            shown.then(|| TextSource {
                sealed: sealed.clone(),
                field,
                language: language.to_string(),
                reading: reading.clone(),
            })
        };
        let d = &full.details;
        let ids: Vec<String> = d.draft.questions.iter().cloned().collect();
        let texts = imi_store::question_sets::question_texts(&self.reads, &ids)
            .await
            .map_err(|e| AppError::database("reading questions", &e))?;
        let mut questions = Vec::new();
        for q in &d.draft.questions {
            let (answer, answer_source) = match d.answers.get(q) {
                Some(sealed) => {
                    let answer = opener.text(sealed, "answers").await?;
                    let source = source(sealed, "answers", responding_language, answer.is_some());
                    (answer, source)
                }
                None => (None, None),
            };
            questions.push(QuestionView {
                id: q.clone(),
                texts: texts.get(q).cloned().unwrap_or_default(),
                answered: d.answers.contains_key(q),
                answer,
                answer_source,
            });
        }
        let mut step_views = Vec::new();
        for s in steps {
            if !shows_step(
                &view.reader,
                &full.summary,
                level,
                &s.event_type,
                s.by_authority.as_deref(),
            ) {
                continue;
            }
            let body = s.payload.get(&s.event_type).cloned().unwrap_or_default();
            let reason = body
                .get("reason")
                .and_then(|v| v.as_str())
                .map(String::from);
            let mut text = None;
            let mut text_source = None;
            if RequestField::StepTexts.shown_at(level) {
                let by_requesting = s.by_authority.as_deref().is_some_and(|a| {
                    a == full.summary.requesting.authority_id
                        || a == full.summary.requesting_coordinator
                });
                let language = if by_requesting {
                    requesting_language
                } else {
                    responding_language
                };
                for field in ["justification", "opinion", "comment"] {
                    if let Some(sealed) = body
                        .get(field)
                        .and_then(|v| serde_json::from_value::<Sealed>(v.clone()).ok())
                    {
                        text = opener.text(&sealed, "steps.text").await?;
                        text_source = source(&sealed, "steps.text", language, text.is_some());
                    }
                }
            }
            step_views.push(StepView {
                sequence: s.sequence,
                event_type: s.event_type,
                at: s.at,
                by_user: s.by_user,
                by_authority: s.by_authority,
                reason,
                text,
                text_source,
            });
        }
        let subject = opener.value(&d.draft.subject, "subject").await?;
        let mut persons_concerned = Vec::with_capacity(d.persons_concerned.len());
        for (person, identity) in &d.persons_concerned {
            persons_concerned.push(PersonConcernedView {
                person: person.clone(),
                identity: opener.value(identity, "personsConcerned").await?,
            });
        }
        let (free_text, free_text_source) = match &d.draft.free_text {
            Some(t) => {
                let text = opener.text(t, "freeText").await?;
                let source = source(t, "freeText", requesting_language, text.is_some());
                (text, source)
            }
            None => (None, None),
        };
        let attachments = attachment_views(&mut opener, &d.draft.attachments).await?;
        let reply_attachments = attachment_views(&mut opener, &d.reply_attachments).await?;
        let erased = opener.erased || full.summary.personal_data_deleted();
        opener.finish().await?;
        Ok(Some(RequestContentView {
            questions,
            attachments,
            reply_attachments,
            requesting_handlers: s.requesting_handlers.iter().cloned().collect(),
            responding_handlers: if s.dispatched() {
                s.responding_handlers.iter().cloned().collect()
            } else {
                vec![]
            },
            reply_awaiting_approval: s.reply_awaiting_approval,
            rating: s.rating,
            referral_participation: s
                .referral
                .as_ref()
                .map(|referral| {
                    referral
                        .participation
                        .iter()
                        .map(|(c, p)| ReferralParticipationView {
                            coordinator: c.clone(),
                            participates: *p,
                            opinion_given: referral.opinions.contains(c),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            steps: step_views,
            subject,
            persons_concerned,
            free_text,
            free_text_source,
            personal_data_erased: erased,
        }))
    }

    /// What awaits the reader now: their authority's actions that their roles allow (an
    /// allocator sees the assignment, not the acceptance), assigned to them or to no one in
    /// particular; oldest first.
    pub async fn request_inbox(
        &self,
        caller: &Caller,
        after: Option<InboxKey>,
        limit: i64,
    ) -> AppResult<(Vec<InboxEntry>, bool)> {
        let reader = self.reader(caller).await?;
        if limit <= 0 {
            return Ok((vec![], false));
        }
        // Items are read a page (and one) at first, and the policy decides on each; those the
        // reader may not take are passed over, so a page may take several reads, each four
        // times the last (up to INBOX_CHUNK): a user who may take few of many items (measured
        // at scale 1.0: none of 3,667) reads them in a handful of round trips, not hundreds.
        // The actions of one item stay on one page: the cursor is the item's.
        let mut out: Vec<InboxEntry> = Vec::new();
        let mut cursor = after;
        let mut chunk = limit + 1;
        loop {
            let items = request_inbox::of_authority(
                &self.reads,
                reader.authority_id(),
                Some(&reader.user_id),
                cursor.as_ref(),
                chunk,
            )
            .await
            .map_err(|e| AppError::database("reading the inbox", &e))?;
            let exhausted = (items.len() as i64) < chunk;
            chunk = (chunk * 4).min(INBOX_CHUNK.max(limit + 1));
            let ids: BTreeSet<String> = items.iter().map(|i| i.request_id.clone()).collect();
            let ids: Vec<String> = ids.into_iter().collect();
            let summaries: BTreeMap<String, RequestSummary> =
                request_monitoring::get_many(&self.reads, &ids)
                    .await
                    .map_err(|e| AppError::database("reading requests", &e))?
                    .into_iter()
                    .map(|row| (row.summary.request_id.clone(), row.summary))
                    .collect();
            for i in &items {
                cursor = Some(i.key());
                let Some(summary) = summaries.get(&i.request_id) else {
                    continue;
                };
                let actions = inbox_actions(&reader, summary, &i.action);
                if actions.is_empty() {
                    continue;
                }
                if !out.is_empty() && (out.len() + actions.len()) as i64 > limit {
                    return Ok((out, true));
                }
                for action in actions {
                    out.push(InboxEntry {
                        key: i.key(),
                        request_id: i.request_id.clone(),
                        action,
                        area: i.area.clone(),
                        due_date: i.due_date,
                        since: i.since,
                        assigned_to: i.users.clone(),
                    });
                }
            }
            if exhausted {
                return Ok((out, false));
            }
        }
    }

    /// The names of question set `id` per language (reference data, no personal data).
    pub async fn question_set_names(&self, id: &str) -> AppResult<imi_store::question_sets::Texts> {
        imi_store::question_sets::question_set_names(&self.reads, id)
            .await
            .map_err(|e| AppError::database("reading a question set", &e))
    }

    /// The question sets of legislative area `area`, for a signed-in user.
    pub async fn question_sets(
        &self,
        caller: &Caller,
        area: &str,
    ) -> AppResult<Vec<imi_store::question_sets::QuestionSetTexts>> {
        caller
            .user_ids()
            .ok_or_else(|| AppError::forbidden("sign in to read question sets"))?;
        let area = input::area(area)?;
        imi_store::question_sets::of_area(&self.reads, area.code())
            .await
            .map_err(|e| AppError::database("reading question sets", &e))
    }

    /// The allocators' report of the reader's authority: only for its allocators, only the
    /// areas they allocate in; no personal data.
    pub async fn allocator_report(
        &self,
        caller: &Caller,
    ) -> AppResult<Vec<allocator_report::ReportRow>> {
        let reader = self.reader(caller).await?;
        let areas: BTreeSet<String> = reader
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
            return Err(AppError::forbidden(
                "only an allocator reads the allocators' report",
            ));
        }
        let rows = allocator_report::of_authority(&self.reads, reader.authority_id())
            .await
            .map_err(|e| AppError::database("reading the report", &e))?;
        Ok(rows
            .into_iter()
            .filter(|r| areas.contains(&r.area))
            .collect())
    }
}

async fn attachment_views(
    opener: &mut Opener<'_>,
    list: &[r::Attachment],
) -> AppResult<Vec<AttachmentView>> {
    let mut out = Vec::with_capacity(list.len());
    for a in list {
        out.push(AttachmentView {
            sha256: a.sha256.clone(),
            size: a.size,
            media_type: a.media_type.clone(),
            name: opener.text(&a.name, "attachments.name").await?,
        });
    }
    Ok(out)
}

/// The actions an inbox entry shows `reader`: the entry's own when the policy lets them take
/// it now; for an allocator of the side waiting for its assignment, the assignment instead.
pub fn inbox_actions(reader: &ActorContext, summary: &RequestSummary, action: &str) -> Vec<String> {
    let Some(step) = r::policy::inbox_action(action) else {
        return vec![];
    };
    let mut out = Vec::new();
    if r::authorize(reader, step, summary).is_ok() {
        out.push(action.to_string());
    }
    let awaits_allocation = matches!(step, r::RequestAction::Accept | r::RequestAction::Reply)
        && summary.responding_handlers.is_empty()
        && reader.belongs_to(&summary.responding.authority_id);
    if awaits_allocation && r::authorize(reader, r::RequestAction::Assign, summary).is_ok() {
        out.push("assign".to_string());
    }
    out
}
