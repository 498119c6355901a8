//! Data subjects' requests (Art. 19 of Regulation 1024/2012 and Arts. 15 to 18 of Regulation
//! (EU) 2016/679) about an information request: recorded, carried out and closed by a data
//! administrator of an authority that took part in it (the SubjectRequest aggregate decides
//! who may), and each authority's queue of open ones with their deadlines.
//!
//! Carrying one out acts on the information request as the system, for the data
//! administrator (the processing log names them): rectification re-seals the corrected
//! values (subject, free text, answers) under the request's key, one new event per field; blocking blocks its personal data at once;
//! erasure erases the request's data key (the request is about its subject: every value under
//! that key is theirs) and its attachments' bytes, then records the fact; access exports the
//! subject's data in the request, opened here and logged like every other opening.

use crate::caller::Caller;
use crate::dispatch::{Command, Outcome, Wait};
use crate::error::{AppError, AppResult};
use crate::opening::{Opener, Reading};
use crate::requests::SubjectInput;
use crate::subject_alerts::{AlertSubjectExport, ALERT_WAIT};
use crate::App;
use chrono::{DateTime, NaiveDate, Utc};
use imi_domain::access::ActorContext;
use imi_domain::actor::Actor;
use imi_domain::authority::Clock;
use imi_domain::request::visibility::{shows_step, RequestField};
use imi_domain::request::{
    request_key_id, PersonOfRequest, RequestCommand, RequestViewLevel, ResealedValue,
};
use imi_domain::sealed::Sealed;
use imi_domain::subject_request::{
    handles_subject_requests, subject_access_level, subject_request_key_id,
    unknown_subject_request, CorrectedField, Correction, ExchangeFacts, PartialErasure,
    SubjectRequestCommand, SubjectRequestKind, SubjectRequestStatus, SubjectRequestSummary,
};
use imi_projections::{request_full, request_monitoring, subject_requests};
use imi_store::feed::FeedPosition;
use imi_store::metadata::CommandMetadata;

/// The read models a data subject's request's commands wait for.
pub const DEFAULT_WAIT: [&str; 3] = [
    subject_requests::NAME,
    request_monitoring::NAME,
    request_full::NAME,
];

/// The process that carries data subjects' requests out on the exchanges.
pub const PROCESS: &str = "subject-requests";

/// A data subject's request as its authority's data administrators read it.
#[derive(Clone, Debug, PartialEq)]
pub struct SubjectRequestView {
    pub id: String,
    pub kind: SubjectRequestKind,
    pub authority_id: String,
    /// The information request it is about, if it is about one.
    pub request_id: Option<String>,
    /// The alert it is about, if it is about one.
    pub alert_id: Option<String>,
    pub status: SubjectRequestStatus,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
    pub due_on: NaiveDate,
    /// The deadline was extended (once at most).
    pub extended: bool,
    /// Open past its deadline.
    pub overdue: bool,
    pub carried_out_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The subject's identification (personal data: only in the single view).
    pub subject: Option<String>,
    /// The answer given to the subject (personal data: only in the single view).
    pub answer: Option<String>,
}

/// What a data subject's access request exports of the information request it is about: its
/// facts, and its personal data at the level [`subject_access_level`] allows (none once
/// blocked; absent and marked erased once erased).
#[derive(Clone, Debug, PartialEq)]
pub struct SubjectExport {
    pub request_id: String,
    pub area: String,
    pub requesting_authority: String,
    pub responding_authority: Option<String>,
    pub drafted_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub personal_data_blocked: bool,
    pub personal_data_erased: bool,
    pub subject: Option<serde_json::Value>,
    pub free_text: Option<String>,
    /// Answers by question id.
    pub answers: Vec<(String, Option<String>)>,
    pub attachment_names: Vec<Option<String>>,
    /// Justifications, opinions and comments of the steps the authority's side reads.
    pub step_texts: Vec<Option<String>>,
}

/// The corrected values of a rectification, at least one. About an information request: any
/// of the subject, the free text and answers (question id, corrected answer). About an alert:
/// the person (the service provider or the professional) and the free text (the dangerous
/// activity or the details).
#[derive(Clone, Debug, Default)]
pub struct Rectification {
    pub subject: Option<SubjectInput>,
    pub person: Option<String>,
    pub free_text: Option<String>,
    pub answers: Vec<(String, String)>,
}

