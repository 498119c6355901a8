//! Who reads, and what they may read of an authority: the caller's [`ActorContext`] (loaded
//! once per request from the event store) and the directory v2 fields of `Authority`, each
//! checked with [`may_view`]. A field the caller may not read is null.

use super::model::{Flag, KeywordList, Workflow, WorkflowRole};
use crate::errors::ApiError;
use async_graphql::{Enum, SimpleObject, ID};
use imi_domain::access::{may_view, ActorContext, AuthorityView};
use imi_domain::authority::{self as d, AuthorityStatus as DomainStatus, AuthoritySummary};
use imi_domain::reference::MemberState;
use imi_projections::directory::DirectoryEntry;
use imi_store::authority_lookup::StoreLookup;
use std::sync::Arc;

/// The signed-in caller as the access policy sees them; `None` when their authority cannot
/// be loaded (then only the always-public directory fields show).
pub(crate) async fn viewer(
    pool: &sqlx::PgPool,
    user_id: &str,
    authority_id: &str,
) -> Result<Option<Arc<ActorContext>>, ApiError> {
    let summary = StoreLookup::new(pool.clone())
        .load(authority_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e.0, "loading the caller's authority");
            ApiError::new(crate::errors::Code::Internal, "internal error")
        })?;
    Ok(summary.map(|s| Arc::new(ActorContext::new(user_id, s))))
}

/// The policy's view of a directory entry (its users are not needed to decide views).
pub(crate) fn summary_of(entry: &DirectoryEntry) -> Option<AuthoritySummary> {
    let kind = d::AuthorityKind::ALL
        .into_iter()
        .find(|k| k.as_str() == entry.kind)?;
    let area = |code: &String| d::LegislativeArea::parse(code).ok();
    Some(AuthoritySummary {
        authority_id: entry.authority_id.clone(),
        member_state: MemberState::parse(&entry.member_state).ok()?,
        kind,
        region: entry
            .region
            .as_deref()
            .and_then(|r| d::Region::parse(r).ok()),
        coordinated_areas: entry.coordinated_areas.iter().filter_map(area).collect(),
        status: entry.status,
        invited_by: entry.invited_by.clone(),
        validating_coordinator: entry.validating_coordinator.clone(),
        areas: entry
            .areas
            .iter()
            .filter_map(|(code, access)| Some((area(code)?, access.clone())))
            .collect(),
        linked_authorities: entry.linked_authorities.clone(),
        users: Default::default(),
    })
}

/// What the caller may read of one authority.
#[derive(Clone, Default)]
pub(crate) struct Views {
    allowed: Vec<AuthorityView>,
}

impl Views {
    pub fn of(viewer: Option<&ActorContext>, summary: Option<&AuthoritySummary>) -> Self {
        let allowed = match summary {
            Some(target) => AuthorityView::ALL
                .into_iter()
                .filter(|view| may_view(viewer, target, *view))
                .collect(),
            None => Vec::new(),
        };
        Self { allowed }
    }

    pub fn may(&self, view: AuthorityView) -> bool {
        self.allowed.contains(&view)
    }
}

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

pub(crate) fn areas(entry: &DirectoryEntry, views: &Views) -> Vec<AuthorityArea> {
    let tree = views.may(AuthorityView::CoordinationTree);
    let settings = views.may(AuthorityView::WorkflowSettings);
    entry
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

/// The authority's current contact person (from the `authority_users` read model), opened
/// with the key ring; `None` when it has none.
pub(crate) async fn contact_person(
    services: &crate::state::Services,
    caller: &imi_app::Caller,
    authority_id: &str,
) -> Result<Option<ContactPerson>, ApiError> {
    let sealed = imi_projections::users::contact_person(&services.pool, authority_id)
        .await
        .map_err(|e| ApiError::database("reading the contact person", &e))?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let name = services
        .app
        .open_texts(
            caller,
            "directory.contactPerson",
            "contactPerson",
            &[sealed],
        )
        .await?
        .pop()
        .flatten();
    Ok(Some(ContactPerson {
        erased: name.is_none(),
        name,
    }))
}
