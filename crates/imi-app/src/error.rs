//! Why a use case did not succeed, as every interface reports it: a machine code (one of
//! [`Code`]), a message written for the client, and where it helps a finer reason.
//!
//! The mapping from domain refusals, command outcomes and database faults is made here, once,
//! so that the same case answers the same way whatever the aggregate or the interface.
//! Internal faults are logged with their source; clients read a generic message and never a
//! database's text.

use imi_domain::error::DomainError;
use imi_domain::reference::UnknownCode;
use imi_store::commands::CommandError;
use imi_store::sealing::SealError;

/// The machine codes a client can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// No valid bearer token: sign in (again).
    Unauthenticated,
    /// Signed in, but the access policy does not allow this.
    Forbidden,
    /// The request itself is wrong: fix it before sending it again.
    BadUserInput,
    /// The request names something that does not exist, or that the caller may not see.
    NotFound,
    /// Another write won the race, or the data changed underneath: reload and try again.
    Conflict,
    /// Too many attempts: wait before trying again.
    TooManyRequests,
    /// The database could not be reached or ended the connection: retry later.
    Unavailable,
    /// Our fault. Retrying may help; the details are in the service's log.
    Internal,
    /// No machine translation for this language pair now (no engine, no route, engine down);
    /// `extensions.pair` names the pair.
    TranslationUnavailable,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::NotFound => "NOT_FOUND",
            Code::Conflict => "CONFLICT",
            Code::TooManyRequests => "TOO_MANY_REQUESTS",
            Code::Unavailable => "UNAVAILABLE",
            Code::Internal => "INTERNAL",
            Code::TranslationUnavailable => "TRANSLATION_UNAVAILABLE",
        }
    }
}

/// Finer reasons, in `extensions.reason`.
pub mod reason {
    /// The command is well-formed but the workflow's rules refuse it in the current state.
    pub const REFUSED: &str = "REFUSED";
    /// The exchange's personal data were erased: nothing personal can be added or read.
    pub const PERSONAL_DATA_ERASED: &str = "PERSONAL_DATA_ERASED";
    /// The database did not answer: retrying later may help.
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
    /// A read model is not built yet (its projector has not started).
    pub const READ_MODEL_NOT_READY: &str = "READ_MODEL_NOT_READY";
    /// A text input holds the NUL character, which no text may hold.
    pub const NUL_IN_TEXT: &str = "NUL_IN_TEXT";
    /// The service runs in production mode, whose clock is the system clock.
    pub const TRAINING_MODE_ONLY: &str = "TRAINING_MODE_ONLY";
    /// The training clock never moves backward.
    pub const CLOCK_BACKWARD: &str = "CLOCK_BACKWARD";
}

/// A use case's failure. Deliberately not `Display`: an interface turns it into its own error
/// shape only through an explicit conversion, code included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppError {
    pub code: Code,
    pub message: String,
    pub reason: Option<&'static str>,
    /// The language pair (`from-to`) of a [`Code::TranslationUnavailable`].
    pub pair: Option<String>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            reason: None,
            pair: None,
        }
    }

    /// No machine translation for `pair` (`from-to`).
    pub fn translation_unavailable(message: impl Into<String>, pair: String) -> Self {
        let mut e = Self::new(Code::TranslationUnavailable, message);
        e.pair = Some(pair);
        e
    }

    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Code::BadUserInput, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, message)
    }

    /// An internal error: `source` is logged, the client reads a generic message. A lost
    /// database connection anywhere in `source`'s chain makes it [`AppError::unavailable`].
    pub fn internal(context: &str, source: &(dyn std::error::Error + 'static)) -> Self {
        if imi_store::commands::unavailable_in(source) {
            return Self::unavailable(context, source);
        }
        tracing::error!(error = %error_chain(source), "{context}");
        Self::new(Code::Internal, "internal error")
    }

    /// The database could not serve: `source` is logged; the client is told the cause (a full
    /// connection pool, the database's own refusal, a lost connection), never database text
    /// beyond the server's refusal message.
    pub fn unavailable(context: &str, source: &(dyn std::error::Error + 'static)) -> Self {
        let cause = imi_store::commands::unavailable_cause(source);
        tracing::error!(error = %error_chain(source), %cause, "{context}: database unavailable");
        Self::new(
            Code::Unavailable,
            format!("the database is unavailable ({cause}), try again later"),
        )
        .with_reason(reason::UNAVAILABLE)
    }

    /// A database error while reading: unavailable, read model missing, or internal.
    pub fn database(context: &str, error: &sqlx::Error) -> Self {
        if imi_store::commands::is_unavailable(error) {
            return Self::unavailable(context, error);
        }
        match error {
            // 42P01 undefined_table, 3F000 invalid_schema_name: the projector never ran here.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("42P01" | "3F000")) =>
            {
                tracing::error!(error = %error_chain(error), "{context}: read model missing");
                Self::new(
                    Code::Unavailable,
                    "this data is not available yet, try again later",
                )
                .with_reason(reason::READ_MODEL_NOT_READY)
            }
            _ => Self::internal(context, error),
        }
    }

    /// A failure to seal or open personal data under an exchange's key.
    pub fn sealing(context: &str, error: &SealError) -> Self {
        match error {
            SealError::Erased { .. } => Self::new(
                Code::Conflict,
                "the exchange's personal data were erased: nothing personal can be added to it",
            )
            .with_reason(reason::PERSONAL_DATA_ERASED),
            SealError::Database(e) => Self::database(context, e),
            e => Self::internal(context, e),
        }
    }
}

/// The message a domain refusal shows: the domain writes them for clients.
impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Forbidden(why) => AppError::forbidden(why),
            DomainError::Invalid(why) => AppError::bad_input(why),
            DomainError::NotFound(why) => AppError::not_found(why),
            DomainError::Refused(why) => AppError::bad_input(why).with_reason(reason::REFUSED),
        }
    }
}

