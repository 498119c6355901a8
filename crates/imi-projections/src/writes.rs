//! A projection's writes for one batch, gathered and then sent together.
//!
//! Live, a batch carries a few events and its cost is round trips, not rows: the writes go as
//! one simple query, their values inlined as dollar-quoted literals ([`dollar_quoted`]) that
//! nothing in them can end. In a rebuild ([`crate::fold_memory`]) a batch carries thousands of
//! events: each write goes on its own, rows through `COPY`.

use crate::copy_text::{array_element, CopyRows};
use crate::fold::{copy_rows, Sequences, TypedSequences};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgConnection;
use std::collections::BTreeMap;

/// One gathered write.
enum Write {
    /// Delete the rows of `table` whose `key` is in `ids`, then insert `rows`.
    Replace {
        table: &'static str,
        key: &'static str,
        ids: Vec<String>,
        rows: Rows,
    },
    /// Insert `rows` into `table`.
    Insert { table: &'static str, rows: Rows },
    /// Upsert the folded `states` (`{key} text PRIMARY KEY, state jsonb`) by id, each as its
    /// JSON text.
    States {
        table: &'static str,
        key: &'static str,
        states: BTreeMap<String, Box<RawValue>>,
    },
    /// Upsert the last sequence per aggregate (table `sequences`).
    Sequences(BTreeMap<String, i64>),
    /// Upsert the last sequence per aggregate type and id (table `sequences` of projections
    /// that read several types).
    TypedSequences(Vec<TypedSequence>),
    /// A statement without parameters.
    Sql(String),
}

/// Rows to write: live, the JSON text of an array of them (`json_populate_recordset` reads
/// it: a `json` column then keeps a value's text as serde wrote it, as `COPY` does); in a
/// rebuild, encoded for `COPY`.
enum Rows {
    Json { text: String, len: usize },
    Copy(CopyRows),
}

impl Rows {
    fn is_empty(&self) -> bool {
        match self {
            Rows::Json { len, .. } => *len == 0,
            Rows::Copy(rows) => rows.is_empty(),
        }
    }
}

/// The writes of one batch, in the order they are to run.
pub struct Writes {
    writes: Vec<Write>,
    /// Made in a rebuild's batch ([`crate::fold_memory`]): each write goes on its own, rows
    /// through `COPY`.
    rebuild: bool,
}

impl Default for Writes {
    fn default() -> Self {
        Self {
            writes: Vec::new(),
            rebuild: crate::fold_memory::current().is_some(),
        }
    }
}

/// A row of a `sequences` table keyed by aggregate type and id.
#[derive(Serialize)]
struct TypedSequence {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
}

impl Writes {
    /// Replaces the rows of `table` whose `key` is one of `ids` with `rows`.
    pub fn replace<T: Serialize>(
        &mut self,
        table: &'static str,
        key: &'static str,
        ids: &[String],
        rows: &[T],
    ) -> Result<(), sqlx::Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let rows = self.rows(rows)?;
        self.writes.push(Write::Replace {
            table,
            key,
            ids: ids.to_vec(),
            rows,
        });
        Ok(())
    }

