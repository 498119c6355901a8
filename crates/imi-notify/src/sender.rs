//! E-mail delivery of the notification outbox.
//!
//! One mail at a time: claim it (a delivery row in state `sending` with a lease, written in
//! one statement, so two senders never claim the same notification), compose it, send it,
//! record the outcome. Several senders may run, in one process or many.
//!
//! Sent once: a notification is claimed before it is sent and marked `sent` right after, and
//! a graceful stop only happens between two mails, so a restart resends nothing. A crash in
//! the instant between the server's acceptance and the `sent` mark leaves the claim to expire
//! and the mail to be sent again: the one duplicate a crash can cause, and it carries the
//! same deterministic `Message-ID` (`<notification id>@imi.notifications`), by which mail
//! clients drop it.
//!
//! Failures are retried with exponential backoff up to `max_attempts`, then marked `failed`;
//! a notification with nothing to send (no address, the address erased) is `skipped`. All of
//! it shows in [`crate::status`] and in the `imi_mail_notifications` gauges of `/metrics`.

use crate::mail::{MailError, Mailer};
use crate::texts::{self, Text};
use crate::undefined_table;
use chrono::Utc;
use imi_domain::authority::Clock;
use imi_domain::authority::INVITATION_VALIDITY_DAYS;
use imi_domain::sealed::Sealed;
use imi_projections::notifications::{kinds, EmailTo, Row};
use imi_projections::{directory, users};
use imi_store::processing_log::{self, Kind, Processing};
use imi_store::sealing::{KeyRing, Opened};
use lettre::message::header::ContentType;
use lettre::Message;
use serde_json::Value;
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct SenderOptions {
    /// Attempts before a notification is marked `failed`.
    pub max_attempts: i32,
    /// The first retry waits this long; each next one twice as long, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How long a claim holds before another sender may take the notification over.
    pub lease: Duration,
    /// Notifications older than this when first seen are not mailed (`skipped`): a sender
    /// started on a long history does not mail the past.
    pub horizon: chrono::Duration,
    /// How often an idle sender looks for work without a wake-up.
    pub idle_poll: Duration,
}

impl Default for SenderOptions {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(6 * 3600),
            lease: Duration::from_secs(120),
            horizon: chrono::Duration::days(7),
            idle_poll: Duration::from_secs(2),
        }
    }
}

/// What became of one notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        to: String,
    },
    /// Failed this time; tried again later.
    Retry(String),
    /// Given up.
    Failed(String),
    /// Nothing to send.
    Skipped(String),
}

pub struct Sender {
    pool: PgPool,
    keyring: Arc<KeyRing>,
    mailer: Mailer,
    /// Who holds a claim (process and task), for the status.
    name: String,
    options: SenderOptions,
    /// In training mode, the moved clock: every mail says so in its footer.
    training: Option<Arc<imi_store::clock::AdjustableClock>>,
    /// Where the never-claimed part of the outbox starts for this sender (see [`CLAIM`]).
    cursor: Mutex<Cursor>,
    /// When the next claim looks for expired claims too (see [`Sender::takeover_due`]).
    takeover_at: Mutex<Instant>,
}

