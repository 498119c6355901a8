//! What the Authority projections share: reading a batch's Authority events, checking that each
//! aggregate's events arrive without holes, and folding a batch in memory over the rows it
//! touches, then writing them back set-wise (a handful of statements per batch, however many
//! events it holds).
//!
//! Rows travel as JSON in both directions: `to_jsonb(row)` to read, and
//! `jsonb_populate_recordset(NULL::table, $1)` to write, so a row's Rust struct (with the
//! columns' names) is its only description besides the DDL.

use crate::projection::ProjectionError;
use imi_domain::authority::AuthorityEvent;
use imi_store::feed::FeedEvent;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use std::collections::{BTreeMap, BTreeSet};

/// The aggregate type of authorities in the log.
pub const AUTHORITY: &str = "Authority";

/// The batch's Authority events, decoded, in feed order.
pub fn authority_events(
    events: &[FeedEvent],
) -> Result<Vec<(&FeedEvent, AuthorityEvent)>, ProjectionError> {
    events
        .iter()
        .filter(|e| e.aggregate_type == AUTHORITY)
        .map(|e| {
            AuthorityEvent::deserialize(&e.payload)
                .map(|event| (e, event))
                .map_err(|err| ProjectionError::unreadable(e, err))
        })
        .collect()
}

/// A batch folded over rows keyed by authority id.
pub struct Folded<R> {
    pub rows: BTreeMap<String, R>,
    /// Ids of the rows the batch changed (and that exist), sorted.
    pub changed: Vec<String>,
    /// The sequences to store with the rows.
    pub sequences: Sequences,
}

impl<R> Folded<R> {
    /// The changed rows, in id order.
    pub fn changed_rows(&self) -> Vec<&R> {
        self.changed.iter().map(|id| &self.rows[id]).collect()
    }
}

/// Folds a batch's Authority events over rows keyed by authority id: loads the rows of the
/// authorities in the batch with `select` (one `jsonb` column, the ids as `$1`), checks each
/// aggregate's sequence, and lets `apply` change the rows (it answers whether it changed one).
/// `None` when the batch holds no Authority event.
pub async fn fold_authorities<R: DeserializeOwned>(
    db: &mut PgConnection,
    events: &[FeedEvent],
    select: &str,
    key: impl Fn(&R) -> String,
    mut apply: impl FnMut(&mut BTreeMap<String, R>, &FeedEvent, AuthorityEvent) -> bool,
) -> Result<Option<Folded<R>>, ProjectionError> {
    let events = authority_events(events)?;
    if events.is_empty() {
        return Ok(None);
    }
    let ids = ids_of(&events);
    let mut sequences = Sequences::load(db, &ids).await?;
    let mut rows: BTreeMap<String, R> = load_rows::<R>(db, select, &ids)
        .await?
        .into_iter()
        .map(|r| (key(&r), r))
        .collect();
    let mut changed = BTreeSet::new();
    for (e, event) in events {
        sequences.check(e)?;
        if apply(&mut rows, e, event) {
            changed.insert(e.aggregate_id.clone());
        }
    }
    let changed = changed
        .into_iter()
        .filter(|id| rows.contains_key(id))
        .collect();
    Ok(Some(Folded {
        rows,
        changed,
        sequences,
    }))
}

/// The ids of the aggregates in a batch.
pub fn ids_of(events: &[(&FeedEvent, AuthorityEvent)]) -> Vec<String> {
    let ids: BTreeSet<&str> = events
        .iter()
        .map(|(e, _)| e.aggregate_id.as_str())
        .collect();
    ids.into_iter().map(str::to_string).collect()
}

/// The last sequence applied per aggregate (the table `sequences (aggregate_id text PRIMARY
/// KEY, sequence bigint NOT NULL)` every Authority projection's SQL file creates):
/// every event must be its aggregate's next one. Feed order equals sequence order per
/// aggregate (the store guarantees it), so a gap or a repeat means the log and the
/// projection disagree, and applying on would build wrong tables.
pub struct Sequences {
    last: BTreeMap<String, i64>,
    changed: BTreeSet<String>,
}

