//! Informal titles in every EU language: the title filler translates each authority's typed
//! titles into the languages nobody typed one in, as far as the engines reach, into
//! `machine_titles` (migration 0031). Derived like a read model: a typed title always wins, a
//! changed typed title is translated again, and the rows can be deleted and made again.
//! Titles hold no personal data, so any configured engine may translate them.

use crate::error::{AppError, AppResult};
use crate::translation::Content;
use crate::App;
use std::collections::{BTreeMap, BTreeSet};

/// Typed titles are translated from English first when there is one, else from the first
/// language (by code) that reaches the target.
const PREFERRED_SOURCE: &str = "en";

#[derive(sqlx::FromRow)]
struct Existing {
    authority_id: String,
    language: String,
    source_language: String,
    source_title: String,
}

impl App {
    /// One pass of the title filler; returns how many titles it translated. Without a
    /// translation engine it does nothing. A pair the engines cannot translate now is left for
    /// the next pass.
    pub async fn fill_machine_titles(&self) -> AppResult<usize> {
        let Some(translator) = self.translation.clone() else {
            return Ok(0);
        };
        let reachable = translator.reachable(Content::Public).await;
        if reachable.is_empty() {
            // No engine answers: the titles made stay as they are.
            return Ok(0);
        }
        let typed: Vec<(String, serde_json::Value)> = sqlx::query_as(&format!(
            "SELECT authority_id, to_jsonb(informal_titles) FROM {}.authorities",
            imi_projections::directory::NAME
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| AppError::database("reading the directory's titles", &e))?;
        let existing: Vec<Existing> = sqlx::query_as(
            "SELECT authority_id, language, source_language, source_title FROM machine_titles",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| AppError::database("reading machine titles", &e))?;
        let mut made: BTreeMap<(String, String), Existing> = existing
            .into_iter()
            .map(|e| ((e.authority_id.clone(), e.language.clone()), e))
            .collect();
        let mut keep: BTreeSet<(String, String)> = BTreeSet::new();
        let mut translated = 0;
        for (authority, titles) in typed {
            let titles = imi_projections::i18n::texts_of(&titles);
            if titles.is_empty() {
                continue;
            }
            for language in imi_domain::reference::LANGUAGES {
                if titles.contains_key(language) {
                    continue;
                }
                let mut sources: Vec<&String> = titles
                    .keys()
                    .filter(|s| reachable.contains(&(s.to_string(), language.to_string())))
                    .collect();
                sources.sort_by_key(|s| (s.as_str() != PREFERRED_SOURCE, s.to_string()));
                let Some(source) = sources.first() else {
                    continue;
                };
                let title = &titles[*source];
                let key = (authority.clone(), language.to_string());
                if let Some(e) = made.get(&key) {
                    if &e.source_language == *source && &e.source_title == title {
                        keep.insert(key);
                        continue;
                    }
                }
                let t = match self.translate_public(title, source, language).await {
                    Ok(t) => t,
                    // Left as it is for the next pass.
                    Err(e) if e.code == crate::Code::TranslationUnavailable => {
                        keep.insert(key);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                sqlx::query(
                    "INSERT INTO machine_titles (authority_id, language, title, source_language, \
                       source_title, engine, pivot, translated_at, search_key) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (authority_id, language) DO UPDATE SET title = EXCLUDED.title, \
                       source_language = EXCLUDED.source_language, \
                       source_title = EXCLUDED.source_title, engine = EXCLUDED.engine, \
                       pivot = EXCLUDED.pivot, translated_at = EXCLUDED.translated_at, \
                       search_key = EXCLUDED.search_key",
                )
                .bind(&authority)
                .bind(language)
                .bind(&t.text)
                .bind(source.as_str())
                .bind(title)
                .bind(&t.mark.engine)
                .bind(&t.mark.pivot)
                .bind(t.mark.at)
                .bind(imi_projections::text::key_of([t.text.as_str()]))
                .execute(&self.pool)
                .await
                .map_err(|e| AppError::database("writing a machine title", &e))?;
                translated += 1;
                keep.insert(key.clone());
                made.remove(&key);
            }
        }
        // Titles now typed, or whose source is gone: removed.
        for (authority, language) in made.into_keys().filter(|k| !keep.contains(k)) {
            sqlx::query("DELETE FROM machine_titles WHERE authority_id = $1 AND language = $2")
                .bind(&authority)
                .bind(&language)
                .execute(&self.pool)
                .await
                .map_err(|e| AppError::database("removing a machine title", &e))?;
        }
        Ok(translated)
    }
}