/// What carrying a request out did: the request as it stands, and the export of an access.
#[derive(Clone, Debug, PartialEq)]
pub struct CarriedOut {
    pub outcome: Outcome,
    /// The export of an access about an information request.
    pub export: Option<SubjectExport>,
    /// The export of an access about an alert.
    pub alert_export: Option<AlertSubjectExport>,
}

impl App {
    /// Records a data subject's request of `kind` about information request `request_id`;
    /// `subject` identifies them (sealed under the new request's own key). Returns its id.
    pub async fn record_subject_request(
        &self,
        caller: &Caller,
        request_id: &str,
        kind: SubjectRequestKind,
        subject: &str,
    ) -> AppResult<(String, Outcome)> {
        let reader = self.reader(caller).await?;
        let request_id = crate::input::id(request_id)?;
        let row = request_monitoring::get(&self.pool, &request_id)
            .await
            .map_err(|e| AppError::database("reading a request", &e))?;
        // An exchange the reader may not see answers as a missing one.
        let Some(row) =
            row.filter(|r| imi_domain::request::view_level(&reader, &r.summary).is_some())
        else {
            return Err(AppError::from(imi_domain::request::unknown_request()));
        };
        let id = uuid::Uuid::new_v4().to_string();
        let subject = self
            .seal_text(&subject_request_key_id(&id), "the subject", subject)
            .await?;
        let command = SubjectRequestCommand::Record {
            id: id.clone(),
            kind,
            exchange: ExchangeFacts {
                exchange: request_key_id(&request_id),
                area: row.summary.area.clone(),
                participants: row.summary.participants(),
            },
            subject,
        };
        let outcome = self
            .execute(caller, &id, command, &Wait::of(None, &DEFAULT_WAIT)?)
            .await?;
        Ok((id, outcome))
    }

    /// One data subject's request, its subject and answer opened, for a data administrator of
    /// its authority; any other caller is answered as for a missing one.
    pub async fn subject_request(
        &self,
        caller: &Caller,
        id: &str,
    ) -> AppResult<SubjectRequestView> {
        let reader = self.reader(caller).await?;
        let summary = self.own_subject_request(&reader, id).await?;
        let reading = Reading {
            operation: "subjectRequest.view",
            level: "DataAdministrator".to_string(),
            acting_user: format!("user:{}", reader.user_id),
            acting_authority: Some(reader.authority_id().to_string()),
        };
        let mut opener = Opener::new(self, true, reading);
        let subject = opener.text(&summary.subject, "subject").await?;
        let answer = match &summary.answer {
            Some(a) => opener.text(a, "answer").await?,
            None => None,
        };
        opener.finish().await?;
        let mut view = self.view_of(&summary);
        view.subject = subject;
        view.answer = answer;
        Ok(view)
    }

    /// The open data subjects' requests of the reader's authority in the areas the reader
    /// handles them for, the nearest deadline first (no personal data opened).
    pub async fn subject_request_queue(
        &self,
        caller: &Caller,
    ) -> AppResult<Vec<SubjectRequestView>> {
        let reader = self.reader(caller).await?;
        let open = subject_requests::open_of(&self.reads, reader.authority_id())
            .await
            .map_err(|e| AppError::database("reading data subjects' requests", &e))?;
        Ok(open
            .iter()
            .filter(|s| handles_subject_requests(&reader, &s.area))
            .map(|s| self.view_of(s))
            .collect())
    }

