//! The IMI event store: migrations, postgres-es wiring, the global feed, sealed personal data,
//! audit verification, reference data, the Authority aggregate's lookup and bus, the
//! InformationRequest aggregate's bus and its attachments, and the Alert aggregate's bus.

pub use sqlx::PgPool;

/// The project's migrations (event store, keys, credentials, projection bookkeeping).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies the migrations not yet applied.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Whether every migration this build knows has been applied.
pub async fn migrations_applied(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await?;
    Ok(applied as usize >= MIGRATOR.iter().count())
}

pub mod alert_bus;
pub mod as_of;
pub mod attachments;
pub mod audit;
pub mod authority_bus;
pub mod authority_cache;
pub mod authority_lookup;
pub mod clock;
pub mod commands;
pub mod credentials;
mod event_rows;
pub mod export;
pub mod feed;
pub mod guard;
pub mod history;
pub mod metadata;
mod per_database;
pub mod pool;
pub mod processing_log;
pub mod question_sets;
pub mod reference;
pub mod registration_codes;
pub mod replica;
pub mod repository;
pub mod request_bus;
pub mod retention;
pub mod sealing;
pub mod seals;
pub mod subject_request_bus;
pub mod throttle;
pub mod trace;
pub mod training;
pub mod upcasting;
pub mod wake;
