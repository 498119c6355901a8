//! Machine translation: the port (a [`Provider`] behind a [`Translator`]), the Apertium
//! provider talking to `apertium-apy` beside the service, an external HTTP service for text
//! without personal data, routes through a pivot language, the cache, and the marks every
//! translated text carries wherever it is shown.
//!
//! Translations are derived and disposable: never written into events. Personal data (free
//! text, replies, comments) are translated only for a reader the view already showed the text
//! to, by the engine beside the service unless an operator allowed the external service for
//! them; every such translation is recorded in the processing log, and its cached copy is
//! sealed under the exchange's key and deleted when that key is erased (migration 0030).

use crate::error::{AppError, AppResult};
use crate::opening::{Opener, Reading};
use crate::App;
use chrono::{DateTime, SubsecRound, Utc};
use imi_domain::reference::Language;
use imi_domain::sealed::Sealed;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a provider's list of pairs is trusted before it is asked again (an engine restarted
/// with new pairs is noticed within this delay).
const PAIRS_TTL: Duration = Duration::from_secs(60);

/// Marks a machine-translated text: from which language, into which, by which engine, when,
/// and through which language when no direct pair existed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mark {
    pub from: String,
    pub to: String,
    pub engine: String,
    pub at: DateTime<Utc>,
    pub pivot: Option<String>,
}

impl Mark {
    /// `from-to`, the pair as errors and logs name it.
    pub fn pair(&self) -> String {
        format!("{}-{}", self.from, self.to)
    }
}

/// A machine translation and its mark.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Translated {
    pub text: String,
    pub mark: Mark,
}

/// Why a provider did not translate.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The engine did not answer (not started, crashed, unreachable).
    #[error("the engine does not answer: {0}")]
    Down(String),
    /// The engine answered but has no such pair.
    #[error("the engine has no such pair")]
    NoPair,
    /// The engine answered with an error.
    #[error("the engine failed: {0}")]
    Engine(String),
}

/// A machine-translation engine. Languages are ISO 639-1 codes (the EU's), plus any the engine
/// can pivot through.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// The engine's name, as marks show it.
    fn engine(&self) -> &str;
    /// The direct pairs (from, to) the engine has.
    async fn pairs(&self) -> Result<BTreeSet<(String, String)>, ProviderError>;
    /// Translates `text` over one direct pair.
    async fn translate(&self, text: &str, from: &str, to: &str) -> Result<String, ProviderError>;
}

// --- Apertium --------------------------------------------------------------------------------

/// ISO 639-1 codes and Apertium's ISO 639-3 codes: the EU's languages and the ones Apertium
/// pairs can pivot through (Catalan, Macedonian). Croatian is in Apertium's Serbo-Croatian
/// (`hbs`), written `hbs_HR` as a target.
const APERTIUM_CODES: [(&str, &str); 26] = [
    ("bg", "bul"),
    ("cs", "ces"),
    ("da", "dan"),
    ("de", "deu"),
    ("el", "ell"),
    ("en", "eng"),
    ("es", "spa"),
    ("et", "est"),
    ("fi", "fin"),
    ("fr", "fra"),
    ("ga", "gle"),
    ("hr", "hbs"),
    ("hu", "hun"),
    ("it", "ita"),
    ("lt", "lit"),
    ("lv", "lav"),
    ("mt", "mlt"),
    ("nl", "nld"),
    ("pl", "pol"),
    ("pt", "por"),
    ("ro", "ron"),
    ("sk", "slk"),
    ("sl", "slv"),
    ("sv", "swe"),
    ("ca", "cat"),
    ("mk", "mkd"),
];

fn apertium_source(iso1: &str) -> Option<&'static str> {
    APERTIUM_CODES
        .iter()
        .find(|(a, _)| *a == iso1)
        .map(|(_, b)| *b)
}

fn apertium_target(iso1: &str) -> Option<&'static str> {
    if iso1 == "hr" {
        return Some("hbs_HR");
    }
    apertium_source(iso1)
}

