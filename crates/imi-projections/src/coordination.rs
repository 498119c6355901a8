//! The coordination tree: who coordinates whom, per legislative area and workflow. An
//! authority's coordinators are the one that invited or registered it, its validating
//! coordinator, its access coordinator per area and its linked coordinators per workflow; the
//! tree answers with the children of a coordinator and the ancestors of an authority.
//!
//! Invited authorities are nodes too (status `Invited`), so a coordinator sees the
//! authorities it invited before they register.

use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::writes::Writes;
use imi_domain::authority::{
    AuthorityEvent, AuthorityKind, AuthorityStatus, LegislativeArea, Region, Workflow,
    WorkflowRole, WorkflowSetup,
};
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use std::collections::{BTreeMap, BTreeSet};

pub const NAME: &str = "coordination";

/// Deepest chain of coordinators followed upwards (real chains have at most four links:
/// CA, DIMIC, LIMIC or SDIMIC, NIMIC); it also ends cycles.
const MAX_DEPTH: i32 = 16;

pub struct Coordination;

#[async_trait::async_trait]
impl Projection for Coordination {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/coordination.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[crate::fold::AUTHORITY])
    }

    /// Loads the nodes of the authorities in the batch, folds the batch over them, rewrites
    /// the changed nodes and all their edges set-wise.
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let Some(folded) = fold::fold_authorities::<NodeRow>(
            db,
            events,
            "SELECT to_jsonb(n) FROM nodes n WHERE authority_id = ANY($1)",
            |n| n.authority_id.clone(),
            apply,
        )
        .await?
        else {
            return Ok(Writes::default());
        };
        let written = folded.changed_rows();
        let edges: Vec<EdgeRow> = written.iter().flat_map(|n| n.edges()).collect();
        let mut writes = Writes::default();
        writes.replace("nodes", "authority_id", &folded.changed, &written)?;
        writes.replace("edges", "authority_id", &folded.changed, &edges)?;
        writes.sequences(&folded.sequences);
        Ok(writes)
    }
}

