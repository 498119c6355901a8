//! Seals against the deletion of whole tails (see migration 0017): a seal records the chain
//! heads changed by every transaction committed when it was taken and not yet sealed, and
//! chains to the previous seal. `verify` checks that every sealed head is still in
//! the log with its hash: removing an aggregate's last events, or the whole aggregate, after
//! a seal is found and named.

use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};
use std::time::Duration;

/// One recorded seal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seal {
    pub seal: i64,
    /// The snapshot it saw (`pg_snapshot` as text): it covers what that snapshot sees.
    pub snapshot: String,
    pub heads_changed: i64,
    /// Hex; commits to this seal's heads and, through `prev_hash`, to every earlier seal.
    pub hash: String,
}

/// The hash of a seal: sha256(prev_hash || snapshot, then per head (ordered by type and id,
/// bytewise) US type US id US sequence US hex(hash)).
fn seal_hash<'a>(
    prev: Option<&[u8]>,
    snapshot: &str,
    heads: impl IntoIterator<Item = (&'a str, &'a str, i64, &'a [u8])>,
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    if let Some(prev) = prev {
        hasher.update(prev);
    }
    hasher.update(snapshot.as_bytes());
    for (aggregate_type, aggregate_id, sequence, hash) in heads {
        for part in [
            aggregate_type,
            aggregate_id,
            &sequence.to_string(),
            &hex::encode(hash),
        ] {
            hasher.update([0x1f]);
            hasher.update(part.as_bytes());
        }
    }
    hasher.finalize().into()
}

/// The latest seal, if any.
pub async fn latest(pool: &PgPool) -> Result<Option<Seal>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT seal, snapshot, heads_changed, encode(hash, 'hex') AS hash
           FROM audit_seals ORDER BY seal DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Seal {
            seal: r.try_get("seal")?,
            snapshot: r.try_get("snapshot")?,
            heads_changed: r.try_get("heads_changed")?,
            hash: r.try_get("hash")?,
        })
    })
    .transpose()
}

/// Takes a seal now: the heads changed by every transaction that finished since the last one.
pub async fn seal(pool: &PgPool) -> Result<Seal, sqlx::Error> {
    let mut tx = crate::pool::begin(pool).await?;
    // One snapshot for the whole seal: the heads are what it sees committed.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await?;
    // One sealer at a time: seals form a chain. (Taken before the snapshot, so the snapshot
    // sees the latest seal.)
    sqlx::query("LOCK TABLE audit_seals IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let prev =
        sqlx::query("SELECT seal, snapshot, hash FROM audit_seals ORDER BY seal DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
    let (number, prev_snapshot, prev_hash): (i64, Option<String>, Option<Vec<u8>>) = match prev {
        Some(r) => (
            r.try_get::<i64, _>("seal")? + 1,
            Some(r.try_get("snapshot")?),
            Some(r.try_get("hash")?),
        ),
        None => (1, None, None),
    };
    let snapshot: String = sqlx::query_scalar("SELECT pg_current_snapshot()::text")
        .fetch_one(&mut *tx)
        .await?;
    // What this snapshot sees and the previous seal's did not (a transaction still running
    // then is sealed now, whatever its id).
    // (Two statements rather than one with `$1 IS NULL OR ...`, so that the later seals'
    // always reads the (xid, position) index, not the whole log.)
    const HEADS: &str =
        "SELECT DISTINCT ON (aggregate_type COLLATE \"C\", aggregate_id COLLATE \"C\")
                aggregate_type, aggregate_id, sequence, hash FROM events";
    const ORDER: &str =
        "ORDER BY aggregate_type COLLATE \"C\", aggregate_id COLLATE \"C\", sequence DESC";
    let heads = match &prev_snapshot {
        None => {
            sqlx::query(&format!("{HEADS} {ORDER}"))
                .fetch_all(&mut *tx)
                .await?
        }
        Some(prev) => {
            sqlx::query(&format!(
                "{HEADS} WHERE xid >= pg_snapshot_xmin($1::text::pg_snapshot)
                   AND NOT pg_visible_in_snapshot(xid, $1::text::pg_snapshot) {ORDER}"
            ))
            .bind(prev)
            .fetch_all(&mut *tx)
            .await?
        }
    };
    let mut types = Vec::with_capacity(heads.len());
    let mut ids = Vec::with_capacity(heads.len());
    let mut sequences = Vec::with_capacity(heads.len());
    let mut hashes = Vec::with_capacity(heads.len());
    for r in &heads {
        types.push(r.try_get::<String, _>("aggregate_type")?);
        ids.push(r.try_get::<String, _>("aggregate_id")?);
        sequences.push(r.try_get::<i64, _>("sequence")?);
        hashes.push(r.try_get::<Vec<u8>, _>("hash")?);
    }
    let hash = seal_hash(
        prev_hash.as_deref(),
        &snapshot,
        (0..heads.len()).map(|i| {
            (
                types[i].as_str(),
                ids[i].as_str(),
                sequences[i],
                hashes[i].as_slice(),
            )
        }),
    );
    sqlx::query(
        "INSERT INTO audit_seals (seal, snapshot, heads_changed, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(number)
    .bind(&snapshot)
    .bind(heads.len() as i64)
    .bind(&prev_hash)
    .bind(hash.as_slice())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO audit_seal_heads (seal, aggregate_type, aggregate_id, sequence, hash)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::bytea[])",
    )
    .bind(number)
    .bind(&types)
    .bind(&ids)
    .bind(&sequences)
    .bind(&hashes)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Seal {
        seal: number,
        snapshot,
        heads_changed: heads.len() as i64,
        hash: hex::encode(hash),
    })
}

