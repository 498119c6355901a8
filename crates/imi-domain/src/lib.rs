//! The IMI domain: aggregates, commands, events, errors and the access policy.
//! Free of I/O: no database, no HTTP, no GraphQL here.

pub mod access;
pub mod actor;
pub mod alert;
pub mod authority;
pub mod command;
pub mod error;
pub mod reference;
pub mod request;
pub mod retention;
pub mod scoreboard;
pub mod sealed;
pub mod subject_request;
