//! Sealing personal data under an exchange's key, and opening it for a view: the only place
//! that opens. A value is opened only when the view's declared rules show it at the reader's
//! level; erased values read as absent and the view says they were erased.

use crate::error::{AppError, AppResult};
use crate::App;
use imi_domain::sealed::Sealed;
use imi_store::processing_log::{self, Kind, Processing};
use imi_store::sealing::Opened;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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

/// Who opens personal data, for what: what the processing log records of a reading.
#[derive(Clone, Debug)]
pub struct Reading {
    /// The use case (its purpose), e.g. `request.content`.
    pub operation: &'static str,
    /// The reader's view level.
    pub level: String,
    /// `user:<id>`.
    pub acting_user: String,
    pub acting_authority: Option<String>,
}

impl Reading {
    pub fn by(
        reader: &imi_domain::access::ActorContext,
        operation: &'static str,
        level: impl std::fmt::Debug,
    ) -> Self {
        Self {
            operation,
            level: format!("{level:?}"),
            acting_user: format!("user:{}", reader.user_id),
            acting_authority: Some(reader.authority_id().to_string()),
        }
    }
}

/// Opens the sealed values of one view, for a reader allowed to see them, and records in the
/// processing log which fields of which exchange it opened ([`Opener::finish`], one entry per
/// exchange and view). Nothing else opens personal data.
pub struct Opener<'a> {
    app: &'a App,
    /// Whether the rules show personal data to this reader at all.
    allowed: bool,
    reading: Reading,
    /// What was opened: data key -> fields.
    opened: BTreeMap<String, BTreeSet<String>>,
    finished: bool,
    /// Set once a value turned out erased.
    pub erased: bool,
}

impl<'a> Opener<'a> {
    pub fn new(app: &'a App, allowed: bool, reading: Reading) -> Self {
        Self {
            app,
            allowed,
            reading,
            opened: BTreeMap::new(),
            finished: false,
            erased: false,
        }
    }

    pub fn allowed(&self) -> bool {
        self.allowed
    }

    fn note(&mut self, sealed: &Sealed, field: &str) {
        self.opened
            .entry(sealed.key_id.clone())
            .or_default()
            .insert(field.to_string());
    }

    /// The value of `field`, as JSON; `None` when not allowed or erased.
    pub async fn value(
        &mut self,
        sealed: &Sealed,
        field: &str,
    ) -> AppResult<Option<serde_json::Value>> {
        if !self.allowed {
            return Ok(None);
        }
        match self.app.keyring.open::<serde_json::Value>(sealed).await {
            Ok(Opened::Value(v)) => {
                self.note(sealed, field);
                Ok(Some(v))
            }
            Ok(Opened::Erased) => {
                self.erased = true;
                Ok(None)
            }
            Err(e) => Err(AppError::sealing("opening personal data", &e)),
        }
    }

    /// The value of `field` as a text (a string as it is, anything else as JSON).
    pub async fn text(&mut self, sealed: &Sealed, field: &str) -> AppResult<Option<String>> {
        Ok(self.value(sealed, field).await?.map(as_text))
    }

    /// Many values of `field` at once (one key lookup per key), as texts.
    pub async fn texts(
        &mut self,
        sealed: &[Sealed],
        field: &str,
    ) -> AppResult<Vec<Option<String>>> {
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
        for (o, s) in opened.into_iter().zip(sealed) {
            match o {
                Ok(Opened::Value(v)) => {
                    self.note(s, field);
                    out.push(Some(as_text(v)));
                }
                Ok(Opened::Erased) => {
                    self.erased = true;
                    out.push(None);
                }
                Err(e) => return Err(AppError::sealing("opening personal data", &e)),
            }
        }
        Ok(out)
    }

    /// Records what was opened in the processing log: one entry per exchange. A view that
    /// opened personal data is not answered before its reading is recorded.
    pub async fn finish(mut self) -> AppResult<()> {
        self.finished = true;
        for (exchange, fields) in std::mem::take(&mut self.opened) {
            let entry = Processing {
                exchange,
                kind: Kind::Read,
                operation: self.reading.operation.to_string(),
                fields: fields.into_iter().collect(),
                level: Some(self.reading.level.clone()),
                acting_user: self.reading.acting_user.clone(),
                acting_authority: self.reading.acting_authority.clone(),
            };
            processing_log::record(&self.app.pool, &entry)
                .await
                .map_err(|e| AppError::database("recording a reading", &e))?;
        }
        Ok(())
    }
}

impl Drop for Opener<'_> {
    fn drop(&mut self) {
        // A reading that opened data and was not recorded is a defect of its use case.
        if !self.finished && !self.opened.is_empty() && !std::thread::panicking() {
            tracing::error!(
                operation = self.reading.operation,
                "personal data opened without recording the reading"
            );
            debug_assert!(false, "{}: opened without finish()", self.reading.operation);
        }
    }
}

fn as_text(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}
