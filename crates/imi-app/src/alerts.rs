//! Alerts (SD and PQ): the commands that carry personal data (sealed here under the alert's
//! key) and the views: one alert, a page of them, the work queues. Every view is the alert as
//! the reader may know it ([`visibility::as_seen_by`]), at the level of
//! [`imi_domain::alert::view_level`], with the fields and history entries the declared rules
//! of [`imi_domain::alert::visibility`] show.

use crate::caller::Caller;
use crate::dispatch::{Outcome, Wait};
use crate::error::{AppError, AppResult};
use crate::input;
use crate::opening::{Opener, Reading, Sealer};
use crate::translation::TextSource;
use crate::App;
use chrono::{DateTime, NaiveDate, Utc};
use imi_domain::access::ActorContext;
use imi_domain::alert::policy::{authorize_step, AlertStep};
use imi_domain::alert::visibility::{self, AlertField, EntryKind};
use imi_domain::alert::{
    self as d, alert_key_id, AlertCommand, AlertContent, AlertQueue, AlertStatus, AlertSummary,
    AlertViewLevel, InformationKind,
};
use imi_domain::authority::LegislativeArea;
use imi_domain::reference::MemberState;
use imi_domain::sealed::Sealed;
use imi_notify::texts::language_of_member_state;
use imi_projections::{alert_full, alert_overview, alert_queue, alert_statistics};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The alert projections a command waits for unless told otherwise.
pub const DEFAULT_WAIT: [&str; 4] = [
    alert_overview::NAME,
    alert_full::NAME,
    alert_queue::NAME,
    alert_statistics::NAME,
];
/// Most attachments' names per alert or information.
pub const MAX_ATTACHMENTS: usize = 50;

// --- Input ---------------------------------------------------------------------------------

/// An SD alert's content, in the clear as the client sends it.
#[derive(Clone, Debug, Default)]
pub struct SdAlertInput {
    pub service_activity: Option<String>,
    pub member_state_of_establishment: Option<String>,
    pub dangerous_activity: String,
    pub service_provider: String,
    pub attachment_names: Vec<String>,
}

/// A PQ alert's content (Art. 56a(2) of Directive 2005/36/EC).
#[derive(Clone, Debug)]
pub struct PqAlertInput {
    pub profession: String,
    pub scope: d::RestrictionScope,
    pub applies_from: NaiveDate,
    pub applies_until: Option<NaiveDate>,
    pub decided_at: DateTime<Utc>,
    pub deciding_authority: String,
    pub member_state_of_establishment: Option<String>,
    pub professional: String,
    pub details: Option<String>,
    pub attachment_names: Vec<String>,
}

/// An alert's content as the client sends it.
#[derive(Clone, Debug)]
pub enum AlertInput {
    Services(SdAlertInput),
    ProfessionalQualifications(PqAlertInput),
}

/// Additional information to an alert, or a request for it, as the client sends it.
#[derive(Clone, Debug)]
pub struct InformationInput {
    pub kind: InformationKind,
    /// The alert coordinator it goes through.
    pub coordinator_id: String,
    pub text: String,
    pub attachment_names: Vec<String>,
}

/// A step that carries one free text (personal data, sealed).
#[derive(Clone, Debug)]
pub enum AlertTextStep {
    SendBack,
    ProposeClosure { closing_coordinator_id: String },
    Comment,
    RejectClosureProposal,
    Object,
    Withdraw,
}

fn member_state(code: &str) -> AppResult<MemberState> {
    Ok(MemberState::parse(code)?)
}

/// Member States by code.
pub fn member_states(codes: &[String]) -> AppResult<BTreeSet<MemberState>> {
    codes.iter().map(|c| member_state(c)).collect()
}

impl App {
    async fn seal_names(sealer: &mut Sealer<'_>, names: &[String]) -> AppResult<Vec<Sealed>> {
        if names.len() > MAX_ATTACHMENTS {
            return Err(AppError::bad_input(format!(
                "at most {MAX_ATTACHMENTS} attachments"
            )));
        }
        let mut sealed = Vec::with_capacity(names.len());
        for name in names {
            sealed.push(sealer.seal_text("an attachment's name", name).await?);
        }
        Ok(sealed)
    }

