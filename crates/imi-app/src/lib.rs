//! The IMI application layer: every use case once, between the interfaces (the GraphQL
//! gateway, the `imi` command, the seeder, the scheduler) and the event store and read models.
//!
//! - A command's way ([`App::execute`]): check the text input, seal personal data under the
//!   exchange's key, run the command with the caller's metadata, count it, wait for the named
//!   projections, map errors the same way for every aggregate.
//! - A query's way: load the read model, take the caller's level from the domain's policy,
//!   shape the view with the domain's declared visibility rules, and open personal data only at
//!   the level that shows them. Nothing else opens personal data.
//!
//! Views are plain structs; an interface maps them to its own types. An exchange, authority,
//! user or attachment the caller may not see answers exactly as an unknown one.

pub mod alerts;
pub mod as_of;
pub mod attachments;
pub mod authorities;
pub mod caller;
pub mod coordination;
pub mod credentials;
pub mod data_protection;
pub mod directory;
pub mod dispatch;
pub mod error;
pub mod history;
pub mod input;
pub mod invitations;
pub mod notifications;
pub mod opening;
pub mod reference;
pub mod registration;
pub mod requests;
pub mod scheduled;
pub mod scoreboard;
pub mod sign_in;
pub mod subject_alerts;
pub mod subject_requests;
pub mod titles;
pub mod training;
pub mod translation;
pub mod users;

pub use caller::Caller;
pub use dispatch::{Outcome, Wait};
pub use error::{AppError, AppResult, Code};

use imi_domain::authority::Clock;
use imi_store::alert_bus::AlertBus;
use imi_store::authority_bus::AuthorityBus;
use imi_store::request_bus::RequestBus;
use imi_store::sealing::KeyRing;
use imi_store::subject_request_bus::SubjectRequestBus;
use imi_store::wake::Wake;
use sqlx::PgPool;
use std::sync::Arc;

/// Counts each command by aggregate, command and outcome, with how long it took (the
/// interface's metrics).
pub type CommandCounter =
    Arc<dyn Fn(&'static str, &'static str, &'static str, std::time::Duration) + Send + Sync>;

/// What the use cases run on; cheap to clone.
#[derive(Clone)]
pub struct App {
    /// The primary: commands, writes, and every read a command decides on.
    pub pool: PgPool,
    /// Where queries read the read models: the primary, or a request's read replica
    /// ([`App::reading_from`]); never written to.
    pub reads: PgPool,
    /// The streaming standby queries may read from (`IMI_READ_DATABASE_URL`).
    pub replica: Option<Arc<imi_store::replica::Replica>>,
    /// Commands to authorities, decided with the store's lookup.
    pub authorities: Arc<AuthorityBus>,
    /// Commands to information requests.
    pub requests: Arc<RequestBus>,
    /// Commands to alerts.
    pub alerts: Arc<AlertBus>,
    /// Commands to data subjects' requests (deciding on the same clock).
    pub subjects: Arc<SubjectRequestBus>,
    pub keyring: Arc<KeyRing>,
    pub wake: Wake,
    /// The time the aggregates decide by (the system clock; tests move their own).
    pub clock: Arc<dyn Clock>,
    /// In training mode, the clock a trainer moves (the same as `clock`); `None` in production.
    pub training: Option<Arc<imi_store::clock::AdjustableClock>>,
    /// Machine translation (`None`: not configured; translations answer unavailable).
    pub translation: Option<Arc<translation::Translator>>,
    counter: Option<CommandCounter>,
}

impl App {
    pub fn new(
        pool: PgPool,
        authorities: Arc<AuthorityBus>,
        requests: Arc<RequestBus>,
        alerts: Arc<AlertBus>,
        keyring: Arc<KeyRing>,
        wake: Wake,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let subjects = Arc::new(imi_store::subject_request_bus::subject_request_bus(
            pool.clone(),
            imi_store::authority_lookup::StoreLookup::new(pool.clone()).with_clock(clock.clone()),
            wake.clone(),
        ));
        Self {
            reads: pool.clone(),
            replica: None,
            pool,
            authorities,
            requests,
            alerts,
            subjects,
            keyring,
            wake,
            clock,
            training: None,
            translation: None,
            counter: None,
        }
    }

    /// An application on `pool` whose buses have the default configuration (no snapshots) and
    /// look authorities up in the store: for tests and tools that need no tuning.
    pub fn on_pool(pool: PgPool, keyring: KeyRing, wake: Wake, clock: Arc<dyn Clock>) -> Self {
        use imi_store::commands::AggregateConfig;
        let config = AggregateConfig::default;
        Self::new(
            pool.clone(),
            Arc::new(imi_store::authority_bus::authority_bus(
                pool.clone(),
                config(),
                wake.clone(),
            )),
            Arc::new(imi_store::request_bus::request_bus(
                pool.clone(),
                config(),
                wake.clone(),
            )),
            Arc::new(imi_store::alert_bus::alert_bus(
                pool.clone(),
                config(),
                wake.clone(),
            )),
            Arc::new(keyring),
            wake,
            clock,
        )
    }

    /// Runs in training mode on `clock`, which a trainer moves forward.
    pub fn with_training(mut self, clock: Arc<imi_store::clock::AdjustableClock>) -> Self {
        self.clock = clock.clone();
        self.training = Some(clock);
        self
    }

    /// Translates through `translator`.
    pub fn with_translation(mut self, translator: Arc<translation::Translator>) -> Self {
        self.translation = Some(translator);
        self
    }

    /// Queries may read from `replica` (see [`App::reading_from`]).
    pub fn with_replica(mut self, replica: Arc<imi_store::replica::Replica>) -> Self {
        self.replica = Some(replica);
        self
    }

    /// This application with its queries reading the read models from `reads` (a replica
    /// that has replayed what the caller must see); writes stay on the primary.
    pub fn reading_from(&self, reads: PgPool) -> Self {
        Self {
            reads,
            ..self.clone()
        }
    }

    /// Counts every command through `counter`.
    pub fn with_counter(mut self, counter: CommandCounter) -> Self {
        self.counter = Some(counter);
        self
    }
}
