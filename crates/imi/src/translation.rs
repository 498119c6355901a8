//! The translation engines of a `serve` process, from the environment:
//!
//! - `IMI_TRANSLATION_URL`: an Apertium server (`apertium-apy`) to use; `off`: none. Unset: a
//!   private `apertium-apy` is started beside the service from the machine's installation
//!   (when installed) over the pairs in `IMI_APERTIUM_MODES`, and ends with the process.
//! - `IMI_TRANSLATION_EXTERNAL_URL` (and `IMI_TRANSLATION_EXTERNAL_KEY`): an external HTTP
//!   service (LibreTranslate's protocol) for text without personal data;
//!   `IMI_TRANSLATION_EXTERNAL_PERSONAL_DATA=on` lets personal data go to it too (each sending
//!   is recorded in the processing log).

use anyhow::Result;
use imi_app::translation::{Apertium, HttpService, Provider, Translator};
use imi_localpg::apertium::{ApertiumError, ApyServer, DEFAULT_MODES};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The engines, and the private server when one was started (it stops when this is dropped).
pub struct Translation {
    pub translator: Option<Arc<Translator>>,
    pub described: String,
    _server: Option<ApyServer>,
}

fn on(name: &str) -> bool {
    std::env::var(name)
        .map(|v| matches!(v.trim(), "on" | "true" | "1" | "yes"))
        .unwrap_or(false)
}

/// Reads the environment and starts the private Apertium where it applies; blocking.
pub fn from_env(data_root: &Path) -> Result<Translation> {
    let mut described = vec![];
    let mut server = None;
    let local: Option<Arc<dyn Provider>> = match std::env::var("IMI_TRANSLATION_URL") {
        Ok(url) if url.trim() == "off" => {
            described.push("no local engine (IMI_TRANSLATION_URL=off)".to_string());
            None
        }
        Ok(url) if !url.trim().is_empty() => {
            described.push(format!("Apertium at {}", url.trim()));
            Some(Arc::new(Apertium::new(url.trim())))
        }
        _ => {
            let modes =
                std::env::var("IMI_APERTIUM_MODES").unwrap_or_else(|_| DEFAULT_MODES.into());
            std::fs::create_dir_all(data_root)?;
            match ApyServer::start(
                Path::new(&modes),
                &data_root.join("apertium.log"),
                Duration::from_secs(60),
            ) {
                Ok(started) => {
                    described.push(format!("private Apertium at {} ({modes})", started.url()));
                    let provider = Arc::new(Apertium::new(&started.url()));
                    server = Some(started);
                    Some(provider as Arc<dyn Provider>)
                }
                Err(e @ (ApertiumError::NotInstalled | ApertiumError::NoPairs(_))) => {
                    described.push(format!("no local engine: {e}"));
                    None
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    let external: Option<Arc<dyn Provider>> = match std::env::var("IMI_TRANSLATION_EXTERNAL_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let key = std::env::var("IMI_TRANSLATION_EXTERNAL_KEY").ok();
            Some(Arc::new(HttpService::new(url.trim(), key)))
        }
        _ => None,
    };
    let personal = external.is_some() && on("IMI_TRANSLATION_EXTERNAL_PERSONAL_DATA");
    if external.is_some() {
        described.push(if personal {
            "external service, personal data included (recorded in the processing log)".into()
        } else {
            "external service for text without personal data".into()
        });
    }
    if personal {
        tracing::warn!("personal data may be sent to the external translation service");
    }
    let translator = (local.is_some() || external.is_some())
        .then(|| Arc::new(Translator::new(local, external, personal)));
    Ok(Translation {
        translator,
        described: described.join("; "),
        _server: server,
    })
}
