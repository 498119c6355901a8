//! The values an authority is described by: its kind in the coordination hierarchy, the
//! legislative areas and workflows it has access to, its roles there, its users' roles, and
//! the read-only summary other aggregates and the access policy see of it.
//!
//! Legislative areas, their workflows, keyword lists, professions and service activities are
//! data (fixtures), checked through [`super::AuthorityDirectoryLookup`]; only what the rules
//! depend on is code: the five authority kinds, the two workflow types (every role and flag
//! is tied to one of them), the workflow roles, the user roles and the flags.

use crate::reference::MemberState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The administrative role an authority plays in IMI's coordination hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AuthorityKind {
    /// NIMIC: one per Member State; registers and validates any other kind; any area.
    NationalCoordinator,
    /// SDIMIC: overall responsibility in one region of a federal Member State; any area.
    SuperDelegatedCoordinator,
    /// LIMIC: one per legislative area per Member State (or per federal state).
    LegislativeAreaCoordinator,
    /// DIMIC: one or more legislative areas, in a region or for a Member State.
    DelegatedCoordinator,
    /// CA: sends and answers; registers and validates no one.
    CompetentAuthority,
}

impl AuthorityKind {
    pub const ALL: [AuthorityKind; 5] = [
        Self::NationalCoordinator,
        Self::SuperDelegatedCoordinator,
        Self::LegislativeAreaCoordinator,
        Self::DelegatedCoordinator,
        Self::CompetentAuthority,
    ];

    /// The name stored in events and read models.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NationalCoordinator => "NationalCoordinator",
            Self::SuperDelegatedCoordinator => "SuperDelegatedCoordinator",
            Self::LegislativeAreaCoordinator => "LegislativeAreaCoordinator",
            Self::DelegatedCoordinator => "DelegatedCoordinator",
            Self::CompetentAuthority => "CompetentAuthority",
        }
    }

    /// The glossary's abbreviation.
    pub fn abbreviation(self) -> &'static str {
        match self {
            Self::NationalCoordinator => "NIMIC",
            Self::SuperDelegatedCoordinator => "SDIMIC",
            Self::LegislativeAreaCoordinator => "LIMIC",
            Self::DelegatedCoordinator => "DIMIC",
            Self::CompetentAuthority => "CA",
        }
    }

    /// IMI coordinators register, invite, validate and manage other authorities.
    pub fn is_coordinator(self) -> bool {
        !matches!(self, Self::CompetentAuthority)
    }

    /// Coordinators whose responsibility covers every legislative area.
    pub fn coordinates_every_area(self) -> bool {
        matches!(
            self,
            Self::NationalCoordinator | Self::SuperDelegatedCoordinator
        )
    }
}

impl fmt::Display for AuthorityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abbreviation())
    }
}

/// Why a code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadCode(pub String);