    async fn alert_content(&self, id: &str, input: AlertInput) -> AppResult<AlertContent> {
        let key = alert_key_id(id);
        let mut sealer = self.sealer(&key);
        Ok(match input {
            AlertInput::Services(s) => AlertContent::Services(d::ServicesAlert {
                service_activity: input::optional_text(
                    "the service activity",
                    s.service_activity.as_deref(),
                )?,
                member_state_of_establishment: s
                    .member_state_of_establishment
                    .as_deref()
                    .map(member_state)
                    .transpose()?,
                dangerous_activity: sealer
                    .seal_text("the dangerous activity", &s.dangerous_activity)
                    .await?,
                service_provider: sealer
                    .seal_text("the service provider", &s.service_provider)
                    .await?,
                attachments: Self::seal_names(&mut sealer, &s.attachment_names).await?,
            }),
            AlertInput::ProfessionalQualifications(p) => {
                let details = match input::optional_text("the details", p.details.as_deref())? {
                    Some(t) => Some(sealer.seal(&t).await?),
                    None => None,
                };
                AlertContent::ProfessionalQualifications(d::ProfessionalAlert {
                    profession: input::text("the profession", &p.profession)?,
                    scope: p.scope,
                    applies_from: p.applies_from,
                    applies_until: p.applies_until,
                    decided_at: p.decided_at,
                    deciding_authority: input::text(
                        "the deciding authority",
                        &p.deciding_authority,
                    )?,
                    member_state_of_establishment: p
                        .member_state_of_establishment
                        .as_deref()
                        .map(member_state)
                        .transpose()?,
                    professional: sealer
                        .seal_text("the professional", &p.professional)
                        .await?,
                    details,
                    attachments: Self::seal_names(&mut sealer, &p.attachment_names).await?,
                })
            }
        })
    }

    /// An alert handler drafts an alert in `area`; returns its new id.
    pub async fn draft_alert(
        &self,
        caller: &Caller,
        area: &str,
        content: AlertInput,
        wait: &Wait,
    ) -> AppResult<(String, Outcome)> {
        let id = uuid::Uuid::now_v7().to_string();
        let area: LegislativeArea = input::area(area)?;
        let content = self.alert_content(&id, content).await?;
        let command = AlertCommand::DraftAlert {
            alert_id: id.clone(),
            area,
            content,
        };
        let outcome = self.execute(caller, &id, command, wait).await?;
        Ok((id, outcome))
    }

    /// The initiating authority replaces its draft (or an alert sent back).
    pub async fn amend_alert(
        &self,
        caller: &Caller,
        id: &str,
        content: AlertInput,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let id = input::id(id)?;
        let content = self.alert_content(&id, content).await?;
        let command = AlertCommand::AmendDraft { content };
        self.execute(caller, &id, command, wait).await
    }

    /// An involved authority adds information (or asks for it) through a coordinator; returns
    /// the information's new id.
    pub async fn submit_alert_information(
        &self,
        caller: &Caller,
        id: &str,
        information: InformationInput,
        wait: &Wait,
    ) -> AppResult<(String, Outcome)> {
        let id = input::id(id)?;
        let key = alert_key_id(&id);
        let mut sealer = self.sealer(&key);
        let information_id = uuid::Uuid::now_v7().to_string();
        let command = AlertCommand::SubmitAdditionalInformation {
            information_id: information_id.clone(),
            kind: information.kind,
            coordinator_id: input::id(&information.coordinator_id)?,
            text: sealer
                .seal_text("the information", &information.text)
                .await?,
            attachments: Self::seal_names(&mut sealer, &information.attachment_names).await?,
        };
        let outcome = self.execute(caller, &id, command, wait).await?;
        Ok((information_id, outcome))
    }

    /// A step that carries a free text (sealed).
    pub async fn alert_text_step(
        &self,
        caller: &Caller,
        id: &str,
        step: AlertTextStep,
        text: &str,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let id = input::id(id)?;
        let key = alert_key_id(&id);
        let what = match &step {
            AlertTextStep::Comment => "the comment",
            AlertTextStep::Object => "the objection",
            _ => "the reason",
        };
        let sealed = self.seal_text(&key, what, text).await?;
        let command = match step {
            AlertTextStep::SendBack => AlertCommand::SendBackAlert { reason: sealed },
            AlertTextStep::ProposeClosure {
                closing_coordinator_id,
            } => AlertCommand::ProposeClosure {
                closing_coordinator_id: input::id(&closing_coordinator_id)?,
                reason: sealed,
            },
            AlertTextStep::Comment => AlertCommand::CommentOnClosure { comment: sealed },
            AlertTextStep::RejectClosureProposal => {
                AlertCommand::RejectClosureProposal { reason: sealed }
            }
            AlertTextStep::Object => AlertCommand::ObjectToClosure { objection: sealed },
            AlertTextStep::Withdraw => AlertCommand::WithdrawAlert { reason: sealed },
        };
        self.execute(caller, &id, command, wait).await
    }

