//! The axum router: GraphQL over HTTP and websockets, GraphiQL, health, readiness and metrics.

use crate::http::{graphql_get, graphql_post, MAX_BODY_BYTES};
use crate::live::ProjectionWatch;
use crate::metrics::Metrics;
use crate::schema::{self, ImiSchema};
use crate::state::Services;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use imi_domain::authority::Clock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// Longest the readiness and metrics endpoints wait for the database.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub schema: ImiSchema,
    pub metrics: Metrics,
    pub options: Arc<Options>,
    /// Latched once the projections caught up after start (see [`ready`]).
    caught_up: Arc<AtomicBool>,
    /// This process's automatic persisted queries.
    pub persisted: Arc<crate::apq::PersistedQueries>,
}

/// How the gateway is deployed.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The live projections `/ready` waits for after start (by name); empty: those the
    /// database knows.
    pub projections: Vec<String>,
    /// Origins whose browser pages may call the API (`*`: any); empty: same origin only.
    pub cors_origins: Vec<String>,
    /// Who may introspect the schema, over HTTP and websockets.
    pub introspection: Introspection,
}

/// Who may ask the schema about itself (`__schema`, `__type`), over HTTP and websockets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Introspection {
    /// Anyone (GraphiQL's documentation explorer works signed out).
    #[default]
    On,
    /// Callers with a valid token.
    Authenticated,
    /// Nobody.
    Off,
}

impl Introspection {
    /// Whether a caller, signed in or not, may introspect.
    pub fn allows(self, authenticated: bool) -> bool {
        match self {
            Self::On => true,
            Self::Authenticated => authenticated,
            Self::Off => false,
        }
    }
}

impl std::str::FromStr for Introspection {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "on" => Ok(Self::On),
            "authenticated" => Ok(Self::Authenticated),
            "off" => Ok(Self::Off),
            other => Err(format!("{other:?}: expected on, authenticated or off")),
        }
    }
}

/// The CORS policy for `origins`: preflights answered, the API's headers allowed, the
/// correlation id readable. No origin configured: no CORS headers (same origin only).
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::header::{ACCEPT, ACCEPT_LANGUAGE, AUTHORIZATION};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT])
            .allow_headers([
                AUTHORIZATION,
                CONTENT_TYPE,
                ACCEPT,
                ACCEPT_LANGUAGE,
                crate::http::IDEMPOTENCY_KEY,
                crate::http::CORRELATION_ID,
                crate::http::READ_AFTER,
            ])
            .expose_headers([crate::http::CORRELATION_ID, crate::http::READ_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

/// The gateway's routes:
///
/// | route | what |
/// |---|---|
/// | `POST /graphql`, `GET /graphql` | GraphQL over HTTP (queries only over GET) |
/// | `GET /graphql/ws` | subscriptions, `graphql-transport-ws` |
/// | `GET /graphiql` | the GraphiQL IDE |
/// | `GET /health` | liveness: 200 `ok` and the mode (training: the clock's offset), no database |
/// | `GET /ready` | readiness: 200 when the database answers and is migrated and the projections have caught up since start (and a read replica answers as a standby), else 503; `translation` reports the translation engines' state, `replica` the read replica's lag |
/// | `GET /metrics` | Prometheus text |
/// | `PUT /requests/{id}/attachments`, `GET /requests/{id}/attachments/{sha256}` | attachments' bytes ([`crate::attachments`]) |
///
/// Must be called inside a Tokio runtime only when subscriptions are served (their change
/// watcher starts on the first one).
pub fn router(services: Services) -> Router {
    router_with(services, Options::default())
}

/// [`router`], deployed as `options` say.
pub fn router_with(mut services: Services, options: Options) -> Router {
    if services.token_secret.is_empty() {
        // An empty HMAC key would let anyone sign tokens: refuse to serve at all.
        panic!("the token secret is empty: configure one (32 random bytes or more)");
    }
    if services.token_secret.len() < 32 {
        tracing::warn!("the token secret is shorter than 32 bytes: use 32 random bytes or more");
    }
    let metrics = Metrics::new();
    let counted = metrics.clone();
    services.app =
        services
            .app
            .clone()
            .with_counter(Arc::new(move |aggregate, command, outcome, took| {
                counted.command(aggregate, command, outcome, took.as_secs_f64())
            }));
    let watch = Arc::new(ProjectionWatch::new(
        imi_projections::directory::NAME,
        services.pool.clone(),
        services.wake.clone(),
    ));
    let notification_watch = Arc::new(schema::notifications::NotificationWatch(
        ProjectionWatch::new(
            imi_projections::notifications::NAME,
            services.pool.clone(),
            services.wake.clone(),
        ),
    ));
    let schema = schema::build(services.clone(), metrics.clone(), watch, notification_watch);
    let cors = cors(&options.cors_origins);
    let state = AppState {
        services,
        schema,
        metrics,
        options: Arc::new(options),
        caught_up: Arc::default(),
        persisted: Arc::default(),
    };
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(crate::ws::upgrade))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .route(
            "/requests/{id}/attachments",
            axum::routing::put(crate::attachments::upload).layer(DefaultBodyLimit::max(
                imi_domain::request::MAX_ATTACHMENT_BYTES as usize,
            )),
        )
        .route(
            "/requests/{id}/attachments/{sha256}",
            get(crate::attachments::download),
        )
        .with_state(state.clone())
        .merge(crate::graphiql::routes())
        // Every error answers a GraphQL error body, these too (after every route is added:
        // the 405 handler is set on the routes present).
        .fallback(crate::http::not_found)
        .method_not_allowed_fallback(crate::http::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(state, track))
        .layer(TraceLayer::new_for_http())
        // Outermost: a preflight is answered before any route or method check.
        .layer(tower::util::option_layer(cors))
}

/// A panic in a handler (a bug) answers 500 with a GraphQL error body, and is logged.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %message, "a request handler panicked");
    crate::http::http_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        crate::http::Media::Json,
        crate::errors::ApiError::new(crate::errors::Code::Internal, "internal error"),
    )
}