macro_rules! code_type {
    ($(#[$doc:meta])* $t:ident, $what:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $t(String);

        impl $t {
            /// Trims and upper-cases `code`; letters, digits, `-` and `_`, at most
            #[doc = concat!(stringify!($max), " characters.")]
            pub fn parse(code: &str) -> Result<Self, BadCode> {
                let code = code.trim().to_ascii_uppercase();
                let ok = !code.is_empty()
                    && code.len() <= $max
                    && code
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if ok {
                    Ok(Self(code))
                } else {
                    Err(BadCode(format!(concat!("malformed ", $what, " code: {:?}"), code)))
                }
            }
            pub fn code(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $t {
            type Error = BadCode;
            fn try_from(s: String) -> Result<Self, BadCode> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

code_type!(
    /// A legislative area (IMI module) by its code, e.g. `PQ` or `SD`. Which areas exist, and
    /// their workflows, is reference data.
    LegislativeArea,
    "legislative area",
    32
);
code_type!(
    /// A region of a federal Member State (a federal state), e.g. its ISO 3166-2 code `DE-BY`.
    Region,
    "region",
    64
);

/// The two kinds of information exchange; each legislative area offers one or both
/// (reference data says which).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workflow {
    Requests,
    Alerts,
}

impl Workflow {
    pub const ALL: [Workflow; 2] = [Self::Requests, Self::Alerts];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requests => "requests",
            Self::Alerts => "alerts",
        }
    }
}

impl fmt::Display for Workflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role an authority plays in one workflow of one legislative area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WorkflowRole {
    /// "Authority (requests)": sends and receives requests; linked to request coordinators.
    RequestAuthority,
    /// Request coordinator: approves and referees for the authorities linked to it.
    RequestCoordinator,
    /// Alert authority: initiates alerts and submits them to a linked alert coordinator.
    AlertAuthority,
    /// Alert coordinator: broadcasts alerts and disseminates incoming ones.
    AlertCoordinator,
    /// Incoming alert postbox: the alert coordinator that is its Member State's entry point.
    IncomingAlertPostbox,
}

impl WorkflowRole {
    pub const ALL: [WorkflowRole; 5] = [
        Self::RequestAuthority,
        Self::RequestCoordinator,
        Self::AlertAuthority,
        Self::AlertCoordinator,
        Self::IncomingAlertPostbox,
    ];

    pub fn workflow(self) -> Workflow {
        match self {
            Self::RequestAuthority | Self::RequestCoordinator => Workflow::Requests,
            _ => Workflow::Alerts,
        }
    }

    /// Roles that others can be linked to as their coordinator in this workflow.
    pub fn coordinates(self) -> bool {
        matches!(
            self,
            Self::RequestCoordinator | Self::AlertCoordinator | Self::IncomingAlertPostbox
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::RequestAuthority => "Authority (requests)",
            Self::RequestCoordinator => "request coordinator",
            Self::AlertAuthority => "alert authority",
            Self::AlertCoordinator => "alert coordinator",
            Self::IncomingAlertPostbox => "incoming alert postbox",
        }
    }
}

/// A user's role in one legislative area. The local data administrator role is authority-wide
/// and is not one of these (see [`UserSummary::local_data_administrator`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum UserRole {
    /// Every user is one, everywhere its authority has access: never granted or revoked.
    BasicUser,
    RequestHandler,
    RequestViewer,
    Allocator,
    /// Only in request coordinators.
    ReferralHandler,
    AlertHandler,
    /// Only in alert coordinators and incoming alert postboxes.
    AlertDisseminator,
    AlertViewer,
    /// Only in IMI coordinators, in the areas they coordinate.
    DataAdministrator,
    /// Only in a national coordinator: reads the processing log of its Member State's
    /// authorities (Regulation 1024/2012, Art. 17(3)). Held in any area, it applies to the
    /// whole Member State; granted and revoked by the national coordinator's data
    /// administrators.
    DataProtectionOfficer,
    /// Only in a national coordinator: reads, read-only, the histories of the exchanges in
    /// which an authority of its Member State took part (facts and who, never personal data).
    /// Held in any area, it applies to the whole Member State; granted and revoked by the
    /// national coordinator's data administrators.
    Auditor,
}

impl UserRole {
    /// Roles of a national coordinator that supervise the whole Member State.
    pub const SUPERVISORY: [UserRole; 2] = [Self::DataProtectionOfficer, Self::Auditor];

    pub const ALL: [UserRole; 11] = [
        Self::BasicUser,
        Self::RequestHandler,
        Self::RequestViewer,
        Self::Allocator,
        Self::ReferralHandler,
        Self::AlertHandler,
        Self::AlertDisseminator,
        Self::AlertViewer,
        Self::DataAdministrator,
        Self::DataProtectionOfficer,
        Self::Auditor,
    ];

    /// The workflow a role works in, if it is tied to one.
    pub fn workflow(self) -> Option<Workflow> {
        match self {
            Self::RequestHandler
            | Self::RequestViewer
            | Self::Allocator
            | Self::ReferralHandler => Some(Workflow::Requests),
            Self::AlertHandler | Self::AlertDisseminator | Self::AlertViewer => {
                Some(Workflow::Alerts)
            }
            Self::BasicUser
            | Self::DataAdministrator
            | Self::DataProtectionOfficer
            | Self::Auditor => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::BasicUser => "basic user",
            Self::RequestHandler => "request handler",
            Self::RequestViewer => "request viewer",
            Self::Allocator => "allocator",
            Self::ReferralHandler => "referral handler",
            Self::AlertHandler => "alert handler",
            Self::AlertDisseminator => "alert disseminator",
            Self::AlertViewer => "alert viewer",
            Self::DataAdministrator => "data administrator",
            Self::DataProtectionOfficer => "data protection officer",
            Self::Auditor => "auditor",
        }
    }
}

/// Settings ("flags") of one workflow in one area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Flag {
    /// Incoming requests are assigned to request handlers by allocators. Set by the
    /// authority's local data administrators.
    Allocation,
    /// New requests go to the request coordinator for approval before they are sent. Set by
    /// the access coordinator's data administrators.
    ApprovalOfNewRequests,
    /// Responses go to the request coordinator for approval before they are sent. Set by the
    /// access coordinator's data administrators.
    ApprovalOfResponses,
}

impl Flag {
    pub const ALL: [Flag; 3] = [
        Self::Allocation,
        Self::ApprovalOfNewRequests,
        Self::ApprovalOfResponses,
    ];
    /// The workflow the flag belongs to.
    pub fn workflow(self) -> Workflow {
        Workflow::Requests
    }
    /// Set by the authority itself (its LDAs) rather than by its access coordinator.
    pub fn set_by_the_authority(self) -> bool {
        matches!(self, Self::Allocation)
    }
}

/// The two European keyword lists an authority describes its competences with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeywordList {
    EconomicActivities,
    PolicyAreas,
}

