//! The coordination tree: who coordinates whom (inviting, validating, access and linked
//! coordinators), downwards from a coordinator or a Member State's national coordinator and
//! upwards from an authority. Every authority shown is an `Authority` read as the caller may
//! (`may_view`): an authority whose coordination tree the caller may not see is left out.

use super::directory::{parse_id, Authority};
use super::i18n::parse_language;
use super::model::{parse_area, Workflow, WorkflowRole};
use super::profile::{summary_of, viewer};
use super::relay::{
    decode_cursor, encode_cursor, page_size, PageInfo, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use super::{request, services};
use crate::errors::{ApiError, Code};
use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use imi_domain::access::{may_view, ActorContext, AuthorityView};
use imi_domain::reference::{Language, MemberState};
use imi_projections::coordination::{self as tree, ChildrenQuery, LinkFilter};
use imi_projections::directory::{self, DirectoryEntry, ReadOptions, Visibility};
use std::collections::BTreeMap;
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
    viewer: Option<Arc<ActorContext>>,
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
            self.viewer.as_deref(),
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

/// The directory entries of `ids` the caller may see the coordination tree of, by id.
async fn visible(
    pool: &sqlx::PgPool,
    ids: &[String],
    language: &Language,
    viewer: Option<&ActorContext>,
) -> Result<BTreeMap<String, DirectoryEntry>, ApiError> {
    let options = ReadOptions {
        visibility: Visibility::IncludingAwaitingValidation,
        language: Some(language.code().to_string()),
    };
    let entries = directory::get_many(pool, ids, &options)
        .await
        .map_err(|e| ApiError::database("reading authorities", &e))?;
    Ok(entries
        .into_iter()
        .filter(|e| {
            summary_of(e).is_some_and(|s| may_view(viewer, &s, AuthorityView::CoordinationTree))
        })
        .map(|e| (e.authority_id.clone(), e))
        .collect())
}

async fn children_page(
    ctx: &Context<'_>,
    coordinator_id: &str,
    filter: LinkFilter,
    first: Option<i32>,
    after: Option<String>,
    language: &Language,
    viewer: Option<&ActorContext>,
) -> async_graphql::Result<CoordinationChildConnection> {
    let limit = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE))?;
    let after = after.map(|c| decode_cursor(CURSOR_KIND, &c)).transpose()?;
    let has_previous_page = after.is_some();
    let pool = &services(ctx)?.pool;
    let mut children = if limit == 0 {
        Vec::new()
    } else {
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| ApiError::database("reading the coordination tree", &e))?;
        let query = ChildrenQuery {
            filter,
            statuses: Vec::new(),
            after,
            limit: limit + 1,
        };
        tree::children(&mut conn, coordinator_id, &query)
            .await
            .map_err(|e| ApiError::database("reading the coordination tree", &e))?
    };
    let has_next_page = children.len() as i64 > limit;
    children.truncate(limit as usize);
    let ids: Vec<String> = children
        .iter()
        .map(|c| c.node.authority_id.clone())
        .collect();
    let mut entries = visible(pool, &ids, language, viewer).await?;
    let edges: Vec<CoordinationChildEdge> = children
        .into_iter()
        .filter_map(|child| {
            let entry = entries.remove(&child.node.authority_id)?;
            Some(CoordinationChildEdge {
                cursor: encode_cursor(CURSOR_KIND, &child.node.authority_id),
                node: CoordinationChild {
                    authority: Authority::for_viewer(entry, language.clone(), viewer),
                    links: child.links.into_iter().map(Into::into).collect(),
                },
            })
        })
        .collect();
    Ok(CoordinationChildConnection {
        page_info: PageInfo {
            has_next_page,
            has_previous_page,
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        },
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
        let principal = request.principal()?;
        let language = language_of(request, language)?;
        let ms = MemberState::parse(&member_state).map_err(ApiError::from)?;
        let pool = &services(ctx)?.pool;
        let query = directory::DirectoryQuery {
            member_state: Some(ms.code().to_string()),
            kind: Some(imi_domain::authority::AuthorityKind::NationalCoordinator),
            language: Some(language.code().to_string()),
            limit: 1,
            ..Default::default()
        };
        let root = directory::find(pool, &query)
            .await
            .map_err(|e| ApiError::database("reading the directory", &e))?
            .pop();
        let viewer = viewer(pool, &principal.user_id, &principal.authority_id).await?;
        let Some(root) = root else {
            return Ok(None);
        };
        let allowed = summary_of(&root)
            .is_some_and(|s| may_view(viewer.as_deref(), &s, AuthorityView::CoordinationTree));
        if !allowed {
            return Ok(None);
        }
        Ok(Some(CoordinationTree {
            root_id: root.authority_id.clone(),
            root: Authority::for_viewer(root, language.clone(), viewer.as_deref()),
            language,
            viewer,
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
        let principal = request.principal()?;
        let language = language_of(request, language)?;
        let coordinator_id = parse_id(&coordinator_id)?;
        let filter = link_filter(relation, area, workflow)?;
        let pool = &services(ctx)?.pool;
        let viewer = viewer(pool, &principal.user_id, &principal.authority_id).await?;
        children_page(
            ctx,
            &coordinator_id,
            filter,
            first,
            after,
            &language,
            viewer.as_deref(),
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
        let principal = request.principal()?;
        let language = language_of(request, language)?;
        let authority_id = parse_id(&authority_id)?;
        let filter = link_filter(relation, area, workflow)?;
        let pool = &services(ctx)?.pool;
        let viewer = viewer(pool, &principal.user_id, &principal.authority_id).await?;
        let options = ReadOptions {
            visibility: Visibility::IncludingAwaitingValidation,
            language: None,
        };
        let target = directory::get_with(pool, &authority_id, &options)
            .await
            .map_err(|e| ApiError::database("reading an authority", &e))?
            .ok_or_else(|| ApiError::not_found("no such authority in the directory"))?;
        let allowed = summary_of(&target)
            .is_some_and(|s| may_view(viewer.as_deref(), &s, AuthorityView::CoordinationTree));
        if !allowed {
            return Err(ApiError::new(
                Code::Forbidden,
                "you may not see this authority's coordination tree",
            )
            .into());
        }
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| ApiError::database("reading the coordination tree", &e))?;
        let ancestry = tree::ancestors(&mut conn, &authority_id, &filter)
            .await
            .map_err(|e| ApiError::database("reading the coordination tree", &e))?;
        drop(conn);
        let ids: Vec<String> = ancestry
            .ancestors
            .iter()
            .map(|a| a.node.authority_id.clone())
            .collect();
        let entries = visible(pool, &ids, &language, viewer.as_deref()).await?;
        let shown = |id: &str| id == authority_id || entries.contains_key(id);
        let links = ancestry
            .links
            .into_iter()
            .filter(|l| shown(&l.authority_id) && shown(&l.coordinator_id))
            .map(Into::into)
            .collect();
        let mut entries = entries;
        let ancestors = ancestry
            .ancestors
            .into_iter()
            .filter_map(|a| {
                let entry = entries.remove(&a.node.authority_id)?;
                Some(CoordinationAncestor {
                    authority: Authority::for_viewer(entry, language.clone(), viewer.as_deref()),
                    depth: a.depth,
                })
            })
            .collect();
        Ok(CoordinationAncestry { ancestors, links })
    }
}
