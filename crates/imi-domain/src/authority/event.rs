use super::model::{
    AuthorityKind, ContactDetails, Flag, Keyword, LegislativeArea, Region, UserRole, Workflow,
    WorkflowRole, WorkflowSetup,
};
use crate::reference::{Language, MemberState};
use crate::sealed::Sealed;
use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What happened to an authority. Events are forever: add variants, never change one's shape
/// without an upcaster and a new version. Personal data (users' identities, the contact
/// person, the invitation's e-mail address) is only ever [`Sealed`]; a registration code only
/// as its digest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AuthorityEvent {
    NationalCoordinatorRegistered {
        member_state: MemberState,
        official_name: String,
        informal_titles: BTreeMap<Language, String>,
    },
    UserRegistered {
        user_id: String,
        identity: Sealed,
        local_data_administrator: bool,
    },
    InformalTitleSet {
        language: Language,
        title: String,
    },
    InformalTitleRemoved {
        language: Language,
    },

    // --- Registration -------------------------------------------------------------------
    /// A coordinator invited the authority; it is created by this event. Its access to the
    /// areas below is managed by the inviting coordinator (its access coordinator).
    InvitationIssued {
        authority_id: String,
        invited_by: String,
        member_state: MemberState,
        kind: AuthorityKind,
        region: Option<Region>,
        coordinated_areas: BTreeSet<LegislativeArea>,
        access: BTreeMap<LegislativeArea, BTreeMap<Workflow, WorkflowSetup>>,
        /// Lower-case hex SHA-256 of the registration code.
        code_digest: String,
        expires_at: DateTime<Utc>,
        contact_email: Sealed,
    },
    InvitationRenewed {
        renewed_by: String,
        code_digest: String,
        expires_at: DateTime<Utc>,
    },
    /// The registration code reached its expiry unused; only a renewal lets the authority
    /// register now.
    InvitationExpired {
        code_digest: String,
    },
    /// The invited authority registered itself (followed by its first user's
    /// `UserRegistered`). Member State and kind repeat the invitation's, for read models.
    AuthoritySelfRegistered {
        member_state: MemberState,
        kind: AuthorityKind,
        official_name: String,
        informal_titles: BTreeMap<Language, String>,
        description: Option<String>,
        contact: ContactDetails,
        contact_person: Option<Sealed>,
    },
    /// A coordinator registered the authority directly; it is created by this event
    /// (followed by its first user's `UserRegistered` and `AuthorityValidated`).
    AuthorityRegistered {
        authority_id: String,
        registered_by: String,
        member_state: MemberState,
        kind: AuthorityKind,
        region: Option<Region>,
        coordinated_areas: BTreeSet<LegislativeArea>,
        access: BTreeMap<LegislativeArea, BTreeMap<Workflow, WorkflowSetup>>,
        official_name: String,
        informal_titles: BTreeMap<Language, String>,
        description: Option<String>,
        contact: ContactDetails,
        contact_person: Option<Sealed>,
    },
    /// The coordinator validated the authority and is its validating coordinator.
    AuthorityValidated {
        validated_by: String,
    },

    // --- Data ---------------------------------------------------------------------------
    OfficialNameChanged {
        official_name: String,
    },
    DescriptionChanged {
        description: Option<String>,
    },
    ContactDetailsChanged {
        contact: ContactDetails,
    },
    ContactPersonChanged {
        contact_person: Option<Sealed>,
    },
    CompetencesChanged {
        area: LegislativeArea,
        keywords: BTreeSet<Keyword>,
    },
    ProfessionsChanged {
        area: LegislativeArea,
        professions: BTreeSet<String>,
    },
    ServiceActivitiesChanged {
        area: LegislativeArea,
        service_activities: BTreeSet<String>,
    },

    // --- Access to areas and workflows --------------------------------------------------
    AreaAccessGranted {
        area: LegislativeArea,
        access_coordinator: String,
        workflows: BTreeMap<Workflow, WorkflowSetup>,
    },
    /// Preceded by `UserRolesRevoked` for the roles that depended on it.
    AreaAccessRevoked {
        area: LegislativeArea,
    },
    WorkflowAccessGranted {
        area: LegislativeArea,
        workflow: Workflow,
        role: WorkflowRole,
        linked_coordinators: BTreeSet<String>,
    },
    /// Preceded by `UserRolesRevoked` for the roles that depended on it.
    WorkflowAccessRevoked {
        area: LegislativeArea,
        workflow: Workflow,
    },
    /// Preceded by `UserRolesRevoked` for the roles the new role does not allow.
    WorkflowRoleChanged {
        area: LegislativeArea,
        workflow: Workflow,
        role: WorkflowRole,
    },
    AccessCoordinationHandedOver {
        area: LegislativeArea,
        from: String,
        to: String,
    },
    FlagSet {
        area: LegislativeArea,
        workflow: Workflow,
        flag: Flag,
        enabled: bool,
    },
    CoordinatorLinked {
        area: LegislativeArea,
        workflow: Workflow,
        coordinator_id: String,
    },
    CoordinatorUnlinked {
        area: LegislativeArea,
        workflow: Workflow,
        coordinator_id: String,
    },
    AuthorityLinked {
        authority_id: String,
    },
    AuthorityUnlinked {
        authority_id: String,
    },

    // --- Users --------------------------------------------------------------------------
    UserRolesGranted {
        user_id: String,
        area: LegislativeArea,
        roles: BTreeSet<UserRole>,
    },
    UserRolesRevoked {
        user_id: String,
        area: LegislativeArea,
        roles: BTreeSet<UserRole>,
    },
    LocalDataAdministratorAppointed {
        user_id: String,
    },
    LocalDataAdministratorDismissed {
        user_id: String,
    },
    /// A password was reset; by whom. The new credentials are not in the log.
    PasswordReset {
        user_id: String,
        reset_by_user: String,
        reset_by_authority: String,
    },
    UserDeactivated {
        user_id: String,
    },
    UserReactivated {
        user_id: String,
    },
}

