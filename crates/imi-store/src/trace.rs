//! The spans a trace is made of: one target for all of them, so the binary can export exactly
//! these (and nothing else) when traces are on.
//!
//! They are created at debug level under [`TARGET`]: with no exporter, the log's filter
//! disables them at the call site, at no cost to a request.

/// Target of every traced span: the HTTP request, the GraphQL operation, the command, its
/// append, a projection's batch, a mail's delivery.
pub const TARGET: &str = "imi::trace";
