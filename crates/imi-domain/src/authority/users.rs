//! The authority's users: registration, roles per legislative area, local data
//! administrators (never fewer than one active), password resets, deactivation.

use super::*;

const LAST_LDA: &str = "an authority keeps at least one active local data administrator";

impl AuthorityState {
    fn user(&self, user_id: &str) -> Result<&UserSummary, DomainError> {
        self.users
            .get(user_id)
            .ok_or_else(|| DomainError::not_found("no such user in this authority"))
    }

    fn is_last_active_lda(&self, user_id: &str) -> bool {
        self.users
            .get(user_id)
            .is_some_and(|u| u.active && u.local_data_administrator)
            && self
                .users
                .values()
                .filter(|u| u.active && u.local_data_administrator)
                .count()
                == 1
    }

    /// Whether `role` can be held in `area` by users of this authority.
    async fn check_role_available(
        &self,
        services: &dyn AuthorityServices,
        target: &AuthoritySummary,
        area: &LegislativeArea,
        role: UserRole,
    ) -> Result<(), DomainError> {
        use UserRole::*;
        match role {
            BasicUser => Err(DomainError::invalid(
                "every user is a basic user: that role is never granted or revoked",
            )),
            DataAdministrator => {
                if !target.kind.is_coordinator() {
                    return Err(DomainError::refused(
                        "data administrator is only available in IMI coordinators",
                    ));
                }
                if !target.coordinates_area(area) {
                    return Err(DomainError::refused(format!(
                        "data administrator is only available in the areas the coordinator \
                         coordinates, not in {area}"
                    )));
                }
                if !services.is_known_area(area).await.map_err(unavailable)? {
                    return Err(DomainError::invalid(format!(
                        "unknown legislative area {area}"
                    )));
                }
                Ok(())
            }
            DataProtectionOfficer | Auditor => {
                if target.kind != AuthorityKind::NationalCoordinator {
                    return Err(DomainError::refused(format!(
                        "{} is only available in the national coordinator",
                        role.label()
                    )));
                }
                if !services.is_known_area(area).await.map_err(unavailable)? {
                    return Err(DomainError::invalid(format!(
                        "unknown legislative area {area}"
                    )));
                }
                Ok(())
            }
            _ => {
                let access = self.area(area)?;
                let Some(workflow) = role.workflow() else {
                    return Ok(());
                };
                let Some(w) = access.workflows.get(&workflow) else {
                    return Err(DomainError::refused(format!(
                        "{} needs access to the {workflow} workflow in {area}",
                        role.label()
                    )));
                };
                match role {
                    ReferralHandler if w.role != WorkflowRole::RequestCoordinator => {
                        Err(DomainError::refused(
                            "referral handler is only available in request coordinators",
                        ))
                    }
                    AlertDisseminator
                        if !matches!(
                            w.role,
                            WorkflowRole::AlertCoordinator | WorkflowRole::IncomingAlertPostbox
                        ) =>
                    {
                        Err(DomainError::refused(
                            "alert disseminator is only available in alert coordinators and \
                             incoming alert postboxes",
                        ))
                    }
                    _ => Ok(()),
                }
            }
        }
    }

    pub(super) async fn register_user(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        user: NewUser,
        local_data_administrator: bool,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(by, services, AuthorityMutation::RegisterUser)
            .await?;
        checked_new_user("the user", &user)?;
        if self.users.contains_key(&user.user_id) {
            return Err(DomainError::refused("this user is already registered"));
        }
        Ok(vec![AuthorityEvent::UserRegistered {
            user_id: user.user_id,
            identity: user.identity,
            local_data_administrator,
        }])
    }

    pub(super) async fn grant_user_roles(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        user_id: String,
        area: LegislativeArea,
        roles: BTreeSet<UserRole>,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (actor, target) = self
            .prelude(by, services, AuthorityMutation::ChangeUserRoles)
            .await?;
        let user = self.user(&user_id)?;
        if roles.is_empty() {
            return Err(DomainError::invalid("no roles given"));
        }
        supervisory_roles_by_data_administrators(&actor, &roles)?;
        for role in &roles {
            self.check_role_available(services, &target, &area, *role)
                .await?;
        }
        let new: BTreeSet<UserRole> = roles
            .into_iter()
            .filter(|r| !user.has_role(&area, *r))
            .collect();
        if new.is_empty() {
            return Ok(vec![]);
        }
        Ok(vec![AuthorityEvent::UserRolesGranted {
            user_id,
            area,
            roles: new,
        }])
    }

