//! The service as a client sees it: a migrated fresh database, the projectors, the gateway on a
//! free port. Services are wired here the way the binary wires them (not through `imi::app`, so
//! these tests stand on the gateway's public API alone).

use futures::{SinkExt, StreamExt};
use imi_domain::actor::Actor;
use imi_domain::authority::{user_key_id, AuthorityCommand, NewUser};
use imi_domain::command::Issued;
use imi_domain::reference::{Language, MemberState};
use imi_gateway::Services;
use imi_notify::mail::Mailer;
use imi_notify::scheduler::Scheduler;
use imi_notify::sender::{Sender, SenderOptions};
use imi_projections::runner::Runner;
use imi_store::alert_bus::{alert_bus_with, SharedAlertServices};
use imi_store::authority_bus::{authority_bus_with, SharedServices};
use imi_store::authority_lookup::StoreLookup;
use imi_store::clock::AdjustableClock;
use imi_store::commands::AggregateConfig;
use imi_store::metadata::CommandMetadata;
use imi_store::request_bus::{request_bus_with, SharedRequestServices};
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use imi_testkit::smtp::SmtpServer;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const TOKEN_SECRET: &[u8] = b"e2e-token-secret-of-at-least-32-bytes";

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
    /// One service at a time in this process: each holds a connection per projector, and the
    /// machine's PostgreSQL (max_connections 100) is shared with every other test.
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

/// Whose turn it is to run a service.
static TURN: std::sync::LazyLock<Arc<tokio::sync::Mutex<()>>> =
    std::sync::LazyLock::new(|| Arc::new(tokio::sync::Mutex::new(())));

/// A user of a seeded authority, with the password set for it.
pub struct Account {
    pub authority_id: String,
    pub user_id: String,
    pub login: String,
    pub password: String,
}

/// Starts the service on a fresh database.
pub async fn start() -> Service {
    let turn = TURN.clone().lock_owned().await;
    let db = imi_testkit::fresh_database().await;
    imi_store::migrate(&db.pool).await.expect("migrate");
    let reference = imi_store::reference::ReferenceData::bundled().expect("reference data");
    imi_store::reference::load(&db.pool, &reference)
        .await
        .expect("load the reference data");
    // Each projector and the scheduler hold a connection for their advisory lock: a pool as
    // large as the binary's.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(40)
        .connect(&db.url)
        .await
        .expect("a pool on the test database");
    db.pool.close().await;
    let wake = Wake::local_only();
    let clock = Arc::new(AdjustableClock::new());
    let lookup = StoreLookup::new(pool.clone()).with_clock(clock.clone());
    let services = Services {
        app: imi_app::App::new(
            pool.clone(),
            Arc::new(authority_bus_with(
                pool.clone(),
                AggregateConfig::default(),
                SharedServices::new(lookup),
                wake.clone(),
            )),
            Arc::new(request_bus_with(
                pool.clone(),
                AggregateConfig::default(),
                SharedRequestServices::new(
                    StoreLookup::new(pool.clone()).with_clock(clock.clone()),
                ),
                wake.clone(),
            )),
            Arc::new(alert_bus_with(
                pool.clone(),
                AggregateConfig::default(),
                SharedAlertServices::new(StoreLookup::new(pool.clone()).with_clock(clock.clone())),
                wake.clone(),
            )),
            Arc::new(KeyRing::new(pool.clone(), MasterKey::generate())),
            wake.clone(),
            clock.clone(),
        ),
        token_secret: Arc::new(TOKEN_SECRET.to_vec()),
    };
    for projection in imi_projections::all() {
        let runner = Runner::new(pool.clone(), projection).with_local_wake(wake.subscribe());
        tokio::spawn(async move {
            if let Err(error) = runner.run().await {
                panic!("a projector stopped: {error}");
            }
        });
    }
    // The mail sender and the scheduler, polling quickly so the tests need not wait.
    let smtp = SmtpServer::start();
    let mut scheduler = Scheduler::new(pool.clone(), clock.clone())
        .erasing(services.keyring.as_ref().clone())
        .route(
            "Authority",
            services.authorities.clone() as Arc<dyn imi_notify::scheduler::Dispatch>,
        )
        .route(
            "InformationRequest",
            services.requests.clone() as Arc<dyn imi_notify::scheduler::Dispatch>,
        )
        .route(
            "Alert",
            services.alerts.clone() as Arc<dyn imi_notify::scheduler::Dispatch>,
        );
    scheduler.tick = Duration::from_millis(50);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wake_scheduler = wake.subscribe();
    tokio::spawn(async move { scheduler.run(wake_scheduler, stopped).await });
    // Runs as long as the test's runtime: never stopped.
    std::mem::forget(stop);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = imi_gateway::router(services.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let service = Service {
        base: format!("http://{addr}"),
        services,
        sender: std::sync::Mutex::new(None),
        smtp,
        clock,
        http: reqwest::Client::new(),
        _turn: turn,
    };
    service.start_sender();
    service
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
        let sender = Sender::new(
            self.services.pool.clone(),
            self.services.keyring.clone(),
            mailer,
            &format!("e2e-{}", uuid::Uuid::new_v4()),
        )
        .with_options(SenderOptions {
            idle_poll: Duration::from_millis(50),
            ..SenderOptions::default()
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let wake = self.services.wake.subscribe();
        let task = tokio::spawn(async move { sender.run(wake, stopped).await });
        *self.sender.lock().expect("sender") = Some((stop, task));
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
        let url = format!("{}/graphql/ws", self.base.replace("http://", "ws://"));
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
