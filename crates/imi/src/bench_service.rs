//! The whole service in a benchmark's own process, wired as `imi serve` wires it and listening
//! on a free local port, and the client's one call: what the end-to-end benchmarks measure.

use anyhow::{Context, Result};
use imi_gateway::Services;
use imi_store::sealing::MasterKey;
use imi_store::wake::Wake;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::task::JoinHandle;

pub(crate) struct InProcess {
    pub services: Services,
    /// The GraphQL endpoint's URL.
    pub base: String,
    background: crate::app::Background,
    server: JoinHandle<std::io::Result<()>>,
    pool: PgPool,
}

impl InProcess {
    /// Starts the service on `pool`'s database with its own pool of a server's default size,
    /// personal data under `master`, and the background roles of `options`.
    pub async fn start(
        pool: &PgPool,
        master: MasterKey,
        options: crate::app::Options,
    ) -> Result<Self> {
        let service_pool = PgPoolOptions::new()
            .max_connections(crate::app::DEFAULT_POOL_SIZE)
            .acquire_timeout(crate::app::ACQUIRE_TIMEOUT)
            .connect_with(
                (*pool.connect_options())
                    .clone()
                    .statement_cache_capacity(crate::app::STATEMENTS_KEPT),
            )
            .await?;
        let secret = MasterKey::generate().export_hex();
        let services = crate::app::services(
            service_pool.clone(),
            master,
            &secret,
            Wake::with_notify(service_pool.clone()),
        );
        let background = crate::app::start(&services, options)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}/graphql", listener.local_addr()?);
        let router = crate::app::router(services.clone(), Default::default())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(Self {
            services,
            base,
            background,
            server,
            pool: service_pool,
        })
    }

    pub async fn stop(self) {
        self.background.shutdown().await;
        self.server.abort();
        self.pool.close().await;
    }
}

/// One GraphQL request over HTTP, as a client sends it; the answer's JSON.
pub(crate) async fn post(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value> {
    let mut request = http
        .post(base)
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Ok(request.send().await?.json().await?)
}

/// Gives `user` of `authority` a login and password, and signs it in over HTTP as a client
/// would: its bearer token.
pub(crate) async fn sign_in(
    pool: &PgPool,
    http: &reqwest::Client,
    base: &str,
    user: &str,
    authority: &str,
) -> Result<String> {
    let (login, password) = (format!("bench.{user}"), format!("{user}-bench-password"));
    imi_store::credentials::set(pool, user, authority, &login, &password).await?;
    log_in(http, base, &login, &password).await
}

/// Signs `login` in over HTTP with `password`: its bearer token.
pub(crate) async fn log_in(
    http: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
) -> Result<String> {
    let answer = post(
        http,
        base,
        None,
        "mutation($login: String!, $password: String!) {
           login(login: $login, password: $password) { token } }",
        json!({ "login": login, "password": password }),
    )
    .await?;
    Ok(answer["data"]["login"]["token"]
        .as_str()
        .with_context(|| format!("sign-in of {login} failed: {answer}"))?
        .to_string())
}
