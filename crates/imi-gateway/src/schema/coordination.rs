//! The coordination tree: who coordinates whom (inviting, validating, access and linked
//! coordinators), downwards from a coordinator or a Member State's national coordinator and
//! upwards from an authority. Every authority shown is an `Authority` read as the caller may
//! (`may_view`): an authority whose coordination tree the caller may not see is left out.

use super::directory::{parse_id, Authority};
use super::i18n::parse_language;
use super::model::{parse_area, Workflow, WorkflowRole};
use super::relay::{
    decode_cursor, encode_cursor, page_size, PageInfo, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use super::{app, caller, request};
use crate::errors::ApiError;
use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use imi_app::coordination::{self as tree, LinkFilter};
use imi_domain::access::ActorContext;
use imi_domain::reference::{Language, MemberState};
use std::sync::Arc;

const CURSOR_KIND: &str = "CoordinationChild";

#[derive(Default)]
pub struct CoordinationQuery;

/// How a coordinator coordinates an authority.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoordinationRelation {
    /// It invited or registered the authority.
    Inviting,
    /// It validated the authority and manages its data.
    Validating,
    /// It manages the authority's access to one area.
    AccessCoordinator,
    /// The authority is linked to it in one workflow of one area.
    LinkedCoordinator,
}

impl From<tree::Relation> for CoordinationRelation {
    fn from(r: tree::Relation) -> Self {
        match r {
            tree::Relation::Inviting => Self::Inviting,
            tree::Relation::Validating => Self::Validating,
            tree::Relation::AccessCoordinator => Self::AccessCoordinator,
            tree::Relation::LinkedCoordinator => Self::LinkedCoordinator,
        }
    }
}

impl From<CoordinationRelation> for tree::Relation {
    fn from(r: CoordinationRelation) -> Self {
        match r {
            CoordinationRelation::Inviting => Self::Inviting,
            CoordinationRelation::Validating => Self::Validating,
            CoordinationRelation::AccessCoordinator => Self::AccessCoordinator,
            CoordinationRelation::LinkedCoordinator => Self::LinkedCoordinator,
        }
    }
}

/// `coordinator` coordinates `authority`.
#[derive(SimpleObject)]
pub struct CoordinationLink {
    pub authority_id: ID,
    pub coordinator_id: ID,
    pub relation: CoordinationRelation,
    /// The area, for access and linked coordinators.
    pub area: Option<String>,
    /// The workflow, for linked coordinators.
    pub workflow: Option<Workflow>,
    /// The authority's own role in that workflow, for linked coordinators.
    pub role: Option<WorkflowRole>,
}

impl From<tree::Link> for CoordinationLink {
    fn from(l: tree::Link) -> Self {
        Self {
            authority_id: ID(l.authority_id),
            coordinator_id: ID(l.coordinator_id),
            relation: l.relation.into(),
            area: l.area,
            workflow: l.workflow.map(Into::into),
            role: l.role.map(Into::into),
        }
    }
}

/// An authority a coordinator coordinates, with the links that say how.
#[derive(SimpleObject)]
pub struct CoordinationChild {
    pub authority: Authority,
    pub links: Vec<CoordinationLink>,
}

#[derive(SimpleObject)]
pub struct CoordinationChildEdge {
    pub cursor: String,
    pub node: CoordinationChild,
}

/// A page of a coordinator's children (a Relay connection), ordered by authority id.
#[derive(SimpleObject)]
pub struct CoordinationChildConnection {
    pub edges: Vec<CoordinationChildEdge>,
    pub page_info: PageInfo,
}

/// A coordinator above an authority, `depth` links up (1: a direct coordinator).
#[derive(SimpleObject)]
pub struct CoordinationAncestor {
    pub authority: Authority,
    pub depth: i32,
}

/// The coordinators above an authority, nearest first, and the links between them.
#[derive(SimpleObject)]
pub struct CoordinationAncestry {
    pub ancestors: Vec<CoordinationAncestor>,
    pub links: Vec<CoordinationLink>,
}

/// A Member State's coordination tree, from its national coordinator down.
pub struct CoordinationTree {
    root: Authority,
    root_id: String,
    language: Language,
    /// Who reads the tree, as the application layer loaded them.
    reader: Option<Arc<ActorContext>>,
}

#[Object]
impl CoordinationTree {
    /// The national IMI coordinator.
    async fn root(&self) -> &Authority {
        &self.root
    }

    /// The authorities the national coordinator coordinates directly.
    #[graphql(
        complexity = "(first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    async fn children(
        &self,
        ctx: &Context<'_>,
        relation: Option<CoordinationRelation>,
        area: Option<String>,
        workflow: Option<Workflow>,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<CoordinationChildConnection> {
        let filter = link_filter(relation, area, workflow)?;
        children_page(
            ctx,
            &self.root_id,
            filter,
            first,
            after,
            &self.language,
            self.reader.as_deref(),
        )
        .await
    }
}

