//! Helpdesks: each national IMI coordinator's helpdesk contacts, and the Commission's.
//!
//! Not a projection: the rows are reference data in `reference.helpdesks` (migrations and
//! fixtures load them); a NULL Member State is the Commission. Functional contacts only (a
//! helpdesk's mailbox and number), no personal data.

use crate::fold;
use crate::i18n::{self, Localized};
use serde::Deserialize;
use sqlx::{PgExecutor, Postgres, QueryBuilder};
use std::collections::BTreeMap;

/// The table, as migration 0006 creates it.
pub const TABLE: &str = "reference.helpdesks";

/// One helpdesk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Helpdesk {
    pub helpdesk_id: String,
    /// `None`: the Commission's.
    pub member_state: Option<String>,
    /// The name to show: in the wanted language, else English, else the first by code.
    pub name: Option<Localized>,
    /// Every name, the wanted language first, then English, then by language code.
    pub names: Vec<Localized>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub url: Option<String>,
    /// The languages it answers in.
    pub languages: Vec<String>,
}

impl Helpdesk {
    pub fn is_commission(&self) -> bool {
        self.member_state.is_none()
    }
}

#[derive(Deserialize)]
struct Row {
    helpdesk_id: String,
    member_state: Option<String>,
    names: Option<serde_json::Value>,
    email: Option<String>,
    phone: Option<String>,
    url: Option<String>,
    languages: Option<Vec<String>>,
}

impl Row {
    fn into_helpdesk(self, wanted: Option<&str>) -> Helpdesk {
        let names: BTreeMap<String, String> =
            self.names.as_ref().map(i18n::texts_of).unwrap_or_default();
        Helpdesk {
            helpdesk_id: self.helpdesk_id,
            member_state: self.member_state,
            name: i18n::pick(&names, wanted),
            names: i18n::ordered(&names, wanted),
            email: self.email,
            phone: self.phone,
            url: self.url,
            languages: self.languages.unwrap_or_default(),
        }
    }
}

/// Whose helpdesks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The national IMI coordinator's of this Member State.
    MemberState(String),
    /// The Commission's.
    Commission,
}

/// A page of helpdesks, ordered by helpdesk id; page with `after` (the last id of the
/// previous page) and `limit`.
#[derive(Clone, Debug, Default)]
pub struct HelpdeskQuery {
    /// All helpdesks when `None`.
    pub owner: Option<Owner>,
    /// The caller's language: names in it come first.
    pub language: Option<String>,
    pub after: Option<String>,
    pub limit: i64,
}

/// Lists helpdesks.
pub async fn list<'e>(
    db: impl PgExecutor<'e>,
    q: &HelpdeskQuery,
) -> Result<Vec<Helpdesk>, sqlx::Error> {
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT to_jsonb(h) FROM {TABLE} h WHERE true"));
    match &q.owner {
        Some(Owner::MemberState(ms)) => {
            sql.push(" AND h.member_state = ").push_bind(ms.clone());
        }
        Some(Owner::Commission) => {
            sql.push(" AND h.member_state IS NULL");
        }
        None => {}
    }
    if let Some(after) = &q.after {
        sql.push(" AND h.helpdesk_id > ").push_bind(after.clone());
    }
    sql.push(" ORDER BY h.helpdesk_id LIMIT ")
        .push_bind(q.limit.max(0));
    let values: Vec<serde_json::Value> = sql.build_query_scalar().fetch_all(db).await?;
    values
        .into_iter()
        .map(|v| fold::decode::<Row>(v).map(|r| r.into_helpdesk(q.language.as_deref())))
        .collect()
}

/// Where a user of `member_state` turns for help: its national IMI coordinator's helpdesk
/// and the Commission's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contacts {
    pub national: Vec<Helpdesk>,
    pub commission: Vec<Helpdesk>,
}

/// The helpdesks of `member_state` and of the Commission, names in `language` first.
pub async fn contacts_for<'e>(
    db: impl PgExecutor<'e>,
    member_state: &str,
    language: Option<&str>,
) -> Result<Contacts, sqlx::Error> {
    let values: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(h) FROM {TABLE} h
          WHERE h.member_state = $1 OR h.member_state IS NULL
          ORDER BY h.helpdesk_id"
    ))
    .bind(member_state)
    .fetch_all(db)
    .await?;
    let mut contacts = Contacts::default();
    for v in values {
        let h = fold::decode::<Row>(v)?.into_helpdesk(language);
        if h.is_commission() {
            contacts.commission.push(h);
        } else {
            contacts.national.push(h);
        }
    }
    Ok(contacts)
}
