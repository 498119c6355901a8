//! `imi bench deletion`: how fast the scheduler deletes the personal data of exchanges past
//! their deletion delay (set-wise, up to 500 at a time: `PersonalDataDeleted` decided by each
//! request aggregate and appended in one statement, the data keys erased in one, the
//! attachments' bytes removed in one, the actions recorded in one), against raw UPDATEs
//! erasing the same number of key rows, one statement each, in the same run.

use anyhow::{bail, Result};
use chrono::{Duration, Utc};
use imi_domain::authority::{LegislativeArea, SystemClock};
use imi_domain::reference::MemberState;
use imi_domain::request::{DraftContent, Party, RequestEvent};
use imi_domain::sealed::Sealed;
use imi_notify::scheduler::{Acted, Dispatch, Scheduler};
use imi_store::commands::AggregateConfig;
use imi_store::request_bus::request_bus;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

/// The events the request aggregate emits for `r-TEMPLATE`: drafted and closed 4 years ago,
/// blocked 7 months later.
fn history() -> Result<Vec<(&'static str, serde_json::Value)>> {
    let ended = Utc::now() - Duration::days(4 * 366);
    let sealed = Sealed {
        key_id: "InformationRequest/r-TEMPLATE".into(),
        alg: imi_domain::sealed::A256GCM.into(),
        nonce: "AAAAAAAAAAAAAAAA".into(),
        ciphertext: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    };
    let party = |authority: &str, ms: &str| -> Result<Party> {
        Ok(Party {
            authority_id: authority.into(),
            member_state: MemberState::parse(ms)?,
            linked_coordinators: BTreeSet::new(),
            linked_authorities: BTreeSet::new(),
        })
    };
    let drafted = RequestEvent::RequestDrafted {
        request_id: "r-TEMPLATE".into(),
        area: LegislativeArea::parse("PQ")?,
        requesting: party("de-ca", "DE")?,
        drafted_by: "de-handler".into(),
        draft: DraftContent {
            question_set: "PQ-GEN".into(),
            questions: BTreeSet::from(["PQ-GEN-01".to_string()]),
            free_text: None,
            subject: sealed,
            attachments: vec![],
            proposed_answer_date: ended.date_naive(),
            responding: party("fr-ca", "FR")?,
            request_coordinator: "de-rc".into(),
        },
        at: ended,
    };
    let closed = RequestEvent::RequestClosed { at: ended };
    let blocked = RequestEvent::PersonalDataBlocked {
        at: ended + Duration::days(214),
    };
    Ok(vec![
        ("RequestDrafted", serde_json::to_value(drafted)?),
        ("RequestClosed", serde_json::to_value(closed)?),
        ("PersonalDataBlocked", serde_json::to_value(blocked)?),
    ])
}

pub async fn deletion_bench(pool: &PgPool, exchanges: i64) -> Result<()> {
    let reference = imi_store::reference::ReferenceData::bundled()?;
    imi_store::reference::load(pool, &reference).await?;
    let started = Instant::now();
    const CHUNK: i64 = 10_000;
    let mut first = 1;
    while first <= exchanges {
        let last = (first + CHUNK - 1).min(exchanges);
        for (sequence, (event_type, payload)) in history()?.into_iter().enumerate() {
            sqlx::query(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
                 SELECT 'InformationRequest', 'r-' || i, $3, $4, '1',
                        replace($5::text, 'TEMPLATE', i::text)::jsonb,
                        '{\"user_id\": \"system:bench\"}'
                   FROM generate_series($1::bigint, $2::bigint) AS i ORDER BY i",
            )
            .bind(first)
            .bind(last)
            .bind(sequence as i64 + 1)
            .bind(event_type)
            .bind(payload.to_string())
            .execute(pool)
            .await?;
        }
        // A live data key per exchange, and as many for the baseline.
        sqlx::query(
            "INSERT INTO data_keys (key_id, wrapped, wrap_nonce, master_key_id)
             SELECT k || i, decode(md5(k || i) || md5(i || k) || md5(i::text), 'hex'),
                    substring(decode(md5(k || i), 'hex') from 1 for 12), 'bench'
               FROM generate_series($1::bigint, $2::bigint) AS i,
                    unnest(ARRAY['InformationRequest/r-', 'baseline/']) AS k",
        )
        .bind(first)
        .bind(last)
        .execute(pool)
        .await?;
        first = last + 1;
    }
    println!(
        "synthetic history: {exchanges} closed requests (3 events each) and {} data keys, written in {:.1} s",
        2 * exchanges,
        started.elapsed().as_secs_f64()
    );
    sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    let report =
        imi_projections::rebuild::rebuild(pool, &imi_projections::deadlines::Deadlines, |_| {})
            .await?;
    println!(
        "deadlines projected: {} events in {:.1} s",
        report.events_applied, report.seconds
    );

    // Baseline: erase the same number of key rows, one UPDATE each.
    let started = Instant::now();
    for i in 1..=exchanges {
        sqlx::query(
            "UPDATE data_keys SET wrapped = NULL, wrap_nonce = NULL, erased_at = now(),
                    erased_by = 'bench', erasure_reason = 'baseline'
              WHERE key_id = $1",
        )
        .bind(format!("baseline/{i}"))
        .execute(pool)
        .await?;
    }
    let baseline_seconds = started.elapsed().as_secs_f64();
    let baseline = exchanges as f64 / baseline_seconds;

    // The scheduler, as `imi serve` runs it (one active scheduler, deletions set-wise).
    let bus = Arc::new(request_bus(
        pool.clone(),
        AggregateConfig::default(),
        Wake::local_only(),
    ));
    let keys = KeyRing::new(pool.clone(), MasterKey::generate());
    let scheduler = Scheduler::new(pool.clone(), Arc::new(SystemClock))
        .erasing(keys)
        .route("InformationRequest", bus as Arc<dyn Dispatch>);
    let started = Instant::now();
    let acted = scheduler.run_due().await?;
    let seconds = started.elapsed().as_secs_f64();
    let done = acted.iter().filter(|(_, a)| *a == Acted::Done).count() as i64;
    if done != exchanges {
        let other = acted.iter().find(|(_, a)| *a != Acted::Done);
        bail!(
            "the scheduler deleted {done} of {exchanges} exchanges; first other outcome: {other:?}"
        );
    }
    let erased: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM data_keys WHERE key_id LIKE 'InformationRequest/%' AND erased_at IS NOT NULL",
    )
    .fetch_one(pool)
    .await?;
    let facts: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT aggregate_id) FROM events WHERE event_type = 'PersonalDataDeleted'",
    )
    .fetch_one(pool)
    .await?;
    if (erased, facts) != (exchanges, exchanges) {
        bail!("{erased} keys erased and {facts} deletions recorded for {exchanges} exchanges");
    }
    let rate = exchanges as f64 / seconds;
    println!("deletion of {exchanges} exchanges past their deletion delay ({erased} keys erased):");
    println!(
        "  raw UPDATE of a key row, one statement each           {baseline:>7.0} /s  (baseline), {baseline_seconds:.1} s"
    );
    println!(
        "  scheduler, set-wise: facts, keys, attachments, record {rate:>7.0} /s  ({:.2}x), {seconds:.1} s",
        rate / baseline
    );
    Ok(())
}