    pub(super) async fn revoke_user_roles(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        user_id: String,
        area: LegislativeArea,
        roles: BTreeSet<UserRole>,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (actor, _) = self
            .prelude(by, services, AuthorityMutation::ChangeUserRoles)
            .await?;
        let user = self.user(&user_id)?;
        if roles.is_empty() {
            return Err(DomainError::invalid("no roles given"));
        }
        supervisory_roles_by_data_administrators(&actor, &roles)?;
        if roles.contains(&UserRole::BasicUser) {
            return Err(DomainError::invalid(
                "every user is a basic user: that role is never granted or revoked",
            ));
        }
        let held: BTreeSet<UserRole> = roles
            .into_iter()
            .filter(|r| user.has_role(&area, *r))
            .collect();
        if held.is_empty() {
            return Ok(vec![]);
        }
        Ok(vec![AuthorityEvent::UserRolesRevoked {
            user_id,
            area,
            roles: held,
        }])
    }

    pub(super) async fn appoint_lda(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        user_id: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(
            by,
            services,
            AuthorityMutation::ManageLocalDataAdministrators,
        )
        .await?;
        let user = self.user(&user_id)?;
        if !user.active {
            return Err(DomainError::refused(
                "a deactivated user cannot be a local data administrator",
            ));
        }
        if user.local_data_administrator {
            return Ok(vec![]);
        }
        Ok(vec![AuthorityEvent::LocalDataAdministratorAppointed {
            user_id,
        }])
    }

    pub(super) async fn dismiss_lda(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        user_id: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(
            by,
            services,
            AuthorityMutation::ManageLocalDataAdministrators,
        )
        .await?;
        if !self.user(&user_id)?.local_data_administrator {
            return Ok(vec![]);
        }
        if self.is_last_active_lda(&user_id) {
            return Err(DomainError::refused(LAST_LDA));
        }
        Ok(vec![AuthorityEvent::LocalDataAdministratorDismissed {
            user_id,
        }])
    }

    pub(super) async fn reset_password(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        user_id: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let of_local_data_administrator = self
            .users
            .get(&user_id)
            .is_some_and(|u| u.local_data_administrator);
        let (actor, _) = self
            .prelude(
                by,
                services,
                AuthorityMutation::ResetPassword {
                    of_local_data_administrator,
                },
            )
            .await?;
        if !self.user(&user_id)?.active {
            return Err(DomainError::refused("the user is deactivated"));
        }
        Ok(vec![AuthorityEvent::PasswordReset {
            user_id,
            reset_by_user: actor.user_id.clone(),
            reset_by_authority: actor.authority_id().to_string(),
        }])
    }

    pub(super) async fn deactivate_user(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        user_id: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(by, services, AuthorityMutation::ChangeUserStatus)
            .await?;
        if !self.user(&user_id)?.active {
            return Ok(vec![]);
        }
        if self.is_last_active_lda(&user_id) {
            return Err(DomainError::refused(LAST_LDA));
        }
        Ok(vec![AuthorityEvent::UserDeactivated { user_id }])
    }

    pub(super) async fn reactivate_user(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        user_id: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(by, services, AuthorityMutation::ChangeUserStatus)
            .await?;
        if self.user(&user_id)?.active {
            return Ok(vec![]);
        }
        Ok(vec![AuthorityEvent::UserReactivated { user_id }])
    }
}

/// The supervisory roles of a Member State (data protection officers, auditors) are given by
/// the data administrators of its national coordinator (who are also its local data
/// administrators when they change roles): a local data administrator alone does not.
fn supervisory_roles_by_data_administrators(
    actor: &crate::access::ActorContext,
    roles: &BTreeSet<UserRole>,
) -> Result<(), DomainError> {
    if let Some(role) = UserRole::SUPERVISORY
        .into_iter()
        .find(|r| roles.contains(r))
    {
        if !actor.is_data_administrator_anywhere() {
            return Err(DomainError::forbidden(format!(
                "only a data administrator of the national coordinator grants or revokes the {} \
                 role",
                role.label()
            )));
        }
    }
    Ok(())
}
