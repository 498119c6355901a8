//! An in-memory [`RequestServices`](super::RequestServices) for tests (here and in other
//! crates): the authority directory of [`InMemoryDirectory`] plus question sets. It is also
//! the reference for what the store's question-set lookup must answer.

use super::model::QuestionSetSummary;
use super::services::QuestionSets;
use crate::authority::testing::InMemoryDirectory;
use crate::authority::{
    AreaCoordinator, AuthorityDirectoryLookup, AuthoritySummary, Clock, Keyword, LegislativeArea,
    Lookup, LookupError, Workflow,
};
use crate::reference::MemberState;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Authorities, reference data and question sets, in memory, at a fixed time.
#[derive(Clone, Debug, Default)]
pub struct InMemoryRequestServices {
    pub directory: InMemoryDirectory,
    question_sets: BTreeMap<String, QuestionSetSummary>,
    question_sets_unavailable: bool,
    retention: BTreeMap<LegislativeArea, crate::retention::Retention>,
}

impl InMemoryRequestServices {
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
            question_sets: BTreeMap::new(),
            question_sets_unavailable: false,
            retention: BTreeMap::new(),
        }
    }

    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.directory = self.directory.at(now);
        self
    }

    /// Adds the question set `id` of `area` with `questions`.
    pub fn with_question_set(mut self, id: &str, area: &str, questions: &[&str]) -> Self {
        self.question_sets.insert(
            id.to_string(),
            QuestionSetSummary {
                id: id.to_string(),
                area: LegislativeArea::parse(area).expect("a well-formed area code"),
                questions: questions.iter().map(|q| q.to_string()).collect(),
            },
        );
        self
    }

    /// Replaces the authority with the same id.
    pub fn with_authority(mut self, summary: AuthoritySummary) -> Self {
        self.directory.insert(summary);
        self
    }

    /// Question-set lookups fail, as when the database is down.
    pub fn question_sets_unavailable(mut self) -> Self {
        self.question_sets_unavailable = true;
        self
    }
}

#[async_trait::async_trait]
impl crate::retention::RetentionPeriods for InMemoryRequestServices {
    async fn retention(&self, area: &LegislativeArea) -> Lookup<crate::retention::Retention> {
        Ok(self.retention.get(area).copied().unwrap_or_default())
    }
}

impl Clock for InMemoryRequestServices {
    fn now(&self) -> DateTime<Utc> {
        self.directory.now()
    }
}

#[async_trait::async_trait]
impl QuestionSets for InMemoryRequestServices {
    async fn question_set(&self, id: &str) -> Lookup<Option<QuestionSetSummary>> {
        if self.question_sets_unavailable {
            return Err(LookupError(
                "in-memory question sets set unavailable".into(),
            ));
        }
        Ok(self.question_sets.get(id).cloned())
    }
}

#[async_trait::async_trait]
impl AuthorityDirectoryLookup for InMemoryRequestServices {
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
