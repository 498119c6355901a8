//! The `imi` service: configuration, wiring, seeding and benchmarks behind the CLI.

pub mod allocator;
pub mod app;
pub mod audit;
pub mod bench;
pub mod bench_as_of;
pub mod bench_deletion;
pub mod bench_live;
pub mod bench_mix;
pub mod bench_populate;
pub mod bench_queries;
pub mod bench_service;
pub mod bench_translation;
pub mod bench_writes;
pub mod commission;
pub mod config;
pub mod demo;
pub mod logging;
pub mod seed;
pub mod stats;
pub mod subject_requests;
pub mod translation;