/// One row of `nodes`: the part of an authority the tree is built from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct NodeRow {
    authority_id: String,
    member_state: String,
    kind: String,
    region: Option<String>,
    status: AuthorityStatus,
    invited_by: Option<String>,
    validating_coordinator: Option<String>,
    areas: BTreeMap<String, AreaLinks>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct AreaLinks {
    access_coordinator: String,
    workflows: BTreeMap<Workflow, WorkflowLinks>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct WorkflowLinks {
    role: WorkflowRole,
    linked_coordinators: BTreeSet<String>,
}

fn area_links(coordinator: &str, workflows: BTreeMap<Workflow, WorkflowSetup>) -> AreaLinks {
    AreaLinks {
        access_coordinator: coordinator.to_string(),
        workflows: workflows
            .into_iter()
            .map(|(w, s)| {
                (
                    w,
                    WorkflowLinks {
                        role: s.role,
                        linked_coordinators: s.linked_coordinators,
                    },
                )
            })
            .collect(),
    }
}

fn areas_from(
    coordinator: &str,
    access: BTreeMap<LegislativeArea, BTreeMap<Workflow, WorkflowSetup>>,
) -> BTreeMap<String, AreaLinks> {
    access
        .into_iter()
        .map(|(a, w)| (a.code().to_string(), area_links(coordinator, w)))
        .collect()
}

impl NodeRow {
    fn new(id: &str, member_state: &str, kind: AuthorityKind, status: AuthorityStatus) -> Self {
        NodeRow {
            authority_id: id.to_string(),
            member_state: member_state.to_string(),
            kind: kind.as_str().to_string(),
            region: None,
            status,
            invited_by: None,
            validating_coordinator: None,
            areas: BTreeMap::new(),
        }
    }

    /// Where an invitation or a direct registration puts the authority: under `coordinator`,
    /// which is also its access coordinator in the areas granted.
    fn placed(
        mut self,
        coordinator: String,
        region: Option<Region>,
        access: BTreeMap<LegislativeArea, BTreeMap<Workflow, WorkflowSetup>>,
    ) -> Self {
        self.region = region.map(|r| r.code().to_string());
        self.areas = areas_from(&coordinator, access);
        self.invited_by = Some(coordinator);
        self
    }

    fn edges(&self) -> Vec<EdgeRow> {
        let edge = |coordinator: &str, relation, area: &str, workflow: &str, role| EdgeRow {
            authority_id: self.authority_id.clone(),
            coordinator_id: coordinator.to_string(),
            relation,
            area: area.to_string(),
            workflow: workflow.to_string(),
            role,
        };
        let mut edges = Vec::new();
        if let Some(c) = &self.invited_by {
            edges.push(edge(c, Relation::Inviting, "", "", None));
        }
        if let Some(c) = &self.validating_coordinator {
            edges.push(edge(c, Relation::Validating, "", "", None));
        }
        for (area, links) in &self.areas {
            edges.push(edge(
                &links.access_coordinator,
                Relation::AccessCoordinator,
                area,
                "",
                None,
            ));
            for (workflow, w) in &links.workflows {
                for c in &w.linked_coordinators {
                    edges.push(edge(
                        c,
                        Relation::LinkedCoordinator,
                        area,
                        workflow.as_str(),
                        Some(w.role),
                    ));
                }
            }
        }
        edges
    }

    fn workflow_mut(&mut self, area: &LegislativeArea, w: Workflow) -> Option<&mut WorkflowLinks> {
        self.areas
            .get_mut(area.code())
            .and_then(|a| a.workflows.get_mut(&w))
    }
}

/// Applies one event as the aggregate does. Returns whether the node or its edges changed.
fn apply(nodes: &mut BTreeMap<String, NodeRow>, e: &FeedEvent, event: AuthorityEvent) -> bool {
    use AuthorityEvent as E;
    let id = e.aggregate_id.as_str();
    match event {
        E::NationalCoordinatorRegistered { member_state, .. } => {
            nodes.insert(
                id.to_string(),
                NodeRow::new(
                    id,
                    member_state.code(),
                    AuthorityKind::NationalCoordinator,
                    AuthorityStatus::Validated,
                ),
            );
            return true;
        }
        E::InvitationIssued {
            invited_by,
            member_state,
            kind,
            region,
            access,
            ..
        } => {
            let node = NodeRow::new(id, member_state.code(), kind, AuthorityStatus::Invited);
            nodes.insert(id.to_string(), node.placed(invited_by, region, access));
            return true;
        }
        E::AuthorityRegistered {
            registered_by,
            member_state,
            kind,
            region,
            access,
            ..
        } => {
            let status = AuthorityStatus::AwaitingValidation;
            let node = NodeRow::new(id, member_state.code(), kind, status);
            nodes.insert(id.to_string(), node.placed(registered_by, region, access));
            return true;
        }
        _ => {}
    }
    let Some(node) = nodes.get_mut(id) else {
        return false;
    };
    match event {
        E::AuthoritySelfRegistered {
            member_state, kind, ..
        } => {
            node.status = AuthorityStatus::AwaitingValidation;
            node.member_state = member_state.code().to_string();
            node.kind = kind.as_str().to_string();
            true
        }
        E::AuthorityValidated { validated_by } => {
            node.status = AuthorityStatus::Validated;
            node.validating_coordinator = Some(validated_by);
            true
        }
        E::AreaAccessGranted {
            area,
            access_coordinator,
            workflows,
        } => {
            node.areas.insert(
                area.code().to_string(),
                area_links(&access_coordinator, workflows),
            );
            true
        }
        E::AreaAccessRevoked { area } => node.areas.remove(area.code()).is_some(),
        E::WorkflowAccessGranted {
            area,
            workflow,
            role,
            linked_coordinators,
        } => match node.areas.get_mut(area.code()) {
            Some(a) => {
                a.workflows.insert(
                    workflow,
                    WorkflowLinks {
                        role,
                        linked_coordinators,
                    },
                );
                true
            }
            None => false,
        },
        E::WorkflowAccessRevoked { area, workflow } => node
            .areas
            .get_mut(area.code())
            .is_some_and(|a| a.workflows.remove(&workflow).is_some()),
        E::WorkflowRoleChanged {
            area,
            workflow,
            role,
        } => node.workflow_mut(&area, workflow).is_some_and(|w| {
            w.role = role;
            true
        }),
        E::AccessCoordinationHandedOver { area, to, .. } => {
            node.areas.get_mut(area.code()).is_some_and(|a| {
                a.access_coordinator = to;
                true
            })
        }
        E::CoordinatorLinked {
            area,
            workflow,
            coordinator_id,
        } => node
            .workflow_mut(&area, workflow)
            .is_some_and(|w| w.linked_coordinators.insert(coordinator_id)),
        E::CoordinatorUnlinked {
            area,
            workflow,
            coordinator_id,
        } => node
            .workflow_mut(&area, workflow)
            .is_some_and(|w| w.linked_coordinators.remove(&coordinator_id)),
        _ => false,
    }
}

/// One row of `edges`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct EdgeRow {
    authority_id: String,
    coordinator_id: String,
    relation: Relation,
    /// '' for relations that are not per area.
    area: String,
    /// '' for relations that are not per workflow.
    workflow: String,
    role: Option<WorkflowRole>,
}

// --- Queries --------------------------------------------------------------------------

