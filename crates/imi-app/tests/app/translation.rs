//! Machine translation against a real Apertium (`apertium-apy`, started once for this test
//! binary): pairs, pivots, unavailable pairs, the cache and its erasure with the exchange's key,
//! and what may leave the machine.

use crate::support;
use imi_app::error::Code;
use imi_app::opening::Reading;
use imi_app::translation::{Apertium, HttpService, Provider, TextSource, Translator};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn apertium_url() -> String {
    tokio::task::spawn_blocking(imi_testkit::apertium_url)
        .await
        .expect("apertium")
}

async fn with_apertium() -> support::Scene {
    let mut scene = support::start().await;
    let url = apertium_url().await;
    scene.app = scene
        .app
        .clone()
        .with_translation(Arc::new(Translator::apertium(&url)));
    scene
}

fn reading() -> Reading {
    Reading {
        operation: "request.content",
        level: "Full".to_string(),
        acting_user: "user:reader".to_string(),
        acting_authority: Some("fr-pq".to_string()),
    }
}

async fn sealed_source(app: &imi_app::App, key: &str, text: &str, language: &str) -> TextSource {
    TextSource {
        sealed: app.seal(key, text).await.expect("seal"),
        field: "freeText",
        language: language.to_string(),
        reading: reading(),
    }
}

async fn log_operations(app: &imi_app::App, key: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT operation FROM processing_log WHERE exchange = $1 ORDER BY id")
        .bind(key)
        .fetch_all(&app.pool)
        .await
        .expect("processing log")
}

async fn cached_rows(app: &imi_app::App, key: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM translation_cache WHERE key_id = $1")
        .bind(key)
        .fetch_one(&app.pool)
        .await
        .expect("cache")
}

#[tokio::test]
async fn titles_are_translated_from_english_and_french_into_spanish_and_marked() {
    let scene = with_apertium().await;
    let en = scene
        .app
        .translate_public("Ministry of Health", "en", "es")
        .await
        .expect("en-es");
    assert_eq!(en.text, "Ministerio de Salud");
    assert_eq!(
        (
            en.mark.engine.as_str(),
            en.mark.pair(),
            en.mark.pivot.clone()
        ),
        ("apertium", "en-es".to_string(), None)
    );
    let fr = scene
        .app
        .translate_public("Ministère de la santé", "fr", "es")
        .await
        .expect("fr-es");
    assert!(fr.text.starts_with("Ministerio"), "{}", fr.text);
    assert_eq!(fr.mark.pair(), "fr-es");
    // The second time comes from the cache: same text, the first translation's time.
    let again = scene
        .app
        .translate_public("Ministry of Health", "en", "es")
        .await
        .expect("cached");
    assert_eq!((again.text, again.mark.at), (en.text, en.mark.at));
}

#[tokio::test]
async fn without_a_direct_pair_the_translation_goes_through_a_pivot_and_says_so() {
    let scene = with_apertium().await;
    // Apertium has French-Spanish and Spanish-Portuguese, no French-Portuguese.
    let t = scene
        .app
        .translate_public("Le professionnel est enregistré", "fr", "pt")
        .await
        .expect("fr-es-pt");
    assert_eq!(t.mark.pivot.as_deref(), Some("es"));
    assert_eq!(t.mark.pair(), "fr-pt");
    assert!(!t.text.is_empty());
}

