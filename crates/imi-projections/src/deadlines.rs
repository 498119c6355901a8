//! Deadlines: the time rules pending in the log, each with the system command that acts on
//! it when it falls due (the scheduler in `imi-notify` issues them).
//!
//! Which events set or end which rule lives in [`rules_of`] (one function per aggregate
//! type). A rule's id carries what makes it unique (the code digest, the agreed date), so a
//! renewed rule is a new deadline and the record of acting on the old one does not hide it.

use crate::fold::TypedSequences;
use crate::projection::{Projection, ProjectionError};
use chrono::{DateTime, Utc};
use chrono::{Duration, Months, NaiveDate};
use imi_domain::alert::{AlertContent, AlertEvent, PQ_ALERT_DAYS};
use imi_domain::authority::AuthorityEvent;
use imi_domain::request::{
    RequestEvent, ACCEPTANCE_DAYS, BLOCKING_MONTHS, INACTIVITY_MONTHS, REMINDER_DAYS_BEFORE_DUE,
};
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use std::collections::{BTreeMap, BTreeSet};

pub const NAME: &str = "deadlines";

/// The rules, as stored.
pub mod rules {
    /// An unused registration code reaches its 30 days.
    pub const INVITATION_EXPIRY: &str = "invitation_expiry";
    /// A dispatched request not accepted within 7 days.
    pub const ACCEPTANCE: &str = "acceptance";
    /// The reminder some days before the agreed answer date.
    pub const DUE_SOON: &str = "due_soon";
    /// The agreed answer date passed without the full reply.
    pub const ANSWER_OVERDUE: &str = "answer_overdue";
    /// 2 months without activity on an open request.
    pub const INACTIVITY: &str = "inactivity";
    /// Personal data blocked 6 months after formal closure (or withdrawal).
    pub const BLOCKING: &str = "blocking";
    /// An alert's closure comment period ends.
    pub const COMMENT_PERIOD: &str = "comment_period";
    /// An alert's closure objection period ends.
    pub const OBJECTION_PERIOD: &str = "objection_period";
    /// A PQ alert's 3 days from the decision.
    pub const THREE_DAYS: &str = "three_days";
}

/// The aggregate types whose events may set or end a rule.
pub const TIMED: [&str; 3] = ["Authority", "InformationRequest", "Alert"];

pub struct Deadlines;

/// One pending rule (one row of `deadlines`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deadline {
    pub id: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub rule: String,
    pub due_at: DateTime<Utc>,
    pub command: serde_json::Value,
}

/// What an event does to its aggregate's rules.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Sets a rule (replacing any pending one of the same rule).
    Set {
        rule: &'static str,
        discriminator: String,
        due_at: DateTime<Utc>,
        command: serde_json::Value,
    },
    /// Ends every pending instance of a rule.
    End(&'static str),
}

/// The changes `e` makes.
pub fn rules_of(e: &FeedEvent) -> Result<Vec<Change>, ProjectionError> {
    match e.aggregate_type.as_str() {
        "Authority" => {
            let event = AuthorityEvent::deserialize(&e.payload)
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(authority(event))
        }
        "InformationRequest" => {
            let event = RequestEvent::deserialize(&e.payload)
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(request(event))
        }
        "Alert" => {
            let event = AlertEvent::deserialize(&e.payload)
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(alert(event))
        }
        _ => Ok(vec![]),
    }
}

/// A rule due at `due_at`, acted on by the unit command `command`.
fn set(rule: &'static str, due_at: DateTime<Utc>, command: &str) -> Change {
    Change::Set {
        rule,
        discriminator: due_at.to_rfc3339(),
        due_at,
        command: json!(command),
    }
}

