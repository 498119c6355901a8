//! The facts behind the Single Market Scoreboard's IMI indicators ([`imi_domain::scoreboard`]):
//! one row per request sent, by responding Member State and area, with the dates and the
//! rating the indicators are computed from; and their numerators and counts summed per
//! Member State, area and day, and per month, moved in each batch's transaction as facts
//! change. Any period adds up exactly from its whole months and the days around them
//! (numerators and counts are summed, never averages of averages); only what depends on the
//! time of the query (requests still within their 7 days to be accepted) is read from the
//! facts.

use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::request_fold::fold_requests;
use crate::writes::{self, Writes};
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveTime, Utc};
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
        3
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
    ) -> Result<Writes, ProjectionError> {
        let mut writes = Writes::default();
        let touched = fold_requests(db, events, &mut writes).await?;
        let facts: Vec<Fact> = touched
            .values()
            .filter_map(|t| {
                let s = t.summary()?;
                let d = &s.dates;
                let rated_at = t.events.iter().find_map(|(_, e)| match e.as_ref() {
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
            return Ok(writes);
        }
        let json = serde_json::to_string(&facts).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let facts = format!("{}::jsonb", writes::dollar_quoted(&json));
        if writes.in_rebuild() {
            // The sums wait for the last batch (`finish_rebuild`): one sum of the facts
            // instead of moving them batch after batch.
            let from = "jsonb_populate_recordset(NULL::facts, $1)";
            writes.sql(writes::inlined(&upsert_facts(from), &[&facts]));
            return Ok(writes);
        }
        // With the states, in the same round trip: its values inlined.
        writes.sql(writes::inlined(
            &apply_sql(),
            &[
                &facts,
                &ACCEPTED_WITHIN_DAYS.to_string(),
                &NEGATIVE_AT_MOST.to_string(),
            ],
        ));
        Ok(writes)
    }

    async fn finish_rebuild(&self, db: &mut PgConnection) -> Result<(), ProjectionError> {
        sqlx::Executor::execute(db, finish_sql().as_str()).await?;
        Ok(())
    }
}

/// Upserts the facts `from` yields. The rating's time is in the batch that rated; later
/// batches keep it.
fn upsert_facts(from: &str) -> String {
    format!(
        "INSERT INTO facts SELECT * FROM {from}
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
      withdrawn_at = excluded.withdrawn_at"
    )
}

/// The columns of `day_sums` and `month_sums` after their key.
const SUMS: [&str; 9] = [
    "accepted_in_time",
    "accepted",
    "unaccepted",
    "answered",
    "days_to_answer",
    "answered_by_date",
    "rated",
    "negative_timeliness",
    "negative_effort",
];

/// `cte`'s columns of [`SUMS`] are all zero.
fn zero(cte: &str) -> String {
    SUMS.map(|c| format!("{cte}.{c} = 0")).join(" AND ")
}

/// The CTE `parts`: what each version of a fact in `changes` (the facts' columns after a
/// `sign`, 1 to add, -1 to subtract) counts, in the day each part counts in; `within` the days
/// to accept, `negative` the highest negative rating (SQL expressions).
fn parts_sql(changes: &str, within: &str, negative: &str) -> String {
    let cols = SUMS.join(", ");
    format!(
        "parts AS (
            SELECT c.responding_member_state AS member_state, c.area, p.*
              FROM {changes} c,
                   LATERAL (SELECT c.sent_at + make_interval(days => {within}) AS deadline) w,
                   LATERAL (VALUES
                     ((c.sent_at AT TIME ZONE 'UTC')::date,
                      CASE WHEN c.accepted_at <= w.deadline THEN c.sign ELSE 0 END,
                      CASE WHEN c.accepted_at IS NOT NULL THEN c.sign ELSE 0 END,
                      CASE WHEN c.accepted_at IS NULL
                            AND (c.withdrawn_at IS NULL OR w.deadline <= c.withdrawn_at)
                           THEN c.sign ELSE 0 END,
                      0, 0::numeric, 0, 0, 0, 0),
                     ((c.fully_answered_at AT TIME ZONE 'UTC')::date, 0, 0, 0,
                      c.sign,
                      c.sign * (extract(epoch FROM c.fully_answered_at - c.sent_at) / 86400),
                      CASE WHEN (c.fully_answered_at AT TIME ZONE 'UTC')::date <= c.due_date
                           THEN c.sign ELSE 0 END,
                      0, 0, 0),
                     ((c.rated_at AT TIME ZONE 'UTC')::date, 0, 0, 0, 0, 0::numeric, 0,
                      c.sign,
                      CASE WHEN c.timeliness <= {negative} THEN c.sign ELSE 0 END,
                      CASE WHEN c.effort <= {negative} THEN c.sign ELSE 0 END))
                   AS p(day, {cols})
             WHERE p.day IS NOT NULL)"
    )
}

/// The key of `day_sums` from a part's day.
const DAY: &str = "day";
/// The key of `month_sums` from a part's day: the first of its month.
const MONTH: &str = "date_trunc('month', day::timestamp)::date AS month";

/// The sums of `parts` per `key` ([`DAY`] or [`MONTH`]), without those that are zero
/// everywhere.
fn summed_sql(key: &str) -> String {
    let summed = SUMS.map(|c| format!("sum({c}) AS {c}")).join(", ");
    let zero = SUMS.map(|c| format!("sum({c}) = 0")).join(" AND ");
    format!(
        "SELECT {key}, area, member_state, {summed} FROM parts
          GROUP BY 1, area, member_state HAVING NOT ({zero})"
    )
}

/// `sum`, the value of column `c` of the sums, as it is stored: `days_to_answer` in its
/// shortest form, so that equal sums are equal text whatever was added and subtracted to reach
/// them.
fn stored(c: &str, sum: &str) -> String {
    if c == "days_to_answer" {
        format!("trim_scale({sum})")
    } else {
        sum.to_string()
    }
}

/// One statement per batch: upserts the batch's facts and moves their sums. Every changed
/// request's old fact is subtracted from the day and month it counted in, its new fact added
/// to the (maybe other) day and month it counts in now; a sum that falls to zero everywhere
/// is deleted, so the tables hold the same rows however the feed was cut into batches.
/// `$1` the facts, `$2` the days to accept, `$3` the highest negative rating.
fn apply_sql() -> String {
    let cols = SUMS.join(", ");
    let added = |table: &str| {
        SUMS.map(|c| {
            let sum = stored(c, &format!("coalesce({table}.{c}, 0) + d.{c}"));
            format!("{sum} AS {c}")
        })
        .join(", ")
    };
    let set = SUMS.map(|c| format!("{c} = excluded.{c}")).join(", ");
    let write = |table: &str, key: &str, delta: &str| {
        format!(
            "{table}_after AS (
                SELECT d.{key}, d.area, d.member_state, {added}
                  FROM {delta} d LEFT JOIN {table}
                    ON ({table}.{key}, {table}.area, {table}.member_state)
                       = (d.{key}, d.area, d.member_state)),
             {table}_dropped AS (
                DELETE FROM {table} USING {table}_after a
                 WHERE ({table}.{key}, {table}.area, {table}.member_state)
                       = (a.{key}, a.area, a.member_state)
                   AND {zero_a}),
             {table}_kept AS (
                INSERT INTO {table} ({key}, area, member_state, {cols})
                SELECT {key}, area, member_state, {cols} FROM {table}_after a WHERE NOT ({zero_a})
                ON CONFLICT ({key}, area, member_state) DO UPDATE SET {set})",
            added = added(table),
            zero_a = zero("a"),
        )
    };
    format!(
        "WITH incoming AS (SELECT * FROM jsonb_populate_recordset(NULL::facts, $1)),
              before AS (SELECT facts.* FROM facts JOIN incoming USING (request_id)),
              after AS ({upsert} RETURNING *),
              changes AS (SELECT 1 AS sign, * FROM after UNION ALL SELECT -1, * FROM before),
              {parts},
              day_delta AS ({day_delta}),
              month_delta AS ({month_delta}),
              {days},
              {months}
         SELECT count(*) FROM after",
        upsert = upsert_facts("incoming"),
        parts = parts_sql("changes", "$2", "$3"),
        day_delta = summed_sql(DAY),
        month_delta = summed_sql(MONTH),
        days = write("day_sums", "day", "day_delta"),
        months = write("month_sums", "month", "month_delta"),
    )
}

