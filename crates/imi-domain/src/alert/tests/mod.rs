//! Given/when/then tests of the Alert aggregate, every transition and every refusal, by
//! concept; the summary and its queues; the stored shapes; and the access policy's tables.

mod closure;
mod initiation;
mod policy;
mod reception;
mod retention;
mod serialization;
mod subjects;
mod summary;
mod support;
mod timing;
mod withdrawal;
