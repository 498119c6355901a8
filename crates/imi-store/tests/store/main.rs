//! The imi-store integration tests, against a real PostgreSQL (a fresh database per test).

mod commands;
mod feed;
mod log;
mod reference;
mod sealing;
mod support;