impl From<UnknownCode> for AppError {
    fn from(e: UnknownCode) -> Self {
        AppError::bad_input(e.to_string())
    }
}

/// Maps the outcome of a command. Faults are logged here, once.
pub fn command_error(error: CommandError<DomainError>) -> AppError {
    match error {
        CommandError::Domain(e) => e.into(),
        CommandError::Conflict => AppError::new(
            Code::Conflict,
            "another change to the same data was saved first: reload and try again",
        ),
        CommandError::Unavailable(source) => AppError::unavailable("event store", source.as_ref()),
        // `internal` turns a lost connection anywhere in the chain into UNAVAILABLE.
        CommandError::Internal(source) => AppError::internal("command failed", source.as_ref()),
    }
}

/// The label a use case's outcome is counted under in the metrics.
pub fn outcome_label(result: &Result<(), &AppError>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(e) => match (e.code, e.reason) {
            (Code::Conflict, _) => "conflict",
            (Code::Forbidden, _) => "forbidden",
            (Code::NotFound, _) => "not_found",
            (Code::BadUserInput, Some(reason::REFUSED)) => "refused",
            (Code::BadUserInput, _) => "invalid",
            (Code::Unauthenticated, _) => "unauthenticated",
            (Code::TooManyRequests, _) => "throttled",
            (Code::Unavailable, _) => "unavailable",
            (Code::Internal, _) => "internal",
            (Code::TranslationUnavailable, _) => "translation_unavailable",
        },
    }
}

/// An error and its sources on one line, for the log.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(e) = current {
        text.push_str(": ");
        text.push_str(&e.to_string());
        current = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_errors_map_to_codes() {
        let cases = [
            (DomainError::forbidden("x"), Code::Forbidden, None),
            (DomainError::invalid("x"), Code::BadUserInput, None),
            (DomainError::not_found("x"), Code::NotFound, None),
            (
                DomainError::refused("x"),
                Code::BadUserInput,
                Some(reason::REFUSED),
            ),
        ];
        for (domain, code, why) in cases {
            let e = command_error(CommandError::Domain(domain));
            assert_eq!((e.code, e.reason), (code, why));
        }
        assert_eq!(command_error(CommandError::Conflict).code, Code::Conflict);
    }

    #[test]
    fn internal_errors_never_show_their_source() {
        let source = std::io::Error::other("relation \"secret_table\" does not exist");
        let e = command_error(CommandError::Internal(Box::new(source)));
        assert_eq!(e.code, Code::Internal);
        assert!(!e.message.contains("secret_table"));
    }

    #[test]
    fn lost_connections_are_unavailable() {
        for error in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
            sqlx::Error::Io(std::io::Error::other("connection reset")),
            sqlx::Error::Protocol("unexpected end".into()),
        ] {
            assert_eq!(AppError::database("x", &error).code, Code::Unavailable);
        }
        assert_eq!(
            AppError::database("x", &sqlx::Error::RowNotFound).code,
            Code::Internal
        );
        let lost = command_error(CommandError::Internal(Box::new(sqlx::Error::PoolTimedOut)));
        assert_eq!(lost.code, Code::Unavailable);
    }
}
