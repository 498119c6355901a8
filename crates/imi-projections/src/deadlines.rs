//! Deadlines: the time rules pending in the log, each with the system command that acts on
//! it when it falls due (the scheduler in `imi-notify` issues them).
//!
//! Which events set or end which rule lives in [`rules_of`] (one function per aggregate
//! type). A rule's id carries what makes it unique (the code digest, the agreed date), so a
//! renewed rule is a new deadline and the record of acting on the old one does not hide it.

use crate::fold::TypedSequences;
use crate::projection::{Projection, ProjectionError};
use crate::writes::{literal, Writes};
use chrono::{DateTime, Utc};
use chrono::{Duration, Months, NaiveDate};
use imi_domain::alert::{AlertContent, AlertEvent, PQ_ALERT_DAYS};
use imi_domain::authority::AuthorityEvent;
use imi_domain::request::{
    RequestEvent, ACCEPTANCE_DAYS, INACTIVITY_MONTHS, REMINDER_DAYS_BEFORE_DUE,
};
use imi_domain::retention::{DEFAULT_BLOCKING_MONTHS, DEFAULT_DELETION_MONTHS};
use imi_domain::subject_request::{
    SubjectRequestEvent, COMPLETE_ON_EXCHANGE, COMPLETION_GRACE_MINUTES,
    REMINDER_DAYS_BEFORE_DUE as SUBJECT_REMINDER_DAYS,
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
    /// Personal data blocked the area's blocking delay after formal closure (or withdrawal).
    pub const BLOCKING: &str = "blocking";
    /// Personal data deleted (the data key erased) the area's deletion delay after formal
    /// closure (or withdrawal).
    pub const DELETION: &str = "deletion";
    /// An alert's closure comment period ends.
    pub const COMMENT_PERIOD: &str = "comment_period";
    /// An alert's closure objection period ends.
    pub const OBJECTION_PERIOD: &str = "objection_period";
    /// A PQ alert's 3 days from the decision.
    pub const THREE_DAYS: &str = "three_days";
    /// A data subject's request: the reminder some days before its deadline.
    pub const SUBJECT_REQUEST_REMINDER: &str = "subject_request_reminder";
    /// A data subject's request: its deadline passed without an answer.
    pub const SUBJECT_REQUEST_OVERDUE: &str = "subject_request_overdue";
    /// A carried-out data subject's request: the exchange's side completed if the
    /// application was interrupted before writing it (acting on it is a no-op otherwise).
    pub const SUBJECT_REQUEST_COMPLETION: &str = "subject_request_completion";
}

/// The aggregate types whose events may set or end a rule.
pub const TIMED: [&str; 4] = ["Authority", "InformationRequest", "Alert", "SubjectRequest"];

pub struct Deadlines;

/// One pending rule (one row of `deadlines`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deadline {
    pub id: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub rule: String,
    /// When it falls due. For a retention rule stored: the formal closure, to which the
    /// area's current `delay` is added when the rule is read (see [`due`]).
    pub due_at: DateTime<Utc>,
    pub command: serde_json::Value,
    /// For a retention rule, the area's delay that counts from `due_at`:
    /// `requests.blocking_months`, `alerts.deletion_months`, ...
    #[serde(default)]
    pub delay: Option<String>,
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
        delay: Option<&'static str>,
    },
    /// Ends every pending instance of a rule.
    End(&'static str),
}

