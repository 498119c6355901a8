//! The command bus of the Alert aggregate, wired with the store's lookup and the closure
//! periods of the reference data.
//!
//! The periods are reference data (`alert_periods` of `fixtures/reference/legislative_areas.json`,
//! the `reference.legislative_areas` table), not configuration: they belong to a legislative
//! area as its workflows do, every process must apply the same ones, and a new area with
//! alerts stays a change of the files only.
//!
//! No guard keys: an alert's rules are decided on its own events and on facts of other
//! aggregates that no alert command changes (who is linked to whom, each Member State's
//! postbox); the optimistic lock of the aggregate serializes writers of one alert.

use crate::authority_lookup::StoreLookup;
use crate::commands::{AggregateConfig, CommandBus};
use crate::wake::Wake;
use cqrs_es::persist::EventUpcaster;
use imi_domain::alert::{Alert, AlertPeriods, AlertServices, ClosurePeriods};
use imi_domain::authority::{
    AreaCoordinator, AuthorityDirectoryLookup, AuthoritySummary, Clock, Keyword, LegislativeArea,
    Lookup, LookupError, Workflow,
};
use imi_domain::reference::MemberState;
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The Alert aggregate as the store runs it, with [`SharedAlertServices`].
pub type StoreAlert = Alert<SharedAlertServices>;

/// Sends commands to alerts.
pub type AlertBus = CommandBus<StoreAlert>;

/// The upcasters of the Alert aggregate's events.
pub fn alert_upcasters() -> Vec<Box<dyn EventUpcaster>> {
    crate::upcasting::upcasters("Alert")
}

/// The bus with a [`StoreLookup`] on `pool` (system clock).
pub fn alert_bus(pool: PgPool, config: AggregateConfig, wake: Wake) -> AlertBus {
    let lookup = StoreLookup::new(pool.clone());
    alert_bus_with(pool, config, SharedAlertServices::new(lookup), wake)
}

/// The bus with the given services (a [`StoreLookup`] with another clock, or a test double).
pub fn alert_bus_with(
    pool: PgPool,
    config: AggregateConfig,
    services: SharedAlertServices,
    wake: Wake,
) -> AlertBus {
    CommandBus::new(pool, config, alert_upcasters(), services.clone(), wake).with_batches(services)
}

/// The closure periods of `area` from the reference tables; `None` for an unknown area or one
/// without alerts.
pub async fn closure_periods(
    pool: &PgPool,
    area: &LegislativeArea,
) -> Result<Option<ClosurePeriods>, sqlx::Error> {
    let periods: Option<Option<serde_json::Value>> =
        sqlx::query_scalar("SELECT alert_periods FROM reference.legislative_areas WHERE code = $1")
            .bind(area.code())
            .fetch_optional(pool)
            .await?;
    Ok(periods
        .flatten()
        .and_then(|v| serde_json::from_value(v).ok()))
}

#[async_trait::async_trait]
impl AlertPeriods for StoreLookup {
    async fn closure_periods(&self, area: &LegislativeArea) -> Lookup<Option<ClosurePeriods>> {
        closure_periods(self.pool(), area)
            .await
            .map_err(|e| LookupError(format!("database: {e}")))
    }
}

/// Any [`AlertServices`], shared (see [`crate::authority_bus::SharedServices`] for why a named
/// type).
#[derive(Clone)]
pub struct SharedAlertServices(pub Arc<dyn AlertServices>);

impl SharedAlertServices {
    pub fn new(services: impl AlertServices + 'static) -> Self {
        Self(Arc::new(services))
    }
}

impl Clock for SharedAlertServices {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.now()
    }
}

#[async_trait::async_trait]
impl AlertPeriods for SharedAlertServices {
    async fn closure_periods(&self, area: &LegislativeArea) -> Lookup<Option<ClosurePeriods>> {
        self.0.closure_periods(area).await
    }
}

#[async_trait::async_trait]
impl AuthorityDirectoryLookup for SharedAlertServices {
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
