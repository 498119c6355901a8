//! The IMI GraphQL gateway: schema, authentication, access checks and the axum server.
//!
//! [`router`] serves GraphQL over HTTP at `/graphql`, subscriptions over `graphql-transport-ws`
//! at `/graphql/ws`, GraphiQL at `/graphiql`, and `/health`, `/ready` and `/metrics`.
//! [`schema_sdl`] exports the schema (`schema.graphql` at the workspace root, checked by a test).

pub mod apq;
pub mod attachments;
pub mod auth;
pub mod context;
pub mod errors;
pub mod graphiql;
pub mod guard;
pub mod http;
pub mod live;
pub mod metrics;
pub mod nesting;
pub mod schema;
pub mod server;
pub mod state;
pub mod ws;

pub use schema::schema_sdl;
pub use server::{router, router_with};
pub use state::Services;
