//! The metadata every event carries: who acted, for which authority, and how this change
//! relates to the client's request (correlation, causation, idempotency key, reason).

use imi_domain::actor::Actor;
use std::collections::HashMap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandMetadata {
    /// `user:<id>` for a signed-in user, `system:<process>` for the platform itself.
    pub acting_user: String,
    pub acting_authority: Option<String>,
    /// Ties together every event caused by one client request.
    pub correlation_id: String,
    /// The event or request that caused this command.
    pub causation_id: Option<String>,
    /// The client's idempotency key for the request, if it sent one.
    pub idempotency_key: Option<String>,
    /// The reason the workflow asks for (withdrawal, send-back, ...).
    pub reason: Option<String>,
}

impl CommandMetadata {
    /// Metadata for a fresh request by `actor`, with a new correlation id.
    pub fn for_actor(actor: &Actor) -> Self {
        let (acting_user, acting_authority) = match actor {
            Actor::System { process } => (format!("system:{process}"), None),
            Actor::User {
                user_id,
                authority_id,
            } => (format!("user:{user_id}"), Some(authority_id.clone())),
        };
        Self {
            acting_user,
            acting_authority,
            correlation_id: uuid::Uuid::now_v7().to_string(),
            ..Self::default()
        }
    }

    pub fn with_idempotency_key(mut self, key: Option<String>) -> Self {
        self.idempotency_key = key;
        self
    }

    pub fn with_reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason;
        self
    }

    pub fn into_map(self) -> HashMap<String, String> {
        let mut map = HashMap::from([
            ("acting_user".to_string(), self.acting_user),
            ("correlation_id".to_string(), self.correlation_id),
        ]);
        let optional = [
            ("acting_authority", self.acting_authority),
            ("causation_id", self.causation_id),
            ("idempotency_key", self.idempotency_key),
            ("reason", self.reason),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                map.insert(key.to_string(), value);
            }
        }
        map
    }
}
