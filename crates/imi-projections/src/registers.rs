//! The registers database: a searchable, multilingual directory of national registers (what
//! they hold, their coverage, access conditions and fees, link, responsible authority).
//!
//! Not a projection: the rows are reference data in `reference.registers` (migrations and
//! fixtures load them). Texts are JSON objects by language (`{"en": "...", "de": "..."}`);
//! results show the caller's language first, with a visible fallback (English, else the first
//! language there is) where a translation is missing.

use crate::fold;
use crate::i18n::{self, Localized};
use crate::text::{self, SqlFold};
use serde::Deserialize;
use sqlx::{PgExecutor, Postgres, QueryBuilder};

/// The table, as migration 0006 creates it.
pub const TABLE: &str = "reference.registers";

/// A field held per language. When the stored value is not an object of texts by language,
/// `texts` is empty and `other` holds it as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Multilingual {
    /// The text to show: in the wanted language, else English, else the first by code.
    pub text: Option<Localized>,
    /// Every translation, the wanted language first, then English, then by language code.
    pub texts: Vec<Localized>,
    pub other: Option<serde_json::Value>,
}

impl Multilingual {
    pub fn of(value: Option<serde_json::Value>, wanted: Option<&str>) -> Self {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Self::default();
        };
        let texts = i18n::texts_of(&value);
        if texts.is_empty() {
            return Multilingual {
                other: Some(value),
                ..Default::default()
            };
        }
        Multilingual {
            text: i18n::pick(&texts, wanted),
            texts: i18n::ordered(&texts, wanted),
            other: None,
        }
    }
}

/// One register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    pub register_id: String,
    pub member_state: Option<String>,
    pub names: Multilingual,
    /// What it holds.
    pub content: Multilingual,
    pub coverage: Multilingual,
    pub access_conditions: Multilingual,
    pub fees: Multilingual,
    pub url: Option<String>,
    pub responsible_authority: Option<String>,
    /// The languages the register is available in.
    pub languages: Vec<String>,
}

#[derive(Deserialize)]
struct Row {
    register_id: String,
    member_state: Option<String>,
    names: Option<serde_json::Value>,
    content: Option<serde_json::Value>,
    coverage: Option<serde_json::Value>,
    access_conditions: Option<serde_json::Value>,
    fees: Option<serde_json::Value>,
    url: Option<String>,
    responsible_authority: Option<String>,
    languages: Option<Vec<String>>,
}

impl Row {
    fn into_register(self, wanted: Option<&str>) -> Register {
        Register {
            register_id: self.register_id,
            member_state: self.member_state,
            names: Multilingual::of(self.names, wanted),
            content: Multilingual::of(self.content, wanted),
            coverage: Multilingual::of(self.coverage, wanted),
            access_conditions: Multilingual::of(self.access_conditions, wanted),
            fees: Multilingual::of(self.fees, wanted),
            url: self.url,
            responsible_authority: self.responsible_authority,
            languages: self.languages.unwrap_or_default(),
        }
    }
}

/// A search of the registers database; all filters must hold. Ordered by register id; page
/// with `after` (the last id of the previous page) and `limit`.
#[derive(Clone, Debug, Default)]
pub struct RegisterSearch {
    /// Part of a name or of the content description, in any language, case- and
    /// accent-insensitive.
    pub text: Option<String>,
    pub member_state: Option<String>,
    /// Available in this language.
    pub available_in: Option<String>,
    /// The caller's language: texts in it come first.
    pub language: Option<String>,
    pub after: Option<String>,
    pub limit: i64,
}

/// The folded texts of a JSON object of texts by language (`''` for any other value).
pub(crate) fn folded_texts(column: &str) -> String {
    let fold = SqlFold::get().sql("t.v", "fold.f", "fold.t");
    format!(
        "coalesce((SELECT string_agg({fold}, chr(31)) FROM jsonb_each_text(
             CASE jsonb_typeof({column}) WHEN 'object' THEN {column} ELSE '{{}}'::jsonb END)
             AS t(k, v)), '')"
    )
}

fn decode(
    values: Vec<serde_json::Value>,
    wanted: Option<&str>,
) -> Result<Vec<Register>, sqlx::Error> {
    values
        .into_iter()
        .map(|v| fold::decode::<Row>(v).map(|r| r.into_register(wanted)))
        .collect()
}

/// Searches the registers database.
pub async fn search<'e>(
    db: impl PgExecutor<'e>,
    q: &RegisterSearch,
) -> Result<Vec<Register>, sqlx::Error> {
    let fold = SqlFold::get();
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new("SELECT to_jsonb(r) FROM ");
    sql.push(TABLE).push(" r, (SELECT ");
    sql.push_bind(fold.from.clone())
        .push("::text AS f, ")
        .push_bind(fold.to.clone())
        .push("::text AS t) fold WHERE true");
    if let Some(pattern) = q.text.as_deref().and_then(text::contains_pattern) {
        sql.push(format!(
            " AND ({} || chr(31) || {}) LIKE ",
            folded_texts("r.names"),
            folded_texts("r.content")
        ))
        .push_bind(pattern);
    }
    if let Some(ms) = &q.member_state {
        sql.push(" AND r.member_state = ").push_bind(ms.clone());
    }
    if let Some(language) = &q.available_in {
        sql.push(" AND ")
            .push_bind(language.clone())
            .push(" = ANY(r.languages)");
    }
    if let Some(after) = &q.after {
        sql.push(" AND r.register_id > ").push_bind(after.clone());
    }
    sql.push(" ORDER BY r.register_id LIMIT ")
        .push_bind(q.limit.max(0));
    let values: Vec<serde_json::Value> = sql.build_query_scalar().fetch_all(db).await?;
    decode(values, q.language.as_deref())
}

/// One register, its texts in `language` first.
pub async fn get<'e>(
    db: impl PgExecutor<'e>,
    register_id: &str,
    language: Option<&str>,
) -> Result<Option<Register>, sqlx::Error> {
    let values: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(r) FROM {TABLE} r WHERE r.register_id = $1"
    ))
    .bind(register_id)
    .fetch_all(db)
    .await?;
    Ok(decode(values, language)?.pop())
}
