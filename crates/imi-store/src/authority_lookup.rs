//! The Authority aggregate's services on the event store: [`StoreLookup`] answers
//! [`AuthorityDirectoryLookup`] from a consistent source, and tells the time ([`Clock`]).
//!
//! - Authorities: from the event log itself, never from a read model (a projection lags, and
//!   the answers decide cross-authority rules such as one national coordinator per Member
//!   State). The migration `0007_authority_lookup.sql` indexes, per event, the keys that select
//!   candidates (the authorities created in a Member State with a kind, the coordinators of an
//!   area, those that ever held the incoming alert postbox role, those that ever linked a
//!   coordinator). Each candidate is then loaded as the command path loads it (snapshot, then
//!   the later events, through the same upcasters) and kept only if its summary qualifies, so
//!   the answers are exactly those of [`imi_domain::authority::testing::InMemoryDirectory`]
//!   over the same history, in the same order.
//! - Reference data: from the `reference` tables ([`crate::reference`]).
//!
//! Consistency under concurrency comes from the bus: commands that decide a cross-authority
//! rule hold a guard key while they load, decide and append ([`crate::authority_bus`]).

use crate::reference::keyword_list_code;
use cqrs_es::persist::EventUpcaster;
use imi_domain::authority::{
    AreaCoordinator, AuthorityDirectoryLookup, AuthorityKind, AuthoritySummary, Clock, Keyword,
    LegislativeArea, Lookup, LookupError, SystemClock, Workflow, WorkflowRole,
};
use imi_domain::reference::MemberState;
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The upcasters of the Authority aggregate's events: the bus and the lookup load with the
/// same ones.
pub fn authority_upcasters() -> Vec<Box<dyn EventUpcaster>> {
    crate::upcasting::upcasters("Authority")
}

/// The events the lookup index covers (the partial index's predicate, repeated so the planner
/// uses it).
const INDEXED: &str = "aggregate_type = 'Authority'
   AND event_type IN ('NationalCoordinatorRegistered', 'InvitationIssued', 'AuthorityRegistered',
                      'AreaAccessGranted', 'WorkflowAccessGranted', 'WorkflowRoleChanged',
                      'CoordinatorLinked')";

/// [`AuthorityDirectoryLookup`] and [`Clock`] on the event store and the reference tables.
pub struct StoreLookup {
    pool: PgPool,
    upcasters: Arc<Vec<Box<dyn EventUpcaster>>>,
    clock: Arc<dyn Clock>,
}

impl StoreLookup {
    /// On `pool`, with the system clock.
    pub fn new(pool: PgPool) -> Self {
        static UPCASTERS: std::sync::LazyLock<Arc<Vec<Box<dyn EventUpcaster>>>> =
            std::sync::LazyLock::new(|| Arc::new(authority_upcasters()));
        Self {
            pool,
            upcasters: UPCASTERS.clone(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The pool it reads from.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Tells the time with `clock` instead (tests fix it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The authority `id` as its events leave it; `None` if it does not exist. Through
    /// [`crate::authority_cache`]: the events since this process last loaded it.
    pub async fn load(&self, id: &str) -> Lookup<Option<AuthoritySummary>> {
        crate::authority_cache::load(&self.pool, &self.upcasters, id)
            .await
            .map_err(|e| LookupError(format!("loading authority {id}: {e}")))
    }

    /// The authorities with an indexed event that has every key of `keys`, loaded, in id
    /// order.
    async fn candidates(&self, keys: &[String]) -> Lookup<Vec<AuthoritySummary>> {
        let ids: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT DISTINCT aggregate_id FROM events
              WHERE {INDEXED} AND authority_lookup_keys(event_type, payload) @> $1"
        ))
        .bind(keys)
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        self.load_all(ids).await
    }

    async fn load_all(&self, mut ids: Vec<String>) -> Lookup<Vec<AuthoritySummary>> {
        // The in-memory reference answers in id order (byte order, not the database's
        // collation).
        ids.sort();
        ids.dedup();
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(summary) = self.load(&id).await? {
                found.push(summary);
            }
        }
        Ok(found)
    }
}

fn database(e: sqlx::Error) -> LookupError {
    LookupError(format!("database: {e}"))
}

impl Clock for StoreLookup {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

#[async_trait::async_trait]
impl AuthorityDirectoryLookup for StoreLookup {
    async fn national_coordinator(&self, member_state: &MemberState) -> Lookup<Option<String>> {
        let key = format!(
            "placement:{member_state}:{}",
            AuthorityKind::NationalCoordinator.as_str()
        );
        Ok(self
            .candidates(&[key])
            .await?
            .into_iter()
            .find(|a| {
                a.kind == AuthorityKind::NationalCoordinator && a.member_state == *member_state
            })
            .map(|a| a.authority_id))
    }

