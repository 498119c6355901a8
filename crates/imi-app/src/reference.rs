//! Reference data (legislative areas, keywords, professions, service activities), the
//! registers database and the helpdesks: not authority data, so any signed-in user reads it.

use crate::error::{AppError, AppResult};
use crate::App;
pub use imi_projections::helpdesks::{Helpdesk, HelpdeskQuery, Owner};
pub use imi_projections::i18n::Localized;
pub use imi_projections::registers::{Multilingual, Register, RegisterSearch};
pub use imi_store::reference::{
    keyword_list, keyword_list_code, workflow, ListEntry, ReferenceList,
};

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
        imi_store::reference::list_page(&self.reads, list, group, after, limit)
            .await
            .map_err(|e| AppError::database("reading reference data", &e))
    }

    /// The registers `query` finds (at most `query.limit`), ordered by id.
    pub async fn registers(&self, query: &RegisterSearch) -> AppResult<Vec<Register>> {
        if query.limit <= 0 {
            return Ok(Vec::new());
        }
        imi_projections::registers::search(&self.reads, query)
            .await
            .map_err(|e| AppError::database("searching the registers", &e))
    }

    /// The helpdesks `query` selects (at most `query.limit`), ordered by id.
    pub async fn helpdesks(&self, query: &HelpdeskQuery) -> AppResult<Vec<Helpdesk>> {
        if query.limit <= 0 {
            return Ok(Vec::new());
        }
        imi_projections::helpdesks::list(&self.reads, query)
            .await
            .map_err(|e| AppError::database("listing helpdesks", &e))
    }
}