/// Counts every request by route template, method and status.
async fn track(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    };
    let started = std::time::Instant::now();
    let span = tracing::debug_span!(
        target: imi_store::trace::TARGET,
        "http.request",
        http.request.method = method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty
    );
    let response = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    app.metrics
        .http_request(&route, method, status, took.as_secs_f64());
    // The access log: one line per request, at info.
    let facts = response
        .extensions()
        .get::<crate::http::RequestFacts>()
        .cloned()
        .unwrap_or_default();
    tracing::info!(
        target: "imi::access",
        method,
        route,
        status,
        duration_ms = took.as_secs_f64() * 1e3,
        operation = facts.operation.as_deref(),
        correlation_id = facts.correlation_id.as_deref(),
        user_id = facts.user_id.as_deref(),
        "request"
    );
    response
}

/// `ok`, the mode and, in training mode, how far the clock was moved and the service time.
async fn health(State(app): State<AppState>) -> String {
    let clock = app.services.clock_state();
    if clock.training {
        format!(
            "ok\nmode: training\nclock: {} (service time {})\n",
            clock.offset_text(),
            clock.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    } else {
        "ok\nmode: production\n".to_string()
    }
}

/// Whether every awaited live projection has applied the whole feed; once it has, it stays
/// so (later lag is the projectors' business, not a reason to take the gateway out).
async fn caught_up(app: &AppState) -> Result<(), &'static str> {
    if app.caught_up.load(Ordering::Relaxed) {
        return Ok(());
    }
    let statuses = imi_projections::status::all(&app.services.pool)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "readiness: projections not readable");
            "projections not readable"
        })?;
    let live: Vec<_> = statuses.iter().filter(|s| s.slot == "live").collect();
    let present = app
        .options
        .projections
        .iter()
        .all(|name| live.iter().any(|s| &s.name == name));
    if !present || live.iter().any(|s| s.lag_events > 0) {
        return Err("projections catching up");
    }
    app.caught_up.store(true, Ordering::Relaxed);
    tracing::info!("projections caught up: ready");
    Ok(())
}