/// How a coordinator coordinates an authority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Relation {
    /// It invited or registered the authority.
    Inviting,
    /// It validated the authority and manages its data (its validating coordinator).
    Validating,
    /// It manages the authority's access to one area.
    AccessCoordinator,
    /// The authority is linked to it in one workflow of one area.
    LinkedCoordinator,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Inviting => "Inviting",
            Relation::Validating => "Validating",
            Relation::AccessCoordinator => "AccessCoordinator",
            Relation::LinkedCoordinator => "LinkedCoordinator",
        }
    }
}

/// An authority in the tree.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Node {
    pub authority_id: String,
    pub member_state: String,
    /// [`AuthorityKind::as_str`].
    pub kind: String,
    pub region: Option<String>,
    pub status: AuthorityStatus,
}

/// `coordinator_id` coordinates `authority_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub authority_id: String,
    pub coordinator_id: String,
    pub relation: Relation,
    /// The area, for access and linked coordinators.
    pub area: Option<String>,
    /// The workflow, for linked coordinators.
    pub workflow: Option<Workflow>,
    /// The authority's own role in that workflow, for linked coordinators.
    pub role: Option<WorkflowRole>,
}

impl From<EdgeRow> for Link {
    fn from(e: EdgeRow) -> Self {
        Link {
            workflow: Workflow::ALL.into_iter().find(|w| w.as_str() == e.workflow),
            area: Some(e.area).filter(|a| !a.is_empty()),
            authority_id: e.authority_id,
            coordinator_id: e.coordinator_id,
            relation: e.relation,
            role: e.role,
        }
    }
}

/// Which links count; all filters must hold. With an `area`, only links in that area count
/// (not the inviting and validating ones, which hold for every area).
#[derive(Clone, Debug, Default)]
pub struct LinkFilter {
    pub relation: Option<Relation>,
    pub area: Option<String>,
    pub workflow: Option<Workflow>,
}

impl LinkFilter {
    fn push(&self, sql: &mut QueryBuilder<Postgres>, alias: &str) {
        sql.push(format!(
            " AND {alias}.coordinator_id <> {alias}.authority_id"
        ));
        if let Some(relation) = self.relation {
            sql.push(format!(" AND {alias}.relation = "))
                .push_bind(relation.as_str());
        }
        if let Some(area) = &self.area {
            sql.push(format!(" AND {alias}.area = "))
                .push_bind(area.clone());
        }
        if let Some(workflow) = self.workflow {
            sql.push(format!(" AND {alias}.workflow = "))
                .push_bind(workflow.as_str());
        }
    }
}

/// A page of a coordinator's children: `filter` selects the links, `after` (the last
/// authority id of the previous page) and `limit` the page.
#[derive(Clone, Debug, Default)]
pub struct ChildrenQuery {
    pub filter: LinkFilter,
    /// Only children in these statuses (all when empty).
    pub statuses: Vec<AuthorityStatus>,
    pub after: Option<String>,
    pub limit: i64,
}

/// An authority a coordinator coordinates, with the links that say how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Child {
    pub node: Node,
    pub links: Vec<Link>,
}

/// A coordinator above an authority, `depth` links up (1: a direct coordinator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ancestor {
    pub node: Node,
    pub depth: i32,
}

/// The coordinators above an authority and the links between them and it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ancestry {
    /// Nearest first, then by id.
    pub ancestors: Vec<Ancestor>,
    /// Every link (matching the filter) from the authority or one of its ancestors to one of
    /// its ancestors, ordered by authority, relation, area, workflow, coordinator.
    pub links: Vec<Link>,
}

fn status_names(statuses: &[AuthorityStatus]) -> Vec<String> {
    statuses
        .iter()
        .filter_map(|s| match serde_json::to_value(s) {
            Ok(serde_json::Value::String(s)) => Some(s),
            _ => None,
        })
        .collect()
}

async fn nodes_of(db: &mut PgConnection, ids: &[String]) -> Result<Vec<Node>, sqlx::Error> {
    let values: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(n) FROM {NAME}.nodes n WHERE n.authority_id = ANY($1)
          ORDER BY n.authority_id"
    ))
    .bind(ids)
    .fetch_all(db)
    .await?;
    values.into_iter().map(fold::decode).collect()
}

const EDGE_ORDER: &str = "e.authority_id, e.relation, e.area, e.workflow, e.coordinator_id";

/// One authority of the tree.
pub async fn node<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
) -> Result<Option<Node>, sqlx::Error> {
    let value: Option<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(n) FROM {NAME}.nodes n WHERE n.authority_id = $1"
    ))
    .bind(authority_id)
    .fetch_optional(db)
    .await?;
    value.map(fold::decode).transpose()
}