/// One entry of a keyword list ("area of competence").
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Keyword {
    pub list: KeywordList,
    pub code: String,
}

/// An authority's official contact details. They describe the office, not a person, and are
/// not personal data; a named contact person is, and travels sealed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetails {
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub phone: Option<String>,
    /// A functional mailbox of the office (not a person's address).
    pub email: Option<String>,
    pub website: Option<String>,
}

/// One workflow an authority is given in one area: its role there and the coordinators it is
/// linked to (at least one, always).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowSetup {
    pub role: WorkflowRole,
    pub linked_coordinators: BTreeSet<String>,
}

/// The state of one workflow of one area.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowAccess {
    pub role: WorkflowRole,
    pub linked_coordinators: BTreeSet<String>,
    #[serde(default)]
    pub flags: BTreeSet<Flag>,
}

/// An authority's access to one legislative area.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaAccess {
    /// The coordinator that granted the access (or took it over): it manages the area's
    /// settings for this authority.
    pub access_coordinator: String,
    pub workflows: BTreeMap<Workflow, WorkflowAccess>,
    #[serde(default)]
    pub competences: BTreeSet<Keyword>,
    #[serde(default)]
    pub professions: BTreeSet<String>,
    #[serde(default)]
    pub service_activities: BTreeSet<String>,
}

impl AreaAccess {
    pub fn role(&self, workflow: Workflow) -> Option<WorkflowRole> {
        self.workflows.get(&workflow).map(|w| w.role)
    }
}

/// A user of an authority as rules see them (their identity is sealed, elsewhere).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub local_data_administrator: bool,
    #[serde(default = "active_by_default")]
    pub active: bool,
    #[serde(default)]
    pub roles: BTreeMap<LegislativeArea, BTreeSet<UserRole>>,
}

fn active_by_default() -> bool {
    true
}

impl UserSummary {
    pub fn has_role(&self, area: &LegislativeArea, role: UserRole) -> bool {
        self.roles.get(area).is_some_and(|r| r.contains(&role))
    }
}

/// Where an authority is in its registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthorityStatus {
    /// Invited; it has not registered itself yet.
    Invited,
    /// Registered itself; its coordinator has not validated it yet. It cannot work.
    AwaitingValidation,
    /// Validated (or registered by a coordinator, or a national coordinator): it works.
    Validated,
}

