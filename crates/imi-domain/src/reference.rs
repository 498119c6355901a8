//! Reference codes fixed by the treaties: the EEA Member States and the EU's official languages.
//! Legislative areas, question sets and keyword lists are data (fixtures), not code.

use serde::{Deserialize, Serialize};
use std::fmt;

/// ISO 3166-1 alpha-2 codes of the 30 EEA Member States (EL for Greece, as the EU writes it).
pub const MEMBER_STATES: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO",
];

/// ISO 639-1 codes of the 24 official EU languages.
pub const LANGUAGES: [&str; 24] = [
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv",
    "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv",
];

/// An EEA Member State, by its code. Constructed only from a known code.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberState(String);

impl MemberState {
    pub fn parse(code: &str) -> Result<Self, UnknownCode> {
        let code = code.trim().to_ascii_uppercase();
        let code = if code == "GR" { "EL".to_string() } else { code };
        if MEMBER_STATES.contains(&code.as_str()) {
            Ok(Self(code))
        } else {
            Err(UnknownCode::MemberState(code))
        }
    }
    pub fn code(&self) -> &str {
        &self.0
    }
}

/// One of the 24 official EU languages.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(String);

impl Language {
    pub fn parse(code: &str) -> Result<Self, UnknownCode> {
        let code = code.trim().to_ascii_lowercase();
        if LANGUAGES.contains(&code.as_str()) {
            Ok(Self(code))
        } else {
            Err(UnknownCode::Language(code))
        }
    }
    pub fn code(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownCode {
    #[error("unknown EEA Member State code: {0:?}")]
    MemberState(String),
    #[error("unknown EU language code: {0:?}")]
    Language(String),
}

macro_rules! string_conversions {
    ($t:ty) => {
        impl TryFrom<String> for $t {
            type Error = UnknownCode;
            fn try_from(s: String) -> Result<Self, UnknownCode> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_conversions!(MemberState);
string_conversions!(Language);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_states_are_the_eea() {
        assert_eq!(MemberState::parse("de").unwrap().code(), "DE");
        assert_eq!(MemberState::parse("GR").unwrap().code(), "EL");
        assert!(MemberState::parse("NO").is_ok());
        assert!(MemberState::parse("CH").is_err());
        assert!(MemberState::parse("UK").is_err());
    }

    #[test]
    fn languages_are_the_eu_official_ones() {
        assert!(Language::parse("GA").is_ok());
        assert!(Language::parse("no").is_err());
        let err: Result<Language, _> = serde_json::from_str("\"xx\"");
        assert!(err.is_err());
    }
}
