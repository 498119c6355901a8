//! Events appended in one statement: their columns, and the `INSERT` that appends them in
//! order through the hash-chain trigger, their payload and metadata stored with the text
//! postgres-es stores for a bound value (`jsonb`'s). A command's append (`repository`) and a
//! batch of commands (`commands::batch`) both write through it.

use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::Postgres;

/// Appends the events `$2` to `$7` ([`EventRows`]) of aggregate type `$1`, in their order.
macro_rules! insert_events {
    () => {
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         SELECT $1, r.id, r.sequence, r.event_type, r.event_version, r.payload::jsonb::json, r.metadata::jsonb::json
           FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
                WITH ORDINALITY AS r(id, sequence, event_type, event_version, payload, metadata, n)
          ORDER BY r.n"
    };
}
pub(crate) use insert_events;

/// The columns of the events to append, in the order of appending.
#[derive(Default)]
pub(crate) struct EventRows {
    ids: Vec<String>,
    sequences: Vec<i64>,
    event_types: Vec<String>,
    event_versions: Vec<String>,
    payloads: Vec<String>,
    metadata: Vec<String>,
}

impl EventRows {
    /// One event, its payload and metadata as JSON text.
    pub(crate) fn push(
        &mut self,
        id: &str,
        sequence: i64,
        event_type: String,
        event_version: String,
        payload: String,
        metadata: String,
    ) {
        self.ids.push(id.to_string());
        self.sequences.push(sequence);
        self.event_types.push(event_type);
        self.event_versions.push(event_version);
        self.payloads.push(payload);
        self.metadata.push(metadata);
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// `query` (an [`insert_events!`], its `$1` bound) with `$2` to `$7` bound to the rows.
    pub(crate) fn bind<'q>(
        &'q self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        query
            .bind(&self.ids)
            .bind(&self.sequences)
            .bind(&self.event_types)
            .bind(&self.event_versions)
            .bind(&self.payloads)
            .bind(&self.metadata)
    }
}
