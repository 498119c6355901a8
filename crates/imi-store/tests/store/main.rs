//! The imi-store integration tests, against a real PostgreSQL (a fresh database per test).

mod alert_flow;
mod authority_cache;
mod authority_flow;
mod commands;
mod export;
mod feed;
mod guard;
mod history;
mod log;
mod lookup;
mod processing_log;
mod reference;
mod requests;
mod scene;
mod sealing;
mod support;
mod upcasting;
mod wake;
