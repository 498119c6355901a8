//! Who calls a use case, and how their writes tie to the client's request.

use crate::error::{AppError, AppResult};
use crate::App;
use imi_domain::access::{
    may_read, ActorContext, ReadKind, Reader, COMMISSION, NOT_REGISTERED, STATISTICS_ONLY,
};
use imi_domain::actor::Actor;
use imi_domain::reference::Language;
use imi_store::authority_lookup::StoreLookup;
use imi_store::metadata::CommandMetadata;
use std::sync::Arc;

/// A signed-in user acting for their authority, or the platform itself.
#[derive(Clone, Debug)]
pub struct Caller {
    pub actor: Actor,
    /// The language the caller reads.
    pub language: Language,
    /// The client's idempotency key for this request.
    pub idempotency_key: Option<String>,
    /// The client's correlation id, when it sent a usable one.
    pub correlation_id: Option<String>,
}

impl Caller {
    pub fn user(user_id: &str, authority_id: &str, language: Language) -> Self {
        Self {
            actor: Actor::User {
                user_id: user_id.to_string(),
                authority_id: authority_id.to_string(),
            },
            language,
            idempotency_key: None,
            correlation_id: None,
        }
    }

    /// The platform acting by itself (`process`: the scheduler, the seeder).
    pub fn system(process: &str, language: Language) -> Self {
        Self {
            actor: Actor::System {
                process: process.to_string(),
            },
            language,
            idempotency_key: None,
            correlation_id: None,
        }
    }

    pub fn with_idempotency_key(mut self, key: Option<String>) -> Self {
        self.idempotency_key = key;
        self
    }

    pub fn with_correlation_id(mut self, id: Option<String>) -> Self {
        self.correlation_id = id;
        self
    }

    /// The metadata of a command sent on this caller's behalf.
    pub fn metadata(&self) -> CommandMetadata {
        let mut metadata = CommandMetadata::for_actor(&self.actor)
            .with_idempotency_key(self.idempotency_key.clone());
        if let Some(correlation_id) = &self.correlation_id {
            metadata.correlation_id = correlation_id.clone();
        }
        metadata
    }

    /// The user and authority, for a signed-in user.
    pub fn user_ids(&self) -> Option<(&str, &str)> {
        match &self.actor {
            Actor::User {
                user_id,
                authority_id,
            } => Some((user_id, authority_id)),
            Actor::System { .. } => None,
        }
    }
}

impl App {
    /// The caller as the access policy sees them; `None` when their authority cannot be
    /// loaded (or the caller is the platform).
    pub async fn actor_context(&self, caller: &Caller) -> AppResult<Option<Arc<ActorContext>>> {
        let Some((user_id, authority_id)) = caller.user_ids() else {
            return Ok(None);
        };
        let summary = StoreLookup::new(self.reads.clone())
            .load(authority_id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e.0, "loading the caller's authority");
                AppError::new(crate::Code::Internal, "internal error")
            })?;
        Ok(summary.map(|s| Arc::new(ActorContext::new(user_id, s))))
    }

    /// The caller as a reader of figures (the European Commission's statistics reader, or a
    /// user as [`App::reader`] takes them), refused unless the policy lets it read statistics.
    pub async fn statistics_reader(&self, caller: &Caller) -> AppResult<Reader> {
        let reader = match caller.user_ids() {
            Some((user_id, COMMISSION)) => Reader::CommissionStatistics {
                user_id: user_id.to_string(),
            },
            _ => Reader::User(self.reader(caller).await?),
        };
        if !may_read(&reader, ReadKind::Statistics) {
            return Err(AppError::forbidden(
                "statistics are not readable by this caller",
            ));
        }
        Ok(reader)
    }

    /// The caller, able to act and read exchanges: an active user of a registered, validated
    /// authority (the Commission's statistics reader is none). The refusals are the
    /// domain's, worded once.
    pub async fn reader(&self, caller: &Caller) -> AppResult<Arc<ActorContext>> {
        if caller.user_ids().is_some_and(|(_, a)| a == COMMISSION) {
            return Err(AppError::forbidden(STATISTICS_ONLY));
        }
        let actor = self
            .actor_context(caller)
            .await?
            .ok_or_else(|| AppError::forbidden(NOT_REGISTERED))?;
        if let Some(denied) = actor.unable() {
            return Err(AppError::forbidden(denied.0));
        }
        Ok(actor)
    }
}
