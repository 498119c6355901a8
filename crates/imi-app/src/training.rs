//! Training mode's clock: what it shows, and who may move it.
//!
//! Only in training mode, and only a data administrator of a national coordinator moves the
//! service clock forward; everything (commands, views, deadlines, mails) follows it, and the
//! scheduler acts at once on what became due.

use crate::error::{reason, AppError, AppResult};
use crate::{App, Caller};
use chrono::{DateTime, Duration, Utc};
use imi_domain::authority::AuthorityKind;
use imi_domain::authority::Clock;
use imi_store::training::{self, AdvanceError};

/// The service clock as clients see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClockState {
    pub training: bool,
    /// How far ahead of the system clock the service runs (zero in production).
    pub offset: Duration,
    /// The service time.
    pub now: DateTime<Utc>,
}

impl ClockState {
    pub fn mode(&self) -> &'static str {
        if self.training {
            "training"
        } else {
            "production"
        }
    }

    /// The offset as `+7d 2h` (`+0` when none).
    pub fn offset_text(&self) -> String {
        training::describe(self.offset)
    }
}

impl App {
    pub fn clock_state(&self) -> ClockState {
        ClockState {
            training: self.training.is_some(),
            offset: self
                .training
                .as_ref()
                .map(|c| c.offset())
                .unwrap_or_else(Duration::zero),
            now: self.clock.now(),
        }
    }

    /// Moves the training clock forward by `by` (`7d`, `12h`, `1d12h`, ...).
    pub async fn advance_clock(&self, caller: &Caller, by: &str) -> AppResult<ClockState> {
        let Some(clock) = &self.training else {
            return Err(AppError::forbidden(
                "the service runs in production mode: its clock is the system clock and never moves",
            )
            .with_reason(reason::TRAINING_MODE_ONLY));
        };
        let actor = self.reader(caller).await?;
        let administrator =
            actor.is_local_data_administrator() || actor.is_data_administrator_anywhere();
        if actor.authority.kind != AuthorityKind::NationalCoordinator || !administrator {
            return Err(AppError::forbidden(
                "only a data administrator of a national coordinator moves the training clock",
            ));
        }
        let by = match by.trim() {
            negative if negative.starts_with('-') => Duration::zero(),
            by => training::parse_duration(by).map_err(AppError::bad_input)?,
        };
        let offset = training::advance(&self.pool, by)
            .await
            .map_err(|e| match e {
                AdvanceError::Backward => {
                    AppError::bad_input(e.to_string()).with_reason(reason::CLOCK_BACKWARD)
                }
                AdvanceError::NotTraining => {
                    AppError::forbidden(e.to_string()).with_reason(reason::TRAINING_MODE_ONLY)
                }
                AdvanceError::Database(e) => AppError::database("moving the training clock", &e),
            })?;
        clock.catch_up(offset);
        tracing::info!(by = %training::describe(by), offset = %training::describe(offset), "the training clock was moved");
        // The scheduler acts at once on what became due.
        self.wake.nudge();
        Ok(self.clock_state())
    }
}
