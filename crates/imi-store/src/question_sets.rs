//! Reading the question sets of the reference data (`reference.question_sets`,
//! `reference.questions`): names and texts per language, for the views.

use sqlx::PgPool;
use std::collections::BTreeMap;

/// Texts per language code.
pub type Texts = BTreeMap<String, String>;

/// A question set with its questions in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuestionSetTexts {
    pub id: String,
    pub area: String,
    pub names: Texts,
    /// (question id, its texts), in the set's order.
    pub questions: Vec<(String, Texts)>,
}

fn texts(value: serde_json::Value) -> Texts {
    serde_json::from_value(value).unwrap_or_default()
}

/// The texts of the questions `ids`, by id.
pub async fn question_texts(
    pool: &PgPool,
    ids: &[String],
) -> Result<BTreeMap<String, Texts>, sqlx::Error> {
    let rows: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT id, texts FROM reference.questions WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(id, t)| (id, texts(t))).collect())
}

/// The names of question set `id` (empty when unknown).
pub async fn question_set_names(pool: &PgPool, id: &str) -> Result<Texts, sqlx::Error> {
    let names: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT names FROM reference.question_sets WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(names.map(texts).unwrap_or_default())
}

/// The question sets of legislative area `area`, by id, each with its questions in order.
pub async fn of_area(pool: &PgPool, area: &str) -> Result<Vec<QuestionSetTexts>, sqlx::Error> {
    let rows: Vec<(String, serde_json::Value, String, serde_json::Value)> = sqlx::query_as(
        "SELECT s.id, s.names, q.id, q.texts
           FROM reference.question_sets s
           JOIN reference.questions q ON q.question_set = s.id
          WHERE s.area = $1
          ORDER BY s.id COLLATE \"C\", q.position",
    )
    .bind(area)
    .fetch_all(pool)
    .await?;
    let mut sets: Vec<QuestionSetTexts> = Vec::new();
    for (set, names, question, question_texts) in rows {
        if sets.last().map(|s| s.id.as_str()) != Some(set.as_str()) {
            sets.push(QuestionSetTexts {
                id: set,
                area: area.to_string(),
                names: texts(names),
                questions: vec![],
            });
        }
        if let Some(last) = sets.last_mut() {
            last.questions.push((question, texts(question_texts)));
        }
    }
    Ok(sets)
}
