//! One way for every command, whatever the aggregate: run it with the caller's metadata, count
//! it, map its errors, and wait (bounded) for the projections the client will read.

use crate::caller::Caller;
use crate::error::{command_error, outcome_label, AppError, AppResult};
use crate::App;
use imi_domain::actor::Actor;
use imi_domain::alert::AlertCommand;
use imi_domain::authority::AuthorityCommand;
use imi_domain::command::Issued;
use imi_domain::request::RequestCommand;
use imi_domain::subject_request::SubjectRequestCommand;
use imi_store::feed::FeedPosition;
use imi_store::metadata::CommandMetadata;
use imi_store::processing_log::{Kind, Processing};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Longest a command waits for its projections before it answers anyway.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// A command for one of the aggregates.
#[derive(Clone, Debug)]
pub enum Command {
    Authority(AuthorityCommand),
    Request(RequestCommand),
    Alert(AlertCommand),
    SubjectRequest(SubjectRequestCommand),
}

impl Command {
    pub fn aggregate(&self) -> &'static str {
        match self {
            Command::Authority(_) => "Authority",
            Command::Request(_) => "InformationRequest",
            Command::Alert(_) => "Alert",
            Command::SubjectRequest(_) => "SubjectRequest",
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Command::Authority(c) => c.name(),
            Command::Request(c) => c.name(),
            Command::Alert(c) => c.name(),
            Command::SubjectRequest(c) => c.name(),
        }
    }
}

/// The personal data a command carries: the fields holding a sealed value, by data key
/// (paths of the command's serialized form, without its variant and list positions).
pub fn sealed_fields(command: &Command) -> BTreeMap<String, BTreeSet<String>> {
    fn walk(value: &Value, path: &mut Vec<String>, out: &mut BTreeMap<String, BTreeSet<String>>) {
        match value {
            Value::Object(map) => {
                let sealed = ["key", "alg", "nonce", "ct"]
                    .iter()
                    .all(|k| map.get(*k).is_some_and(Value::is_string))
                    && map.len() == 4;
                if sealed {
                    if let Some(Value::String(key)) = map.get("key") {
                        out.entry(key.clone())
                            .or_default()
                            .insert(path.iter().skip(1).cloned().collect::<Vec<_>>().join("."));
                    }
                    return;
                }
                for (k, v) in map {
                    path.push(k.clone());
                    walk(v, path, out);
                    path.pop();
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, path, out)),
            _ => {}
        }
    }
    let value = match command {
        Command::Authority(c) => serde_json::to_value(c),
        Command::Request(c) => serde_json::to_value(c),
        Command::Alert(c) => serde_json::to_value(c),
        Command::SubjectRequest(c) => serde_json::to_value(c),
    }
    .unwrap_or(Value::Null);
    let mut out = BTreeMap::new();
    walk(&value, &mut Vec::new(), &mut out);
    out
}

impl From<AuthorityCommand> for Command {
    fn from(c: AuthorityCommand) -> Self {
        Command::Authority(c)
    }
}

impl From<RequestCommand> for Command {
    fn from(c: RequestCommand) -> Self {
        Command::Request(c)
    }
}

impl From<AlertCommand> for Command {
    fn from(c: AlertCommand) -> Self {
        Command::Alert(c)
    }
}

impl From<SubjectRequestCommand> for Command {
    fn from(c: SubjectRequestCommand) -> Self {
        Command::SubjectRequest(c)
    }
}

/// Which projections a command waits for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wait(Vec<String>);

impl Wait {
    /// Waits for nothing.
    pub fn none() -> Self {
        Self(Vec::new())
    }

    /// `requested` when the client named some (known names only), else `default`.
    pub fn of(requested: Option<Vec<String>>, default: &[&str]) -> AppResult<Self> {
        let names = requested.unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect());
        let known: Vec<&'static str> = imi_projections::all().iter().map(|p| p.name()).collect();
        for name in &names {
            if !known.contains(&name.as_str()) {
                return Err(AppError::bad_input(format!(
                    "unknown projection {name:?} in waitFor; known: {}",
                    known.join(", ")
                )));
            }
        }
        let mut names = names;
        names.sort();
        names.dedup();
        Ok(Self(names))
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }
}

/// What a command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Feed position of the aggregate's latest event; `None` when nothing was recorded.
    pub position: Option<FeedPosition>,
    /// Whether the projections waited for had applied that position when this answered.
    pub waited: bool,
}