    /// Carries request `id` out on the information request it is about; a rectification
    /// needs the `corrected` values, no other kind takes any. An access answers the export.
    ///
    /// Two writes without a transaction spanning them: the request's decision first (it
    /// records everything the exchange's side needs, a rectification's values included), then
    /// the exchange's event. If the process stops between them, the scheduler's completion
    /// rule writes the missing one ([`App::complete_subject_request`]); so does a retry.
    pub async fn carry_out_subject_request(
        &self,
        caller: &Caller,
        id: &str,
        corrected: Option<&Rectification>,
    ) -> AppResult<CarriedOut> {
        let reader = self.reader(caller).await?;
        let mut summary = self.own_subject_request(&reader, id).await?;
        let exchange = summary.exchange.clone();
        let (request_id, alert_id) = (
            exchange.strip_prefix("InformationRequest/"),
            exchange.strip_prefix("Alert/"),
        );
        if request_id.is_none() && alert_id.is_none() {
            return Err(AppError::from(unknown_subject_request()));
        }
        let command = match (summary.kind, corrected) {
            (SubjectRequestKind::Rectification, Some(c)) => {
                match request_id {
                    Some(r) => self.check_request_rectification(r, c).await?,
                    None => App::alert_rectification(c)?,
                }
                // Sealed under the request's current key (a later generation once one
                // person among several was erased).
                let key = match request_id {
                    Some(r) => self.request_data_key(r).await?,
                    None => summary.exchange.clone(),
                };
                SubjectRequestCommand::Rectify {
                    corrections: self.corrections(&key, c).await?,
                }
            }
            (SubjectRequestKind::Rectification, None) => {
                return Err(AppError::bad_input(
                    "a rectification is carried out with the corrected values",
                ))
            }
            (_, Some(_)) => {
                return Err(AppError::bad_input(
                    "only a rectification is carried out with corrected values",
                ))
            }
            (_, None) => SubjectRequestCommand::CarryOut,
        };
        // Checked before anything is written, so the exchange never refuses what the data
        // subject's request recorded.
        if summary.kind == SubjectRequestKind::Blocking && self.erased(&exchange).await? {
            return Err(AppError::from(imi_domain::error::DomainError::refused(
                "the personal data of this exchange are already erased",
            )));
        }
        if let SubjectRequestCommand::Rectify { corrections } = &command {
            summary.corrections = corrections.clone();
        }
        // The aggregate decides whether the caller may, before anything happens to the
        // exchange.
        let position = self.run(caller, &summary.id, command.into()).await?;
        let (mut export, mut alert_export) = (None, None);
        if summary.kind == SubjectRequestKind::Access {
            match (request_id, alert_id) {
                (Some(r), _) => export = Some(self.subject_export(&reader, r).await?),
                (_, Some(a)) => alert_export = Some(self.alert_subject_export(&reader, a).await?),
                _ => {}
            }
        }
        let last = self.on_exchange(&summary, caller.metadata()).await?;
        let wait = match alert_id {
            Some(_) => Wait::of(None, &ALERT_WAIT)?,
            None => Wait::of(None, &DEFAULT_WAIT)?,
        };
        let outcome = self.settle(last.or(position), &wait).await?;
        Ok(CarriedOut {
            outcome,
            export,
            alert_export,
        })
    }

