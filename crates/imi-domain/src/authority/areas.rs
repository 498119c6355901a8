//! Access to legislative areas and workflows: workflow roles, the access coordinator and its
//! hand-over, flags, linked coordinators and linked authorities.

use super::*;

/// Checks the workflows an authority is given in `area`.
pub(super) async fn check_grants(
    services: &dyn AuthorityServices,
    actor: &ActorContext,
    target: &AuthoritySummary,
    area: &LegislativeArea,
    workflows: &BTreeMap<Workflow, WorkflowSetup>,
) -> Result<(), DomainError> {
    if workflows.is_empty() {
        return Err(DomainError::invalid(format!(
            "access to {area} needs at least one workflow"
        )));
    }
    for (workflow, setup) in workflows {
        check_setup(services, actor, target, area, *workflow, setup).await?;
    }
    Ok(())
}

async fn check_setup(
    services: &dyn AuthorityServices,
    actor: &ActorContext,
    target: &AuthoritySummary,
    area: &LegislativeArea,
    workflow: Workflow,
    setup: &WorkflowSetup,
) -> Result<(), DomainError> {
    let offered = services
        .workflows_of(area)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| DomainError::invalid(format!("unknown legislative area {area}")))?;
    if !offered.contains(&workflow) {
        return Err(DomainError::invalid(format!(
            "{area} has no {workflow} workflow"
        )));
    }
    check_role(services, actor, target, area, workflow, setup.role).await?;
    if setup.linked_coordinators.is_empty() {
        return Err(DomainError::refused(format!(
            "an authority needs at least one linked coordinator for {workflow} in {area}"
        )));
    }
    for coordinator in &setup.linked_coordinators {
        check_linked_coordinator(services, target, area, workflow, setup.role, coordinator).await?;
    }
    Ok(())
}

/// A workflow role fits its workflow and the authority's kind; the incoming alert postbox is
/// nominated by the national coordinator, one per Member State.
async fn check_role(
    services: &dyn AuthorityServices,
    actor: &ActorContext,
    target: &AuthoritySummary,
    area: &LegislativeArea,
    workflow: Workflow,
    role: WorkflowRole,
) -> Result<(), DomainError> {
    if role.workflow() != workflow {
        return Err(DomainError::invalid(format!(
            "the {} role belongs to the {} workflow",
            role.label(),
            role.workflow()
        )));
    }
    if role.coordinates() && !target.kind.is_coordinator() {
        return Err(DomainError::refused(format!(
            "the {} role is only for IMI coordinators",
            role.label()
        )));
    }
    if role == WorkflowRole::IncomingAlertPostbox {
        access::authorize(
            actor,
            target,
            &AuthorityMutation::NominateIncomingAlertPostbox(area.clone()),
        )?;
        if let Some(other) = services
            .incoming_alert_postbox(&target.member_state)
            .await
            .map_err(unavailable)?
        {
            if other != target.authority_id {
                return Err(DomainError::refused(format!(
                    "{} already has an incoming alert postbox",
                    target.member_state
                )));
            }
        }
    }
    Ok(())
}

/// A linked coordinator is a validated authority of the same Member State that coordinates
/// the workflow in the area (or the authority itself, where it does).
async fn check_linked_coordinator(
    services: &dyn AuthorityServices,
    target: &AuthoritySummary,
    area: &LegislativeArea,
    workflow: Workflow,
    own_role: WorkflowRole,
    coordinator: &str,
) -> Result<(), DomainError> {
    if coordinator == target.authority_id {
        return if own_role.coordinates() {
            Ok(())
        } else {
            Err(DomainError::refused(format!(
                "an authority can be its own linked coordinator only as a coordinator of the \
                 {workflow} workflow"
            )))
        };
    }
    let c = services
        .authority(coordinator)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| DomainError::not_found(format!("no authority {coordinator}")))?;
    if !c.validated() {
        return Err(DomainError::refused(format!(
            "{coordinator} is not validated yet"
        )));
    }
    if c.member_state != target.member_state {
        return Err(DomainError::refused(
            "a linked coordinator must be of the same Member State",
        ));
    }
    if !c
        .role(area, workflow)
        .is_some_and(WorkflowRole::coordinates)
    {
        return Err(DomainError::refused(format!(
            "{coordinator} is not a coordinator of the {workflow} workflow in {area}"
        )));
    }
    Ok(())
}