/// What a claim looked at: the notification it claimed and its attempts (if it won it),
/// whether the one due was never claimed before, and where the walk got to (see [`CLAIM`]).
type Looked = (
    Option<String>,
    Option<i32>,
    bool,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// A notification claimed for sending.
struct Claim {
    id: String,
    attempts: i32,
}

/// Claims the earliest notification due, in feed order: either one never claimed past the
/// sender's cursor ($4, $5, $6: the feed order of the last one it looked at), or one whose
/// retry fell due or, when $7 names `sending`, whose claim expired. The outbox grows with
/// every announcement, so the never-claimed part starts at the cursor instead of at the
/// horizon; both parts are index ranges. Every claim leaves a dead `sending` entry in the
/// state index until vacuum, so expired claims are looked for only now and then (see
/// [`Sender::takeover_due`]). Returns the claim (if it won it) and what it looked at, to move
/// the cursor.
///
/// A notification is taken only once every projection in $8 (those the sender reads the
/// recipient from) has applied its event: they commit apart from the outbox (in other lanes,
/// or in another process), and a recipient read before its projection knew them would have no
/// address, and the mail would be skipped for good. Checkpoints only move forward and the
/// outbox is in feed order, so what waits here is always the never-claimed part's end, and the
/// cursor never passes it.
///
/// A never-claimed notification older than the horizon ($3) is recorded as skipped rather than
/// claimed: its age is checked on the one found, not in the search.
///
/// The never-claimed part is searched by a walk along the feed-order index, one notification
/// at a time from the cursor, over those with nothing to send or already claimed, up to the
/// first one due or the projections' checkpoint, at most [`WALK`] steps. Each step is an index
/// probe, so a claim costs what it walks over, never the backlog behind it. As one search with
/// its conditions as filters, the planner was free to read every notification past the cursor
/// (through the feed-order and the partial creation-time index together), test each against
/// every delivery, and sort them: under the write benchmark that cost 21 ms a claim with 200
/// mails waiting, 72% of the database's time, and the sender fell ever further behind. The
/// cursor then moves to the notification due when it is the one claimed, else past those
/// walked over. The walk's ids compare byte by byte, as the outbox's key does (`COLLATE
/// "C"`), named in both of its terms so that the walk's column has one collation.
#[doc(hidden)]
pub const CLAIM: &str = "
WITH RECURSIVE bound AS (
    SELECT p.xid, p.position
      FROM public.projections p
     WHERE p.slot = 'live' AND p.name = ANY($8)
       AND (SELECT count(*) FROM public.projections q
             WHERE q.slot = 'live' AND q.name = ANY($8)) = cardinality($8)
     ORDER BY p.xid, p.position
     LIMIT 1
), walk (id, xid, position, created_at, due, step) AS (
    SELECT $6::text COLLATE \"C\", $4::bigint, $5::bigint, NULL::timestamptz, false, 0
    UNION ALL
    SELECT n.id COLLATE \"C\", n.xid, n.position, n.created_at,
           n.email_to <> 'none'
             AND (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = n.id) IS NULL,
           w.step + 1
      FROM walk w
     CROSS JOIN bound b
     CROSS JOIN LATERAL (
           SELECT n.id, n.xid, n.position, n.created_at, n.email_to
             FROM notifications.notifications n
            WHERE (n.xid, n.position, n.id) > (w.xid, w.position, w.id)
            ORDER BY n.xid, n.position, n.id
            LIMIT 1) n
     WHERE NOT w.due AND w.step < $9 AND (n.xid, n.position) <= (b.xid, b.position)
), fresh AS (
    SELECT id, xid, position, created_at FROM walk WHERE due
), again AS (
    SELECT n.id, n.xid, n.position, n.created_at
      FROM notification_deliveries d
      JOIN notifications.notifications n ON n.id = d.notification_id
     WHERE d.state = ANY($7)
       AND ((d.state = 'retry' AND d.next_attempt_at <= now())
            OR (d.state = 'sending' AND d.claimed_until < now()))
       AND n.created_at >= $3
     ORDER BY n.xid, n.position, n.id
     LIMIT 1
), due AS (
    SELECT * FROM fresh UNION ALL SELECT * FROM again
     ORDER BY xid, position, id
     LIMIT 1
), claimed AS (
    INSERT INTO notification_deliveries
           (notification_id, state, attempts, claimed_by, claimed_until, last_error)
    SELECT id, 'sending', 1, $1, now() + make_interval(secs => $2), NULL
      FROM due WHERE created_at >= $3
    UNION ALL
    SELECT id, 'skipped', 0, NULL, NULL, 'older than the sender''s horizon when first seen'
      FROM due WHERE created_at < $3
    ON CONFLICT (notification_id) DO UPDATE
       SET state = 'sending', attempts = notification_deliveries.attempts + 1,
           claimed_by = excluded.claimed_by, claimed_until = excluded.claimed_until,
           updated_at = now()
     WHERE (notification_deliveries.state = 'retry' AND notification_deliveries.next_attempt_at <= now())
        OR (notification_deliveries.state = 'sending' AND notification_deliveries.claimed_until < now())
    RETURNING notification_id, attempts, state
), passed AS (
    SELECT w.xid, w.position, w.id
      FROM walk w
     WHERE w.step > 0 AND (NOT w.due OR w.id IN (SELECT id FROM due))
     ORDER BY w.step DESC
     LIMIT 1
)
SELECT c.notification_id, c.attempts, coalesce(due.id = (SELECT id FROM fresh), false),
       p.xid, p.position, p.id
  FROM (SELECT 1) AS one
  LEFT JOIN due ON true
  LEFT JOIN claimed c ON c.state = 'sending'
  LEFT JOIN passed p ON true
 WHERE due.id IS NOT NULL OR p.id IS NOT NULL";

/// The most notifications one claim walks over (see [`CLAIM`]); the next claim goes on from
/// where it stopped.
const WALK: i32 = 512;

/// The projections a recipient is read from ([`Sender::recipient`]).
const RECIPIENTS_FROM: [&str; 2] = [directory::NAME, users::NAME];

/// Where a sender's never-claimed part of the outbox starts: the feed order (xid, position,
/// id) of the last notification it looked at.
type Cursor = (i64, i64, String);

/// Before the first notification: a sender that starts looks from the horizon.
fn start() -> Cursor {
    (i64::MIN, i64::MIN, String::new())
}

/// A notification ($1) with its recipient authority's Member State and office address. The
/// outbox's keys compare byte by byte (`COLLATE "C"`), the directory's under the database's
/// collation: the join names the directory's, so that its key's index serves it.
#[doc(hidden)]
pub fn notification_with_office() -> String {
    format!(
        "SELECT to_jsonb(n), a.member_state, a.contact->>'email'
           FROM notifications.notifications n
           LEFT JOIN {}.authorities a ON a.authority_id = n.recipient_authority COLLATE \"default\"
          WHERE n.id = $1",
        directory::NAME
    )
}

/// Marks what is older than the horizon and never claimed as `skipped`.
const SKIP_OLD: &str = "
INSERT INTO notification_deliveries (notification_id, state, last_error)
SELECT n.id, 'skipped', 'older than the sender''s horizon when first seen'
  FROM notifications.notifications n
  LEFT JOIN notification_deliveries d ON d.notification_id = n.id
 WHERE n.email_to <> 'none' AND n.created_at < $1 AND d.notification_id IS NULL
ON CONFLICT (notification_id) DO NOTHING";

impl Sender {
    pub fn new(pool: PgPool, keyring: Arc<KeyRing>, mailer: Mailer, name: &str) -> Self {
        Self {
            pool,
            keyring,
            mailer,
            name: name.to_string(),
            options: SenderOptions::default(),
            training: None,
            cursor: Mutex::new(start()),
            takeover_at: Mutex::new(Instant::now()),
        }
    }

    pub fn with_options(mut self, options: SenderOptions) -> Self {
        self.options = options;
        self
    }

    /// Sends the mails of a service in training mode, running on `clock`.
    pub fn in_training(mut self, clock: Arc<imi_store::clock::AdjustableClock>) -> Self {
        self.training = Some(clock);
        self
    }

    /// Sends until `stop` turns true, waking on `wake` (new events) or every `idle_poll`.
    /// Stops only between two mails.
    pub async fn run(&self, mut wake: watch::Receiver<u64>, mut stop: watch::Receiver<bool>) {
        tracing::info!(transport = %self.mailer.describe(), "mail sender started");
        let mut skipped_old_at: Option<std::time::Instant> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            if skipped_old_at.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
                match self.skip_old().await {
                    Ok(_) => skipped_old_at = Some(std::time::Instant::now()),
                    Err(error) => tracing::warn!(%error, "could not mark old notifications"),
                }
            }
            match self.send_next().await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "mail sender: database error"),
            }
            tokio::select! {
                _ = wake.changed() => {}
                _ = stop.changed() => {}
                _ = tokio::time::sleep(self.options.idle_poll) => {}
            }
        }
    }

    /// Sends every notification due now; returns what became of each (for tests and the CLI).
    pub async fn drain(&self) -> Result<Vec<(String, Outcome)>, sqlx::Error> {
        self.skip_old().await?;
        let mut done = Vec::new();
        while let Some(one) = self.send_next().await? {
            done.push(one);
        }
        Ok(done)
    }

    /// Marks what is older than the horizon as skipped, and drops kept registration codes no
    /// mail will ever need (their invitation expired, or its command never went through).
    /// Also starts the sender's cursor over from the horizon (a rebuilt outbox may hold
    /// notifications the cursor has passed), and has the next claim look for expired claims.
    async fn skip_old(&self) -> Result<u64, sqlx::Error> {
        *self.cursor.lock().expect("the cursor") = start();
        *self.takeover_at.lock().expect("the takeover time") = Instant::now();
        sqlx::query(
            "DELETE FROM registration_codes WHERE created_at < now() - make_interval(days => $1)",
        )
        .bind(INVITATION_VALIDITY_DAYS as i32 + 1)
        .execute(&self.pool)
        .await?;
        let horizon = Utc::now() - self.options.horizon;
        match sqlx::query(SKIP_OLD)
            .bind(horizon)
            .execute(&self.pool)
            .await
        {
            Ok(done) => Ok(done.rows_affected()),
            Err(e) if undefined_table(&e) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Claims, sends and records one notification; `None` when none is due.
    pub async fn send_next(&self) -> Result<Option<(String, Outcome)>, sqlx::Error> {
        let Some(claim) = self.claim().await? else {
            return Ok(None);
        };
        let outcome = self.deliver(&claim.id).await?;
        self.record(&claim, &outcome).await?;
        Ok(Some((claim.id, outcome)))
    }

    /// Whether the next claim also looks for expired claims: every quarter of a lease, so a
    /// dead sender's claim is taken over at most a quarter of a lease after it expires.
    fn takeover_due(&self) -> bool {
        Instant::now() >= *self.takeover_at.lock().expect("the takeover time")
    }

    async fn claim(&self) -> Result<Option<Claim>, sqlx::Error> {
        let horizon = Utc::now() - self.options.horizon;
        loop {
            let (xid, position, id) = self.cursor.lock().expect("the cursor").clone();
            let takeover = self.takeover_due();
            let states = if takeover {
                vec!["retry", "sending"]
            } else {
                vec!["retry"]
            };
            let looked: Result<Option<Looked>, sqlx::Error> = sqlx::query_as(CLAIM)
                .bind(&self.name)
                .bind(self.options.lease.as_secs_f64())
                .bind(horizon)
                .bind(xid)
                .bind(position)
                .bind(id)
                .bind(states)
                .bind(RECIPIENTS_FROM)
                .bind(WALK)
                .fetch_optional(&self.pool)
                .await;
            let (claimed, attempts, fresh_due, passed) = match looked {
                Ok(Some((claimed, attempts, fresh_due, xid, position, id))) => {
                    (claimed, attempts, fresh_due, xid.zip(position).zip(id))
                }
                Ok(None) => return Ok(None),
                // The outbox projection has not been created yet: nothing to send.
                Err(e) if undefined_table(&e) => return Ok(None),
                Err(e) => return Err(e),
            };
            let moved = passed.is_some();
            // Expired claims are taken over one by one, in feed order, until none comes first.
            if takeover && (fresh_due || claimed.is_none()) {
                *self.takeover_at.lock().expect("the takeover time") =
                    Instant::now() + self.options.lease / 4;
            }
            if let Some(((xid, position), id)) = passed {
                *self.cursor.lock().expect("the cursor") = (xid, position, id);
            }
            match claimed.zip(attempts) {
                Some((id, attempts)) => return Ok(Some(Claim { id, attempts })),
                // Another sender claimed the one never claimed before, or it was older than the
                // horizon and recorded as skipped, or the walk stopped short: look past it.
                None if moved => continue,
                None => return Ok(None),
            }
        }
    }

    /// Composes and sends one notification. Database errors abort (the claim expires and
    /// the notification is tried again); everything else is an outcome.
    async fn deliver(&self, id: &str) -> Result<Outcome, sqlx::Error> {
        // The notification with its recipient authority's office, in one round trip.
        let found: Option<(Value, Option<String>, Option<String>)> =
            sqlx::query_as(&notification_with_office())
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some((row, member_state, email)) = found else {
            return Ok(Outcome::Skipped("the notification is gone".into()));
        };
        let row: Row = serde_json::from_value(row).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let office = member_state.map(|ms| (ms, email));
        let recipient = match self.recipient(&row, office).await? {
            Ok(recipient) => recipient,
            Err(skip) => return Ok(skip),
        };
        let code = if row.kind == kinds::REGISTRATION_CODE {
            match self.registration_code(&row).await? {
                Some(code) => Some(code),
                None => {
                    return Ok(Outcome::Failed(
                        "the registration code is no longer held; renew the invitation".into(),
                    ))
                }
            }
        } else {
            None
        };
        let mut text = texts::render(&row.kind, &row.params, &recipient.language, code.as_deref());
        if let Some(clock) = &self.training {
            text.body
                .push_str(&texts::training_footer(clock.offset(), clock.now()));
        }
        let message = match self.compose(&row, &recipient.address, &text) {
            Ok(message) => message,
            Err(why) => return Ok(Outcome::Failed(why)),
        };
        let span =
            tracing::debug_span!(target: imi_store::trace::TARGET, "mail.send", kind = %row.kind);
        match tracing::Instrument::instrument(self.mailer.send(message), span).await {
            Ok(()) => {
                if let Some(digest) = row.params.get("code_digest").and_then(Value::as_str) {
                    if row.kind == kinds::REGISTRATION_CODE {
                        sqlx::query("DELETE FROM registration_codes WHERE code_digest = $1")
                            .bind(digest)
                            .execute(&self.pool)
                            .await?;
                    }
                }
                Ok(Outcome::Sent {
                    to: recipient.address,
                })
            }
            Err(MailError::Send(why)) | Err(MailError::Config(why)) => Ok(Outcome::Retry(why)),
        }
    }

    fn compose(&self, row: &Row, to: &str, text: &Text) -> Result<Message, String> {
        let to = to
            .parse()
            .map_err(|e| format!("the recipient address is not valid: {e}"))?;
        Message::builder()
            .from(self.mailer.from.clone())
            .to(to)
            .subject(text.subject.clone())
            .message_id(Some(message_id(&row.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(text.body.clone())
            .map_err(|e| format!("the mail could not be composed: {e}"))
    }

    /// The address and language of a notification's recipient, or why there is none; `office`
    /// is the recipient authority's Member State and e-mail in the directory, if it is there.
    async fn recipient(
        &self,
        row: &Row,
        office: Option<(String, Option<String>)>,
    ) -> Result<Result<Recipient, Outcome>, sqlx::Error> {
        let authority = row.recipient_authority.as_deref().unwrap_or_default();
        let member_state = office
            .as_ref()
            .map(|(ms, _)| ms.clone())
            .or_else(|| {
                row.params
                    .get("member_state")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let mut language = texts::language_of_member_state(&member_state).to_string();
        let address = match row.email_to {
            EmailTo::None => return Ok(Err(Outcome::Skipped("in-app only".into()))),
            EmailTo::Sealed => match &row.email {
                Some(sealed) => self.open_text(sealed).await?,
                None => None,
            },
            EmailTo::Authority => office.and_then(|(_, email)| email),
            EmailTo::User => {
                let identity: Option<Value> = sqlx::query_scalar(&format!(
                    "SELECT identity FROM {}.users WHERE authority_id = $1 AND user_id = $2",
                    users::NAME
                ))
                .bind(authority)
                .bind(row.recipient_user.as_deref().unwrap_or_default())
                .fetch_optional(&self.pool)
                .await?;
                let identity = match identity {
                    Some(v) => match serde_json::from_value::<Sealed>(v) {
                        Ok(sealed) => self.open_json(&sealed).await?,
                        Err(_) => None,
                    },
                    None => None,
                };
                if let Some(lang) = identity
                    .as_ref()
                    .and_then(|i| i.get("language"))
                    .and_then(Value::as_str)
                {
                    language = lang.to_string();
                }
                identity
                    .as_ref()
                    .and_then(|i| i.get("email"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }
        };
        Ok(match address.filter(|a| !a.trim().is_empty()) {
            Some(address) => Ok(Recipient {
                address: address.trim().to_string(),
                language,
            }),
            None => Err(Outcome::Skipped(
                "the recipient has no e-mail address (or it was erased)".into(),
            )),
        })
    }

    async fn registration_code(&self, row: &Row) -> Result<Option<String>, sqlx::Error> {
        let Some(digest) = row.params.get("code_digest").and_then(Value::as_str) else {
            return Ok(None);
        };
        let sealed: Option<Value> =
            sqlx::query_scalar("SELECT code FROM registration_codes WHERE code_digest = $1")
                .bind(digest)
                .fetch_optional(&self.pool)
                .await?;
        match sealed.and_then(|v| serde_json::from_value::<Sealed>(v).ok()) {
            Some(sealed) => self.open_text(&sealed).await,
            None => Ok(None),
        }
    }

    async fn open_text(&self, sealed: &Sealed) -> Result<Option<String>, sqlx::Error> {
        Ok(self.open_json(sealed).await?.and_then(|v| match v {
            Value::String(s) => Some(s),
            _ => None,
        }))
    }

    /// Opens a sealed value; an erased key or an unreadable value is "nothing". The opening is
    /// recorded in the processing log (the purpose: delivering a notification by mail).
    async fn open_json(&self, sealed: &Sealed) -> Result<Option<Value>, sqlx::Error> {
        match self.keyring.open::<Value>(sealed).await {
            Ok(Opened::Value(v)) => {
                let entry = Processing {
                    exchange: sealed.key_id.clone(),
                    kind: Kind::Read,
                    operation: "mail.delivery".to_string(),
                    fields: vec!["mail address".to_string()],
                    level: None,
                    acting_user: "system:mail-sender".to_string(),
                    acting_authority: None,
                };
                processing_log::record(&self.pool, &entry).await?;
                Ok(Some(v))
            }
            Ok(Opened::Erased) => Ok(None),
            Err(error) => {
                tracing::warn!(%error, key = %sealed.key_id, "could not open a sealed address");
                Ok(None)
            }
        }
    }

    async fn record(&self, claim: &Claim, outcome: &Outcome) -> Result<(), sqlx::Error> {
        let (state, error, retry_in) = match outcome {
            Outcome::Sent { .. } => ("sent", None, None),
            Outcome::Retry(why) if claim.attempts < self.options.max_attempts => {
                let wait = self
                    .options
                    .backoff_base
                    .saturating_mul(1 << (claim.attempts - 1).clamp(0, 20))
                    .min(self.options.backoff_max);
                ("retry", Some(why.as_str()), Some(wait))
            }
            Outcome::Retry(why) | Outcome::Failed(why) => ("failed", Some(why.as_str()), None),
            Outcome::Skipped(why) => ("skipped", Some(why.as_str()), None),
        };
        if let Some(why) = error {
            tracing::info!(notification = %claim.id, state, why, "mail not sent");
        }
        sqlx::query(
            "UPDATE notification_deliveries
                SET state = $2, last_error = $3, claimed_until = NULL,
                    next_attempt_at = CASE WHEN $4::float8 IS NULL THEN NULL
                                           ELSE now() + make_interval(secs => $4) END,
                    sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END,
                    message_id = CASE WHEN $2 = 'sent' THEN $5 ELSE message_id END,
                    updated_at = now()
              WHERE notification_id = $1 AND claimed_by = $6",
        )
        .bind(&claim.id)
        .bind(state)
        .bind(error)
        .bind(retry_in.map(|d| d.as_secs_f64()))
        .bind(message_id(&claim.id))
        .bind(&self.name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

struct Recipient {
    address: String,
    language: String,
}

/// The deterministic `Message-ID` of a notification's mail.
pub fn message_id(notification_id: &str) -> String {
    let local: String = notification_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '.'
            }
        })
        .collect();
    format!("<{local}@imi.notifications>")
}
