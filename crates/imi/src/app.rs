//! Wiring: the pool, the command buses, the key ring, and the roles a process runs (the
//! gateway, the projector runners, the mail sender, the scheduler).

use anyhow::Result;
use imi_app::App;
use imi_domain::authority::Clock;
use imi_gateway::Services;
use imi_notify::mail::Mailer;
use imi_notify::scheduler::Scheduler;
use imi_notify::sender::{Sender, SenderOptions};
use imi_projections::active::ActiveLocks;
use imi_projections::engine::Engine;
use imi_store::alert_bus::{alert_bus_with, SharedAlertServices};
use imi_store::authority_bus::{authority_bus_with, SharedServices};
use imi_store::authority_lookup::StoreLookup;
use imi_store::clock::AdjustableClock;
use imi_store::commands::AggregateConfig;
use imi_store::request_bus::{request_bus_with, SharedRequestServices};
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::training::{self, Mode};
use imi_store::wake::Wake;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Connections the pool opens at most (`IMI_DB_POOL`, `--db-pool`). Requests, the mail sender,
/// the scheduler and the projectors' batches share them; besides the pool a server holds one
/// connection for its projectors' active locks and one LISTEN connection: an idle server with
/// every role holds at most this plus two.
pub const DEFAULT_POOL_SIZE: u32 = 10;

/// Connections a gateway opens to its read replica at most (`IMI_READ_DB_POOL`).
pub const DEFAULT_READ_POOL_SIZE: u32 = 4;

/// The read replica at `url` (a streaming standby of the primary): a pool of at most `size`
/// connections, reads waiting at most `wait` for it to replay a client's write. It must answer
/// as a standby.
pub async fn replica(
    url: &str,
    size: u32,
    wait: Duration,
) -> Result<Arc<imi_store::replica::Replica>> {
    let pool = connect(url, size).await?;
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&pool)
        .await?;
    if !in_recovery {
        anyhow::bail!(
            "the read database is no standby (pg_is_in_recovery() is false): name a streaming \
             standby of the primary"
        );
    }
    Ok(Arc::new(imi_store::replica::Replica::new(pool, wait)))
}

/// How long a caller waits for a free connection before the request answers UNAVAILABLE.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A pool of at most `size` connections. One connection is opened first, alone, so that a
/// database refusing connections is named by its own error ("too many clients already"), not
/// hidden behind the pool's time-out.
pub async fn connect(url: &str, size: u32) -> Result<PgPool> {
    use anyhow::Context;
    use sqlx::Connection;
    let options = imi_store::pool::connect_options(url)?;
    let first = sqlx::PgConnection::connect_with(&options)
        .await
        .context("cannot connect to the database")?;
    first.close().await?;
    let options = options.statement_cache_capacity(STATEMENTS_KEPT);
    Ok(PgPoolOptions::new()
        .max_connections(size.max(2))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // Idle connections go back to the database after a while: a quiet server holds few.
        .idle_timeout(Duration::from_secs(60))
        .connect_lazy_with(options))
}

/// Prepared statements each connection keeps (sqlx keeps 100 unless told). The service runs
/// about 350 distinct statements (commands, projections, queries, the mail sender) over one
/// pool: with 100, a connection that served them all kept evicting statements and preparing
/// them again.
pub const STATEMENTS_KEPT: usize = 512;

/// Snapshots of the Authority aggregate every this many events (`IMI_SNAPSHOT_AUTHORITY`;
/// 0 turns them off). Authorities live long and collect many events.
pub fn authority_config() -> AggregateConfig {
    let every = std::env::var("IMI_SNAPSHOT_AUTHORITY")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(10);
    AggregateConfig {
        snapshot_every: (every > 0).then_some(every),
    }
}

/// Snapshots of the InformationRequest aggregate every this many events
/// (`IMI_SNAPSHOT_REQUEST`; 0 turns them off). A request has some tens of events.
pub fn request_config() -> AggregateConfig {
    let every = std::env::var("IMI_SNAPSHOT_REQUEST")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(20);
    AggregateConfig {
        snapshot_every: (every > 0).then_some(every),
    }
}

