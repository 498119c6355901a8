//! A command together with who issued it: aggregates check the actor against their own state
//! and the access policy before they emit anything.

use crate::actor::Actor;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Issued<C> {
    pub by: Actor,
    pub command: C,
}

impl<C> Issued<C> {
    pub fn new(by: Actor, command: C) -> Self {
        Self { by, command }
    }
}
