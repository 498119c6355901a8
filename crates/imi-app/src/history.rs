//! An exchange's history for auditors: each Member State's auditors (a role of its national
//! coordinator, see `imi_domain::authority::UserRole::Auditor`) read, read-only, every event of
//! the exchanges in which an authority of their Member State took part: the facts and who
//! acted, never personal data (sealed values stay sealed). Anyone else, and an auditor of a
//! Member State that took no part, is answered as for an unknown exchange.

use crate::{App, AppError, AppResult, Caller};
use imi_domain::reference::MemberState;
use imi_projections::{alert_overview, directory, request_monitoring};
use imi_store::history::{self, HistoryEntry, Related};

/// The largest page.
pub const MAX_PAGE: i64 = 100;

/// One page of a history, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    pub has_next_page: bool,
}

fn unknown_exchange() -> AppError {
    AppError::not_found("no such exchange")
}

impl App {
    /// The history of `exchange` (`InformationRequest/<id>`, `Alert/<id>` or
    /// `Authority/<id>`) after position `after`, at most `first` events, for an auditor of a
    /// Member State that took part in it.
    pub async fn exchange_history(
        &self,
        caller: &Caller,
        exchange: &str,
        after: Option<i64>,
        first: i64,
    ) -> AppResult<HistoryPage> {
        let reader = self.reader(caller).await?;
        let Some(member_state) = reader.auditor_of().cloned() else {
            return Err(AppError::forbidden(
                "only an auditor of a Member State's national coordinator reads exchanges' \
                 histories",
            ));
        };
        if !(0..=MAX_PAGE).contains(&first) {
            return Err(AppError::bad_input(format!(
                "`first` must be between 0 and {MAX_PAGE}"
            )));
        }
        let (aggregate_type, id) = exchange
            .split_once('/')
            .ok_or_else(|| AppError::bad_input("an exchange is `Type/id`"))?;
        let id = crate::input::id(id)?;
        if !self.took_part(aggregate_type, &id, &member_state).await? {
            return Err(unknown_exchange());
        }
        // What the same commands recorded elsewhere shows only where it concerns an authority
        // of the auditor's Member State.
        let own = directory::ids_in_member_state(&self.reads, member_state.code())
            .await
            .map_err(|e| AppError::database("reading the directory", &e))?;
        let mut entries = history::of_exchange(
            &self.reads,
            aggregate_type,
            &id,
            Related::Authorities(&own),
            after,
            first + 1,
        )
        .await
        .map_err(|e| AppError::database("reading an exchange's history", &e))?;
        let has_next_page = entries.len() as i64 > first;
        entries.truncate(first as usize);
        Ok(HistoryPage {
            entries,
            has_next_page,
        })
    }

    /// Whether an authority of `member_state` took part in the exchange.
    async fn took_part(
        &self,
        aggregate_type: &str,
        id: &str,
        member_state: &MemberState,
    ) -> AppResult<bool> {
        let ms = member_state.code();
        Ok(match aggregate_type {
            "InformationRequest" => request_monitoring::get(&self.reads, id)
                .await
                .map_err(|e| AppError::database("reading a request", &e))?
                .is_some_and(|row| {
                    row.requesting_member_state == ms
                        || (row.summary.dispatched() && row.responding_member_state == ms)
                }),
            "Alert" => alert_overview::get(&self.reads, id)
                .await
                .map_err(|e| AppError::database("reading an alert", &e))?
                .is_some_and(|entry| {
                    let s = &entry.summary;
                    s.initiating_member_state == *member_state
                        || s.recipient_member_states.contains_key(member_state)
                }),
            "Authority" => directory::get(&self.reads, id)
                .await
                .map_err(|e| AppError::database("reading an authority", &e))?
                .is_some_and(|entry| entry.member_state == ms),
            _ => false,
        })
    }
}
