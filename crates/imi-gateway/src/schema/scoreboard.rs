//! The Single Market Scoreboard's IMI indicators: `scoreboard(from:, to:, area:)`, one row per
//! Member State with its five figures, their traffic lights and the overall score. Published
//! statistics without personal data; the use case decides who may (`imi_app::scoreboard`).

use super::{app, caller};
use crate::errors::ApiError;
use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::NaiveDate;
use imi_domain::scoreboard as sb;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Default)]
pub struct ScoreboardQuery;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ScoreboardIndicator {
    /// Share of incoming requests accepted within 7 days (%).
    AcceptedInTime,
    /// Average days from sending to the full reply.
    DaysToAnswer,
    /// Share of full replies sent by the agreed answer date (%).
    AnsweredByAgreedDate,
    /// Share of negative ratings (1 or 2 of 5) of the reply's timeliness (%).
    NegativeTimeliness,
    /// Share of negative ratings (1 or 2 of 5) of the effort made (%).
    NegativeEffort,
}

impl From<sb::Indicator> for ScoreboardIndicator {
    fn from(i: sb::Indicator) -> Self {
        match i {
            sb::Indicator::AcceptedInTime => Self::AcceptedInTime,
            sb::Indicator::DaysToAnswer => Self::DaysToAnswer,
            sb::Indicator::AnsweredByAgreedDate => Self::AnsweredByAgreedDate,
            sb::Indicator::NegativeTimeliness => Self::NegativeTimeliness,
            sb::Indicator::NegativeEffort => Self::NegativeEffort,
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TrafficLight {
    Green,
    Yellow,
    Red,
}

impl From<sb::Colour> for TrafficLight {
    fn from(c: sb::Colour) -> Self {
        match c {
            sb::Colour::Green => Self::Green,
            sb::Colour::Yellow => Self::Yellow,
            sb::Colour::Red => Self::Red,
        }
    }
}

/// One indicator's figure: null value and light when the period holds no case.
#[derive(SimpleObject)]
pub struct ScoreboardFigure {
    pub indicator: ScoreboardIndicator,
    pub value: Option<f64>,
    /// The cases the figure is computed over.
    pub cases: i64,
    pub light: Option<TrafficLight>,
}

#[derive(SimpleObject)]
pub struct ScoreboardRow {
    pub member_state: String,
    pub figures: Vec<ScoreboardFigure>,
    /// Red -1, yellow 0, green +1, summed over the figures with cases.
    pub overall: i32,
}

#[Object]
impl ScoreboardQuery {
    /// The figures of every Member State that received requests from `from` (inclusive) to
    /// `to` (exclusive), in `area` if given; for any active user of a validated authority and
    /// the European Commission's statistics reader.
    async fn scoreboard(
        &self,
        ctx: &Context<'_>,
        from: NaiveDate,
        to: NaiveDate,
        area: Option<String>,
    ) -> Result<Vec<ScoreboardRow>> {
        let rows = app(ctx)?
            .scoreboard(&caller(ctx)?, from, to, area.as_deref())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ScoreboardRow {
                member_state: r.member_state,
                overall: r.overall,
                figures: r
                    .figures
                    .iter()
                    .map(|f| ScoreboardFigure {
                        indicator: f.indicator.into(),
                        value: f.value(),
                        cases: f.count,
                        light: f.colour().map(Into::into),
                    })
                    .collect(),
            })
            .collect())
    }
}
