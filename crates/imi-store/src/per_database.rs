//! Counters kept by database, for tests and benchmarks that share one process across several
//! databases (each test has a fresh one): a test reads only its own database's count.

use crate::wake::database;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Mutex;

/// A count per database (by [`database`]'s name for a pool).
pub(crate) struct Counter(Mutex<Option<HashMap<String, u64>>>);

impl Counter {
    pub(crate) const fn new() -> Self {
        Self(Mutex::new(None))
    }

    /// Counts one in `pool`'s database.
    pub(crate) fn add(&self, pool: &PgPool) {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *counts
            .get_or_insert_with(HashMap::new)
            .entry(database(pool))
            .or_default() += 1;
    }

    /// The count in `pool`'s database so far.
    pub(crate) fn get(&self, pool: &PgPool) -> u64 {
        let counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .as_ref()
            .and_then(|c| c.get(&database(pool)).copied())
            .unwrap_or(0)
    }
}