/// The changes `e` makes.
pub fn rules_of(e: &FeedEvent) -> Result<Vec<Change>, ProjectionError> {
    match e.aggregate_type.as_str() {
        "Authority" => {
            let event = e
                .event::<AuthorityEvent>()
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(authority(event))
        }
        "InformationRequest" => {
            let event = e
                .event::<RequestEvent>()
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(request(event))
        }
        "Alert" => {
            let event = e
                .event::<AlertEvent>()
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(alert(event))
        }
        "SubjectRequest" => {
            let event = e
                .event::<SubjectRequestEvent>()
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            Ok(subject_request(event))
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
        delay: None,
    }
}

/// The retention rules of an exchange that ended at `ended`: blocking, then deletion, each
/// the area's delay of `workflow` (`requests` or `alerts`) later. The delays are read when
/// the rules are (they are reference data that may change), not stored.
fn retention(workflow: &'static str, ended: DateTime<Utc>) -> Vec<Change> {
    let (blocking, deletion) = match workflow {
        "alerts" => ("alerts.blocking_months", "alerts.deletion_months"),
        _ => ("requests.blocking_months", "requests.deletion_months"),
    };
    vec![
        Change::Set {
            rule: rules::BLOCKING,
            discriminator: ended.to_rfc3339(),
            due_at: ended,
            command: json!("BlockPersonalData"),
            delay: Some(blocking),
        },
        Change::Set {
            rule: rules::DELETION,
            discriminator: ended.to_rfc3339(),
            due_at: ended,
            command: json!("RecordPersonalDataDeleted"),
            delay: Some(deletion),
        },
    ]
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
            changes.extend(retention("requests", at));
        }
        E::PersonalDataBlocked { .. } | E::PersonalDataBlockedForSubject { .. } => {
            changes.push(Change::End(BLOCKING))
        }
        // Erased for its data subject (the key is erased before the event): nothing is left
        // to block or delete.
        E::PersonalDataErasedForSubject { .. } => {
            changes.push(Change::End(BLOCKING));
            changes.push(Change::End(DELETION));
        }
        // The deletion rule stays: the scheduler's record of acting on it (after erasing the
        // key) is what ends it, so an erasure interrupted after the event is retried.
        _ => {}
    }
    changes
}