    /// Carries out erasure request `id` on one `person` among several of the information
    /// request it is about (`"subject"`, or a further person's id): the other persons'
    /// identifications, and with `keep_texts` the free text and the answers (the data
    /// administrator read them and found nothing of that person), are opened and re-sealed
    /// under the request's next data key; the data subject's request records them first,
    /// then the request records them as its own event, then the old key is erased. Whatever
    /// was not re-sealed (the person's identification, the texts not kept, the texts of
    /// steps, the attachments) is erased with it.
    pub async fn carry_out_erasure_of(
        &self,
        caller: &Caller,
        id: &str,
        person: &str,
        keep_texts: bool,
    ) -> AppResult<CarriedOut> {
        let reader = self.reader(caller).await?;
        let mut summary = self.own_subject_request(&reader, id).await?;
        if summary.kind != SubjectRequestKind::Erasure {
            return Err(AppError::bad_input(
                "only an erasure names the person whose data are erased",
            ));
        }
        let Some(request_id) = summary.exchange.strip_prefix("InformationRequest/") else {
            return Err(AppError::bad_input(
                "an alert is about one person: its erasure erases the alert's personal data",
            ));
        };
        let request_id = request_id.to_string();
        if !summary.open() || summary.carried_out_at.is_some() {
            return Err(AppError::from(imi_domain::error::DomainError::refused(
                "the data subject's request was already carried out",
            )));
        }
        let person = match person.trim() {
            "subject" => PersonOfRequest::Subject,
            other => PersonOfRequest::Concerned(other.to_string()),
        };
        let full = request_full::get(&self.pool, &request_id)
            .await
            .map_err(|e| AppError::database("reading a request", &e))?
            .ok_or_else(|| AppError::from(imi_domain::request::unknown_request()))?;
        if full.summary.personal_data_deleted() {
            return Err(AppError::from(imi_domain::error::DomainError::refused(
                "the personal data of this exchange are already erased",
            )));
        }
        let d = &full.details;
        let from_key = if d.data_key.is_empty() {
            request_key_id(&request_id)
        } else {
            d.data_key.clone()
        };
        // The persons whose data the request holds: those sealed under its current key.
        let mut persons: Vec<(PersonOfRequest, Sealed)> = d
            .persons_concerned
            .iter()
            .map(|(p, s)| (PersonOfRequest::Concerned(p.clone()), s.clone()))
            .collect();
        if d.draft.subject.key_id == from_key {
            persons.insert(0, (PersonOfRequest::Subject, d.draft.subject.clone()));
        }
        if !persons.iter().any(|(p, _)| *p == person) {
            return Err(AppError::bad_input(
                "the request holds no personal data of that person",
            ));
        }
        if persons.len() < 2 {
            return Err(AppError::bad_input(
                "the request is about one person: carry the erasure out without naming one",
            ));
        }
        let base = request_key_id(&request_id);
        let generation = imi_domain::sealed::key_generation(&from_key, &base).unwrap_or(1);
        let key_id = imi_domain::sealed::generation_key(&base, generation + 1);
        let reading = Reading {
            operation: "subjectRequest.reseal",
            level: "DataAdministrator".to_string(),
            acting_user: format!("user:{}", reader.user_id),
            acting_authority: Some(reader.authority_id().to_string()),
        };
        let mut opener = Opener::new(self, true, reading);
        let mut sealer = self.sealer(&key_id);
        let mut values = Vec::new();
        for (p, identity) in persons.into_iter().filter(|(p, _)| *p != person) {
            let field = match p {
                PersonOfRequest::Subject => "subject",
                PersonOfRequest::Concerned(_) => "personsConcerned",
            };
            let Some(value) = opener.value(&identity, field).await? else {
                continue;
            };
            values.push(ResealedValue::Person {
                person: p,
                identity: sealer.seal(&value).await?,
            });
        }
        if keep_texts {
            if let Some(text) = &d.draft.free_text {
                if let Some(value) = opener.value(text, "freeText").await? {
                    values.push(ResealedValue::FreeText {
                        text: sealer.seal(&value).await?,
                    });
                }
            }
            for (question, answer) in &d.answers {
                if let Some(value) = opener.value(answer, "answers").await? {
                    values.push(ResealedValue::Answer {
                        question: question.clone(),
                        answer: sealer.seal(&value).await?,
                    });
                }
            }
        }
        opener.finish().await?;
        let erasure = PartialErasure {
            person,
            from_key,
            key_id,
            values,
        };
        summary.erasure = Some(erasure.clone());
        let command = SubjectRequestCommand::CarryOutErasure { erasure };
        let position = self.run(caller, &summary.id, command.into()).await?;
        let last = self.on_exchange(&summary, caller.metadata()).await?;
        let outcome = self
            .settle(last.or(position), &Wait::of(None, &DEFAULT_WAIT)?)
            .await?;
        Ok(CarriedOut {
            outcome,
            export: None,
            alert_export: None,
        })
    }