/// 200 when the database answers, every migration this build knows is applied, and the
/// projections have caught up since start.
async fn ready(State(app): State<AppState>) -> Response {
    let pool = &app.services.pool;
    let check = async {
        if let Err(error) = sqlx::query("SELECT 1").execute(pool).await {
            tracing::warn!(%error, "readiness: database unavailable");
            return Err("database unavailable");
        }
        match imi_store::migrations_applied(pool).await {
            Ok(true) => caught_up(&app).await,
            Ok(false) => Err("migrations pending"),
            Err(error) => {
                tracing::warn!(%error, "readiness: migrations not readable");
                Err("migrations not applied")
            }
        }
    };
    let outcome = tokio::time::timeout(PROBE_TIMEOUT, check)
        .await
        .unwrap_or(Err("database timeout"));
    // The translation engines' state: reported, never a reason to be unready (without an
    // engine, translations answer TRANSLATION_UNAVAILABLE and everything else works).
    let translation =
        match tokio::time::timeout(PROBE_TIMEOUT, app.services.app.translation_state()).await {
            Ok(Some(engines)) => serde_json::json!(engines),
            Ok(None) => serde_json::json!("not configured"),
            Err(_) => serde_json::json!("engine timeout"),
        };
    // The read replica's state: its lag is reported, never a reason to be unready (a read
    // that needs a write the replica has not replayed goes to the primary); a replica that
    // does not answer as a standby is, since queries read there.
    let (replica, outcome) = match &app.services.replica {
        None => (serde_json::json!("not configured"), outcome),
        Some(replica) => {
            match tokio::time::timeout(PROBE_TIMEOUT, replica.status(&app.services.pool)).await {
                Ok(Ok(status)) if status.replayed.is_some() => (
                    serde_json::json!({
                        "replayed": status.replayed.map(|p| p.to_string()),
                        "primary": status.primary.to_string(),
                        "lagBytes": status.lag_bytes,
                        "replayAgeSeconds": status.lag_seconds,
                    }),
                    outcome,
                ),
                Ok(Ok(_)) => (
                    serde_json::json!("not a standby"),
                    outcome.and(Err("read replica is not a standby")),
                ),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "readiness: read replica unavailable");
                    (
                        serde_json::json!("unavailable"),
                        outcome.and(Err("read replica unavailable")),
                    )
                }
                Err(_) => (
                    serde_json::json!("timeout"),
                    outcome.and(Err("read replica timeout")),
                ),
            }
        }
    };
    match outcome {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({
                "status": "ready",
                "translation": translation,
                "replica": replica,
            })),
        )
            .into_response(),
        // The probe's fields, and the error shape every error body has.
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "status": "unavailable",
                "reason": why,
                "replica": replica,
                "errors": [{
                    "message": format!("not ready: {why}"),
                    "extensions": {
                        "code": crate::errors::Code::Unavailable.as_str(),
                        "reason": crate::errors::reason::UNAVAILABLE,
                    },
                }],
            })),
        )
            .into_response(),
    }
}

/// Prometheus text; the projection gauges are read from the database now.
async fn metrics_text(State(app): State<AppState>) -> Response {
    let statuses = match tokio::time::timeout(
        PROBE_TIMEOUT,
        imi_projections::status::all(&app.services.pool),
    )
    .await
    {
        Ok(Ok(statuses)) => Some(statuses),
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: cannot read projection status");
            None
        }
        Err(_) => {
            tracing::warn!("metrics: projection status timed out");
            None
        }
    };
    let outbox = match tokio::time::timeout(
        PROBE_TIMEOUT,
        imi_notify::status::outbox(&app.services.pool),
    )
    .await
    {
        Ok(Ok(outbox)) => Some(outbox),
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: cannot read the outbox status");
            None
        }
        Err(_) => None,
    };
    let deadlines = match tokio::time::timeout(
        PROBE_TIMEOUT,
        imi_projections::deadlines::status(&app.services.pool, app.services.clock.now()),
    )
    .await
    {
        Ok(Ok(deadlines)) => Some(deadlines.due),
        Ok(Err(error)) => {
            tracing::warn!(%error, "metrics: cannot read the deadlines");
            None
        }
        Err(_) => None,
    };
    let mut text = app.metrics.render(statuses.as_deref());
    crate::metrics::render_outbox(&mut text, outbox.as_ref());
    crate::metrics::render_deadlines(&mut text, deadlines);
    let mut pools = vec![("primary", &app.services.pool)];
    if let Some(replica) = &app.services.replica {
        pools.push(("replica", &replica.pool));
        let status = tokio::time::timeout(PROBE_TIMEOUT, replica.status(&app.services.pool)).await;
        let status = match status {
            Ok(Ok(status)) => Some(status),
            Ok(Err(error)) => {
                tracing::warn!(%error, "metrics: cannot read the read replica's state");
                None
            }
            Err(_) => None,
        };
        crate::metrics::render_replica(&mut text, replica, status.as_ref());
    }
    crate::metrics::render_pools(&mut text, &pools);
    let mut response = text.into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
