//! What a client sees when something goes wrong: every GraphQL error carries a machine code in
//! `extensions.code`, one of [`Code`], and where it helps an `extensions.reason` that says more
//! (for example `REFUSED` for a command the workflow's rules refuse, or `QUERY_TOO_DEEP`).
//!
//! Internal errors are logged with their source and shown to clients as a generic message:
//! database text never leaves the gateway.

use async_graphql::{ErrorExtensionValues, ServerError};
use imi_domain::error::DomainError;
use imi_domain::reference::UnknownCode;
use imi_store::commands::CommandError;

pub use imi_app::error::{error_chain, Code};
use imi_app::AppError;

/// Finer reasons, in `extensions.reason`.
pub mod reason {
    pub use imi_app::error::reason::*;
    /// Sign-ins refused for a while after too many failures (with code TOO_MANY_REQUESTS).
    pub const LOGIN_LOCKED: &str = "LOGIN_LOCKED";
    pub const TOKEN_MISSING: &str = "TOKEN_MISSING";
    pub const TOKEN_EXPIRED: &str = "TOKEN_EXPIRED";
    pub const TOKEN_INVALID: &str = "TOKEN_INVALID";
    pub const WRONG_CREDENTIALS: &str = "WRONG_CREDENTIALS";
    pub const MALFORMED_REQUEST: &str = "MALFORMED_REQUEST";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    pub const NOT_ACCEPTABLE: &str = "NOT_ACCEPTABLE";
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    pub const PAGE_TOO_LARGE: &str = "PAGE_TOO_LARGE";
}

/// An error on its way to the client: the application layer's [`AppError`], which this
/// crate may turn into an [`async_graphql::Error`] (code included). Deliberately not
/// `Display`, so it converts only through [`From`] below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError(pub AppError);

impl std::ops::Deref for ApiError {
    type Target = AppError;
    fn deref(&self) -> &AppError {
        &self.0
    }
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self(AppError::new(code, message))
    }

    pub fn with_reason(self, reason: &'static str) -> Self {
        Self(self.0.with_reason(reason))
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self(AppError::bad_input(message))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self(AppError::not_found(message))
    }

    pub fn unauthenticated(message: impl Into<String>, reason: &'static str) -> Self {
        Self::new(Code::Unauthenticated, message).with_reason(reason)
    }

    /// An internal error: `source` is logged, the client reads a generic message.
    pub fn internal(context: &str, source: &(dyn std::error::Error + 'static)) -> Self {
        AppError::internal(context, source).into()
    }

    /// The database cannot be reached or ended the connection: logged, and the client is told
    /// to retry later.
    pub fn unavailable(context: &str, source: &(dyn std::error::Error + 'static)) -> Self {
        AppError::unavailable(context, source).into()
    }

    /// A database error while reading: unavailable, read model missing, or internal.
    pub fn database(context: &str, error: &sqlx::Error) -> Self {
        AppError::database(context, error).into()
    }

    pub fn extensions(&self) -> ErrorExtensionValues {
        let mut ext = ErrorExtensionValues::default();
        ext.set("code", self.code.as_str());
        if let Some(reason) = self.reason {
            ext.set("reason", reason);
        }
        if let Some(pair) = &self.pair {
            ext.set("pair", pair.as_str());
        }
        ext
    }

    /// As a request-level error (no path), for answers built outside the executor.
    pub fn into_server_error(self) -> ServerError {
        let mut error = ServerError::new(self.message.clone(), None);
        error.extensions = Some(self.extensions());
        error
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let extensions = Some(e.extensions());
        async_graphql::Error {
            message: e.0.message,
            source: None,
            extensions,
        }
    }
}

/// The application layer's errors, as they are.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

/// The message a domain refusal shows: the domain writes them for clients.
impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        AppError::from(e).into()
    }
}

impl From<UnknownCode> for ApiError {
    fn from(e: UnknownCode) -> Self {
        AppError::from(e).into()
    }
}

/// Maps the outcome of a command. Faults are logged here, once.
pub fn command_error(error: CommandError<DomainError>) -> ApiError {
    imi_app::error::command_error(error).into()
}

/// The label a command outcome is counted under in the metrics.
pub fn outcome_label(result: &Result<(), &ApiError>) -> &'static str {
    imi_app::error::outcome_label(&result.map_err(|e| &e.0))
}

/// Gives every error of a response a code. Errors our resolvers raise carry one already; the
/// others come from async-graphql itself: request errors (parse, validation, limits) and input
/// coercion errors are the client's, anything else is ours and is masked.
pub fn ensure_codes(errors: &mut [ServerError]) {
    for error in errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if has_code {
            continue;
        }
        let (code, why) = classify_untagged(error);
        if code == Code::Internal {
            tracing::error!(message = %error.message, path = ?error.path, "untagged resolver error");
            error.message = "internal error".to_string();
        }
        let ext = error.extensions.get_or_insert_with(Default::default);
        ext.set("code", code.as_str());
        if let Some(why) = why {
            ext.set("reason", why);
        }
    }
}

fn classify_untagged(error: &ServerError) -> (Code, Option<&'static str>) {
    let message = error.message.as_str();
    if message.starts_with("Query is nested too deep") {
        return (Code::BadUserInput, Some(reason::QUERY_TOO_DEEP));
    }
    if message.starts_with("Query is too complex") {
        return (Code::BadUserInput, Some(reason::QUERY_TOO_COMPLEX));
    }
    if error.path.is_empty() {
        // Parse errors are tagged where the query is parsed; what is left is validation.
        return (Code::BadUserInput, Some(reason::GRAPHQL_VALIDATION_FAILED));
    }
    // Argument and variable coercion, raised while resolving a field.
    if message.starts_with("Failed to parse")
        || message.starts_with("Invalid value")
        || message.contains("Expected input type")
    {
        return (Code::BadUserInput, None);
    }
    (Code::Internal, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(error: &ServerError) -> String {
        error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn lost_database_connections_are_unavailable() {
        let lost = sqlx::Error::Protocol("connection closed mid-message".into());
        let api = command_error(CommandError::Unavailable(Box::new(lost)));
        assert_eq!(
            (api.code, api.reason),
            (Code::Unavailable, Some(reason::UNAVAILABLE))
        );
        assert_eq!(outcome_label(&Err(&api)), "unavailable");
        // Wrapped in another error (sealing, credentials), too.
        let wrapped = imi_store::credentials::CredentialError::Database(sqlx::Error::PoolClosed);
        assert_eq!(ApiError::internal("x", &wrapped).code, Code::Unavailable);
    }

    #[test]
    fn untagged_errors_get_a_code_and_unknown_ones_are_masked() {
        let mut errors = vec![
            ServerError::new("Unknown field \"x\"", None),
            ServerError::new("boom: SELECT * FROM secret", None)
                .with_path(vec![async_graphql::PathSegment::Field("a".into())]),
        ];
        ensure_codes(&mut errors);
        assert_eq!(code_of(&errors[0]), "\"BAD_USER_INPUT\"");
        assert_eq!(code_of(&errors[1]), "\"INTERNAL\"");
        assert_eq!(errors[1].message, "internal error");
    }
}
