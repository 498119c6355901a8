//! The Single Market Scoreboard's IMI indicators by Member State over a period: published
//! statistics without personal data, for any active user of a validated authority and the
//! European Commission's statistics reader (as the alert statistics are).

use crate::error::{AppError, AppResult};
use crate::{input, App, Caller};
use chrono::{DateTime, NaiveDate, Utc};
use imi_domain::scoreboard::{overall, Figure};
use imi_projections::request_scoreboard;
use sqlx::PgPool;

/// The longest period one query covers.
const MAX_YEARS: i32 = 20;

/// One Member State's row of the Scoreboard.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreboardRow {
    pub member_state: String,
    /// In the order of [`imi_domain::scoreboard::Indicator::ALL`].
    pub figures: Vec<Figure>,
    /// Red -1, yellow 0, green +1, summed over the figures that have cases.
    pub overall: i32,
}

impl App {
    /// The figures of every Member State that received requests in `[from, to)`, in `area` if
    /// given.
    pub async fn scoreboard(
        &self,
        caller: &Caller,
        from: NaiveDate,
        to: NaiveDate,
        area: Option<&str>,
    ) -> AppResult<Vec<ScoreboardRow>> {
        self.statistics_reader(caller).await?;
        figures(&self.reads, from, to, area, self.clock.now()).await
    }
}

/// The figures without a caller: for the operator's command line and [`App::scoreboard`].
pub async fn figures(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    area: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Vec<ScoreboardRow>> {
    if from >= to {
        return Err(AppError::bad_input("the period must end after it starts"));
    }
    if to > from + chrono::Months::new(12 * MAX_YEARS as u32) {
        return Err(AppError::bad_input(format!(
            "a period covers at most {MAX_YEARS} years"
        )));
    }
    let area = area.map(input::area).transpose()?;
    let rows =
        request_scoreboard::by_member_state(pool, from, to, area.as_ref().map(|a| a.code()), now)
            .await
            .map_err(|e| AppError::database("reading the scoreboard", &e))?;
    Ok(rows
        .into_iter()
        .map(|r| ScoreboardRow {
            overall: overall(&r.figures),
            member_state: r.member_state,
            figures: r.figures,
        })
        .collect())
}