impl AuthorityState {
    pub(super) fn area(&self, area: &LegislativeArea) -> Result<&AreaAccess, DomainError> {
        self.areas
            .get(area)
            .ok_or_else(|| DomainError::refused(format!("the authority has no access to {area}")))
    }

    fn workflow(
        &self,
        area: &LegislativeArea,
        workflow: Workflow,
    ) -> Result<&WorkflowAccess, DomainError> {
        self.area(area)?.workflows.get(&workflow).ok_or_else(|| {
            DomainError::refused(format!(
                "the authority has no access to the {workflow} workflow in {area}"
            ))
        })
    }

    /// Revokes, user by user, the roles in `area` that `gone` says no longer apply.
    pub(super) fn revoke_roles_where(
        &self,
        area: &LegislativeArea,
        gone: impl Fn(UserRole) -> bool,
    ) -> Vec<AuthorityEvent> {
        self.users
            .iter()
            .filter_map(|(user_id, user)| {
                let roles: BTreeSet<UserRole> = user
                    .roles
                    .get(area)?
                    .iter()
                    .copied()
                    .filter(|r| gone(*r))
                    .collect();
                (!roles.is_empty()).then(|| AuthorityEvent::UserRolesRevoked {
                    user_id: user_id.clone(),
                    area: area.clone(),
                    roles,
                })
            })
            .collect()
    }

