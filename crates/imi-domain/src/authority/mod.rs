//! The Authority aggregate: an authority registered in IMI, its place in the coordination
//! hierarchy, its access to legislative areas and workflows, its data and its users.
//!
//! Every command a user issues is checked against the access policy ([`crate::access`]);
//! rules that span authorities (one NIMIC per Member State, one LIMIC per area, one incoming
//! alert postbox per Member State, linked coordinators that are coordinators) and reference
//! data go through the aggregate's services ([`AuthorityServices`]).
//!
//! The aggregate is generic over its services: `Authority` (that is `Authority<()>`) knows
//! nothing beyond its own events (see [`services`]); the store runs
//! `Authority<ItsLookup>`. Handlers live by concept in `registration`, `data`, `areas` and
//! `users`.

mod areas;
mod command;
mod data;
mod event;
mod model;
mod registration;
pub mod services;
pub mod testing;
#[cfg(test)]
mod tests;
mod users;

pub use command::{AreaGrants, AuthorityCommand, AuthorityData, NewUser};
pub use event::AuthorityEvent;
pub use model::{
    AreaAccess, AreaCoordinator, AuthorityKind, AuthorityStatus, AuthoritySummary, BadCode,
    ContactDetails, Flag, Invitation, Keyword, KeywordList, LegislativeArea, Region, UserRole,
    UserSummary, Workflow, WorkflowAccess, WorkflowRole, WorkflowSetup,
};
pub use services::{
    AuthorityDirectoryLookup, AuthorityServices, Clock, Lookup, LookupError, SystemClock,
};

use crate::access::{self, ActorContext, AuthorityMutation};
use crate::actor::Actor;
use crate::command::Issued;
use crate::error::DomainError;
use crate::reference::{Language, MemberState};
use crate::sealed::Sealed;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;

/// Longest official name or informal title accepted, in characters.
pub const MAX_NAME_CHARS: usize = 300;
/// Longest authority description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Longest contact detail (one field) accepted, in characters.
pub const MAX_CONTACT_CHARS: usize = 300;
/// How long a registration code stays valid.
pub const INVITATION_VALIDITY_DAYS: i64 = 30;

/// The data key a user's identity is sealed under: one per user, so it can be erased alone.
pub fn user_key_id(user_id: &str) -> String {
    format!("User/{user_id}")
}

/// The data key an authority's personal data (its named contact person, the address its
/// invitation was sent to) is sealed under.
pub fn authority_key_id(authority_id: &str) -> String {
    format!("Authority/{authority_id}")
}

/// An authority, with the services `S` its commands consult.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct Authority<S = ()> {
    state: AuthorityState,
    #[serde(skip)]
    services: PhantomData<fn() -> S>,
}

impl<S> Default for Authority<S> {
    fn default() -> Self {
        Self {
            state: AuthorityState::default(),
            services: PhantomData,
        }
    }
}

impl<S> Clone for Authority<S> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            services: PhantomData,
        }
    }
}

impl<S> fmt::Debug for Authority<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.state.fmt(f)
    }
}

impl<S> PartialEq for Authority<S> {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
    }
}

impl<S> Authority<S> {
    /// What the rules of other aggregates and the access policy need to know of this
    /// authority, under the id the caller knows it by; `None` before it exists.
    pub fn summary(&self, authority_id: &str) -> Option<AuthoritySummary> {
        self.state.summary_as(authority_id)
    }

    pub fn official_name(&self) -> Option<&str> {
        self.state
            .registered
            .as_ref()
            .map(|r| r.official_name.as_str())
    }

    pub fn status(&self) -> Option<AuthorityStatus> {
        self.state.status()
    }

    /// Replays `events` (for tests and tools).
    pub fn from_events(events: impl IntoIterator<Item = AuthorityEvent>) -> Self {
        let mut authority = Self::default();
        for e in events {
            authority.state.apply(e);
        }
        authority
    }
}

impl<S: AuthorityServices + 'static> Aggregate for Authority<S> {
    const TYPE: &'static str = "Authority";
    type Command = Issued<AuthorityCommand>;
    type Event = AuthorityEvent;
    type Error = DomainError;
    type Services = S;

    async fn handle(
        &mut self,
        issued: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let events = self.state.decide(issued, services).await?;
        for event in events {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: AuthorityEvent) {
        self.state.apply(event);
    }
}

