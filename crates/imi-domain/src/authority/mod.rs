//! The Authority aggregate: an authority registered in IMI, its data, roles and users.

mod command;
mod event;
#[cfg(test)]
mod tests;

pub use command::{AuthorityCommand, NewUser};
pub use event::AuthorityEvent;

use crate::actor::Actor;
use crate::command::Issued;
use crate::error::DomainError;
use crate::reference::{Language, MemberState};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest official name or informal title accepted, in characters.
pub const MAX_NAME_CHARS: usize = 300;

/// The administrative role an authority plays in IMI's coordination hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthorityKind {
    NationalCoordinator,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Authority {
    registered: Option<Registration>,
    informal_titles: BTreeMap<Language, String>,
    users: BTreeMap<String, UserState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Registration {
    member_state: MemberState,
    kind: AuthorityKind,
    official_name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct UserState {
    local_data_administrator: bool,
}

impl Authority {
    /// Data of the authority is edited by its own local data administrators.
    fn require_local_data_administrator(&self, by: &Actor) -> Result<(), DomainError> {
        match by {
            Actor::User { user_id, .. }
                if self
                    .users
                    .get(user_id)
                    .is_some_and(|u| u.local_data_administrator) =>
            {
                Ok(())
            }
            _ => Err(DomainError::forbidden(
                "only a local data administrator of this authority may edit its data",
            )),
        }
    }

    fn require_registered(&self) -> Result<&Registration, DomainError> {
        self.registered
            .as_ref()
            .ok_or_else(|| DomainError::not_found("no such authority"))
    }
}

fn checked_name(what: &str, text: &str) -> Result<String, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DomainError::invalid(format!("{what} must not be empty")));
    }
    if text.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(format!(
            "{what} is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(text.to_string())
}

/// The data key a user's identity is sealed under: one per user, so it can be erased alone.
pub fn user_key_id(user_id: &str) -> String {
    format!("User/{user_id}")
}

impl Aggregate for Authority {
    const TYPE: &'static str = "Authority";
    type Command = Issued<AuthorityCommand>;
    type Event = AuthorityEvent;
    type Error = DomainError;
    type Services = ();

    async fn handle(
        &mut self,
        issued: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), DomainError> {
        let Issued { by, command } = issued;
        match command {
            AuthorityCommand::RegisterNationalCoordinator {
                member_state,
                official_name,
                informal_titles,
                first_user,
            } => {
                if !matches!(by, Actor::System { .. }) {
                    return Err(DomainError::forbidden(
                        "national coordinators are registered from reference data only",
                    ));
                }
                if self.registered.is_some() {
                    return Err(DomainError::refused("this authority is already registered"));
                }
                let official_name = checked_name("official name", &official_name)?;
                let mut titles = BTreeMap::new();
                for (language, title) in informal_titles {
                    titles.insert(language, checked_name("informal title", &title)?);
                }
                if first_user.user_id.trim().is_empty() {
                    return Err(DomainError::invalid("the first user needs an id"));
                }
                if first_user.identity.key_id != user_key_id(&first_user.user_id) {
                    return Err(DomainError::invalid(
                        "a user's identity must be sealed under that user's own key",
                    ));
                }
                sink.write(
                    AuthorityEvent::NationalCoordinatorRegistered {
                        member_state,
                        official_name,
                        informal_titles: titles,
                    },
                    self,
                )
                .await;
                sink.write(
                    AuthorityEvent::UserRegistered {
                        user_id: first_user.user_id,
                        identity: first_user.identity,
                        local_data_administrator: true,
                    },
                    self,
                )
                .await;
            }
            AuthorityCommand::SetInformalTitle { language, title } => {
                self.require_registered()?;
                self.require_local_data_administrator(&by)?;
                match title {
                    Some(title) => {
                        let title = checked_name("informal title", &title)?;
                        if self.informal_titles.get(&language) != Some(&title) {
                            sink.write(AuthorityEvent::InformalTitleSet { language, title }, self)
                                .await;
                        }
                    }
                    None => {
                        if self.informal_titles.contains_key(&language) {
                            sink.write(AuthorityEvent::InformalTitleRemoved { language }, self)
                                .await;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: AuthorityEvent) {
        match event {
            AuthorityEvent::NationalCoordinatorRegistered {
                member_state,
                official_name,
                informal_titles,
            } => {
                self.registered = Some(Registration {
                    member_state,
                    kind: AuthorityKind::NationalCoordinator,
                    official_name,
                });
                self.informal_titles = informal_titles;
            }
            AuthorityEvent::UserRegistered {
                user_id,
                local_data_administrator,
                ..
            } => {
                self.users.insert(
                    user_id,
                    UserState {
                        local_data_administrator,
                    },
                );
            }
            AuthorityEvent::InformalTitleSet { language, title } => {
                self.informal_titles.insert(language, title);
            }
            AuthorityEvent::InformalTitleRemoved { language } => {
                self.informal_titles.remove(&language);
            }
        }
    }
}
