//! Sealing personal data under an exchange's key, and opening it for a view: the only place
//! that opens. A value is opened only when the view's declared rules show it at the reader's
//! level; erased values read as absent and the view says they were erased.

use crate::error::{AppError, AppResult};
use crate::App;
use imi_domain::sealed::Sealed;
use imi_store::sealing::Opened;
use serde::Serialize;

impl App {
    /// Seals `value` under the data key `key_id` (an exchange's, a user's).
    pub async fn seal(&self, key_id: &str, value: &(impl Serialize + ?Sized)) -> AppResult<Sealed> {
        self.keyring
            .seal(key_id, value)
            .await
            .map_err(|e| AppError::sealing("sealing personal data", &e))
    }

    /// Seals a checked text (see [`crate::input::text`]).
    pub async fn seal_text(&self, key_id: &str, what: &str, value: &str) -> AppResult<Sealed> {
        let value = crate::input::text(what, value)?;
        self.seal(key_id, &value).await
    }
}

/// Opens the sealed values of one view, for a reader allowed to see them.
pub struct Opener<'a> {
    app: &'a App,
    /// Whether the rules show personal data to this reader at all.
    allowed: bool,
    /// Set once a value turned out erased.
    pub erased: bool,
}

impl<'a> Opener<'a> {
    pub fn new(app: &'a App, allowed: bool) -> Self {
        Self {
            app,
            allowed,
            erased: false,
        }
    }

    pub fn allowed(&self) -> bool {
        self.allowed
    }

    /// The value, as JSON; `None` when not allowed or erased.
    pub async fn value(&mut self, sealed: &Sealed) -> AppResult<Option<serde_json::Value>> {
        if !self.allowed {
            return Ok(None);
        }
        match self.app.keyring.open::<serde_json::Value>(sealed).await {
            Ok(Opened::Value(v)) => Ok(Some(v)),
            Ok(Opened::Erased) => {
                self.erased = true;
                Ok(None)
            }
            Err(e) => Err(AppError::sealing("opening personal data", &e)),
        }
    }

    /// The value as a text (a string as it is, anything else as JSON).
    pub async fn text(&mut self, sealed: &Sealed) -> AppResult<Option<String>> {
        Ok(self.value(sealed).await?.map(as_text))
    }

    /// Many values at once (one key lookup per key), as texts.
    pub async fn texts(&mut self, sealed: &[Sealed]) -> AppResult<Vec<Option<String>>> {
        if !self.allowed {
            return Ok(vec![None; sealed.len()]);
        }
        let opened = self
            .app
            .keyring
            .open_many::<serde_json::Value>(sealed)
            .await
            .map_err(|e| AppError::sealing("opening personal data", &e))?;
        let mut out = Vec::with_capacity(opened.len());
        for o in opened {
            match o {
                Ok(Opened::Value(v)) => out.push(Some(as_text(v))),
                Ok(Opened::Erased) => {
                    self.erased = true;
                    out.push(None);
                }
                Err(e) => return Err(AppError::sealing("opening personal data", &e)),
            }
        }
        Ok(out)
    }
}

fn as_text(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}
