//! A clock that can be moved forward: the system time plus an offset. Tests of time rules
//! (30-day codes, comment and objection periods) run the whole service on one and advance
//! it; a service in training mode runs on one that follows the database's offset (see
//! [`crate::training`]).

use chrono::{DateTime, Duration, Utc};
use imi_domain::authority::Clock;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct AdjustableClock {
    offset: Mutex<Duration>,
}

impl AdjustableClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` (backward when negative).
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset += by;
    }

    /// Moves the clock to `offset` ahead of the system clock, unless it is already further
    /// ahead: a late or repeated notice never moves it back.
    pub fn catch_up(&self, offset: Duration) {
        let mut current = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        if offset > *current {
            *current = offset;
        }
    }

    pub fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for AdjustableClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_by_that_much() {
        let clock = AdjustableClock::new();
        let before = clock.now();
        clock.advance(Duration::days(31));
        let after = clock.now();
        assert!(after - before >= Duration::days(31));
        assert!(after - before < Duration::days(31) + Duration::seconds(5));
    }

    #[test]
    fn catching_up_never_moves_back() {
        let clock = AdjustableClock::new();
        clock.catch_up(Duration::days(7));
        clock.catch_up(Duration::days(2));
        assert_eq!(clock.offset(), Duration::days(7));
        clock.catch_up(Duration::days(21));
        assert_eq!(clock.offset(), Duration::days(21));
    }
}
