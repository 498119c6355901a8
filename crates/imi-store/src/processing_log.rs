//! The processing log (migration `0014_processing_log.sql`): who opened which personal data of
//! which exchange, when, at which view level and for which operation. The application layer
//! writes it where it opens personal data; this module writes, reads and verifies it.

use crate::audit::event_hash_parts;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;
use sqlx::{PgPool, Row};

/// Whether personal data were read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Kind {
    Read,
    Write,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
        }
    }
}

/// One processing of one exchange's personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Processing {
    /// The data key the values are sealed under (`InformationRequest/<id>`, ...).
    pub exchange: String,
    pub kind: Kind,
    /// The use case that asked for it: its purpose.
    pub operation: String,
    pub fields: Vec<String>,
    /// The view level of a read.
    pub level: Option<String>,
    /// `user:<id>` or `system:<process>`.
    pub acting_user: String,
    pub acting_authority: Option<String>,
}

/// Nanoseconds this process spent appending to the log, all callers together.
static WRITING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The time this process spent appending entries so far: what the log costs the reads and
/// writes that record themselves (`imi bench processing-log` subtracts it per view).
pub fn time_spent_writing() -> std::time::Duration {
    std::time::Duration::from_nanos(WRITING.load(std::sync::atomic::Ordering::Relaxed))
}

/// Appends `entry` to its exchange's chain.
pub async fn record(pool: &PgPool, entry: &Processing) -> Result<(), sqlx::Error> {
    let started = std::time::Instant::now();
    let written = append(pool, entry).await;
    let spent = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    WRITING.fetch_add(spent, std::sync::atomic::Ordering::Relaxed);
    written
}

async fn append(pool: &PgPool, entry: &Processing) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO processing_log
             (exchange, kind, operation, fields, level, acting_user, acting_authority)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&entry.exchange)
    .bind(entry.kind.as_str())
    .bind(&entry.operation)
    .bind(&entry.fields)
    .bind(&entry.level)
    .bind(&entry.acting_user)
    .bind(&entry.acting_authority)
    .execute(pool)
    .await?;
    Ok(())
}

/// An entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub exchange: String,
    pub sequence: i64,
    pub kind: String,
    pub operation: String,
    pub fields: Vec<String>,
    pub level: Option<String>,
    pub acting_user: String,
    pub acting_authority: Option<String>,
}

/// Which entries to list; all given conditions hold.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub exchange: Option<String>,
    pub acting_user: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only entries by users of these authorities (a Member State's, for its data protection
    /// officers).
    pub acting_authorities: Option<Vec<String>>,
    /// Only entries after this id (paging).
    pub after: Option<i64>,
    pub limit: i64,
}

/// Entries in the order they were written.
pub async fn entries(pool: &PgPool, filter: &Filter) -> Result<Vec<Entry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, at, exchange, sequence, kind, operation, fields, level, acting_user,
                acting_authority
           FROM processing_log
          WHERE ($1::text IS NULL OR exchange = $1)
            AND ($2::text IS NULL OR acting_user = $2)
            AND ($3::timestamptz IS NULL OR at >= $3)
            AND ($4::timestamptz IS NULL OR at < $4)
            AND ($6::text[] IS NULL OR acting_authority = ANY($6))
            AND ($7::bigint IS NULL OR id > $7)
          ORDER BY id
          LIMIT $5",
    )
    .bind(&filter.exchange)
    .bind(&filter.acting_user)
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.limit)
    .bind(&filter.acting_authorities)
    .bind(filter.after)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Entry {
                id: row.try_get("id")?,
                at: row.try_get("at")?,
                exchange: row.try_get("exchange")?,
                sequence: row.try_get("sequence")?,
                kind: row.try_get("kind")?,
                operation: row.try_get("operation")?,
                fields: row.try_get("fields")?,
                level: row.try_get("level")?,
                acting_user: row.try_get("acting_user")?,
                acting_authority: row.try_get("acting_authority")?,
            })
        })
        .collect()
}

/// What verifying the log's chains found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogReport {
    pub entries_checked: u64,
    pub exchanges_checked: u64,
    /// The first broken link: the exchange, the sequence and what is wrong.
    pub first_broken: Option<(String, i64, String)>,
}

