//! Who is acting: a signed-in user of an authority, or the system itself (seeding, scheduler).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    /// The platform acting on its own behalf (loading reference data, the scheduler).
    System { process: String },
    /// A signed-in user acting for their authority.
    User {
        user_id: String,
        authority_id: String,
    },
}

impl Actor {
    pub fn system(process: &str) -> Self {
        Actor::System {
            process: process.to_string(),
        }
    }
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Actor::User { user_id, .. } => Some(user_id),
            Actor::System { .. } => None,
        }
    }
    pub fn authority_id(&self) -> Option<&str> {
        match self {
            Actor::User { authority_id, .. } => Some(authority_id),
            Actor::System { .. } => None,
        }
    }
}
