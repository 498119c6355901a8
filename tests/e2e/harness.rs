//! The service as a client sees it: a migrated fresh database, and the binary's own wiring
//! (`imi::app`: every role, a pool of the binary's default size) serving the gateway on a free
//! port.

use futures::{SinkExt, StreamExt};
use imi::app::{self, Role};
use imi_domain::actor::Actor;
use imi_domain::authority::{user_key_id, AuthorityCommand, NewUser};
use imi_domain::command::Issued;
use imi_domain::reference::{Language, MemberState};
use imi_gateway::Services;
use imi_notify::mail::Mailer;
use imi_notify::sender::SenderOptions;
use imi_store::clock::AdjustableClock;
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::MasterKey;
use imi_store::training::Mode;
use imi_store::wake::Wake;
use imi_testkit::smtp::SmtpServer;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const TOKEN_SECRET: &str = "e2e-token-secret-of-at-least-32-bytes";

pub struct Service {
    pub base: String,
    pub services: Services,
    /// The SMTP server the service mails to.
    pub smtp: SmtpServer,
    /// The mail sender, as a restartable process part.
    sender: std::sync::Mutex<Option<RunningSender>>,
    /// The clock the aggregates and the scheduler decide by.
    pub clock: Arc<AdjustableClock>,
    http: reqwest::Client,
    /// The projectors and the scheduler, stopped with the service.
    _background: app::Background,
    /// The streaming standby queries read from ([`start_with_replica`]), stopped and removed
    /// with the service, also when a test fails.
    pub standby: Option<imi_localpg::standby::Standby>,
}

/// A user of a seeded authority, with the password set for it.
pub struct Account {
    pub authority_id: String,
    pub user_id: String,
    pub login: String,
    pub password: String,
}

/// Starts the service on a fresh database.
pub async fn start() -> Service {
    start_in(Mode::Production).await
}

/// Starts the service on a fresh database in `mode` (training: the database is marked so and
/// the clock follows its offset).
pub async fn start_in(mode: Mode) -> Service {
    launch(mode, false, None).await.0
}

/// Starts the service with a read replica: a streaming standby of the test server, copied
/// once the fresh database is migrated, that GraphQL queries read from; a read waits at most
/// `max_wait` for it to replay the client's write.
pub async fn start_with_replica(max_wait: Duration) -> Service {
    launch(Mode::Production, false, Some(max_wait)).await.0
}

/// Starts the service after seeding the demo, in the order `imi serve` does: before the
/// scheduler runs. The demo's story lies in the past, so a scheduler already running would
/// end its periods under it (an objection then comes too late).
pub async fn start_with_demo() -> (Service, imi::seed::SeedReport) {
    let (service, report) = launch(Mode::Production, true, None).await;
    (service, report.expect("the demo seed"))
}