    /// Inserts `rows` (serialized with the table's column names) into `table`.
    pub fn insert<T: Serialize>(
        &mut self,
        table: &'static str,
        rows: &[T],
    ) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows = self.rows(rows)?;
        self.writes.push(Write::Insert { table, rows });
        Ok(())
    }

    /// `rows` in the form this batch sends them.
    fn rows<T: Serialize>(&self, rows: &[T]) -> Result<Rows, sqlx::Error> {
        if self.rebuild {
            return Ok(Rows::Copy(CopyRows::encode(rows)?));
        }
        Ok(Rows::Json {
            text: json_text(rows)?,
            len: rows.len(),
        })
    }

    /// Stores folded states as [`crate::fold::load_states`] reads them.
    pub fn states<'s, S: Serialize + 's>(
        &mut self,
        table: &'static str,
        key: &'static str,
        states: impl IntoIterator<Item = (&'s str, &'s S)>,
    ) -> Result<(), sqlx::Error> {
        let states = states
            .into_iter()
            .map(|(id, state)| {
                let state = serde_json::value::to_raw_value(state)
                    .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
                Ok((id.to_string(), state))
            })
            .collect::<Result<BTreeMap<_, _>, sqlx::Error>>()?;
        if !states.is_empty() {
            self.writes.push(Write::States { table, key, states });
        }
        Ok(())
    }

    /// Stores the sequences that changed.
    pub fn sequences(&mut self, sequences: &Sequences) {
        let changed: BTreeMap<String, i64> = sequences
            .changed()
            .map(|(id, last)| (id.to_string(), last))
            .collect();
        if !changed.is_empty() {
            self.writes.push(Write::Sequences(changed));
        }
    }

    /// Stores the sequences that changed, by aggregate type and id.
    pub fn typed_sequences(&mut self, sequences: &TypedSequences) {
        let changed: Vec<TypedSequence> = sequences
            .changed()
            .map(|(aggregate_type, aggregate_id, sequence)| TypedSequence {
                aggregate_type: aggregate_type.to_string(),
                aggregate_id: aggregate_id.to_string(),
                sequence,
            })
            .collect();
        if !changed.is_empty() {
            self.writes.push(Write::TypedSequences(changed));
        }
    }

    /// Whether these are a rebuild's writes ([`crate::fold_memory`]): a projection may then
    /// leave to [`crate::projection::Projection::finish_rebuild`] what it can compute once
    /// from its finished tables.
    pub fn in_rebuild(&self) -> bool {
        self.rebuild
    }

    /// A statement without parameters (its values already inlined, see [`dollar_quoted`]).
    pub fn sql(&mut self, sql: String) {
        self.writes.push(Write::Sql(sql));
    }

    /// Runs the writes: one round trip live, one statement (or `COPY`) each in a rebuild.
    pub async fn send(self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        self.send_then(db, None).await
    }

    /// Sends the writes, then `then` (statements without parameters): live, all in one round
    /// trip. A failing write stops the statements after it, `then` included.
    pub async fn send_then(
        self,
        db: &mut PgConnection,
        then: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        if self.rebuild {
            for write in self.writes {
                write.run(db).await?;
            }
            if let Some(then) = then {
                sqlx::Executor::execute(&mut *db, then).await?;
            }
            return Ok(());
        }
        let mut statements = self
            .writes
            .iter()
            .map(Write::inlined)
            .collect::<Result<Vec<String>, _>>()?;
        statements.extend(then.map(str::to_string));
        if !statements.is_empty() {
            sqlx::Executor::execute(&mut *db, statements.join(";\n").as_str()).await?;
        }
        Ok(())
    }
}

impl Write {
    /// The write as SQL text with its values inlined.
    fn inlined(&self) -> Result<String, sqlx::Error> {
        Ok(match self {
            Write::Replace {
                table,
                key,
                ids,
                rows,
            } => {
                let mut sql = format!(
                    "DELETE FROM {table} WHERE {key} = ANY({}::text[])",
                    dollar_quoted(&text_array(ids))
                );
                if !rows.is_empty() {
                    sql.push_str(";\n");
                    sql.push_str(&insert_sql(table, rows)?);
                }
                sql
            }
            Write::Insert { table, rows } => insert_sql(table, rows)?,
            Write::States { table, key, states } => format!(
                "INSERT INTO {table} ({key}, state) SELECT key, value FROM jsonb_each({}::jsonb)
                 ON CONFLICT ({key}) DO UPDATE SET state = excluded.state",
                dollar_quoted(&json_text(states)?)
            ),
            Write::Sequences(last) => format!(
                "INSERT INTO sequences (aggregate_id, sequence)
                 SELECT key, value::bigint FROM jsonb_each_text({}::jsonb)
                 ON CONFLICT (aggregate_id) DO UPDATE SET sequence = excluded.sequence",
                dollar_quoted(&json_text(last)?)
            ),
            Write::TypedSequences(rows) => format!(
                "{TYPED_SEQUENCES} FROM jsonb_to_recordset({}::jsonb) AS {TYPED_ROW}
                 {TYPED_CONFLICT}",
                dollar_quoted(&json_text(rows)?)
            ),
            Write::Sql(sql) => sql.clone(),
        })
    }

