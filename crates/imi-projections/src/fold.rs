//! What the Authority projections share: reading a batch's Authority events, checking that each
//! aggregate's events arrive without holes, and folding a batch in memory over the rows it
//! touches, then writing them back set-wise (a handful of statements per batch, however many
//! events it holds).
//!
//! Rows travel as JSON in both directions: `to_jsonb(row)` to read, and
//! `json_populate_recordset(NULL::table, $1)` to write, so a row's Rust struct (with the
//! columns' names) is its only description besides the DDL.

use crate::copy_text::{Column, CopyRows};
use crate::projection::ProjectionError;
use crate::writes::Writes;
use imi_domain::authority::AuthorityEvent;
use imi_store::feed::FeedEvent;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::types::Json;
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
            e.event::<AuthorityEvent>()
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
pub async fn fold_authorities<R: DeserializeOwned + Send + Unpin + 'static>(
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
    // The rows and the sequences in one round trip.
    let (Json(last), Json(rows)): (Json<BTreeMap<String, i64>>, Json<Vec<R>>) =
        sqlx::query_as(&format!(
            "SELECT (SELECT coalesce(jsonb_object_agg(aggregate_id, sequence), '{{}}')
                   FROM sequences WHERE aggregate_id = ANY($1)),
                (SELECT coalesce(jsonb_agg(r), '[]') FROM ({select}) AS x(r))"
        ))
        .bind(&ids)
        .fetch_one(&mut *db)
        .await?;
    let mut sequences = Sequences {
        last,
        changed: BTreeSet::new(),
    };
    let mut rows: BTreeMap<String, R> = rows.into_iter().map(|r| (key(&r), r)).collect();
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
#[derive(Clone)]
pub struct Sequences {
    last: BTreeMap<String, i64>,
    changed: BTreeSet<String>,
}

impl Sequences {
    pub async fn load(db: &mut PgConnection, ids: &[String]) -> Result<Self, sqlx::Error> {
        // One statement for every projection's `sequences`, whose keys compare byte by byte in
        // some and under the database's collation in others: the answer names one collation,
        // else the server refuses a statement the connection prepared under another.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT aggregate_id COLLATE \"default\", sequence FROM sequences
              WHERE aggregate_id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&mut *db)
        .await?;
        Ok(Self {
            last: rows.into_iter().collect(),
            changed: BTreeSet::new(),
        })
    }

    /// Sequences known without the table (a rebuild's memory, see [`crate::fold_memory`]); an
    /// aggregate at 0 has had no event yet.
    pub(crate) fn known(last: impl IntoIterator<Item = (String, i64)>) -> Self {
        Self {
            last: last.into_iter().filter(|(_, s)| *s > 0).collect(),
            changed: BTreeSet::new(),
        }
    }

    /// Sequences a batch moved to, folded elsewhere (a shared fold, see [`crate::shared_fold`]):
    /// every one of them changed.
    pub(crate) fn moved(last: impl IntoIterator<Item = (String, i64)>) -> Self {
        let last: BTreeMap<String, i64> = last.into_iter().collect();
        Self {
            changed: last.keys().cloned().collect(),
            last,
        }
    }

    /// The last sequence accepted of `id` (0: none).
    pub(crate) fn last(&self, id: &str) -> i64 {
        self.last.get(id).copied().unwrap_or(0)
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
        // The id is copied only the first time it is seen.
        match self.last.get_mut(e.aggregate_id.as_str()) {
            Some(last) => *last = e.sequence,
            None => {
                self.last.insert(e.aggregate_id.clone(), e.sequence);
            }
        }
        if !self.changed.contains(e.aggregate_id.as_str()) {
            self.changed.insert(e.aggregate_id.clone());
        }
        Ok(())
    }

    /// The aggregates whose sequence moved, with their last sequence.
    pub fn changed(&self) -> impl Iterator<Item = (&str, i64)> {
        self.changed.iter().map(|id| (id.as_str(), self.last[id]))
    }

    pub async fn store(&self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        let mut writes = Writes::default();
        writes.sequences(self);
        writes.send(db).await
    }
}

