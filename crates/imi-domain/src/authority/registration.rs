//! Registration: the national coordinators' bootstrap, invitations to register,
//! self-registration with the code, direct registration by a coordinator, and validation.

use super::areas::check_grants;
use super::*;
use chrono::Duration;

/// Where a new authority sits: its kind, region, coordinated areas and initial access.
pub(super) struct Placement {
    pub authority_id: String,
    pub kind: AuthorityKind,
    pub region: Option<Region>,
    pub coordinated_areas: BTreeSet<LegislativeArea>,
    pub access: AreaGrants,
}

impl Placement {
    /// The shape each kind requires.
    fn check(&self) -> Result<(), DomainError> {
        use AuthorityKind::*;
        if self.authority_id.trim().is_empty() {
            return Err(DomainError::invalid("the authority needs an id"));
        }
        match self.kind {
            NationalCoordinator => {
                return Err(DomainError::forbidden(
                    "national coordinators are registered from reference data only",
                ))
            }
            SuperDelegatedCoordinator if self.region.is_none() => {
                return Err(DomainError::invalid(
                    "a super-delegated coordinator needs its region",
                ))
            }
            LegislativeAreaCoordinator if self.coordinated_areas.len() != 1 => {
                return Err(DomainError::invalid(
                    "a legislative area coordinator coordinates exactly one legislative area",
                ))
            }
            DelegatedCoordinator if self.coordinated_areas.is_empty() => {
                return Err(DomainError::invalid(
                    "a delegated coordinator coordinates at least one legislative area",
                ))
            }
            SuperDelegatedCoordinator | CompetentAuthority
                if !self.coordinated_areas.is_empty() =>
            {
                return Err(DomainError::invalid(
                    "only legislative area and delegated coordinators coordinate specific areas",
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// The authority to be, as the policy and the cross-authority rules see it.
    async fn prospective(
        &self,
        actor: &ActorContext,
        services: &dyn AuthorityServices,
    ) -> Result<AuthoritySummary, DomainError> {
        for area in self.coordinated_areas.iter().chain(self.access.keys()) {
            if !services.is_known_area(area).await.map_err(unavailable)? {
                return Err(DomainError::invalid(format!(
                    "unknown legislative area {area}"
                )));
            }
        }
        Ok(AuthoritySummary {
            authority_id: self.authority_id.clone(),
            member_state: actor.authority.member_state.clone(),
            kind: self.kind,
            region: self.region.clone(),
            coordinated_areas: self.coordinated_areas.clone(),
            status: AuthorityStatus::Invited,
            invited_by: Some(actor.authority_id().to_string()),
            validating_coordinator: None,
            areas: areas_from(actor.authority_id(), self.access.clone()),
            linked_authorities: BTreeSet::new(),
            users: BTreeMap::new(),
        })
    }
}

/// Authority data as registered: checked and normalised.
struct CheckedData {
    official_name: String,
    informal_titles: BTreeMap<Language, String>,
    description: Option<String>,
    contact: ContactDetails,
    contact_person: Option<Sealed>,
}

fn checked_data(data: AuthorityData, authority_id: &str) -> Result<CheckedData, DomainError> {
    let official_name = checked_name("official name", &data.official_name)?;
    let informal_titles = checked_titles(data.informal_titles)?;
    let description = checked_text("the description", data.description, MAX_DESCRIPTION_CHARS)?;
    let contact = checked_contact(data.contact)?;
    if let Some(person) = &data.contact_person {
        checked_sealed_for_authority("the contact person", person, authority_id)?;
    }
    Ok(CheckedData {
        official_name,
        informal_titles,
        description,
        contact,
        contact_person: data.contact_person,
    })
}

/// One LIMIC per area per Member State, or one per federal state (not both).
async fn check_area_coordinator_unique(
    services: &dyn AuthorityServices,
    target: &AuthoritySummary,
) -> Result<(), DomainError> {
    if target.kind != AuthorityKind::LegislativeAreaCoordinator {
        return Ok(());
    }
    let ms = &target.member_state;
    for area in &target.coordinated_areas {
        let others: Vec<AreaCoordinator> = services
            .area_coordinators(ms, area)
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|c| c.authority_id != target.authority_id)
            .collect();
        if others.iter().any(|c| c.region == target.region) {
            return Err(DomainError::refused(match &target.region {
                Some(region) => format!(
                    "{ms} already has a legislative area coordinator for {area} in {region}"
                ),
                None => format!("{ms} already has a legislative area coordinator for {area}"),
            }));
        }
        if others
            .iter()
            .any(|c| c.region.is_none() || target.region.is_none())
        {
            return Err(DomainError::refused(format!(
                "{ms} has legislative area coordinators for {area} either for the whole Member \
                 State or per federal state, not both"
            )));
        }
    }
    Ok(())
}

impl AuthorityState {
    pub(super) async fn register_national_coordinator(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        member_state: MemberState,
        official_name: String,
        informal_titles: BTreeMap<Language, String>,
        first_user: NewUser,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        if !matches!(by, Actor::System { .. }) {
            return Err(DomainError::forbidden(
                "national coordinators are registered from reference data only",
            ));
        }
        if self.status().is_some() {
            return Err(DomainError::refused("this authority is already registered"));
        }
        let official_name = checked_name("official name", &official_name)?;
        let informal_titles = checked_titles(informal_titles)?;
        checked_new_user("the first user", &first_user)?;
        if services
            .national_coordinator(&member_state)
            .await
            .map_err(unavailable)?
            .is_some()
        {
            return Err(DomainError::refused(format!(
                "{member_state} already has a national coordinator"
            )));
        }
        Ok(vec![
            AuthorityEvent::NationalCoordinatorRegistered {
                member_state,
                official_name,
                informal_titles,
            },
            AuthorityEvent::UserRegistered {
                user_id: first_user.user_id,
                identity: first_user.identity,
                local_data_administrator: true,
            },
        ])
    }

    /// The steps shared by invitation and direct registration: who acts, the new authority's
    /// shape, the policy, and the cross-authority rules.
    async fn place(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        placement: &Placement,
    ) -> Result<(ActorContext, AuthoritySummary), DomainError> {
        if self.status().is_some() {
            return Err(DomainError::refused("this authority already exists"));
        }
        let actor = self.actor(by, services).await?;
        if let Some(denied) = actor.unable() {
            return Err(denied.into());
        }
        placement.check()?;
        let target = placement.prospective(&actor, services).await?;
        access::authorize(&actor, &target, &AuthorityMutation::Register)?;
        check_area_coordinator_unique(services, &target).await?;
        for (area, workflows) in &placement.access {
            check_grants(services, &actor, &target, area, workflows).await?;
        }
        Ok((actor, target))
    }

    pub(super) async fn invite(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        placement: Placement,
        code_digest: String,
        contact_email: Sealed,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (actor, target) = self.place(by, services, &placement).await?;
        let code_digest = checked_digest(&code_digest)?;
        checked_sealed_for_authority(
            "the invitation's e-mail address",
            &contact_email,
            &placement.authority_id,
        )?;
        Ok(vec![AuthorityEvent::InvitationIssued {
            authority_id: placement.authority_id,
            invited_by: actor.authority_id().to_string(),
            member_state: target.member_state,
            kind: placement.kind,
            region: placement.region,
            coordinated_areas: placement.coordinated_areas,
            access: placement.access,
            code_digest,
            expires_at: services.now() + Duration::days(INVITATION_VALIDITY_DAYS),
            contact_email,
        }])
    }

    pub(super) async fn renew_invitation(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        code_digest: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (actor, target) = self
            .prelude(by, services, AuthorityMutation::RenewInvitation)
            .await?;
        if target.status != AuthorityStatus::Invited {
            return Err(DomainError::refused(
                "the authority has already registered itself",
            ));
        }
        let code_digest = checked_digest(&code_digest)?;
        Ok(vec![AuthorityEvent::InvitationRenewed {
            renewed_by: actor.authority_id().to_string(),
            code_digest,
            expires_at: services.now() + Duration::days(INVITATION_VALIDITY_DAYS),
        }])
    }

    /// The scheduler's record that a code expired unused: only for the current code, only
    /// once it is past its expiry, only once.
    pub(super) fn expire_invitation(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        code_digest: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        if !matches!(by, Actor::System { .. }) {
            return Err(DomainError::forbidden(
                "only the scheduler records that a registration code expired",
            ));
        }
        let Some(invited) = &self.invited else {
            return Err(DomainError::not_found("no invitation to expire"));
        };
        let invitation = &invited.invitation;
        let code_digest = checked_digest(&code_digest)?;
        if invitation.used {
            return Err(DomainError::refused(
                "the registration code has already been used",
            ));
        }
        if !same_digest(&code_digest, &invitation.code_digest) {
            return Err(DomainError::refused(
                "the invitation was renewed: that code is no longer the current one",
            ));
        }
        if invitation.expired {
            return Err(DomainError::refused(
                "the expiry of this registration code is already recorded",
            ));
        }
        if services.now() < invitation.expires_at {
            return Err(DomainError::refused(
                "the registration code has not expired yet",
            ));
        }
        Ok(vec![AuthorityEvent::InvitationExpired { code_digest }])
    }

    pub(super) async fn register_with_invitation(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        code_digest: String,
        data: AuthorityData,
        first_user: NewUser,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let Some(invited) = &self.invited else {
            return Err(match self.status() {
                None => DomainError::not_found("no invitation to register"),
                Some(_) => DomainError::refused("this authority is already registered"),
            });
        };
        let invitation = &invited.invitation;
        let code_digest = checked_digest(&code_digest)?;
        if !same_digest(&code_digest, &invitation.code_digest) {
            return Err(DomainError::forbidden(
                "the registration code does not match",
            ));
        }
        if invitation.used {
            return Err(DomainError::refused(
                "the registration code has already been used",
            ));
        }
        if services.now() >= invitation.expires_at {
            return Err(DomainError::refused("the registration code has expired"));
        }
        checked_new_user("the first user", &first_user)?;
        let authority_id = self.id.clone().unwrap_or_default();
        let issued_by_first_user = matches!(
            by,
            Actor::User { user_id, authority_id: acting }
                if *user_id == first_user.user_id && *acting == authority_id
        );
        if !issued_by_first_user {
            return Err(DomainError::forbidden(
                "a self-registration is issued as the authority's first user",
            ));
        }
        let data = checked_data(data, &authority_id)?;
        Ok(vec![
            AuthorityEvent::AuthoritySelfRegistered {
                member_state: invited.member_state.clone(),
                kind: invited.kind,
                official_name: data.official_name,
                informal_titles: data.informal_titles,
                description: data.description,
                contact: data.contact,
                contact_person: data.contact_person,
            },
            AuthorityEvent::UserRegistered {
                user_id: first_user.user_id,
                identity: first_user.identity,
                local_data_administrator: true,
            },
        ])
    }

    pub(super) async fn register_directly(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        placement: Placement,
        data: AuthorityData,
        first_user: NewUser,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (actor, target) = self.place(by, services, &placement).await?;
        let data = checked_data(data, &placement.authority_id)?;
        checked_new_user("the first user", &first_user)?;
        let coordinator = actor.authority_id().to_string();
        Ok(vec![
            AuthorityEvent::AuthorityRegistered {
                authority_id: placement.authority_id,
                registered_by: coordinator.clone(),
                member_state: target.member_state,
                kind: placement.kind,
                region: placement.region,
                coordinated_areas: placement.coordinated_areas,
                access: placement.access,
                official_name: data.official_name,
                informal_titles: data.informal_titles,
                description: data.description,
                contact: data.contact,
                contact_person: data.contact_person,
            },
            AuthorityEvent::UserRegistered {
                user_id: first_user.user_id,
                identity: first_user.identity,
                local_data_administrator: true,
            },
            AuthorityEvent::AuthorityValidated {
                validated_by: coordinator,
            },
        ])
    }

    pub(super) async fn validate(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (actor, target) = self
            .prelude(by, services, AuthorityMutation::Validate)
            .await?;
        match target.status {
            AuthorityStatus::Invited => Err(DomainError::refused(
                "the authority has not registered itself yet",
            )),
            AuthorityStatus::Validated => {
                Err(DomainError::refused("the authority is already validated"))
            }
            AuthorityStatus::AwaitingValidation => Ok(vec![AuthorityEvent::AuthorityValidated {
                validated_by: actor.authority_id().to_string(),
            }]),
        }
    }
}