/// The aggregate's state. Its serialized form is the snapshot: fields added after the first
/// release default, so older snapshots still load.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct AuthorityState {
    registered: Option<Registration>,
    informal_titles: BTreeMap<Language, String>,
    users: BTreeMap<String, UserSummary>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    invited: Option<Invited>,
    #[serde(default)]
    registered_by: Option<String>,
    #[serde(default)]
    region: Option<Region>,
    #[serde(default)]
    coordinated_areas: BTreeSet<LegislativeArea>,
    #[serde(default)]
    validated_by: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    contact: ContactDetails,
    #[serde(default)]
    contact_person: Option<Sealed>,
    #[serde(default)]
    areas: BTreeMap<LegislativeArea, AreaAccess>,
    #[serde(default)]
    linked_authorities: BTreeSet<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Registration {
    member_state: MemberState,
    kind: AuthorityKind,
    official_name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Invited {
    member_state: MemberState,
    kind: AuthorityKind,
    invitation: Invitation,
}

/// The refusal when a lookup fails: the client may retry; the cause is the store's to log.
fn unavailable(_: LookupError) -> DomainError {
    DomainError::refused("the authority directory is temporarily unavailable; try again")
}

fn checked_name(what: &str, text: &str) -> Result<String, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DomainError::invalid(format!("{what} must not be empty")));
    }
    if text.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(format!(
            "{what} is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(text.to_string())
}

fn checked_titles(
    titles: BTreeMap<Language, String>,
) -> Result<BTreeMap<Language, String>, DomainError> {
    titles
        .into_iter()
        .map(|(language, title)| Ok((language, checked_name("informal title", &title)?)))
        .collect()
}

/// A trimmed optional text of at most `max` characters; blank means none.
fn checked_text(
    what: &str,
    text: Option<String>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    let Some(text) = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(DomainError::invalid(format!(
            "{what} is longer than {max} characters"
        )));
    }
    Ok(Some(text))
}

fn checked_contact(contact: ContactDetails) -> Result<ContactDetails, DomainError> {
    let field = |what: &str, v: Option<String>| checked_text(what, v, MAX_CONTACT_CHARS);
    let checked = ContactDetails {
        address: field("the address", contact.address)?,
        postal_code: field("the postal code", contact.postal_code)?,
        city: field("the city", contact.city)?,
        phone: field("the phone number", contact.phone)?,
        email: field("the e-mail address", contact.email)?,
        website: field("the website", contact.website)?,
    };
    if let Some(email) = &checked.email {
        let valid = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !email.contains(char::is_whitespace);
        if !valid {
            return Err(DomainError::invalid("the e-mail address is malformed"));
        }
    }
    Ok(checked)
}

fn checked_sealed_for_authority(
    what: &str,
    sealed: &Sealed,
    authority_id: &str,
) -> Result<(), DomainError> {
    if sealed.key_id != authority_key_id(authority_id) {
        return Err(DomainError::invalid(format!(
            "{what} must be sealed under the authority's own key"
        )));
    }
    Ok(())
}

fn checked_new_user(who: &str, user: &NewUser) -> Result<(), DomainError> {
    if user.user_id.trim().is_empty() {
        return Err(DomainError::invalid(format!("{who} needs an id")));
    }
    if user.identity.key_id != user_key_id(&user.user_id) {
        return Err(DomainError::invalid(
            "a user's identity must be sealed under that user's own key",
        ));
    }
    Ok(())
}

/// A registration code's digest: 64 hex digits, lower-cased.
fn checked_digest(digest: &str) -> Result<String, DomainError> {
    let digest = digest.trim().to_ascii_lowercase();
    if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(DomainError::invalid(
            "the registration code digest must be 64 hexadecimal digits (SHA-256)",
        ));
    }
    Ok(digest)
}