#[tokio::test]
async fn an_unreachable_pair_or_a_stopped_engine_answers_translation_unavailable_with_the_pair() {
    let scene = with_apertium().await;
    let e = scene
        .app
        .translate_public("Ministry of Health", "en", "de")
        .await
        .expect_err("no English-German");
    assert_eq!(
        (e.code, e.pair.as_deref()),
        (Code::TranslationUnavailable, Some("en-de"))
    );
    assert_eq!(
        Code::TranslationUnavailable.as_str(),
        "TRANSLATION_UNAVAILABLE"
    );
    let e = scene
        .app
        .translate_public("Ministry of Health", "en", "xx")
        .await
        .expect_err("not a language");
    assert_eq!(e.code, Code::BadUserInput);

    // An engine that does not answer (nothing listens on port 9).
    let down = scene
        .app
        .clone()
        .with_translation(Arc::new(Translator::apertium("http://127.0.0.1:9")));
    let e = down
        .translate_public("Ministry of Health", "en", "es")
        .await
        .expect_err("engine down");
    assert_eq!(
        (e.code, e.pair.as_deref()),
        (Code::TranslationUnavailable, Some("en-es"))
    );
    let state = down.translation_state().await.expect("configured");
    assert!(!state[0].ready);
    // Without any engine configured.
    let none = support::start().await;
    let e = none
        .app
        .translate_public("Ministry of Health", "en", "es")
        .await
        .expect_err("no engine");
    assert_eq!(e.code, Code::TranslationUnavailable);
    let _ = Apertium::new("http://127.0.0.1:9").engine();
}

#[tokio::test]
async fn a_free_text_is_translated_logged_cached_sealed_and_erased_with_the_exchange_key() {
    let scene = with_apertium().await;
    let app = &scene.app;
    let key = "InformationRequest/translated";
    let text = "The professional was registered in Madrid";
    let source = sealed_source(app, key, text, "en").await;
    let t = app
        .translate_text(&source, text, "es")
        .await
        .expect("translated");
    assert!(t.text.contains("Madrid"), "{}", t.text);
    assert_eq!(t.mark.engine, "apertium");
    // Cached, sealed: the clear translation is nowhere in the table.
    assert_eq!(cached_rows(app, key).await, 1);
    let stored: String =
        sqlx::query_scalar("SELECT translation::text FROM translation_cache WHERE key_id = $1")
            .bind(key)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        !stored.contains("Madrid") && stored.contains("\"ct\""),
        "{stored}"
    );
    let again = app
        .translate_text(&source, text, "es")
        .await
        .expect("cached");
    assert_eq!(
        (again.text.as_str(), again.mark.at),
        (t.text.as_str(), t.mark.at)
    );
    assert_eq!(
        log_operations(app, key).await,
        ["translation.local", "translation.cache"]
    );

    app.keyring
        .erase(key, "test", "data subject's request")
        .await
        .expect("erase");
    assert_eq!(cached_rows(app, key).await, 0, "erased with the key");
    // Another exchange's cache stays.
    let other = sealed_source(app, "InformationRequest/other", "Good morning", "en").await;
    app.translate_text(&other, "Good morning", "es")
        .await
        .expect("other");
    assert_eq!(cached_rows(app, "InformationRequest/other").await, 1);
}

/// A stand-in for an external translation service (LibreTranslate's protocol): offers
/// English-German and counts what it is sent.
struct External {
    url: String,
    translations: Arc<AtomicUsize>,
}

async fn external_service() -> External {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let translations = Arc::new(AtomicUsize::new(0));
    let counter = translations.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then the body its Content-Length announces.
                loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let body = if head.starts_with("GET /languages") {
                    r#"[{"code":"en","targets":["de"]}]"#.to_string()
                } else {
                    counter.fetch_add(1, Ordering::SeqCst);
                    r#"{"translatedText":"Gesundheitsministerium"}"#.to_string()
                };
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    External { url, translations }
}

