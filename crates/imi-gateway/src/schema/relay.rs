//! Relay cursor connections: opaque cursors and a bounded page size.

use crate::errors::{reason, ApiError};
use async_graphql::SimpleObject;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: i32 = 100;
/// Page size when the client names none.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// Where a page stands in its connection (Relay's `PageInfo`).
#[derive(Clone, Debug, Default, SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    /// True when the page starts after a cursor (there are items before it).
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

impl PageInfo {
    /// A page's info from whether pages follow and precede it and its first and last cursors.
    pub fn of(
        has_next_page: bool,
        has_previous_page: bool,
        start: Option<&String>,
        end: Option<&String>,
    ) -> Self {
        Self {
            has_next_page,
            has_previous_page,
            start_cursor: start.cloned(),
            end_cursor: end.cloned(),
        }
    }
}

/// `first` checked: 0 to [`MAX_PAGE_SIZE`].
pub fn page_size(first: i32) -> Result<i64, ApiError> {
    if !(0..=MAX_PAGE_SIZE).contains(&first) {
        return Err(ApiError::bad_input(format!(
            "`first` must be between 0 and {MAX_PAGE_SIZE}, got {first}"
        ))
        .with_reason(reason::PAGE_TOO_LARGE));
    }
    Ok(i64::from(first))
}

/// An opaque cursor for the item with key `key` in a connection of `kind`.
pub fn encode_cursor(kind: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{key}"))
}

/// The number (a position, an entry id) an `after` cursor of connection `kind` holds.
pub fn decode_number_cursor(kind: &str, cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .map(|c| {
            decode_cursor(kind, c)?.parse::<i64>().map_err(|_| {
                ApiError::bad_input("invalid cursor: pass a cursor this connection returned")
            })
        })
        .transpose()
}

/// The key a cursor of `kind` stands for.
pub fn decode_cursor(kind: &str, cursor: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::bad_input("invalid cursor: pass a cursor this connection returned");
    if cursor.len() > 1_024 {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    match text.split_once(':') {
        Some((k, key)) if k == kind && !key.is_empty() => Ok(key.to_string()),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let c = encode_cursor("Authority", "a-1");
        assert_eq!(decode_cursor("Authority", &c).unwrap(), "a-1");
        assert!(decode_cursor("Exchange", &c).is_err());
        assert!(decode_cursor("Authority", "!!!").is_err());
        assert!(decode_cursor("Authority", "").is_err());
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(page_size(100).unwrap(), 100);
        assert_eq!(page_size(0).unwrap(), 0);
        assert!(page_size(101).is_err());
        assert!(page_size(-1).is_err());
    }
}
