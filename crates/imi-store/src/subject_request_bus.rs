//! The command bus of the SubjectRequest aggregate (data subjects' requests), wired with the
//! store's lookup of the acting user's authority. No guard keys: a request's rules span only
//! its own events.

use crate::authority_lookup::StoreLookup;
use crate::commands::{AggregateConfig, CommandBus};
use crate::wake::Wake;
use imi_domain::subject_request::SubjectRequest;
use sqlx::PgPool;

/// The SubjectRequest aggregate as the store runs it.
pub type StoreSubjectRequest = SubjectRequest<StoreLookup>;

/// Sends commands to data subjects' requests.
pub type SubjectRequestBus = CommandBus<StoreSubjectRequest>;

/// The bus on `pool`, deciding with `lookup` (its clock included). A request has a handful
/// of events: no snapshots.
pub fn subject_request_bus(pool: PgPool, lookup: StoreLookup, wake: Wake) -> SubjectRequestBus {
    CommandBus::new(pool, AggregateConfig::default(), vec![], lookup, wake)
}
