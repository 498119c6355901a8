//! The application layer's use cases against a real PostgreSQL (a fresh database per test),
//! its projectors running: what each caller may read.

mod reads;
mod sealing;
mod subject_requests;
mod support;
mod translation;
mod writes;
