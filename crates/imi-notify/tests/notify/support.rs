//! The scene: a fresh database with the outbox and the directory and users projections, a key
//! ring, and notification rows written as the outbox projection writes them.

use chrono::{DateTime, Utc};
use imi_domain::sealed::Sealed;
use imi_projections::notifications::{EmailTo, Row};
use imi_projections::{runner, Slot};
use imi_store::sealing::{KeyRing, MasterKey};
use imi_testkit::TestDb;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub struct Scene {
    pub db: TestDb,
    pub keyring: Arc<KeyRing>,
}

impl Scene {
    pub async fn new() -> Self {
        let db = imi_testkit::fresh_database().await;
        imi_store::migrate(&db.pool).await.expect("migrations");
        for projection in imi_projections::all() {
            runner::ensure_slot(&db.pool, projection.as_ref(), Slot::Live)
                .await
                .expect("projection tables");
        }
        let master = MasterKey::from_hex(&"11".repeat(32)).expect("a master key");
        let keyring = Arc::new(KeyRing::new(db.pool.clone(), master));
        Self { db, keyring }
    }

    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    pub async fn seal(&self, key: &str, value: &Value) -> Sealed {
        self.keyring.seal(key, value).await.expect("sealed")
    }

    /// An authority in the directory with an office address.
    pub async fn authority(&self, id: &str, member_state: &str, email: Option<&str>) {
        let row = json!({
            "authority_id": id, "status": "Validated", "member_state": member_state,
            "kind": "CompetentAuthority", "informal_titles": {}, "contact": {"email": email},
            "coordinated_areas": [], "areas": {}, "linked_authorities": [],
            "updated_at": Utc::now(), "search_key": id,
        });
        sqlx::query(
            "INSERT INTO authority_directory.authorities
             SELECT * FROM jsonb_populate_record(NULL::authority_directory.authorities, $1)",
        )
        .bind(row)
        .execute(self.pool())
        .await
        .expect("directory row");
    }

    /// A user with a sealed identity.
    pub async fn user(&self, authority: &str, user: &str, identity: Value) {
        let sealed = self.seal(&format!("User/{user}"), &identity).await;
        let row = json!({
            "authority_id": authority, "user_id": user, "identity": sealed,
            "local_data_administrator": false, "active": true, "roles": {},
            "registered_at": Utc::now(), "updated_at": Utc::now(), "password_resets": 0,
        });
        sqlx::query(
            "INSERT INTO authority_users.users
             SELECT * FROM jsonb_populate_record(NULL::authority_users.users, $1)",
        )
        .bind(row)
        .execute(self.pool())
        .await
        .expect("user row");
    }

    /// A registration code waiting to be mailed, as the gateway keeps it.
    pub async fn registration_code(&self, authority: &str, digest: &str, code: &str) {
        let sealed = self
            .seal(&format!("Authority/{authority}"), &json!(code))
            .await;
        sqlx::query(
            "INSERT INTO registration_codes (code_digest, authority_id, code) VALUES ($1, $2, $3)",
        )
        .bind(digest)
        .bind(authority)
        .bind(serde_json::to_value(sealed).unwrap())
        .execute(self.pool())
        .await
        .expect("code row");
    }

    /// Adds `rows` to the outbox, with the projections the sender reads recipients from
    /// (directory, users) as far as the rows' events, as the engine leaves them.
    pub async fn add(&self, rows: &[Row]) {
        self.add_ahead_of_recipients(rows).await;
        if let Some(last) = rows.iter().map(|r| (r.xid, r.position)).max() {
            self.recipients_applied(last).await;
        }
    }

    /// Moves the directory's and users' live checkpoints to `at` (never back).
    pub async fn recipients_applied(&self, at: (i64, i64)) {
        sqlx::query(
            "UPDATE projections SET xid = $1, position = $2
              WHERE slot = 'live' AND name = ANY($3) AND (xid, position) < ($1, $2)",
        )
        .bind(at.0)
        .bind(at.1)
        .bind([
            imi_projections::directory::NAME,
            imi_projections::users::NAME,
        ])
        .execute(self.pool())
        .await
        .expect("checkpoints");
    }

    /// Adds `rows` to the outbox only: their events not yet applied by the directory and users.
    pub async fn add_ahead_of_recipients(&self, rows: &[Row]) {
        sqlx::query(
            "INSERT INTO notifications.notifications
             SELECT * FROM jsonb_populate_recordset(NULL::notifications.notifications, $1)",
        )
        .bind(serde_json::to_value(rows).unwrap())
        .execute(self.pool())
        .await
        .expect("notification rows");
    }
}

static POSITION: AtomicI64 = AtomicI64::new(1);

/// A notification row to `authority`.
pub fn row(kind: &str, authority: &str, email_to: EmailTo, params: Value) -> Row {
    let position = POSITION.fetch_add(1, Ordering::Relaxed);
    Row {
        id: format!("Authority/{authority}/{position}/0"),
        xid: 1,
        position,
        kind: kind.to_string(),
        aggregate_type: "Authority".into(),
        aggregate_id: authority.to_string(),
        recipient_authority: Some(authority.to_string()),
        recipient_user: None,
        area: None,
        role: None,
        email_to,
        email: None,
        params,
        created_at: Utc::now(),
    }
}

pub fn at(row: Row, created_at: DateTime<Utc>) -> Row {
    Row { created_at, ..row }
}
