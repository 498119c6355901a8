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
use crate::errors::{ApiError, Code};
use crate::http::{http_error, rejection, Media};
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use imi_domain::access::ActorContext;
use imi_domain::authority::UserRole;
use imi_domain::request::{request_key_id, view_level, RequestViewLevel};
use imi_store::attachments::{self, AttachmentError};
use imi_store::sealing::Opened;

fn fail(error: ApiError) -> Response {
    let status = match error.code {
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Forbidden => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::BadUserInput => StatusCode::BAD_REQUEST,
        Code::Conflict => StatusCode::CONFLICT,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    http_error(status, Media::Json, error)
}

/// The caller, able to act, as the policy sees them.
async fn caller(app: &AppState, headers: &HeaderMap) -> Result<ActorContext, ApiError> {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let auth = Authentication::from_authorization(&app.services.token_secret, authorization);
    let principal = auth.require()?;
    let actor = crate::schema::profile::viewer(
        &app.services.pool,
        &principal.user_id,
        &principal.authority_id,
    )
    .await?
    .ok_or_else(|| ApiError::new(Code::Forbidden, "your authority is not registered"))?;
    if let Some(denied) = actor.unable() {
        return Err(ApiError::new(Code::Forbidden, denied.0));
    }
    Ok((*actor).clone())
}

/// The view level of `actor` on request `id`; `None` when the request does not exist yet.
async fn level(
    app: &AppState,
    actor: &ActorContext,
    id: &str,
) -> Result<Option<(RequestViewLevel, String)>, ApiError> {
    let row = imi_projections::request_monitoring::get(&app.services.pool, id)
        .await
        .map_err(|e| ApiError::database("reading a request", &e))?;
    let Some(row) = row else { return Ok(None) };
    let level =
        view_level(actor, &row.summary).ok_or_else(|| ApiError::not_found("no such request"))?;
    Ok(Some((level, row.area)))
}

fn is_handler(actor: &ActorContext, area: Option<&str>) -> bool {
    actor.user().is_some_and(|u| {
        u.roles.iter().any(|(a, roles)| {
            roles.contains(&UserRole::RequestHandler) && area.is_none_or(|x| a.code() == x)
        })
    })
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
        let actor = caller(&app, &headers).await?;
        let id = crate::schema::directory::parse_id(&async_graphql::ID(id))?;
        let allowed = match level(&app, &actor, &id).await? {
            Some((level, area)) => {
                level == RequestViewLevel::FullWithPersonalData && is_handler(&actor, Some(&area))
            }
            None => is_handler(&actor, None),
        };
        if !allowed {
            return Err(ApiError::new(
                Code::Forbidden,
                "only a request handler of an authority involved attaches documents",
            ));
        }
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
        let stored = attachments::put(
            &app.services.pool,
            &app.services.keyring,
            &request_key_id(&id),
            &media_type,
            &body,
        )
        .await
        .map_err(attachment_error)?;
        Ok(serde_json::json!({
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
        let actor = caller(&app, &headers).await?;
        let id = crate::schema::directory::parse_id(&async_graphql::ID(id))?;
        let not_found = || ApiError::not_found("no such attachment");
        let (level, _) = level(&app, &actor, &id).await?.ok_or_else(not_found)?;
        if level != RequestViewLevel::FullWithPersonalData {
            return Err(ApiError::new(
                Code::Forbidden,
                "attachments are shown only with the full view with personal data",
            ));
        }
        let found = attachments::get(
            &app.services.pool,
            &app.services.keyring,
            &request_key_id(&id),
            &sha256.to_ascii_lowercase(),
        )
        .await
        .map_err(attachment_error)?
        .ok_or_else(not_found)?;
        Ok(found)
    }
    .await;
    match result {
        Ok((media_type, Opened::Value(bytes))) => {
            (StatusCode::OK, [(CONTENT_TYPE, media_type)], bytes).into_response()
        }
        Ok((_, Opened::Erased)) => {
            let mut gone = fail(ApiError::new(
                Code::NotFound,
                "the request's personal data were erased",
            ));
            *gone.status_mut() = StatusCode::GONE;
            gone
        }
        Err(e) => fail(e),
    }
}

fn attachment_error(e: AttachmentError) -> ApiError {
    match e {
        AttachmentError::Empty | AttachmentError::TooLarge | AttachmentError::MediaType(_) => {
            ApiError::bad_input(e.to_string())
        }
        AttachmentError::Seal(imi_store::sealing::SealError::Erased { .. }) => ApiError::new(
            Code::Conflict,
            "the request's personal data were erased: nothing can be added to it",
        ),
        AttachmentError::Database(e) => ApiError::database("storing an attachment", &e),
        e => ApiError::internal("an attachment", &e),
    }
}
