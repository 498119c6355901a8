//! Sealed personal data: data keys and crypto-shredding.
//!
//! Personal data never lands in an event in the clear. It travels as an
//! [`imi_domain::sealed::Sealed`] value: the JSON of the value, encrypted with AES-256-GCM under
//! the data key of its exchange (the key id is the exchange's id, e.g.
//! `InformationRequest/<uuid>`), with a random 96-bit nonce per seal and the key id as additional
//! authenticated data (so a value cannot be moved to another exchange's key).
//!
//! Data keys live in the mutable `data_keys` table (migration 0002), wrapped (AES-256-GCM) by the
//! [`MasterKey`] from the configuration. [`KeyRing::erase`] deletes a key's material and leaves a
//! tombstone: every value sealed under it, in every event, reads as [`Opened::Erased`] from then
//! on, while the event log stays immutable and its hash chain intact. A later seal under an
//! erased key id is refused ([`SealError::Erased`]) rather than silently re-keyed.
//!
//! Stored formats (forever, like the events that carry them):
//! - a sealed value: `AES-256-GCM(data key, nonce, msg = serde_json bytes, aad = key id bytes)`,
//!   nonce and ciphertext (tag appended) in standard base64;
//! - a wrapped data key: `AES-256-GCM(master key, wrap_nonce, msg = the 32 key bytes,
//!   aad = "imi/data-key/v1" 0x1f key id)`, 48 bytes (key and tag).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use imi_domain::sealed::{Sealed, A256GCM};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// Length of a key (master or data key) in bytes.
const KEY_LEN: usize = 32;
/// Length of an AES-GCM nonce in bytes (96 bits).
const NONCE_LEN: usize = 12;
/// Domain separation of the data key wrapping, followed by the unit separator and the key id.
const WRAP_AAD_PREFIX: &[u8] = b"imi/data-key/v1\x1f";

/// The master key that wraps the data keys, from the configuration.
///
/// Its `Debug` output shows the key's [id](MasterKey::id) only, never key material, and the
/// bytes are overwritten when it is dropped.
#[derive(Clone)]
pub struct MasterKey([u8; KEY_LEN]);

/// Why a master key from the configuration was refused. The messages never echo the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyError {
    #[error("master key in hex must be 64 hexadecimal characters (32 bytes), got {0} characters")]
    HexLength(usize),
    #[error("master key is not valid hexadecimal")]
    NotHex,
    #[error("master key is not valid base64")]
    NotBase64,
    #[error("master key in base64 must decode to 32 bytes, got {0} bytes")]
    Base64Length(usize),
}

impl MasterKey {
    /// A master key from 64 hexadecimal characters (surrounding whitespace ignored).
    pub fn from_hex(s: &str) -> Result<Self, MasterKeyError> {
        let s = s.trim();
        if s.len() != 2 * KEY_LEN {
            return Err(MasterKeyError::HexLength(s.chars().count()));
        }
        let mut key = [0u8; KEY_LEN];
        hex::decode_to_slice(s, &mut key).map_err(|_| MasterKeyError::NotHex)?;
        Ok(Self(key))
    }

    /// A master key from the standard base64 of 32 bytes (surrounding whitespace ignored).
    pub fn from_base64(s: &str) -> Result<Self, MasterKeyError> {
        let mut bytes = BASE64
            .decode(s.trim())
            .map_err(|_| MasterKeyError::NotBase64)?;
        let result = <[u8; KEY_LEN]>::try_from(bytes.as_slice())
            .map(Self)
            .map_err(|_| MasterKeyError::Base64Length(bytes.len()));
        wipe(&mut bytes);
        result
    }

