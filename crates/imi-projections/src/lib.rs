//! IMI read models: the projector runner (checkpoints, advisory locks, blue/green rebuild),
//! the projections built from the global feed, and queries over reference tables.
//!
//! Projections (registered in [`all`]): [`directory`] (the authority directory), [`users`]
//! (the users of each authority, identities sealed), [`coordination`] (who coordinates whom),
//! [`notifications`] (the notification outbox and in-app inbox), [`deadlines`] (the time rules
//! pending, for the scheduler), [`invitations`] (invitations to register, per coordinator),
//! and for information requests [`request_monitoring`],
//! [`request_full`] (personal data kept sealed), [`request_inbox`] (what awaits whose action)
//! [`allocator_report`] and [`request_scoreboard`] (the Single Market Scoreboard's facts and their sums by day and month); and for alerts [`alert_overview`] (high level, per authority),
//! [`alert_full`] (content and history, sealed), [`alert_queue`] (work queues),
//! [`alert_statistics`] (counters by Member State and area).
//! Reference queries (not projections: the tables are reference data loaded by migrations and
//! fixtures): [`registers`] (the registers database) and [`helpdesks`].

pub mod active;
mod alert_fold;
pub mod alert_full;
pub mod alert_overview;
pub mod alert_queue;
pub mod alert_statistics;
pub mod allocator_report;
pub mod as_of;
pub mod coordination;
mod copy_text;
pub mod deadlines;
pub mod diff;
pub mod directory;
pub mod engine;
pub mod fold;
mod fold_memory;
pub mod helpdesks;
pub mod i18n;
pub mod invitations;
pub mod notifications;
pub mod projection;
pub mod rebuild;
pub mod registers;
pub mod request_fold;
pub mod request_full;
pub mod request_inbox;
pub mod request_monitoring;
pub mod request_scoreboard;
pub mod runner;
mod shared_fold;
pub mod status;
pub mod subject_requests;
pub mod text;
pub mod users;
pub mod writes;

pub use alert_fold::ALERT;
pub use projection::{Projection, ProjectionError, Slot};
pub use shared_fold::folds_shared;

use std::sync::Arc;

/// Every projection the service maintains.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(directory::AuthorityDirectory),
        Arc::new(users::AuthorityUsers),
        Arc::new(coordination::Coordination),
        Arc::new(notifications::Notifications),
        Arc::new(deadlines::Deadlines),
        Arc::new(invitations::Invitations),
        Arc::new(request_monitoring::RequestMonitoring),
        Arc::new(request_full::RequestFull),
        Arc::new(request_inbox::RequestInbox),
        Arc::new(allocator_report::AllocatorReport),
        Arc::new(request_scoreboard::RequestScoreboard),
        Arc::new(alert_overview::AlertOverviewProjection),
        Arc::new(alert_full::AlertFullProjection),
        Arc::new(alert_queue::AlertQueueProjection),
        Arc::new(alert_statistics::AlertStatisticsProjection),
        Arc::new(subject_requests::SubjectRequests),
    ]
}

/// Finds a projection by name.
pub fn by_name(name: &str) -> Option<Arc<dyn Projection>> {
    all().into_iter().find(|p| p.name() == name)
}
