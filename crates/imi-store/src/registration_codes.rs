//! Registration codes waiting for the mail sender: sealed under the invited authority's key,
//! kept until sent (the sender deletes them) or until their command is refused.

use sqlx::PgExecutor;

/// Keeps a sealed code under its digest (a second keep of the same digest changes nothing).
pub async fn keep<'e>(
    db: impl PgExecutor<'e>,
    code_digest: &str,
    authority_id: &str,
    sealed_code: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO registration_codes (code_digest, authority_id, code) VALUES ($1, $2, $3)
         ON CONFLICT (code_digest) DO NOTHING",
    )
    .bind(code_digest)
    .bind(authority_id)
    .bind(sealed_code)
    .execute(db)
    .await?;
    Ok(())
}

/// Drops a kept code.
pub async fn forget<'e>(db: impl PgExecutor<'e>, code_digest: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM registration_codes WHERE code_digest = $1")
        .bind(code_digest)
        .execute(db)
        .await?;
    Ok(())
}