#[tokio::test]
async fn by_default_no_personal_data_leaves_the_machine_for_an_external_service() {
    let scene = support::start().await;
    let local = apertium_url().await;
    let external = external_service().await;
    let translator = |personal_data: bool| {
        Arc::new(Translator::new(
            Some(Arc::new(Apertium::new(&local))),
            Some(Arc::new(HttpService::new(&external.url, None))),
            personal_data,
        ))
    };
    let app = scene.app.clone().with_translation(translator(false));
    let key = "Alert/leaving";
    let text = "Ministry of Health";
    let source = sealed_source(&app, key, text, "en").await;
    // Only the external service has English-German; the free text may not go there.
    let e = app
        .translate_text(&source, text, "de")
        .await
        .expect_err("personal data stay");
    assert_eq!(
        (e.code, e.pair.as_deref()),
        (Code::TranslationUnavailable, Some("en-de"))
    );
    assert_eq!(external.translations.load(Ordering::SeqCst), 0);
    assert!(log_operations(&app, key).await.is_empty());
    // A title (no personal data) may.
    let title = app
        .translate_public(text, "en", "de")
        .await
        .expect("external");
    assert_eq!(
        (title.text.as_str(), title.mark.engine.as_str()),
        ("Gesundheitsministerium", "external")
    );
    assert_eq!(external.translations.load(Ordering::SeqCst), 1);
    // Free text the local engine reaches stays local even with an external service.
    app.translate_text(&source, text, "es")
        .await
        .expect("local");
    assert_eq!(external.translations.load(Ordering::SeqCst), 1);

    // An operator who allows it: the sending is recorded in the processing log.
    let allowed = scene.app.clone().with_translation(translator(true));
    let t = allowed
        .translate_text(&source, text, "de")
        .await
        .expect("allowed");
    assert_eq!(t.mark.engine, "external");
    assert_eq!(external.translations.load(Ordering::SeqCst), 2);
    assert_eq!(
        log_operations(&allowed, key).await,
        ["translation.local", "translation.external"]
    );
}

#[tokio::test]
async fn informal_titles_are_filled_in_the_reachable_languages_marked_and_searchable() {
    use imi_app::directory::{DirectoryQuery, Visibility};
    use imi_app::registration::NationalCoordinator;
    use imi_domain::reference::{Language, MemberState};
    let scene = with_apertium().await;
    let app = &scene.app;
    let fr = scene.nimic("FR").await;
    // An authority with typed titles in English and Spanish.
    let titles = [
        (
            Language::parse("en").unwrap(),
            "Ministry of Health".to_string(),
        ),
        (Language::parse("es").unwrap(), "Sanidad".to_string()),
    ];
    let outcome = app
        .register_national_coordinator(
            &imi_app::Caller::system("test", support::english()),
            NationalCoordinator {
                authority_id: "nimic-pt".into(),
                member_state: MemberState::parse("PT").unwrap(),
                official_name: "Coordenador".into(),
                informal_titles: titles.into_iter().collect(),
                first_user_id: "user-nimic-pt".into(),
            },
            &imi_app::users::NewAccount {
                login: "pt.nimic".into(),
                password: support::PASSWORD.into(),
                name: "Coordinator PT".into(),
                email: "nimic@pt.example".into(),
            },
        )
        .await
        .expect("register");
    app.settle(outcome.position, &support::read_models())
        .await
        .expect("read models");

    let made = app.fill_machine_titles().await.expect("filled");
    assert!(made >= 2, "{made}");
    // Nothing more to do on a second pass.
    assert_eq!(app.fill_machine_titles().await.expect("again"), 0);
    let read = app
        .authority(&fr, "nimic-pt", &support::english())
        .await
        .expect("read")
        .expect("listed");
    let machine = &read.entry.machine_titles;
    // The typed Spanish title wins; Catalan is not an EU language; Portuguese from English
    // goes through Spanish.
    assert!(
        !machine.contains_key("es") && !machine.contains_key("en"),
        "{machine:?}"
    );
    let pt = machine.get("pt").expect("a Portuguese title");
    assert_eq!(
        (
            pt.source_language.as_str(),
            pt.pivot.as_deref(),
            pt.engine.as_str()
        ),
        ("en", Some("es"), "apertium")
    );
    assert!(
        machine.contains_key("fr") || machine.contains_key("it"),
        "{machine:?}"
    );
    assert!(
        !machine.contains_key("de"),
        "no engine reaches German: {machine:?}"
    );

    // The search finds it by a machine-translated title.
    let found = app
        .search_directory(
            &fr,
            DirectoryQuery {
                text: Some(pt.title.clone()),
                visibility: Visibility::ValidatedOnly,
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert!(
        found
            .authorities
            .iter()
            .any(|a| a.entry.authority_id == "nimic-pt"),
        "{}",
        pt.title
    );
    // The rows are derived: deleted, they are made again.
    sqlx::query("DELETE FROM machine_titles WHERE language = 'pt'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.fill_machine_titles().await.expect("remade"), 1);
}