fn link_filter(
    relation: Option<CoordinationRelation>,
    area: Option<String>,
    workflow: Option<Workflow>,
) -> Result<LinkFilter, ApiError> {
    Ok(LinkFilter {
        relation: relation.map(Into::into),
        area: area
            .as_deref()
            .map(parse_area)
            .transpose()?
            .map(|a| a.code().to_string()),
        workflow: workflow.map(Into::into),
    })
}

/// A page of `coordinator_id`'s children, as `reader` may see them.
async fn children_page(
    ctx: &Context<'_>,
    coordinator_id: &str,
    filter: LinkFilter,
    first: Option<i32>,
    after: Option<String>,
    language: &Language,
    reader: Option<&ActorContext>,
) -> async_graphql::Result<CoordinationChildConnection> {
    let limit = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE))?;
    let after = after.map(|c| decode_cursor(CURSOR_KIND, &c)).transpose()?;
    let has_previous_page = after.is_some();
    let page = app(ctx)?
        .coordination_children(reader, coordinator_id, filter, after, limit, language)
        .await
        .map_err(ApiError::from)?;
    let edges: Vec<CoordinationChildEdge> = page
        .children
        .into_iter()
        .map(|child| CoordinationChildEdge {
            cursor: encode_cursor(CURSOR_KIND, &child.authority.entry.authority_id),
            node: CoordinationChild {
                authority: Authority::new(child.authority, language.clone()),
                links: child.links.into_iter().map(Into::into).collect(),
            },
        })
        .collect();
    Ok(CoordinationChildConnection {
        page_info: PageInfo::of(
            page.has_next_page,
            has_previous_page,
            edges.first().map(|e| &e.cursor),
            edges.last().map(|e| &e.cursor),
        ),
        edges,
    })
}

fn language_of(
    request: &crate::context::RequestContext,
    code: Option<String>,
) -> Result<Language, ApiError> {
    match code {
        Some(code) => parse_language(&code),
        None => Ok(request.language.clone()),
    }
}

#[Object]
impl CoordinationQuery {
    /// A Member State's coordination tree, from its national IMI coordinator; null when it
    /// has none the caller may see.
    async fn coordination_tree(
        &self,
        ctx: &Context<'_>,
        member_state: String,
        language: Option<String>,
    ) -> async_graphql::Result<Option<CoordinationTree>> {
        let request = request(ctx)?;
        let caller = caller(ctx)?;
        let language = language_of(request, language)?;
        let ms = MemberState::parse(&member_state).map_err(ApiError::from)?;
        let tree = app(ctx)?
            .coordination_tree(&caller, &ms, &language)
            .await
            .map_err(ApiError::from)?;
        Ok(tree.map(|tree| CoordinationTree {
            root_id: tree.root.entry.authority_id.clone(),
            root: Authority::new(tree.root, language.clone()),
            language,
            reader: tree.reader,
        }))
    }

    /// The authorities `coordinatorId` coordinates (through links matching the filters),
    /// ordered by id, each with those links.
    #[graphql(
        complexity = "(first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn coordination_children(
        &self,
        ctx: &Context<'_>,
        coordinator_id: ID,
        relation: Option<CoordinationRelation>,
        area: Option<String>,
        workflow: Option<Workflow>,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        language: Option<String>,
    ) -> async_graphql::Result<CoordinationChildConnection> {
        let request = request(ctx)?;
        let caller = caller(ctx)?;
        let language = language_of(request, language)?;
        let coordinator_id = parse_id(&coordinator_id)?;
        let filter = link_filter(relation, area, workflow)?;
        let reader = app(ctx)?
            .actor_context(&caller)
            .await
            .map_err(ApiError::from)?;
        children_page(
            ctx,
            &coordinator_id,
            filter,
            first,
            after,
            &language,
            reader.as_deref(),
        )
        .await
    }

    /// The coordinators above `authorityId` (through links matching the filters), nearest
    /// first, and the links between them. FORBIDDEN when the caller may not see its
    /// coordination tree; NOT_FOUND when the directory does not list it.
    async fn coordination_ancestors(
        &self,
        ctx: &Context<'_>,
        authority_id: ID,
        relation: Option<CoordinationRelation>,
        area: Option<String>,
        workflow: Option<Workflow>,
        language: Option<String>,
    ) -> async_graphql::Result<CoordinationAncestry> {
        let request = request(ctx)?;
        let caller = caller(ctx)?;
        let language = language_of(request, language)?;
        let authority_id = parse_id(&authority_id)?;
        let filter = link_filter(relation, area, workflow)?;
        let ancestry = app(ctx)?
            .coordination_ancestors(&caller, &authority_id, &filter, &language)
            .await
            .map_err(ApiError::from)?;
        Ok(CoordinationAncestry {
            ancestors: ancestry
                .ancestors
                .into_iter()
                .map(|a| CoordinationAncestor {
                    authority: Authority::new(a.authority, language.clone()),
                    depth: a.depth,
                })
                .collect(),
            links: ancestry.links.into_iter().map(Into::into).collect(),
        })
    }
}
