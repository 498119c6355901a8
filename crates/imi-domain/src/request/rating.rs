//! The requesting authority's rating of a reply: two answers on a scale of 1 (poor) to 5
//! (excellent), one on its timeliness and one on the effort the responding authority made.
//! The Single Market Scoreboard publishes the share of negative answers to each.

use serde::{Deserialize, Serialize};

/// The scale of each answer: 1 (poor) to 5 (excellent).
pub const RATING_RANGE: std::ops::RangeInclusive<u8> = 1..=5;
/// Answers at or below this are negative (the Scoreboard's "poor" and "very poor").
pub const NEGATIVE_AT_MOST: u8 = 2;

/// A reply's rating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Stored")]
pub struct ReplyRating {
    pub timeliness: u8,
    pub effort: u8,
}

impl ReplyRating {
    pub fn timeliness_negative(&self) -> bool {
        self.timeliness <= NEGATIVE_AT_MOST
    }
    pub fn effort_negative(&self) -> bool {
        self.effort <= NEGATIVE_AT_MOST
    }
}

/// A rating as state stored before the two questions holds it: one number, the answer to a
/// single question on the reply, which stood for both (as the event upcaster reads it).
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Both(u8),
    Each { timeliness: u8, effort: u8 },
}

impl From<Stored> for ReplyRating {
    fn from(stored: Stored) -> Self {
        match stored {
            Stored::Both(rating) => Self {
                timeliness: rating,
                effort: rating,
            },
            Stored::Each { timeliness, effort } => Self { timeliness, effort },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_stored_with_one_number_reads_as_both_answers() {
        let old: ReplyRating = serde_json::from_str("4").unwrap();
        assert_eq!(
            old,
            ReplyRating {
                timeliness: 4,
                effort: 4
            }
        );
        let new = ReplyRating {
            timeliness: 2,
            effort: 5,
        };
        let again: ReplyRating =
            serde_json::from_value(serde_json::to_value(new).unwrap()).unwrap();
        assert_eq!(again, new);
    }

    #[test]
    fn two_or_less_is_negative() {
        let r = ReplyRating {
            timeliness: 2,
            effort: 3,
        };
        assert!(r.timeliness_negative());
        assert!(!r.effort_negative());
    }
}
