//! What the Alert aggregate needs beyond its own events: the authorities (who acts, who is
//! linked to which coordinator, each Member State's incoming alert postbox), the time, and
//! the closure periods of each legislative area.
//!
//! `()` implements [`AlertPeriods`] as "no periods configured": with it, drafting and the
//! workflow up to closure work as far as the directory answers; proposing closure is refused.

use super::model::ClosurePeriods;
use crate::authority::{AuthorityDirectoryLookup, Clock, LegislativeArea, Lookup};
use crate::retention::RetentionPeriods;
use std::sync::Arc;

/// The comment and objection periods of closure, per legislative area.
#[async_trait::async_trait]
pub trait AlertPeriods: Send + Sync {
    /// The periods of `area`; `None` when none are configured for it (closure is then
    /// refused rather than run with a guessed period).
    async fn closure_periods(&self, area: &LegislativeArea) -> Lookup<Option<ClosurePeriods>>;
}

/// Everything the Alert aggregate's `Services` must provide.
pub trait AlertServices:
    AuthorityDirectoryLookup + Clock + AlertPeriods + RetentionPeriods
{
}
impl<T: AuthorityDirectoryLookup + Clock + AlertPeriods + RetentionPeriods + ?Sized> AlertServices
    for T
{
}

#[async_trait::async_trait]
impl AlertPeriods for () {
    async fn closure_periods(&self, _: &LegislativeArea) -> Lookup<Option<ClosurePeriods>> {
        Ok(None)
    }
}

#[async_trait::async_trait]
impl<T: AlertPeriods + ?Sized> AlertPeriods for Arc<T> {
    async fn closure_periods(&self, area: &LegislativeArea) -> Lookup<Option<ClosurePeriods>> {
        (**self).closure_periods(area).await
    }
}
