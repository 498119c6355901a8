//! Notifications against a real PostgreSQL (a fresh database per test) and a real SMTP server
//! on loopback.

mod plans;
mod scheduler;
mod sender;
mod support;