    /// A step that carries no personal data.
    pub async fn alert_step(
        &self,
        caller: &Caller,
        id: &str,
        command: AlertCommand,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let id = input::id(id)?;
        self.execute(caller, &id, command, wait).await
    }
}

// --- Views ---------------------------------------------------------------------------------

/// An alert's content at the reader's level: personal data only at the full level.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertContentView {
    pub service_activity: Option<String>,
    pub member_state_of_establishment: Option<String>,
    pub applies_from: Option<NaiveDate>,
    pub applies_until: Option<NaiveDate>,
    pub decided_at: Option<DateTime<Utc>>,
    pub deciding_authority: Option<String>,
    pub dangerous_activity: Option<String>,
    pub service_provider: Option<String>,
    pub professional: Option<String>,
    pub details: Option<String>,
    pub attachment_names: Option<Vec<String>>,
    /// The alert's personal data were erased.
    pub erased: bool,
    /// The free texts (`dangerousActivity`, `details`) as a translation needs them, where shown.
    #[serde(skip)]
    pub text_sources: Vec<TextSource>,
}

/// One entry of an alert's history the reader may see; its text only at the full level.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertEntryView {
    /// The event's place in the alert's history.
    pub sequence: i64,
    pub entry: String,
    pub authority_id: String,
    pub information_id: Option<String>,
    pub broadcast: bool,
    pub text: Option<String>,
    /// The text as a translation needs it (with the text only).
    #[serde(skip)]
    pub text_source: Option<TextSource>,
    pub attachment_names: Option<Vec<String>>,
    pub at: DateTime<Utc>,
}

/// An alert at the reader's level.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    #[serde(skip)]
    pub level: AlertViewLevel,
    /// The alert as the reader may know it (no personal data).
    pub summary: AlertSummary,
    /// A PQ alert's profession and scope, where the level shows them.
    pub profession: Option<String>,
    pub scope: Option<d::RestrictionScope>,
    pub content: Option<AlertContentView>,
    pub history: Option<Vec<AlertEntryView>>,
    pub updated_at: DateTime<Utc>,
}

impl AlertView {
    pub(crate) fn overview(
        reader: &ActorContext,
        summary: &AlertSummary,
        level: AlertViewLevel,
        updated_at: DateTime<Utc>,
    ) -> Self {
        let scoped = AlertField::ProfessionAndScope.shown_at(level);
        Self {
            level,
            summary: visibility::as_seen_by(reader, summary),
            profession: summary.profession.clone().filter(|_| scoped),
            scope: summary.scope.filter(|_| scoped),
            content: None,
            history: None,
            updated_at,
        }
    }
}

/// An alert waiting in one of the reader's work queues.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueEntry {
    pub queue: AlertQueue,
    pub since: DateTime<Utc>,
    pub alert: AlertView,
    /// The cursor key of this entry (`<queue>|<alert id>`).
    pub key: String,
}

/// Narrows a page of alerts.
#[derive(Clone, Debug, Default)]
pub struct AlertsFilter {
    pub status: Option<AlertStatus>,
    pub area: Option<String>,
    pub kind: Option<d::AlertKind>,
    pub involvement: Option<d::Involvement>,
}

pub(crate) fn unknown_alert() -> AppError {
    AppError::from(d::unknown_alert())
}

impl App {
    /// One alert at the reader's level, with its content and history as the level shows them.
    pub async fn alert(&self, caller: &Caller, id: &str) -> AppResult<AlertView> {
        let reader = self.reader(caller).await?;
        let id = input::id(id)?;
        let entry = alert_overview::get(&self.reads, &id)
            .await
            .map_err(|e| AppError::database("reading an alert", &e))?
            .ok_or_else(unknown_alert)?;
        let level = d::view_level(Some(&reader), &entry.summary).ok_or_else(unknown_alert)?;
        let view = AlertView::overview(&reader, &entry.summary, level, entry.updated_at);
        self.with_details(&reader, &entry.summary, view, None).await
    }

