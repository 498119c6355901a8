//! Data subjects' requests about an alert: recorded by a data administrator of an authority
//! involved in the alert, carried out on the Alert aggregate (rectification of the person or
//! the description, blocking, erasure of the alert's data key), and the access export of the
//! alert's personal data. The SubjectRequest aggregate and the carrying out are shared with
//! requests ([`crate::subject_requests`]).

use crate::caller::Caller;
use crate::dispatch::{Command, Outcome, Wait};
use crate::error::{AppError, AppResult};
use crate::opening::{Opener, Reading};
use crate::subject_requests::{Rectification, PROCESS};
use crate::App;
use chrono::{DateTime, Utc};
use imi_domain::access::ActorContext;
use imi_domain::actor::Actor;
use imi_domain::alert::visibility::{self, EntryKind};
use imi_domain::alert::{alert_key_id, AlertCommand, AlertContent, AlertViewLevel};
use imi_domain::subject_request::{
    subject_request_key_id, ExchangeFacts, SubjectRequestCommand, SubjectRequestKind,
    SubjectRequestSummary,
};
use imi_projections::{alert_full, alert_overview};
use imi_store::feed::FeedPosition;
use imi_store::metadata::CommandMetadata;

/// The read models a data subject's request about an alert waits for.
pub const ALERT_WAIT: [&str; 3] = [
    imi_projections::subject_requests::NAME,
    alert_overview::NAME,
    alert_full::NAME,
];

/// What a data subject's access exports of the alert it is about: its facts, and its
/// personal data unless blocked (absent and marked erased once erased).
#[derive(Clone, Debug, PartialEq)]
pub struct AlertSubjectExport {
    pub alert_id: String,
    pub area: String,
    /// `SD` or `PQ`.
    pub kind: String,
    pub initiating_authority: String,
    pub drafted_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub personal_data_blocked: bool,
    pub personal_data_erased: bool,
    /// The service provider or the professional.
    pub person: Option<String>,
    /// The dangerous activity, or a PQ alert's details.
    pub description: Option<String>,
    pub attachment_names: Vec<Option<String>>,
    /// The texts of the alert's history (information, closure, comments, objections).
    pub history_texts: Vec<Option<String>>,
}

/// The level at which a data subject's access exports an alert: everything the authority
/// holds, personal data included, unless they are blocked (then the facts only).
pub fn alert_subject_access_level(summary: &imi_domain::alert::AlertSummary) -> AlertViewLevel {
    if summary.personal_data_blocked_at.is_some() {
        AlertViewLevel::HighLevel
    } else {
        AlertViewLevel::FullWithPersonalData
    }
}

impl App {
    /// Records a data subject's request of `kind` about alert `alert_id`; `subject`
    /// identifies them (sealed under the new request's own key). Returns its id.
    pub async fn record_alert_subject_request(
        &self,
        caller: &Caller,
        alert_id: &str,
        kind: SubjectRequestKind,
        subject: &str,
    ) -> AppResult<(String, Outcome)> {
        let reader = self.reader(caller).await?;
        let alert_id = crate::input::id(alert_id)?;
        let entry = alert_overview::get(&self.pool, &alert_id)
            .await
            .map_err(|e| AppError::database("reading an alert", &e))?;
        // An alert the reader may not see answers as a missing one.
        let Some(entry) =
            entry.filter(|e| imi_domain::alert::view_level(Some(&reader), &e.summary).is_some())
        else {
            return Err(AppError::from(imi_domain::alert::unknown_alert()));
        };
        let id = uuid::Uuid::new_v4().to_string();
        let subject = self
            .seal_text(&subject_request_key_id(&id), "the subject", subject)
            .await?;
        let command = SubjectRequestCommand::Record {
            id: id.clone(),
            kind,
            exchange: ExchangeFacts {
                exchange: alert_key_id(&alert_id),
                area: entry.summary.area.clone(),
                participants: entry.summary.involved().into_keys().collect(),
            },
            subject,
        };
        let outcome = self
            .execute(caller, &id, command, &Wait::of(None, &ALERT_WAIT)?)
            .await?;
        Ok((id, outcome))
    }

    /// A rectification of an alert corrects the person and the description (its free
    /// text); it has no answers. Checked before anything is written, so the alert never refuses what the
    /// data subject's request recorded.
    pub(crate) fn alert_rectification(c: &Rectification) -> AppResult<()> {
        if !c.answers.is_empty() {
            return Err(AppError::bad_input("an alert has no answers to rectify"));
        }
        if c.subject.is_some() {
            return Err(AppError::bad_input(
                "an alert's provider or professional is corrected as its person",
            ));
        }
        Ok(())
    }

