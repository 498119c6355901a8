//! The facts behind the Single Market Scoreboard's IMI indicators ([`imi_domain::scoreboard`]):
//! one row per request sent, by responding Member State and area, with the dates and the
//! rating the indicators are computed from; aggregated at query time over any period, so
//! figures of several months add up exactly (numerators and counts are summed, never
//! averages of averages).

use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::request_fold::fold_requests;
use chrono::{DateTime, NaiveDate, Utc};
use imi_domain::request::{RequestEvent, NEGATIVE_AT_MOST};
use imi_domain::scoreboard::{Figure, Indicator, ACCEPTED_WITHIN_DAYS};
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};

pub const NAME: &str = "request_scoreboard";

pub struct RequestScoreboard;

#[derive(Serialize)]
struct Fact {
    request_id: String,
    area: String,
    responding_member_state: String,
    sent_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    fully_answered_at: Option<DateTime<Utc>>,
    due_date: Option<NaiveDate>,
    timeliness: Option<i16>,
    effort: Option<i16>,
    rated_at: Option<DateTime<Utc>>,
    withdrawn_at: Option<DateTime<Utc>>,
}

#[async_trait::async_trait]
impl Projection for RequestScoreboard {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/request_scoreboard.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[crate::request_fold::REQUEST])
    }

    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<(), ProjectionError> {
        let touched = fold_requests(db, events).await?;
        let facts: Vec<Fact> = touched
            .values()
            .filter_map(|t| {
                let s = t.summary()?;
                let d = &s.dates;
                let rated_at = t.events.iter().find_map(|(_, e)| match e {
                    RequestEvent::ReplyRated { at, .. } => Some(*at),
                    _ => None,
                });
                Some(Fact {
                    request_id: s.request_id.clone(),
                    area: s.area.code().to_string(),
                    responding_member_state: s.responding.member_state.code().to_string(),
                    sent_at: d.sent_at?,
                    accepted_at: d.accepted_at,
                    fully_answered_at: d.fully_answered_at,
                    due_date: d.fully_answered_at.map(|_| s.due_date()),
                    timeliness: s.rating.map(|r| i16::from(r.timeliness)),
                    effort: s.rating.map(|r| i16::from(r.effort)),
                    rated_at,
                    withdrawn_at: d.withdrawn_at,
                })
            })
            .collect();
        if facts.is_empty() {
            return Ok(());
        }
        let json = serde_json::to_value(&facts).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        // The rating's time is in the batch that rated; later batches keep it.
        sqlx::query(
            "INSERT INTO facts SELECT * FROM jsonb_populate_recordset(NULL::facts, $1)
             ON CONFLICT (request_id) DO UPDATE SET
               area = excluded.area,
               responding_member_state = excluded.responding_member_state,
               sent_at = excluded.sent_at,
               accepted_at = excluded.accepted_at,
               fully_answered_at = excluded.fully_answered_at,
               due_date = excluded.due_date,
               timeliness = excluded.timeliness,
               effort = excluded.effort,
               rated_at = coalesce(excluded.rated_at, facts.rated_at),
               withdrawn_at = excluded.withdrawn_at",
        )
        .bind(json)
        .execute(&mut *db)
        .await?;
        Ok(())
    }
}

/// The five figures of one Member State over a period.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberStateFigures {
    pub member_state: String,
    /// In the order of [`Indicator::ALL`].
    pub figures: Vec<Figure>,
}

#[derive(Deserialize)]
struct Counts {
    member_state: String,
    accepted_in_time: f64,
    acceptance_decided: i64,
    days_to_answer: f64,
    answered: i64,
    answered_by_date: f64,
    rated: i64,
    negative_timeliness: f64,
    negative_effort: f64,
}

/// The figures of every Member State that received requests in `[from, to)`, in `area` if
/// given, by Member State code. `now` decides which acceptances are still open: a request
/// neither accepted nor withdrawn counts as late once its 7 days passed, and not before.
///
/// Each indicator counts the requests whose deciding fact fell in the period: (1) requests
/// sent in it, (2) and (3) full replies sent in it, (4) and (5) ratings given in it.
pub async fn by_member_state<'e>(
    db: impl PgExecutor<'e>,
    from: NaiveDate,
    to: NaiveDate,
    area: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<MemberStateFigures>, sqlx::Error> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "WITH f AS (SELECT * FROM {NAME}.facts WHERE $3::text IS NULL OR area = upper($3)),
              p AS (SELECT $1::date::timestamptz AS from_t, $2::date::timestamptz AS to_t,
                           make_interval(days => $6) AS within),
              c AS (
         SELECT f.responding_member_state AS member_state,
                count(*) FILTER (WHERE sent_at >= from_t AND sent_at < to_t
                                   AND accepted_at <= sent_at + within) AS accepted_in_time,
                count(*) FILTER (WHERE sent_at >= from_t AND sent_at < to_t
                                   AND (accepted_at IS NOT NULL
                                        OR sent_at + within <= least($4, withdrawn_at)))
                  AS acceptance_decided,
                coalesce(sum(extract(epoch FROM fully_answered_at - sent_at) / 86400)
                         FILTER (WHERE fully_answered_at >= from_t AND fully_answered_at < to_t),
                         0) AS days_to_answer,
                count(*) FILTER (WHERE fully_answered_at >= from_t AND fully_answered_at < to_t)
                  AS answered,
                count(*) FILTER (WHERE fully_answered_at >= from_t AND fully_answered_at < to_t
                                   AND (fully_answered_at AT TIME ZONE 'UTC')::date <= due_date)
                  AS answered_by_date,
                count(*) FILTER (WHERE rated_at >= from_t AND rated_at < to_t) AS rated,
                count(*) FILTER (WHERE rated_at >= from_t AND rated_at < to_t
                                   AND timeliness <= $5) AS negative_timeliness,
                count(*) FILTER (WHERE rated_at >= from_t AND rated_at < to_t
                                   AND effort <= $5) AS negative_effort
           FROM f, p
          -- Only the requests with a deciding fact in the period, through the dates' indexes.
          WHERE (sent_at >= $1::date::timestamptz AND sent_at < $2::date::timestamptz)
             OR (fully_answered_at >= $1::date::timestamptz
                 AND fully_answered_at < $2::date::timestamptz)
             OR (rated_at >= $1::date::timestamptz AND rated_at < $2::date::timestamptz)
          GROUP BY f.responding_member_state)
         SELECT to_jsonb(c) FROM c
          WHERE acceptance_decided + answered + rated > 0
          ORDER BY member_state COLLATE \"C\""
    ))
    .bind(from)
    .bind(to)
    .bind(area)
    .bind(now)
    .bind(i16::from(NEGATIVE_AT_MOST))
    .bind(ACCEPTED_WITHIN_DAYS as i32)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            let c: Counts = fold::decode(row)?;
            let figure = |indicator, numerator, count| Figure {
                indicator,
                numerator,
                count,
            };
            Ok(MemberStateFigures {
                member_state: c.member_state,
                figures: vec![
                    figure(
                        Indicator::AcceptedInTime,
                        c.accepted_in_time,
                        c.acceptance_decided,
                    ),
                    figure(Indicator::DaysToAnswer, c.days_to_answer, c.answered),
                    figure(
                        Indicator::AnsweredByAgreedDate,
                        c.answered_by_date,
                        c.answered,
                    ),
                    figure(
                        Indicator::NegativeTimeliness,
                        c.negative_timeliness,
                        c.rated,
                    ),
                    figure(Indicator::NegativeEffort, c.negative_effort, c.rated),
                ],
            })
        })
        .collect()
}