    /// Runs the write on its own, with bound parameters (rows through `COPY`).
    async fn run(self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        match self {
            Write::Replace {
                table,
                key,
                ids,
                rows,
            } => {
                sqlx::query(&format!("DELETE FROM {table} WHERE {key} = ANY($1)"))
                    .bind(&ids)
                    .execute(&mut *db)
                    .await?;
                if !rows.is_empty() {
                    insert(db, table, &rows).await?;
                }
            }
            Write::Insert { table, rows } => insert(db, table, &rows).await?,
            Write::States { table, key, states } => {
                // As text, parsed once by the server (no JSON tree built on the way).
                let (ids, states): (Vec<String>, Vec<String>) = states
                    .into_iter()
                    .map(|(id, state)| (id, String::from(Box::<str>::from(state))))
                    .unzip();
                sqlx::query(&format!(
                    "INSERT INTO {table} ({key}, state)
                     SELECT k, s::jsonb FROM unnest($1::text[], $2::text[]) AS t(k, s)
                     ON CONFLICT ({key}) DO UPDATE SET state = excluded.state"
                ))
                .bind(&ids)
                .bind(&states)
                .execute(&mut *db)
                .await?;
            }
            Write::Sequences(last) => {
                let (ids, last): (Vec<String>, Vec<i64>) = last.into_iter().unzip();
                sqlx::query(
                    "INSERT INTO sequences (aggregate_id, sequence)
                     SELECT * FROM unnest($1::text[], $2::bigint[])
                     ON CONFLICT (aggregate_id) DO UPDATE SET sequence = excluded.sequence",
                )
                .bind(&ids)
                .bind(&last)
                .execute(&mut *db)
                .await?;
            }
            Write::TypedSequences(rows) => {
                let mut types = Vec::with_capacity(rows.len());
                let mut ids = Vec::with_capacity(rows.len());
                let mut sequences = Vec::with_capacity(rows.len());
                for row in rows {
                    types.push(row.aggregate_type);
                    ids.push(row.aggregate_id);
                    sequences.push(row.sequence);
                }
                sqlx::query(&format!(
                    "{TYPED_SEQUENCES} FROM unnest($1::text[], $2::text[], $3::bigint[])
                       AS s(aggregate_type, aggregate_id, sequence) {TYPED_CONFLICT}"
                ))
                .bind(&types)
                .bind(&ids)
                .bind(&sequences)
                .execute(&mut *db)
                .await?;
            }
            Write::Sql(sql) => {
                sqlx::Executor::execute(&mut *db, sql.as_str()).await?;
            }
        }
        Ok(())
    }
}

const TYPED_SEQUENCES: &str = "INSERT INTO sequences (aggregate_type, aggregate_id, sequence)
     SELECT aggregate_type, aggregate_id, sequence";
const TYPED_ROW: &str = "s(aggregate_type text, aggregate_id text, sequence bigint)";
const TYPED_CONFLICT: &str =
    "ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET sequence = excluded.sequence";

/// Inserts `rows` on their own: through `COPY` when encoded for it.
async fn insert(db: &mut PgConnection, table: &str, rows: &Rows) -> Result<(), sqlx::Error> {
    match rows {
        Rows::Copy(rows) => copy_rows(db, table, rows).await,
        Rows::Json { .. } => {
            sqlx::Executor::execute(&mut *db, insert_sql(table, rows)?.as_str()).await?;
            Ok(())
        }
    }
}

fn insert_sql(table: &str, rows: &Rows) -> Result<String, sqlx::Error> {
    let Rows::Json { text, .. } = rows else {
        return Err(sqlx::Error::Protocol(format!(
            "rows of {table} encoded for a rebuild's COPY, sent live"
        )));
    };
    Ok(format!(
        "INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, {}::json)",
        dollar_quoted(text)
    ))
}

/// The JSON text of values already encoded, written from where they are (no copy).
fn json_text<T: Serialize + ?Sized>(value: &T) -> Result<String, sqlx::Error> {
    serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// `ids` as the text of an array literal, each element quoted.
pub fn text_array(ids: &[String]) -> String {
    let mut array = String::from("{");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            array.push(',');
        }
        array_element(&mut array, id);
    }
    array.push('}');
    array
}

/// `sql` with its parameters `$1`, `$2`, ... replaced by `values` (SQL text: literals, casts),
/// in one pass, so that nothing in a value is read as a parameter. `sql` must hold no `$` but
/// its parameters'.
pub fn inlined(sql: &str, values: &[&str]) -> String {
    let mut out = String::with_capacity(sql.len() + values.iter().map(|v| v.len()).sum::<usize>());
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - at - 1);
        let value = rest[at + 1..at + 1 + digits]
            .parse::<usize>()
            .ok()
            .and_then(|n| values.get(n.checked_sub(1)?));
        match value {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[at..at + 1 + digits]),
        }
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    out
}

/// `texts` as an array literal, dollar-quoted (cast it: `{}::text[]`).
pub fn literal(texts: &[String]) -> String {
    dollar_quoted(&text_array(texts))
}

/// `text` as a dollar-quoted literal, with a tag that does not occur in it: no character of
/// the text is special inside, whatever the server's settings.
pub fn dollar_quoted(text: &str) -> String {
    let mut tag = "$v$".to_string();
    let mut n = 0;
    // The literal ends at the first tag after the opening one: that must be the closing one
    // (the text may hold the tag, or end in a part of it).
    while format!("{text}{tag}").find(&tag) != Some(text.len()) {
        n += 1;
        tag = format!("$v{n}$");
    }
    format!("{tag}{text}{tag}")
}