    /// A master key from the configuration, in hex (64 characters) or base64 (of 32 bytes).
    pub fn parse(s: &str) -> Result<Self, MasterKeyError> {
        let t = s.trim();
        if t.len() == 2 * KEY_LEN && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            Self::from_hex(t)
        } else {
            Self::from_base64(t)
        }
    }

    /// A new random master key (from the operating system's generator).
    pub fn generate() -> Self {
        let mut key = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut key);
        Self(key)
    }

    /// The key in hex, to write it to the configuration once (after [`MasterKey::generate`]).
    /// Never log it.
    pub fn export_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The key's id: the first 8 hex characters of the SHA-256 of the key. Stored with each
    /// data key it wraps, so a rotation can tell which master wrapped which key.
    pub fn id(&self) -> String {
        let digest = Sha256::digest(self.0);
        hex::encode(&digest[..4])
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }

    /// Wraps a data key: returns (wrapped, wrap nonce).
    fn wrap_key(
        &self,
        key_id: &str,
        data_key: &DataKey,
    ) -> Result<(Vec<u8>, [u8; NONCE_LEN]), SealError> {
        let nonce = random_nonce();
        let aad = wrap_aad(key_id);
        let wrapped = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &data_key.0,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Encode)?;
        Ok((wrapped, nonce))
    }

    /// Unwraps a data key into a ready cipher; the error is the reason, for
    /// [`SealError::Undecryptable`].
    fn unwrap_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        nonce: &[u8],
    ) -> Result<Aes256Gcm, &'static str> {
        if nonce.len() != NONCE_LEN {
            return Err("the wrapped data key has a malformed nonce");
        }
        let aad = wrap_aad(key_id);
        let mut raw = self
            .cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: wrapped,
                    aad: &aad,
                },
            )
            .map_err(|_| "the data key does not unwrap with the configured master key")?;
        let cipher = if raw.len() == KEY_LEN {
            Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw)))
        } else {
            Err("the unwrapped data key has the wrong length")
        };
        wipe(&mut raw);
        cipher
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl FromStr for MasterKey {
    type Err = MasterKeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// A raw data key, overwritten when dropped.
struct DataKey([u8; KEY_LEN]);

impl DataKey {
    fn generate() -> Self {
        let mut key = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut key);
        Self(key)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// The result of opening a sealed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opened<T> {
    /// The clear value.
    Value(T),
    /// The exchange's data key was erased: the value is gone for good (crypto-shredded).
    Erased,
}

impl<T> Opened<T> {
    /// The value, or `None` when erased.
    pub fn into_option(self) -> Option<T> {
        match self {
            Opened::Value(value) => Some(value),
            Opened::Erased => None,
        }
    }

    pub fn is_erased(&self) -> bool {
        matches!(self, Opened::Erased)
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Opened<U> {
        match self {
            Opened::Value(value) => Opened::Value(f(value)),
            Opened::Erased => Opened::Erased,
        }
    }
}

/// Errors of sealing and opening. No message carries personal data, key material or SQL text.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Sealing under a data key that was erased: the exchange's personal data is gone, and a new
    /// key under the same id is never created.
    #[error("data key {key_id} was erased; nothing can be sealed under it any more")]
    Erased { key_id: String },
    /// Opening a value whose data key does not exist (it was never created in this database).
    #[error("no data key {key_id}")]
    UnknownKey { key_id: String },
    /// The value or its data key cannot be decrypted: a wrong master key, a tampered ciphertext,
    /// nonce, algorithm or key id.
    #[error("value sealed under data key {key_id} cannot be decrypted: {reason}")]
    Undecryptable { key_id: String, reason: String },
    /// The data key id is not usable (empty).
    #[error("invalid data key id")]
    InvalidKeyId,
    /// A batch of new data keys names one that exists already (live or erased): the whole
    /// batch is refused, so nothing is ever sealed under a key other than the stored one.
    #[error("a data key of the batch exists already; none of the batch was stored")]
    KeyExists,
    /// The value could not be serialized (or is too large) for sealing.
    #[error("value cannot be encoded for sealing")]
    Encode,
    /// The value decrypted but does not deserialize as the requested type (the serde message is
    /// dropped: it could quote personal data).
    #[error("value sealed under data key {key_id} does not decode as the expected type")]
    Decode { key_id: String },
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl SealError {
    fn undecryptable(key_id: &str, reason: impl Into<String>) -> Self {
        SealError::Undecryptable {
            key_id: key_id.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A data key's row as read from `data_keys`.
#[derive(sqlx::FromRow)]
struct KeyRow {
    key_id: String,
    wrapped: Option<Vec<u8>>,
    wrap_nonce: Option<Vec<u8>>,
    master_key_id: String,
    erased: bool,
}

/// A data key ready for use, or its tombstone.
enum KeyState {
    Live(Box<Aes256Gcm>),
    Erased,
}

const SELECT_KEY: &str = "SELECT key_id, wrapped, wrap_nonce, master_key_id, \
     erased_at IS NOT NULL AS erased FROM data_keys WHERE key_id = $1";
const SELECT_KEYS: &str = "SELECT key_id, wrapped, wrap_nonce, master_key_id, \
     erased_at IS NOT NULL AS erased FROM data_keys WHERE key_id = ANY($1)";

/// Seals and opens personal data under per-exchange data keys kept in `data_keys`, wrapped by
/// the master key.
#[derive(Clone)]
pub struct KeyRing {
    pool: PgPool,
    master: MasterKey,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("master", &self.master)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    pub fn new(pool: PgPool, master: MasterKey) -> Self {
        Self { pool, master }
    }

    /// The id of the master key in use (see [`MasterKey::id`]).
    pub fn master_key_id(&self) -> String {
        self.master.id()
    }

    /// Seals `value` (its JSON) under the data key `key_id`, creating the key on first use.
    /// Concurrent first uses agree on one key. Refused with [`SealError::Erased`] once the key
    /// was erased.
    pub async fn seal<T: Serialize + ?Sized>(
        &self,
        key_id: &str,
        value: &T,
    ) -> Result<Sealed, SealError> {
        self.sealer(key_id).await?.seal(value)
    }

    /// The data key `key_id`, created on first use, ready to seal many values without another
    /// round trip (one command's values). Refused with [`SealError::Erased`] once the key was
    /// erased.
    pub async fn sealer(&self, key_id: &str) -> Result<DataKeySealer, SealError> {
        if key_id.is_empty() {
            return Err(SealError::InvalidKeyId);
        }
        match self.load_or_create(key_id).await? {
            KeyState::Live(cipher) => Ok(DataKeySealer {
                key_id: key_id.to_owned(),
                cipher,
            }),
            KeyState::Erased => Err(SealError::Erased {
                key_id: key_id.to_owned(),
            }),
        }
    }

    /// Opens a sealed value: [`Opened::Value`], or [`Opened::Erased`] when its data key was
    /// erased. A missing key is [`SealError::UnknownKey`]; a wrong master key or any tampering
    /// is [`SealError::Undecryptable`].
    pub async fn open<T: DeserializeOwned>(&self, sealed: &Sealed) -> Result<Opened<T>, SealError> {
        self.open_held(&mut HeldKeys::default(), sealed).await
    }

    /// [`KeyRing::open`] with the keys `held` for one view: its key is read only if `held`
    /// lacks it, and then kept there.
    pub async fn open_held<T: DeserializeOwned>(
        &self,
        held: &mut HeldKeys,
        sealed: &Sealed,
    ) -> Result<Opened<T>, SealError> {
        self.hold(held, &[sealed.key_id.as_str()]).await?;
        held.open(sealed)
    }

    /// Opens many sealed values with one query for all their data keys, each key unwrapped
    /// once. The outer error is a database error; each value has its own result, in input order,
    /// with the same meaning as [`KeyRing::open`].
    pub async fn open_many<T: DeserializeOwned>(
        &self,
        sealed: &[Sealed],
    ) -> Result<Vec<Result<Opened<T>, SealError>>, SealError> {
        self.open_many_held(&mut HeldKeys::default(), sealed).await
    }

    /// [`KeyRing::open_many`] with the keys `held` for one view.
    pub async fn open_many_held<T: DeserializeOwned>(
        &self,
        held: &mut HeldKeys,
        sealed: &[Sealed],
    ) -> Result<Vec<Result<Opened<T>, SealError>>, SealError> {
        let key_ids: Vec<&str> = sealed.iter().map(|s| s.key_id.as_str()).collect();
        self.hold(held, &key_ids).await?;
        Ok(sealed.iter().map(|s| held.open(s)).collect())
    }

    /// Reads into `held`, in one query, those of `key_ids` it lacks, each unwrapped once; a key
    /// not stored is held as unknown.
    async fn hold(&self, held: &mut HeldKeys, key_ids: &[&str]) -> Result<(), SealError> {
        let mut missing: Vec<&str> = key_ids
            .iter()
            .copied()
            .filter(|k| !held.keys.contains_key(*k))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        missing.dedup();
        let rows: Vec<KeyRow> = match missing.as_slice() {
            [one] => {
                sqlx::query_as(SELECT_KEY)
                    .bind(*one)
                    .fetch_all(&self.pool)
                    .await?
            }
            many => {
                sqlx::query_as(SELECT_KEYS)
                    .bind(many)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        for key_id in missing {
            held.keys.insert(key_id.to_owned(), None);
        }
        for row in rows {
            let state = self.key_state(&row);
            held.keys.insert(row.key_id, Some(state));
        }
        Ok(())
    }

    /// Erases the data key `key_id`: its material is deleted and a tombstone remains (recording
    /// when, by whom and why), so every value sealed under it reads as [`Opened::Erased`] and no
    /// new value can be sealed under it. Erasing a key that was never created leaves a tombstone
    /// too. Returns true if the key was erased now, false if it already was.
    pub async fn erase(&self, key_id: &str, by: &str, reason: &str) -> Result<bool, SealError> {
        if key_id.is_empty() {
            return Err(SealError::InvalidKeyId);
        }
        let erased: Option<(String,)> = sqlx::query_as(
            "INSERT INTO data_keys (key_id, master_key_id, erased_at, erased_by, erasure_reason) \
             VALUES ($1, $2, now(), $3, $4) \
             ON CONFLICT (key_id) DO UPDATE \
                SET wrapped = NULL, wrap_nonce = NULL, erased_at = now(), \
                    erased_by = EXCLUDED.erased_by, erasure_reason = EXCLUDED.erasure_reason \
              WHERE data_keys.erased_at IS NULL \
             RETURNING key_id",
        )
        .bind(key_id)
        .bind(self.master.id())
        .bind(by)
        .bind(reason)
        .fetch_optional(&self.pool)
        .await?;
        Ok(erased.is_some())
    }

    /// Mints a fresh data key for each id (same material and wrapping as [`KeyRing::seal`]'s
    /// keys) without touching the database: sealers to seal under them at once, with no round
    /// trip, and the wrapped keys for [`KeyRing::store_minted`], which must succeed before
    /// anything sealed under them is written. For bulk writers that own the exchanges they
    /// create (e.g. a history loaded in one go); CPU only, so it may run on a blocking thread.
    pub fn mint(
        &self,
        key_ids: impl IntoIterator<Item = String>,
    ) -> Result<(Vec<DataKeySealer>, MintedKeys), SealError> {
        let mut sealers = Vec::new();
        let mut minted = MintedKeys::default();
        for key_id in key_ids {
            if key_id.is_empty() {
                return Err(SealError::InvalidKeyId);
            }
            let data_key = DataKey::generate();
            let (wrapped, nonce) = self.master.wrap_key(&key_id, &data_key)?;
            minted.key_ids.push(key_id.clone());
            minted.wrapped.push(wrapped);
            minted.nonces.push(nonce.to_vec());
            sealers.push(DataKeySealer {
                key_id,
                cipher: Box::new(data_key.cipher()),
            });
        }
        Ok((sealers, minted))
    }

    /// Stores minted keys in one statement on `db` (a transaction of the writer, typically).
    /// All or nothing: an id that exists already, live or erased, refuses the whole batch with
    /// [`SealError::KeyExists`].
    pub async fn store_minted(
        &self,
        db: &mut sqlx::PgConnection,
        keys: &MintedKeys,
    ) -> Result<(), SealError> {
        if keys.key_ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO data_keys (key_id, wrapped, wrap_nonce, master_key_id) \
             SELECT k, w, n, $4 FROM unnest($1::text[], $2::bytea[], $3::bytea[]) AS t(k, w, n)",
        )
        .bind(&keys.key_ids)
        .bind(&keys.wrapped)
        .bind(&keys.nonces)
        .bind(self.master.id())
        .execute(db)
        .await
        .map_err(|e| match e.as_database_error().and_then(|d| d.code()) {
            Some(code) if code == "23505" => SealError::KeyExists,
            _ => SealError::Database(e),
        })?;
        Ok(())
    }

    /// New data keys for `key_ids`, created in one statement ([`KeyRing::mint`] then
    /// [`KeyRing::store_minted`]); refused as a whole with [`SealError::KeyExists`] if any
    /// exists already.
    pub async fn create_keys(
        &self,
        key_ids: impl IntoIterator<Item = String>,
    ) -> Result<Vec<DataKeySealer>, SealError> {
        let (sealers, minted) = self.mint(key_ids)?;
        let mut conn = self.pool.acquire().await?;
        self.store_minted(&mut conn, &minted).await?;
        Ok(sealers)
    }

    /// As [`KeyRing::erase`] for many keys in one statement; returns those erased now.
    pub async fn erase_many(
        &self,
        key_ids: &[String],
        by: &str,
        reason: &str,
    ) -> Result<Vec<String>, SealError> {
        if key_ids.iter().any(String::is_empty) {
            return Err(SealError::InvalidKeyId);
        }
        let mut key_ids = key_ids.to_vec();
        key_ids.sort_unstable();
        key_ids.dedup();
        let erased: Vec<String> = sqlx::query_scalar(
            "INSERT INTO data_keys (key_id, master_key_id, erased_at, erased_by, erasure_reason) \
             SELECT k, $2, now(), $3, $4 FROM unnest($1::text[]) AS k \
             ON CONFLICT (key_id) DO UPDATE \
                SET wrapped = NULL, wrap_nonce = NULL, erased_at = now(), \
                    erased_by = EXCLUDED.erased_by, erasure_reason = EXCLUDED.erasure_reason \
              WHERE data_keys.erased_at IS NULL \
             RETURNING key_id",
        )
        .bind(&key_ids)
        .bind(self.master.id())
        .bind(by)
        .bind(reason)
        .fetch_all(&self.pool)
        .await?;
        Ok(erased)
    }

    /// The data key `key_id`, created (and wrapped) if it does not exist yet. The insert does
    /// nothing on conflict and the row is then read back, so concurrent first uses all end up
    /// with the one key that was stored.
    async fn load_or_create(&self, key_id: &str) -> Result<KeyState, SealError> {
        if let Some(row) = self.fetch(key_id).await? {
            return self
                .key_state(&row)
                .map_err(|reason| SealError::undecryptable(key_id, reason));
        }
        let data_key = DataKey::generate();
        let (wrapped, wrap_nonce) = self.master.wrap_key(key_id, &data_key)?;
        let inserted = sqlx::query(
            "INSERT INTO data_keys (key_id, wrapped, wrap_nonce, master_key_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(key_id)
        .bind(&wrapped)
        .bind(&wrap_nonce[..])
        .bind(self.master.id())
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            return Ok(KeyState::Live(Box::new(data_key.cipher())));
        }
        // Another writer stored the key first (or erased it): use what is stored.
        let row = self
            .fetch(key_id)
            .await?
            .ok_or_else(|| SealError::UnknownKey {
                key_id: key_id.to_owned(),
            })?;
        self.key_state(&row)
            .map_err(|reason| SealError::undecryptable(key_id, reason))
    }

    async fn fetch(&self, key_id: &str) -> Result<Option<KeyRow>, SealError> {
        Ok(sqlx::query_as(SELECT_KEY)
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Unwraps a stored key; the error is the reason it cannot be used.
    fn key_state(&self, row: &KeyRow) -> Result<KeyState, String> {
        if row.erased {
            return Ok(KeyState::Erased);
        }
        let (Some(wrapped), Some(nonce)) = (&row.wrapped, &row.wrap_nonce) else {
            return Err("the data key row holds no key material".to_owned());
        };
        let master_id = self.master.id();
        if row.master_key_id != master_id {
            return Err(format!(
                "the data key is wrapped by master key {}, the configured master key is {}",
                row.master_key_id, master_id
            ));
        }
        self.master
            .unwrap_key(&row.key_id, wrapped, nonce)
            .map(|cipher| KeyState::Live(Box::new(cipher)))
            .map_err(str::to_owned)
    }
}

/// The data keys one view has read, kept until it is answered: a view opens many values under
/// the same exchange's key, and reads and unwraps that key once instead of once per value. Keep
/// it no longer than the view: an erasure is seen by the next view, not by one that holds the
/// key already (as if the erasure had come just after it).
#[derive(Default)]
pub struct HeldKeys {
    /// Key id -> its state (or why it cannot be used); `None` for a key not stored.
    keys: HashMap<String, Option<Result<KeyState, String>>>,
}

impl HeldKeys {
    fn open<T: DeserializeOwned>(&self, sealed: &Sealed) -> Result<Opened<T>, SealError> {
        match self.keys.get(&sealed.key_id) {
            None | Some(None) => Err(SealError::UnknownKey {
                key_id: sealed.key_id.clone(),
            }),
            Some(Some(Ok(KeyState::Erased))) => Ok(Opened::Erased),
            Some(Some(Ok(KeyState::Live(cipher)))) => open_with(cipher, sealed).map(Opened::Value),
            Some(Some(Err(reason))) => {
                Err(SealError::undecryptable(&sealed.key_id, reason.clone()))
            }
        }
    }
}

impl fmt::Debug for HeldKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeldKeys")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// Wrapped data keys minted by [`KeyRing::mint`], not stored yet.
#[derive(Default)]
pub struct MintedKeys {
    key_ids: Vec<String>,
    wrapped: Vec<Vec<u8>>,
    nonces: Vec<Vec<u8>>,
}

impl MintedKeys {
    pub fn len(&self) -> usize {
        self.key_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.key_ids.is_empty()
    }
}

/// A data key ready to seal under without a round trip: freshly minted, or read once for one
/// command's values ([`KeyRing::sealer`]). Its `Debug` shows the key id only.
pub struct DataKeySealer {
    key_id: String,
    cipher: Box<Aes256Gcm>,
}

impl DataKeySealer {
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Seals `value` (its JSON) exactly as [`KeyRing::seal`] does.
    pub fn seal<T: Serialize + ?Sized>(&self, value: &T) -> Result<Sealed, SealError> {
        let mut plaintext = serde_json::to_vec(value).map_err(|_| SealError::Encode)?;
        let sealed = seal_with(&self.cipher, &self.key_id, &plaintext);
        wipe(&mut plaintext);
        sealed
    }
}

impl fmt::Debug for DataKeySealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKeySealer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

fn seal_with(cipher: &Aes256Gcm, key_id: &str, plaintext: &[u8]) -> Result<Sealed, SealError> {
    let nonce = random_nonce();
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: key_id.as_bytes(),
            },
        )
        .map_err(|_| SealError::Encode)?;
    Ok(Sealed {
        key_id: key_id.to_owned(),
        alg: A256GCM.to_owned(),
        nonce: BASE64.encode(nonce),
        ciphertext: BASE64.encode(ciphertext),
    })
}

fn open_with<T: DeserializeOwned>(cipher: &Aes256Gcm, sealed: &Sealed) -> Result<T, SealError> {
    let key_id = sealed.key_id.as_str();
    if sealed.alg != A256GCM {
        return Err(SealError::undecryptable(key_id, "unsupported algorithm"));
    }
    let nonce = BASE64
        .decode(&sealed.nonce)
        .ok()
        .filter(|n| n.len() == NONCE_LEN)
        .ok_or_else(|| SealError::undecryptable(key_id, "malformed nonce"))?;
    let ciphertext = BASE64
        .decode(&sealed.ciphertext)
        .map_err(|_| SealError::undecryptable(key_id, "malformed ciphertext"))?;
    let mut plaintext = cipher
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &ciphertext,
                aad: key_id.as_bytes(),
            },
        )
        .map_err(|_| {
            SealError::undecryptable(key_id, "authentication failed (altered value or key id)")
        })?;
    let value = serde_json::from_slice(&plaintext).map_err(|_| SealError::Decode {
        key_id: key_id.to_owned(),
    });
    wipe(&mut plaintext);
    value
}

fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    nonce
}

fn wrap_aad(key_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(WRAP_AAD_PREFIX.len() + key_id.len());
    aad.extend_from_slice(WRAP_AAD_PREFIX);
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

/// Overwrites secret bytes (best effort: `black_box` keeps the compiler from dropping the
/// writes as dead stores).
fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn parses_hex_and_base64() {
        let from_hex = MasterKey::from_hex(HEX).unwrap();
        let b64 = BASE64.encode(hex::decode(HEX).unwrap());
        let from_b64 = MasterKey::from_base64(&b64).unwrap();
        assert_eq!(from_hex.0, from_b64.0);
        assert_eq!(MasterKey::parse(HEX).unwrap().0, from_hex.0);
        assert_eq!(
            MasterKey::parse(&format!(" {b64}\n")).unwrap().0,
            from_hex.0
        );
        assert_eq!(HEX.parse::<MasterKey>().unwrap().export_hex(), HEX);
    }

    #[test]
    fn refuses_malformed_keys_without_echoing_them() {
        assert_eq!(
            MasterKey::from_hex("abcd").unwrap_err(),
            MasterKeyError::HexLength(4)
        );
        let not_hex = "zz".repeat(32);
        assert_eq!(
            MasterKey::from_hex(&not_hex).unwrap_err(),
            MasterKeyError::NotHex
        );
        assert_eq!(
            MasterKey::from_base64("not base64!").unwrap_err(),
            MasterKeyError::NotBase64
        );
        let short = BASE64.encode([7u8; 16]);
        let err = MasterKey::from_base64(&short).unwrap_err();
        assert_eq!(err, MasterKeyError::Base64Length(16));
        assert!(!err.to_string().contains(&short));
    }

    #[test]
    fn id_is_a_sha256_prefix_and_debug_shows_no_key() {
        let key = MasterKey::from_hex(HEX).unwrap();
        let expected = hex::encode(&Sha256::digest(hex::decode(HEX).unwrap())[..4]);
        assert_eq!(key.id(), expected);
        assert_eq!(key.id().len(), 8);
        let debug = format!("{key:?}");
        assert!(
            !debug.contains(HEX) && !debug.contains("0, 1, 2"),
            "{debug}"
        );
        assert!(debug.contains(&expected));
        assert_ne!(MasterKey::generate().0, MasterKey::generate().0);
    }

    #[test]
    fn seals_and_opens_with_a_data_key() {
        let key = DataKey::generate();
        let sealed = seal_with(&key.cipher(), "X/1", b"\"secret\"").unwrap();
        let value: String = open_with(&key.cipher(), &sealed).unwrap();
        assert_eq!(value, "secret");
        let moved = Sealed {
            key_id: "X/2".into(),
            ..sealed
        };
        assert!(matches!(
            open_with::<String>(&key.cipher(), &moved),
            Err(SealError::Undecryptable { .. })
        ));
    }

    #[test]
    fn wraps_and_unwraps_data_keys() {
        let master = MasterKey::generate();
        let data_key = DataKey::generate();
        let (wrapped, nonce) = master.wrap_key("X/1", &data_key).unwrap();
        assert_eq!(wrapped.len(), KEY_LEN + 16);
        assert!(master.unwrap_key("X/1", &wrapped, &nonce).is_ok());
        assert!(master.unwrap_key("X/2", &wrapped, &nonce).is_err());
        assert!(MasterKey::generate()
            .unwrap_key("X/1", &wrapped, &nonce)
            .is_err());
    }
}
