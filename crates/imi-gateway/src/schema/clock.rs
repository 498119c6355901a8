//! The service clock: what time the service runs on, and, in training mode, moving it forward.

use super::{app, caller};
use crate::errors::ApiError;
use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use imi_app::training::ClockState;

#[derive(Default)]
pub struct ClockQuery;

#[derive(Default)]
pub struct ClockMutation;

/// The time every command, view, deadline and mail of the service follows.
#[derive(SimpleObject)]
pub struct ServiceClock {
    /// `production` (the system clock) or `training` (a clock moved forward by trainers).
    pub mode: String,
    /// How far ahead of the system clock the service runs, e.g. `+7d 2h` (`+0` in production).
    pub offset: String,
    pub offset_seconds: i64,
    /// The service time.
    pub now: DateTime<Utc>,
}

impl From<ClockState> for ServiceClock {
    fn from(c: ClockState) -> Self {
        Self {
            mode: c.mode().to_string(),
            offset: c.offset_text(),
            offset_seconds: c.offset.num_seconds(),
            now: c.now,
        }
    }
}

#[Object]
impl ClockQuery {
    /// The service clock (no sign-in needed: the time is no secret).
    async fn service_clock(&self, ctx: &Context<'_>) -> async_graphql::Result<ServiceClock> {
        Ok(app(ctx)?.clock_state().into())
    }
}

#[Object]
impl ClockMutation {
    /// Training mode only: moves the service clock forward `by` (`7d`, `12h`, `1d12h`, ...),
    /// for a data administrator of a national coordinator. The scheduler acts at once on what
    /// became due. Refused in production (`FORBIDDEN`, reason `TRAINING_MODE_ONLY`); the clock
    /// never moves backward (`BAD_USER_INPUT`, reason `CLOCK_BACKWARD`).
    async fn advance_clock(
        &self,
        ctx: &Context<'_>,
        by: String,
    ) -> async_graphql::Result<ServiceClock> {
        let state = app(ctx)?
            .advance_clock(&caller(ctx)?, &by)
            .await
            .map_err(ApiError::from)?;
        Ok(state.into())
    }
}