    async fn area_coordinators(
        &self,
        member_state: &MemberState,
        area: &LegislativeArea,
    ) -> Lookup<Vec<AreaCoordinator>> {
        Ok(self
            .candidates(&[format!("coordinates:{member_state}:{area}")])
            .await?
            .into_iter()
            .filter(|a| {
                a.kind == AuthorityKind::LegislativeAreaCoordinator
                    && a.member_state == *member_state
                    && a.coordinated_areas.contains(area)
            })
            .map(|a| AreaCoordinator {
                authority_id: a.authority_id,
                region: a.region,
            })
            .collect())
    }

    async fn incoming_alert_postbox(&self, member_state: &MemberState) -> Lookup<Option<String>> {
        // Those that ever held the role, among the authorities of the Member State.
        let placements: Vec<String> = AuthorityKind::ALL
            .iter()
            .map(|k| format!("placement:{member_state}:{}", k.as_str()))
            .collect();
        let ids: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT aggregate_id FROM events
              WHERE {INDEXED} AND authority_lookup_keys(event_type, payload) @> '{{postbox}}'
             INTERSECT
             SELECT aggregate_id FROM events
              WHERE {INDEXED} AND authority_lookup_keys(event_type, payload) && $1"
        ))
        .bind(&placements)
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        Ok(self
            .load_all(ids)
            .await?
            .into_iter()
            .find(|a| {
                a.member_state == *member_state
                    && a.areas.values().any(|area| {
                        area.workflows
                            .values()
                            .any(|w| w.role == WorkflowRole::IncomingAlertPostbox)
                    })
            })
            .map(|a| a.authority_id))
    }

    async fn authority(&self, authority_id: &str) -> Lookup<Option<AuthoritySummary>> {
        self.load(authority_id).await
    }

    async fn authorities_linked_to(
        &self,
        coordinator: &str,
        area: &LegislativeArea,
        workflow: Workflow,
    ) -> Lookup<Vec<String>> {
        Ok(self
            .candidates(&[format!("linked:{coordinator}")])
            .await?
            .into_iter()
            .filter(|a| {
                a.areas
                    .get(area)
                    .and_then(|x| x.workflows.get(&workflow))
                    .is_some_and(|w| w.linked_coordinators.contains(coordinator))
            })
            .map(|a| a.authority_id)
            .collect())
    }

    async fn workflows_of(&self, area: &LegislativeArea) -> Lookup<Option<BTreeSet<Workflow>>> {
        let names: Option<Vec<String>> =
            sqlx::query_scalar("SELECT workflows FROM reference.legislative_areas WHERE code = $1")
                .bind(area.code())
                .fetch_optional(&self.pool)
                .await
                .map_err(database)?;
        names
            .map(|names| {
                names
                    .iter()
                    .map(|n| {
                        crate::reference::workflow(n).ok_or_else(|| {
                            LookupError(format!("{area} has an unknown workflow {n:?}"))
                        })
                    })
                    .collect()
            })
            .transpose()
    }

    async fn is_known_keyword(&self, keyword: &Keyword) -> Lookup<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM reference.keywords WHERE list = $1 AND code = $2)",
        )
        .bind(keyword_list_code(keyword.list))
        .bind(&keyword.code)
        .fetch_one(&self.pool)
        .await
        .map_err(database)
    }

    async fn is_known_profession(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM reference.professions WHERE area = $1 AND code = $2)",
        )
        .bind(area.code())
        .bind(code)
        .fetch_one(&self.pool)
        .await
        .map_err(database)
    }

    async fn is_known_service_activity(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM reference.service_activities WHERE area = $1 AND code = $2)",
        )
        .bind(area.code())
        .bind(code)
        .fetch_one(&self.pool)
        .await
        .map_err(database)
    }
}
