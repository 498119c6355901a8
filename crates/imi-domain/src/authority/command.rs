use super::model::{
    AuthorityKind, ContactDetails, Flag, Keyword, LegislativeArea, Region, UserRole, Workflow,
    WorkflowRole, WorkflowSetup,
};
use crate::reference::{Language, MemberState};
use crate::sealed::Sealed;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The legislative areas an authority is given, with the workflows in each.
pub type AreaGrants = BTreeMap<LegislativeArea, BTreeMap<Workflow, WorkflowSetup>>;

/// Commands the Authority aggregate handles. Each is sent to the aggregate of the authority it
/// concerns (for an invitation or registration: the new authority's id) and is issued by a
/// user ([`crate::actor::Actor::User`]) unless said otherwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AuthorityCommand {
    /// Bootstraps a Member State: its National IMI Coordinator and that authority's first user,
    /// who becomes its local data administrator. Issued by the system from reference data.
    RegisterNationalCoordinator {
        member_state: MemberState,
        official_name: String,
        informal_titles: BTreeMap<Language, String>,
        first_user: NewUser,
    },
    /// Sets (or, with `None`, removes) the authority's informal title in one language.
    SetInformalTitle {
        language: Language,
        title: Option<String>,
    },

    // --- Registration -------------------------------------------------------------------
    /// A data administrator of a coordinator invites an authority to register itself. The
    /// caller generates the registration code (at least 128 random bits), e-mails it, and sends
    /// only its digest here.
    InviteAuthority {
        /// The id of the aggregate this command is sent to.
        authority_id: String,
        kind: AuthorityKind,
        region: Option<Region>,
        /// For a LIMIC (exactly one) or a DIMIC (one or more): the areas it will coordinate.
        coordinated_areas: BTreeSet<LegislativeArea>,
        /// The areas and workflows the authority will have access to.
        access: AreaGrants,
        /// Lower-case hex SHA-256 of the registration code.
        code_digest: String,
        /// Where the code was sent, sealed under [`super::authority_key_id`].
        contact_email: Sealed,
    },
    /// The inviting coordinator sends a fresh code (the old one stops working), valid 30 days.
    RenewInvitation {
        code_digest: String,
    },
    /// The scheduler records that the registration code `code_digest` reached its expiry
    /// unused (issued by [`crate::actor::Actor::System`] only; once per code).
    ExpireInvitation {
        code_digest: String,
    },
    /// The invited authority registers itself with the code: its data and its first user, who
    /// becomes its local data administrator. Issued as that first user
    /// (`Actor::User { user_id: first_user.user_id, authority_id }`).
    RegisterWithInvitation {
        /// Lower-case hex SHA-256 of the code the authority entered.
        code_digest: String,
        data: AuthorityData,
        first_user: NewUser,
    },
    /// A data administrator of a coordinator registers an authority directly: it enters the
    /// data and the first user and is the authority's validating coordinator at once.
    RegisterAuthority {
        /// The id of the aggregate this command is sent to.
        authority_id: String,
        kind: AuthorityKind,
        region: Option<Region>,
        coordinated_areas: BTreeSet<LegislativeArea>,
        access: AreaGrants,
        data: AuthorityData,
        first_user: NewUser,
    },
    /// The inviting coordinator validates a self-registered authority: only then it works.
    ValidateAuthority,

    // --- Data ---------------------------------------------------------------------------
    SetOfficialName {
        official_name: String,
    },
    /// Sets (or, with `None`, removes) the short description of the authority's tasks.
    SetDescription {
        description: Option<String>,
    },
    SetContactDetails {
        contact: ContactDetails,
    },
    /// Sets (or removes) the named contact person, sealed under [`super::authority_key_id`].
    SetContactPerson {
        contact_person: Option<Sealed>,
    },
    /// Areas of competence in one legislative area (entries of the two keyword lists).
    SetCompetences {
        area: LegislativeArea,
        keywords: BTreeSet<Keyword>,
    },
    /// Professions (reference data of the area, e.g. PQ).
    SetProfessions {
        area: LegislativeArea,
        professions: BTreeSet<String>,
    },
    /// Service activities (reference data of the area, e.g. SD).
    SetServiceActivities {
        area: LegislativeArea,
        service_activities: BTreeSet<String>,
    },

    // --- Access to areas and workflows --------------------------------------------------
    /// A coordinator gives the authority access to a legislative area and becomes its access
    /// coordinator there.
    GrantAreaAccess {
        area: LegislativeArea,
        workflows: BTreeMap<Workflow, WorkflowSetup>,
    },
    RevokeAreaAccess {
        area: LegislativeArea,
    },
    GrantWorkflowAccess {
        area: LegislativeArea,
        workflow: Workflow,
        setup: WorkflowSetup,
    },
    RevokeWorkflowAccess {
        area: LegislativeArea,
        workflow: Workflow,
    },
    ChangeWorkflowRole {
        area: LegislativeArea,
        workflow: Workflow,
        role: WorkflowRole,
    },
    /// The access coordinator passes its role on to another coordinator.
    HandOverAccessCoordination {
        area: LegislativeArea,
        to: String,
    },
    SetFlag {
        area: LegislativeArea,
        workflow: Workflow,
        flag: Flag,
        enabled: bool,
    },
    LinkCoordinator {
        area: LegislativeArea,
        workflow: Workflow,
        coordinator_id: String,
    },
    UnlinkCoordinator {
        area: LegislativeArea,
        workflow: Workflow,
        coordinator_id: String,
    },
    /// Links another authority of the same Member State (monitoring view, no action).
    LinkAuthority {
        authority_id: String,
    },
    UnlinkAuthority {
        authority_id: String,
    },

    // --- Users --------------------------------------------------------------------------
    RegisterUser {
        user: NewUser,
        local_data_administrator: bool,
    },
    GrantUserRoles {
        user_id: String,
        area: LegislativeArea,
        roles: BTreeSet<UserRole>,
    },
    RevokeUserRoles {
        user_id: String,
        area: LegislativeArea,
        roles: BTreeSet<UserRole>,
    },
    AppointLocalDataAdministrator {
        user_id: String,
    },
    DismissLocalDataAdministrator {
        user_id: String,
    },
    /// Records that a user's password was reset (the credentials live elsewhere).
    ResetPassword {
        user_id: String,
    },
    DeactivateUser {
        user_id: String,
    },
    ReactivateUser {
        user_id: String,
    },
}