/// Compares two digests in time independent of where they differ.
fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl AuthorityState {
    fn member_state_and_kind(&self) -> Option<(&MemberState, AuthorityKind)> {
        match (&self.registered, &self.invited) {
            (Some(r), _) => Some((&r.member_state, r.kind)),
            (None, Some(i)) => Some((&i.member_state, i.kind)),
            (None, None) => None,
        }
    }

    fn status(&self) -> Option<AuthorityStatus> {
        match (&self.registered, &self.invited) {
            (None, None) => None,
            (None, Some(_)) => Some(AuthorityStatus::Invited),
            (Some(r), _) => Some(
                if r.kind == AuthorityKind::NationalCoordinator || self.validated_by.is_some() {
                    AuthorityStatus::Validated
                } else {
                    AuthorityStatus::AwaitingValidation
                },
            ),
        }
    }

    fn summary_as(&self, authority_id: &str) -> Option<AuthoritySummary> {
        let (member_state, kind) = self.member_state_and_kind()?;
        Some(AuthoritySummary {
            authority_id: authority_id.to_string(),
            member_state: member_state.clone(),
            kind,
            region: self.region.clone(),
            coordinated_areas: self.coordinated_areas.clone(),
            status: self.status()?,
            invited_by: self
                .invited
                .as_ref()
                .map(|i| i.invitation.invited_by.clone())
                .or_else(|| self.registered_by.clone()),
            validating_coordinator: self.validated_by.clone(),
            areas: self.areas.clone(),
            linked_authorities: self.linked_authorities.clone(),
            users: self.users.clone(),
        })
    }

    fn require_exists(&self) -> Result<(), DomainError> {
        match self.status() {
            Some(_) => Ok(()),
            None => Err(DomainError::not_found("no such authority")),
        }
    }

    /// The acting user, with their authority: this one for its own users, else looked up.
    async fn actor(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
    ) -> Result<ActorContext, DomainError> {
        let Actor::User {
            user_id,
            authority_id,
        } = by
        else {
            return Err(DomainError::forbidden("this command is issued by a user"));
        };
        if self.users.contains_key(user_id) {
            if self.id.as_deref().is_some_and(|id| id != authority_id) {
                return Err(DomainError::forbidden(
                    "the acting user does not belong to the acting authority",
                ));
            }
            let own = self
                .summary_as(authority_id)
                .ok_or_else(|| DomainError::not_found("no such authority"))?;
            return Ok(ActorContext::new(user_id, own));
        }
        let theirs = services
            .authority(authority_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| DomainError::forbidden(crate::access::NOT_REGISTERED))?;
        Ok(ActorContext::new(user_id, theirs))
    }

    /// This authority's id: recorded for invited and registered authorities; for a national
    /// coordinator (bootstrapped without it) known from its own acting users.
    fn id_seen_by(&self, actor: &ActorContext) -> String {
        match &self.id {
            Some(id) => id.clone(),
            None if self.users.contains_key(&actor.user_id) => actor.authority_id().to_string(),
            None => String::new(),
        }
    }

    /// The common steps of a command on an existing authority: it exists, the actor may act
    /// and may make `mutation`, and (unless the mutation is part of registration) the
    /// authority is validated.
    async fn prelude(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        mutation: AuthorityMutation,
    ) -> Result<(ActorContext, AuthoritySummary), DomainError> {
        self.require_exists()?;
        let actor = self.actor(by, services).await?;
        let target = self
            .summary_as(&self.id_seen_by(&actor))
            .ok_or_else(|| DomainError::not_found("no such authority"))?;
        access::authorize(&actor, &target, &mutation)?;
        let registration_step = matches!(
            mutation,
            AuthorityMutation::Validate | AuthorityMutation::RenewInvitation
        );
        if !registration_step && !target.validated() {
            return Err(DomainError::refused(
                "the authority is not validated yet: it cannot work in IMI before its \
                 coordinator validates it",
            ));
        }
        Ok((actor, target))
    }

    async fn decide(
        &self,
        issued: Issued<AuthorityCommand>,
        services: &dyn AuthorityServices,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        use AuthorityCommand as C;
        let Issued { by, command } = issued;
        let s = services;
        match command {
            C::RegisterNationalCoordinator {
                member_state,
                official_name,
                informal_titles,
                first_user,
            } => {
                self.register_national_coordinator(
                    &by,
                    s,
                    member_state,
                    official_name,
                    informal_titles,
                    first_user,
                )
                .await
            }
            C::SetInformalTitle { language, title } => {
                self.set_informal_title(&by, s, language, title).await
            }
            C::InviteAuthority {
                authority_id,
                kind,
                region,
                coordinated_areas,
                access,
                code_digest,
                contact_email,
            } => {
                self.invite(
                    &by,
                    s,
                    registration::Placement {
                        authority_id,
                        kind,
                        region,
                        coordinated_areas,
                        access,
                    },
                    code_digest,
                    contact_email,
                )
                .await
            }
            C::RenewInvitation { code_digest } => self.renew_invitation(&by, s, code_digest).await,
            C::ExpireInvitation { code_digest } => self.expire_invitation(&by, s, code_digest),
            C::RegisterWithInvitation {
                code_digest,
                data,
                first_user,
            } => {
                self.register_with_invitation(&by, s, code_digest, data, first_user)
                    .await
            }
            C::RegisterAuthority {
                authority_id,
                kind,
                region,
                coordinated_areas,
                access,
                data,
                first_user,
            } => {
                self.register_directly(
                    &by,
                    s,
                    registration::Placement {
                        authority_id,
                        kind,
                        region,
                        coordinated_areas,
                        access,
                    },
                    data,
                    first_user,
                )
                .await
            }
            C::ValidateAuthority => self.validate(&by, s).await,
            C::SetOfficialName { official_name } => {
                self.set_official_name(&by, s, official_name).await
            }
            C::SetDescription { description } => self.set_description(&by, s, description).await,
            C::SetContactDetails { contact } => self.set_contact_details(&by, s, contact).await,
            C::SetContactPerson { contact_person } => {
                self.set_contact_person(&by, s, contact_person).await
            }
            C::SetCompetences { area, keywords } => {
                self.set_competences(&by, s, area, keywords).await
            }
            C::SetProfessions { area, professions } => {
                self.set_area_codes(&by, s, area, data::AreaCodes::Professions, professions)
                    .await
            }
            C::SetServiceActivities {
                area,
                service_activities,
            } => {
                self.set_area_codes(
                    &by,
                    s,
                    area,
                    data::AreaCodes::ServiceActivities,
                    service_activities,
                )
                .await
            }
            C::GrantAreaAccess { area, workflows } => {
                self.grant_area_access(&by, s, area, workflows).await
            }
            C::RevokeAreaAccess { area } => self.revoke_area_access(&by, s, area).await,
            C::GrantWorkflowAccess {
                area,
                workflow,
                setup,
            } => {
                self.grant_workflow_access(&by, s, area, workflow, setup)
                    .await
            }
            C::RevokeWorkflowAccess { area, workflow } => {
                self.revoke_workflow_access(&by, s, area, workflow).await
            }
            C::ChangeWorkflowRole {
                area,
                workflow,
                role,
            } => {
                self.change_workflow_role(&by, s, area, workflow, role)
                    .await
            }
            C::HandOverAccessCoordination { area, to } => {
                self.hand_over_access_coordination(&by, s, area, to).await
            }
            C::SetFlag {
                area,
                workflow,
                flag,
                enabled,
            } => self.set_flag(&by, s, area, workflow, flag, enabled).await,
            C::LinkCoordinator {
                area,
                workflow,
                coordinator_id,
            } => {
                self.link_coordinator(&by, s, area, workflow, coordinator_id)
                    .await
            }
            C::UnlinkCoordinator {
                area,
                workflow,
                coordinator_id,
            } => {
                self.unlink_coordinator(&by, s, area, workflow, coordinator_id)
                    .await
            }
            C::LinkAuthority { authority_id } => self.link_authority(&by, s, authority_id).await,
            C::UnlinkAuthority { authority_id } => {
                self.unlink_authority(&by, s, authority_id).await
            }
            C::RegisterUser {
                user,
                local_data_administrator,
            } => {
                self.register_user(&by, s, user, local_data_administrator)
                    .await
            }
            C::GrantUserRoles {
                user_id,
                area,
                roles,
            } => self.grant_user_roles(&by, s, user_id, area, roles).await,
            C::RevokeUserRoles {
                user_id,
                area,
                roles,
            } => self.revoke_user_roles(&by, s, user_id, area, roles).await,
            C::AppointLocalDataAdministrator { user_id } => self.appoint_lda(&by, s, user_id).await,
            C::DismissLocalDataAdministrator { user_id } => self.dismiss_lda(&by, s, user_id).await,
            C::ResetPassword { user_id } => self.reset_password(&by, s, user_id).await,
            C::DeactivateUser { user_id } => self.deactivate_user(&by, s, user_id).await,
            C::ReactivateUser { user_id } => self.reactivate_user(&by, s, user_id).await,
        }
    }

    fn apply(&mut self, event: AuthorityEvent) {
        use AuthorityEvent as E;
        match event {
            E::NationalCoordinatorRegistered {
                member_state,
                official_name,
                informal_titles,
            } => {
                self.registered = Some(Registration {
                    member_state,
                    kind: AuthorityKind::NationalCoordinator,
                    official_name,
                });
                self.informal_titles = informal_titles;
            }
            E::UserRegistered {
                user_id,
                local_data_administrator,
                ..
            } => {
                self.users.insert(
                    user_id,
                    UserSummary {
                        local_data_administrator,
                        active: true,
                        roles: BTreeMap::new(),
                    },
                );
            }
            E::InformalTitleSet { language, title } => {
                self.informal_titles.insert(language, title);
            }
            E::InformalTitleRemoved { language } => {
                self.informal_titles.remove(&language);
            }
            E::InvitationIssued {
                authority_id,
                invited_by,
                member_state,
                kind,
                region,
                coordinated_areas,
                access,
                code_digest,
                expires_at,
                contact_email: _,
            } => {
                self.id = Some(authority_id);
                self.region = region;
                self.coordinated_areas = coordinated_areas;
                self.areas = areas_from(&invited_by, access);
                self.invited = Some(Invited {
                    member_state,
                    kind,
                    invitation: Invitation {
                        invited_by,
                        code_digest,
                        expires_at,
                        used: false,
                        expired: false,
                    },
                });
            }
            E::InvitationRenewed {
                code_digest,
                expires_at,
                ..
            } => {
                if let Some(invited) = &mut self.invited {
                    invited.invitation.code_digest = code_digest;
                    invited.invitation.expires_at = expires_at;
                    invited.invitation.expired = false;
                }
            }
            E::InvitationExpired { .. } => {
                if let Some(invited) = &mut self.invited {
                    invited.invitation.expired = true;
                }
            }
            E::AuthoritySelfRegistered {
                member_state,
                kind,
                official_name,
                informal_titles,
                description,
                contact,
                contact_person,
            } => {
                self.registered = Some(Registration {
                    member_state,
                    kind,
                    official_name,
                });
                self.informal_titles = informal_titles;
                self.description = description;
                self.contact = contact;
                self.contact_person = contact_person;
                if let Some(invited) = &mut self.invited {
                    invited.invitation.used = true;
                }
            }
            E::AuthorityRegistered {
                authority_id,
                registered_by,
                member_state,
                kind,
                region,
                coordinated_areas,
                access,
                official_name,
                informal_titles,
                description,
                contact,
                contact_person,
            } => {
                self.id = Some(authority_id);
                self.areas = areas_from(&registered_by, access);
                self.registered_by = Some(registered_by);
                self.registered = Some(Registration {
                    member_state,
                    kind,
                    official_name,
                });
                self.region = region;
                self.coordinated_areas = coordinated_areas;
                self.informal_titles = informal_titles;
                self.description = description;
                self.contact = contact;
                self.contact_person = contact_person;
            }
            E::AuthorityValidated { validated_by } => self.validated_by = Some(validated_by),
            E::OfficialNameChanged { official_name } => {
                if let Some(r) = &mut self.registered {
                    r.official_name = official_name;
                }
            }
            E::DescriptionChanged { description } => self.description = description,
            E::ContactDetailsChanged { contact } => self.contact = contact,
            E::ContactPersonChanged { contact_person } => self.contact_person = contact_person,
            E::CompetencesChanged { area, keywords } => {
                if let Some(a) = self.areas.get_mut(&area) {
                    a.competences = keywords;
                }
            }
            E::ProfessionsChanged { area, professions } => {
                if let Some(a) = self.areas.get_mut(&area) {
                    a.professions = professions;
                }
            }
            E::ServiceActivitiesChanged {
                area,
                service_activities,
            } => {
                if let Some(a) = self.areas.get_mut(&area) {
                    a.service_activities = service_activities;
                }
            }
            E::AreaAccessGranted {
                area,
                access_coordinator,
                workflows,
            } => {
                self.areas
                    .insert(area, area_from(access_coordinator, workflows));
            }
            E::AreaAccessRevoked { area } => {
                self.areas.remove(&area);
            }
            E::WorkflowAccessGranted {
                area,
                workflow,
                role,
                linked_coordinators,
            } => {
                if let Some(a) = self.areas.get_mut(&area) {
                    a.workflows.insert(
                        workflow,
                        WorkflowAccess {
                            role,
                            linked_coordinators,
                            flags: BTreeSet::new(),
                        },
                    );
                }
            }
            E::WorkflowAccessRevoked { area, workflow } => {
                if let Some(a) = self.areas.get_mut(&area) {
                    a.workflows.remove(&workflow);
                }
            }
            E::WorkflowRoleChanged {
                area,
                workflow,
                role,
            } => {
                if let Some(w) = self.workflow_mut(&area, workflow) {
                    w.role = role;
                }
            }
            E::AccessCoordinationHandedOver { area, to, .. } => {
                if let Some(a) = self.areas.get_mut(&area) {
                    a.access_coordinator = to;
                }
            }
            E::FlagSet {
                area,
                workflow,
                flag,
                enabled,
            } => {
                if let Some(w) = self.workflow_mut(&area, workflow) {
                    if enabled {
                        w.flags.insert(flag);
                    } else {
                        w.flags.remove(&flag);
                    }
                }
            }
            E::CoordinatorLinked {
                area,
                workflow,
                coordinator_id,
            } => {
                if let Some(w) = self.workflow_mut(&area, workflow) {
                    w.linked_coordinators.insert(coordinator_id);
                }
            }
            E::CoordinatorUnlinked {
                area,
                workflow,
                coordinator_id,
            } => {
                if let Some(w) = self.workflow_mut(&area, workflow) {
                    w.linked_coordinators.remove(&coordinator_id);
                }
            }
            E::AuthorityLinked { authority_id } => {
                self.linked_authorities.insert(authority_id);
            }
            E::AuthorityUnlinked { authority_id } => {
                self.linked_authorities.remove(&authority_id);
            }
            E::UserRolesGranted {
                user_id,
                area,
                roles,
            } => {
                if let Some(u) = self.users.get_mut(&user_id) {
                    u.roles.entry(area).or_default().extend(roles);
                }
            }
            E::UserRolesRevoked {
                user_id,
                area,
                roles,
            } => {
                if let Some(u) = self.users.get_mut(&user_id) {
                    if let Some(held) = u.roles.get_mut(&area) {
                        held.retain(|r| !roles.contains(r));
                        if held.is_empty() {
                            u.roles.remove(&area);
                        }
                    }
                }
            }
            E::LocalDataAdministratorAppointed { user_id } => {
                if let Some(u) = self.users.get_mut(&user_id) {
                    u.local_data_administrator = true;
                }
            }
            E::LocalDataAdministratorDismissed { user_id } => {
                if let Some(u) = self.users.get_mut(&user_id) {
                    u.local_data_administrator = false;
                }
            }
            E::PasswordReset { .. } => {}
            E::UserDeactivated { user_id } => {
                if let Some(u) = self.users.get_mut(&user_id) {
                    u.active = false;
                }
            }
            E::UserReactivated { user_id } => {
                if let Some(u) = self.users.get_mut(&user_id) {
                    u.active = true;
                }
            }
        }
    }

    fn workflow_mut(
        &mut self,
        area: &LegislativeArea,
        workflow: Workflow,
    ) -> Option<&mut WorkflowAccess> {
        self.areas
            .get_mut(area)
            .and_then(|a| a.workflows.get_mut(&workflow))
    }
}

fn area_from(
    access_coordinator: String,
    workflows: BTreeMap<Workflow, WorkflowSetup>,
) -> AreaAccess {
    AreaAccess {
        access_coordinator,
        workflows: workflows
            .into_iter()
            .map(|(workflow, setup)| {
                (
                    workflow,
                    WorkflowAccess {
                        role: setup.role,
                        linked_coordinators: setup.linked_coordinators,
                        flags: BTreeSet::new(),
                    },
                )
            })
            .collect(),
        competences: BTreeSet::new(),
        professions: BTreeSet::new(),
        service_activities: BTreeSet::new(),
    }
}

fn areas_from(coordinator: &str, access: AreaGrants) -> BTreeMap<LegislativeArea, AreaAccess> {
    access
        .into_iter()
        .map(|(area, workflows)| (area, area_from(coordinator.to_string(), workflows)))
        .collect()
}