/// Apertium's code as a source (`hbs`) or a target (`hbs_HR`) back to ISO 639-1; other
/// variants (`por_BR`, `cat_valencia`) are not used.
fn iso1_of(code: &str, as_target: bool) -> Option<&'static str> {
    let code = match code {
        "hbs_HR" if as_target => "hbs",
        "hbs" if as_target => return None,
        c if c.contains('_') => return None,
        c => c,
    };
    APERTIUM_CODES
        .iter()
        .find(|(_, b)| *b == code)
        .map(|(a, _)| *a)
}

/// Apertium through its HTTP server, `apertium-apy` (`GET /listPairs`, `POST /translate`).
pub struct Apertium {
    base: String,
    client: reqwest::Client,
}

impl Apertium {
    /// `base`: the server's URL, e.g. `http://127.0.0.1:2737`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client without TLS builds"),
        }
    }
}

#[derive(serde::Deserialize)]
struct ApyPairs {
    #[serde(rename = "responseData")]
    data: Vec<ApyPair>,
}

#[derive(serde::Deserialize)]
struct ApyPair {
    #[serde(rename = "sourceLanguage")]
    source: String,
    #[serde(rename = "targetLanguage")]
    target: String,
}

#[derive(serde::Deserialize)]
struct ApyTranslation {
    #[serde(rename = "responseData")]
    data: Option<ApyText>,
    #[serde(rename = "responseStatus")]
    status: Option<u16>,
    message: Option<String>,
    explanation: Option<String>,
}

#[derive(serde::Deserialize)]
struct ApyText {
    #[serde(rename = "translatedText")]
    text: String,
}

#[async_trait::async_trait]
impl Provider for Apertium {
    fn engine(&self) -> &str {
        "apertium"
    }

    async fn pairs(&self) -> Result<BTreeSet<(String, String)>, ProviderError> {
        let reply = self
            .client
            .get(format!("{}/listPairs", self.base))
            .send()
            .await
            .map_err(|e| ProviderError::Down(e.to_string()))?;
        let pairs: ApyPairs = reply
            .json()
            .await
            .map_err(|e| ProviderError::Engine(e.to_string()))?;
        Ok(pairs
            .data
            .iter()
            .filter_map(|p| {
                Some((
                    iso1_of(&p.source, false)?.to_string(),
                    iso1_of(&p.target, true)?.to_string(),
                ))
            })
            .collect())
    }

    async fn translate(&self, text: &str, from: &str, to: &str) -> Result<String, ProviderError> {
        let (Some(source), Some(target)) = (apertium_source(from), apertium_target(to)) else {
            return Err(ProviderError::NoPair);
        };
        let reply = self
            .client
            .post(format!("{}/translate", self.base))
            .form(&[
                ("langpair", format!("{source}|{target}")),
                ("q", text.to_string()),
                ("markUnknown", "no".to_string()),
            ])
            .send()
            .await
            .map_err(|e| ProviderError::Down(e.to_string()))?;
        let answer: ApyTranslation = reply
            .json()
            .await
            .map_err(|e| ProviderError::Engine(e.to_string()))?;
        match answer.data {
            Some(d) if answer.status.unwrap_or(200) == 200 => Ok(d.text),
            _ => {
                let why = answer.explanation.or(answer.message).unwrap_or_default();
                if why.contains("not installed") {
                    Err(ProviderError::NoPair)
                } else {
                    Err(ProviderError::Engine(why))
                }
            }
        }
    }
}

// --- An external HTTP service ------------------------------------------------------------------

/// An external machine-translation service speaking the LibreTranslate protocol
/// (`GET /languages`, `POST /translate` with `q`, `source`, `target`, optional `api_key`).
pub struct HttpService {
    base: String,
    api_key: Option<String>,
    client: reqwest::Client,
}

impl HttpService {
    pub fn new(base: &str, api_key: Option<String>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            api_key,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client without TLS builds"),
        }
    }
}

#[derive(serde::Deserialize)]
struct ServiceLanguage {
    code: String,
    #[serde(default)]
    targets: Vec<String>,
}

#[async_trait::async_trait]
impl Provider for HttpService {
    fn engine(&self) -> &str {
        "external"
    }