/// The rules of a data subject's request: the reminder before its deadline and the overdue
/// the day after, both ended by its closure; once carried out, the completion of the
/// exchange's side a grace period later (its closure does not end it: the subject may be
/// answered at once).
fn subject_request(event: SubjectRequestEvent) -> Vec<Change> {
    use rules::*;
    use SubjectRequestEvent as E;
    match event {
        E::SubjectRequestRecorded { due_on, .. }
        | E::SubjectRequestDeadlineExtended { due_on, .. } => vec![
            set(
                SUBJECT_REQUEST_REMINDER,
                day(due_on - Duration::days(SUBJECT_REMINDER_DAYS)),
                "RecordDeadlineApproaching",
            ),
            set(
                SUBJECT_REQUEST_OVERDUE,
                day(due_on + Duration::days(1)),
                "RecordOverdue",
            ),
        ],
        E::SubjectRequestDeadlineNeared { .. } => vec![Change::End(SUBJECT_REQUEST_REMINDER)],
        E::SubjectRequestDeadlineMissed { .. } => vec![Change::End(SUBJECT_REQUEST_OVERDUE)],
        E::SubjectRequestClosed { .. } => vec![
            Change::End(SUBJECT_REQUEST_REMINDER),
            Change::End(SUBJECT_REQUEST_OVERDUE),
        ],
        E::SubjectRequestCarriedOut { at, .. }
        | E::SubjectRectificationCarriedOut { at, .. }
        | E::SubjectErasureCarriedOut { at, .. } => {
            vec![set(
                SUBJECT_REQUEST_COMPLETION,
                at + Duration::minutes(COMPLETION_GRACE_MINUTES),
                COMPLETE_ON_EXCHANGE,
            )]
        }
    }
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
        E::AlertClosed { at, .. } | E::AlertWithdrawn { at, .. } => {
            let mut changes = vec![
                Change::End(COMMENT_PERIOD),
                Change::End(OBJECTION_PERIOD),
                Change::End(THREE_DAYS),
            ];
            changes.extend(retention("alerts", at));
            changes
        }
        E::PersonalDataBlocked { .. } => vec![Change::End(BLOCKING)],
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
            delay: None,
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
        2
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/deadlines.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&TIMED)
    }

    /// Loads the pending rules of the aggregates in the batch, applies the batch's changes in
    /// memory, and rewrites those aggregates' rules.
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let events: Vec<&FeedEvent> = events
            .iter()
            .filter(|e| TIMED.contains(&e.aggregate_type.as_str()))
            .collect();
        if events.is_empty() {
            return Ok(Writes::default());
        }
        let mut changes: Vec<(Key, Change)> = Vec::new();
        let mut areas: Vec<(String, String, String)> = Vec::new();
        for e in &events {
            if let Some(area) = drafted_area(e) {
                areas.push((e.aggregate_type.clone(), e.aggregate_id.clone(), area));
            }
            for change in rules_of(e)? {
                changes.push(((e.aggregate_type.clone(), e.aggregate_id.clone()), change));
            }
        }
        // The sequences and the pending deadlines of the aggregates that change, in one round
        // trip, each looked up by its pair in an index (see TypedSequences::SELECT_JSON).
        let keys: BTreeSet<Key> = changes.iter().map(|(k, _)| k.clone()).collect();
        let (types, ids): (Vec<String>, Vec<String>) = keys.iter().cloned().unzip();
        let (sequence_types, sequence_ids) = TypedSequences::keys(&events);
        let (sequences, loaded): (serde_json::Value, serde_json::Value) = sqlx::query_as(&format!(
            "SELECT ({}),
                        (SELECT coalesce(jsonb_agg(to_jsonb(d)), '[]')
                           FROM unnest($3::text[], $4::text[]) AS k(t, i)
                          CROSS JOIN LATERAL (
                                SELECT * FROM deadlines d
                                 WHERE (d.aggregate_type, d.aggregate_id) = (k.t, k.i)
                                OFFSET 0) AS d)",
            TypedSequences::SELECT_JSON
        ))
        .bind(&sequence_types)
        .bind(&sequence_ids)
        .bind(&types)
        .bind(&ids)
        .fetch_one(&mut *db)
        .await?;
        let mut sequences = TypedSequences::from_json(sequences)?;
        for e in &events {
            sequences.check(e)?;
        }
        let mut writes = Writes::default();
        if !changes.is_empty() {
            let loaded: Vec<Deadline> = crate::fold::decode(loaded)?;
            let mut pending: BTreeMap<Key, Vec<Deadline>> = BTreeMap::new();
            for d in loaded {
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
                        delay,
                    } => {
                        rows.retain(|d| d.rule != rule);
                        rows.push(Deadline {
                            id: format!("{}/{}/{rule}/{discriminator}", key.0, key.1),
                            aggregate_type: key.0.clone(),
                            aggregate_id: key.1.clone(),
                            rule: rule.to_string(),
                            due_at,
                            command,
                            delay: delay.map(str::to_string),
                        });
                    }
                }
            }
            writes.sql(format!(
                "DELETE FROM deadlines d USING unnest({}::text[], {}::text[]) AS k(t, i)
                  WHERE (d.aggregate_type, d.aggregate_id) = (k.t, k.i)",
                literal(&types),
                literal(&ids)
            ));
            let rows: Vec<&Deadline> = pending.values().flatten().collect();
            writes.insert("deadlines", &rows)?;
        }
        if !areas.is_empty() {
            let (types, (ids, codes)): (Vec<String>, (Vec<String>, Vec<String>)) =
                areas.into_iter().map(|(t, i, a)| (t, (i, a))).unzip();
            writes.sql(format!(
                "INSERT INTO areas (aggregate_type, aggregate_id, area)
                 SELECT * FROM unnest({}::text[], {}::text[], {}::text[])
                 ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET area = EXCLUDED.area",
                literal(&types),
                literal(&ids),
                literal(&codes)
            ));
        }
        writes.typed_sequences(&sequences);
        Ok(writes)
    }
}

/// The legislative area an exchange was drafted in (its retention delays are the area's).
fn drafted_area(e: &FeedEvent) -> Option<String> {
    let drafted = match e.aggregate_type.as_str() {
        "InformationRequest" => "RequestDrafted",
        "Alert" => "AlertDrafted",
        _ => return None,
    };
    // Only the drafting event's payload is parsed.
    if e.event_type != drafted {
        return None;
    }
    e.payload_value()
        .get(drafted)?
        .get("area")?
        .as_str()
        .map(str::to_string)
}

