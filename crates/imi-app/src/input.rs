//! Checks of what clients send, made before anything is sealed or written: texts, ids, codes
//! and the projections a command waits for.

use crate::error::{reason, AppError, AppResult};
use imi_domain::authority::LegislativeArea;

/// Longest free text, answer, justification, opinion or comment accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Longest id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 128;

/// Refuses a text holding the NUL character (no text column can store it, and no client
/// has a reason to send it).
pub fn no_nul(what: &str, value: &str) -> AppResult<()> {
    if value.contains('\0') {
        return Err(
            AppError::bad_input(format!("{what} may not contain the NUL character"))
                .with_reason(reason::NUL_IN_TEXT),
        );
    }
    Ok(())
}

/// A required text: trimmed, 1 to [`MAX_TEXT_CHARS`] characters, no NUL.
pub fn text(what: &str, value: &str) -> AppResult<String> {
    no_nul(what, value)?;
    let value = value.trim();
    if value.is_empty() || value.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::bad_input(format!(
            "{what} must have 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(value.to_string())
}

/// An optional text: trimmed; blank means none.
pub fn optional_text(what: &str, value: Option<&str>) -> AppResult<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => text(what, v).map(Some),
        None => Ok(None),
    }
}

/// An id as clients send it: 1 to [`MAX_ID_BYTES`] of `A-Z a-z 0-9 . _ : / -`.
pub fn id(value: &str) -> AppResult<String> {
    let ok = !value.is_empty()
        && value.len() <= MAX_ID_BYTES
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-'));
    if ok {
        Ok(value.to_string())
    } else {
        Err(AppError::bad_input(format!(
            "invalid id: 1 to {MAX_ID_BYTES} of the characters A-Z a-z 0-9 . _ : / -"
        )))
    }
}

/// A legislative area's code.
pub fn area(code: &str) -> AppResult<LegislativeArea> {
    LegislativeArea::parse(code).map_err(|e| AppError::bad_input(e.to_string()))
}

/// A SHA-256 as lower-case hex.
pub fn sha256(value: &str) -> AppResult<String> {
    let value = value.trim().to_ascii_lowercase();
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value)
    } else {
        Err(AppError::bad_input(
            "an attachment is named by the SHA-256 of its content: 64 hex digits",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_bounded_and_free_of_nul() {
        assert_eq!(text("t", "  a ").unwrap(), "a");
        assert!(text("t", "   ").is_err());
        assert!(text("t", &"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
        let nul = text("t", "a\0b").unwrap_err();
        assert_eq!(nul.reason, Some(reason::NUL_IN_TEXT));
        assert_eq!(optional_text("t", Some("  ")).unwrap(), None);
        assert!(optional_text("t", Some("\0")).is_err());
    }

    #[test]
    fn ids_and_digests_are_checked() {
        assert!(id("InformationRequest/0193-a_b.c:d").is_ok());
        assert!(id("").is_err());
        assert!(id("a b").is_err());
        assert!(id(&"a".repeat(MAX_ID_BYTES + 1)).is_err());
        assert!(sha256(&"A".repeat(64)).is_ok());
        assert!(sha256("abc").is_err());
        assert!(sha256(&"g".repeat(64)).is_err());
    }
}