    async fn pairs(&self) -> Result<BTreeSet<(String, String)>, ProviderError> {
        let reply = self
            .client
            .get(format!("{}/languages", self.base))
            .send()
            .await
            .map_err(|e| ProviderError::Down(e.to_string()))?;
        let languages: Vec<ServiceLanguage> = reply
            .json()
            .await
            .map_err(|e| ProviderError::Engine(e.to_string()))?;
        Ok(languages
            .iter()
            .flat_map(|l| {
                l.targets
                    .iter()
                    .filter(|t| **t != l.code)
                    .map(|t| (l.code.clone(), t.clone()))
            })
            .collect())
    }

    async fn translate(&self, text: &str, from: &str, to: &str) -> Result<String, ProviderError> {
        let mut body = serde_json::json!({
            "q": text, "source": from, "target": to, "format": "text"
        });
        if let Some(key) = &self.api_key {
            body["api_key"] = serde_json::Value::String(key.clone());
        }
        let reply = self
            .client
            .post(format!("{}/translate", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| ProviderError::Down(e.to_string()))?;
        let ok = reply.status().is_success();
        let answer: serde_json::Value = reply
            .json()
            .await
            .map_err(|e| ProviderError::Engine(e.to_string()))?;
        match answer.get("translatedText").and_then(|t| t.as_str()) {
            Some(t) if ok => Ok(t.to_string()),
            _ => Err(ProviderError::Engine(
                answer
                    .get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("no translation")
                    .to_string(),
            )),
        }
    }
}

// --- The translator: routes, providers, rules -------------------------------------------------

/// A way from one language to another over a provider's direct pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub from: String,
    pub to: String,
    pub pivot: Option<String>,
}

/// The route from `from` to `to` over `pairs`: the direct pair, else through one language that
/// has both pairs (English, Spanish, French, Catalan first: the best-furnished in Apertium).
pub fn route(pairs: &BTreeSet<(String, String)>, from: &str, to: &str) -> Option<Route> {
    let has = |a: &str, b: &str| pairs.contains(&(a.to_string(), b.to_string()));
    if has(from, to) {
        return Some(Route {
            from: from.into(),
            to: to.into(),
            pivot: None,
        });
    }
    let preferred = ["en", "es", "fr", "ca"];
    let mut pivots: Vec<&str> = preferred.to_vec();
    pivots.extend(
        pairs
            .iter()
            .map(|(a, _)| a.as_str())
            .filter(|p| !preferred.contains(p)),
    );
    pivots
        .into_iter()
        .find(|p| *p != from && *p != to && has(from, p) && has(p, to))
        .map(|p| Route {
            from: from.into(),
            to: to.into(),
            pivot: Some(p.into()),
        })
}

/// Direct pairs (from, to).
type Pairs = BTreeSet<(String, String)>;

struct Engine {
    provider: Arc<dyn Provider>,
    /// The provider's pairs and when they were asked.
    pairs: tokio::sync::Mutex<Option<(Instant, Pairs)>>,
}

impl Engine {
    fn new(provider: Arc<dyn Provider>) -> Self {
        Self {
            provider,
            pairs: tokio::sync::Mutex::new(None),
        }
    }

    async fn pairs(&self) -> Result<BTreeSet<(String, String)>, ProviderError> {
        let mut cached = self.pairs.lock().await;
        if let Some((at, pairs)) = cached.as_ref() {
            if at.elapsed() < PAIRS_TTL {
                return Ok(pairs.clone());
            }
        }
        let pairs = self.provider.pairs().await?;
        *cached = Some((Instant::now(), pairs.clone()));
        Ok(pairs)
    }

    async fn translate(&self, text: &str, route: &Route) -> Result<String, ProviderError> {
        match &route.pivot {
            None => self.provider.translate(text, &route.from, &route.to).await,
            Some(pivot) => {
                let between = self.provider.translate(text, &route.from, pivot).await?;
                self.provider.translate(&between, pivot, &route.to).await
            }
        }
    }
}