async fn launch(
    mode: Mode,
    demo: bool,
    replica: Option<Duration>,
) -> (Service, Option<imi::seed::SeedReport>) {
    let db = imi_testkit::fresh_database().await;
    imi_store::migrate(&db.pool).await.expect("migrate");
    let reference = imi_store::reference::ReferenceData::bundled().expect("reference data");
    imi_store::reference::load(&db.pool, &reference)
        .await
        .expect("load the reference data");
    db.pool.close().await;
    let standby = match replica {
        Some(_) => Some(start_standby().await),
        None => None,
    };
    let pool = app::connect(&db.url, app::DEFAULT_POOL_SIZE)
        .await
        .expect("a pool on the test database");
    let wake = Wake::with_notify(pool.clone());
    let training = app::mode_clock(&pool, mode, &wake)
        .await
        .expect("the mode's clock");
    let clock = training
        .clone()
        .unwrap_or_else(|| Arc::new(AdjustableClock::new()));
    let services = app::services_with_clock(
        pool.clone(),
        MasterKey::generate(),
        TOKEN_SECRET,
        wake,
        clock.clone(),
    );
    let services = match training {
        Some(clock) => Services {
            app: services.app.with_training(clock),
            ..services
        },
        None => services,
    };
    // Apertium, started only when a test translates (one server for this test binary).
    let translator =
        imi_app::translation::Translator::new(Some(Arc::new(LazyApertium::default())), None, false);
    let services = Services {
        app: services.app.with_translation(Arc::new(translator)),
        ..services
    };
    let services = match (&standby, replica) {
        (Some(standby), Some(max_wait)) => {
            let replica = app::replica(&standby.url(&db_user(&db.url), &db.name), 2, max_wait)
                .await
                .expect("a pool on the standby");
            Services {
                app: services.app.with_replica(replica),
                ..services
            }
        }
        _ => services,
    };
    let report = if demo {
        let seeded = imi::seed::seed(&services.app, true).await;
        Some(seeded.expect("the demo seed"))
    } else {
        None
    };
    // Every role but the sender, which the tests stop and start; polling quickly so the tests
    // need not wait.
    let mut options = app::Options::new(&[Role::Gateway, Role::Projectors, Role::Scheduler], None);
    options.scheduler_tick = Some(Duration::from_millis(50));
    // The title filler runs only where a test calls it (`fill_machine_titles`).
    options.titles_every = None;
    let background = app::start(&services, options).expect("the background roles");
    let smtp = SmtpServer::start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = app::router(services.clone(), Default::default())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let service = Service {
        base: format!("http://{addr}"),
        services,
        sender: std::sync::Mutex::new(None),
        smtp,
        clock,
        http: reqwest::Client::new(),
        _background: background,
        standby,
    };
    service.start_sender();
    (service, report)
}

/// A streaming standby of the test server (host, port and user of its URL).
async fn start_standby() -> imi_localpg::standby::Standby {
    use sqlx::postgres::PgConnectOptions;
    let options: PgConnectOptions = imi_testkit::server_url().parse().expect("the server URL");
    let (host, port, user) = (
        options.get_host().to_string(),
        options.get_port(),
        options.get_username().to_string(),
    );
    tokio::task::spawn_blocking(move || imi_localpg::standby::Standby::start(&host, port, &user))
        .await
        .expect("the standby's start")
        .expect("a streaming standby (the server must accept replication from 127.0.0.1)")
}

/// The user a database URL connects as.
fn db_user(url: &str) -> String {
    let options: sqlx::postgres::PgConnectOptions = url.parse().expect("a database URL");
    options.get_username().to_string()
}

/// A running mail sender: its stop signal and its task.
type RunningSender = (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
);

impl Service {
    /// Starts a mail sender (as a new process would), polling quickly.
    pub fn start_sender(&self) {
        let mailer = Mailer::smtp(&self.smtp.url(), "IMI <no-reply@imi.test>").expect("mailer");
        let running = app::spawn_sender(
            &self.services,
            mailer,
            SenderOptions {
                idle_poll: Duration::from_millis(50),
                ..SenderOptions::default()
            },
        );
        *self.sender.lock().expect("sender") = Some(running);
    }

    /// Stops the mail sender as a shutting-down process does: between two mails.
    pub async fn stop_sender(&self) {
        let running = self.sender.lock().expect("sender").take();
        if let Some((stop, task)) = running {
            let _ = stop.send(true);
            task.await.expect("the sender stopped cleanly");
        }
    }

