//! What the Authority aggregate needs to know beyond its own events: the other authorities
//! (cross-aggregate rules such as one NIMIC per Member State), the reference data (legislative
//! areas and their workflows, keyword lists, professions, service activities) and the time.
//!
//! The event store implements [`AuthorityDirectoryLookup`] and [`Clock`]; the aggregate is
//! generic over them ([`super::Authority`]`<S>`). [`crate::authority::testing`] holds an
//! in-memory implementation.
//!
//! `()` implements both as "knows nothing": no other authority, no legislative area, no
//! keyword, and the system clock. It is what `Authority` (= `Authority<()>`) runs with until
//! the store wires a real lookup. With it, the two bootstrap commands work as before
//! (`RegisterNationalCoordinator` finds no other national coordinator, `SetInformalTitle`
//! by the authority's own LDA needs no lookup); every command that depends on another
//! authority or on reference data is refused (the other authority is "not found", the area
//! "unknown").

use super::model::{AreaCoordinator, AuthoritySummary, Keyword, LegislativeArea, Workflow};
use crate::reference::MemberState;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A lookup could not be answered (database unreachable, ...). The aggregate refuses the
/// command rather than decide on missing knowledge. The message is for logs; clients see a
/// generic text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("authority directory lookup failed: {0}")]
pub struct LookupError(pub String);

pub type Lookup<T> = Result<T, LookupError>;

/// The time, injectable so tests can fix it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Read access to the other authorities and to reference data.
///
/// Implementations must answer from a consistent source (the event store itself, or a read
/// model that includes invited, not yet validated authorities): the answers decide
/// cross-aggregate rules.
#[async_trait::async_trait]
pub trait AuthorityDirectoryLookup: Send + Sync {
    /// The national coordinator of `member_state`, if one is registered.
    async fn national_coordinator(&self, member_state: &MemberState) -> Lookup<Option<String>>;

    /// The legislative area coordinators (LIMICs) of `area` in `member_state`, invited ones
    /// included, with their federal state (`None`: the whole Member State).
    async fn area_coordinators(
        &self,
        member_state: &MemberState,
        area: &LegislativeArea,
    ) -> Lookup<Vec<AreaCoordinator>>;

    /// The incoming alert postbox of `member_state` (in any area), if one is nominated.
    async fn incoming_alert_postbox(&self, member_state: &MemberState) -> Lookup<Option<String>>;

    /// What the rules need to know of an authority (invited ones included).
    async fn authority(&self, authority_id: &str) -> Lookup<Option<AuthoritySummary>>;

    /// The authorities that have `coordinator` among their linked coordinators for
    /// `workflow` in `area`.
    async fn authorities_linked_to(
        &self,
        coordinator: &str,
        area: &LegislativeArea,
        workflow: Workflow,
    ) -> Lookup<Vec<String>>;

    /// The workflows of a legislative area; `None` when the area is unknown.
    async fn workflows_of(&self, area: &LegislativeArea) -> Lookup<Option<BTreeSet<Workflow>>>;

    async fn is_known_area(&self, area: &LegislativeArea) -> Lookup<bool> {
        Ok(self.workflows_of(area).await?.is_some())
    }

    /// Whether `keyword` is an entry of its keyword list.
    async fn is_known_keyword(&self, keyword: &Keyword) -> Lookup<bool>;

    /// Whether `code` is a profession of `area` (false for areas without professions).
    async fn is_known_profession(&self, area: &LegislativeArea, code: &str) -> Lookup<bool>;

    /// Whether `code` is a service activity of `area` (false for areas without them).
    async fn is_known_service_activity(&self, area: &LegislativeArea, code: &str) -> Lookup<bool>;
}

/// Everything the Authority aggregate's `Services` must provide.
pub trait AuthorityServices: AuthorityDirectoryLookup + Clock {}
impl<T: AuthorityDirectoryLookup + Clock + ?Sized> AuthorityServices for T {}

impl Clock for () {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Knows nothing: see the module documentation.
#[async_trait::async_trait]
impl AuthorityDirectoryLookup for () {
    async fn national_coordinator(&self, _: &MemberState) -> Lookup<Option<String>> {
        Ok(None)
    }
    async fn area_coordinators(
        &self,
        _: &MemberState,
        _: &LegislativeArea,
    ) -> Lookup<Vec<AreaCoordinator>> {
        Ok(vec![])
    }
    async fn incoming_alert_postbox(&self, _: &MemberState) -> Lookup<Option<String>> {
        Ok(None)
    }
    async fn authority(&self, _: &str) -> Lookup<Option<AuthoritySummary>> {
        Ok(None)
    }
    async fn authorities_linked_to(
        &self,
        _: &str,
        _: &LegislativeArea,
        _: Workflow,
    ) -> Lookup<Vec<String>> {
        Ok(vec![])
    }
    async fn workflows_of(&self, _: &LegislativeArea) -> Lookup<Option<BTreeSet<Workflow>>> {
        Ok(None)
    }
    async fn is_known_keyword(&self, _: &Keyword) -> Lookup<bool> {
        Ok(false)
    }
    async fn is_known_profession(&self, _: &LegislativeArea, _: &str) -> Lookup<bool> {
        Ok(false)
    }
    async fn is_known_service_activity(&self, _: &LegislativeArea, _: &str) -> Lookup<bool> {
        Ok(false)
    }
}

impl<T: Clock + ?Sized> Clock for Arc<T> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

#[async_trait::async_trait]
impl<T: AuthorityDirectoryLookup + ?Sized> AuthorityDirectoryLookup for Arc<T> {
    async fn national_coordinator(&self, ms: &MemberState) -> Lookup<Option<String>> {
        (**self).national_coordinator(ms).await
    }
    async fn area_coordinators(
        &self,
        ms: &MemberState,
        area: &LegislativeArea,
    ) -> Lookup<Vec<AreaCoordinator>> {
        (**self).area_coordinators(ms, area).await
    }
    async fn incoming_alert_postbox(&self, ms: &MemberState) -> Lookup<Option<String>> {
        (**self).incoming_alert_postbox(ms).await
    }
    async fn authority(&self, id: &str) -> Lookup<Option<AuthoritySummary>> {
        (**self).authority(id).await
    }
    async fn authorities_linked_to(
        &self,
        coordinator: &str,
        area: &LegislativeArea,
        workflow: Workflow,
    ) -> Lookup<Vec<String>> {
        (**self)
            .authorities_linked_to(coordinator, area, workflow)
            .await
    }
    async fn workflows_of(&self, area: &LegislativeArea) -> Lookup<Option<BTreeSet<Workflow>>> {
        (**self).workflows_of(area).await
    }
    async fn is_known_area(&self, area: &LegislativeArea) -> Lookup<bool> {
        (**self).is_known_area(area).await
    }
    async fn is_known_keyword(&self, keyword: &Keyword) -> Lookup<bool> {
        (**self).is_known_keyword(keyword).await
    }
    async fn is_known_profession(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        (**self).is_known_profession(area, code).await
    }
    async fn is_known_service_activity(&self, area: &LegislativeArea, code: &str) -> Lookup<bool> {
        (**self).is_known_service_activity(area, code).await
    }
}
