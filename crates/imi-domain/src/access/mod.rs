//! The access policy for authorities: pure functions deciding whether an acting user may
//! change an authority ([`authorize`]) and which views of it they may read ([`may_view`]).
//!
//! The Authority aggregate calls [`authorize`] for every command a user issues; the gateway
//! calls [`may_view`] for every field that exposes authority data. Both decide on an
//! [`ActorContext`] (the user, their roles per legislative area, and their authority's kind,
//! Member State, workflow roles and links) and the target's [`AuthoritySummary`]; neither
//! reads anything.
//!
//! Who may do what (the glossary's rules):
//! - registering or inviting an authority: a data administrator of an IMI coordinator, in the
//!   areas concerned, within its scope ([`coordinates`]: NIMIC anyone but a NIMIC, SDIMIC its
//!   region incl. LIMICs and DIMICs, LIMIC DIMICs and CAs in its area, DIMIC CAs in its areas
//!   and region, CA no one);
//! - validating it (and renewing its invitation): a data administrator of the inviting
//!   coordinator;
//! - general data (names, description, contact): its local data administrators (LDAs) and the
//!   data administrators of its validating coordinator;
//! - data of an area (competences, professions, service activities): its LDAs and the data
//!   administrators (in that area) of its access coordinator for the area;
//! - access to an area: a coordinator responsible for the authority and the area (a NIMIC
//!   may give itself access); workflows, workflow roles, approval flags, linked coordinators
//!   and the hand-over of access coordination: data administrators (in that area) of the
//!   access coordinator; nominating or removing the incoming alert postbox: data
//!   administrators (in that area) of the national coordinator;
//! - the allocation flag, linked authorities, users, roles, LDAs, deactivation: its LDAs only;
//! - password resets: its LDAs (any user), data administrators of its validating coordinator
//!   (its LDAs only).
//!
//! Only an active user of a validated authority acts or reads at all.

#[cfg(test)]
mod tests;

use crate::authority::{AuthorityKind, AuthoritySummary, LegislativeArea, UserRole, UserSummary};
use crate::error::DomainError;
use std::collections::BTreeSet;

/// The refusal for a signed-in user whose authority is not in the register (one message
/// wherever it is met).
pub const NOT_REGISTERED: &str = "the acting authority is not registered";

/// A signed-in user and the authority they act for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorContext {
    pub user_id: String,
    pub authority: AuthoritySummary,
}

impl ActorContext {
    pub fn new(user_id: impl Into<String>, authority: AuthoritySummary) -> Self {
        Self {
            user_id: user_id.into(),
            authority,
        }
    }

    pub fn user(&self) -> Option<&UserSummary> {
        self.authority.users.get(&self.user_id)
    }

    pub fn authority_id(&self) -> &str {
        &self.authority.authority_id
    }

    pub fn belongs_to(&self, authority_id: &str) -> bool {
        self.authority.authority_id == authority_id
    }

    /// Why this actor cannot act at all, if so.
    pub fn unable(&self) -> Option<Denied> {
        match self.user() {
            None => Some(Denied::new(
                "the acting user does not belong to the acting authority",
            )),
            Some(user) if !user.active => Some(Denied::new("the acting user is deactivated")),
            Some(_) if !self.authority.validated() => Some(Denied::new(
                "the acting authority is not validated yet: it cannot work in IMI before its \
                 coordinator validates it",
            )),
            Some(_) => None,
        }
    }

    /// The Member State whose processing log this actor supervises: a data protection officer
    /// of its national coordinator, able to act.
    pub fn data_protection_officer_of(&self) -> Option<&crate::reference::MemberState> {
        let officer = self.authority.kind == crate::authority::AuthorityKind::NationalCoordinator
            && self.user().is_some_and(|u| {
                u.roles
                    .values()
                    .any(|r| r.contains(&UserRole::DataProtectionOfficer))
            });
        (officer && self.unable().is_none()).then_some(&self.authority.member_state)
    }

    /// The Member State whose exchanges' histories this actor may audit: an auditor of its
    /// national coordinator, able to act.
    pub fn auditor_of(&self) -> Option<&crate::reference::MemberState> {
        let auditor = self.authority.kind == crate::authority::AuthorityKind::NationalCoordinator
            && self
                .user()
                .is_some_and(|u| u.roles.values().any(|r| r.contains(&UserRole::Auditor)));
        (auditor && self.unable().is_none()).then_some(&self.authority.member_state)
    }

    pub fn is_local_data_administrator(&self) -> bool {
        self.user().is_some_and(|u| u.local_data_administrator)
    }

