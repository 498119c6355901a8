//! Machine translations as the schema shows them: the text and its mark (pair, engine, time,
//! pivot). Free texts offer them on demand (`translation(language:)` and the like), only where
//! the view showed the text itself; the application layer translates and records.

use super::app;
use crate::errors::ApiError;
use async_graphql::{Context, SimpleObject};
use chrono::{DateTime, Utc};
use imi_app::translation::{TextSource, Translated};

/// A machine translation, marked as such.
#[derive(SimpleObject, Clone, Debug)]
pub struct MachineTranslation {
    pub text: String,
    /// Always true: this text was translated by a machine, not written.
    pub machine_translated: bool,
    /// The language translated from (ISO 639-1).
    pub from: String,
    /// The language translated into.
    pub to: String,
    /// The engine that translated it (`apertium`, `external`).
    pub engine: String,
    pub translated_at: DateTime<Utc>,
    /// The language translated through when no direct pair exists.
    pub pivot: Option<String>,
}

impl From<Translated> for MachineTranslation {
    fn from(t: Translated) -> Self {
        Self {
            text: t.text,
            machine_translated: true,
            from: t.mark.from,
            to: t.mark.to,
            engine: t.mark.engine,
            translated_at: t.mark.at,
            pivot: t.mark.pivot,
        }
    }
}

/// The translation of a text the view showed (`clear`) into `language`, from `from` (default:
/// the first official language of its author's Member State); null where the view showed no
/// text, or the text is in that language already. No engine or route: `TRANSLATION_UNAVAILABLE` with `extensions.pair`.
pub(crate) async fn of_text(
    ctx: &Context<'_>,
    source: Option<&TextSource>,
    clear: Option<&String>,
    language: &str,
    from: Option<String>,
) -> Result<Option<MachineTranslation>, ApiError> {
    let (Some(source), Some(clear)) = (source, clear) else {
        return Ok(None);
    };
    let mut source = source.clone();
    if let Some(from) = from {
        source.language = from;
    }
    // Already in that language: nothing to translate.
    if source.language.eq_ignore_ascii_case(language.trim()) {
        return Ok(None);
    }
    Ok(Some(
        app(ctx)?
            .translate_text(&source, clear, language)
            .await?
            .into(),
    ))
}
