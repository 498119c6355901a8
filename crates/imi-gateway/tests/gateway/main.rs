//! The gateway over HTTP and websockets, against a real PostgreSQL (a fresh database per test).

mod alerts;
mod apq;
mod auth;
mod authority_admin;
mod authority_lifecycle;
mod conventions;
mod directory;
mod history;
mod hostile;
mod ops;
mod processing_log;
mod protocol;
mod reference;
mod schema;
mod subscription;
mod support;
mod throttle;
mod visibility;