    /// An authority that others rely on as their coordinator keeps that role: otherwise they
    /// would be left without a linked coordinator.
    async fn ensure_not_relied_on(
        &self,
        services: &dyn AuthorityServices,
        target: &AuthoritySummary,
        area: &LegislativeArea,
        workflow: Workflow,
    ) -> Result<(), DomainError> {
        let others: Vec<String> = services
            .authorities_linked_to(&target.authority_id, area, workflow)
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|id| *id != target.authority_id)
            .collect();
        if !others.is_empty() {
            return Err(DomainError::refused(format!(
                "{} authorities are linked to this authority as their coordinator for {workflow} \
                 in {area}: link them to another coordinator first",
                others.len()
            )));
        }
        Ok(())
    }

    /// Removing or demoting the incoming alert postbox is the national coordinator's call.
    fn workflow_mutation(
        &self,
        area: &LegislativeArea,
        roles: &[WorkflowRole],
    ) -> AuthorityMutation {
        if roles.contains(&WorkflowRole::IncomingAlertPostbox) {
            AuthorityMutation::NominateIncomingAlertPostbox(area.clone())
        } else {
            AuthorityMutation::ManageWorkflows(area.clone())
        }
    }

    fn roles_in(&self, area: &LegislativeArea) -> Vec<WorkflowRole> {
        self.areas
            .get(area)
            .map(|a| a.workflows.values().map(|w| w.role).collect())
            .unwrap_or_default()
    }

    pub(super) async fn grant_area_access(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        area: LegislativeArea,
        workflows: BTreeMap<Workflow, WorkflowSetup>,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (actor, target) = self
            .prelude(
                by,
                services,
                AuthorityMutation::GrantAreaAccess(area.clone()),
            )
            .await?;
        if self.areas.contains_key(&area) {
            return Err(DomainError::refused(format!(
                "the authority already has access to {area}"
            )));
        }
        check_grants(services, &actor, &target, &area, &workflows).await?;
        Ok(vec![AuthorityEvent::AreaAccessGranted {
            area,
            access_coordinator: actor.authority_id().to_string(),
            workflows,
        }])
    }

    pub(super) async fn revoke_area_access(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        area: LegislativeArea,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let mutation = self.workflow_mutation(&area, &self.roles_in(&area));
        let (_, target) = self.prelude(by, services, mutation).await?;
        let access = self.area(&area)?;
        for (workflow, w) in &access.workflows {
            if w.role.coordinates() {
                self.ensure_not_relied_on(services, &target, &area, *workflow)
                    .await?;
            }
        }
        let mut events = self.revoke_roles_where(&area, |r| r != UserRole::DataAdministrator);
        events.push(AuthorityEvent::AreaAccessRevoked { area });
        Ok(events)
    }

    pub(super) async fn grant_workflow_access(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        area: LegislativeArea,
        workflow: Workflow,
        setup: WorkflowSetup,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (actor, target) = self
            .prelude(
                by,
                services,
                AuthorityMutation::ManageWorkflows(area.clone()),
            )
            .await?;
        if self.area(&area)?.workflows.contains_key(&workflow) {
            return Err(DomainError::refused(format!(
                "the authority already has access to the {workflow} workflow in {area}"
            )));
        }
        check_setup(services, &actor, &target, &area, workflow, &setup).await?;
        Ok(vec![AuthorityEvent::WorkflowAccessGranted {
            area,
            workflow,
            role: setup.role,
            linked_coordinators: setup.linked_coordinators,
        }])
    }

    pub(super) async fn revoke_workflow_access(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        area: LegislativeArea,
        workflow: Workflow,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let current: Vec<WorkflowRole> = self
            .workflow(&area, workflow)
            .map(|w| vec![w.role])
            .unwrap_or_default();
        let mutation = self.workflow_mutation(&area, &current);
        let (_, target) = self.prelude(by, services, mutation).await?;
        let w = self.workflow(&area, workflow)?;
        if self.area(&area)?.workflows.len() == 1 {
            return Err(DomainError::refused(format!(
                "access to {area} keeps at least one workflow: revoke the access to {area} instead"
            )));
        }
        if w.role.coordinates() {
            self.ensure_not_relied_on(services, &target, &area, workflow)
                .await?;
        }
        let mut events = self.revoke_roles_where(&area, |r| r.workflow() == Some(workflow));
        events.push(AuthorityEvent::WorkflowAccessRevoked { area, workflow });
        Ok(events)
    }

    pub(super) async fn change_workflow_role(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        area: LegislativeArea,
        workflow: Workflow,
        role: WorkflowRole,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let mut involved = vec![role];
        if let Ok(w) = self.workflow(&area, workflow) {
            involved.push(w.role);
        }
        let mutation = self.workflow_mutation(&area, &involved);
        let (actor, target) = self.prelude(by, services, mutation).await?;
        let current = self.workflow(&area, workflow)?;
        if role.workflow() != workflow {
            return Err(DomainError::invalid(format!(
                "the {} role belongs to the {} workflow",
                role.label(),
                role.workflow()
            )));
        }
        if current.role == role {
            return Ok(vec![]);
        }
        check_role(services, &actor, &target, &area, workflow, role).await?;
        if current.role.coordinates() && !role.coordinates() {
            if current.linked_coordinators.contains(&target.authority_id) {
                return Err(DomainError::refused(format!(
                    "the authority is its own linked coordinator for {workflow} in {area}: link \
                     another coordinator first"
                )));
            }
            self.ensure_not_relied_on(services, &target, &area, workflow)
                .await?;
        }
        let mut events = self.revoke_roles_where(&area, |r| match r {
            UserRole::ReferralHandler => {
                workflow == Workflow::Requests && role != WorkflowRole::RequestCoordinator
            }
            UserRole::AlertDisseminator => {
                workflow == Workflow::Alerts
                    && !matches!(
                        role,
                        WorkflowRole::AlertCoordinator | WorkflowRole::IncomingAlertPostbox
                    )
            }
            _ => false,
        });
        events.push(AuthorityEvent::WorkflowRoleChanged {
            area,
            workflow,
            role,
        });
        Ok(events)
    }

    pub(super) async fn hand_over_access_coordination(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        area: LegislativeArea,
        to: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (_, target) = self
            .prelude(
                by,
                services,
                AuthorityMutation::HandOverAccessCoordination(area.clone()),
            )
            .await?;
        let from = self.area(&area)?.access_coordinator.clone();
        if from == to {
            return Err(DomainError::refused(format!(
                "{to} is already the access coordinator for {area}"
            )));
        }
        let successor = services
            .authority(&to)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| DomainError::not_found(format!("no authority {to}")))?;
        if !successor.validated() {
            return Err(DomainError::refused(format!("{to} is not validated yet")));
        }
        access::coordinates(&successor, &target, &BTreeSet::from([area.clone()])).map_err(
            |denied| {
                DomainError::refused(format!(
                    "{to} cannot be the access coordinator for {area}: {}",
                    denied.0
                ))
            },
        )?;
        Ok(vec![AuthorityEvent::AccessCoordinationHandedOver {
            area,
            from,
            to,
        }])
    }

    pub(super) async fn set_flag(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        area: LegislativeArea,
        workflow: Workflow,
        flag: Flag,
        enabled: bool,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let mutation = if flag.set_by_the_authority() {
            AuthorityMutation::SetAllocationFlag(area.clone())
        } else {
            AuthorityMutation::SetApprovalFlags(area.clone())
        };
        self.prelude(by, services, mutation).await?;
        if flag.workflow() != workflow {
            return Err(DomainError::invalid(format!(
                "the {flag:?} flag belongs to the {} workflow",
                flag.workflow()
            )));
        }
        if self.workflow(&area, workflow)?.flags.contains(&flag) == enabled {
            return Ok(vec![]);
        }
        Ok(vec![AuthorityEvent::FlagSet {
            area,
            workflow,
            flag,
            enabled,
        }])
    }

    pub(super) async fn link_coordinator(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        area: LegislativeArea,
        workflow: Workflow,
        coordinator_id: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (_, target) = self
            .prelude(
                by,
                services,
                AuthorityMutation::LinkCoordinators(area.clone()),
            )
            .await?;
        let w = self.workflow(&area, workflow)?;
        if w.linked_coordinators.contains(&coordinator_id) {
            return Ok(vec![]);
        }
        check_linked_coordinator(services, &target, &area, workflow, w.role, &coordinator_id)
            .await?;
        Ok(vec![AuthorityEvent::CoordinatorLinked {
            area,
            workflow,
            coordinator_id,
        }])
    }

    pub(super) async fn unlink_coordinator(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        area: LegislativeArea,
        workflow: Workflow,
        coordinator_id: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(
            by,
            services,
            AuthorityMutation::LinkCoordinators(area.clone()),
        )
        .await?;
        let w = self.workflow(&area, workflow)?;
        if !w.linked_coordinators.contains(&coordinator_id) {
            return Ok(vec![]);
        }
        if w.linked_coordinators.len() == 1 {
            return Err(DomainError::refused(format!(
                "an authority keeps at least one linked coordinator for {workflow} in {area}"
            )));
        }
        Ok(vec![AuthorityEvent::CoordinatorUnlinked {
            area,
            workflow,
            coordinator_id,
        }])
    }

    pub(super) async fn link_authority(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        authority_id: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (_, target) = self
            .prelude(by, services, AuthorityMutation::LinkAuthorities)
            .await?;
        if authority_id == target.authority_id {
            return Err(DomainError::invalid(
                "an authority cannot be linked to itself",
            ));
        }
        if self.linked_authorities.contains(&authority_id) {
            return Ok(vec![]);
        }
        let other = services
            .authority(&authority_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| DomainError::not_found(format!("no authority {authority_id}")))?;
        if !other.validated() {
            return Err(DomainError::refused(format!(
                "{authority_id} is not validated yet"
            )));
        }
        if other.member_state != target.member_state {
            return Err(DomainError::refused(
                "linked authorities must be of the same Member State",
            ));
        }
        Ok(vec![AuthorityEvent::AuthorityLinked { authority_id }])
    }

    pub(super) async fn unlink_authority(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        authority_id: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(by, services, AuthorityMutation::LinkAuthorities)
            .await?;
        if !self.linked_authorities.contains(&authority_id) {
            return Ok(vec![]);
        }
        Ok(vec![AuthorityEvent::AuthorityUnlinked { authority_id }])
    }
}
