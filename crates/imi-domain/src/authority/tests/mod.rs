//! Given/when/then tests of the Authority aggregate, every rule and every refusal, by concept.

mod areas;
mod data;
mod links;
mod registration;
mod serialization;
mod support;
mod users;