/// The engines' state, as `/ready` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EngineState {
    pub engine: String,
    /// Runs beside the service (personal data may go to it).
    pub local: bool,
    pub ready: bool,
    /// Direct pairs between known languages.
    pub pairs: usize,
    pub error: Option<String>,
}

/// Whether a text holds personal data: it decides which engines may receive it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// Informal titles, descriptions, question sets.
    Public,
    /// Free text, replies, comments, alert texts.
    Personal,
}

/// The translation port: the engine beside the service and, optionally, an external service.
pub struct Translator {
    local: Option<Engine>,
    external: Option<Engine>,
    /// The operator allowed the external service to receive personal data too.
    external_personal_data: bool,
}

/// One translation, and whether it left the machine.
struct Done {
    text: String,
    mark: Mark,
    external: bool,
}

impl Translator {
    /// `local`: the engine beside the service; `external`: a service elsewhere, for text without
    /// personal data unless `external_personal_data`.
    pub fn new(
        local: Option<Arc<dyn Provider>>,
        external: Option<Arc<dyn Provider>>,
        external_personal_data: bool,
    ) -> Self {
        Self {
            local: local.map(Engine::new),
            external: external.map(Engine::new),
            external_personal_data,
        }
    }

    /// Only the Apertium server at `url`.
    pub fn apertium(url: &str) -> Self {
        Self::new(Some(Arc::new(Apertium::new(url))), None, false)
    }

    /// Every engine's state (asks each for its pairs).
    pub async fn state(&self) -> Vec<EngineState> {
        let mut out = vec![];
        for (engine, local) in [(&self.local, true), (&self.external, false)] {
            let Some(engine) = engine else { continue };
            let pairs = engine.pairs().await;
            out.push(EngineState {
                engine: engine.provider.engine().to_string(),
                local,
                ready: pairs.is_ok(),
                pairs: pairs.as_ref().map(|p| p.len()).unwrap_or(0),
                error: pairs.err().map(|e| e.to_string()),
            });
        }
        out
    }

    /// Every (from, to) some engine allowed for `content` reaches, pivots included, among the
    /// EU's languages.
    pub async fn reachable(&self, content: Content) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for engine in self.engines(content) {
            let Ok(pairs) = engine.pairs().await else {
                continue;
            };
            for from in imi_domain::reference::LANGUAGES {
                for to in imi_domain::reference::LANGUAGES {
                    if from != to && route(&pairs, from, to).is_some() {
                        out.insert((from.to_string(), to.to_string()));
                    }
                }
            }
        }
        out
    }

    fn engines(&self, content: Content) -> impl Iterator<Item = &Engine> {
        let external_allowed = content == Content::Public || self.external_personal_data;
        self.local
            .iter()
            .chain(self.external.iter().filter(move |_| external_allowed))
    }

    async fn translate(
        &self,
        text: &str,
        from: &str,
        to: &str,
        content: Content,
    ) -> Result<Done, String> {
        let mut why = "no translation engine is configured".to_string();
        for engine in self.engines(content) {
            let external = self
                .external
                .as_ref()
                .is_some_and(|e| std::ptr::eq(e, engine));
            let pairs = match engine.pairs().await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(engine = engine.provider.engine(), error = %e, "translation engine unavailable");
                    why = format!("the {} engine is unavailable", engine.provider.engine());
                    continue;
                }
            };
            let Some(route) = route(&pairs, from, to) else {
                why = format!("no {} pair or pivot reaches it", engine.provider.engine());
                continue;
            };
            match engine.translate(text, &route).await {
                Ok(text) => {
                    return Ok(Done {
                        text,
                        mark: Mark {
                            from: from.into(),
                            to: to.into(),
                            engine: engine.provider.engine().to_string(),
                            // The database's precision, so a cached mark reads the same.
                            at: Utc::now().trunc_subsecs(6),
                            pivot: route.pivot,
                        },
                        external,
                    });
                }
                Err(e) => {
                    tracing::warn!(engine = engine.provider.engine(), error = %e, "translation failed");
                    why = format!("the {} engine failed", engine.provider.engine());
                }
            }
        }
        Err(why)
    }
}