    /// A data administrator in `area`, in an authority that coordinates `area`.
    pub fn is_data_administrator(&self, area: &LegislativeArea) -> bool {
        self.authority.coordinates_area(area)
            && self
                .user()
                .is_some_and(|u| u.has_role(area, UserRole::DataAdministrator))
    }

    /// A data administrator in at least one area.
    pub fn is_data_administrator_anywhere(&self) -> bool {
        self.user().is_some_and(|u| {
            u.roles.iter().any(|(area, roles)| {
                roles.contains(&UserRole::DataAdministrator)
                    && self.authority.coordinates_area(area)
            })
        })
    }

    /// A data administrator in every one of `areas` (in any area when there are none).
    fn is_data_administrator_in_all(&self, areas: &BTreeSet<LegislativeArea>) -> bool {
        if areas.is_empty() {
            self.is_data_administrator_anywhere()
        } else {
            areas.iter().all(|a| self.is_data_administrator(a))
        }
    }

    fn is_own_lda(&self, target: &AuthoritySummary) -> bool {
        self.belongs_to(&target.authority_id) && self.is_local_data_administrator()
    }

    fn is_da_of(&self, coordinator: Option<&str>, area: Option<&LegislativeArea>) -> bool {
        coordinator.is_some_and(|c| self.belongs_to(c))
            && match area {
                Some(area) => self.is_data_administrator(area),
                None => self.is_data_administrator_anywhere(),
            }
    }
}

/// The authority id the sign-ins of the European Commission's statistics readers carry. The
/// Commission is no Member State and has no authority in IMI: no authority is registered
/// under this id (ids from clients never hold `@`).
pub const COMMISSION: &str = "@european-commission";

/// The refusal for the Commission's statistics reader anywhere but the statistics.
pub const STATISTICS_ONLY: &str = "the European Commission's reader reads statistics only";

/// Who reads through IMI's interfaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reader {
    /// A signed-in user of an authority.
    User(std::sync::Arc<ActorContext>),
    /// The European Commission's statistics-only reader: figures of every Member State, no
    /// exchange, authority, user, history or processing log, never personal data (Art. 9
    /// of Regulation 1024/2012: the Commission sees statistics only). Its accounts are
    /// registered by the platform's operator (`imi commission add-reader`), as the Commission
    /// runs the system: no Member State's coordinator may grant it.
    CommissionStatistics { user_id: String },
}

/// What a reader reads, by kind; each view then decides how much of it (`view_level`,
/// [`may_view`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReadKind {
    /// Figures without personal data (alert statistics, and every statistics query).
    Statistics,
    /// Requests and alerts (their views, lists, queues, inboxes).
    Exchanges,
    /// The directory, authorities' profiles and users.
    Authorities,
    /// The processing log of a Member State.
    ProcessingLog,
    /// Exchanges' histories, as of a point or between two.
    Histories,
}

impl ReadKind {
    pub const ALL: [ReadKind; 5] = [
        Self::Statistics,
        Self::Exchanges,
        Self::Authorities,
        Self::ProcessingLog,
        Self::Histories,
    ];
}

/// Whether `reader` may read `what` at all.
pub fn may_read(reader: &Reader, what: ReadKind) -> bool {
    use ReadKind::*;
    match reader {
        Reader::CommissionStatistics { .. } => what == Statistics,
        Reader::User(actor) => {
            actor.unable().is_none()
                && match what {
                    Statistics | Exchanges | Authorities => true,
                    ProcessingLog => actor.data_protection_officer_of().is_some(),
                    Histories => actor.auditor_of().is_some(),
                }
        }
    }
}

/// A refusal, with the reason shown to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied(pub String);

impl Denied {
    pub fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

impl From<Denied> for DomainError {
    fn from(d: Denied) -> Self {
        DomainError::Forbidden(d.0)
    }
}

/// A change to an authority, as the policy classifies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorityMutation {
    /// Invite or register the target (a summary of the authority to be).
    Register,
    Validate,
    RenewInvitation,
    /// Official name, informal titles, description, contact details, contact person.
    EditGeneralData,
    /// Competences, professions, service activities in one area.
    EditAreaData(LegislativeArea),
    GrantAreaAccess(LegislativeArea),
    /// Revoke the area; grant or revoke a workflow; change a workflow role.
    ManageWorkflows(LegislativeArea),
    /// Make the target the incoming alert postbox in an area, or stop it being one.
    NominateIncomingAlertPostbox(LegislativeArea),
    HandOverAccessCoordination(LegislativeArea),
    SetApprovalFlags(LegislativeArea),
    LinkCoordinators(LegislativeArea),
    SetAllocationFlag(LegislativeArea),
    LinkAuthorities,
    RegisterUser,
    ChangeUserRoles,
    ManageLocalDataAdministrators,
    /// Deactivate or reactivate a user.
    ChangeUserStatus,
    ResetPassword {
        of_local_data_administrator: bool,
    },
}

