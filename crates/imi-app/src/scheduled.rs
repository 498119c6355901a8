//! The scheduler's way in: a deadline's command, issued by the system process through the one
//! dispatch (counted, its errors mapped like every other command's).

use crate::dispatch::Command;
use crate::error::{AppError, Code};
use crate::App;
use imi_domain::actor::Actor;
use imi_domain::subject_request::COMPLETE_ON_EXCHANGE;
use imi_notify::scheduler::{issue_many_on, Dispatch, DispatchError, PROCESS};
use imi_store::metadata::CommandMetadata;
use std::sync::Arc;

/// Issues deadlines' commands to one aggregate type.
pub struct Scheduled {
    app: App,
    aggregate: &'static str,
}

impl Scheduled {
    /// The dispatch for each aggregate type that has time rules, by type name.
    pub fn routes(app: &App) -> Vec<(&'static str, Arc<dyn Dispatch>)> {
        ["Authority", "InformationRequest", "Alert", "SubjectRequest"]
            .into_iter()
            .map(|aggregate| {
                let dispatch: Arc<dyn Dispatch> = Arc::new(Self {
                    app: app.clone(),
                    aggregate,
                });
                (aggregate, dispatch)
            })
            .collect()
    }

    fn command(&self, command: &serde_json::Value) -> Result<Command, serde_json::Error> {
        let command = command.clone();
        Ok(match self.aggregate {
            "Authority" => Command::Authority(serde_json::from_value(command)?),
            "InformationRequest" => Command::Request(serde_json::from_value(command)?),
            "SubjectRequest" => Command::SubjectRequest(serde_json::from_value(command)?),
            _ => Command::Alert(serde_json::from_value(command)?),
        })
    }
}

/// A refusal by the aggregate is final; anything else is tried again at the next tick.
fn acted(error: AppError) -> DispatchError {
    match error.code {
        Code::BadUserInput | Code::Forbidden | Code::NotFound => {
            DispatchError::Refused(error.message)
        }
        _ => DispatchError::Later(error.message),
    }
}

#[async_trait::async_trait]
impl Dispatch for Scheduled {
    async fn issue(
        &self,
        aggregate_id: &str,
        command: &serde_json::Value,
        metadata: CommandMetadata,
    ) -> Result<(), DispatchError> {
        // A carried-out data subject's request whose exchange's side may be missing: the
        // application completes it (a no-op when it was written).
        if self.aggregate == "SubjectRequest" && command == COMPLETE_ON_EXCHANGE {
            return self
                .app
                .complete_subject_request(aggregate_id, metadata)
                .await
                .map(|_| ())
                .map_err(acted);
        }
        let command = self
            .command(command)
            .map_err(|e| DispatchError::Later(format!("unreadable command: {e}")))?;
        self.app
            .run_as(Actor::system(PROCESS), metadata, aggregate_id, command)
            .await
            .map(|_| ())
            .map_err(acted)
    }

    /// Requests and alerts decide set-wise (the scheduler's deletions); a batch that cannot
    /// goes one command at a time through [`Scheduled::issue`].
    async fn issue_many(
        &self,
        commands: Vec<(String, serde_json::Value, CommandMetadata)>,
    ) -> Vec<Result<(), DispatchError>> {
        match self.aggregate {
            "InformationRequest" => issue_many_on(&self.app.requests, self, commands).await,
            "Alert" => issue_many_on(&self.app.alerts, self, commands).await,
            _ => {
                let mut outcomes = Vec::with_capacity(commands.len());
                for (aggregate_id, command, metadata) in commands {
                    outcomes.push(self.issue(&aggregate_id, &command, metadata).await);
                }
                outcomes
            }
        }
    }
}