// --- The application's use of it ---------------------------------------------------------------

/// A text a view showed its reader, sealed under its exchange's key: what a translation of it
/// needs (the sealed value keys the cache and seals the translation; the reading is the
/// reader's, whom the view already showed the text to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextSource {
    pub sealed: Sealed,
    /// The view's field, as the processing log names it.
    pub field: &'static str,
    /// The language it is written in (its author's).
    pub language: String,
    pub reading: Reading,
}

fn language(code: &str) -> AppResult<String> {
    Ok(Language::parse(code)?.code().to_string())
}

fn unavailable(from: &str, to: &str, why: &str) -> AppError {
    AppError::translation_unavailable(
        format!("no machine translation from {from} into {to}: {why}"),
        format!("{from}-{to}"),
    )
}

#[derive(sqlx::FromRow)]
struct CachedRow {
    translation: serde_json::Value,
    engine: String,
    pivot: Option<String>,
    translated_at: DateTime<Utc>,
}

impl App {
    fn translator(&self, from: &str, to: &str) -> AppResult<&Translator> {
        self.translation
            .as_deref()
            .ok_or_else(|| unavailable(from, to, "no translation engine is configured"))
    }

    /// The engines' state (`None`: translation is not configured).
    pub async fn translation_state(&self) -> Option<Vec<EngineState>> {
        Some(self.translation.as_ref()?.state().await)
    }

    /// Translates `text` without personal data (an informal title, a question set's name) from
    /// `from` into `to`, through the cache.
    pub async fn translate_public(
        &self,
        text: &str,
        from: &str,
        to: &str,
    ) -> AppResult<Translated> {
        let (from, to) = (language(from)?, language(to)?);
        if from == to {
            return Err(AppError::bad_input(format!("the text is already in {to}")));
        }
        let hash = Sha256::digest(text.as_bytes()).to_vec();
        if let Some(row) = self.cached("", &hash, &from, &to).await? {
            if let Some(t) = row.translation.get("text").and_then(|t| t.as_str()) {
                return Ok(Translated {
                    text: t.to_string(),
                    mark: Mark {
                        from,
                        to,
                        engine: row.engine,
                        at: row.translated_at,
                        pivot: row.pivot,
                    },
                });
            }
        }
        let done = self
            .translator(&from, &to)?
            .translate(text, &from, &to, Content::Public)
            .await
            .map_err(|why| unavailable(&from, &to, &why))?;
        self.store_cached(
            "",
            &hash,
            &done.mark,
            serde_json::json!({ "text": done.text }),
        )
        .await?;
        Ok(Translated {
            text: done.text,
            mark: done.mark,
        })
    }

    /// Translates a text a view showed (`clear`, opened from `source.sealed` for that view) into
    /// `to` for the same reader: from the cache when it holds it (opened and recorded like any
    /// reading), else by an engine allowed personal data, recorded in the processing log (with
    /// whether it left the machine) and cached sealed under the exchange's key.
    pub async fn translate_text(
        &self,
        source: &TextSource,
        clear: &str,
        to: &str,
    ) -> AppResult<Translated> {
        let (from, to) = (language(&source.language)?, language(to)?);
        if from == to {
            return Err(AppError::bad_input(format!("the text is already in {to}")));
        }
        let key_id = source.sealed.key_id.as_str();
        let hash = sealed_hash(&source.sealed);
        if let Some(row) = self.cached(key_id, &hash, &from, &to).await? {
            if let Ok(sealed) = serde_json::from_value::<Sealed>(row.translation) {
                let reading = Reading {
                    operation: "translation.cache",
                    ..source.reading.clone()
                };
                let mut opener = Opener::new(self, true, reading);
                let text = opener.text(&sealed, source.field).await?;
                opener.finish().await?;
                if let Some(text) = text {
                    return Ok(Translated {
                        text,
                        mark: Mark {
                            from,
                            to,
                            engine: row.engine,
                            at: row.translated_at,
                            pivot: row.pivot,
                        },
                    });
                }
            }
        }
        let done = self
            .translator(&from, &to)?
            .translate(clear, &from, &to, Content::Personal)
            .await
            .map_err(|why| unavailable(&from, &to, &why))?;
        // Recorded before the translation is shown, like any reading.
        let reading = Reading {
            operation: if done.external {
                "translation.external"
            } else {
                "translation.local"
            },
            ..source.reading.clone()
        };
        let mut opener = Opener::new(self, true, reading);
        opener.processed(&source.sealed, source.field);
        opener.finish().await?;
        match self.seal(key_id, &done.text).await {
            Ok(sealed) => {
                let value = serde_json::to_value(&sealed).unwrap_or_default();
                self.store_cached(key_id, &hash, &done.mark, value).await?;
            }
            // Erased meanwhile: shown once, never kept.
            Err(e) if e.reason == Some(crate::error::reason::PERSONAL_DATA_ERASED) => {}
            Err(e) => return Err(e),
        }
        Ok(Translated {
            text: done.text,
            mark: done.mark,
        })
    }

