//! The users of each authority: roles per legislative area, local data administrator, active,
//! when registered and last changed, how many password resets and the last one. For the
//! authority's local data administrators and the data administrators of its validating
//! coordinator (the gateway decides who reads what).
//!
//! The identity is personal data: it is stored exactly as the event carries it, [`Sealed`]
//! under the user's own data key. This projection never opens it; the gateway opens it with the
//! key ring for callers allowed to see it (after erasure it opens as erased). No credentials
//! are here: they live in the store's `credentials` table.

use crate::fold::{self, Sequences};
use crate::projection::{Projection, ProjectionError};
use crate::writes::{self, Writes};
use chrono::{DateTime, Utc};
use imi_domain::authority::{AuthorityEvent, UserRole};
use imi_domain::sealed::Sealed;
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use std::collections::{BTreeMap, BTreeSet};

pub const NAME: &str = "authority_users";

pub struct AuthorityUsers;

/// One user of one authority (one row of `users`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserEntry {
    pub authority_id: String,
    pub user_id: String,
    /// Name, e-mail, login: sealed as the event carries it, under `User/<user_id>`.
    pub identity: Sealed,
    pub local_data_administrator: bool,
    pub active: bool,
    /// Roles per legislative area (basic user, held by everyone, is implied and not listed).
    pub roles: BTreeMap<String, BTreeSet<UserRole>>,
    pub registered_at: DateTime<Utc>,
    /// When roles, LDA status, activity or password last changed.
    pub updated_at: DateTime<Utc>,
    pub password_resets: i32,
    pub last_password_reset_at: Option<DateTime<Utc>>,
    pub last_password_reset_by_user: Option<String>,
    pub last_password_reset_by_authority: Option<String>,
}

impl UserEntry {
    pub fn has_role(&self, area: &str, role: UserRole) -> bool {
        self.roles.get(area).is_some_and(|r| r.contains(&role))
    }
}

type Key = (String, String);

/// The user an event is about, if it is about one.
fn user_of(event: &AuthorityEvent) -> Option<&str> {
    use AuthorityEvent as E;
    match event {
        E::UserRegistered { user_id, .. }
        | E::UserRolesGranted { user_id, .. }
        | E::UserRolesRevoked { user_id, .. }
        | E::LocalDataAdministratorAppointed { user_id }
        | E::LocalDataAdministratorDismissed { user_id }
        | E::PasswordReset { user_id, .. }
        | E::UserDeactivated { user_id }
        | E::UserReactivated { user_id } => Some(user_id),
        _ => None,
    }
}

#[async_trait::async_trait]
impl Projection for AuthorityUsers {
    fn name(&self) -> &'static str {
        NAME
    }
    /// 2: the authority's contact person (`contact_persons`).
    fn version(&self) -> i32 {
        2
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/authority_users.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[crate::fold::AUTHORITY])
    }

    /// Loads the users the batch is about, folds the batch over them, rewrites the changed
    /// ones and their role rows set-wise.
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let events = fold::authority_events(events)?;
        if events.is_empty() {
            return Ok(Writes::default());
        }
        let keys: BTreeSet<Key> = events
            .iter()
            .filter_map(|(e, event)| user_of(event).map(|u| (e.aggregate_id.clone(), u.into())))
            .collect();
        // The sequences and the users the batch names, in one round trip.
        let (mut sequences, loaded): (Sequences, Vec<UserEntry>) =
            fold::load_sequences_and_rows_by_pair(
                db,
                &fold::ids_of(&events),
                "users",
                ("authority_id", "user_id"),
                &keys,
            )
            .await?;
        let mut rows: BTreeMap<Key, UserEntry> = BTreeMap::new();
        for row in loaded {
            rows.insert((row.authority_id.clone(), row.user_id.clone()), row);
        }
        let mut changed = BTreeSet::new();
        // The latest contact person per authority in the batch (`None`: it names none).
        let mut contacts: BTreeMap<String, Option<Sealed>> = BTreeMap::new();
        for (e, event) in events {
            sequences.check(e)?;
            if let Some(contact) = contact_person_of(&event) {
                contacts.insert(e.aggregate_id.clone(), contact);
            }
            let Some(user_id) = user_of(&event).map(str::to_string) else {
                continue;
            };
            let key = (e.aggregate_id.clone(), user_id);
            if apply(&mut rows, &key, e, event) {
                changed.insert(key);
            }
        }
        let written: Vec<&UserEntry> = changed.iter().filter_map(|k| rows.get(k)).collect();
        let (authorities, users): (Vec<String>, Vec<String>) = changed.iter().cloned().unzip();
        let mut writes = Writes::default();
        if !written.is_empty() {
            for table in ["users", "user_roles"] {
                writes.sql(format!(
                    "DELETE FROM {table} t USING unnest({}::text[], {}::text[]) AS k(aid, uid)
                      WHERE (t.authority_id, t.user_id) = (k.aid, k.uid)",
                    writes::literal(&authorities),
                    writes::literal(&users),
                ));
            }
            writes.insert("users", &written)?;
            let roles: Vec<RoleRow> = written
                .iter()
                .flat_map(|u| {
                    u.roles.iter().flat_map(move |(area, roles)| {
                        roles.iter().map(move |role| RoleRow {
                            authority_id: &u.authority_id,
                            user_id: &u.user_id,
                            area,
                            role: *role,
                        })
                    })
                })
                .collect();
            writes.insert("user_roles", &roles)?;
        }
        if !contacts.is_empty() {
            let ids: Vec<String> = contacts.keys().cloned().collect();
            let rows: Vec<ContactRow> = contacts
                .iter()
                .filter_map(|(id, c)| {
                    c.as_ref().map(|c| ContactRow {
                        authority_id: id,
                        contact_person: c,
                    })
                })
                .collect();
            writes.replace("contact_persons", "authority_id", &ids, &rows)?;
        }
        writes.sequences(&sequences);
        Ok(writes)
    }
}

