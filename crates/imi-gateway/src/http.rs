//! GraphQL over HTTP (<https://graphql.github.io/graphql-over-http/draft/>).
//!
//! - `POST /graphql` takes `Content-Type: application/json` (anything else: 415) holding
//!   `{query, operationName?, variables?, extensions?}`; a body that is not that JSON: 400; a body
//!   over [`MAX_BODY_BYTES`]: 413.
//! - `GET /graphql?query=...&operationName=...&variables=<json>` runs queries only: a mutation
//!   over GET is refused with 405 and `Allow: POST`, before anything runs.
//! - The answer is `application/graphql-response+json` when the client accepts it, else
//!   `application/json` (406 when it accepts neither). A request error (the document does not
//!   parse or validate, or breaks a limit) is answered with 400 and no `data`, whichever media
//!   type; a response with `data` (even null after field errors) with 200.
//! - Every error body, here too, is a GraphQL response whose errors carry `extensions.code`.

use crate::auth::Authentication;
use crate::context::{default_language, negotiate_language, valid_client_id, RequestContext};
use crate::errors::{reason, ApiError, Code};
use crate::server::AppState;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::Variables;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::header::{
    ACCEPT, ACCEPT_LANGUAGE, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
/// The WAL position a mutation answers and later reads name, so that they read a replica only
/// once it holds the write (docs/SCALING.md, "Step 2: read replicas").
pub const READ_AFTER: HeaderName = HeaderName::from_static("imi-read-after");

/// The media type of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    GraphQlResponseJson,
    Json,
}

impl Media {
    fn as_str(self) -> &'static str {
        match self {
            Media::GraphQlResponseJson => GRAPHQL_RESPONSE_JSON,
            Media::Json => JSON,
        }
    }
}

/// What the client accepts: `application/graphql-response+json` preferred; `application/json`,
/// `application/*`, `*/*` or no `Accept` header give `application/json`.
pub fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let Some(accept) = headers.get(ACCEPT) else {
        return Some(Media::Json);
    };
    let accept = accept.to_str().ok()?;
    let mut json = false;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        if refused {
            continue;
        }
        match media.as_str() {
            GRAPHQL_RESPONSE_JSON => return Some(Media::GraphQlResponseJson),
            JSON | "application/*" | "*/*" => json = true,
            _ => {}
        }
    }
    json.then_some(Media::Json)
}

/// The JSON body of a GraphQL POST.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostBody {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<serde_json::Value>,
    extensions: Option<serde_json::Value>,
}

/// The parameters of a GraphQL GET.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    /// JSON, as Apollo clients send persisted queries over GET.
    extensions: Option<String>,
}

pub async fn graphql_post(State(app): State<AppState>, req: Request) -> Response {
    let headers = req.headers().clone();
    let peer = peer(&req);
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    if !is_json(headers.get(CONTENT_TYPE)) {
        return http_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            ApiError::bad_input("send the request as Content-Type: application/json")
                .with_reason(reason::UNSUPPORTED_MEDIA_TYPE),
        );
    }
    let body = match Bytes::from_request(req, &()).await {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return http_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                ApiError::bad_input(format!("the request body exceeds {MAX_BODY_BYTES} bytes"))
                    .with_reason(reason::PAYLOAD_TOO_LARGE),
            );
        }
        Err(_) => return malformed(media, "the request body could not be read"),
    };
    let body: PostBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(_) => {
            return malformed(
                media,
                "the body must be a JSON object {\"query\": ..., \"variables\": {...}}",
            )
        }
    };
    let (query, store) = match query_to_run(
        &app,
        body.query,
        body.extensions.as_ref(),
        media,
        "the body has no \"query\" string",
    ) {
        Ok(resolved) => resolved,
        Err(response) => return *response,
    };
    let variables = match body.variables {
        None | Some(serde_json::Value::Null) => Variables::default(),
        Some(v @ serde_json::Value::Object(_)) => Variables::from_json(v),
        Some(_) => return malformed(media, "\"variables\" must be a JSON object"),
    };
    let mut request = async_graphql::Request::new(query).variables(variables);
    if let Some(name) = body.operation_name {
        request = request.operation_name(name);
    }
    execute(app, request, &headers, peer, media, store).await
}