/// Snapshots of the Alert aggregate every this many events (`IMI_SNAPSHOT_ALERT`; 0 turns
/// them off).
pub fn alert_config() -> AggregateConfig {
    let every = std::env::var("IMI_SNAPSHOT_ALERT")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(10);
    AggregateConfig {
        snapshot_every: (every > 0).then_some(every),
    }
}

pub fn services(pool: PgPool, master: MasterKey, token_secret: &str, wake: Wake) -> Services {
    services_with_clock(
        pool,
        master,
        token_secret,
        wake,
        Arc::new(imi_domain::authority::SystemClock),
    )
}

/// As [`services`], with the aggregates deciding on `clock`.
pub fn services_with_clock(
    pool: PgPool,
    master: MasterKey,
    token_secret: &str,
    wake: Wake,
    clock: Arc<dyn Clock>,
) -> Services {
    let keyring = Arc::new(KeyRing::new(pool.clone(), master));
    Services {
        app: app_with_clock(pool, keyring, wake, clock),
        token_secret: Arc::new(token_secret.as_bytes().to_vec()),
    }
}

/// The application layer on `pool`, its aggregates deciding on `clock`.
pub fn app_with_clock(
    pool: PgPool,
    keyring: Arc<KeyRing>,
    wake: Wake,
    clock: Arc<dyn Clock>,
) -> App {
    let lookup = || StoreLookup::new(pool.clone()).with_clock(clock.clone());
    App::new(
        pool.clone(),
        Arc::new(authority_bus_with(
            pool.clone(),
            authority_config(),
            SharedServices::new(lookup()),
            wake.clone(),
        )),
        Arc::new(request_bus_with(
            pool.clone(),
            request_config(),
            SharedRequestServices::new(lookup()),
            wake.clone(),
        )),
        Arc::new(alert_bus_with(
            pool.clone(),
            alert_config(),
            SharedAlertServices::new(lookup()),
            wake.clone(),
        )),
        keyring,
        wake,
        clock,
    )
}

/// Prepares the database for `mode`. Production refuses a database that ever ran in training
/// mode (training data never become production data). Training marks the database so, forever,
/// and returns the clock to run on: it follows the database's offset (moved by any process or
/// by `imi clock advance`) and wakes this process's scheduler when it moves.
pub async fn mode_clock(
    pool: &PgPool,
    mode: Mode,
    wake: &Wake,
) -> Result<Option<Arc<AdjustableClock>>> {
    match mode {
        Mode::Production => {
            if let Some(state) = training::state(pool).await? {
                anyhow::bail!(
                    "this database ran in training mode (since {}, clock {}): production mode \
                     refuses to start on it, so that training data never become production \
                     data; use a fresh database for production",
                    state.since,
                    training::describe(state.offset)
                );
            }
            Ok(None)
        }
        Mode::Training => {
            let state = training::enter(pool).await?;
            let clock = Arc::new(AdjustableClock::new());
            clock.catch_up(state.offset);
            let wake = wake.clone();
            training::follow(pool.clone(), clock.clone(), move || wake.nudge());
            Ok(Some(clock))
        }
    }
}

/// [`services`] in `mode` (see [`mode_clock`]).
pub async fn services_in(
    pool: PgPool,
    master: MasterKey,
    token_secret: &str,
    wake: Wake,
    mode: Mode,
) -> Result<Services> {
    Ok(match mode_clock(&pool, mode, &wake).await? {
        Some(clock) => {
            let services = services_with_clock(pool, master, token_secret, wake, clock.clone());
            Services {
                app: services.app.with_training(clock),
                ..services
            }
        }
        None => services(pool, master, token_secret, wake),
    })
}

/// The gateway as the binary deploys it: `/ready` waits for every projection this build has.
pub fn router(services: Services, mut options: imi_gateway::server::Options) -> axum::Router {
    options.projections = imi_projections::all()
        .iter()
        .map(|p| p.name().to_string())
        .collect();
    imi_gateway::router_with(services, options)
}

