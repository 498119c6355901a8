//! The command bus of the InformationRequest aggregate, wired with the store's lookup (the
//! authorities involved, from the event log) and the question sets (from the reference
//! tables).
//!
//! No guard keys: a request's rules span only its own events and what the authorities are
//! at the time of the command (a lookup, not a rule shared with other requests), so
//! cqrs-es's optimistic concurrency on the request's own sequence is enough.

use crate::authority_lookup::StoreLookup;
use crate::commands::{AggregateConfig, CommandBus};
use crate::wake::Wake;
use imi_domain::authority::{
    AreaCoordinator, AuthorityDirectoryLookup, AuthoritySummary, Clock, Keyword, LegislativeArea,
    Lookup, LookupError, Workflow,
};
use imi_domain::reference::MemberState;
use imi_domain::request::{InformationRequest, QuestionSetSummary, QuestionSets, RequestServices};
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The InformationRequest aggregate as the store runs it, with [`SharedRequestServices`].
pub type StoreRequest = InformationRequest<SharedRequestServices>;

/// Sends commands to information requests.
pub type RequestBus = CommandBus<StoreRequest>;

/// The upcasters of the InformationRequest aggregate's events.
pub fn request_upcasters() -> Vec<Box<dyn cqrs_es::persist::EventUpcaster>> {
    crate::upcasting::upcasters("InformationRequest")
}

/// The bus with a [`StoreLookup`] on `pool` (system clock).
pub fn request_bus(pool: PgPool, config: AggregateConfig, wake: Wake) -> RequestBus {
    let lookup = StoreLookup::new(pool.clone());
    request_bus_with(pool, config, SharedRequestServices::new(lookup), wake)
}

/// The bus with the given services (a [`StoreLookup`] with another clock, or a test double).
pub fn request_bus_with(
    pool: PgPool,
    config: AggregateConfig,
    services: SharedRequestServices,
    wake: Wake,
) -> RequestBus {
    CommandBus::new(pool, config, request_upcasters(), services.clone(), wake)
        .with_batches(services)
}

/// The question set `id` from `reference.question_sets` and `reference.questions`.
pub async fn question_set(pool: &PgPool, id: &str) -> Lookup<Option<QuestionSetSummary>> {
    let row: Option<(String, Vec<String>)> = sqlx::query_as(
        "SELECT s.area, coalesce(array_agg(q.id ORDER BY q.position)
                                 FILTER (WHERE q.id IS NOT NULL), '{}')
           FROM reference.question_sets s
           LEFT JOIN reference.questions q ON q.question_set = s.id
          WHERE s.id = $1
          GROUP BY s.area",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|e| LookupError(format!("database: {e}")))?;
    let Some((area, questions)) = row else {
        return Ok(None);
    };
    let area = LegislativeArea::parse(&area)
        .map_err(|e| LookupError(format!("question set {id}: {e}")))?;
    Ok(Some(QuestionSetSummary {
        id: id.to_string(),
        area,
        questions: questions.into_iter().collect(),
    }))
}

#[async_trait::async_trait]
impl QuestionSets for StoreLookup {
    async fn question_set(&self, id: &str) -> Lookup<Option<QuestionSetSummary>> {
        question_set(self.pool(), id).await
    }
}

/// Any [`RequestServices`], shared (see [`crate::authority_bus::SharedServices`] for why a
/// named type).
#[derive(Clone)]
pub struct SharedRequestServices(pub Arc<dyn RequestServices>);

impl SharedRequestServices {
    pub fn new(services: impl RequestServices + 'static) -> Self {
        Self(Arc::new(services))
    }
}

impl Clock for SharedRequestServices {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.now()
    }
}

#[async_trait::async_trait]
impl QuestionSets for SharedRequestServices {
    async fn question_set(&self, id: &str) -> Lookup<Option<QuestionSetSummary>> {
        self.0.question_set(id).await
    }
}

#[async_trait::async_trait]
impl AuthorityDirectoryLookup for SharedRequestServices {
    async fn national_coordinator(&self, ms: &MemberState) -> Lookup<Option<String>> {
        self.0.national_coordinator(ms).await
    }
    async fn area_coordinators(
        &self,
        ms: &MemberState,
        area: &LegislativeArea,
    ) -> Lookup<Vec<AreaCoordinator>> {
        self.0.area_coordinators(ms, area).await
    }
    async fn incoming_alert_postbox(&self, ms: &MemberState) -> Lookup<Option<String>> {
        self.0.incoming_alert_postbox(ms).await
    }
    async fn authority(&self, id: &str) -> Lookup<Option<AuthoritySummary>> {
        self.0.authority(id).await
    }
    async fn authorities_linked_to(
        &self,
        coordinator: &str,
        area: &LegislativeArea,
        workflow: Workflow,
    ) -> Lookup<Vec<String>> {
        self.0
            .authorities_linked_to(coordinator, area, workflow)
            .await
    }
    async fn workflows_of(&self, area: &LegislativeArea) -> Lookup<Option<BTreeSet<Workflow>>> {
        self.0.workflows_of(area).await
    }
    async fn is_known_area(&self, area: &LegislativeArea) -> Lookup<bool> {
        self.0.is_known_area(area).await
    }
    async fn is_known_keyword(&self, keyword: &Keyword) -> Lookup<bool> {
        self.0.is_known_keyword(keyword).await
    }
    async fn is_known_profession(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        self.0.is_known_profession(area, code).await
    }
    async fn is_known_service_activity(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        self.0.is_known_service_activity(area, code).await
    }
}