#[derive(Serialize)]
struct ContactRow<'a> {
    authority_id: &'a str,
    contact_person: &'a Sealed,
}

/// The contact person an event sets, if it sets one (`Some(None)`: it names none).
fn contact_person_of(event: &AuthorityEvent) -> Option<Option<Sealed>> {
    use AuthorityEvent as E;
    match event {
        E::AuthoritySelfRegistered { contact_person, .. }
        | E::AuthorityRegistered { contact_person, .. }
        | E::ContactPersonChanged { contact_person } => Some(contact_person.clone()),
        _ => None,
    }
}

/// The contact person (sealed) of the authority whose events up to a point are `events`, as
/// the live table held it then; `None` when it named none.
pub fn contact_person_at(events: &[FeedEvent]) -> Result<Option<Sealed>, ProjectionError> {
    Ok(fold::authority_events(events)?
        .iter()
        .rev()
        .find_map(|(_, event)| contact_person_of(event))
        .flatten())
}

/// An authority's contact person as its event carries it (sealed); `None` when it names none.
pub async fn contact_person(
    db: impl PgExecutor<'_>,
    authority_id: &str,
) -> Result<Option<Sealed>, sqlx::Error> {
    let value: Option<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT contact_person FROM {NAME}.contact_persons WHERE authority_id = $1"
    ))
    .bind(authority_id)
    .fetch_optional(db)
    .await?;
    value.map(fold::decode).transpose()
}

#[derive(Serialize)]
struct RoleRow<'a> {
    authority_id: &'a str,
    user_id: &'a str,
    area: &'a str,
    role: UserRole,
}

/// Applies one user event as the aggregate does. Returns whether the user changed.
fn apply(
    rows: &mut BTreeMap<Key, UserEntry>,
    key: &Key,
    e: &FeedEvent,
    event: AuthorityEvent,
) -> bool {
    use AuthorityEvent as E;
    let at = e.recorded_at;
    if let E::UserRegistered {
        user_id,
        identity,
        local_data_administrator,
    } = event
    {
        rows.insert(
            key.clone(),
            UserEntry {
                authority_id: key.0.clone(),
                user_id,
                identity,
                local_data_administrator,
                active: true,
                roles: BTreeMap::new(),
                registered_at: at,
                updated_at: at,
                password_resets: 0,
                last_password_reset_at: None,
                last_password_reset_by_user: None,
                last_password_reset_by_authority: None,
            },
        );
        return true;
    }
    let Some(user) = rows.get_mut(key) else {
        // A user the log never registered: nothing to change.
        return false;
    };
    match event {
        E::UserRolesGranted { area, roles, .. } => {
            user.roles
                .entry(area.code().to_string())
                .or_default()
                .extend(roles);
        }
        E::UserRolesRevoked { area, roles, .. } => {
            if let Some(held) = user.roles.get_mut(area.code()) {
                held.retain(|r| !roles.contains(r));
                if held.is_empty() {
                    user.roles.remove(area.code());
                }
            }
        }
        E::LocalDataAdministratorAppointed { .. } => user.local_data_administrator = true,
        E::LocalDataAdministratorDismissed { .. } => user.local_data_administrator = false,
        E::PasswordReset {
            reset_by_user,
            reset_by_authority,
            ..
        } => {
            user.password_resets += 1;
            user.last_password_reset_at = Some(at);
            user.last_password_reset_by_user = Some(reset_by_user);
            user.last_password_reset_by_authority = Some(reset_by_authority);
        }
        E::UserDeactivated { .. } => user.active = false,
        E::UserReactivated { .. } => user.active = true,
        _ => return false,
    }
    user.updated_at = at;
    true
}