/// The folded states of `ids`, as a projection keeps them in `table` (`{key} text PRIMARY KEY,
/// state jsonb NOT NULL`), and their sequences: one round trip for both.
pub async fn load_states<S: DeserializeOwned + Send + Unpin + 'static>(
    db: &mut PgConnection,
    table: &str,
    key: &str,
    ids: &[String],
) -> Result<(Sequences, BTreeMap<String, S>), sqlx::Error> {
    // Each state parsed straight into `S` (no JSON tree on the way).
    let rows: Vec<(String, Option<i64>, Option<Json<S>>)> = sqlx::query_as(&format!(
        "SELECT k.id, s.sequence, t.state FROM unnest($1::text[]) AS k(id)
           LEFT JOIN sequences s ON s.aggregate_id = k.id
           LEFT JOIN {table} t ON t.{key} = k.id"
    ))
    .bind(ids)
    .fetch_all(&mut *db)
    .await?;
    let mut last = BTreeMap::new();
    let mut states = BTreeMap::new();
    for (id, sequence, state) in rows {
        if let Some(Json(state)) = state {
            states.insert(id.clone(), state);
        }
        if let Some(sequence) = sequence {
            last.insert(id, sequence);
        }
    }
    Ok((
        Sequences {
            last,
            changed: BTreeSet::new(),
        },
        states,
    ))
}

/// Reads rows as JSON: `sql` selects one `jsonb` column and takes the ids as `$1`.
pub async fn load_rows<T: DeserializeOwned + Send + Unpin + 'static>(
    db: &mut PgConnection,
    sql: &str,
    ids: &[String],
) -> Result<Vec<T>, sqlx::Error> {
    let rows: Vec<Json<T>> = sqlx::query_scalar(sql).bind(ids).fetch_all(db).await?;
    Ok(rows.into_iter().map(|Json(row)| row).collect())
}

/// The sequences of `ids` and the rows of `table` whose pair of columns `(a, b)` is one of
/// `keys`, read as JSON in one round trip (each pair looked up in an index of `table` on the
/// pair, as [`TypedSequences::SELECT_JSON`] says).
pub async fn load_sequences_and_rows_by_pair<T: DeserializeOwned + Send + Unpin + 'static>(
    db: &mut PgConnection,
    ids: &[String],
    table: &str,
    (a, b): (&str, &str),
    keys: &BTreeSet<(String, String)>,
) -> Result<(Sequences, Vec<T>), sqlx::Error> {
    let (firsts, seconds): (Vec<&str>, Vec<&str>) =
        keys.iter().map(|(x, y)| (x.as_str(), y.as_str())).unzip();
    let (Json(last), Json(rows)): (Json<BTreeMap<String, i64>>, Json<Vec<T>>) =
        sqlx::query_as(&format!(
            "SELECT (SELECT coalesce(jsonb_object_agg(aggregate_id, sequence), '{{}}')
                   FROM sequences WHERE aggregate_id = ANY($1)),
                (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]')
                   FROM unnest($2::text[], $3::text[]) AS k(a, b)
                  CROSS JOIN LATERAL (SELECT * FROM {table} r
                                       WHERE (r.{a}, r.{b}) = (k.a, k.b) OFFSET 0) AS r)"
        ))
        .bind(ids)
        .bind(&firsts)
        .bind(&seconds)
        .fetch_one(db)
        .await?;
    let sequences = Sequences {
        last,
        changed: BTreeSet::new(),
    };
    Ok((sequences, rows))
}

/// Replaces the rows of `table` whose `key` is one of `ids` with `rows` (see [`Writes`]).
pub async fn replace_rows<T: Serialize>(
    db: &mut PgConnection,
    table: &'static str,
    key: &'static str,
    ids: &[String],
    rows: &[T],
) -> Result<(), sqlx::Error> {
    let mut writes = Writes::default();
    writes.replace(table, key, ids, rows)?;
    writes.send(db).await
}

/// Inserts `rows` (serialized with the table's column names) into `table` (see [`Writes`]).
pub async fn insert_rows<T: Serialize>(
    db: &mut PgConnection,
    table: &'static str,
    rows: &[T],
) -> Result<(), sqlx::Error> {
    let mut writes = Writes::default();
    writes.insert(table, rows)?;
    writes.send(db).await
}

/// Inserts `rows` into `table` with `COPY ... FROM STDIN` (text format), their fields in the
/// order of the table's columns ([`CopyRows::write`]).
pub(crate) async fn copy_rows(
    db: &mut PgConnection,
    table: &str,
    rows: &CopyRows,
) -> Result<(), sqlx::Error> {
    let columns: Vec<Column> = sqlx::query_as(
        "SELECT a.attname::text AS name, t.typname IN ('json', 'jsonb') AS json,
                t.typcategory = 'A' AS array
           FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
          WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY a.attnum",
    )
    .bind(table)
    .fetch_all(&mut *db)
    .await?;
    let mut text = Vec::new();
    rows.write(&columns, &mut text)?;
    let names: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.name)).collect();
    let mut copy = db
        .copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", names.join(", ")))
        .await?;
    copy.send(text).await?;
    copy.finish().await?;
    Ok(())
}