/// What a process does; `imi serve --roles` picks some, by default all. Each is safe to run in
/// several processes on one database: gateways share nothing, projectors and the scheduler
/// stand by behind advisory locks, senders claim mails one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Role {
    /// GraphQL over HTTP and websockets, /health, /ready, /metrics.
    Gateway,
    /// The projector runners building the read models.
    Projectors,
    /// The mail sender.
    Sender,
    /// The scheduler acting on time rules.
    Scheduler,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Gateway,
        Role::Projectors,
        Role::Sender,
        Role::Scheduler,
    ];
}

/// How the background roles run.
pub struct Options {
    pub roles: Vec<Role>,
    pub mailer: Option<Mailer>,
    pub sender: SenderOptions,
    /// The scheduler's tick; `None`: its default.
    pub scheduler_tick: Option<Duration>,
    /// With the projectors and a translation engine: how often the title filler translates
    /// informal titles into the missing languages (also after each wake-up, at most this
    /// often); `None`: it does not run here.
    pub titles_every: Option<Duration>,
    /// The projection engine's lanes ([`Engine::with_lanes`]).
    pub projection_lanes: usize,
    /// Events read by a round after which the engine's next round runs its lanes as one
    /// ([`Engine::with_merge_at`]; 0: never).
    pub projection_merge_at: usize,
}

impl Options {
    pub fn new(roles: &[Role], mailer: Option<Mailer>) -> Self {
        Self {
            roles: roles.to_vec(),
            mailer,
            sender: SenderOptions::default(),
            scheduler_tick: None,
            titles_every: Some(Duration::from_secs(30)),
            projection_lanes: imi_projections::engine::DEFAULT_LANES,
            projection_merge_at: imi_projections::engine::MERGE_AT,
        }
    }

    fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// The background roles of a process (projectors, sender, scheduler), running until
/// [`Background::shutdown`].
pub struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    runners: Vec<JoinHandle<()>>,
    sender: Option<(tokio::sync::watch::Sender<bool>, JoinHandle<()>)>,
    scheduler: Option<JoinHandle<()>>,
    titles: Option<JoinHandle<()>>,
}

/// Runs the title filler every `every` (after a wake-up, at most that often) until stopped.
fn spawn_title_filler(
    services: &Services,
    every: Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> JoinHandle<()> {
    let app = services.app.clone();
    tokio::spawn(async move {
        loop {
            match app.fill_machine_titles().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(titles = n, "informal titles machine-translated"),
                Err(e) => tracing::warn!(error = %e.message, "title filler"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
        }
    })
}

/// Starts the background roles of `options` on `services`. The projector runners share one
/// lock connection and the process's one LISTEN (see [`Wake::listen`]).
pub fn start(services: &Services, options: Options) -> Result<Background> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let titles_every = options
        .titles_every
        .filter(|_| options.has(Role::Projectors) && services.app.translation.is_some());
    // Every role listens: the gateway too, for the projections' progress its `waitFor`
    // waits on.
    services.wake.listen(services.pool.clone());
    let runners = if options.has(Role::Projectors) {
        spawn_runners(
            &services.pool,
            &services.wake,
            &stopped,
            options.projection_lanes,
            options.projection_merge_at,
        )
    } else {
        Vec::new()
    };
    let sender = if options.has(Role::Sender) {
        let Some(mailer) = options.mailer else {
            anyhow::bail!("the sender role needs a mailer");
        };
        Some(spawn_sender(services, mailer, options.sender))
    } else {
        None
    };
    let scheduler = options.roles.contains(&Role::Scheduler).then(|| {
        let mut scheduler = imi_app::scheduled::Scheduled::routes(&services.app)
            .into_iter()
            .fold(
                Scheduler::new(services.pool.clone(), services.clock.clone())
                    .erasing(services.keyring.as_ref().clone()),
                |s, (aggregate, dispatch)| s.route(aggregate, dispatch),
            );
        if let Some(tick) = options.scheduler_tick {
            scheduler.tick = tick;
        }
        let (wake, stopped) = (services.wake.subscribe(), stopped.clone());
        tokio::spawn(async move {
            scheduler.run(wake, stopped).await;
            tracing::info!("scheduler stopped");
        })
    });
    let titles = titles_every.map(|every| spawn_title_filler(services, every, stopped.clone()));
    Ok(Background {
        stop,
        runners,
        sender,
        scheduler,
        titles,
    })
}

impl Background {
    /// Stops the mail sender (as a stopping process does: between two mails), leaving the rest
    /// running.
    pub async fn stop_sender(&mut self) {
        if let Some((stop, task)) = self.sender.take() {
            let _ = stop.send(true);
            let _ = task.await;
        }
    }

    /// Starts a mail sender (again), as a new process would.
    pub fn start_sender(&mut self, services: &Services, mailer: Mailer, options: SenderOptions) {
        if self.sender.is_none() {
            self.sender = Some(spawn_sender(services, mailer, options));
        }
    }

    /// Stops every role and waits: runners after their batch, the sender between two mails,
    /// the scheduler between two deadlines.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.stop_sender().await;
        for task in self
            .runners
            .drain(..)
            .chain(self.scheduler.take())
            .chain(self.titles.take())
        {
            let _ = task.await;
        }
    }
}