/// The query text a request runs: the one sent, or the one its persisted-query hash names
/// (see [`crate::apq`]), with the hash to store it under once it has run. Either way it runs
/// through the same guards.
fn query_to_run(
    app: &AppState,
    query: Option<String>,
    extensions: Option<&serde_json::Value>,
    media: Media,
    missing: &str,
) -> Result<(String, Option<crate::apq::Hash>), Box<Response>> {
    use crate::apq::Resolved;
    match app.persisted.resolve(query, extensions) {
        Ok(Resolved::Plain(Some(query))) => Ok((query, None)),
        Ok(Resolved::Plain(None)) => Err(Box::new(malformed(media, missing))),
        Ok(Resolved::Persisted { query, store }) => Ok((query, store)),
        // 200 whatever the media type: Apollo clients read the code and resend the query.
        Ok(Resolved::NotFound) => Err(Box::new(json_response(
            StatusCode::OK,
            media,
            &serde_json::json!({
                "errors": [{
                    "message": crate::apq::NOT_FOUND_MESSAGE,
                    "extensions": { "code": crate::apq::NOT_FOUND_CODE },
                }]
            }),
        ))),
        Err(error) => Err(Box::new(http_error(StatusCode::BAD_REQUEST, media, error))),
    }
}

/// The connection's peer, when the server was started with connect info.
fn peer(req: &Request) -> Option<std::net::SocketAddr> {
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0)
}

