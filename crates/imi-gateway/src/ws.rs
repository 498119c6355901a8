//! Subscriptions over websockets, protocol `graphql-transport-ws`
//! (<https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md>), at `/graphql/ws`.
//!
//! Browsers cannot set headers on a websocket, so the token travels in the `connection_init`
//! payload: `{"Authorization": "Bearer <token>"}` (also accepted under `headers`). No token:
//! the connection is accepted and protected subscriptions answer UNAUTHENTICATED. A forged or
//! expired token: the connection is closed at once with 4403 Forbidden, as the protocol says.
//! The introspection switch applies to the connection's operations as to HTTP requests.

use crate::auth::{Authentication, TokenRejected};
use crate::context::{client_address, default_language, negotiate_language, RequestContext};
use crate::http::rejection;
use crate::server::AppState;
use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::{ACCEPT_LANGUAGE, SEC_WEBSOCKET_PROTOCOL};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::{SinkExt, StreamExt};
use std::net::SocketAddr;

/// The only subprotocol served.
pub const PROTOCOL: &str = "graphql-transport-ws";

pub async fn upgrade(
    State(app): State<AppState>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let offered = headers
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == PROTOCOL));
    if !offered {
        return rejection(
            StatusCode::BAD_REQUEST,
            format!("open the websocket with the subprotocol {PROTOCOL}"),
        );
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(e) => return rejection(e.status(), e.body_text()),
    };
    let Some(protocol) = transport_ws().await else {
        return rejection(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into());
    };
    let language = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| negotiate_language(Some(v)))
        .unwrap_or_else(default_language);
    let client_address = client_address(peer.map(|Extension(ConnectInfo(addr))| addr));
    let secret = app.services.token_secret.clone();
    let schema = app.schema.clone();
    let metrics = app.metrics.clone();
    let introspection = app.options.introspection;
    upgrade
        .protocols([PROTOCOL])
        .on_upgrade(move |socket| {
            let (sink, stream) = socket.split();
            let sink = sink.with(|message| async move { Ok::<_, axum::Error>(forbidden(message)) });
            let serve = GraphQLWebSocket::new_with_pair(sink, stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let auth = Authentication::from_authorization(
                        &secret,
                        authorization(&payload).as_deref(),
                    );
                    match auth {
                        Authentication::Rejected(TokenRejected::Expired) => {
                            return Err(async_graphql::Error::new(
                                "UNAUTHENTICATED: the token has expired",
                            ))
                        }
                        Authentication::Rejected(TokenRejected::Invalid) => {
                            return Err(async_graphql::Error::new(
                                "UNAUTHENTICATED: the token is not valid",
                            ))
                        }
                        _ => {}
                    }
                    let mut data = Data::default();
                    // The introspection switch, as over HTTP (applied by crate::guard).
                    if !introspection.allows(auth.require().is_ok()) {
                        data.insert(crate::guard::NoIntrospection);
                    }
                    data.insert(RequestContext {
                        auth,
                        language,
                        idempotency_key: None,
                        correlation_id: None,
                        client_address,
                    });
                    Ok(data)
                })
                .serve();
            async move {
                metrics.websocket_connections(1.0);
                serve.await;
                metrics.websocket_connections(-1.0);
            }
        })
        .into_response()
}

/// The close of a refused `connection_init` (async-graphql closes with 1002): 4403 Forbidden,
/// as `graphql-transport-ws` asks.
fn forbidden(message: Message) -> Message {
    match message {
        Message::Close(Some(frame))
            if frame.code == 1002 && frame.reason.starts_with("UNAUTHENTICATED") =>
        {
            Message::Close(Some(CloseFrame {
                code: 4403,
                reason: "Forbidden".into(),
            }))
        }
        other => other,
    }
}

/// The `graphql-transport-ws` protocol value (async-graphql only builds it from a request).
async fn transport_ws() -> Option<GraphQLProtocol> {
    let (mut parts, ()) = axum::http::Request::builder()
        .header(SEC_WEBSOCKET_PROTOCOL, PROTOCOL)
        .body(())
        .ok()?
        .into_parts();
    GraphQLProtocol::from_request_parts(&mut parts, &())
        .await
        .ok()
}

/// The `Authorization` value of a `connection_init` payload, at its top level or under
/// `headers`, the key in any case.
fn authorization(payload: &serde_json::Value) -> Option<String> {
    fn find(object: &serde_json::Value) -> Option<String> {
        object
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_string)
    }
    find(payload).or_else(|| payload.get("headers").and_then(find))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_token_in_the_init_payload() {
        assert_eq!(
            authorization(&json!({"Authorization": "Bearer t"})).as_deref(),
            Some("Bearer t")
        );
        assert_eq!(
            authorization(&json!({"headers": {"authorization": "Bearer u"}})).as_deref(),
            Some("Bearer u")
        );
        assert_eq!(authorization(&json!(null)), None);
        assert_eq!(authorization(&json!({"Authorization": 5})), None);
    }
}
