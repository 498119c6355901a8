//! Alerts in full: the content and every entry of an alert's history (sent back, additional
//! information and requests for it, closure proposal, comments, objections, rejection,
//! withdrawal). Personal data and free text stay sealed in the rows, exactly as the events
//! carry them; the gateway opens them only at the view level the policy allows.

use crate::alert_fold;
use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::writes::{literal, Writes};
use chrono::{DateTime, Utc};
use imi_domain::alert::{AlertContent, AlertEvent, InformationKind};
use imi_domain::sealed::Sealed;
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};

pub const NAME: &str = "alert_full";

pub struct AlertFullProjection;

#[async_trait::async_trait]
impl Projection for AlertFullProjection {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        2
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/alert_full.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[crate::alert_fold::ALERT])
    }
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let mut writes = Writes::default();
        let Some(folded) = alert_fold::fold_alerts(db, events, &mut writes).await? else {
            return Ok(Writes::default());
        };
        let rows: Vec<Row> = folded
            .changed
            .iter()
            .filter_map(|id| {
                folded.alerts[id].content().map(|content| Row {
                    alert_id: id.clone(),
                    content: content.clone(),
                    updated_at: folded.updated_at[id],
                })
            })
            .collect();
        writes.replace("alerts", "alert_id", &folded.changed, &rows)?;
        let mut entries = Vec::new();
        let mut broadcast = Vec::new();
        let mut proposals = Vec::new();
        for (e, event) in &folded.events {
            if let AlertEvent::AdditionalInformationBroadcast { information_id, .. } = event {
                broadcast.push((e.aggregate_id.clone(), information_id.clone()));
            } else if let AlertEvent::ClosureProposalBroadcast { .. } = event {
                proposals.push((e.aggregate_id.clone(), e.sequence));
            } else if let Some(entry) = entry_of(e, event) {
                entries.push(entry);
            }
        }
        writes.insert("entries", &entries)?;
        // One statement each for the batch (a rebuild's batch holds thousands), after the
        // batch's entries are inserted.
        if !broadcast.is_empty() {
            let (alerts, informations): (Vec<String>, Vec<String>) = broadcast.into_iter().unzip();
            writes.sql(format!(
                "UPDATE entries e SET broadcast = true
                   FROM unnest({}::text[], {}::text[]) AS k(alert_id, information_id)
                  WHERE (e.alert_id, e.information_id) = (k.alert_id, k.information_id)",
                literal(&alerts),
                literal(&informations)
            ));
        }
        // The closing coordinator broadcasts the latest proposal before the broadcast: a batch
        // may hold a later one too.
        if !proposals.is_empty() {
            let (alerts, sequences): (Vec<String>, Vec<i64>) = proposals.into_iter().unzip();
            let sequences: Vec<String> = sequences.iter().map(i64::to_string).collect();
            writes.sql(format!(
                "UPDATE entries e SET broadcast = true
                   FROM unnest({}::text[], '{{{}}}'::bigint[]) AS k(alert_id, broadcast_at)
                  WHERE e.alert_id = k.alert_id
                    AND e.sequence = (SELECT max(p.sequence) FROM entries p
                                       WHERE p.alert_id = k.alert_id
                                         AND p.entry = 'ClosureProposal'
                                         AND p.sequence < k.broadcast_at)",
                literal(&alerts),
                sequences.join(",")
            ));
        }
        Ok(writes)
    }
}

#[derive(Serialize)]
struct Row {
    alert_id: String,
    content: AlertContent,
    updated_at: DateTime<Utc>,
}

/// One entry of an alert's history, as stored and read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub alert_id: String,
    pub sequence: i64,
    /// `SentBack`, `Information`, `InformationRequest`, `ClosureProposal`, `Comment`,
    /// `ClosureRejection`, `Objection`, `Withdrawal`.
    pub entry: String,
    pub authority_id: String,
    pub information_id: Option<String>,
    pub broadcast: bool,
    pub text: Sealed,
    pub attachments: Vec<Sealed>,
    pub at: DateTime<Utc>,
}

/// The entries of one alert's whole history `events`, as the tables hold them after
/// applying them (the broadcasts below, in memory).
pub(crate) fn entries_of(events: &[(&FeedEvent, AlertEvent)]) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for (e, event) in events {
        match event {
            AlertEvent::AdditionalInformationBroadcast { information_id, .. } => entries
                .iter_mut()
                .filter(|x| x.information_id.as_ref() == Some(information_id))
                .for_each(|x| x.broadcast = true),
            AlertEvent::ClosureProposalBroadcast { .. } => {
                if let Some(latest) = entries
                    .iter_mut()
                    .filter(|x| x.entry == "ClosureProposal")
                    .max_by_key(|x| x.sequence)
                {
                    latest.broadcast = true;
                }
            }
            _ => entries.extend(entry_of(e, event)),
        }
    }
    entries
}

fn entry_of(e: &FeedEvent, event: &AlertEvent) -> Option<Entry> {
    use AlertEvent as E;
    let entry = |kind: &str, by: &str, text: &Sealed| Entry {
        alert_id: e.aggregate_id.clone(),
        sequence: e.sequence,
        entry: kind.to_string(),
        authority_id: by.to_string(),
        information_id: None,
        broadcast: true,
        text: text.clone(),
        attachments: vec![],
        at: e.recorded_at,
    };
    Some(match event {
        E::AlertSentBack {
            coordinator,
            reason,
        } => entry("SentBack", coordinator, reason),
        E::AdditionalInformationSubmitted {
            information_id,
            kind,
            submitted_by,
            text,
            attachments,
            ..
        } => {
            let name = match kind {
                InformationKind::Information => "Information",
                InformationKind::Request => "InformationRequest",
            };
            Entry {
                information_id: Some(information_id.clone()),
                broadcast: false,
                attachments: attachments.clone(),
                ..entry(name, submitted_by, text)
            }
        }
        E::ClosureProposed {
            proposed_by,
            reason,
            ..
        } => Entry {
            broadcast: false,
            ..entry("ClosureProposal", proposed_by, reason)
        },
        E::ClosureCommented {
            commented_by,
            comment,
        } => entry("Comment", commented_by, comment),
        E::ClosureProposalRejected {
            closing_coordinator,
            reason,
        } => entry("ClosureRejection", closing_coordinator, reason),
        E::ClosureObjected {
            objected_by,
            objection,
            ..
        } => entry("Objection", objected_by, objection),
        E::AlertWithdrawn {
            withdrawn_by,
            reason,
            ..
        } => entry("Withdrawal", withdrawn_by, reason),
        _ => return None,
    })
}

// --- Queries --------------------------------------------------------------------------

/// An alert's content and history, sealed values sealed.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertDetails {
    pub content: AlertContent,
    pub entries: Vec<Entry>,
}

/// The content and entries of one alert.
pub async fn get(
    db: &mut PgConnection,
    alert_id: &str,
) -> Result<Option<AlertDetails>, sqlx::Error> {
    let content: Option<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT content FROM {NAME}.alerts WHERE alert_id = $1"
    ))
    .bind(alert_id)
    .fetch_optional(&mut *db)
    .await?;
    let Some(content) = content else {
        return Ok(None);
    };
    let entries = entries(&mut *db, alert_id).await?;
    Ok(Some(AlertDetails {
        content: fold::decode(content)?,
        entries,
    }))
}

async fn entries<'e>(db: impl PgExecutor<'e>, alert_id: &str) -> Result<Vec<Entry>, sqlx::Error> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(e) FROM {NAME}.entries e WHERE alert_id = $1 ORDER BY sequence"
    ))
    .bind(alert_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(fold::decode).collect()
}
