//! What every request handler can reach.

use imi_store::alert_bus::AlertBus;
use imi_store::authority_bus::AuthorityBus;
use imi_store::request_bus::RequestBus;
use imi_store::sealing::KeyRing;
use imi_store::wake::Wake;
use sqlx::PgPool;
use std::sync::Arc;

/// The gateway's dependencies, cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub pool: PgPool,
    /// Commands to authorities, decided with the store's lookup.
    pub authorities: Arc<AuthorityBus>,
    /// Commands to information requests, decided with the store's lookup and question sets.
    pub requests: Arc<RequestBus>,
    /// Commands to alerts, decided with the store's lookup and the areas' closure periods.
    pub alerts: Arc<AlertBus>,
    pub keyring: Arc<KeyRing>,
    /// Secret that signs bearer tokens (HS256).
    pub token_secret: Arc<Vec<u8>>,
    pub wake: Wake,
}