impl App {
    /// Runs `command` on aggregate `id` as `caller`, then waits as asked.
    pub async fn execute(
        &self,
        caller: &Caller,
        id: &str,
        command: impl Into<Command>,
        wait: &Wait,
    ) -> AppResult<Outcome> {
        let position = self.run(caller, id, command.into()).await?;
        self.settle(position, wait).await
    }

    /// Runs `command` on aggregate `id` as `caller`; counts it and maps its errors.
    pub async fn run(
        &self,
        caller: &Caller,
        id: &str,
        command: Command,
    ) -> AppResult<Option<FeedPosition>> {
        self.run_as(caller.actor.clone(), caller.metadata(), id, command)
            .await
    }

    /// Runs `command` on aggregate `id` by `by` with the given metadata (a registration by
    /// invitation acts for the new authority; the scheduler names what caused it).
    pub async fn run_as(
        &self,
        by: Actor,
        metadata: CommandMetadata,
        id: &str,
        command: Command,
    ) -> AppResult<Option<FeedPosition>> {
        let (aggregate, name) = (command.aggregate(), command.name());
        // The personal data it writes, recorded with its events (one entry per exchange).
        let writes: Vec<Processing> = sealed_fields(&command)
            .into_iter()
            .map(|(exchange, fields)| Processing {
                exchange,
                kind: Kind::Write,
                operation: format!("{aggregate}.{name}"),
                fields: fields.into_iter().collect(),
                level: None,
                acting_user: metadata.acting_user.clone(),
                acting_authority: metadata.acting_authority.clone(),
            })
            .collect();
        let started = std::time::Instant::now();
        let result = match command {
            Command::Authority(c) => self
                .authorities
                .execute_writing(id, Issued::new(by, c), metadata, writes)
                .await
                .map_err(command_error),
            Command::Request(c) => self
                .requests
                .execute_writing(id, Issued::new(by, c), metadata, writes)
                .await
                .map_err(command_error),
            Command::Alert(c) => self
                .alerts
                .execute_writing(id, Issued::new(by, c), metadata, writes)
                .await
                .map_err(command_error),
            Command::SubjectRequest(c) => self
                .subjects
                .execute_writing(id, Issued::new(by, c), metadata, writes)
                .await
                .map_err(command_error),
        };
        if let Some(count) = &self.counter {
            count(
                aggregate,
                name,
                outcome_label(&result.as_ref().map(|_| ())),
                started.elapsed(),
            );
        }
        result
    }

    /// Waits (at most [`MAX_WAIT`]) until the projections of `wait` applied `position`.
    pub async fn settle(&self, position: Option<FeedPosition>, wait: &Wait) -> AppResult<Outcome> {
        let waited = match position {
            Some(at) if !wait.names().is_empty() => {
                let names: Vec<&str> = wait.names().iter().map(String::as_str).collect();
                let waited = imi_projections::runner::wait_for(&self.pool, &names, at, MAX_WAIT)
                    .await
                    .map_err(|e| AppError::database("waiting for projections", &e))?;
                if !waited {
                    tracing::warn!(position = %at, projections = ?names, "projections did not catch up in time");
                }
                waited
            }
            _ => true,
        };
        Ok(Outcome { position, waited })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imi_domain::sealed::{Sealed, A256GCM};

    fn sealed(key: &str) -> Sealed {
        Sealed {
            key_id: key.to_string(),
            alg: A256GCM.to_string(),
            nonce: "bm9uY2U=".to_string(),
            ciphertext: "Y3Q=".to_string(),
        }
    }

    #[test]
    fn a_commands_personal_data_are_found_by_field() {
        let command = Command::Request(RequestCommand::RequestAdditionalInformation {
            justification: sealed("InformationRequest/r1"),
            questions: Default::default(),
        });
        let found = sealed_fields(&command);
        assert_eq!(
            found,
            BTreeMap::from([(
                "InformationRequest/r1".to_string(),
                BTreeSet::from(["justification".to_string()])
            )])
        );
        let none = Command::Request(RequestCommand::Send);
        assert!(sealed_fields(&none).is_empty());
        let names = Command::Alert(AlertCommand::SubmitAdditionalInformation {
            information_id: "i".into(),
            kind: imi_domain::alert::InformationKind::Information,
            coordinator_id: "c".into(),
            text: sealed("Alert/a1"),
            attachments: vec![sealed("Alert/a1"), sealed("Alert/a1")],
        });
        assert_eq!(
            sealed_fields(&names)["Alert/a1"],
            BTreeSet::from(["attachments".to_string(), "text".to_string()])
        );
    }
}