/// The start of a day (UTC): the aggregate compares dates by the UTC day.
fn day(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The rules of an information request. Each due time is the earliest moment the aggregate
/// accepts the fact (it refuses it before), so the scheduler never acts too early; activity
/// counts every event that is not itself a fact of time, so the inactivity rule is never due
/// before the aggregate's.
fn request(event: RequestEvent) -> Vec<Change> {
    use rules::*;
    use RequestEvent as E;
    let mut changes = Vec::new();
    if !event.is_time_fact()
        && !matches!(event, E::RequestClosed { .. } | E::RequestWithdrawn { .. })
    {
        let since = event.at();
        if let Some(due) = since.checked_add_months(Months::new(INACTIVITY_MONTHS)) {
            changes.push(set(INACTIVITY, due, "RaiseInactivity"));
        }
    }
    let reply_dates = |date: NaiveDate| {
        vec![
            set(
                DUE_SOON,
                day(date - Duration::days(REMINDER_DAYS_BEFORE_DUE)),
                "RecordDueDateApproaching",
            ),
            set(
                ANSWER_OVERDUE,
                day(date + Duration::days(1)),
                "RecordAnswerOverdue",
            ),
        ]
    };
    match event {
        E::RequestSent { at, .. } | E::RequestForwarded { at, .. } => changes.push(set(
            ACCEPTANCE,
            at + Duration::days(ACCEPTANCE_DAYS),
            "RecordAcceptanceOverdue",
        )),
        E::RequestAccepted {
            agreed_answer_date, ..
        } => {
            changes.push(Change::End(ACCEPTANCE));
            changes.extend(reply_dates(agreed_answer_date));
        }
        E::AnswerDateAgreed { date, .. } => changes.extend(reply_dates(date)),
        E::AcceptanceOverdue { .. } => changes.push(Change::End(ACCEPTANCE)),
        E::DueDateApproaching { .. } => changes.push(Change::End(DUE_SOON)),
        E::AnswerOverdue { .. } => changes.push(Change::End(ANSWER_OVERDUE)),
        E::InactivityRaised { .. } => changes.push(Change::End(INACTIVITY)),
        E::FullReplySent { .. } => {
            changes.push(Change::End(DUE_SOON));
            changes.push(Change::End(ANSWER_OVERDUE));
        }
        E::RequestClosed { at } | E::RequestWithdrawn { at, .. } => {
            for rule in [ACCEPTANCE, DUE_SOON, ANSWER_OVERDUE, INACTIVITY] {
                changes.push(Change::End(rule));
            }
            if let Some(due) = at.checked_add_months(Months::new(BLOCKING_MONTHS)) {
                changes.push(set(BLOCKING, due, "BlockPersonalData"));
            }
        }
        E::PersonalDataBlocked { .. } => changes.push(Change::End(BLOCKING)),
        _ => {}
    }
    changes
}

/// The rules of an alert: its closure periods and a PQ alert's 3 days.
fn alert(event: AlertEvent) -> Vec<Change> {
    use rules::*;
    use AlertEvent as E;
    match event {
        E::AlertDrafted { content, .. } | E::DraftAmended { content } => match content {
            AlertContent::ProfessionalQualifications(p) => vec![set(
                THREE_DAYS,
                p.decided_at + Duration::days(PQ_ALERT_DAYS),
                "PassThreeDayDeadline",
            )],
            AlertContent::Services(_) => vec![Change::End(THREE_DAYS)],
        },
        E::ThreeDayDeadlinePassed { .. } => vec![Change::End(THREE_DAYS)],
        E::ClosureProposed {
            comment_period_ends_at,
            ..
        } => vec![set(
            COMMENT_PERIOD,
            comment_period_ends_at,
            "EndCommentPeriod",
        )],
        E::CommentPeriodEnded { .. } => vec![Change::End(COMMENT_PERIOD)],
        E::ClosureProposalBroadcast {
            objection_period_ends_at,
            ..
        } => vec![set(
            OBJECTION_PERIOD,
            objection_period_ends_at,
            "EndObjectionPeriod",
        )],
        E::ObjectionPeriodEnded { .. } => vec![Change::End(OBJECTION_PERIOD)],
        E::ClosureProposalRejected { .. } => {
            vec![Change::End(COMMENT_PERIOD), Change::End(OBJECTION_PERIOD)]
        }
        E::AlertClosed { .. } | E::AlertWithdrawn { .. } => vec![
            Change::End(COMMENT_PERIOD),
            Change::End(OBJECTION_PERIOD),
            Change::End(THREE_DAYS),
        ],
        _ => vec![],
    }
}

fn authority(event: AuthorityEvent) -> Vec<Change> {
    use AuthorityEvent as E;
    match event {
        E::InvitationIssued {
            code_digest,
            expires_at,
            ..
        }
        | E::InvitationRenewed {
            code_digest,
            expires_at,
            ..
        } => vec![Change::Set {
            rule: rules::INVITATION_EXPIRY,
            discriminator: code_digest.clone(),
            due_at: expires_at,
            command: json!({ "ExpireInvitation": { "code_digest": code_digest } }),
        }],
        E::AuthoritySelfRegistered { .. } | E::InvitationExpired { .. } => {
            vec![Change::End(rules::INVITATION_EXPIRY)]
        }
        _ => vec![],
    }
}

type Key = (String, String);

#[async_trait::async_trait]
impl Projection for Deadlines {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/deadlines.sql")
    }

    /// Loads the pending rules of the aggregates in the batch, applies the batch's changes in
    /// memory, and rewrites those aggregates' rules.
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<(), ProjectionError> {
        let events: Vec<&FeedEvent> = events
            .iter()
            .filter(|e| TIMED.contains(&e.aggregate_type.as_str()))
            .collect();
        if events.is_empty() {
            return Ok(());
        }
        let mut sequences = TypedSequences::load(db, &events).await?;
        let mut changes: Vec<(Key, Change)> = Vec::new();
        for e in &events {
            sequences.check(e)?;
            for change in rules_of(e)? {
                changes.push(((e.aggregate_type.clone(), e.aggregate_id.clone()), change));
            }
        }
        if !changes.is_empty() {
            let keys: BTreeSet<Key> = changes.iter().map(|(k, _)| k.clone()).collect();
            let (types, ids): (Vec<String>, Vec<String>) = keys.iter().cloned().unzip();
            let loaded: Vec<serde_json::Value> = sqlx::query_scalar(
                "SELECT to_jsonb(d) FROM deadlines d
                   JOIN unnest($1::text[], $2::text[]) AS k(t, i)
                     ON (d.aggregate_type, d.aggregate_id) = (k.t, k.i)",
            )
            .bind(&types)
            .bind(&ids)
            .fetch_all(&mut *db)
            .await?;
            let mut pending: BTreeMap<Key, Vec<Deadline>> = BTreeMap::new();
            for value in loaded {
                let d: Deadline = crate::fold::decode(value)?;
                pending
                    .entry((d.aggregate_type.clone(), d.aggregate_id.clone()))
                    .or_default()
                    .push(d);
            }
            for (key, change) in changes {
                let rows = pending.entry(key.clone()).or_default();
                match change {
                    Change::End(rule) => rows.retain(|d| d.rule != rule),
                    Change::Set {
                        rule,
                        discriminator,
                        due_at,
                        command,
                    } => {
                        rows.retain(|d| d.rule != rule);
                        rows.push(Deadline {
                            id: format!("{}/{}/{rule}/{discriminator}", key.0, key.1),
                            aggregate_type: key.0.clone(),
                            aggregate_id: key.1.clone(),
                            rule: rule.to_string(),
                            due_at,
                            command,
                        });
                    }
                }
            }
            sqlx::query(
                "DELETE FROM deadlines d USING unnest($1::text[], $2::text[]) AS k(t, i)
                  WHERE (d.aggregate_type, d.aggregate_id) = (k.t, k.i)",
            )
            .bind(&types)
            .bind(&ids)
            .execute(&mut *db)
            .await?;
            let rows: Vec<&Deadline> = pending.values().flatten().collect();
            crate::fold::insert_rows(db, "deadlines", &rows).await?;
        }
        sequences.store(db).await?;
        Ok(())
    }
}

