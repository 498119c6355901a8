//! Helpers shared by the store tests.

use sqlx::PgPool;

pub async fn migrated() -> PgPool {
    let db = imi_testkit::fresh_database().await;
    imi_store::migrate(&db.pool)
        .await
        .expect("migrations apply");
    db.pool
}

/// Inserts one event the way postgres-es does (named columns; the rest from defaults and the
/// trigger).
pub async fn insert<'e>(
    db: impl sqlx::PgExecutor<'e>,
    aggregate_id: &str,
    sequence: i64,
    payload: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Test', $1, $2, 'Happened', '1', $3, '{}')",
    )
    .bind(aggregate_id)
    .bind(sequence)
    .bind(payload)
    .execute(db)
    .await
    .map(|_| ())
}

/// Changes the log around its append-only triggers, as a superuser could: what audits must find.
pub async fn tamper(pool: &PgPool, sql: &str) {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE events DISABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
    sqlx::query("ALTER TABLE events ENABLE TRIGGER USER")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}
