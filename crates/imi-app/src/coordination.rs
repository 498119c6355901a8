//! The coordination tree: who coordinates whom (inviting, validating, access and linked
//! coordinators), downwards from a coordinator or a Member State's national coordinator and
//! upwards from an authority. An authority whose coordination tree the caller may not see
//! (`AuthorityView::CoordinationTree`) is left out, and so are the links that name it.

use crate::caller::Caller;
use crate::directory::{may, AuthorityRead};
use crate::error::{AppError, AppResult};
use crate::App;
use imi_domain::access::{ActorContext, AuthorityView};
use imi_domain::authority::AuthorityKind;
use imi_domain::reference::{Language, MemberState};
use imi_projections::coordination::{self as tree, ChildrenQuery};
use imi_projections::directory::{self, DirectoryEntry, DirectoryQuery, ReadOptions, Visibility};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use imi_projections::coordination::{Link, LinkFilter, Relation};

/// Refused to a caller who may not see an authority's coordination tree.
pub const TREE_HIDDEN: &str = "you may not see this authority's coordination tree";

/// A Member State's coordination tree: its national coordinator, and who reads it.
#[derive(Clone, Debug)]
pub struct TreeView {
    pub root: AuthorityRead,
    /// The reader, for the pages of children below the root.
    pub reader: Option<Arc<ActorContext>>,
}

/// An authority a coordinator coordinates, with the links that say how.
#[derive(Clone, Debug)]
pub struct ChildView {
    pub authority: AuthorityRead,
    pub links: Vec<Link>,
}

/// A page of a coordinator's children, ordered by authority id.
#[derive(Clone, Debug)]
pub struct ChildrenPage {
    pub children: Vec<ChildView>,
    pub has_next_page: bool,
}

/// A coordinator above an authority, `depth` links up (1: a direct coordinator).
#[derive(Clone, Debug)]
pub struct AncestorView {
    pub authority: AuthorityRead,
    pub depth: i32,
}

/// The coordinators above an authority, nearest first, and the links between them.
#[derive(Clone, Debug)]
pub struct AncestryView {
    pub ancestors: Vec<AncestorView>,
    pub links: Vec<Link>,
}

fn tree_error(e: sqlx::Error) -> AppError {
    AppError::database("reading the coordination tree", &e)
}

impl App {
    /// The directory entries of `ids` whose coordination tree `reader` may see, by id.
    async fn tree_entries(
        &self,
        ids: &[String],
        language: &Language,
        reader: Option<&ActorContext>,
    ) -> AppResult<BTreeMap<String, DirectoryEntry>> {
        let options = ReadOptions {
            visibility: Visibility::IncludingAwaitingValidation,
            language: Some(language.code().to_string()),
        };
        let entries = directory::get_many(&self.reads, ids, &options)
            .await
            .map_err(|e| AppError::database("reading authorities", &e))?;
        Ok(entries
            .into_iter()
            .filter(|e| may(reader, e, AuthorityView::CoordinationTree))
            .map(|e| (e.authority_id.clone(), e))
            .collect())
    }

    /// A Member State's coordination tree, from its national IMI coordinator; `None` when it
    /// has none the caller may see.
    pub async fn coordination_tree(
        &self,
        caller: &Caller,
        member_state: &MemberState,
        language: &Language,
    ) -> AppResult<Option<TreeView>> {
        let query = DirectoryQuery {
            member_state: Some(member_state.code().to_string()),
            kind: Some(AuthorityKind::NationalCoordinator),
            language: Some(language.code().to_string()),
            limit: 1,
            ..Default::default()
        };
        let root = directory::find(&self.reads, &query)
            .await
            .map_err(|e| AppError::database("reading the directory", &e))?
            .pop();
        let reader = self.actor_context(caller).await?;
        let Some(root) = root else {
            return Ok(None);
        };
        if !may(reader.as_deref(), &root, AuthorityView::CoordinationTree) {
            return Ok(None);
        }
        Ok(Some(TreeView {
            root: AuthorityRead::for_reader(root, reader.as_deref()),
            reader,
        }))
    }

    /// The authorities `coordinator_id` coordinates through links matching `filter`, after
    /// the authority id `after`, at most `limit`, as `reader` (see [`App::actor_context`])
    /// may see them.
    pub async fn coordination_children(
        &self,
        reader: Option<&ActorContext>,
        coordinator_id: &str,
        filter: LinkFilter,
        after: Option<String>,
        limit: i64,
        language: &Language,
    ) -> AppResult<ChildrenPage> {
        let limit = limit.max(0);
        let mut children = if limit == 0 {
            Vec::new()
        } else {
            let mut conn = imi_store::pool::acquire(&self.reads)
                .await
                .map_err(tree_error)?;
            let query = ChildrenQuery {
                filter,
                statuses: Vec::new(),
                after,
                limit: limit + 1,
            };
            tree::children(&mut conn, coordinator_id, &query)
                .await
                .map_err(tree_error)?
        };
        let has_next_page = children.len() as i64 > limit;
        children.truncate(limit as usize);
        let ids: Vec<String> = children
            .iter()
            .map(|c| c.node.authority_id.clone())
            .collect();
        let mut entries = self.tree_entries(&ids, language, reader).await?;
        let children = children
            .into_iter()
            .filter_map(|child| {
                let entry = entries.remove(&child.node.authority_id)?;
                Some(ChildView {
                    authority: AuthorityRead::for_reader(entry, reader),
                    links: child.links,
                })
            })
            .collect();
        Ok(ChildrenPage {
            children,
            has_next_page,
        })
    }

    /// The coordinators above `authority_id` through links matching `filter`, nearest first,
    /// and the links between them. FORBIDDEN when the caller may not see its coordination
    /// tree; NOT_FOUND when the directory does not list it.
    pub async fn coordination_ancestors(
        &self,
        caller: &Caller,
        authority_id: &str,
        filter: &LinkFilter,
        language: &Language,
    ) -> AppResult<AncestryView> {
        let reader = self.actor_context(caller).await?;
        let options = ReadOptions {
            visibility: Visibility::IncludingAwaitingValidation,
            language: None,
        };
        let target = directory::get_with(&self.reads, authority_id, &options)
            .await
            .map_err(|e| AppError::database("reading an authority", &e))?
            .ok_or_else(|| AppError::not_found(crate::directory::NO_SUCH_AUTHORITY))?;
        if !may(reader.as_deref(), &target, AuthorityView::CoordinationTree) {
            return Err(AppError::forbidden(TREE_HIDDEN));
        }
        let mut conn = imi_store::pool::acquire(&self.reads)
            .await
            .map_err(tree_error)?;
        let ancestry = tree::ancestors(&mut conn, authority_id, filter)
            .await
            .map_err(tree_error)?;
        drop(conn);
        let ids: Vec<String> = ancestry
            .ancestors
            .iter()
            .map(|a| a.node.authority_id.clone())
            .collect();
        let mut entries = self.tree_entries(&ids, language, reader.as_deref()).await?;
        let shown = |id: &str| id == authority_id || entries.contains_key(id);
        let links = ancestry
            .links
            .into_iter()
            .filter(|l| shown(&l.authority_id) && shown(&l.coordinator_id))
            .collect();
        let ancestors = ancestry
            .ancestors
            .into_iter()
            .filter_map(|a| {
                let entry = entries.remove(&a.node.authority_id)?;
                Some(AncestorView {
                    authority: AuthorityRead::for_reader(entry, reader.as_deref()),
                    depth: a.depth,
                })
            })
            .collect();
        Ok(AncestryView { ancestors, links })
    }
}