/// What other aggregates, the lookup and the access policy know of an authority: no names,
/// no contact data, no personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthoritySummary {
    pub authority_id: String,
    pub member_state: MemberState,
    pub kind: AuthorityKind,
    pub region: Option<Region>,
    /// The areas a LIMIC or DIMIC coordinates (empty for the others).
    pub coordinated_areas: BTreeSet<LegislativeArea>,
    pub status: AuthorityStatus,
    /// The coordinator that invited or registered it.
    pub invited_by: Option<String>,
    /// The coordinator that validated it (registered or validated; manages its data).
    pub validating_coordinator: Option<String>,
    pub areas: BTreeMap<LegislativeArea, AreaAccess>,
    pub linked_authorities: BTreeSet<String>,
    pub users: BTreeMap<String, UserSummary>,
}

impl AuthoritySummary {
    pub fn validated(&self) -> bool {
        self.status == AuthorityStatus::Validated
    }

    /// Its role in one workflow of one area, if it has access there.
    pub fn role(&self, area: &LegislativeArea, workflow: Workflow) -> Option<WorkflowRole> {
        self.areas.get(area).and_then(|a| a.role(workflow))
    }

    /// Whether the authority coordinates `area` (NIMIC and SDIMIC: every area).
    pub fn coordinates_area(&self, area: &LegislativeArea) -> bool {
        self.kind.coordinates_every_area()
            || (self.kind.is_coordinator() && self.coordinated_areas.contains(area))
    }

    pub fn access_coordinator(&self, area: &LegislativeArea) -> Option<&str> {
        self.areas.get(area).map(|a| a.access_coordinator.as_str())
    }

    /// The areas an action on this authority as a whole concerns: those it has access to and
    /// those it coordinates.
    pub fn areas_of_concern(&self) -> BTreeSet<LegislativeArea> {
        self.areas
            .keys()
            .chain(self.coordinated_areas.iter())
            .cloned()
            .collect()
    }

    /// Active local data administrators.
    pub fn active_local_data_administrators(&self) -> usize {
        self.users
            .values()
            .filter(|u| u.active && u.local_data_administrator)
            .count()
    }
}

/// A legislative area coordinator already registered or invited in a Member State.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaCoordinator {
    pub authority_id: String,
    pub region: Option<Region>,
}

/// A pending invitation to register, as the invited authority holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub invited_by: String,
    /// Lower-case hex SHA-256 of the registration code; the code itself is never stored.
    pub code_digest: String,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
    /// The scheduler recorded the expiry of this code (absent in older snapshots).
    #[serde(default)]
    pub expired: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_trimmed_and_upper_cased() {
        assert_eq!(LegislativeArea::parse(" pq ").unwrap().code(), "PQ");
        assert_eq!(Region::parse("de-by").unwrap().code(), "DE-BY");
        assert!(LegislativeArea::parse("").is_err());
        assert!(LegislativeArea::parse("P Q").is_err());
        assert!(LegislativeArea::parse(&"X".repeat(33)).is_err());
        let err: Result<LegislativeArea, _> = serde_json::from_str("\"a b\"");
        assert!(err.is_err());
    }

    #[test]
    fn workflows_serialize_as_the_reference_data_names() {
        assert_eq!(
            serde_json::to_string(&Workflow::Requests).unwrap(),
            "\"requests\""
        );
        let map = BTreeMap::from([(Workflow::Alerts, 1)]);
        let json = serde_json::to_string(&map).unwrap();
        assert_eq!(json, "{\"alerts\":1}");
        let back: BTreeMap<Workflow, i32> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, map);
    }

    #[test]
    fn roles_belong_to_their_workflow() {
        for role in WorkflowRole::ALL {
            let coordinating = matches!(
                role,
                WorkflowRole::RequestCoordinator
                    | WorkflowRole::AlertCoordinator
                    | WorkflowRole::IncomingAlertPostbox
            );
            assert_eq!(role.coordinates(), coordinating, "{role:?}");
        }
        assert_eq!(
            WorkflowRole::IncomingAlertPostbox.workflow(),
            Workflow::Alerts
        );
        assert_eq!(UserRole::Allocator.workflow(), Some(Workflow::Requests));
        assert_eq!(UserRole::DataAdministrator.workflow(), None);
    }
}