    /// The request's side of an erasure of one person among several, written once: the
    /// re-sealed values recorded (unless the request records them already), then the old key
    /// erased (a no-op when it is).
    async fn reseal_on_request(
        &self,
        s: &SubjectRequestSummary,
        erasure: &PartialErasure,
        request_id: &str,
        recorded: bool,
        metadata: CommandMetadata,
    ) -> AppResult<Option<FeedPosition>> {
        let acting_user = metadata.acting_user.clone();
        let last = if recorded {
            None
        } else {
            let command = RequestCommand::Reseal {
                subject_request: s.id.clone(),
                erased: erasure.person.clone(),
                from_key: erasure.from_key.clone(),
                key_id: erasure.key_id.clone(),
                values: erasure.values.clone(),
            };
            self.run_as(
                Actor::system(PROCESS),
                metadata,
                request_id,
                Command::Request(command),
            )
            .await?
        };
        // The re-sealed values are in the log: the old key may go.
        imi_store::retention::erase_exchange(
            &self.pool,
            &self.keyring,
            &erasure.from_key,
            &acting_user,
            &format!("data subject's request {}: one person among several", s.id),
        )
        .await
        .map_err(|e| AppError::sealing("erasing the request's previous data key", &e))?;
        Ok(last)
    }

    /// Whether the personal data of `exchange` were erased (as the read models know it).
    async fn erased(&self, exchange: &str) -> AppResult<bool> {
        if let Some(alert_id) = exchange.strip_prefix("Alert/") {
            return Ok(imi_projections::alert_overview::get(&self.pool, alert_id)
                .await
                .map_err(|e| AppError::database("reading an alert", &e))?
                .is_some_and(|a| a.summary.personal_data_deleted_at.is_some()));
        }
        let request_id = exchange
            .strip_prefix("InformationRequest/")
            .unwrap_or(exchange);
        Ok(request_monitoring::get(&self.pool, request_id)
            .await
            .map_err(|e| AppError::database("reading a request", &e))?
            .is_some_and(|r| r.summary.personal_data_deleted()))
    }

    /// A request's answers are corrected only where one was given.
    async fn check_request_rectification(
        &self,
        request_id: &str,
        c: &Rectification,
    ) -> AppResult<()> {
        if c.person.is_some() {
            return Err(AppError::bad_input(
                "an information request's subject is corrected as a subject, not a person",
            ));
        }
        if c.answers.is_empty() {
            return Ok(());
        }
        let full = request_full::get(&self.pool, request_id)
            .await
            .map_err(|e| AppError::database("reading a request", &e))?
            .ok_or_else(|| AppError::from(imi_domain::request::unknown_request()))?;
        for (question, _) in &c.answers {
            if !full.details.answers.contains_key(question) {
                return Err(AppError::bad_input(format!(
                    "question {question} has no answer to rectify"
                )));
            }
        }
        Ok(())
    }

    /// Completes the exchange's side of data subject's request `id` if it was carried out and
    /// the exchange does not record it yet (the process stopped between the two writes);
    /// otherwise does nothing. The scheduler's completion rule calls it.
    pub async fn complete_subject_request(
        &self,
        id: &str,
        metadata: CommandMetadata,
    ) -> AppResult<Option<FeedPosition>> {
        let summary = subject_requests::get(&self.pool, id)
            .await
            .map_err(|e| AppError::database("reading a data subject's request", &e))?
            .ok_or_else(unknown_subject_request)?;
        if summary.carried_out_at.is_none() {
            return Ok(None);
        }
        self.on_exchange(&summary, metadata).await
    }