/// The deadlines due at `now` that the scheduler has not acted on, earliest first.
pub async fn due(
    db: impl sqlx::PgExecutor<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Deadline>, sqlx::Error> {
    let values: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(d) FROM {NAME}.deadlines d
          WHERE d.due_at <= $1
            AND NOT EXISTS (SELECT 1 FROM deadline_actions a WHERE a.deadline_id = d.id)
          ORDER BY d.due_at, d.id LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await?;
    values.into_iter().map(crate::fold::decode).collect()
}

/// How the scheduled deadlines stand.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeadlineStatus {
    /// Pending rules not yet due.
    pub scheduled: i64,
    /// Due and not yet acted on.
    pub due: i64,
    /// Acted on (accepted, or refused by the aggregate: the rule no longer applied).
    pub done: i64,
    pub refused: i64,
    pub next_due_at: Option<DateTime<Utc>>,
}

pub async fn status(
    db: impl sqlx::PgExecutor<'_> + Copy,
    now: DateTime<Utc>,
) -> Result<DeadlineStatus, sqlx::Error> {
    let exists: bool = sqlx::query_scalar(&format!(
        "SELECT to_regclass('{NAME}.deadlines') IS NOT NULL"
    ))
    .fetch_one(db)
    .await?;
    let (done, refused): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE outcome = 'done'), count(*) FILTER (WHERE outcome = 'refused')
           FROM deadline_actions",
    )
    .fetch_one(db)
    .await?;
    if !exists {
        return Ok(DeadlineStatus {
            done,
            refused,
            ..DeadlineStatus::default()
        });
    }
    let (scheduled, due, next_due_at): (i64, i64, Option<DateTime<Utc>>) =
        sqlx::query_as(&format!(
            "SELECT count(*) FILTER (WHERE d.due_at > $1),
                count(*) FILTER (WHERE d.due_at <= $1),
                min(d.due_at) FILTER (WHERE d.due_at > $1)
           FROM {NAME}.deadlines d
          WHERE NOT EXISTS (SELECT 1 FROM deadline_actions a WHERE a.deadline_id = d.id)"
        ))
        .bind(now)
        .fetch_one(db)
        .await?;
    Ok(DeadlineStatus {
        scheduled,
        due,
        done,
        refused,
        next_due_at,
    })
}
