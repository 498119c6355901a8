//! What a projection is: a name, a version, its tables and a function applying a batch.

use crate::writes::Writes;
use imi_store::feed::FeedEvent;
use sqlx::PgConnection;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// An event the projection cannot read: the log and the code disagree.
    #[error("cannot read event {position} ({event_type}): {reason}")]
    Unreadable {
        position: i64,
        event_type: String,
        reason: String,
    },
    /// The connection holding the runner's active lock was lost: another runner may be active
    /// now, so this one stops (and is restarted as a standby).
    #[error("lost the active lock of projection {0}")]
    LostActiveLock(String),
}

impl ProjectionError {
    pub fn unreadable(event: &FeedEvent, reason: impl ToString) -> Self {
        Self::Unreadable {
            position: event.at.position,
            event_type: event.event_type.clone(),
            reason: reason.to_string(),
        }
    }
}

/// A read model built from the feed.
///
/// `apply` runs inside the transaction that also moves the checkpoint, with `search_path` set
/// to the schema being built (the live one or a rebuild's shadow), so its SQL names tables
/// without a schema. Batches are large during rebuilds: apply them set-wise where it matters.
/// It answers the batch's last writes, which its caller sends after it (the engine in one round
/// trip with the next projection's start): a projection writes nothing after them.
#[async_trait::async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Also the name of the schema its live tables live in.
    fn name(&self) -> &'static str;
    /// Bump it when the tables or the meaning of `apply` change: the runner then rebuilds.
    fn version(&self) -> i32;
    /// The DDL of its tables (projections/NAME.sql), run in an empty schema. Indexes that only
    /// readers use come last, after the line [`READER_INDEXES`]: a rebuild creates them once
    /// its tables are full.
    fn tables_sql(&self) -> &'static str;
    /// The aggregate types whose events `apply` reads (`None`: every event). Events of other
    /// types never reach `apply`, yet the checkpoint moves past them; a rebuild counts its
    /// progress against the events of these types.
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        None
    }
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError>;
    /// Completes a rebuild's shadow once its batches are done (`search_path` set to it), in
    /// the transaction that then creates its reader indexes: what `apply` left out of a
    /// rebuild's batches ([`Writes::in_rebuild`]) because it is cheaper computed once from
    /// the finished tables. Must leave the tables as the live path would have (the
    /// rebuild-equals-incremental tests compare them), and be idempotent: a rebuild without
    /// a fold memory applies its batches as the live path does, then calls it too.
    async fn finish_rebuild(&self, _db: &mut PgConnection) -> Result<(), ProjectionError> {
        Ok(())
    }
}

/// The line of a projection's DDL after which come the indexes `apply` never reads through
/// (primary keys of tables it only appends to among them).
/// A rebuild's shadow is created without them and gets them when its tables are full: one
/// sort per index instead of an index update per row written (docs/BENCHMARKS.md).
pub const READER_INDEXES: &str = "-- Indexes for readers only";

/// A projection's DDL split at [`READER_INDEXES`]: its tables with the indexes `apply` needs,
/// then the indexes only readers use (empty when the marker is absent).
pub fn split_reader_indexes(tables_sql: &str) -> (&str, &str) {
    let marker = tables_sql
        .match_indices(READER_INDEXES)
        .map(|(at, _)| at)
        .find(|&at| at == 0 || tables_sql[..at].ends_with('\n'));
    match marker {
        Some(at) => tables_sql.split_at(at),
        None => (tables_sql, ""),
    }
}

/// The schema a projection's slot lives in.
pub fn schema_of(name: &str, slot: Slot) -> String {
    match slot {
        Slot::Live => name.to_string(),
        Slot::Shadow => format!("{name}__build"),
    }
}

/// Which copy of a projection's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The tables queries read.
    Live,
    /// A blue/green rebuild in progress.
    Shadow,
}

impl Slot {
    pub fn as_str(self) -> &'static str {
        match self {
            Slot::Live => "live",
            Slot::Shadow => "shadow",
        }
    }
}

/// The events of `events` that `projection` reads (see [`Projection::aggregate_types`]),
/// borrowed when that is all of them.
pub fn read_by<'a>(
    projection: &dyn Projection,
    events: &'a [FeedEvent],
) -> std::borrow::Cow<'a, [FeedEvent]> {
    let Some(types) = projection.aggregate_types() else {
        return events.into();
    };
    let reads = |e: &FeedEvent| types.contains(&e.aggregate_type.as_str());
    if events.iter().all(reads) {
        events.into()
    } else {
        events
            .iter()
            .filter(|e| reads(e))
            .cloned()
            .collect::<Vec<_>>()
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ddl_splits_at_the_marker_line_only() {
        let sql =
            "CREATE TABLE t (a int);\n-- Indexes for readers only\nCREATE INDEX i ON t (a);\n";
        assert_eq!(
            split_reader_indexes(sql),
            (
                "CREATE TABLE t (a int);\n",
                "-- Indexes for readers only\nCREATE INDEX i ON t (a);\n"
            )
        );
        let inline = "CREATE TABLE t (a int); -- Indexes for readers only\n";
        assert_eq!(split_reader_indexes(inline), (inline, ""));
        assert_eq!(
            split_reader_indexes("CREATE TABLE t (a int);"),
            ("CREATE TABLE t (a int);", "")
        );
    }

    /// Only indexes and keys after the marker: a table there would be missing while a rebuild
    /// applies.
    #[test]
    fn after_the_marker_every_projection_has_indexes_only() {
        for p in crate::all() {
            let (_, readers) = split_reader_indexes(p.tables_sql());
            for statement in readers.split(';') {
                let code: Vec<&str> = statement
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with("--"))
                    .collect();
                if let Some(first) = code.first() {
                    let key =
                        first.starts_with("ALTER TABLE ") && first.contains(" ADD PRIMARY KEY ");
                    assert!(
                        first.starts_with("CREATE INDEX ") || key,
                        "{}: `{first}` after the reader indexes' marker",
                        p.name()
                    );
                }
            }
        }
    }
}
