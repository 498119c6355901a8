//! IMI read models: the projector runner (checkpoints, advisory locks, blue/green rebuild)
//! and the projections built from the global feed.

pub mod coordination;
pub mod directory;
mod fold;
pub mod i18n;
pub mod projection;
pub mod rebuild;
pub mod runner;
pub mod status;
pub mod text;
pub mod users;

pub use projection::{Projection, ProjectionError, Slot};

use std::sync::Arc;

/// Every projection the service maintains.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(directory::AuthorityDirectory),
        Arc::new(users::AuthorityUsers),
        Arc::new(coordination::Coordination),
    ]
}

/// Finds a projection by name.
pub fn by_name(name: &str) -> Option<Arc<dyn Projection>> {
    all().into_iter().find(|p| p.name() == name)
}