impl DomainEvent for AuthorityEvent {
    fn event_type(&self) -> String {
        match self {
            Self::NationalCoordinatorRegistered { .. } => "NationalCoordinatorRegistered",
            Self::UserRegistered { .. } => "UserRegistered",
            Self::InformalTitleSet { .. } => "InformalTitleSet",
            Self::InformalTitleRemoved { .. } => "InformalTitleRemoved",
            Self::InvitationIssued { .. } => "InvitationIssued",
            Self::InvitationRenewed { .. } => "InvitationRenewed",
            Self::InvitationExpired { .. } => "InvitationExpired",
            Self::AuthoritySelfRegistered { .. } => "AuthoritySelfRegistered",
            Self::AuthorityRegistered { .. } => "AuthorityRegistered",
            Self::AuthorityValidated { .. } => "AuthorityValidated",
            Self::OfficialNameChanged { .. } => "OfficialNameChanged",
            Self::DescriptionChanged { .. } => "DescriptionChanged",
            Self::ContactDetailsChanged { .. } => "ContactDetailsChanged",
            Self::ContactPersonChanged { .. } => "ContactPersonChanged",
            Self::CompetencesChanged { .. } => "CompetencesChanged",
            Self::ProfessionsChanged { .. } => "ProfessionsChanged",
            Self::ServiceActivitiesChanged { .. } => "ServiceActivitiesChanged",
            Self::AreaAccessGranted { .. } => "AreaAccessGranted",
            Self::AreaAccessRevoked { .. } => "AreaAccessRevoked",
            Self::WorkflowAccessGranted { .. } => "WorkflowAccessGranted",
            Self::WorkflowAccessRevoked { .. } => "WorkflowAccessRevoked",
            Self::WorkflowRoleChanged { .. } => "WorkflowRoleChanged",
            Self::AccessCoordinationHandedOver { .. } => "AccessCoordinationHandedOver",
            Self::FlagSet { .. } => "FlagSet",
            Self::CoordinatorLinked { .. } => "CoordinatorLinked",
            Self::CoordinatorUnlinked { .. } => "CoordinatorUnlinked",
            Self::AuthorityLinked { .. } => "AuthorityLinked",
            Self::AuthorityUnlinked { .. } => "AuthorityUnlinked",
            Self::UserRolesGranted { .. } => "UserRolesGranted",
            Self::UserRolesRevoked { .. } => "UserRolesRevoked",
            Self::LocalDataAdministratorAppointed { .. } => "LocalDataAdministratorAppointed",
            Self::LocalDataAdministratorDismissed { .. } => "LocalDataAdministratorDismissed",
            Self::PasswordReset { .. } => "PasswordReset",
            Self::UserDeactivated { .. } => "UserDeactivated",
            Self::UserReactivated { .. } => "UserReactivated",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