/// Takes a seal when the latest is older than `every` (or there is none); the scheduler calls
/// this on each tick.
pub async fn seal_if_due(pool: &PgPool, every: Duration) -> Result<Option<Seal>, sqlx::Error> {
    let due: bool = sqlx::query_scalar(
        "SELECT coalesce(max(sealed_at) < now() - make_interval(secs => $1), true)
           FROM audit_seals",
    )
    .bind(every.as_secs_f64())
    .fetch_one(pool)
    .await?;
    if due {
        seal(pool).await.map(Some)
    } else {
        Ok(None)
    }
}

/// What `verify` found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SealReport {
    pub seals_checked: u64,
    pub heads_checked: u64,
    /// The first seal that no longer holds, and why.
    pub first_broken: Option<(i64, String)>,
    pub latest: Option<Seal>,
}

/// Checks every seal: its hash over its heads and the previous seal, and each sealed head
/// still in the log with the sealed hash.
pub async fn verify(pool: &PgPool) -> Result<SealReport, sqlx::Error> {
    let seals = sqlx::query(
        "SELECT seal, snapshot, heads_changed, prev_hash, hash
           FROM audit_seals ORDER BY seal",
    )
    .fetch_all(pool)
    .await?;
    let mut heads = sqlx::query(
        "SELECT h.seal, h.aggregate_type, h.aggregate_id, h.sequence, h.hash, e.hash AS logged
           FROM audit_seal_heads h
           LEFT JOIN events e USING (aggregate_type, aggregate_id, sequence)
          ORDER BY h.seal, h.aggregate_type COLLATE \"C\", h.aggregate_id COLLATE \"C\"",
    )
    .fetch(pool);
    let mut report = SealReport::default();
    let mut prev: Option<Vec<u8>> = None;
    let mut pending = None;
    for (i, s) in seals.iter().enumerate() {
        let number: i64 = s.try_get("seal")?;
        let snapshot: String = s.try_get("snapshot")?;
        let stored_prev: Option<Vec<u8>> = s.try_get("prev_hash")?;
        let stored: Vec<u8> = s.try_get("hash")?;
        let broken = |why: String| Some((number, why));
        if number != i as i64 + 1 {
            report.first_broken = broken(format!("seal {} is missing", i + 1));
            return Ok(report);
        }
        if stored_prev != prev {
            report.first_broken = broken("it does not follow the previous seal".into());
            return Ok(report);
        }
        let mut own = Vec::new();
        loop {
            let row = match pending.take() {
                Some(row) => row,
                None => match heads.try_next().await? {
                    Some(row) => row,
                    None => break,
                },
            };
            let seal: i64 = row.try_get("seal")?;
            if seal != number {
                pending = Some(row);
                break;
            }
            let head = (
                row.try_get::<String, _>("aggregate_type")?,
                row.try_get::<String, _>("aggregate_id")?,
                row.try_get::<i64, _>("sequence")?,
                row.try_get::<Vec<u8>, _>("hash")?,
            );
            let logged: Option<Vec<u8>> = row.try_get("logged")?;
            report.heads_checked += 1;
            if logged.as_ref() != Some(&head.3) {
                let what = if logged.is_none() {
                    "is missing"
                } else {
                    "has another hash"
                };
                report.first_broken = broken(format!(
                    "{}/{} sequence {} {what}: events were removed after this seal",
                    head.0, head.1, head.2
                ));
                return Ok(report);
            }
            own.push(head);
        }
        let recomputed = seal_hash(
            prev.as_deref(),
            &snapshot,
            own.iter()
                .map(|(t, id, seq, h)| (t.as_str(), id.as_str(), *seq, h.as_slice())),
        );
        if recomputed.as_slice() != stored.as_slice()
            || own.len() as i64 != s.try_get::<i64, _>("heads_changed")?
        {
            report.first_broken = broken("its heads or hash were changed".into());
            return Ok(report);
        }
        report.seals_checked += 1;
        prev = Some(stored);
    }
    report.latest = latest(pool).await?;
    Ok(report)
}
