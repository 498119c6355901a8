use crate::reference::{Language, MemberState};
use crate::sealed::Sealed;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happened to an authority. Events are forever: add variants, never change one's shape
/// without an upcaster and a new version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AuthorityEvent {
    NationalCoordinatorRegistered {
        member_state: MemberState,
        official_name: String,
        informal_titles: BTreeMap<Language, String>,
    },
    UserRegistered {
        user_id: String,
        identity: Sealed,
        local_data_administrator: bool,
    },
    InformalTitleSet {
        language: Language,
        title: String,
    },
    InformalTitleRemoved {
        language: Language,
    },
}

impl DomainEvent for AuthorityEvent {
    fn event_type(&self) -> String {
        match self {
            Self::NationalCoordinatorRegistered { .. } => "NationalCoordinatorRegistered",
            Self::UserRegistered { .. } => "UserRegistered",
            Self::InformalTitleSet { .. } => "InformalTitleSet",
            Self::InformalTitleRemoved { .. } => "InformalTitleRemoved",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        "1".to_string()
    }
}
