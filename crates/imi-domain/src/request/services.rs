//! What the InformationRequest aggregate needs to know beyond its own events: the
//! authorities involved (their roles, flags, links and users, through the authority
//! directory), the question sets of the legislative areas, and the time.
//!
//! `()` knows nothing: no authority, no question set, the system clock. Every command that
//! depends on them is refused with it; the store wires a real lookup.

use super::model::QuestionSetSummary;
use crate::authority::{AuthorityDirectoryLookup, Clock, Lookup};
use crate::retention::RetentionPeriods;
use std::sync::Arc;

/// The question sets of the legislative areas (reference data).
#[async_trait::async_trait]
pub trait QuestionSets: Send + Sync {
    /// The question set `id` (its area and question ids); `None` when there is no such set.
    async fn question_set(&self, id: &str) -> Lookup<Option<QuestionSetSummary>>;
}

/// Everything the InformationRequest aggregate's `Services` must provide.
pub trait RequestServices:
    AuthorityDirectoryLookup + Clock + QuestionSets + RetentionPeriods
{
}
impl<T: AuthorityDirectoryLookup + Clock + QuestionSets + RetentionPeriods + ?Sized> RequestServices
    for T
{
}

/// Knows no question set.
#[async_trait::async_trait]
impl QuestionSets for () {
    async fn question_set(&self, _: &str) -> Lookup<Option<QuestionSetSummary>> {
        Ok(None)
    }
}

#[async_trait::async_trait]
impl<T: QuestionSets + ?Sized> QuestionSets for Arc<T> {
    async fn question_set(&self, id: &str) -> Lookup<Option<QuestionSetSummary>> {
        (**self).question_set(id).await
    }
}
