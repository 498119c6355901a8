//! The Single Market Scoreboard's indicators for IMI: how each Member State's authorities
//! handle the information requests they receive, with the published thresholds that colour
//! each figure and the overall score (red -1, yellow 0, green +1, summed).
//!
//! Source: the Single Market Scoreboard, "Internal Market Information System (IMI)"
//! (https://single-market-scoreboard.ec.europa.eu/business-framework-conditions/internal-market-information-system-imi_en).

use serde::Serialize;

/// Days within which a request should be accepted.
pub const ACCEPTED_WITHIN_DAYS: i64 = crate::request::ACCEPTANCE_DAYS;

/// One indicator of the Scoreboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Indicator {
    /// (1) Share of incoming requests accepted within 7 days.
    AcceptedInTime,
    /// (2) Average days from receiving a request to its full reply.
    DaysToAnswer,
    /// (3) Share of requests fully answered by the agreed answer date.
    AnsweredByAgreedDate,
    /// (4) Share of negative ratings of the reply's timeliness.
    NegativeTimeliness,
    /// (5) Share of negative ratings of the responding authority's effort.
    NegativeEffort,
}

impl Indicator {
    pub const ALL: [Indicator; 5] = [
        Indicator::AcceptedInTime,
        Indicator::DaysToAnswer,
        Indicator::AnsweredByAgreedDate,
        Indicator::NegativeTimeliness,
        Indicator::NegativeEffort,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::AcceptedInTime => "ACCEPTED_IN_TIME",
            Indicator::DaysToAnswer => "DAYS_TO_ANSWER",
            Indicator::AnsweredByAgreedDate => "ANSWERED_BY_AGREED_DATE",
            Indicator::NegativeTimeliness => "NEGATIVE_TIMELINESS",
            Indicator::NegativeEffort => "NEGATIVE_EFFORT",
        }
    }

    /// What the figure means, for tables and charts.
    pub fn label(self) -> &'static str {
        match self {
            Indicator::AcceptedInTime => "accepted within 7 days (%)",
            Indicator::DaysToAnswer => "average days to answer",
            Indicator::AnsweredByAgreedDate => "answered by the agreed date (%)",
            Indicator::NegativeTimeliness => "negative ratings of timeliness (%)",
            Indicator::NegativeEffort => "negative ratings of effort (%)",
        }
    }

    /// The colour of `value` (a percentage, or days for [`Indicator::DaysToAnswer`]).
    pub fn colour(self, value: f64) -> Colour {
        match self {
            // Green at 80 % or more, red below 60 %.
            Indicator::AcceptedInTime | Indicator::AnsweredByAgreedDate => {
                if value >= 80.0 {
                    Colour::Green
                } else if value < 60.0 {
                    Colour::Red
                } else {
                    Colour::Yellow
                }
            }
            // Green below 16 days, red above 25.
            Indicator::DaysToAnswer => {
                if value < 16.0 {
                    Colour::Green
                } else if value > 25.0 {
                    Colour::Red
                } else {
                    Colour::Yellow
                }
            }
            // Green below 5 %, red at 15 % or more.
            Indicator::NegativeTimeliness | Indicator::NegativeEffort => {
                if value < 5.0 {
                    Colour::Green
                } else if value >= 15.0 {
                    Colour::Red
                } else {
                    Colour::Yellow
                }
            }
        }
    }
}

/// A traffic light.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Colour {
    Green,
    Yellow,
    Red,
}

impl Colour {
    pub fn score(self) -> i32 {
        match self {
            Colour::Green => 1,
            Colour::Yellow => 0,
            Colour::Red => -1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "GREEN",
            Colour::Yellow => "YELLOW",
            Colour::Red => "RED",
        }
    }
}

/// An indicator's figure over a period: `numerator / count` as a percentage, or the average
/// days for [`Indicator::DaysToAnswer`] (`numerator` is then the sum of days). No figure
/// without any case.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Figure {
    pub indicator: Indicator,
    pub numerator: f64,
    pub count: i64,
}

impl Figure {
    pub fn value(&self) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let ratio = self.numerator / self.count as f64;
        Some(match self.indicator {
            Indicator::DaysToAnswer => ratio,
            _ => ratio * 100.0,
        })
    }

    pub fn colour(&self) -> Option<Colour> {
        self.value().map(|v| self.indicator.colour(v))
    }
}

/// The overall score of a Member State: the sum of its figures' scores (figures without any
/// case count for nothing).
pub fn overall(figures: &[Figure]) -> i32 {
    figures
        .iter()
        .filter_map(Figure::colour)
        .map(Colour::score)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Colour::*;
    use Indicator::*;

    #[test]
    fn each_threshold_at_its_edge() {
        let cases = [
            (AcceptedInTime, 80.0, Green),
            (AcceptedInTime, 79.9, Yellow),
            (AcceptedInTime, 60.0, Yellow),
            (AcceptedInTime, 59.9, Red),
            (AnsweredByAgreedDate, 80.0, Green),
            (AnsweredByAgreedDate, 59.9, Red),
            (DaysToAnswer, 15.9, Green),
            (DaysToAnswer, 16.0, Yellow),
            (DaysToAnswer, 25.0, Yellow),
            (DaysToAnswer, 25.1, Red),
            (NegativeTimeliness, 4.9, Green),
            (NegativeTimeliness, 5.0, Yellow),
            (NegativeTimeliness, 14.9, Yellow),
            (NegativeTimeliness, 15.0, Red),
            (NegativeEffort, 4.9, Green),
            (NegativeEffort, 15.0, Red),
        ];
        for (indicator, value, colour) in cases {
            assert_eq!(indicator.colour(value), colour, "{indicator:?} at {value}");
        }
    }

    #[test]
    fn figures_are_shares_or_average_days() {
        let share = Figure {
            indicator: AcceptedInTime,
            numerator: 3.0,
            count: 4,
        };
        assert_eq!(share.value(), Some(75.0));
        let days = Figure {
            indicator: DaysToAnswer,
            numerator: 30.0,
            count: 2,
        };
        assert_eq!(days.value(), Some(15.0));
        let none = Figure {
            indicator: NegativeEffort,
            numerator: 0.0,
            count: 0,
        };
        assert_eq!((none.value(), none.colour()), (None, None));
    }

    #[test]
    fn the_overall_score_sums_the_lights() {
        let f = |indicator, numerator, count| Figure {
            indicator,
            numerator,
            count,
        };
        let figures = [
            f(AcceptedInTime, 9.0, 10),       // 90 %: green
            f(DaysToAnswer, 60.0, 2),         // 30 days: red
            f(AnsweredByAgreedDate, 7.0, 10), // 70 %: yellow
            f(NegativeTimeliness, 0.0, 10),   // 0 %: green
            f(NegativeEffort, 0.0, 0),        // no case: nothing
        ];
        assert_eq!(overall(&figures), 1);
    }
}
