//! Training mode's clock, shared through the database.
//!
//! In training mode the service runs ahead of the system clock by an offset held in the
//! `training_clock` table, so that a trainer can let the comment and objection periods,
//! reminders and deadlines pass. Every process on the database (gateway, projectors, sender,
//! scheduler may run apart) follows a move through `NOTIFY imi_clock`; the table refuses a move
//! backward. Its row, written when the database first runs in training mode, stays: production
//! mode refuses to start on such a database.

use crate::clock::AdjustableClock;
use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::sync::Arc;

/// The channel a move of the clock is announced on (by the table's trigger).
pub const CHANNEL: &str = "imi_clock";

/// How the service runs: on the system clock, or on a clock a trainer moves forward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Production,
    Training,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Production => "production",
            Mode::Training => "training",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "production" => Ok(Mode::Production),
            "training" => Ok(Mode::Training),
            other => Err(format!("{other:?} is not a mode: production or training")),
        }
    }
}

/// A database's training clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingState {
    /// How far ahead of the system clock the service runs.
    pub offset: Duration,
    /// When the database first ran in training mode.
    pub since: DateTime<Utc>,
}

/// The database's training clock; `None` if it never ran in training mode.
pub async fn state(pool: &PgPool) -> Result<Option<TrainingState>, sqlx::Error> {
    let row: Option<(i64, DateTime<Utc>)> =
        sqlx::query_as("SELECT offset_seconds, since FROM training_clock")
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(seconds, since)| TrainingState {
        offset: Duration::seconds(seconds),
        since,
    }))
}

/// Marks the database as a training database (once, forever); returns its clock.
pub async fn enter(pool: &PgPool) -> Result<TrainingState, sqlx::Error> {
    sqlx::query("INSERT INTO training_clock DEFAULT VALUES ON CONFLICT DO NOTHING")
        .execute(pool)
        .await?;
    Ok(state(pool).await?.expect("written above"))
}

/// Why the clock did not move.
#[derive(Debug, thiserror::Error)]
pub enum AdvanceError {
    #[error("the database never ran in training mode: its clock is the system clock")]
    NotTraining,
    #[error("the clock never moves backward: advance it by a positive duration")]
    Backward,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Moves the training clock forward by `by`; returns the new offset. Every process following
/// the clock moves with it.
pub async fn advance(pool: &PgPool, by: Duration) -> Result<Duration, AdvanceError> {
    if by <= Duration::zero() {
        return Err(AdvanceError::Backward);
    }
    let seconds: Option<i64> = sqlx::query_scalar(
        "UPDATE training_clock SET offset_seconds = offset_seconds + $1, advanced_at = now()
         RETURNING offset_seconds",
    )
    .bind(by.num_seconds())
    .fetch_optional(pool)
    .await?;
    seconds
        .map(Duration::seconds)
        .ok_or(AdvanceError::NotTraining)
}

/// Keeps `clock` at the database's offset: reads it at once, then after every announced move
/// (and again after a lost connection). `moved` runs after each move, e.g. to wake the
/// scheduler so it acts at once on what became due.
pub fn follow(pool: PgPool, clock: Arc<AdjustableClock>, moved: impl Fn() + Send + 'static) {
    tokio::spawn(async move {
        loop {
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "cannot LISTEN for moves of the training clock");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(error) = listener.listen(CHANNEL).await {
                tracing::warn!(%error, "cannot LISTEN for moves of the training clock");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
            // Moves may have been missed while not listening.
            match state(&pool).await {
                Ok(Some(s)) => clock.catch_up(s.offset),
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "cannot read the training clock"),
            }
            moved();
            loop {
                match listener.try_recv().await {
                    Ok(Some(notice)) => {
                        if let Ok(seconds) = notice.payload().parse::<i64>() {
                            clock.catch_up(Duration::seconds(seconds));
                            tracing::info!(offset = %describe(clock.offset()), "the training clock moved");
                            moved();
                        }
                    }
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(%error, "lost the LISTEN connection of the training clock");
                        break;
                    }
                }
            }
        }
    });
}

/// A duration as a trainer writes it: `7d`, `12h`, `30m`, `45s`, or a sum (`1d12h`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || format!("{text:?} is not a duration such as 7d, 12h, 30m or 1d12h");
    let mut total = Duration::zero();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().map_err(|_| invalid())?;
        number.clear();
        let part = match c {
            'd' => Duration::try_days(n),
            'h' => Duration::try_hours(n),
            'm' => Duration::try_minutes(n),
            's' => Duration::try_seconds(n),
            _ => None,
        }
        .ok_or_else(invalid)?;
        total = total.checked_add(&part).ok_or_else(invalid)?;
    }
    if !number.is_empty() || text.is_empty() {
        return Err(invalid());
    }
    Ok(total)
}

/// An offset as `+7d 2h 5m` (seconds left out), or `+0`.
pub fn describe(offset: Duration) -> String {
    let minutes = offset.num_minutes();
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let parts: Vec<String> = [(days, "d"), (hours, "h"), (minutes, "m")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        "+0".to_string()
    } else {
        format!("+{}", parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_trainers_write_them() {
        assert_eq!(parse_duration("7d"), Ok(Duration::days(7)));
        assert_eq!(
            parse_duration("1d12h"),
            Ok(Duration::days(1) + Duration::hours(12))
        );
        assert_eq!(parse_duration("90m"), Ok(Duration::minutes(90)));
        for bad in ["", "7", "d", "7w", "-7d", "7 d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets_are_described_to_the_minute() {
        assert_eq!(describe(Duration::zero()), "+0");
        assert_eq!(describe(Duration::days(21)), "+21d");
        assert_eq!(
            describe(Duration::days(1) + Duration::hours(2) + Duration::minutes(3)),
            "+1d 2h 3m"
        );
    }
}
