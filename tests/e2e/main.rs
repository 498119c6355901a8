//! End-to-end tests: the gateway's router served on a real socket, a real PostgreSQL (a fresh
//! database per test), projectors running, and a client that speaks only GraphQL over HTTP and
//! `graphql-transport-ws`, as an app would.

mod alerts;
mod as_of;
mod authorities;
mod cli;
mod demo;
mod first_slice;
mod harness;
mod inbox;
mod need_to_know;
mod notifications;
mod operations;
mod populate;
mod replica;
mod requests;
mod retention;
mod subject_alerts;
mod subject_requests;
mod training;
mod translation;