// --- Queries --------------------------------------------------------------------------

/// Which users of an authority to list; all filters must hold. Ordered by user id; page with
/// `after` (the last user id of the previous page) and `limit`.
#[derive(Clone, Debug, Default)]
pub struct UserQuery {
    /// Holds a role in this area (any role, or `role`).
    pub area: Option<String>,
    /// Holds this role (in `area`, or in any area).
    pub role: Option<UserRole>,
    pub local_data_administrators_only: bool,
    pub active_only: bool,
    pub after: Option<String>,
    pub limit: i64,
}

/// The users of `authority_id` that `q` selects.
pub async fn of_authority<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
    q: &UserQuery,
) -> Result<Vec<UserEntry>, sqlx::Error> {
    let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT to_jsonb(u) FROM {NAME}.users u WHERE u.authority_id = "
    ));
    sql.push_bind(authority_id.to_string());
    if q.local_data_administrators_only {
        sql.push(" AND u.local_data_administrator");
    }
    if q.active_only {
        sql.push(" AND u.active");
    }
    if let Some(after) = &q.after {
        sql.push(" AND u.user_id > ").push_bind(after.clone());
    }
    if q.area.is_some() || q.role.is_some() {
        sql.push(format!(
            " AND EXISTS (SELECT 1 FROM {NAME}.user_roles r
                           WHERE (r.authority_id, r.user_id) = (u.authority_id, u.user_id)"
        ));
        if let Some(area) = &q.area {
            sql.push(" AND r.area = ").push_bind(area.clone());
        }
        if let Some(role) = q.role {
            sql.push(" AND r.role = ").push_bind(role_name(role));
        }
        sql.push(")");
    }
    sql.push(" ORDER BY u.user_id LIMIT ")
        .push_bind(q.limit.max(0));
    let values: Vec<serde_json::Value> = sql.build_query_scalar().fetch_all(db).await?;
    values.into_iter().map(fold::decode).collect()
}

/// One user of one authority.
pub async fn get<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
    user_id: &str,
) -> Result<Option<UserEntry>, sqlx::Error> {
    let value: Option<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT to_jsonb(u) FROM {NAME}.users u WHERE u.authority_id = $1 AND u.user_id = $2"
    ))
    .bind(authority_id)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    value.map(fold::decode).transpose()
}

/// The active data administrators of coordinator `coordinator_id` in `area`: who manages the
/// authorities it validated, and may reset their local data administrators' passwords.
pub async fn data_administrators<'e>(
    db: impl PgExecutor<'e>,
    coordinator_id: &str,
    area: &str,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<UserEntry>, sqlx::Error> {
    let q = UserQuery {
        area: Some(area.to_string()),
        role: Some(UserRole::DataAdministrator),
        active_only: true,
        after,
        limit,
        ..Default::default()
    };
    of_authority(db, coordinator_id, &q).await
}

/// Whether `user_id` is a data administrator (in any area) of `authority_id`.
pub async fn is_data_administrator<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM {NAME}.user_roles
                         WHERE authority_id = $1 AND user_id = $2 AND role = 'DataAdministrator')"
    ))
    .bind(authority_id)
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// A user role's name as stored (its serde name).
pub fn role_name(role: UserRole) -> String {
    match serde_json::to_value(role) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{role:?}"),
    }
}