/// Decodes one JSON row read by a query.
pub fn decode<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, sqlx::Error> {
    serde_json::from_value(value).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Like [`Sequences`], keyed by aggregate type and id, for projections that read several
/// aggregate types (table `sequences (aggregate_type, aggregate_id, sequence)`).
pub struct TypedSequences {
    /// By type, then by id: an event is checked by borrowing its strings, not copying them
    /// (copying and comparing the pairs was about 4% of a long rebuild's CPU in a profile).
    last: BTreeMap<String, BTreeMap<String, Last>>,
}

/// An aggregate's last sequence, and whether it moved since it was read.
struct Last {
    sequence: i64,
    changed: bool,
}

impl TypedSequences {
    /// A scalar subquery answering, as one `jsonb` array, the sequences of the aggregates whose
    /// types and ids are bound as `$1` and `$2` ([`TypedSequences::keys`]), so that a
    /// projection reads them with its rows in one round trip ([`TypedSequences::from_json`]).
    ///
    /// Each pair is looked up in the key's index, through a `LATERAL` subquery that `OFFSET 0`
    /// keeps the planner from flattening: joined plainly to the pairs, a small table was read
    /// whole into a hash (0.5 ms for 1,700 sequences under `imi bench writes`, a tenth of that
    /// through the index; docs/BENCHMARKS.md). The same holds for rows looked up by a pair.
    pub const SELECT_JSON: &'static str =
        "SELECT coalesce(jsonb_agg(jsonb_build_array(s.aggregate_type, s.aggregate_id, s.sequence)),
                         '[]')
           FROM unnest($1::text[], $2::text[]) AS k(t, i)
          CROSS JOIN LATERAL (
                SELECT * FROM sequences s
                 WHERE (s.aggregate_type, s.aggregate_id) = (k.t, k.i) OFFSET 0) AS s";

    /// The types and ids of the aggregates of `events`, to bind for [`Self::SELECT_JSON`].
    pub fn keys(events: &[&FeedEvent]) -> (Vec<String>, Vec<String>) {
        let keys: BTreeSet<(&str, &str)> = events
            .iter()
            .map(|e| (e.aggregate_type.as_str(), e.aggregate_id.as_str()))
            .collect();
        keys.into_iter()
            .map(|(t, i)| (t.to_string(), i.to_string()))
            .unzip()
    }

    /// The sequences [`Self::SELECT_JSON`] answered.
    pub fn from_json(value: serde_json::Value) -> Result<Self, sqlx::Error> {
        let rows: Vec<(String, String, i64)> = decode(value)?;
        let mut last: BTreeMap<String, BTreeMap<String, Last>> = BTreeMap::new();
        for (t, i, sequence) in rows {
            let read = Last {
                sequence,
                changed: false,
            };
            last.entry(t).or_default().insert(i, read);
        }
        Ok(Self { last })
    }

    pub fn check(&mut self, e: &FeedEvent) -> Result<(), ProjectionError> {
        let ids = match self.last.get_mut(e.aggregate_type.as_str()) {
            Some(ids) => ids,
            None => self.last.entry(e.aggregate_type.clone()).or_default(),
        };
        let last = ids.get_mut(e.aggregate_id.as_str());
        let expected = last.as_ref().map_or(1, |l| l.sequence + 1);
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
        let moved = Last {
            sequence: e.sequence,
            changed: true,
        };
        match last {
            Some(last) => *last = moved,
            None => {
                ids.insert(e.aggregate_id.clone(), moved);
            }
        }
        Ok(())
    }

    /// The aggregates whose sequence moved (type, id), with their last sequence.
    pub fn changed(&self) -> impl Iterator<Item = (&str, &str, i64)> {
        self.last.iter().flat_map(|(t, ids)| {
            ids.iter()
                .filter(|(_, last)| last.changed)
                .map(move |(i, last)| (t.as_str(), i.as_str(), last.sequence))
        })
    }

    pub async fn store(&self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        let mut writes = Writes::default();
        writes.typed_sequences(self);
        writes.send(db).await
    }
}