    async fn cached(
        &self,
        key_id: &str,
        hash: &[u8],
        from: &str,
        to: &str,
    ) -> AppResult<Option<CachedRow>> {
        sqlx::query_as(
            "SELECT translation, engine, pivot, translated_at FROM translation_cache \
             WHERE key_id = $1 AND text_hash = $2 AND source_lang = $3 AND target_lang = $4",
        )
        .bind(key_id)
        .bind(hash)
        .bind(from)
        .bind(to)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| AppError::database("reading the translation cache", &e))
    }

    async fn store_cached(
        &self,
        key_id: &str,
        hash: &[u8],
        mark: &Mark,
        translation: serde_json::Value,
    ) -> AppResult<()> {
        // Only while the key lives: a row written after its erasure would outlive it.
        sqlx::query(
            "INSERT INTO translation_cache \
               (key_id, text_hash, source_lang, target_lang, translation, engine, pivot, translated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8 \
              WHERE $1 = '' OR EXISTS (SELECT 1 FROM data_keys WHERE key_id = $1 AND erased_at IS NULL) \
             ON CONFLICT DO NOTHING",
        )
        .bind(key_id)
        .bind(hash)
        .bind(&mark.from)
        .bind(&mark.to)
        .bind(translation)
        .bind(&mark.engine)
        .bind(&mark.pivot)
        .bind(mark.at)
        .execute(&self.pool)
        .await
        .map_err(|e| AppError::database("writing the translation cache", &e))?;
        Ok(())
    }
}

/// The cache key of a sealed text: the SHA-256 of its nonce and ciphertext (never of the clear
/// text).
pub fn sealed_hash(sealed: &Sealed) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(sealed.nonce.as_bytes());
    h.update([0x1f]);
    h.update(sealed.ciphertext.as_bytes());
    h.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_direct_pair_is_taken_before_any_pivot() {
        let p = pairs(&[("en", "es"), ("en", "fr"), ("fr", "es")]);
        assert_eq!(route(&p, "en", "es").unwrap().pivot, None);
    }

    #[test]
    fn without_a_direct_pair_a_language_with_both_pairs_is_the_pivot() {
        let p = pairs(&[("fr", "es"), ("es", "pt"), ("fr", "ca"), ("ca", "pt")]);
        assert_eq!(route(&p, "fr", "pt").unwrap().pivot.as_deref(), Some("es"));
        let p = pairs(&[("fr", "ca"), ("ca", "it")]);
        assert_eq!(route(&p, "fr", "it").unwrap().pivot.as_deref(), Some("ca"));
        assert_eq!(route(&p, "it", "fr"), None);
    }

    #[test]
    fn apertium_codes_map_to_the_eu_ones() {
        assert_eq!(iso1_of("eng", false), Some("en"));
        assert_eq!(iso1_of("hbs_HR", true), Some("hr"));
        assert_eq!(iso1_of("hbs", false), Some("hr"));
        assert_eq!(iso1_of("hbs", true), None);
        assert_eq!(iso1_of("por_BR", true), None);
        assert_eq!(apertium_target("hr"), Some("hbs_HR"));
    }
}
