//! An in-memory [`AuthorityDirectoryLookup`] and [`Clock`] for tests (here and in other
//! crates): authorities are added as summaries or as event histories, reference data by hand.
//! It is also the reference for what the store's lookup must answer.

use super::model::{
    AreaCoordinator, AuthorityKind, AuthoritySummary, Keyword, LegislativeArea, Workflow,
    WorkflowRole,
};
use super::services::{AuthorityDirectoryLookup, Clock, Lookup, LookupError};
use super::{Authority, AuthorityEvent};
use crate::reference::MemberState;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Other authorities and reference data, in memory, at a fixed time.
#[derive(Clone, Debug)]
pub struct InMemoryDirectory {
    authorities: BTreeMap<String, AuthoritySummary>,
    areas: BTreeMap<LegislativeArea, BTreeSet<Workflow>>,
    keywords: BTreeSet<Keyword>,
    professions: BTreeSet<(LegislativeArea, String)>,
    service_activities: BTreeSet<(LegislativeArea, String)>,
    now: DateTime<Utc>,
    unavailable: bool,
}

impl Default for InMemoryDirectory {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryDirectory {
    /// Empty, at 2026-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self {
            authorities: BTreeMap::new(),
            areas: BTreeMap::new(),
            keywords: BTreeSet::new(),
            professions: BTreeSet::new(),
            service_activities: BTreeSet::new(),
            now: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            unavailable: false,
        }
    }

    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// Every lookup fails, as when the database is down.
    pub fn unavailable(mut self) -> Self {
        self.unavailable = true;
        self
    }

    pub fn with_area(mut self, area: &str, workflows: &[Workflow]) -> Self {
        self.areas.insert(
            LegislativeArea::parse(area).expect("a well-formed area code"),
            workflows.iter().copied().collect(),
        );
        self
    }

    pub fn with_keyword(mut self, keyword: Keyword) -> Self {
        self.keywords.insert(keyword);
        self
    }

    pub fn with_profession(mut self, area: &str, code: &str) -> Self {
        self.professions.insert((
            LegislativeArea::parse(area).expect("a well-formed area code"),
            code.to_string(),
        ));
        self
    }

    pub fn with_service_activity(mut self, area: &str, code: &str) -> Self {
        self.service_activities.insert((
            LegislativeArea::parse(area).expect("a well-formed area code"),
            code.to_string(),
        ));
        self
    }

    pub fn with_authority(mut self, summary: AuthoritySummary) -> Self {
        self.insert(summary);
        self
    }

    /// Adds the authority `id` as its `events` leave it.
    pub fn with_history(mut self, id: &str, events: Vec<AuthorityEvent>) -> Self {
        let summary = Authority::<()>::from_events(events)
            .summary(id)
            .expect("a history that creates the authority");
        self.insert(summary);
        self
    }

    /// Forgets the authority `id`.
    pub fn without(mut self, id: &str) -> Self {
        self.authorities.remove(id);
        self
    }

    pub fn insert(&mut self, summary: AuthoritySummary) {
        self.authorities
            .insert(summary.authority_id.clone(), summary);
    }

    pub fn get(&self, id: &str) -> Option<&AuthoritySummary> {
        self.authorities.get(id)
    }

    fn check(&self) -> Lookup<()> {
        if self.unavailable {
            Err(LookupError("in-memory directory set unavailable".into()))
        } else {
            Ok(())
        }
    }
}

impl Clock for InMemoryDirectory {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

#[async_trait::async_trait]
impl AuthorityDirectoryLookup for InMemoryDirectory {
    async fn national_coordinator(&self, member_state: &MemberState) -> Lookup<Option<String>> {
        self.check()?;
        Ok(self
            .authorities
            .values()
            .find(|a| {
                a.kind == AuthorityKind::NationalCoordinator && a.member_state == *member_state
            })
            .map(|a| a.authority_id.clone()))
    }

    async fn area_coordinators(
        &self,
        member_state: &MemberState,
        area: &LegislativeArea,
    ) -> Lookup<Vec<AreaCoordinator>> {
        self.check()?;
        Ok(self
            .authorities
            .values()
            .filter(|a| {
                a.kind == AuthorityKind::LegislativeAreaCoordinator
                    && a.member_state == *member_state
                    && a.coordinated_areas.contains(area)
            })
            .map(|a| AreaCoordinator {
                authority_id: a.authority_id.clone(),
                region: a.region.clone(),
            })
            .collect())
    }

    async fn incoming_alert_postbox(&self, member_state: &MemberState) -> Lookup<Option<String>> {
        self.check()?;
        Ok(self
            .authorities
            .values()
            .find(|a| {
                a.member_state == *member_state
                    && a.areas.values().any(|area| {
                        area.workflows
                            .values()
                            .any(|w| w.role == WorkflowRole::IncomingAlertPostbox)
                    })
            })
            .map(|a| a.authority_id.clone()))
    }

    async fn authority(&self, authority_id: &str) -> Lookup<Option<AuthoritySummary>> {
        self.check()?;
        Ok(self.authorities.get(authority_id).cloned())
    }

    async fn authorities_linked_to(
        &self,
        coordinator: &str,
        area: &LegislativeArea,
        workflow: Workflow,
    ) -> Lookup<Vec<String>> {
        self.check()?;
        Ok(self
            .authorities
            .values()
            .filter(|a| {
                a.areas
                    .get(area)
                    .and_then(|x| x.workflows.get(&workflow))
                    .is_some_and(|w| w.linked_coordinators.contains(coordinator))
            })
            .map(|a| a.authority_id.clone())
            .collect())
    }

    async fn workflows_of(&self, area: &LegislativeArea) -> Lookup<Option<BTreeSet<Workflow>>> {
        self.check()?;
        Ok(self.areas.get(area).cloned())
    }

    async fn is_known_keyword(&self, keyword: &Keyword) -> Lookup<bool> {
        self.check()?;
        Ok(self.keywords.contains(keyword))
    }

    async fn is_known_profession(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        self.check()?;
        Ok(self.professions.contains(&(area.clone(), code.to_string())))
    }

    async fn is_known_service_activity(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        self.check()?;
        Ok(self
            .service_activities
            .contains(&(area.clone(), code.to_string())))
    }
}
