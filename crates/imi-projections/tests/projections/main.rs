//! The projector runner against a real PostgreSQL (a fresh database per test).

mod directory;
mod ledger;
mod runner;
