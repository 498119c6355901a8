//! Invitations to register: each invited authority from its invitation until it registers,
//! with where the code was sent (sealed), when it expires, how often it was renewed, and
//! whether it is pending, expired or used. For the inviting coordinator's data
//! administrators (the gateway decides who reads what).
//!
//! An invitation past its expiry counts as expired as soon as the time passes, before the
//! scheduler records it.

use crate::fold;
use crate::projection::{Projection, ProjectionError};
use crate::writes::Writes;
use chrono::{DateTime, Utc};
use imi_domain::authority::{AuthorityEvent, AuthorityKind};
use imi_domain::sealed::Sealed;
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use std::collections::BTreeMap;

pub const NAME: &str = "invitations";

pub struct Invitations;

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    Expired,
    Registered,
}

impl InvitationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Expired => "expired",
            Self::Registered => "registered",
        }
    }
}

/// One invitation (one row of `invitations`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub authority_id: String,
    pub invited_by: String,
    pub member_state: String,
    pub kind: AuthorityKind,
    pub region: Option<String>,
    pub areas: Vec<String>,
    pub contact_email: Sealed,
    pub invited_at: DateTime<Utc>,
    pub renewals: i32,
    pub renewed_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub state: InvitationState,
    pub registered_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// Its state at `now`: a pending invitation past its expiry is expired.
    pub fn state_at(&self, now: DateTime<Utc>) -> InvitationState {
        match self.state {
            InvitationState::Pending if now >= self.expires_at => InvitationState::Expired,
            state => state,
        }
    }
}

#[async_trait::async_trait]
impl Projection for Invitations {
    fn name(&self) -> &'static str {
        NAME
    }
    fn version(&self) -> i32 {
        1
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/invitations.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[crate::fold::AUTHORITY])
    }

    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let Some(folded) = fold::fold_authorities::<Invitation>(
            db,
            events,
            "SELECT to_jsonb(i) FROM invitations i WHERE authority_id = ANY($1)",
            |i| i.authority_id.clone(),
            apply,
        )
        .await?
        else {
            return Ok(Writes::default());
        };
        let mut writes = Writes::default();
        let rows = folded.changed_rows();
        writes.replace("invitations", "authority_id", &folded.changed, &rows)?;
        writes.sequences(&folded.sequences);
        Ok(writes)
    }
}

fn apply(rows: &mut BTreeMap<String, Invitation>, e: &FeedEvent, event: AuthorityEvent) -> bool {
    use AuthorityEvent as E;
    let id = &e.aggregate_id;
    match event {
        E::InvitationIssued {
            invited_by,
            member_state,
            kind,
            region,
            access,
            expires_at,
            contact_email,
            ..
        } => {
            rows.insert(
                id.clone(),
                Invitation {
                    authority_id: id.clone(),
                    invited_by,
                    member_state: member_state.code().to_string(),
                    kind,
                    region: region.map(|r| r.code().to_string()),
                    areas: access.keys().map(|a| a.code().to_string()).collect(),
                    contact_email,
                    invited_at: e.recorded_at,
                    renewals: 0,
                    renewed_at: None,
                    expires_at,
                    state: InvitationState::Pending,
                    registered_at: None,
                },
            );
            true
        }
        E::InvitationRenewed { expires_at, .. } => match rows.get_mut(id) {
            Some(row) => {
                row.renewals += 1;
                row.renewed_at = Some(e.recorded_at);
                row.expires_at = expires_at;
                row.state = InvitationState::Pending;
                true
            }
            None => false,
        },
        E::InvitationExpired { .. } => match rows.get_mut(id) {
            Some(row) => {
                row.state = InvitationState::Expired;
                true
            }
            None => false,
        },
        E::AuthoritySelfRegistered { .. } => match rows.get_mut(id) {
            Some(row) => {
                row.state = InvitationState::Registered;
                row.registered_at = Some(e.recorded_at);
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// The invitations `coordinator` sent, newest first, in `state` at `now` when given, after
/// the cursor `(invited_at, authority_id)`; one more than `limit` tells there is a next page.
pub async fn sent_by(
    db: impl PgExecutor<'_>,
    coordinator: &str,
    state: Option<InvitationState>,
    now: DateTime<Utc>,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<Invitation>, sqlx::Error> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT to_jsonb(i) FROM {NAME}.invitations i WHERE i.invited_by = "
    ));
    q.push_bind(coordinator.to_string());
    if let Some(state) = state {
        let effective = "CASE WHEN i.state = 'pending' AND i.expires_at <= ";
        q.push(format!(" AND ({effective}"))
            .push_bind(now)
            .push(" THEN 'expired' ELSE i.state END) = ")
            .push_bind(state.as_str());
    }
    if let Some((at, id)) = after {
        q.push(" AND (i.invited_at, i.authority_id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    q.push(" ORDER BY i.invited_at DESC, i.authority_id DESC LIMIT ")
        .push_bind(limit + 1);
    let values: Vec<serde_json::Value> = q.build_query_scalar().fetch_all(db).await?;
    values.into_iter().map(fold::decode).collect()
}