/// Recomputes every entry's hash outside the database, chain by chain.
pub async fn verify(pool: &PgPool) -> Result<LogReport, sqlx::Error> {
    // Pruned chains continue from their anchor.
    let anchors: std::collections::HashMap<String, (i64, Vec<u8>)> =
        sqlx::query_as::<_, (String, i64, Vec<u8>)>(
            "SELECT exchange, sequence, hash FROM processing_log_anchors",
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(exchange, sequence, hash)| (exchange, (sequence, hash)))
        .collect();
    let mut rows = sqlx::query(
        "SELECT exchange, sequence, kind, operation, array_to_string(fields, chr(30)) AS fields,
                coalesce(level, '') AS level, acting_user,
                coalesce(acting_authority, '') AS acting_authority,
                to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at,
                prev_hash, hash
           FROM processing_log ORDER BY exchange, sequence",
    )
    .fetch(pool);
    let mut report = LogReport::default();
    let mut chain: Option<(String, i64, Vec<u8>)> = None;
    while let Some(row) = rows.try_next().await? {
        let exchange: String = row.try_get("exchange")?;
        let sequence: i64 = row.try_get("sequence")?;
        let prev_hash: Option<Vec<u8>> = row.try_get("prev_hash")?;
        let hash: Vec<u8> = row.try_get("hash")?;
        let same = chain.as_ref().is_some_and(|(e, _, _)| *e == exchange);
        if !same {
            report.exchanges_checked += 1;
        }
        report.entries_checked += 1;
        if report.first_broken.is_some() {
            continue;
        }
        let (expected_sequence, expected_prev) = match (&chain, anchors.get(&exchange)) {
            (Some((_, last, hash)), _) if same => (last + 1, Some(hash.clone())),
            (_, Some((anchored, hash))) => (anchored + 1, Some(hash.clone())),
            _ => (1, None),
        };
        let broken = |problem: &str| Some((exchange.clone(), sequence, problem.to_string()));
        if sequence != expected_sequence {
            report.first_broken = broken("an entry is missing before this one");
        } else if prev_hash != expected_prev {
            report.first_broken = broken("its previous hash is not its predecessor's hash");
        } else {
            let fields: [String; 9] = [
                exchange.clone(),
                sequence.to_string(),
                row.try_get("kind")?,
                row.try_get("operation")?,
                row.try_get("fields")?,
                row.try_get("level")?,
                row.try_get("acting_user")?,
                row.try_get("acting_authority")?,
                row.try_get("at")?,
            ];
            let computed = event_hash_parts(prev_hash.as_deref(), &fields);
            if computed.as_slice() != hash.as_slice() {
                report.first_broken = broken("its hash does not match its content");
            }
        }
        chain = Some((exchange, sequence, hash));
    }
    Ok(report)
}

/// Prunes the entries written before `before`, oldest first per exchange (a chain loses only
/// a prefix: an entry stays while an earlier one must), keeping each exchange's last pruned
/// entry as its anchor. Returns how many entries were pruned.
pub async fn prune(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let mut tx = crate::pool::begin(pool).await?;
    sqlx::query("SELECT set_config('imi.pruning', 'on', true)")
        .execute(&mut *tx)
        .await?;
    // Writers of an exchange take its advisory lock; pruning takes the table's, so no entry
    // is chained to one being pruned.
    sqlx::query("LOCK TABLE processing_log IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "WITH upto AS (
             SELECT exchange,
                    coalesce(min(sequence) FILTER (WHERE at >= $1) - 1, max(sequence)) AS sequence
               FROM processing_log GROUP BY exchange
         )
         INSERT INTO processing_log_anchors (exchange, sequence, hash)
         SELECT p.exchange, p.sequence, p.hash
           FROM processing_log p JOIN upto u USING (exchange, sequence)
         ON CONFLICT (exchange) DO UPDATE
            SET sequence = EXCLUDED.sequence, hash = EXCLUDED.hash, pruned_at = now()",
    )
    .bind(before)
    .execute(&mut *tx)
    .await?;
    let pruned = sqlx::query(
        "DELETE FROM processing_log p USING processing_log_anchors a
          WHERE p.exchange = a.exchange AND p.sequence <= a.sequence",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(pruned)
}

/// Months an entry is kept after it was written: 3 years plus the longest deletion delay of any
/// legislative area (so at least as long as the data it traces may be processed, and asked
/// about, in every area).
pub const RETENTION_BEYOND_DELETION_MONTHS: i32 = 36;

/// Prunes the entries past the log's retention at `now`; returns how many.
pub async fn prune_expired(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let before: DateTime<Utc> = sqlx::query_scalar(
        "SELECT $1::timestamptz - make_interval(months => $2 + greatest(
                    coalesce(max((retention #>> '{requests,deletion_months}')::int), 36),
                    coalesce(max((retention #>> '{alerts,deletion_months}')::int), 36)))
           FROM reference.legislative_areas",
    )
    .bind(now)
    .bind(RETENTION_BEYOND_DELETION_MONTHS)
    .fetch_one(pool)
    .await?;
    prune(pool, before).await
}
