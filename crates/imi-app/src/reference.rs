//! Reference data (legislative areas, keywords, professions, service activities): not
//! authority data, so any signed-in user reads it.

use crate::error::{AppError, AppResult};
use crate::App;
pub use imi_store::reference::{ListEntry, ReferenceList};

impl App {
    /// Up to `limit` entries of `list` in `group` after the key `after`, ordered by key.
    pub async fn reference_list(
        &self,
        list: ReferenceList,
        group: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> AppResult<Vec<ListEntry>> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        imi_store::reference::list_page(&self.pool, list, group, after, limit)
            .await
            .map_err(|e| AppError::database("reading reference data", &e))
    }
}
