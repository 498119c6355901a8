//! The command bus of the Authority aggregate, wired with the store's lookup and the guard keys
//! that serialize its cross-authority rules.
//!
//! | rule | commands | guard key |
//! |---|---|---|
//! | one national coordinator per Member State | `RegisterNationalCoordinator` | `nimic:<MS>` |
//! | one legislative area coordinator per area per Member State (or per federal state, not both) | `InviteAuthority`, `RegisterAuthority` of a LIMIC | `limic:<area>` |
//! | one incoming alert postbox per Member State | any command that gives the role | `postbox` |
//! | a coordinator others are linked to keeps its coordinating role | commands that link a coordinator; commands that take a coordinating role away | `coordinator:<id>` |
//!
//! The Member State of a new LIMIC or postbox is that of the acting coordinator, which the
//! command does not carry, so those keys span every Member State: such commands are rare, and a
//! wider key only makes two of them wait for each other.

use crate::authority_lookup::{authority_upcasters, StoreLookup};
use crate::commands::{AggregateConfig, CommandBus};
use crate::wake::Wake;
use imi_domain::authority::{
    AreaCoordinator, Authority, AuthorityCommand, AuthorityDirectoryLookup, AuthorityKind,
    AuthorityServices, AuthoritySummary, Clock, Keyword, LegislativeArea, Lookup, Workflow,
    WorkflowRole, WorkflowSetup,
};
use imi_domain::command::Issued;
use imi_domain::reference::MemberState;
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The Authority aggregate as the store runs it, with [`SharedServices`].
pub type StoreAuthority = Authority<SharedServices>;

/// Sends commands to authorities.
pub type AuthorityBus = CommandBus<StoreAuthority>;

/// The bus with a [`StoreLookup`] on `pool` (system clock) and the guard keys.
pub fn authority_bus(pool: PgPool, config: AggregateConfig, wake: Wake) -> AuthorityBus {
    let lookup = StoreLookup::new(pool.clone());
    authority_bus_with(pool, config, SharedServices::new(lookup), wake)
}

/// The bus with the given services (a [`StoreLookup`] with another clock, or a test double)
/// and the guard keys.
pub fn authority_bus_with(
    pool: PgPool,
    config: AggregateConfig,
    services: SharedServices,
    wake: Wake,
) -> AuthorityBus {
    CommandBus::new(pool, config, authority_upcasters(), services, wake).with_guard(guard_keys)
}

/// Any [`AuthorityServices`], shared: `Arc<dyn AuthorityServices>` in a named type. (With the
/// trait object itself as the aggregate's type parameter, rustc cannot prove that futures
/// holding the aggregate are `Send` for every lifetime, which async-graphql resolvers require.)
#[derive(Clone)]
pub struct SharedServices(pub Arc<dyn AuthorityServices>);

impl SharedServices {
    pub fn new(services: impl AuthorityServices + 'static) -> Self {
        Self(Arc::new(services))
    }
}

impl Clock for SharedServices {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.now()
    }
}

#[async_trait::async_trait]
impl AuthorityDirectoryLookup for SharedServices {
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

/// The guard keys of a command sent to authority `id` (see the module documentation).
pub fn guard_keys(id: &str, issued: &Issued<AuthorityCommand>) -> Vec<String> {
    use AuthorityCommand as C;
    fn setups<'a>(keys: &mut Vec<String>, setups: impl Iterator<Item = &'a WorkflowSetup>) {
        for setup in setups {
            if setup.role == WorkflowRole::IncomingAlertPostbox {
                keys.push("postbox".to_string());
            }
            for coordinator in &setup.linked_coordinators {
                keys.push(format!("coordinator:{coordinator}"));
            }
        }
    }
    let mut keys = Vec::new();
    match &issued.command {
        C::RegisterNationalCoordinator { member_state, .. } => {
            keys.push(format!("nimic:{member_state}"));
        }
        C::InviteAuthority {
            kind,
            coordinated_areas,
            access,
            ..
        }
        | C::RegisterAuthority {
            kind,
            coordinated_areas,
            access,
            ..
        } => {
            if *kind == AuthorityKind::LegislativeAreaCoordinator {
                keys.extend(coordinated_areas.iter().map(|a| format!("limic:{a}")));
            }
            setups(&mut keys, access.values().flat_map(|w| w.values()));
        }
        C::GrantAreaAccess { workflows, .. } => setups(&mut keys, workflows.values()),
        C::GrantWorkflowAccess { setup, .. } => setups(&mut keys, std::iter::once(setup)),
        C::LinkCoordinator { coordinator_id, .. } => {
            keys.push(format!("coordinator:{coordinator_id}"));
        }
        C::ChangeWorkflowRole { role, .. } => {
            // It may take a coordinating role away from `id`, or make it the postbox.
            keys.push(format!("coordinator:{id}"));
            if *role == WorkflowRole::IncomingAlertPostbox {
                keys.push("postbox".to_string());
            }
        }
        C::RevokeWorkflowAccess { .. } | C::RevokeAreaAccess { .. } => {
            keys.push(format!("coordinator:{id}"));
        }
        _ => {}
    }
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use imi_domain::actor::Actor;
    use imi_domain::reference::Language;
    use std::collections::{BTreeMap, BTreeSet};

    fn issued(command: AuthorityCommand) -> Issued<AuthorityCommand> {
        Issued::new(Actor::system("test"), command)
    }

    #[test]
    fn only_commands_deciding_cross_authority_rules_take_keys() {
        let title = issued(AuthorityCommand::SetInformalTitle {
            language: Language::parse("en").unwrap(),
            title: None,
        });
        assert!(guard_keys("a-1", &title).is_empty());
        assert!(guard_keys("a-1", &issued(AuthorityCommand::ValidateAuthority)).is_empty());

        let pq = LegislativeArea::parse("PQ").unwrap();
        let link = issued(AuthorityCommand::LinkCoordinator {
            area: pq.clone(),
            workflow: Workflow::Requests,
            coordinator_id: "limic".into(),
        });
        assert_eq!(guard_keys("ca", &link), ["coordinator:limic"]);

        let grant = issued(AuthorityCommand::GrantAreaAccess {
            area: pq.clone(),
            workflows: BTreeMap::from([(
                Workflow::Alerts,
                WorkflowSetup {
                    role: WorkflowRole::IncomingAlertPostbox,
                    linked_coordinators: BTreeSet::from(["nimic".to_string()]),
                },
            )]),
        });
        assert_eq!(
            guard_keys("nimic", &grant),
            ["coordinator:nimic", "postbox"]
        );

        let demote = issued(AuthorityCommand::ChangeWorkflowRole {
            area: pq,
            workflow: Workflow::Requests,
            role: WorkflowRole::RequestAuthority,
        });
        assert_eq!(guard_keys("limic", &demote), ["coordinator:limic"]);
    }
}
