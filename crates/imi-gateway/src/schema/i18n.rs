//! Text in the EU's official languages, as the caller reads it: in their language when it
//! exists, else visibly in another one.

use crate::errors::ApiError;
use async_graphql::SimpleObject;
use imi_domain::reference::Language;
use std::collections::BTreeMap;

/// The language a fallback tries first when the caller's is missing.
const FALLBACK_LANGUAGE: &str = "en";

/// A text and the language it is in.
#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
pub struct LocalizedText {
    pub text: String,
    /// ISO 639-1 code of the language the text is in.
    pub language: String,
    /// True when the text is not in the language asked for.
    pub fallback: bool,
    /// Set when the text was translated by a machine (an informal title nobody typed in this
    /// language); null for a text written by a person.
    pub machine_translation: Option<TranslationMark>,
}

/// How a text was machine-translated.
#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
pub struct TranslationMark {
    /// The language translated from.
    pub from: String,
    pub engine: String,
    pub translated_at: chrono::DateTime<chrono::Utc>,
    /// The language translated through when no direct pair exists.
    pub pivot: Option<String>,
}

/// A language code from the client.
pub fn parse_language(code: &str) -> Result<Language, ApiError> {
    Language::parse(code).map_err(ApiError::from)
}

/// The text in `wanted`; else in English; else in the first language by code. `None` when
/// there is no text at all.
pub fn pick(texts: &BTreeMap<String, String>, wanted: &Language) -> Option<LocalizedText> {
    if let Some(text) = texts.get(wanted.code()) {
        return Some(LocalizedText {
            text: text.clone(),
            language: wanted.code().to_string(),
            fallback: false,
            machine_translation: None,
        });
    }
    texts
        .get_key_value(FALLBACK_LANGUAGE)
        .or_else(|| texts.iter().next())
        .map(|(language, text)| LocalizedText {
            text: text.clone(),
            language: language.clone(),
            fallback: true,
            machine_translation: None,
        })
}

/// The text in `wanted`; else machine-translated into it (from English, else the first
/// language by code; marked) when an engine reaches it; else as [`pick`].
pub async fn pick_or_translate(
    app: &imi_app::App,
    texts: &BTreeMap<String, String>,
    wanted: &Language,
) -> Option<LocalizedText> {
    if texts.contains_key(wanted.code()) || app.translation.is_none() {
        return pick(texts, wanted);
    }
    let (from, text) = texts
        .get_key_value(FALLBACK_LANGUAGE)
        .or_else(|| texts.iter().next())?;
    match app.translate_public(text, from, wanted.code()).await {
        Ok(t) => Some(LocalizedText {
            text: t.text,
            language: wanted.code().to_string(),
            fallback: false,
            machine_translation: Some(TranslationMark {
                from: t.mark.from,
                engine: t.mark.engine,
                translated_at: t.mark.at,
                pivot: t.mark.pivot,
            }),
        }),
        Err(_) => pick(texts, wanted),
    }
}

/// Every text, the one in `wanted` first, then the others by language code.
pub fn all_wanted_first(texts: &BTreeMap<String, String>, wanted: &Language) -> Vec<LocalizedText> {
    let mut out: Vec<LocalizedText> = texts
        .iter()
        .map(|(language, text)| LocalizedText {
            text: text.clone(),
            language: language.clone(),
            fallback: language != wanted.code(),
            machine_translation: None,
        })
        .collect();
    // Stable: the others keep their order by code.
    out.sort_by_key(|t| t.fallback);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(l, t)| (l.to_string(), t.to_string()))
            .collect()
    }

    fn lang(code: &str) -> Language {
        Language::parse(code).unwrap()
    }

    #[test]
    fn picks_the_wanted_language_then_english_then_the_first() {
        let t = texts(&[("de", "Amt"), ("en", "Office"), ("fr", "Bureau")]);
        assert_eq!(pick(&t, &lang("fr")).unwrap().text, "Bureau");
        assert!(!pick(&t, &lang("fr")).unwrap().fallback);
        let it = pick(&t, &lang("it")).unwrap();
        assert_eq!(
            (it.text.as_str(), it.language.as_str(), it.fallback),
            ("Office", "en", true)
        );
        let no_en = texts(&[("fr", "Bureau"), ("de", "Amt")]);
        assert_eq!(pick(&no_en, &lang("it")).unwrap().language, "de");
        assert_eq!(pick(&BTreeMap::new(), &lang("it")), None);
    }

    #[test]
    fn lists_the_wanted_language_first() {
        let t = texts(&[("de", "Amt"), ("en", "Office"), ("fr", "Bureau")]);
        let order: Vec<_> = all_wanted_first(&t, &lang("fr"))
            .into_iter()
            .map(|t| (t.language, t.fallback))
            .collect();
        assert_eq!(
            order,
            [
                ("fr".into(), false),
                ("de".into(), true),
                ("en".into(), true)
            ]
        );
        assert!(parse_language("xx").is_err());
    }
}