    /// The exchange's side of a carried-out request, written once: nothing if the exchange
    /// already records the request (or, for blocking, is blocked; for anything but erasure,
    /// is erased). Acts as the system process, with the data administrator's metadata.
    async fn on_exchange(
        &self,
        s: &SubjectRequestSummary,
        metadata: CommandMetadata,
    ) -> AppResult<Option<FeedPosition>> {
        if let Some(alert_id) = s.exchange.strip_prefix("Alert/") {
            return self.on_alert(s, alert_id, metadata).await;
        }
        let Some(request_id) = s.exchange.strip_prefix("InformationRequest/") else {
            return Ok(None);
        };
        if s.kind == SubjectRequestKind::Access {
            return Ok(None);
        }
        let recorded = imi_store::retention::recorded_for_subject_request(
            &self.pool,
            "InformationRequest",
            request_id,
            &s.id,
        )
        .await
        .map_err(|e| AppError::database("reading a request's events", &e))?;
        if let Some(erasure) = &s.erasure {
            return self
                .reseal_on_request(s, erasure, request_id, recorded, metadata)
                .await;
        }
        if recorded {
            return Ok(None);
        }
        let state = request_monitoring::get(&self.pool, request_id)
            .await
            .map_err(|e| AppError::database("reading a request", &e))?
            .ok_or_else(|| AppError::from(imi_domain::request::unknown_request()))?
            .summary;
        let subject_request = s.id.clone();
        let command = match s.kind {
            SubjectRequestKind::Access => return Ok(None),
            _ if state.personal_data_deleted() && s.kind != SubjectRequestKind::Erasure => {
                return Ok(None)
            }
            SubjectRequestKind::Rectification => RequestCommand::Rectify {
                subject_request,
                corrections: s.corrections.clone(),
            },
            SubjectRequestKind::Blocking if state.personal_data_blocked() => return Ok(None),
            SubjectRequestKind::Blocking => {
                RequestCommand::BlockPersonalDataForSubject { subject_request }
            }
            SubjectRequestKind::Erasure => {
                // The key first: the fact recorded after it is then never ahead of the
                // erasure (erasing an erased key again is a no-op).
                imi_store::retention::erase_exchange(
                    &self.pool,
                    &self.keyring,
                    &s.exchange,
                    &metadata.acting_user,
                    &format!("data subject's request {}", s.id),
                )
                .await
                .map_err(|e| AppError::sealing("erasing the exchange's data key", &e))?;
                if state.personal_data_deleted() {
                    return Ok(None);
                }
                RequestCommand::RecordPersonalDataErasedForSubject { subject_request }
            }
        };
        self.run_as(
            Actor::system(PROCESS),
            metadata,
            request_id,
            Command::Request(command),
        )
        .await
    }

    /// The corrected values sealed under the exchange's key, one per field given.
    async fn corrections(&self, exchange: &str, c: &Rectification) -> AppResult<Vec<Correction>> {
        let mut corrections = Vec::new();
        let mut sealer = self.sealer(exchange);
        if let Some(subject) = &c.subject {
            corrections.push(Correction {
                field: CorrectedField::Subject,
                value: sealer.seal(&subject.checked()?).await?,
            });
        }
        if let Some(person) = &c.person {
            corrections.push(Correction {
                field: CorrectedField::Subject,
                value: sealer.seal_text("the person", person).await?,
            });
        }
        if let Some(text) = &c.free_text {
            corrections.push(Correction {
                field: CorrectedField::FreeText,
                value: sealer.seal_text("the free text", text).await?,
            });
        }
        for (question, answer) in &c.answers {
            corrections.push(Correction {
                field: CorrectedField::Answer {
                    question: crate::input::text("the question", question)?,
                },
                value: sealer.seal_text("the answer", answer).await?,
            });
        }
        if corrections.is_empty() {
            return Err(AppError::bad_input(
                "a rectification is carried out with the corrected values",
            ));
        }
        Ok(corrections)
    }

    /// Closes request `id` with the `answer` given to the subject.
    pub async fn close_subject_request(
        &self,
        caller: &Caller,
        id: &str,
        answer: Option<&str>,
    ) -> AppResult<Outcome> {
        let reader = self.reader(caller).await?;
        let summary = self.own_subject_request(&reader, id).await?;
        let answer = match answer {
            Some(a) => Some(
                self.seal_text(&subject_request_key_id(&summary.id), "the answer", a)
                    .await?,
            ),
            None => None,
        };
        self.execute(
            caller,
            &summary.id,
            SubjectRequestCommand::Close { answer },
            &Wait::of(None, &DEFAULT_WAIT)?,
        )
        .await
    }

    /// Extends request `id`'s deadline by `months` (at most two), once, before it passed,
    /// with the `reason` the subject is told (Art. 12(3) of Regulation (EU) 2016/679).
    pub async fn extend_subject_request_deadline(
        &self,
        caller: &Caller,
        id: &str,
        months: u32,
        reason: &str,
    ) -> AppResult<Outcome> {
        let reader = self.reader(caller).await?;
        let summary = self.own_subject_request(&reader, id).await?;
        let command = SubjectRequestCommand::ExtendDeadline {
            months,
            reason: reason.to_string(),
        };
        self.execute(
            caller,
            &summary.id,
            command,
            &Wait::of(None, &DEFAULT_WAIT)?,
        )
        .await
    }