/// Whether a coordinator of kind `coordinator` may register, validate and manage an authority
/// of kind `kind` (the hierarchy only; [`coordinates`] adds Member State, region and areas).
pub fn may_coordinate(coordinator: AuthorityKind, kind: AuthorityKind) -> bool {
    use AuthorityKind::*;
    match coordinator {
        NationalCoordinator => kind != NationalCoordinator,
        SuperDelegatedCoordinator => matches!(
            kind,
            LegislativeAreaCoordinator | DelegatedCoordinator | CompetentAuthority
        ),
        LegislativeAreaCoordinator => matches!(kind, DelegatedCoordinator | CompetentAuthority),
        DelegatedCoordinator => kind == CompetentAuthority,
        CompetentAuthority => false,
    }
}

/// Whether `coordinator` is responsible for `target` in `areas`: same Member State, a kind it
/// may coordinate, inside its region (if it has one), and areas it coordinates.
pub fn coordinates(
    coordinator: &AuthoritySummary,
    target: &AuthoritySummary,
    areas: &BTreeSet<LegislativeArea>,
) -> Result<(), Denied> {
    if !coordinator.kind.is_coordinator() {
        return Err(Denied::new(
            "a competent authority registers, validates and coordinates no one",
        ));
    }
    if coordinator.member_state != target.member_state {
        return Err(Denied::new(
            "a coordinator acts only in its own Member State",
        ));
    }
    if !may_coordinate(coordinator.kind, target.kind) {
        return Err(Denied::new(format!(
            "a {} cannot register or coordinate a {}",
            coordinator.kind, target.kind
        )));
    }
    if let Some(region) = &coordinator.region {
        if target.region.as_ref() != Some(region) {
            return Err(Denied::new(format!(
                "the authority is outside the coordinator's region {region}"
            )));
        }
    }
    if let Some(area) = areas.iter().find(|a| !coordinator.coordinates_area(a)) {
        return Err(Denied::new(format!(
            "the coordinator is not responsible for {area}"
        )));
    }
    Ok(())
}