pub async fn graphql_get(State(app): State<AppState>, req: Request) -> Response {
    let headers = req.headers().clone();
    let peer = peer(&req);
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let params: GetParams = match axum::extract::Query::try_from_uri(req.uri()) {
        Ok(axum::extract::Query(params)) => params,
        Err(_) => return malformed(media, "the query string could not be read"),
    };
    let extensions = match params.extensions.as_deref().map(serde_json::from_str) {
        None => None,
        Some(Ok(extensions)) => Some(extensions),
        Some(Err(_)) => return malformed(media, "`extensions` must be JSON"),
    };
    let (query, store) = match query_to_run(
        &app,
        params.query,
        extensions.as_ref(),
        media,
        "pass the document in the `query` parameter",
    ) {
        Ok(resolved) => resolved,
        Err(response) => return *response,
    };
    let variables = match params.variables.as_deref().map(serde_json::from_str) {
        None => Variables::default(),
        Some(Ok(v @ serde_json::Value::Object(_))) => Variables::from_json(v),
        Some(Ok(serde_json::Value::Null)) => Variables::default(),
        Some(_) => return malformed(media, "`variables` must be a JSON object"),
    };
    let mut request = async_graphql::Request::new(query).variables(variables);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    // Mutations only over POST: find the operation to run before anything runs.
    if operation_type(&mut request) == Some(OperationType::Mutation) {
        let mut response = http_error(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            ApiError::bad_input("mutations are sent with POST")
                .with_reason(reason::METHOD_NOT_ALLOWED),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(app, request, &headers, peer, media, store).await
}

/// The kind of the operation `request` runs, found before anything runs. A document that does
/// not parse is left to the executor, which answers with the parse error; one nested too deep
/// for the parser is not parsed here: the guard refuses it before parsing.
fn operation_type(request: &mut async_graphql::Request) -> Option<OperationType> {
    let operation_name = request.operation_name.clone();
    if crate::guard::check_nesting(&request.query).is_err() {
        return None;
    }
    let document = request.parsed_query().ok()?;
    match &document.operations {
        DocumentOperations::Single(op) => Some(op.node.ty),
        DocumentOperations::Multiple(ops) => match operation_name.as_deref() {
            Some(name) => ops.get(name).map(|op| op.node.ty),
            None if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
            None => None,
        },
    }
}

/// The WAL position a client's reads must see (`IMI-Read-After`, as a mutation answered it);
/// a value that is no position is refused.
fn read_after(headers: &HeaderMap) -> Result<Option<imi_store::replica::Lsn>, ApiError> {
    let Some(value) = headers.get(READ_AFTER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_input(
                "IMI-Read-After must be a WAL position as a mutation answered it (like 16/B374D848)",
            )
            .with_reason(reason::MALFORMED_REQUEST)
        })
}

async fn execute(
    app: AppState,
    mut request: async_graphql::Request,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
    media: Media,
    store: Option<crate::apq::Hash>,
) -> Response {
    let context = match request_context(&app, headers, peer) {
        Ok(context) => context,
        Err(error) => return http_error(StatusCode::BAD_REQUEST, media, error),
    };
    let read_after = match read_after(headers) {
        Ok(position) => position,
        Err(error) => return http_error(StatusCode::BAD_REQUEST, media, error),
    };
    // With a read replica: a query reads there once it has replayed what the client must see
    // (at most the replica's wait, else the primary); a mutation answers once the replica has
    // replayed it, with the position later reads name (see docs/SCALING.md).
    let replica = app.services.replica.clone();
    let kind = match replica {
        Some(_) => operation_type(&mut request),
        None => None,
    };
    if let (Some(replica), Some(OperationType::Query)) = (&replica, kind) {
        let on_replica = match read_after {
            Some(position) => replica.wait_for(position).await,
            None => true,
        };
        app.metrics.replica_read(on_replica);
        if on_replica {
            request = request.data(crate::state::Services {
                app: app.services.app.reading_from(replica.pool.clone()),
                ..app.services.clone()
            });
        }
    }
    let correlation_id = context.correlation_id.clone();
    let user_id = context.auth.require().ok().map(|p| p.user_id.clone());
    let operation = operation_label(request.operation_name.as_deref());
    let introspect = app.options.introspection.allows(user_id.is_some());
    // Kept to store once it has run: only a document that passed every guard is stored.
    let persist = store.map(|hash| (hash, request.query.clone()));
    let request = if introspect {
        request
    } else {
        request.disable_introspection()
    };
    let started = std::time::Instant::now();
    let span = tracing::debug_span!(
        target: imi_store::trace::TARGET,
        "graphql.operation",
        graphql.operation.name = %operation
    );
    let mut response =
        tracing::Instrument::instrument(app.schema.execute(request.data(context)), span).await;
    let mut written = None;
    if let (Some(replica), Some(OperationType::Mutation)) = (&replica, kind) {
        if !is_request_error(&response) {
            match imi_store::replica::primary_position(&app.services.pool).await {
                Ok(position) => {
                    replica.wait_for(position).await;
                    response.extensions.insert(
                        "readAfter".to_string(),
                        async_graphql::Value::String(position.to_string()),
                    );
                    written = HeaderValue::from_str(&position.to_string()).ok();
                }
                Err(error) => tracing::warn!(%error, "cannot read the primary's WAL position"),
            }
        }
    }
    if let Some((hash, query)) = persist {
        if !is_request_error(&response) {
            app.persisted.store(hash, query);
        }
    }
    app.metrics
        .graphql_operation(&operation, started.elapsed().as_secs_f64());
    let mut answer = graphql_response(response, media);
    if let Some(position) = written {
        answer.headers_mut().insert(READ_AFTER, position);
    }
    if let Some(id) = correlation_id
        .as_deref()
        .and_then(|id| HeaderValue::from_str(id).ok())
    {
        answer.headers_mut().insert(CORRELATION_ID, id);
    }
    // For the access log (see crate::server).
    answer.extensions_mut().insert(RequestFacts {
        correlation_id,
        user_id,
        operation: Some(operation),
    });
    answer
}

/// What a GraphQL request was, for the access log.
#[derive(Clone, Debug, Default)]
pub struct RequestFacts {
    pub correlation_id: Option<String>,
    pub user_id: Option<String>,
    pub operation: Option<String>,
}

/// The operation's name as a metric label: a GraphQL name of at most 64 characters, else
/// `anonymous` (a label must not take any value a client sends).
fn operation_label(name: Option<&str>) -> String {
    match name {
        Some(name)
            if !name.is_empty()
                && name.len() <= 64
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            name.to_string()
        }
        _ => "anonymous".to_string(),
    }
}

/// Who sends the request, their language, and the ids their writes carry.
fn request_context(
    app: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::SocketAddr>,
) -> Result<RequestContext, ApiError> {
    let auth = match headers.get(AUTHORIZATION).map(|v| v.to_str()) {
        None => Authentication::Anonymous,
        Some(Ok(value)) => {
            Authentication::from_authorization(&app.services.token_secret, Some(value))
        }
        Some(Err(_)) => Authentication::Rejected(crate::auth::TokenRejected::Invalid),
    };
    let language = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| negotiate_language(Some(v)))
        .unwrap_or_else(default_language);
    let idempotency_key = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(key) if valid_client_id(key) => Some(key.to_string()),
            _ => {
                return Err(ApiError::bad_input(
                    "Idempotency-Key must be 1 to 200 visible ASCII characters",
                )
                .with_reason(reason::MALFORMED_REQUEST))
            }
        },
    };
    // A usable correlation id from upstream is kept; otherwise this request starts one.
    let correlation_id = headers
        .get(CORRELATION_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| valid_client_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    Ok(RequestContext {
        auth,
        language,
        idempotency_key,
        correlation_id: Some(correlation_id),
        client_address: crate::context::client_address(peer),
    })
}