    /// Registers a Member State's National IMI Coordinator from reference data (as `imi seed`
    /// does) and gives its first user, its local data administrator, a password.
    pub async fn seed_national_coordinator(
        &self,
        member_state: &str,
        official_name: &str,
    ) -> Account {
        let ms = member_state.to_ascii_lowercase();
        let account = Account {
            authority_id: format!("nimic-{ms}"),
            user_id: format!("user-nimic-{ms}-lda"),
            login: format!("{ms}.nimic"),
            password: format!("{ms}-coordinator-password"),
        };
        let identity = self
            .services
            .keyring
            .seal(
                &user_key_id(&account.user_id),
                &json!({ "name": format!("IMI desk {member_state}"), "login": account.login }),
            )
            .await
            .expect("seal the identity");
        let system = Actor::system("test");
        self.services
            .authorities
            .execute(
                &account.authority_id,
                Issued::new(
                    system.clone(),
                    AuthorityCommand::RegisterNationalCoordinator {
                        member_state: MemberState::parse(member_state).expect("member state"),
                        official_name: official_name.to_string(),
                        informal_titles: BTreeMap::from([(
                            Language::parse("en").expect("en"),
                            format!("IMI coordinator {member_state}"),
                        )]),
                        first_user: NewUser {
                            user_id: account.user_id.clone(),
                            identity,
                        },
                    },
                ),
                CommandMetadata::for_actor(&system),
            )
            .await
            .expect("register the coordinator");
        imi_store::credentials::set(
            &self.services.pool,
            &account.user_id,
            &account.authority_id,
            &account.login,
            &account.password,
        )
        .await
        .expect("set the password");
        account
    }

    /// POSTs a GraphQL request as a client would; returns the JSON answer.
    pub async fn graphql(
        &self,
        token: Option<&str>,
        accept_language: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(language) = accept_language {
            request = request.header("accept-language", language);
        }
        let response = request.send().await.expect("send");
        assert!(
            response.status().is_success(),
            "HTTP {} for {query}",
            response.status()
        );
        response.json().await.expect("a JSON answer")
    }

    /// Opens a `graphql-transport-ws` connection and completes its handshake with `token`.
    pub async fn subscriptions(&self, token: &str) -> Subscriptions {
        subscriptions_at(&self.base, token).await
    }
}

/// A graphql-transport-ws connection to the gateway at `base` (`http://host:port`), signed in
/// with `token`.
pub async fn subscriptions_at(base: &str, token: &str) -> Subscriptions {
    let url = format!("{}/graphql/ws", base.replace("http://", "ws://"));
    let mut request = url.into_client_request().expect("ws request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("open the websocket");
    let mut subscriptions = Subscriptions { ws };
    subscriptions
        .send(json!({
            "type": "connection_init",
            "payload": { "Authorization": format!("Bearer {token}") },
        }))
        .await;
    let ack = subscriptions.receive().await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    subscriptions
}

pub struct Subscriptions {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Subscriptions {
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "id": id,
            "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        }))
        .await;
    }

    async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("send on the websocket");
    }

    /// The next protocol message (pings answered on the way); fails after 10 s.
    pub async fn receive(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("nothing arrived on the websocket within 10 s")
                .expect("the websocket closed")
                .expect("websocket error");
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(text.as_str()).expect("JSON");
                if value["type"] == "ping" {
                    self.send(json!({ "type": "pong" })).await;
                    continue;
                }
                return value;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The tests' Apertium (`imi_testkit::apertium_url`), started on first use.
#[derive(Default)]
struct LazyApertium(tokio::sync::OnceCell<imi_app::translation::Apertium>);

impl LazyApertium {
    async fn engine(&self) -> &imi_app::translation::Apertium {
        self.0
            .get_or_init(|| async {
                let url = tokio::task::spawn_blocking(imi_testkit::apertium_url)
                    .await
                    .expect("apertium");
                imi_app::translation::Apertium::new(&url)
            })
            .await
    }
}

#[async_trait::async_trait]
impl imi_app::translation::Provider for LazyApertium {
    fn engine(&self) -> &str {
        "apertium"
    }

    async fn pairs(
        &self,
    ) -> Result<std::collections::BTreeSet<(String, String)>, imi_app::translation::ProviderError>
    {
        self.engine().await.pairs().await
    }

    async fn translate(
        &self,
        text: &str,
        from: &str,
        to: &str,
    ) -> Result<String, imi_app::translation::ProviderError> {
        self.engine().await.translate(text, from, to).await
    }
}