    /// The alert's side of a carried-out request, written once (see
    /// [`App::complete_subject_request`]).
    pub(crate) async fn on_alert(
        &self,
        s: &SubjectRequestSummary,
        alert_id: &str,
        metadata: CommandMetadata,
    ) -> AppResult<Option<FeedPosition>> {
        let recorded = imi_store::retention::recorded_for_subject_request(
            &self.pool, "Alert", alert_id, &s.id,
        )
        .await
        .map_err(|e| AppError::database("reading an alert's events", &e))?;
        if recorded {
            return Ok(None);
        }
        let state = alert_overview::get(&self.pool, alert_id)
            .await
            .map_err(|e| AppError::database("reading an alert", &e))?
            .ok_or_else(|| AppError::from(imi_domain::alert::unknown_alert()))?
            .summary;
        let deleted = state.personal_data_deleted_at.is_some();
        let subject_request = s.id.clone();
        let command = match s.kind {
            SubjectRequestKind::Access => return Ok(None),
            _ if deleted && s.kind != SubjectRequestKind::Erasure => return Ok(None),
            SubjectRequestKind::Rectification => AlertCommand::RectifyForSubject {
                subject_request,
                corrections: s.corrections.clone(),
            },
            SubjectRequestKind::Blocking if state.personal_data_blocked_at.is_some() => {
                return Ok(None)
            }
            SubjectRequestKind::Blocking => {
                AlertCommand::BlockPersonalDataForSubject { subject_request }
            }
            SubjectRequestKind::Erasure => {
                // The key first, as for a request.
                imi_store::retention::erase_exchange(
                    &self.pool,
                    &self.keyring,
                    &s.exchange,
                    &metadata.acting_user,
                    &format!("data subject's request {}", s.id),
                )
                .await
                .map_err(|e| AppError::sealing("erasing the alert's data key", &e))?;
                if deleted {
                    return Ok(None);
                }
                AlertCommand::RecordPersonalDataErasedForSubject { subject_request }
            }
        };
        self.run_as(
            Actor::system(PROCESS),
            metadata,
            alert_id,
            Command::Alert(command),
        )
        .await
    }

    /// The export of the subject's data in alert `alert_id`, opened for `reader` at the level
    /// a data subject's access allows, and logged.
    pub(crate) async fn alert_subject_export(
        &self,
        reader: &ActorContext,
        alert_id: &str,
    ) -> AppResult<AlertSubjectExport> {
        let summary = alert_overview::get(&self.pool, alert_id)
            .await
            .map_err(|e| AppError::database("reading an alert", &e))?
            .ok_or_else(|| AppError::from(imi_domain::alert::unknown_alert()))?
            .summary;
        let mut conn = imi_store::pool::acquire(&self.pool)
            .await
            .map_err(|e| AppError::database("reading an alert", &e))?;
        let details = alert_full::get(&mut conn, alert_id)
            .await
            .map_err(|e| AppError::database("reading an alert", &e))?
            .ok_or_else(|| AppError::from(imi_domain::alert::unknown_alert()))?;
        drop(conn);
        let level = alert_subject_access_level(&summary);
        let personal = level == AlertViewLevel::FullWithPersonalData;
        let mut opener = Opener::new(
            self,
            personal,
            Reading::by(reader, "subjectRequest.alertAccessExport", level),
        );
        let (person, description, attachments) = match &details.content {
            AlertContent::Services(c) => (
                opener.text(&c.service_provider, "serviceProvider").await?,
                opener
                    .text(&c.dangerous_activity, "dangerousActivity")
                    .await?,
                &c.attachments,
            ),
            AlertContent::ProfessionalQualifications(c) => (
                opener.text(&c.professional, "professional").await?,
                match &c.details {
                    Some(d) => opener.text(d, "details").await?,
                    None => None,
                },
                &c.attachments,
            ),
        };
        let attachment_names = opener.texts(attachments, "attachmentNames").await?;
        let mut history_texts = Vec::new();
        for e in &details.entries {
            let kind = EntryKind::parse(&e.entry);
            if visibility::shows_entry(reader, &summary, level, kind, &e.authority_id, e.broadcast)
            {
                history_texts.push(opener.text(&e.text, "history.text").await?);
            }
        }
        let erased = opener.erased || summary.personal_data_deleted_at.is_some();
        opener.finish().await?;
        Ok(AlertSubjectExport {
            alert_id: summary.alert_id.clone(),
            area: summary.area.code().to_string(),
            kind: summary.kind.as_str().to_string(),
            initiating_authority: summary.initiating_authority.clone(),
            drafted_at: summary.drafted_at,
            ended_at: summary.ended_at,
            personal_data_blocked: summary.personal_data_blocked_at.is_some(),
            personal_data_erased: erased,
            person,
            description,
            attachment_names,
            history_texts,
        })
    }
}