fn is_json(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(JSON))
}

/// A request error: it carries no `data`.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

fn graphql_response(response: async_graphql::Response, media: Media) -> Response {
    let request_error = is_request_error(&response);
    let mut body = match serde_json::to_value(&response) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "cannot serialize a GraphQL response");
            return http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                media,
                ApiError::new(Code::Internal, "internal error"),
            );
        }
    };
    if request_error {
        if let Some(object) = body.as_object_mut() {
            object.remove("data");
        }
    }
    // GraphQL over HTTP: a request error is 400 for `application/graphql-response+json`
    // clients, and 200 for legacy `application/json` ones (which may not read a 400's body).
    let status = if request_error && media == Media::GraphQlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json_response(status, media, &body)
}

fn json_response(status: StatusCode, media: Media, body: &serde_json::Value) -> Response {
    let mut response = (status, Body::from(body.to_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(media.as_str()));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A GraphQL response with one request-level error and no `data`.
pub fn http_error(status: StatusCode, media: Media, error: ApiError) -> Response {
    let mut extensions = serde_json::json!({ "code": error.code.as_str() });
    if let Some(why) = error.reason {
        extensions["reason"] = why.into();
    }
    let body = serde_json::json!({
        "errors": [{ "message": error.message, "extensions": extensions }]
    });
    json_response(status, media, &body)
}

/// An extractor's rejection (a path, a body, a websocket upgrade that cannot be read) as a
/// GraphQL error body, its status kept.
pub fn rejection(status: StatusCode, message: String) -> Response {
    let why = if status == StatusCode::PAYLOAD_TOO_LARGE {
        reason::PAYLOAD_TOO_LARGE
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        reason::METHOD_NOT_ALLOWED
    } else {
        reason::MALFORMED_REQUEST
    };
    let code = if status.is_server_error() {
        Code::Internal
    } else {
        Code::BadUserInput
    };
    http_error(
        status,
        Media::Json,
        ApiError::new(code, message).with_reason(why),
    )
}

/// Any route not served: 404.
pub async fn not_found(headers: HeaderMap) -> Response {
    http_error(
        StatusCode::NOT_FOUND,
        negotiate(&headers).unwrap_or(Media::Json),
        ApiError::not_found("nothing is served at this path"),
    )
}

/// A route served, with a method it does not take: 405 (the router adds `Allow`).
pub async fn method_not_allowed(headers: HeaderMap) -> Response {
    http_error(
        StatusCode::METHOD_NOT_ALLOWED,
        negotiate(&headers).unwrap_or(Media::Json),
        ApiError::bad_input("this path does not take this method: see the Allow header")
            .with_reason(reason::METHOD_NOT_ALLOWED),
    )
}

fn malformed(media: Media, message: &str) -> Response {
    http_error(
        StatusCode::BAD_REQUEST,
        media,
        ApiError::bad_input(message).with_reason(reason::MALFORMED_REQUEST),
    )
}

fn not_acceptable() -> Response {
    http_error(
        StatusCode::NOT_ACCEPTABLE,
        Media::Json,
        ApiError::bad_input(format!("accept {GRAPHQL_RESPONSE_JSON} or {JSON}"))
            .with_reason(reason::NOT_ACCEPTABLE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<Media> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(value).unwrap());
        negotiate(&headers)
    }

    #[test]
    fn negotiates_the_answer_media_type() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(Media::Json));
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            Some(Media::GraphQlResponseJson)
        );
        assert_eq!(accept("application/json"), Some(Media::Json));
        assert_eq!(accept("text/html, */*;q=0.8"), Some(Media::Json));
        assert_eq!(accept("text/html"), None);
        assert_eq!(accept("application/json;q=0"), None);
    }

    #[test]
    fn only_json_bodies_are_taken() {
        let ok = HeaderValue::from_static("application/json; charset=utf-8");
        assert!(is_json(Some(&ok)));
        assert!(!is_json(Some(&HeaderValue::from_static("text/plain"))));
        assert!(!is_json(Some(&HeaderValue::from_static(
            "application/graphql"
        ))));
        assert!(!is_json(None));
    }
}
