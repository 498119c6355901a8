//! What every request handler can reach: the application layer, and the secret that signs
//! bearer tokens.

use imi_app::App;
use std::sync::Arc;

/// The gateway's dependencies, cheap to clone. Derefs to the [`App`] its resolvers call.
#[derive(Clone)]
pub struct Services {
    /// Every use case, and what they run on.
    pub app: App,
    /// Secret that signs bearer tokens (HS256).
    pub token_secret: Arc<Vec<u8>>,
}

impl std::ops::Deref for Services {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}
