//! `imi bench translation`: one free-text field read for a reader (opened, its reading recorded
//! in the processing log) without translation, against the same field with its machine
//! translation (English into Spanish, by Apertium beside the service): first translations
//! (the engine works) and cached ones (opened from the cache), in the same run; then
//! translations per second with several readers at once.

use anyhow::{Context, Result};
use imi_app::opening::Reading;
use imi_app::translation::{TextSource, Translator};
use imi_app::{App, Caller};
use imi_domain::reference::Language;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SENTENCES: [&str; 5] = [
    "The professional was registered in the public register until last year",
    "Please send us a copy of the diploma and the certificate of good standing",
    "The service provider was fined for a serious breach of the safety rules",
    "We could not find the person at the address given in the request",
    "The authority confirms that the qualification was awarded after three years of study",
];

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn summary(name: &str, mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    println!(
        "{name:<34} p50 {p50:>8.2} ms   p99 {p99:>8.2} ms   ({} samples)",
        times.len()
    );
    (p50, p99)
}

pub async fn translation_bench(
    pool: &PgPool,
    url: Option<String>,
    texts: usize,
    readers: usize,
) -> Result<()> {
    // The engine: the one named, else a private one started here.
    let (url, _server) = match url {
        Some(url) => (url, None),
        None => {
            let root = std::env::temp_dir().join(format!("imi-bench-apy-{}", std::process::id()));
            std::fs::create_dir_all(&root)?;
            let server = tokio::task::spawn_blocking(move || {
                imi_localpg::apertium::ApyServer::start(
                    std::path::Path::new(imi_localpg::apertium::DEFAULT_MODES),
                    &root.join("apertium.log"),
                    Duration::from_secs(60),
                )
            })
            .await?
            .context("starting apertium-apy (or pass --url)")?;
            (server.url(), Some(server))
        }
    };
    println!("engine: Apertium at {url}");
    let app = App::on_pool(
        pool.clone(),
        KeyRing::new(pool.clone(), MasterKey::generate()),
        Wake::local_only(),
        Arc::new(imi_domain::authority::SystemClock),
    )
    .with_translation(Arc::new(Translator::apertium(&url)));
    let caller = Caller::user("bench-reader", "bench-authority", Language::parse("es")?);
    let reading = Reading {
        operation: "request.content",
        level: "Full".into(),
        acting_user: "user:bench-reader".into(),
        acting_authority: Some("bench-authority".into()),
    };
    // Distinct texts, each in an exchange of its own.
    let mut sources = Vec::with_capacity(texts);
    let mut clears = Vec::with_capacity(texts);
    for i in 0..texts {
        let text = format!("{} (case {i})", SENTENCES[i % SENTENCES.len()]);
        clears.push(text.clone());
        let key = format!("InformationRequest/bench-{i}");
        let sealed = app
            .seal(&key, &text)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        sources.push(TextSource {
            sealed,
            field: "freeText",
            language: "en".into(),
            reading: reading.clone(),
        });
    }
    // Warm up the engine's pipeline and the pool.
    let warm = app
        .open_texts(
            &caller,
            "request.content",
            "freeText",
            &[sources[0].sealed.clone()],
        )
        .await;
    let warm = warm.map_err(|e| anyhow::anyhow!(e.message))?[0]
        .clone()
        .unwrap_or_default();
    app.translate_public(&warm, "en", "es")
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;

    let (mut plain, mut first, mut cached) = (vec![], vec![], vec![]);
    for source in &sources {
        let started = Instant::now();
        let opened = app
            .open_texts(
                &caller,
                "request.content",
                "freeText",
                std::slice::from_ref(&source.sealed),
            )
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        plain.push(started.elapsed());
        let clear = opened[0].clone().unwrap_or_default();

        let started = Instant::now();
        let opened = app
            .open_texts(
                &caller,
                "request.content",
                "freeText",
                std::slice::from_ref(&source.sealed),
            )
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        app.translate_text(source, opened[0].as_deref().unwrap_or(&clear), "es")
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        first.push(started.elapsed());

        let started = Instant::now();
        let opened = app
            .open_texts(
                &caller,
                "request.content",
                "freeText",
                std::slice::from_ref(&source.sealed),
            )
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        app.translate_text(source, opened[0].as_deref().unwrap_or(&clear), "es")
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        cached.push(started.elapsed());
    }
    println!("one free-text field, {texts} texts, en -> es:");
    let (p50, p99) = summary("without translation", plain);
    let (f50, f99) = summary("with translation (first time)", first);
    let (c50, c99) = summary("with translation (cached)", cached);
    println!(
        "ratios to the field without translation: first p50 {:.1}x p99 {:.1}x; cached p50 {:.1}x p99 {:.1}x",
        f50 / p50,
        f99 / p99,
        c50 / p50,
        c99 / p99
    );

    // Throughput: `readers` at once, each translating its share into French (not cached yet).
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let shared = Arc::new(sources.into_iter().zip(clears).collect::<Vec<_>>());
    for r in 0..readers {
        let (app, shared) = (app.clone(), shared.clone());
        tasks.spawn(async move {
            let mut done = 0usize;
            for (source, text) in shared.iter().skip(r).step_by(readers) {
                if app.translate_text(source, text, "fr").await.is_ok() {
                    done += 1;
                }
            }
            done
        });
    }
    let mut done = 0;
    while let Some(n) = tasks.join_next().await {
        done += n?;
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "translations/s, {readers} readers, en -> fr, not cached: {:.1} ({done} in {took:.2} s)",
        done as f64 / took
    );
    Ok(())
}
