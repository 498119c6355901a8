//! The authority directory: who is registered, in which Member State, under which names.

use crate::projection::{Projection, ProjectionError};
use chrono::{DateTime, Utc};
use imi_domain::authority::AuthorityEvent;
use imi_store::feed::FeedEvent;
use serde::Deserialize;
use sqlx::{PgConnection, PgExecutor, Row};
use std::collections::BTreeMap;

pub const NAME: &str = "authority_directory";

pub struct AuthorityDirectory;

#[async_trait::async_trait]
impl Projection for AuthorityDirectory {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/authority_directory.sql")
    }

    /// Folds the batch in memory, then writes it set-wise: a rebuild applies thousands of
    /// events per statement instead of one statement per event.
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<(), ProjectionError> {
        let mut new = Registrations::default();
        let mut titles: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
        let mut touched: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
        let mut renamed: BTreeMap<String, String> = BTreeMap::new();
        for e in events.iter().filter(|e| e.aggregate_type == "Authority") {
            let event = AuthorityEvent::deserialize(&e.payload)
                .map_err(|err| ProjectionError::unreadable(e, err))?;
            let id = &e.aggregate_id;
            match event {
                AuthorityEvent::NationalCoordinatorRegistered {
                    member_state,
                    official_name,
                    informal_titles,
                } => {
                    new.push(
                        id,
                        member_state.code(),
                        "NationalCoordinator",
                        &official_name,
                        e,
                    );
                    for (language, title) in informal_titles {
                        titles.insert((id.clone(), language.code().to_string()), Some(title));
                    }
                }
                AuthorityEvent::InformalTitleSet { language, title } => {
                    titles.insert((id.clone(), language.code().to_string()), Some(title));
                    touched.insert(id.clone(), e.recorded_at);
                }
                AuthorityEvent::InformalTitleRemoved { language } => {
                    titles.insert((id.clone(), language.code().to_string()), None);
                    touched.insert(id.clone(), e.recorded_at);
                }
                AuthorityEvent::AuthoritySelfRegistered {
                    member_state,
                    kind,
                    official_name,
                    informal_titles,
                    ..
                }
                | AuthorityEvent::AuthorityRegistered {
                    member_state,
                    kind,
                    official_name,
                    informal_titles,
                    ..
                } => {
                    new.push(id, member_state.code(), kind.as_str(), &official_name, e);
                    for (language, title) in informal_titles {
                        titles.insert((id.clone(), language.code().to_string()), Some(title));
                    }
                }
                AuthorityEvent::OfficialNameChanged { official_name } => {
                    renamed.insert(id.clone(), official_name);
                    touched.insert(id.clone(), e.recorded_at);
                }
                // Not shown by the directory (yet): invitations before self-registration,
                // validation, users, contact data, areas, workflows, links.
                AuthorityEvent::UserRegistered { .. }
                | AuthorityEvent::InvitationIssued { .. }
                | AuthorityEvent::InvitationRenewed { .. }
                | AuthorityEvent::AuthorityValidated { .. }
                | AuthorityEvent::DescriptionChanged { .. }
                | AuthorityEvent::ContactDetailsChanged { .. }
                | AuthorityEvent::ContactPersonChanged { .. }
                | AuthorityEvent::CompetencesChanged { .. }
                | AuthorityEvent::ProfessionsChanged { .. }
                | AuthorityEvent::ServiceActivitiesChanged { .. }
                | AuthorityEvent::AreaAccessGranted { .. }
                | AuthorityEvent::AreaAccessRevoked { .. }
                | AuthorityEvent::WorkflowAccessGranted { .. }
                | AuthorityEvent::WorkflowAccessRevoked { .. }
                | AuthorityEvent::WorkflowRoleChanged { .. }
                | AuthorityEvent::AccessCoordinationHandedOver { .. }
                | AuthorityEvent::FlagSet { .. }
                | AuthorityEvent::CoordinatorLinked { .. }
                | AuthorityEvent::CoordinatorUnlinked { .. }
                | AuthorityEvent::AuthorityLinked { .. }
                | AuthorityEvent::AuthorityUnlinked { .. }
                | AuthorityEvent::UserRolesGranted { .. }
                | AuthorityEvent::UserRolesRevoked { .. }
                | AuthorityEvent::LocalDataAdministratorAppointed { .. }
                | AuthorityEvent::LocalDataAdministratorDismissed { .. }
                | AuthorityEvent::PasswordReset { .. }
                | AuthorityEvent::UserDeactivated { .. }
                | AuthorityEvent::UserReactivated { .. } => {}
            }
        }
        new.insert(&mut *db).await?;
        if !renamed.is_empty() {
            let (ids, names): (Vec<_>, Vec<_>) = renamed.into_iter().unzip();
            sqlx::query(
                "UPDATE authorities a SET official_name = r.name
                   FROM unnest($1::text[], $2::text[]) AS r(id, name)
                  WHERE a.authority_id = r.id",
            )
            .bind(&ids)
            .bind(&names)
            .execute(&mut *db)
            .await?;
        }
        let (set, removed): (Vec<_>, Vec<_>) = titles.into_iter().partition(|(_, t)| t.is_some());
        let (ids, langs, texts): (Vec<_>, Vec<_>, Vec<_>) = set
            .into_iter()
            .map(|((id, lang), t)| (id, lang, t.unwrap_or_default()))
            .fold((vec![], vec![], vec![]), |mut acc, (i, l, t)| {
                acc.0.push(i);
                acc.1.push(l);
                acc.2.push(t);
                acc
            });
        if !ids.is_empty() {
            sqlx::query(
                "INSERT INTO informal_titles (authority_id, language, title)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                 ON CONFLICT (authority_id, language) DO UPDATE SET title = excluded.title",
            )
            .bind(&ids)
            .bind(&langs)
            .bind(&texts)
            .execute(&mut *db)
            .await?;
        }
        if !removed.is_empty() {
            let (ids, langs): (Vec<_>, Vec<_>) = removed.into_iter().map(|(k, _)| k).unzip();
            sqlx::query(
                "DELETE FROM informal_titles t USING unnest($1::text[], $2::text[]) AS r(id, lang)
                  WHERE t.authority_id = r.id AND t.language = r.lang",
            )
            .bind(&ids)
            .bind(&langs)
            .execute(&mut *db)
            .await?;
        }
        if !touched.is_empty() {
            let (ids, ats): (Vec<_>, Vec<_>) = touched.into_iter().unzip();
            sqlx::query(
                "UPDATE authorities a SET updated_at = t.at
                   FROM unnest($1::text[], $2::timestamptz[]) AS t(id, at)
                  WHERE a.authority_id = t.id",
            )
            .bind(&ids)
            .bind(&ats)
            .execute(&mut *db)
            .await?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Registrations {
    ids: Vec<String>,
    member_states: Vec<String>,
    kinds: Vec<String>,
    names: Vec<String>,
    at: Vec<DateTime<Utc>>,
}

impl Registrations {
    fn push(&mut self, id: &str, ms: &str, kind: &str, name: &str, e: &FeedEvent) {
        self.ids.push(id.to_string());
        self.member_states.push(ms.to_string());
        self.kinds.push(kind.to_string());
        self.names.push(name.to_string());
        self.at.push(e.recorded_at);
    }

    async fn insert(self, db: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO authorities
                 (authority_id, member_state, kind, official_name, registered_at, updated_at)
             SELECT id, ms, kind, name, at, at
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
                    AS r(id, ms, kind, name, at)",
        )
        .bind(&self.ids)
        .bind(&self.member_states)
        .bind(&self.kinds)
        .bind(&self.names)
        .bind(&self.at)
        .execute(db)
        .await?;
        Ok(())
    }
}

/// One authority as the directory shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub authority_id: String,
    pub member_state: String,
    pub kind: String,
    pub official_name: String,
    /// Informal titles by language code.
    pub informal_titles: BTreeMap<String, String>,
    pub updated_at: DateTime<Utc>,
}

