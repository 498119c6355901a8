//! The projector runner and the read models against a real PostgreSQL (a fresh database per
//! test).

mod alerts;
mod coordination;
mod diff;
mod directory;
mod engine;
mod ledger;
mod literals;
mod plans;
mod random_history;
mod reference;
mod requests;
mod runner;
mod scene;
mod scoreboard;
mod statistics;
mod users;