/// The sums of a rebuild, from its finished facts: what [`apply_sql`] would have moved them to
/// batch after batch. Replaces whatever sums there are.
fn finish_sql() -> String {
    let cols = SUMS.join(", ");
    // As `apply_sql` stores a new sum.
    let stored = SUMS.map(|c| stored(c, c)).join(", ");
    format!(
        "DELETE FROM day_sums;
         DELETE FROM month_sums;
         WITH changes AS (SELECT 1 AS sign, * FROM facts),
              {parts},
              days AS (
                INSERT INTO day_sums (day, area, member_state, {cols})
                SELECT day, area, member_state, {stored} FROM ({day}) d)
         INSERT INTO month_sums (month, area, member_state, {cols})
         SELECT month, area, member_state, {stored} FROM ({month}) m",
        parts = parts_sql(
            "changes",
            &ACCEPTED_WITHIN_DAYS.to_string(),
            &NEGATIVE_AT_MOST.to_string()
        ),
        day = summed_sql(DAY),
        month = summed_sql(MONTH),
    )
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

/// The figures of every Member State that received requests in `[from, to)` (days in UTC),
/// in `area` if given, by Member State code. `now` decides which acceptances are still open:
/// a request neither accepted nor withdrawn counts as late once its 7 days passed, and not
/// before.
///
/// Each indicator counts the requests whose deciding fact fell in the period: (1) requests
/// sent in it, (2) and (3) full replies sent in it, (4) and (5) ratings given in it. The
/// period's whole months are read from `month_sums`, the days before and after them from
/// `day_sums`; only (1) of the requests sent in the last 7 days before `now`, still waiting
/// for acceptance, is read from the facts.
pub async fn by_member_state<'e>(
    db: impl PgExecutor<'e>,
    from: NaiveDate,
    to: NaiveDate,
    area: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<MemberStateFigures>, sqlx::Error> {
    let (months, days) = split(from, to);
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN).and_utc();
    let within = Duration::days(ACCEPTED_WITHIN_DAYS);
    let sums = SUMS.join(", ");
    let summed = SUMS.map(|c| format!("sum({c}) AS {c}")).join(", ");
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "WITH s AS (
            SELECT member_state, {sums} FROM {NAME}.day_sums
             WHERE ((day >= $1 AND day < $2) OR (day >= $3 AND day < $4))
               AND ($7::text IS NULL OR area = upper($7))
            UNION ALL
            SELECT member_state, {sums} FROM {NAME}.month_sums
             WHERE month >= $5 AND month < $6 AND ($7::text IS NULL OR area = upper($7))),
              t AS (SELECT member_state, {summed} FROM s GROUP BY member_state),
              -- Sent in the period, counted as `unaccepted`, but with time left at `now`:
              -- not decided yet. Only the last days' requests can be (`$10`: a bound on
              -- them for the index, the exact rule after it).
              undecided AS (
                SELECT responding_member_state AS member_state, count(*) AS n
                  FROM {NAME}.facts, make_interval(days => $12) AS w(within)
                 WHERE accepted_at IS NULL
                   AND sent_at >= greatest($8, $10) AND sent_at < $9
                   AND sent_at + within > $11
                   AND (withdrawn_at IS NULL OR sent_at + within <= withdrawn_at)
                   AND ($7::text IS NULL OR area = upper($7))
                 GROUP BY 1),
              c AS (
                SELECT t.member_state, t.accepted_in_time,
                       t.accepted + t.unaccepted - coalesce(u.n, 0) AS acceptance_decided,
                       -- As float8: the figure, whatever the digits of the exact sum.
                       t.days_to_answer::float8 AS days_to_answer, t.answered,
                       t.answered_by_date, t.rated,
                       t.negative_timeliness, t.negative_effort
                  FROM t LEFT JOIN undecided u USING (member_state))
         SELECT to_jsonb(c) FROM c
          WHERE acceptance_decided + answered + rated > 0
          ORDER BY member_state COLLATE \"C\""
    ))
    .bind(days[0].0)
    .bind(days[0].1)
    .bind(days[1].0)
    .bind(days[1].1)
    .bind(months.0)
    .bind(months.1)
    .bind(area)
    .bind(midnight(from))
    .bind(midnight(to))
    // A day more than the deadline, whatever the connection's time zone does to its days.
    .bind(now - within - Duration::days(1))
    .bind(now)
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

