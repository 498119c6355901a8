//! Sealing personal data under an exchange's key, and opening it for a view: the only place
//! that opens. A value is opened only when the view's declared rules show it at the reader's
//! level; erased values read as absent and the view says they were erased.

use crate::error::{AppError, AppResult};
use crate::App;
use imi_domain::sealed::Sealed;
use imi_store::processing_log::{self, Kind, Processing};
use imi_store::sealing::{DataKeySealer, HeldKeys, Opened};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

impl App {
    /// Seals `value` under the data key `key_id` (an exchange's, a user's).
    pub async fn seal(&self, key_id: &str, value: &(impl Serialize + ?Sized)) -> AppResult<Sealed> {
        self.sealer(key_id).seal(value).await
    }

    /// Seals a checked text (see [`crate::input::text`]).
    pub async fn seal_text(&self, key_id: &str, what: &str, value: &str) -> AppResult<Sealed> {
        self.sealer(key_id).seal_text(what, value).await
    }

    /// A sealer for one command's values under the data key `key_id`.
    pub fn sealer(&self, key_id: &str) -> Sealer<'_> {
        Sealer::new(self, DataKeyOf::Named(key_id.to_string()))
    }

    /// A sealer for one command's values under request `id`'s current data key.
    pub(crate) fn request_sealer(&self, id: &str) -> Sealer<'_> {
        Sealer::new(self, DataKeyOf::Request(id.to_string()))
    }
}

/// Whose data key a [`Sealer`] seals under.
enum DataKeyOf {
    Named(String),
    /// A request's current key ([`App::request_data_key`]).
    Request(String),
}

/// Seals one command's values under one data key: the key is read (or created) on the first
/// value, once, instead of once per value; a command that seals nothing reads nothing.
pub struct Sealer<'a> {
    app: &'a App,
    of: DataKeyOf,
    key: Option<DataKeySealer>,
}

impl<'a> Sealer<'a> {
    fn new(app: &'a App, of: DataKeyOf) -> Self {
        Self { app, of, key: None }
    }

    /// Seals `value` (its JSON).
    pub async fn seal(&mut self, value: &(impl Serialize + ?Sized)) -> AppResult<Sealed> {
        let key = match &mut self.key {
            Some(key) => key,
            None => {
                let key_id = match &self.of {
                    DataKeyOf::Named(key_id) => key_id.clone(),
                    DataKeyOf::Request(id) => self.app.request_data_key(id).await?,
                };
                let key = self
                    .app
                    .keyring
                    .sealer(&key_id)
                    .await
                    .map_err(|e| AppError::sealing("sealing personal data", &e))?;
                self.key.insert(key)
            }
        };
        key.seal(value)
            .map_err(|e| AppError::sealing("sealing personal data", &e))
    }

    /// Seals a checked text (see [`crate::input::text`]).
    pub async fn seal_text(&mut self, what: &str, value: &str) -> AppResult<Sealed> {
        let value = crate::input::text(what, value)?;
        self.seal(&value).await
    }
}

impl App {
    /// Opens `sealed` values of one `field` for `caller` (a signed-in user, or the platform),
    /// for `operation`, recording the reading; `None` for each erased value. For views whose
    /// level the caller of this function already decided.
    pub async fn open_texts(
        &self,
        caller: &crate::Caller,
        operation: &'static str,
        field: &str,
        sealed: &[Sealed],
    ) -> AppResult<Vec<Option<String>>> {
        let (acting_user, acting_authority) = match caller.user_ids() {
            Some((user, authority)) => (format!("user:{user}"), Some(authority.to_string())),
            None => ("system:anonymous".to_string(), None),
        };
        let reading = Reading {
            operation,
            level: "Directory".to_string(),
            acting_user,
            acting_authority,
        };
        let mut opener = Opener::new(self, true, reading);
        let opened = opener.texts(sealed, field).await?;
        opener.finish().await?;
        Ok(opened)
    }
}

/// Who opens personal data, for what: what the processing log records of a reading.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The data keys read so far: a view's values share their exchange's key.
    keys: HeldKeys,
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
            keys: HeldKeys::default(),
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

    /// Records that `field` of `sealed`, opened for this reader by a view, was processed again
    /// (sent to a translation engine).
    pub fn processed(&mut self, sealed: &Sealed, field: &str) {
        if self.allowed {
            self.note(sealed, field);
        }
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
        match self
            .app
            .keyring
            .open_held::<serde_json::Value>(&mut self.keys, sealed)
            .await
        {
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
            .open_many_held::<serde_json::Value>(&mut self.keys, sealed)
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The places that open sealed values, each recording what it opened in the processing
    /// log. A new place fails this test until it records its readings and is listed here.
    const READ_PATHS: [&str; 5] = [
        // The definitions of opening.
        "crates/imi-store/src/sealing.rs",
        // Attachments' bytes, opened only for `App::download_attachment`, which records.
        "crates/imi-store/src/attachments.rs",
        // The application layer's Opener, which records on `finish`.
        "crates/imi-app/src/opening.rs",
        // The attachment download, which records before answering.
        "crates/imi-app/src/attachments.rs",
        // Mail delivery, which records each address it opens.
        "crates/imi-notify/src/sender.rs",
    ];

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("tests") {
                    sources(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn only_the_recorded_read_paths_open_personal_data() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = vec![];
        for krate in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
            let src = krate.path().join("src");
            if src.is_dir() {
                sources(&src, &mut files);
            }
        }
        let mut found = vec![];
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let opens = text.lines().any(|line| {
                let code = line.split("//").next().unwrap_or("");
                code.contains(".open::<")
                    || code.contains(".open_held")
                    || code.contains(".open_many")
                    || code.contains("attachments::get(")
            });
            if opens {
                let relative = file
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                found.push(relative);
            }
        }
        found.sort();
        let unlisted: Vec<&String> = found
            .iter()
            .filter(|f| !READ_PATHS.contains(&f.as_str()))
            .collect();
        assert!(
            unlisted.is_empty(),
            "opening personal data outside the recorded read paths: {unlisted:?}"
        );
    }
}
