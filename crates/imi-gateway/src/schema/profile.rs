//! The directory v2 fields of `Authority`: what the application layer lets the caller read
//! of an authority (`imi_app::directory::AuthorityRead`), as GraphQL types. A field the
//! caller may not read is null.

use super::model::{Flag, KeywordList, Workflow, WorkflowRole};
use async_graphql::{Enum, SimpleObject, ID};
use imi_app::directory::AuthorityRead;
use imi_domain::access::AuthorityView;
use imi_domain::authority::{self as d, AuthorityStatus as DomainStatus};

/// Where an authority stands in its registration.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorityStatus {
    Invited,
    AwaitingValidation,
    Validated,
}

impl From<DomainStatus> for AuthorityStatus {
    fn from(s: DomainStatus) -> Self {
        match s {
            DomainStatus::Invited => Self::Invited,
            DomainStatus::AwaitingValidation => Self::AwaitingValidation,
            DomainStatus::Validated => Self::Validated,
        }
    }
}

/// An authority's official contact details (not personal data).
#[derive(SimpleObject)]
pub struct ContactDetails {
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
}

impl From<&d::ContactDetails> for ContactDetails {
    fn from(c: &d::ContactDetails) -> Self {
        Self {
            address: c.address.clone(),
            postal_code: c.postal_code.clone(),
            city: c.city.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            website: c.website.clone(),
        }
    }
}

/// An area of competence.
#[derive(SimpleObject)]
pub struct Keyword {
    pub list: KeywordList,
    pub code: String,
}

/// The authority's access to one workflow of an area.
#[derive(SimpleObject)]
pub struct AuthorityWorkflow {
    pub workflow: Workflow,
    pub role: WorkflowRole,
    /// Its flags (null unless the caller may read its workflow settings).
    pub flags: Option<Vec<Flag>>,
    /// The coordinators linked to it (null unless the caller may read its workflow settings).
    pub linked_coordinators: Option<Vec<ID>>,
}

/// The authority's access to one legislative area.
#[derive(SimpleObject)]
pub struct AuthorityArea {
    pub area: String,
    /// The coordinator that gave it access (null unless the caller may read the coordination
    /// tree).
    pub access_coordinator: Option<ID>,
    pub workflows: Vec<AuthorityWorkflow>,
    pub competences: Vec<Keyword>,
    pub professions: Vec<String>,
    pub service_activities: Vec<String>,
}

pub(crate) fn areas(authority: &AuthorityRead) -> Vec<AuthorityArea> {
    let tree = authority.may(AuthorityView::CoordinationTree);
    let settings = authority.may(AuthorityView::WorkflowSettings);
    authority
        .entry
        .areas
        .iter()
        .map(|(area, access)| AuthorityArea {
            area: area.clone(),
            access_coordinator: tree.then(|| ID(access.access_coordinator.clone())),
            workflows: access
                .workflows
                .iter()
                .map(|(workflow, w)| AuthorityWorkflow {
                    workflow: (*workflow).into(),
                    role: w.role.into(),
                    flags: settings.then(|| w.flags.iter().map(|f| (*f).into()).collect()),
                    linked_coordinators: settings
                        .then(|| w.linked_coordinators.iter().cloned().map(ID).collect()),
                })
                .collect(),
            competences: access
                .competences
                .iter()
                .map(|k| Keyword {
                    list: k.list.into(),
                    code: k.code.clone(),
                })
                .collect(),
            professions: access.professions.iter().cloned().collect(),
            service_activities: access.service_activities.iter().cloned().collect(),
        })
        .collect()
}

/// A named contact person: personal data, opened only for callers the policy lets see it.
#[derive(SimpleObject)]
pub struct ContactPerson {
    /// True when the authority's personal data was erased: `name` is gone.
    pub erased: bool,
    pub name: Option<String>,
}

impl From<imi_app::directory::ContactPersonView> for ContactPerson {
    fn from(c: imi_app::directory::ContactPersonView) -> Self {
        Self {
            erased: c.erased,
            name: c.name,
        }
    }
}
