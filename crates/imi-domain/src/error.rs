//! Why a command was refused. Each kind maps to one client-facing code at the gateway.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The actor may not do this (role, authority or link missing).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The command itself is malformed or incomplete.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The command names something that does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The command does not fit the current state (already done, wrong step, rule broken).
    #[error("refused: {0}")]
    Refused(String),
}

impl DomainError {
    pub fn forbidden(why: impl Into<String>) -> Self {
        Self::Forbidden(why.into())
    }
    pub fn invalid(why: impl Into<String>) -> Self {
        Self::Invalid(why.into())
    }
    pub fn not_found(why: impl Into<String>) -> Self {
        Self::NotFound(why.into())
    }
    pub fn refused(why: impl Into<String>) -> Self {
        Self::Refused(why.into())
    }
}