    /// The request `id` if the reader handles its authority's data subjects' requests in its
    /// area; otherwise answered as a missing one.
    async fn own_subject_request(
        &self,
        reader: &ActorContext,
        id: &str,
    ) -> AppResult<SubjectRequestSummary> {
        let id = crate::input::id(id)?;
        subject_requests::get(&self.reads, &id)
            .await
            .map_err(|e| AppError::database("reading a data subject's request", &e))?
            .filter(|s| {
                reader.belongs_to(&s.authority_id) && handles_subject_requests(reader, &s.area)
            })
            .ok_or_else(|| AppError::from(unknown_subject_request()))
    }

    fn view_of(&self, s: &SubjectRequestSummary) -> SubjectRequestView {
        let today = self.clock.now().date_naive();
        SubjectRequestView {
            id: s.id.clone(),
            kind: s.kind,
            authority_id: s.authority_id.clone(),
            request_id: s
                .exchange
                .strip_prefix("InformationRequest/")
                .map(String::from),
            alert_id: s.exchange.strip_prefix("Alert/").map(String::from),
            status: s.status,
            recorded_by: s.recorded_by.clone(),
            recorded_at: s.recorded_at,
            due_on: s.due_on,
            extended: s.extended,
            overdue: s.open() && today > s.due_on,
            carried_out_at: s.carried_out_at,
            closed_at: s.closed_at,
            subject: None,
            answer: None,
        }
    }

    /// The export of the subject's data in request `request_id`, opened for `reader` at the
    /// level the policy allows a data subject's access, and logged.
    async fn subject_export(
        &self,
        reader: &ActorContext,
        request_id: &str,
    ) -> AppResult<SubjectExport> {
        let (full, steps) = request_full::get_with_steps(&self.pool, request_id)
            .await
            .map_err(|e| AppError::database("reading a request", &e))?
            .ok_or_else(|| AppError::from(imi_domain::request::unknown_request()))?;
        let s = &full.summary;
        let level = subject_access_level(s);
        let personal = RequestField::Subject.shown_at(level);
        let mut opener = Opener::new(
            self,
            personal,
            Reading::by(reader, "subjectRequest.accessExport", level),
        );
        let d = &full.details;
        let subject = opener.value(&d.draft.subject, "subject").await?;
        let free_text = match &d.draft.free_text {
            Some(t) => opener.text(t, "freeText").await?,
            None => None,
        };
        let mut answers = Vec::new();
        for (question, sealed) in &d.answers {
            answers.push((question.clone(), opener.text(sealed, "answers").await?));
        }
        let mut attachment_names = Vec::new();
        for a in d.draft.attachments.iter().chain(&d.reply_attachments) {
            attachment_names.push(opener.text(&a.name, "attachments.name").await?);
        }
        let mut step_texts = Vec::new();
        if RequestField::StepTexts.shown_at(level) {
            for step in &steps {
                if !shows_step(
                    reader,
                    s,
                    RequestViewLevel::FullWithPersonalData,
                    &step.event_type,
                    step.by_authority.as_deref(),
                ) {
                    continue;
                }
                let body = step
                    .payload
                    .get(&step.event_type)
                    .cloned()
                    .unwrap_or_default();
                for field in ["justification", "opinion", "comment"] {
                    if let Some(sealed) = body
                        .get(field)
                        .and_then(|v| serde_json::from_value::<Sealed>(v.clone()).ok())
                    {
                        step_texts.push(opener.text(&sealed, "steps.text").await?);
                    }
                }
            }
        }
        let erased = opener.erased || s.personal_data_deleted();
        opener.finish().await?;
        Ok(SubjectExport {
            request_id: s.request_id.clone(),
            area: s.area.code().to_string(),
            requesting_authority: s.requesting.authority_id.clone(),
            responding_authority: s.dispatched().then(|| s.responding.authority_id.clone()),
            drafted_at: s.dates.drafted_at,
            closed_at: s.dates.closed_at,
            personal_data_blocked: s.personal_data_blocked(),
            personal_data_erased: erased,
            subject,
            free_text,
            answers,
            attachment_names,
            step_texts,
        })
    }
}