/// A directory search. Text matches the official name or an informal title in any language.
#[derive(Clone, Debug, Default)]
pub struct DirectorySearch {
    pub text: Option<String>,
    pub member_state: Option<String>,
    /// Return entries whose id sorts after this one (keyset pagination).
    pub after: Option<String>,
    pub limit: i64,
}

/// The entry query: one row per authority with its titles as a JSON object.
fn entries_sql(filter: &str, tail: &str) -> String {
    format!(
        "SELECT a.authority_id, a.member_state, a.kind, a.official_name, a.updated_at,
                coalesce(jsonb_object_agg(t.language, t.title)
                         FILTER (WHERE t.language IS NOT NULL), '{{}}') AS titles
           FROM {NAME}.authorities a
           LEFT JOIN {NAME}.informal_titles t USING (authority_id)
          WHERE {filter}
          GROUP BY a.authority_id
          {tail}"
    )
}

fn decode_entry(r: &sqlx::postgres::PgRow) -> Result<DirectoryEntry, sqlx::Error> {
    let titles: serde_json::Value = r.try_get("titles")?;
    Ok(DirectoryEntry {
        authority_id: r.try_get("authority_id")?,
        member_state: r.try_get("member_state")?,
        kind: r.try_get("kind")?,
        official_name: r.try_get("official_name")?,
        informal_titles: serde_json::from_value(titles)
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// One authority of the live directory.
pub async fn get<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
) -> Result<Option<DirectoryEntry>, sqlx::Error> {
    sqlx::query(&entries_sql("a.authority_id = $1", ""))
        .bind(authority_id)
        .fetch_optional(db)
        .await?
        .as_ref()
        .map(decode_entry)
        .transpose()
}

/// Searches the live directory, ordered by authority id.
pub async fn search<'e>(
    db: impl PgExecutor<'e>,
    q: &DirectorySearch,
) -> Result<Vec<DirectoryEntry>, sqlx::Error> {
    let pattern = q.text.as_deref().map(|t| {
        format!(
            "%{}%",
            t.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let sql = entries_sql(
        &format!(
            "($1::text IS NULL OR a.member_state = $1)
             AND ($2::text IS NULL OR a.authority_id > $2)
             AND ($3::text IS NULL OR a.official_name ILIKE $3
                  OR EXISTS (SELECT 1 FROM {NAME}.informal_titles s
                              WHERE s.authority_id = a.authority_id AND s.title ILIKE $3))"
        ),
        "ORDER BY a.authority_id LIMIT $4",
    );
    let rows = sqlx::query(&sql)
        .bind(&q.member_state)
        .bind(&q.after)
        .bind(&pattern)
        .bind(q.limit)
        .fetch_all(db)
        .await?;
    rows.iter().map(decode_entry).collect()
}
