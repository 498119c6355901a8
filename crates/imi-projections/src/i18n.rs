//! Texts held per language, shown in the caller's language first with a visible fallback.

use serde::Serialize;
use std::collections::BTreeMap;

/// The language shown when the wanted one is missing, before any other.
pub const FALLBACK_LANGUAGE: &str = "en";

/// A text in one language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Localized {
    /// ISO 639-1 code.
    pub language: String,
    pub text: String,
    /// True when a language was asked for and this text is in another one.
    pub fallback: bool,
}

/// All the texts: the wanted language first, then English, then the others by language code.
pub fn ordered(texts: &BTreeMap<String, String>, wanted: Option<&str>) -> Vec<Localized> {
    let rank = |language: &str| {
        if Some(language) == wanted {
            0
        } else if language == FALLBACK_LANGUAGE {
            1
        } else {
            2
        }
    };
    let mut out: Vec<Localized> = texts
        .iter()
        .map(|(language, text)| Localized {
            language: language.clone(),
            text: text.clone(),
            fallback: wanted.is_some_and(|w| w != language),
        })
        .collect();
    // Stable: within a rank, the map's order (by language code) remains.
    out.sort_by_key(|l| rank(&l.language));
    out
}

/// The text to show: in the wanted language, else English, else the first by language code.
pub fn pick(texts: &BTreeMap<String, String>, wanted: Option<&str>) -> Option<Localized> {
    ordered(texts, wanted).into_iter().next()
}

/// A JSON object of texts by language (`{"en": "...", "fr": "..."}`); anything else (or a
/// non-text value) yields no texts.
pub fn texts_of(value: &serde_json::Value) -> BTreeMap<String, String> {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> BTreeMap<String, String> {
        [
            ("de", "Amt"),
            ("en", "Office"),
            ("fr", "Office FR"),
            ("bg", "Служба"),
        ]
        .into_iter()
        .map(|(l, t)| (l.to_string(), t.to_string()))
        .collect()
    }

    #[test]
    fn the_wanted_language_comes_first_then_english() {
        let langs: Vec<_> = ordered(&texts(), Some("fr"))
            .into_iter()
            .map(|l| (l.language, l.fallback))
            .collect();
        assert_eq!(
            langs,
            [
                ("fr".to_string(), false),
                ("en".into(), true),
                ("bg".into(), true),
                ("de".into(), true)
            ]
        );
        let missing = pick(&texts(), Some("pl")).unwrap();
        assert_eq!((missing.language.as_str(), missing.fallback), ("en", true));
        let any = pick(&texts(), None).unwrap();
        assert_eq!((any.language.as_str(), any.fallback), ("en", false));
        assert_eq!(pick(&BTreeMap::new(), Some("en")), None);
    }
}
