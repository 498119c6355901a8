use crate::reference::{Language, MemberState};
use crate::sealed::Sealed;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Commands the Authority aggregate handles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AuthorityCommand {
    /// Bootstraps a Member State: its National IMI Coordinator and that authority's first user,
    /// who becomes its local data administrator. Issued by the system from reference data.
    RegisterNationalCoordinator {
        member_state: MemberState,
        official_name: String,
        informal_titles: BTreeMap<Language, String>,
        first_user: NewUser,
    },
    /// Sets (or, with `None`, removes) the authority's informal title in one language.
    SetInformalTitle {
        language: Language,
        title: Option<String>,
    },
}

/// A user to register. The identity (name, e-mail, login) is personal data and arrives sealed
/// under the user's own data key, so it can be erased on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    pub user_id: String,
    pub identity: Sealed,
}
