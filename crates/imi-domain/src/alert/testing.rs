//! An in-memory [`AlertServices`](super::AlertServices) for tests (here and in other
//! crates): an [`InMemoryDirectory`] for authorities and the clock, plus closure periods per
//! area. It is also the reference for what the store's implementation must answer.

use super::model::ClosurePeriods;
use super::services::AlertPeriods;
use crate::authority::testing::InMemoryDirectory;
use crate::authority::{
    AreaCoordinator, AuthorityDirectoryLookup, AuthoritySummary, Clock, Keyword, LegislativeArea,
    Lookup, LookupError, Workflow,
};
use crate::reference::MemberState;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Authorities, reference data, the time and closure periods, in memory.
#[derive(Clone, Debug, Default)]
pub struct InMemoryAlertServices {
    pub directory: InMemoryDirectory,
    periods: BTreeMap<LegislativeArea, ClosurePeriods>,
    periods_unavailable: bool,
    retention: BTreeMap<LegislativeArea, crate::retention::Retention>,
}

impl InMemoryAlertServices {
    /// The retention delays of `area` (the Regulation's defaults elsewhere).
    pub fn with_retention(mut self, area: &str, retention: crate::retention::Retention) -> Self {
        self.retention.insert(
            LegislativeArea::parse(area).expect("a well-formed area code"),
            retention,
        );
        self
    }

    pub fn new(directory: InMemoryDirectory) -> Self {
        Self {
            directory,
            periods: BTreeMap::new(),
            periods_unavailable: false,
            retention: BTreeMap::new(),
        }
    }

    pub fn with_periods(mut self, area: &str, comment_days: u32, objection_days: u32) -> Self {
        self.periods.insert(
            LegislativeArea::parse(area).expect("a well-formed area code"),
            ClosurePeriods {
                comment_days,
                objection_days,
            },
        );
        self
    }

    /// The time moves to `now`.
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.directory = self.directory.at(now);
        self
    }

    /// Period lookups fail, as when the database is down.
    pub fn periods_unavailable(mut self) -> Self {
        self.periods_unavailable = true;
        self
    }
}

#[async_trait::async_trait]
impl crate::retention::RetentionPeriods for InMemoryAlertServices {
    async fn retention(&self, area: &LegislativeArea) -> Lookup<crate::retention::Retention> {
        Ok(self.retention.get(area).copied().unwrap_or_default())
    }
}

impl Clock for InMemoryAlertServices {
    fn now(&self) -> DateTime<Utc> {
        self.directory.now()
    }
}

#[async_trait::async_trait]
impl AlertPeriods for InMemoryAlertServices {
    async fn closure_periods(&self, area: &LegislativeArea) -> Lookup<Option<ClosurePeriods>> {
        if self.periods_unavailable {
            return Err(LookupError("in-memory periods set unavailable".into()));
        }
        Ok(self.periods.get(area).copied())
    }
}

#[async_trait::async_trait]
impl AuthorityDirectoryLookup for InMemoryAlertServices {
    async fn national_coordinator(&self, ms: &MemberState) -> Lookup<Option<String>> {
        self.directory.national_coordinator(ms).await
    }
    async fn area_coordinators(
        &self,
        ms: &MemberState,
        area: &LegislativeArea,
    ) -> Lookup<Vec<AreaCoordinator>> {
        self.directory.area_coordinators(ms, area).await
    }
    async fn incoming_alert_postbox(&self, ms: &MemberState) -> Lookup<Option<String>> {
        self.directory.incoming_alert_postbox(ms).await
    }
    async fn authority(&self, id: &str) -> Lookup<Option<AuthoritySummary>> {
        self.directory.authority(id).await
    }
    async fn authorities_linked_to(
        &self,
        coordinator: &str,
        area: &LegislativeArea,
        workflow: Workflow,
    ) -> Lookup<Vec<String>> {
        self.directory
            .authorities_linked_to(coordinator, area, workflow)
            .await
    }
    async fn workflows_of(&self, area: &LegislativeArea) -> Lookup<Option<BTreeSet<Workflow>>> {
        self.directory.workflows_of(area).await
    }
    async fn is_known_keyword(&self, keyword: &Keyword) -> Lookup<bool> {
        self.directory.is_known_keyword(keyword).await
    }
    async fn is_known_profession(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        self.directory.is_known_profession(area, code).await
    }
    async fn is_known_service_activity(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        self.directory.is_known_service_activity(area, code).await
    }
}