    /// Adds the content and history `view.level` shows: from `past` (an alert as of a past
    /// point, `crate::as_of`), else from the read model.
    pub(crate) async fn with_details(
        &self,
        reader: &Arc<ActorContext>,
        summary: &AlertSummary,
        mut view: AlertView,
        past: Option<alert_full::AlertDetails>,
    ) -> AppResult<AlertView> {
        let level = view.level;
        if !AlertField::ContentFacts.shown_at(level) {
            return Ok(view);
        }
        let operation = if past.is_some() {
            "alert.asOf"
        } else {
            "alert"
        };
        let details = match past {
            Some(details) => details,
            None => {
                let mut conn = imi_store::pool::acquire(&self.reads)
                    .await
                    .map_err(|e| AppError::database("reading an alert", &e))?;
                let Some(details) = alert_full::get(&mut conn, &view.summary.alert_id)
                    .await
                    .map_err(|e| AppError::database("reading an alert", &e))?
                else {
                    return Ok(view);
                };
                details
            }
        };
        let full = AlertField::PersonalData.shown_at(level);
        let summary_deleted = view.summary.personal_data_deleted_at.is_some();
        let reading = Reading::by(reader, operation, level);
        let mut opener = Opener::new(self, full, reading.clone());
        // Texts are in their author's language: the first official one of its Member State.
        let initiating_language = language_of_member_state(summary.initiating_member_state.code());
        let source = |sealed: &Sealed, field: &'static str, language: &str| TextSource {
            sealed: sealed.clone(),
            field,
            language: language.to_string(),
            reading: reading.clone(),
        };
        let mut content = AlertContentView::default();
        match &details.content {
            AlertContent::Services(s) => {
                content.service_activity = s.service_activity.clone();
                content.member_state_of_establishment = s
                    .member_state_of_establishment
                    .as_ref()
                    .map(|m| m.code().to_string());
                if full {
                    content.dangerous_activity = opener
                        .text(&s.dangerous_activity, "dangerousActivity")
                        .await?;
                    if content.dangerous_activity.is_some() {
                        content.text_sources.push(source(
                            &s.dangerous_activity,
                            "dangerousActivity",
                            initiating_language,
                        ));
                    }
                    content.service_provider =
                        opener.text(&s.service_provider, "serviceProvider").await?;
                    content.attachment_names = Some(
                        opener
                            .texts(&s.attachments, "attachmentNames")
                            .await?
                            .into_iter()
                            .flatten()
                            .collect(),
                    );
                }
            }
            AlertContent::ProfessionalQualifications(p) => {
                content.applies_from = Some(p.applies_from);
                content.applies_until = p.applies_until;
                content.decided_at = Some(p.decided_at);
                content.deciding_authority = Some(p.deciding_authority.clone());
                content.member_state_of_establishment = p
                    .member_state_of_establishment
                    .as_ref()
                    .map(|m| m.code().to_string());
                if full {
                    content.professional = opener.text(&p.professional, "professional").await?;
                    if let Some(details) = &p.details {
                        content.details = opener.text(details, "details").await?;
                        if content.details.is_some() {
                            content.text_sources.push(source(
                                details,
                                "details",
                                initiating_language,
                            ));
                        }
                    }
                    content.attachment_names = Some(
                        opener
                            .texts(&p.attachments, "attachmentNames")
                            .await?
                            .into_iter()
                            .flatten()
                            .collect(),
                    );
                }
            }
        }
        let mut history = Vec::new();
        for e in &details.entries {
            let kind = EntryKind::parse(&e.entry);
            if !visibility::shows_entry(reader, summary, level, kind, &e.authority_id, e.broadcast)
            {
                continue;
            }
            let language = summary
                .recipients
                .get(&e.authority_id)
                .map(|m| language_of_member_state(m.code()))
                .unwrap_or(initiating_language);
            let (text, names) = if full {
                let text = opener.text(&e.text, "history.text").await?;
                let names = opener
                    .texts(&e.attachments, "history.attachmentNames")
                    .await?
                    .into_iter()
                    .flatten()
                    .collect();
                (text, Some(names))
            } else {
                (None, None)
            };
            history.push(AlertEntryView {
                sequence: e.sequence,
                entry: e.entry.clone(),
                authority_id: e.authority_id.clone(),
                information_id: e.information_id.clone(),
                broadcast: e.broadcast,
                text_source: text
                    .is_some()
                    .then(|| source(&e.text, "history.text", language)),
                text,
                attachment_names: names,
                at: e.at,
            });
        }
        content.erased = opener.erased || summary_deleted;
        opener.finish().await?;
        view.content = Some(content);
        view.history = Some(history);
        Ok(view)
    }

    /// The alerts the reader's authority has access to, by id, after `after`; at most `limit`
    /// and whether there are more (overviews only: content and history are [`App::alert`]'s).
    pub async fn alerts(
        &self,
        caller: &Caller,
        filter: AlertsFilter,
        after: Option<String>,
        limit: i64,
    ) -> AppResult<(Vec<AlertView>, bool)> {
        let reader = self.reader(caller).await?;
        let query = alert_overview::AlertFilter {
            // The status as the reader knows it is filtered below: a proposal still in its
            // comment period is not a status outside the Member State responsible.
            status: None,
            area: filter
                .area
                .as_deref()
                .map(input::area)
                .transpose()?
                .map(|a| a.code().to_string()),
            kind: filter.kind.map(|k| k.as_str().to_string()),
            involvement: filter.involvement.map(|i| format!("{i:?}")),
        };
        if limit <= 0 {
            return Ok((vec![], false));
        }
        let mut views = Vec::new();
        let mut cursor = after;
        // Read on until the page is full or the list ends (filtering by the status as seen
        // may skip rows).
        loop {
            let found = alert_overview::for_authority(
                &self.reads,
                reader.authority_id(),
                &query,
                cursor.as_deref(),
                limit + 1,
            )
            .await
            .map_err(|e| AppError::database("reading alerts", &e))?;
            let exhausted = found.len() as i64 <= limit;
            for e in found {
                cursor = Some(e.summary.alert_id.clone());
                let Some(level) = d::view_level(Some(&reader), &e.summary) else {
                    continue;
                };
                let view = AlertView::overview(&reader, &e.summary, level, e.updated_at);
                if filter.status.is_some_and(|s| s != view.summary.status) {
                    continue;
                }
                if views.len() as i64 == limit {
                    return Ok((views, true));
                }
                views.push(view);
            }
            if exhausted {
                return Ok((views, false));
            }
        }
    }

    /// The alerts waiting for the reader: in their authority's queues, where their roles let
    /// them take the queue's step now (a coordinator's basic user does not see what only its
    /// disseminators may broadcast). By queue, then id.
    pub async fn alert_queue(
        &self,
        caller: &Caller,
        queue: Option<AlertQueue>,
        after: Option<(String, String)>,
        limit: i64,
    ) -> AppResult<(Vec<QueueEntry>, bool)> {
        let reader = self.reader(caller).await?;
        if limit <= 0 {
            return Ok((vec![], false));
        }
        let mut entries = Vec::new();
        let mut cursor = after;
        loop {
            let after_key = cursor.as_ref().map(|(q, a)| (q.as_str(), a.as_str()));
            let found = alert_queue::for_authority(
                &self.reads,
                reader.authority_id(),
                queue,
                after_key,
                limit + 1,
            )
            .await
            .map_err(|e| AppError::database("reading alert queues", &e))?;
            let exhausted = found.len() as i64 <= limit;
            let ids: Vec<String> = found.iter().map(|q| q.alert_id.clone()).collect();
            let alerts = alert_overview::get_many(&self.reads, &ids)
                .await
                .map_err(|e| AppError::database("reading alerts", &e))?;
            for q in found {
                cursor = Some((q.queue.clone(), q.alert_id.clone()));
                let Some(kind) = queue_of(&q.queue) else {
                    continue;
                };
                // An alert in two queues is shown in each.
                let Some(entry) = alerts.get(&q.alert_id) else {
                    continue;
                };
                let Some(level) = d::view_level(Some(&reader), &entry.summary) else {
                    continue;
                };
                let step = AlertStep::of_queue(kind, &reader, &entry.summary);
                if authorize_step(&reader, step, &entry.summary).is_err() {
                    continue;
                }
                if entries.len() as i64 == limit {
                    return Ok((entries, true));
                }
                entries.push(QueueEntry {
                    queue: kind,
                    since: q.since,
                    key: format!("{}|{}", q.queue, q.alert_id),
                    alert: AlertView::overview(&reader, &entry.summary, level, entry.updated_at),
                });
            }
            if exhausted {
                return Ok((entries, false));
            }
        }
    }

    /// Alert figures by Member State (no personal data), in `area` if given: for any active
    /// user of a validated authority, and the European Commission's statistics reader.
    pub async fn alert_statistics(
        &self,
        caller: &Caller,
        area: Option<&str>,
    ) -> AppResult<Vec<alert_statistics::MemberStateStatistics>> {
        self.statistics_reader(caller).await?;
        let area = area.map(input::area).transpose()?;
        alert_statistics::by_member_state(&self.reads, area.as_ref().map(|a| a.code()))
            .await
            .map_err(|e| AppError::database("reading alert statistics", &e))
    }
}

/// A queue by its stored name.
pub fn queue_of(name: &str) -> Option<AlertQueue> {
    use AlertQueue as Q;
    [
        Q::ToBroadcast,
        Q::ToAcknowledge,
        Q::ToDisseminate,
        Q::ToComment,
        Q::ToObject,
        Q::InformationToBroadcast,
        Q::ToClose,
    ]
    .into_iter()
    .find(|q| q.as_str() == name)
}