/// Dropped without [`Background::shutdown`] (a test's end): the roles are still told to stop,
/// so none keeps polling a closed stop signal.
impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some((stop, _)) = &self.sender {
            let _ = stop.send(true);
        }
    }
}

/// Starts a mail sender: its stop signal and its task.
pub fn spawn_sender(
    services: &Services,
    mailer: Mailer,
    options: SenderOptions,
) -> (tokio::sync::watch::Sender<bool>, JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let name = format!(
        "{}:{}:{}",
        hostname(),
        std::process::id(),
        uuid::Uuid::new_v4()
    );
    let sender = Sender::new(
        services.pool.clone(),
        services.keyring.clone(),
        mailer,
        &name,
    )
    .with_options(options);
    let sender = match &services.training {
        Some(clock) => sender.in_training(clock.clone()),
        None => sender,
    };
    let wake = services.wake.subscribe();
    let task = tokio::spawn(async move {
        sender.run(wake, stopped).await;
        tracing::info!("mail sender stopped");
    });
    (stop, task)
}

/// The projections a mutation waits for by default, each set kept in one lane of the engine: a
/// waiting client is released by one lane's commit, not by the last of several. The other
/// projections that fold requests join the requests' lane, where one fold of a batch serves
/// them all.
fn lane_groups() -> Vec<Vec<&'static str>> {
    let mut requests: Vec<&'static str> = imi_app::requests::DEFAULT_WAIT.to_vec();
    let folding = imi_projections::all()
        .into_iter()
        .filter(|p| p.aggregate_types() == Some(&[imi_projections::request_fold::REQUEST][..]))
        .map(|p| p.name());
    for name in imi_app::subject_requests::DEFAULT_WAIT
        .into_iter()
        .chain(folding)
    {
        if !requests.contains(&name) {
            requests.push(name);
        }
    }
    vec![requests, imi_app::alerts::DEFAULT_WAIT.to_vec()]
}

/// The process's projection engine (see [`Engine`]), restarted after an error, woken by the
/// process's one LISTEN; it returns after its batch once `stop` turns true.
fn spawn_runners(
    pool: &PgPool,
    wake: &Wake,
    stop: &tokio::sync::watch::Receiver<bool>,
    lanes: usize,
    merge_at: usize,
) -> Vec<JoinHandle<()>> {
    let locks = Arc::new(ActiveLocks::new(pool.clone()));
    let (pool, wake, stop) = (pool.clone(), wake.clone(), stop.clone());
    vec![tokio::spawn(async move {
        loop {
            let engine = Engine::new(pool.clone(), imi_projections::all())
                .with_wake(wake.subscribe())
                .with_locks(locks.clone())
                .with_lanes(lanes)
                .with_merge_at(merge_at)
                .with_lane_groups(lane_groups())
                .with_stop(stop.clone());
            match engine.run().await {
                Ok(()) => return,
                Err(error) => {
                    tracing::error!(%error, "projection engine failed; restarting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    })]
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "imi".to_string())
}
