//! Attachments' bytes over plain HTTP (GraphQL bodies are capped far below an attachment's
//! size):
//!
//! - `PUT /requests/{id}/attachments` with the file as body and its media type as
//!   `Content-Type` stores it sealed under the request's key and answers
//!   `{"sha256", "size", "mediaType"}`, which a draft or a reply then lists (with the file's
//!   name). Allowed to a request handler of a party that sees the request with personal data,
//!   and, before the request exists, to any request handler (who is about to draft it).
//! - `GET /requests/{id}/attachments/{sha256}` answers the bytes to a caller whose view level
//!   includes personal data (410 once the request's personal data were erased).
//!
//! Errors answer a JSON body with the GraphQL error shape and the matching HTTP status.

use crate::auth::Authentication;
use crate::context::{default_language, negotiate_language};
use crate::errors::{reason, ApiError, Code};
use crate::http::{http_error, rejection, Media};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::header::{ACCEPT_LANGUAGE, AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use imi_app::Caller;

/// The HTTP status of an error.
pub fn status_of(error: &ApiError) -> StatusCode {
    match (error.code, error.reason) {
        (Code::NotFound, Some(reason::PERSONAL_DATA_ERASED)) => StatusCode::GONE,
        (Code::Unauthenticated, _) => StatusCode::UNAUTHORIZED,
        (Code::Forbidden, _) => StatusCode::FORBIDDEN,
        (Code::NotFound, _) => StatusCode::NOT_FOUND,
        (Code::BadUserInput, _) => StatusCode::BAD_REQUEST,
        (Code::Conflict, _) => StatusCode::CONFLICT,
        (Code::TooManyRequests, _) => StatusCode::TOO_MANY_REQUESTS,
        (Code::Unavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
        (Code::Internal, _) => StatusCode::INTERNAL_SERVER_ERROR,
        (Code::TranslationUnavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn fail(error: ApiError) -> Response {
    http_error(status_of(&error), Media::Json, error)
}

/// The signed-in caller of a plain HTTP request.
fn caller(app: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let auth = Authentication::from_authorization(&app.services.token_secret, authorization);
    let principal = auth.require()?;
    let language = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| negotiate_language(Some(v)))
        .unwrap_or_else(default_language);
    Ok(Caller::user(
        &principal.user_id,
        &principal.authority_id,
        language,
    ))
}

pub async fn upload(
    State(app): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Path(id) = match path {
        Ok(path) => path,
        Err(e) => return rejection(e.status(), e.body_text()),
    };
    // A body over the limit (or cut off) answers its status with a GraphQL error body.
    let body = match body {
        Ok(body) => body,
        Err(e) => return rejection(e.status(), e.body_text()),
    };
    let result = async {
        let caller = caller(&app, &headers)?;
        let media_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let stored = app
            .services
            .app
            .upload_attachment(&caller, &id, &media_type, &body)
            .await?;
        Ok::<_, ApiError>(serde_json::json!({
            "sha256": stored.sha256,
            "size": stored.size,
            "mediaType": stored.media_type,
        }))
    }
    .await;
    match result {
        Ok(body) => (StatusCode::CREATED, axum::Json(body)).into_response(),
        Err(e) => fail(e),
    }
}

pub async fn download(
    State(app): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let Path((id, sha256)) = match path {
        Ok(path) => path,
        Err(e) => return rejection(e.status(), e.body_text()),
    };
    let result = async {
        let caller = caller(&app, &headers)?;
        Ok::<_, ApiError>(
            app.services
                .app
                .download_attachment(&caller, &id, &sha256)
                .await?,
        )
    }
    .await;
    match result {
        Ok((media_type, bytes)) => {
            (StatusCode::OK, [(CONTENT_TYPE, media_type)], bytes).into_response()
        }
        Err(e) => fail(e),
    }
}