impl Sequences {
    pub async fn load(db: &mut PgConnection, ids: &[String]) -> Result<Self, sqlx::Error> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT aggregate_id, sequence FROM sequences WHERE aggregate_id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&mut *db)
        .await?;
        Ok(Self {
            last: rows.into_iter().collect(),
            changed: BTreeSet::new(),
        })
    }

    /// Accepts `e` if it is its aggregate's next event.
    pub fn check(&mut self, e: &FeedEvent) -> Result<(), ProjectionError> {
        let expected = self.last.get(&e.aggregate_id).map_or(1, |s| s + 1);
        if e.sequence != expected {
            return Err(ProjectionError::unreadable(
                e,
                format!(
                    "{} {} arrived as sequence {} where {expected} was next: the feed has a hole \
                     or a repeat",
                    e.aggregate_type, e.aggregate_id, e.sequence
                ),
            ));
        }
        self.last.insert(e.aggregate_id.clone(), e.sequence);
        self.changed.insert(e.aggregate_id.clone());
        Ok(())
    }

    pub async fn store(&self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.changed.is_empty() {
            return Ok(());
        }
        let (ids, seqs): (Vec<&str>, Vec<i64>) = self
            .changed
            .iter()
            .map(|id| (id.as_str(), self.last[id]))
            .unzip();
        sqlx::query(
            "INSERT INTO sequences (aggregate_id, sequence)
             SELECT * FROM unnest($1::text[], $2::bigint[])
             ON CONFLICT (aggregate_id) DO UPDATE SET sequence = excluded.sequence",
        )
        .bind(&ids)
        .bind(&seqs)
        .execute(db)
        .await?;
        Ok(())
    }
}

/// Reads rows as JSON: `sql` selects one `jsonb` column and takes the ids as `$1`.
pub async fn load_rows<T: DeserializeOwned>(
    db: &mut PgConnection,
    sql: &str,
    ids: &[String],
) -> Result<Vec<T>, sqlx::Error> {
    let values: Vec<serde_json::Value> = sqlx::query_scalar(sql).bind(ids).fetch_all(db).await?;
    values
        .into_iter()
        .map(|v| serde_json::from_value(v).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .collect()
}

/// Replaces the rows of `table` whose `key` is one of `ids` with `rows`.
pub async fn replace_rows<T: Serialize>(
    db: &mut PgConnection,
    table: &str,
    key: &str,
    ids: &[String],
    rows: &[T],
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(&format!("DELETE FROM {table} WHERE {key} = ANY($1)"))
        .bind(ids)
        .execute(&mut *db)
        .await?;
    insert_rows(db, table, rows).await
}

/// Inserts `rows` (serialized with the table's column names) into `table`.
pub async fn insert_rows<T: Serialize>(
    db: &mut PgConnection,
    table: &str,
    rows: &[T],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_value(rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(&format!(
        "INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, $1)"
    ))
    .bind(json)
    .execute(db)
    .await?;
    Ok(())
}

/// Decodes one JSON row read by a query.
pub fn decode<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, sqlx::Error> {
    serde_json::from_value(value).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Like [`Sequences`], keyed by aggregate type and id, for projections that read several
/// aggregate types (table `sequences (aggregate_type, aggregate_id, sequence)`).
pub struct TypedSequences {
    last: BTreeMap<(String, String), i64>,
    changed: BTreeSet<(String, String)>,
}

impl TypedSequences {
    pub async fn load(db: &mut PgConnection, events: &[&FeedEvent]) -> Result<Self, sqlx::Error> {
        let keys: BTreeSet<(&str, &str)> = events
            .iter()
            .map(|e| (e.aggregate_type.as_str(), e.aggregate_id.as_str()))
            .collect();
        let (types, ids): (Vec<&str>, Vec<&str>) = keys.into_iter().unzip();
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT s.aggregate_type, s.aggregate_id, s.sequence FROM sequences s
               JOIN unnest($1::text[], $2::text[]) AS k(t, i)
                 ON (s.aggregate_type, s.aggregate_id) = (k.t, k.i)",
        )
        .bind(&types)
        .bind(&ids)
        .fetch_all(&mut *db)
        .await?;
        Ok(Self {
            last: rows.into_iter().map(|(t, i, s)| ((t, i), s)).collect(),
            changed: BTreeSet::new(),
        })
    }

    pub fn check(&mut self, e: &FeedEvent) -> Result<(), ProjectionError> {
        let key = (e.aggregate_type.clone(), e.aggregate_id.clone());
        let expected = self.last.get(&key).map_or(1, |s| s + 1);
        if e.sequence != expected {
            return Err(ProjectionError::unreadable(
                e,
                format!(
                    "{} {} arrived as sequence {} where {expected} was next: the feed has a hole \
                     or a repeat",
                    e.aggregate_type, e.aggregate_id, e.sequence
                ),
            ));
        }
        self.last.insert(key.clone(), e.sequence);
        self.changed.insert(key);
        Ok(())
    }

    pub async fn store(&self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.changed.is_empty() {
            return Ok(());
        }
        let mut types = Vec::new();
        let mut ids = Vec::new();
        let mut seqs = Vec::new();
        for key in &self.changed {
            types.push(key.0.as_str());
            ids.push(key.1.as_str());
            seqs.push(self.last[key]);
        }
        sqlx::query(
            "INSERT INTO sequences (aggregate_type, aggregate_id, sequence)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
             ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET sequence = excluded.sequence",
        )
        .bind(&types)
        .bind(&ids)
        .bind(&seqs)
        .execute(db)
        .await?;
        Ok(())
    }
}