impl AuthorityCommand {
    /// The command's name, for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RegisterNationalCoordinator { .. } => "RegisterNationalCoordinator",
            Self::SetInformalTitle { .. } => "SetInformalTitle",
            Self::InviteAuthority { .. } => "InviteAuthority",
            Self::RenewInvitation { .. } => "RenewInvitation",
            Self::ExpireInvitation { .. } => "ExpireInvitation",
            Self::RegisterWithInvitation { .. } => "RegisterWithInvitation",
            Self::RegisterAuthority { .. } => "RegisterAuthority",
            Self::ValidateAuthority => "ValidateAuthority",
            Self::SetOfficialName { .. } => "SetOfficialName",
            Self::SetDescription { .. } => "SetDescription",
            Self::SetContactDetails { .. } => "SetContactDetails",
            Self::SetContactPerson { .. } => "SetContactPerson",
            Self::SetCompetences { .. } => "SetCompetences",
            Self::SetProfessions { .. } => "SetProfessions",
            Self::SetServiceActivities { .. } => "SetServiceActivities",
            Self::GrantAreaAccess { .. } => "GrantAreaAccess",
            Self::RevokeAreaAccess { .. } => "RevokeAreaAccess",
            Self::GrantWorkflowAccess { .. } => "GrantWorkflowAccess",
            Self::RevokeWorkflowAccess { .. } => "RevokeWorkflowAccess",
            Self::ChangeWorkflowRole { .. } => "ChangeWorkflowRole",
            Self::HandOverAccessCoordination { .. } => "HandOverAccessCoordination",
            Self::SetFlag { .. } => "SetFlag",
            Self::LinkCoordinator { .. } => "LinkCoordinator",
            Self::UnlinkCoordinator { .. } => "UnlinkCoordinator",
            Self::LinkAuthority { .. } => "LinkAuthority",
            Self::UnlinkAuthority { .. } => "UnlinkAuthority",
            Self::RegisterUser { .. } => "RegisterUser",
            Self::GrantUserRoles { .. } => "GrantUserRoles",
            Self::RevokeUserRoles { .. } => "RevokeUserRoles",
            Self::AppointLocalDataAdministrator { .. } => "AppointLocalDataAdministrator",
            Self::DismissLocalDataAdministrator { .. } => "DismissLocalDataAdministrator",
            Self::ResetPassword { .. } => "ResetPassword",
            Self::DeactivateUser { .. } => "DeactivateUser",
            Self::ReactivateUser { .. } => "ReactivateUser",
        }
    }
}

/// A user to register. The identity (name, e-mail, login) is personal data and arrives sealed
/// under the user's own data key, so it can be erased on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    pub user_id: String,
    pub identity: Sealed,
}

/// The data an authority registers with.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthorityData {
    pub official_name: String,
    pub informal_titles: BTreeMap<Language, String>,
    pub description: Option<String>,
    pub contact: ContactDetails,
    /// A named contact person (personal data), sealed under [`super::authority_key_id`].
    pub contact_person: Option<Sealed>,
}