/// `[from, to)` as whole months `[m0, m1)` and the days around them, `[d0, d1)` and
/// `[d2, d3)`; empty ranges where there is nothing to read.
fn split(from: NaiveDate, to: NaiveDate) -> ((NaiveDate, NaiveDate), [(NaiveDate, NaiveDate); 2]) {
    let first = |d: NaiveDate| d.with_day(1).expect("every month has a first day");
    let months_from = if from.day() == 1 {
        from
    } else {
        first(from) + Months::new(1)
    };
    let months_to = first(to);
    if months_from < months_to {
        (
            (months_from, months_to),
            [(from, months_from), (months_to, to)],
        )
    } else {
        ((from, from), [(from, to), (to, to)])
    }
}

#[cfg(test)]
mod tests {
    use super::split;
    use chrono::NaiveDate;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_period_is_its_whole_months_and_the_days_around_them() {
        // Calendar year: months only.
        assert_eq!(
            split(d(2025, 1, 1), d(2026, 1, 1)),
            (
                (d(2025, 1, 1), d(2026, 1, 1)),
                [
                    (d(2025, 1, 1), d(2025, 1, 1)),
                    (d(2026, 1, 1), d(2026, 1, 1))
                ]
            )
        );
        // Both edges in the middle of months.
        assert_eq!(
            split(d(2025, 1, 15), d(2026, 3, 10)),
            (
                (d(2025, 2, 1), d(2026, 3, 1)),
                [
                    (d(2025, 1, 15), d(2025, 2, 1)),
                    (d(2026, 3, 1), d(2026, 3, 10))
                ]
            )
        );
        // Within one month, or across two without a whole one: days only.
        assert_eq!(
            split(d(2025, 1, 15), d(2025, 1, 20)),
            (
                (d(2025, 1, 15), d(2025, 1, 15)),
                [
                    (d(2025, 1, 15), d(2025, 1, 20)),
                    (d(2025, 1, 20), d(2025, 1, 20))
                ]
            )
        );
        assert_eq!(
            split(d(2025, 1, 15), d(2025, 2, 20)),
            (
                (d(2025, 1, 15), d(2025, 1, 15)),
                [
                    (d(2025, 1, 15), d(2025, 2, 20)),
                    (d(2025, 2, 20), d(2025, 2, 20))
                ]
            )
        );
        // Exactly one month.
        assert_eq!(
            split(d(2025, 2, 1), d(2025, 3, 1)).0,
            (d(2025, 2, 1), d(2025, 3, 1))
        );
    }
}