/// The deadlines with their effective due time: a retention rule's stored time plus the
/// area's current delay (the Regulation's default where the area has none), computed in UTC
/// calendar months as [`imi_domain::retention::add_months`] does. A delay is at least a month,
/// so the stored time bounds the effective one from below (`$1` filters on the index).
fn effective(before: &str) -> String {
    format!(
        "SELECT d.id, d.aggregate_type, d.aggregate_id, d.rule, d.command, d.delay,
                CASE WHEN d.delay IS NULL THEN d.due_at
                     ELSE (d.due_at AT TIME ZONE 'UTC' + make_interval(months =>
                            coalesce((r.retention #>> string_to_array(d.delay, '.'))::int,
                                     CASE WHEN d.delay LIKE '%blocking%'
                                          THEN {DEFAULT_BLOCKING_MONTHS}
                                          ELSE {DEFAULT_DELETION_MONTHS} END)))
                          AT TIME ZONE 'UTC'
                END AS due_at
           FROM {NAME}.deadlines d
           LEFT JOIN {NAME}.areas a
                  ON (a.aggregate_type, a.aggregate_id) = (d.aggregate_type, d.aggregate_id)
           LEFT JOIN reference.legislative_areas r ON r.code = a.area
          WHERE {before}
            AND NOT EXISTS (SELECT 1 FROM deadline_actions x WHERE x.deadline_id = d.id)"
    )
}

/// The deadlines due at `now` that the scheduler has not acted on, earliest first.
pub async fn due(
    db: impl sqlx::PgExecutor<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Deadline>, sqlx::Error> {
    let values: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(e) FROM ({}) e WHERE e.due_at <= $1 ORDER BY e.due_at, e.id LIMIT $2",
        effective("d.due_at <= $1")
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
           FROM ({}) d",
            effective("true")
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

#[cfg(test)]
mod tests {
    use super::*;
    use imi_store::feed::FeedPosition;

    fn feed(aggregate_type: &str, payload: serde_json::Value) -> FeedEvent {
        FeedEvent {
            at: FeedPosition {
                xid: 1,
                position: 1,
            },
            aggregate_type: aggregate_type.into(),
            aggregate_id: "x-1".into(),
            sequence: 1,
            // Externally tagged: the payload's one key.
            event_type: payload
                .as_object()
                .and_then(|o| o.keys().next().cloned())
                .unwrap_or_default(),
            event_version: "1".into(),
            payload: imi_store::feed::raw_json(&payload),
            metadata: imi_store::feed::raw_json(&json!({})),
            recorded_at: Utc::now(),
        }
    }

    fn retention_rules(changes: Vec<Change>) -> Vec<(&'static str, Option<&'static str>)> {
        changes
            .into_iter()
            .filter_map(|c| match c {
                Change::Set {
                    rule,
                    delay: Some(d),
                    ..
                } => Some((rule, Some(d))),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn formal_closure_sets_blocking_and_deletion_on_the_areas_delays() {
        let at = Utc::now();
        let alert = feed(
            "Alert",
            serde_json::to_value(AlertEvent::AlertClosed {
                closing_coordinator: "c".into(),
                at,
            })
            .unwrap(),
        );
        assert_eq!(
            retention_rules(rules_of(&alert).unwrap()),
            [
                (rules::BLOCKING, Some("alerts.blocking_months")),
                (rules::DELETION, Some("alerts.deletion_months"))
            ]
        );
        let request = feed(
            "InformationRequest",
            serde_json::to_value(RequestEvent::RequestClosed { at }).unwrap(),
        );
        assert_eq!(
            retention_rules(rules_of(&request).unwrap()),
            [
                (rules::BLOCKING, Some("requests.blocking_months")),
                (rules::DELETION, Some("requests.deletion_months"))
            ]
        );
        // Blocking ends the blocking rule; the deletion rule stays until the key is erased.
        let blocked = feed(
            "Alert",
            serde_json::to_value(AlertEvent::PersonalDataBlocked { at }).unwrap(),
        );
        assert_eq!(rules_of(&blocked).unwrap(), [Change::End(rules::BLOCKING)]);
        let deleted = feed(
            "InformationRequest",
            serde_json::to_value(RequestEvent::PersonalDataDeleted { at }).unwrap(),
        );
        assert_eq!(rules_of(&deleted).unwrap(), []);
    }

    #[test]
    fn the_area_comes_from_the_drafting_event() {
        let drafted = feed(
            "Alert",
            json!({ "AlertDrafted": { "alert_id": "x-1", "area": "SD" } }),
        );
        assert_eq!(drafted_area(&drafted).as_deref(), Some("SD"));
        let other = feed(
            "Alert",
            json!({ "AlertClosed": { "at": "2026-01-01T00:00:00Z" } }),
        );
        assert_eq!(drafted_area(&other), None);
    }
}
