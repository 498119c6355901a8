//! The retention delays of each legislative area (`reference.legislative_areas.retention`,
//! migration 0015), read by the aggregates whenever a delay is checked and by the scheduler
//! when it computes what is due: both see the same delays, and a change applies to every
//! exchange not yet past it.

use crate::alert_bus::SharedAlertServices;
use crate::authority_lookup::StoreLookup;
use crate::request_bus::SharedRequestServices;
use imi_domain::authority::{LegislativeArea, Lookup, LookupError};
use imi_domain::retention::{Retention, RetentionPeriods};
use sqlx::PgPool;

tokio::task_local! {
    /// The delays read so far by the batch running in this task (see [`reading_delays_once`]).
    static READ: std::cell::RefCell<std::collections::HashMap<String, Retention>>;
}

/// Runs `f` (a batch of decisions taken together) reading each area's delays once: the
/// batch decides on one reading, as one command does.
pub async fn reading_delays_once<T>(f: impl std::future::Future<Output = T>) -> T {
    READ.scope(Default::default(), f).await
}

/// The delays of `area`; the Regulation's defaults for an unknown area or one without them.
pub async fn retention(pool: &PgPool, area: &str) -> Result<Retention, sqlx::Error> {
    if let Ok(Some(read)) = READ.try_with(|read| read.borrow().get(area).copied()) {
        return Ok(read);
    }
    let delays = read_retention(pool, area).await?;
    let _ = READ.try_with(|read| read.borrow_mut().insert(area.to_string(), delays));
    Ok(delays)
}

async fn read_retention(pool: &PgPool, area: &str) -> Result<Retention, sqlx::Error> {
    let stored: Option<Option<serde_json::Value>> =
        sqlx::query_scalar("SELECT retention FROM reference.legislative_areas WHERE code = $1")
            .bind(area)
            .fetch_optional(pool)
            .await?;
    Ok(stored
        .flatten()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

#[async_trait::async_trait]
impl RetentionPeriods for StoreLookup {
    async fn retention(&self, area: &LegislativeArea) -> Lookup<Retention> {
        retention(self.pool(), area.code())
            .await
            .map_err(|e| LookupError(format!("database: {e}")))
    }
}

#[async_trait::async_trait]
impl RetentionPeriods for SharedRequestServices {
    async fn retention(&self, area: &LegislativeArea) -> Lookup<Retention> {
        self.0.retention(area).await
    }
}

#[async_trait::async_trait]
impl RetentionPeriods for SharedAlertServices {
    async fn retention(&self, area: &LegislativeArea) -> Lookup<Retention> {
        self.0.retention(area).await
    }
}

/// Deletes the personal data of the exchange whose data key is `key_id`: the key is erased
/// (every value sealed under it, in every event, reads as erased from then on; the events and
/// their hash chain stay as they are) and its attachments' bytes, sealed under that key and
/// unreadable from then on, are removed. Idempotent: true if the key was erased now.
pub async fn delete_personal_data(
    pool: &PgPool,
    keys: &crate::sealing::KeyRing,
    key_id: &str,
    by: &str,
) -> Result<bool, crate::sealing::SealError> {
    erase_exchange(
        pool,
        keys,
        key_id,
        by,
        "retention: the deletion delay after formal closure passed",
    )
    .await
}

/// As [`delete_personal_data`], for `reason` (a data subject's request).
pub async fn erase_exchange(
    pool: &PgPool,
    keys: &crate::sealing::KeyRing,
    key_id: &str,
    by: &str,
    reason: &str,
) -> Result<bool, crate::sealing::SealError> {
    let erased = keys.erase(key_id, by, reason).await?;
    sqlx::query("DELETE FROM attachments WHERE key_id = $1")
        .bind(key_id)
        .execute(pool)
        .await?;
    Ok(erased)
}

/// As [`delete_personal_data`] for many exchanges at once: their keys erased in one
/// statement, their attachments' bytes removed in another. Idempotent: returns the keys
/// erased now (the others were erased already).
pub async fn delete_personal_data_of_many(
    pool: &PgPool,
    keys: &crate::sealing::KeyRing,
    key_ids: &[String],
    by: &str,
) -> Result<Vec<String>, crate::sealing::SealError> {
    let erased = keys
        .erase_many(
            key_ids,
            by,
            "retention: the deletion delay after formal closure passed",
        )
        .await?;
    sqlx::query("DELETE FROM attachments WHERE key_id = ANY($1)")
        .bind(key_ids)
        .execute(pool)
        .await?;
    Ok(erased)
}

/// Whether aggregate `aggregate_type`/`aggregate_id` records an event of data subject's
/// request `subject_request` (its payload names it): the exchange's side of carrying the
/// request out was written.
pub async fn recorded_for_subject_request(
    pool: &PgPool,
    aggregate_type: &str,
    aggregate_id: &str,
    subject_request: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM events WHERE aggregate_type = $1 AND aggregate_id = $2
            AND payload -> event_type ->> 'subject_request' = $3)",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .bind(subject_request)
    .fetch_one(pool)
    .await
}