/// The authority's direct coordinators (links matching `filter`).
pub async fn coordinators_of<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
    filter: &LinkFilter,
) -> Result<Vec<Link>, sqlx::Error> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT to_jsonb(e) FROM {NAME}.edges e WHERE e.authority_id = "
    ));
    sql.push_bind(authority_id.to_string());
    filter.push(&mut sql, "e");
    sql.push(format!(" ORDER BY {EDGE_ORDER}"));
    let values: Vec<serde_json::Value> = sql.build_query_scalar().fetch_all(db).await?;
    values
        .into_iter()
        .map(|v| fold::decode::<EdgeRow>(v).map(Link::from))
        .collect()
}

/// The authorities `coordinator_id` coordinates (through links matching the query's filter),
/// ordered by authority id, each with those links.
pub async fn children(
    db: &mut PgConnection,
    coordinator_id: &str,
    q: &ChildrenQuery,
) -> Result<Vec<Child>, sqlx::Error> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT DISTINCT e.authority_id FROM {NAME}.edges e
           JOIN {NAME}.nodes n ON n.authority_id = e.authority_id
          WHERE e.coordinator_id = "
    ));
    sql.push_bind(coordinator_id.to_string());
    q.filter.push(&mut sql, "e");
    if !q.statuses.is_empty() {
        sql.push(" AND n.status = ANY(")
            .push_bind(status_names(&q.statuses))
            .push(")");
    }
    if let Some(after) = &q.after {
        sql.push(" AND e.authority_id > ").push_bind(after.clone());
    }
    sql.push(" ORDER BY e.authority_id LIMIT ")
        .push_bind(q.limit.max(0));
    let ids: Vec<String> = sql.build_query_scalar().fetch_all(&mut *db).await?;
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let nodes = nodes_of(db, &ids).await?;
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT to_jsonb(e) FROM {NAME}.edges e WHERE e.authority_id = ANY("
    ));
    sql.push_bind(ids)
        .push(") AND e.coordinator_id = ")
        .push_bind(coordinator_id.to_string());
    q.filter.push(&mut sql, "e");
    sql.push(format!(" ORDER BY {EDGE_ORDER}"));
    let values: Vec<serde_json::Value> = sql.build_query_scalar().fetch_all(&mut *db).await?;
    let mut links: BTreeMap<String, Vec<Link>> = BTreeMap::new();
    for v in values {
        let link = Link::from(fold::decode::<EdgeRow>(v)?);
        links
            .entry(link.authority_id.clone())
            .or_default()
            .push(link);
    }
    Ok(nodes
        .into_iter()
        .map(|node| Child {
            links: links.remove(&node.authority_id).unwrap_or_default(),
            node,
        })
        .collect())
}

/// The coordinators above `authority_id`, followed upwards through links matching `filter`
/// (every kind of link when it is empty), nearest first.
pub async fn ancestors(
    db: &mut PgConnection,
    authority_id: &str,
    filter: &LinkFilter,
) -> Result<Ancestry, sqlx::Error> {
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new("WITH RECURSIVE up(id, depth) AS (SELECT ");
    sql.push_bind(authority_id.to_string())
        .push("::text, 0 UNION ")
        .push(format!(
            "SELECT e.coordinator_id, up.depth + 1 FROM up JOIN {NAME}.edges e
               ON e.authority_id = up.id WHERE up.depth < {MAX_DEPTH}"
        ));
    filter.push(&mut sql, "e");
    sql.push(") SELECT id, min(depth) FROM up WHERE id <> ")
        .push_bind(authority_id.to_string())
        .push(" GROUP BY id ORDER BY min(depth), id");
    let found: Vec<(String, i32)> = sql.build_query_as().fetch_all(&mut *db).await?;
    if found.is_empty() {
        return Ok(Ancestry::default());
    }
    let ids: Vec<String> = found.iter().map(|(id, _)| id.clone()).collect();
    let mut nodes: BTreeMap<String, Node> = nodes_of(db, &ids)
        .await?
        .into_iter()
        .map(|n| (n.authority_id.clone(), n))
        .collect();
    let ancestors = found
        .into_iter()
        .filter_map(|(id, depth)| nodes.remove(&id).map(|node| Ancestor { node, depth }))
        .collect();
    let mut from = ids.clone();
    from.push(authority_id.to_string());
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT to_jsonb(e) FROM {NAME}.edges e WHERE e.authority_id = ANY("
    ));
    sql.push_bind(from)
        .push(") AND e.coordinator_id = ANY(")
        .push_bind(ids)
        .push(")");
    filter.push(&mut sql, "e");
    sql.push(format!(" ORDER BY {EDGE_ORDER}"));
    let values: Vec<serde_json::Value> = sql.build_query_scalar().fetch_all(&mut *db).await?;
    let links = values
        .into_iter()
        .map(|v| fold::decode::<EdgeRow>(v).map(Link::from))
        .collect::<Result<_, _>>()?;
    Ok(Ancestry { ancestors, links })
}
