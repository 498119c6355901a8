//! Retention of the personal data of exchanges (Regulation (EU) No 1024/2012, Art. 14): blocked
//! no later than 6 months after formal closure (at most 18 where the area's act provides a
//! longer period), then deleted 3 years after formal closure. The delays are reference data per
//! legislative area and workflow (`fixtures/reference/legislative_areas.json`), read through
//! [`RetentionPeriods`] whenever a delay is checked, so a change of an area's delays applies to
//! every exchange not yet past them.

use crate::authority::{LegislativeArea, Lookup};
use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The default blocking delay after formal closure, in months (Art. 14(1)).
pub const DEFAULT_BLOCKING_MONTHS: u32 = 6;
/// The longest blocking delay an area's act may set, in months (Art. 14(1)).
pub const MAX_BLOCKING_MONTHS: u32 = 18;
/// The deletion delay after formal closure, in months (Art. 14(2): 3 years).
pub const DEFAULT_DELETION_MONTHS: u32 = 36;

/// The two delays of one workflow, in months after formal closure (or withdrawal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionDelays {
    #[serde(default = "default_blocking")]
    pub blocking_months: u32,
    #[serde(default = "default_deletion")]
    pub deletion_months: u32,
}

fn default_blocking() -> u32 {
    DEFAULT_BLOCKING_MONTHS
}
fn default_deletion() -> u32 {
    DEFAULT_DELETION_MONTHS
}

impl Default for RetentionDelays {
    fn default() -> Self {
        Self {
            blocking_months: DEFAULT_BLOCKING_MONTHS,
            deletion_months: DEFAULT_DELETION_MONTHS,
        }
    }
}

/// Why an area's delays were refused; `code()` is the machine code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    #[error("the blocking delay is {0} months; Regulation 1024/2012 allows at most {MAX_BLOCKING_MONTHS}")]
    BlockingTooLong(u32),
    #[error("the blocking delay must be at least one month")]
    BlockingZero,
    #[error("the deletion delay ({deletion} months) must be longer than the blocking delay ({blocking} months)")]
    DeletionNotAfterBlocking { blocking: u32, deletion: u32 },
}

impl RetentionError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BlockingTooLong(_) => "RETENTION_BLOCKING_TOO_LONG",
            Self::BlockingZero => "RETENTION_BLOCKING_ZERO",
            Self::DeletionNotAfterBlocking { .. } => "RETENTION_DELETION_NOT_AFTER_BLOCKING",
        }
    }
}

impl RetentionDelays {
    /// Refuses delays the Regulation does not allow.
    pub fn check(&self) -> Result<(), RetentionError> {
        if self.blocking_months == 0 {
            return Err(RetentionError::BlockingZero);
        }
        if self.blocking_months > MAX_BLOCKING_MONTHS {
            return Err(RetentionError::BlockingTooLong(self.blocking_months));
        }
        if self.deletion_months <= self.blocking_months {
            return Err(RetentionError::DeletionNotAfterBlocking {
                blocking: self.blocking_months,
                deletion: self.deletion_months,
            });
        }
        Ok(())
    }

    /// When personal data of an exchange that ended at `ended` are blocked.
    pub fn blocking_due(&self, ended: DateTime<Utc>) -> DateTime<Utc> {
        add_months(ended, self.blocking_months)
    }

    /// When personal data of an exchange that ended at `ended` are deleted.
    pub fn deletion_due(&self, ended: DateTime<Utc>) -> DateTime<Utc> {
        add_months(ended, self.deletion_months)
    }
}

/// `at` plus `months` calendar months in UTC (the end of a shorter month where the day does
/// not exist), as PostgreSQL computes `timestamp + interval` in UTC.
pub fn add_months(at: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    at.checked_add_months(Months::new(months))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// An area's delays for requests and for alerts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    #[serde(default)]
    pub requests: RetentionDelays,
    #[serde(default)]
    pub alerts: RetentionDelays,
}

impl Retention {
    pub fn check(&self) -> Result<(), RetentionError> {
        self.requests.check()?;
        self.alerts.check()
    }
}

/// The retention delays of each legislative area (reference data).
#[async_trait::async_trait]
pub trait RetentionPeriods: Send + Sync {
    /// The delays of `area`; the defaults for an area that sets none.
    async fn retention(&self, area: &LegislativeArea) -> Lookup<Retention>;
}

/// The defaults of the Regulation for every area.
#[async_trait::async_trait]
impl RetentionPeriods for () {
    async fn retention(&self, _: &LegislativeArea) -> Lookup<Retention> {
        Ok(Retention::default())
    }
}

#[async_trait::async_trait]
impl<T: RetentionPeriods + ?Sized> RetentionPeriods for Arc<T> {
    async fn retention(&self, area: &LegislativeArea) -> Lookup<Retention> {
        (**self).retention(area).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_the_regulation_allows() {
        assert_eq!(Retention::default().check(), Ok(()));
        let d = |blocking_months, deletion_months| RetentionDelays {
            blocking_months,
            deletion_months,
        };
        assert_eq!(d(18, 36).check(), Ok(()));
        assert_eq!(
            d(19, 36).check().unwrap_err().code(),
            "RETENTION_BLOCKING_TOO_LONG"
        );
        assert_eq!(
            d(0, 36).check().unwrap_err().code(),
            "RETENTION_BLOCKING_ZERO"
        );
        assert_eq!(
            d(12, 12).check().unwrap_err().code(),
            "RETENTION_DELETION_NOT_AFTER_BLOCKING"
        );
    }

    #[test]
    fn missing_delays_are_the_defaults() {
        let r: Retention = serde_json::from_str(r#"{"alerts": {"blocking_months": 18}}"#).unwrap();
        assert_eq!(r.requests, RetentionDelays::default());
        assert_eq!(r.alerts.blocking_months, 18);
        assert_eq!(r.alerts.deletion_months, DEFAULT_DELETION_MONTHS);
    }

    #[test]
    fn months_are_calendar_months_clamped_to_the_month_end() {
        let at = "2026-08-31T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            add_months(at, 6),
            "2027-02-28T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
