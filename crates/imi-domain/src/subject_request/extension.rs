//! Extending a data subject's request's deadline (Art. 12(3) of Regulation (EU) 2016/679):
//! by up to two further months where necessary, taking into account the complexity and
//! number of the requests, once, before the deadline passed, with the reason the subject is
//! told. The reason explains the procedure and is kept in clear: it names no person.

use super::model::SubjectRequestSummary;
use super::SubjectRequestEvent;
use crate::error::DomainError;
use chrono::{DateTime, Months, Utc};

/// The most months a deadline is extended by.
pub const MAX_EXTENSION_MONTHS: u32 = 2;
/// Longest reason for an extension, in characters.
pub const MAX_EXTENSION_REASON_CHARS: usize = 2000;

pub(super) fn extend(
    r: &SubjectRequestSummary,
    months: u32,
    reason: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<SubjectRequestEvent, DomainError> {
    if r.extended {
        return Err(DomainError::refused(
            "the deadline of a data subject's request is extended once",
        ));
    }
    if now.date_naive() > r.due_on {
        return Err(DomainError::refused(
            "the deadline is extended only before it passed",
        ));
    }
    if !(1..=MAX_EXTENSION_MONTHS).contains(&months) {
        return Err(DomainError::invalid(format!(
            "the deadline is extended by 1 to {MAX_EXTENSION_MONTHS} months"
        )));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(DomainError::invalid(
            "an extension of the deadline needs the reason the subject is told",
        ));
    }
    if reason.chars().count() > MAX_EXTENSION_REASON_CHARS || reason.contains('\0') {
        return Err(DomainError::invalid(format!(
            "the reason is at most {MAX_EXTENSION_REASON_CHARS} characters, without NUL"
        )));
    }
    let due_on = r
        .due_on
        .checked_add_months(Months::new(months))
        .ok_or_else(|| DomainError::invalid("the extended deadline is out of range"))?;
    Ok(SubjectRequestEvent::SubjectRequestDeadlineExtended {
        previous_due_on: r.due_on,
        due_on,
        months,
        reason: reason.to_string(),
        by: by.to_string(),
        at: now,
    })
}
