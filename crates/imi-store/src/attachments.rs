//! Attachments' bytes, stored outside the events: sealed under their exchange's data key and
//! addressed per exchange by the SHA-256 of the clear content (migration
//! `0011_attachments.sql` says why). Erasing the exchange's key makes them unreadable with the
//! rest of its personal data.

use crate::sealing::{KeyRing, Opened, SealError};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use imi_domain::request::{ALLOWED_MEDIA_TYPES, MAX_ATTACHMENT_BYTES};
use imi_domain::sealed::Sealed;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// What was stored: what a command lists the attachment by (with its sealed name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAttachment {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
}

/// Why an attachment was not stored or read.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    #[error("an attachment must not be empty")]
    Empty,
    #[error("an attachment is larger than {MAX_ATTACHMENT_BYTES} bytes")]
    TooLarge,
    #[error("attachments of type {0:?} are not accepted")]
    MediaType(String),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("stored attachment content is malformed")]
    Malformed,
}

/// Stores `content` of `media_type` for the exchange `key_id` (idempotent: the same content
/// twice is stored once).
pub async fn put(
    pool: &PgPool,
    keys: &KeyRing,
    key_id: &str,
    media_type: &str,
    content: &[u8],
) -> Result<StoredAttachment, AttachmentError> {
    if content.is_empty() {
        return Err(AttachmentError::Empty);
    }
    if content.len() as u64 > MAX_ATTACHMENT_BYTES {
        return Err(AttachmentError::TooLarge);
    }
    if !ALLOWED_MEDIA_TYPES.contains(&media_type) {
        return Err(AttachmentError::MediaType(media_type.to_string()));
    }
    let sha256 = hex::encode(Sha256::digest(content));
    let sealed = keys.seal(key_id, &BASE64.encode(content)).await?;
    sqlx::query(
        "INSERT INTO attachments (key_id, sha256, size, media_type, content)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (key_id, sha256) DO NOTHING",
    )
    .bind(key_id)
    .bind(&sha256)
    .bind(content.len() as i64)
    .bind(media_type)
    .bind(serde_json::to_value(&sealed).map_err(|_| AttachmentError::Malformed)?)
    .execute(pool)
    .await?;
    Ok(StoredAttachment {
        sha256,
        size: content.len() as u64,
        media_type: media_type.to_string(),
    })
}

/// What was stored as attachment `sha256` of the exchange `key_id` (size and media type, not
/// the bytes); `None` if nothing was.
pub async fn describe(
    pool: &PgPool,
    key_id: &str,
    sha256: &str,
) -> Result<Option<StoredAttachment>, sqlx::Error> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT size, media_type FROM attachments WHERE key_id = $1 AND sha256 = $2",
    )
    .bind(key_id)
    .bind(sha256)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(size, media_type)| StoredAttachment {
        sha256: sha256.to_string(),
        size: size.max(0) as u64,
        media_type,
    }))
}

/// The attachment `sha256` of the exchange `key_id`: its media type and bytes, `Erased` once
/// the exchange's key was erased, `None` if there is no such attachment.
pub async fn get(
    pool: &PgPool,
    keys: &KeyRing,
    key_id: &str,
    sha256: &str,
) -> Result<Option<(String, Opened<Vec<u8>>)>, AttachmentError> {
    let row: Option<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT media_type, content FROM attachments WHERE key_id = $1 AND sha256 = $2",
    )
    .bind(key_id)
    .bind(sha256)
    .fetch_optional(pool)
    .await?;
    let Some((media_type, content)) = row else {
        return Ok(None);
    };
    let sealed: Sealed = serde_json::from_value(content).map_err(|_| AttachmentError::Malformed)?;
    let opened = match keys.open::<String>(&sealed).await? {
        Opened::Erased => Opened::Erased,
        Opened::Value(text) => Opened::Value(
            BASE64
                .decode(text)
                .map_err(|_| AttachmentError::Malformed)?,
        ),
    };
    Ok(Some((media_type, opened)))
}