/// Whether `actor` may make `mutation` to `target`.
pub fn authorize(
    actor: &ActorContext,
    target: &AuthoritySummary,
    mutation: &AuthorityMutation,
) -> Result<(), Denied> {
    use AuthorityMutation::*;
    if let Some(denied) = actor.unable() {
        return Err(denied);
    }
    let allowed = |ok: bool, why: String| if ok { Ok(()) } else { Err(Denied(why)) };
    match mutation {
        Register => {
            let areas = target.areas_of_concern();
            coordinates(&actor.authority, target, &areas)?;
            allowed(
                actor.is_data_administrator_in_all(&areas),
                "only a data administrator of the coordinator, in every area concerned, may \
                 register or invite an authority"
                    .into(),
            )
        }
        Validate | RenewInvitation => {
            let areas = target.areas_of_concern();
            allowed(
                target
                    .invited_by
                    .as_deref()
                    .is_some_and(|c| actor.belongs_to(c))
                    && actor.is_data_administrator_in_all(&areas),
                format!(
                    "only a data administrator of the inviting coordinator may {}",
                    if *mutation == Validate {
                        "validate this authority"
                    } else {
                        "renew its invitation"
                    }
                ),
            )
        }
        EditGeneralData => allowed(
            actor.is_own_lda(target)
                || actor.is_da_of(target.validating_coordinator.as_deref(), None),
            "only a local data administrator of this authority or a data administrator of its \
             validating coordinator may edit its data"
                .into(),
        ),
        EditAreaData(area) => allowed(
            actor.is_own_lda(target) || actor.is_da_of(target.access_coordinator(area), Some(area)),
            format!(
                "only a local data administrator of this authority or a data administrator of \
                 its access coordinator for {area} may edit its data in {area}"
            ),
        ),
        GrantAreaAccess(area) => {
            let denied = || {
                Denied(format!(
                    "only a data administrator in {area} of a coordinator responsible for this \
                     authority may grant it access to {area}"
                ))
            };
            if actor.belongs_to(&target.authority_id) {
                // Nobody coordinates a national coordinator: it gives itself access.
                return if target.kind == AuthorityKind::NationalCoordinator
                    && actor.is_data_administrator(area)
                {
                    Ok(())
                } else {
                    Err(denied())
                };
            }
            coordinates(&actor.authority, target, &BTreeSet::from([area.clone()]))?;
            if actor.is_data_administrator(area) {
                Ok(())
            } else {
                Err(denied())
            }
        }
        ManageWorkflows(area)
        | HandOverAccessCoordination(area)
        | SetApprovalFlags(area)
        | LinkCoordinators(area) => allowed(
            actor.is_da_of(target.access_coordinator(area), Some(area)),
            format!(
                "only a data administrator in {area} of the authority's access coordinator for \
                 {area} may {}",
                match mutation {
                    ManageWorkflows(_) => "change its workflows there",
                    HandOverAccessCoordination(_) => "hand over its access coordination",
                    SetApprovalFlags(_) => "set its approval flags there",
                    _ => "change its linked coordinators there",
                }
            ),
        ),
        NominateIncomingAlertPostbox(area) => allowed(
            actor.authority.kind == AuthorityKind::NationalCoordinator
                && actor.authority.member_state == target.member_state
                && actor.is_data_administrator(area),
            format!(
                "only a data administrator in {area} of the national coordinator may nominate \
                 or remove the incoming alert postbox"
            ),
        ),
        SetAllocationFlag(_) => allowed(
            actor.is_own_lda(target),
            "only a local data administrator of this authority may set its allocation flag".into(),
        ),
        LinkAuthorities => allowed(
            actor.is_own_lda(target),
            "only a local data administrator of this authority may link authorities to it".into(),
        ),
        RegisterUser | ChangeUserRoles | ManageLocalDataAdministrators | ChangeUserStatus => {
            allowed(
                actor.is_own_lda(target),
                "only a local data administrator of this authority may manage its users".into(),
            )
        }
        ResetPassword {
            of_local_data_administrator,
        } => allowed(
            actor.is_own_lda(target)
                || (*of_local_data_administrator
                    && actor.is_da_of(target.validating_coordinator.as_deref(), None)),
            "only a local data administrator of this authority, or for its local data \
             administrators a data administrator of its validating coordinator, may reset a \
             password"
                .into(),
        ),
    }
}

/// What can be read about an authority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthorityView {
    /// Its directory entry (names, kind, Member State).
    Directory,
    /// Its public profile: description, official contact details, areas and workflow roles,
    /// competences, professions, service activities.
    Profile,
    /// Who coordinates whom (validating, access and linked coordinators).
    CoordinationTree,
    /// Its flags and linked coordinators per area and workflow.
    WorkflowSettings,
    /// The named contact person (personal data).
    ContactPerson,
    /// Its users, their roles and identities (personal data).
    Users,
    /// The pending invitation (where it was sent: personal data).
    Invitation,
}

impl AuthorityView {
    pub const ALL: [AuthorityView; 7] = [
        Self::Directory,
        Self::Profile,
        Self::CoordinationTree,
        Self::WorkflowSettings,
        Self::ContactPerson,
        Self::Users,
        Self::Invitation,
    ];
}

/// Whether `actor` (`None`: not signed in) may read `view` of `target`.
pub fn may_view(
    actor: Option<&ActorContext>,
    target: &AuthoritySummary,
    view: AuthorityView,
) -> bool {
    use AuthorityView::*;
    let Some(actor) = actor else {
        return false;
    };
    if actor.unable().is_some() {
        return false;
    }
    let own = actor.belongs_to(&target.authority_id);
    let inviting_da = actor.is_da_of(target.invited_by.as_deref(), None);
    let validating_da = actor.is_da_of(target.validating_coordinator.as_deref(), None);
    let access_da = target.areas.iter().any(|(area, a)| {
        actor.belongs_to(&a.access_coordinator) && actor.is_data_administrator(area)
    });
    let coordinator_of_it = target.areas.values().any(|a| {
        actor.belongs_to(&a.access_coordinator)
            || a.workflows
                .values()
                .any(|w| w.linked_coordinators.contains(actor.authority_id()))
    }) || target
        .validating_coordinator
        .as_deref()
        .is_some_and(|c| actor.belongs_to(c));
    match view {
        // Until it is validated, only the inviting coordinator sees a new authority.
        Directory | Profile | CoordinationTree => target.validated() || inviting_da,
        WorkflowSettings => own || coordinator_of_it || inviting_da,
        ContactPerson => own || validating_da || access_da || inviting_da,
        Users => (own && actor.is_local_data_administrator()) || validating_da,
        Invitation => inviting_da,
    }
}
