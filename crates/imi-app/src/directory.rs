//! The authority directory as a caller may read it: search it, read one authority, follow
//! its changes, read its contact person.
//!
//! Validated authorities are public to every able user; an authority awaiting validation
//! shows only to its inviting coordinator. Beyond the directory fields each part of an entry
//! (profile, contact person, coordination tree, workflow settings) shows only to whom the
//! domain's policy (`may_view`) allows; an [`AuthorityRead`] carries what that caller may read.

use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::App;
use imi_domain::access::{may_view, ActorContext, AuthorityView};
use imi_domain::authority::{self as d, AuthoritySummary};
use imi_domain::reference::{Language, MemberState};
use imi_domain::sealed::Sealed;
use std::sync::Arc;

/// The directory's projection, the one a mutation waits for by default.
pub use imi_projections::directory::NAME;
pub use imi_projections::directory::{
    DirectoryEntry, DirectoryQuery, MachineTitle, ReadOptions, Visibility,
};

/// What an authority the caller may not see answers, as an unknown one.
pub const NO_SUCH_AUTHORITY: &str = "no such authority in the directory";
/// The directory search refuses a caller whose authority cannot be loaded.
pub const NOT_REGISTERED: &str = "your authority is not registered";

/// The policy's view of a directory entry (its users are not needed to decide views).
pub fn summary_of(entry: &DirectoryEntry) -> Option<AuthoritySummary> {
    let kind = d::AuthorityKind::ALL
        .into_iter()
        .find(|k| k.as_str() == entry.kind)?;
    let area = |code: &String| d::LegislativeArea::parse(code).ok();
    Some(AuthoritySummary {
        authority_id: entry.authority_id.clone(),
        member_state: MemberState::parse(&entry.member_state).ok()?,
        kind,
        region: entry
            .region
            .as_deref()
            .and_then(|r| d::Region::parse(r).ok()),
        coordinated_areas: entry.coordinated_areas.iter().filter_map(area).collect(),
        status: entry.status,
        invited_by: entry.invited_by.clone(),
        validating_coordinator: entry.validating_coordinator.clone(),
        areas: entry
            .areas
            .iter()
            .filter_map(|(code, access)| Some((area(code)?, access.clone())))
            .collect(),
        linked_authorities: entry.linked_authorities.clone(),
        users: Default::default(),
    })
}

/// Whether `reader` may read `view` of `entry`.
pub(crate) fn may(
    reader: Option<&ActorContext>,
    entry: &DirectoryEntry,
    view: AuthorityView,
) -> bool {
    summary_of(entry).is_some_and(|s| may_view(reader, &s, view))
}

/// An authority as one caller may read it: its directory entry, and the parts of it (the
/// policy's views) that caller may read. A part not allowed must show as absent.
#[derive(Clone, Debug)]
pub struct AuthorityRead {
    pub entry: DirectoryEntry,
    allowed: Vec<AuthorityView>,
    /// Read as of a point: the contact person then (sealed; `Some(None)`: none). `None`
    /// for the live entry, whose contact person is read from its read model.
    past_contact_person: Option<Option<Sealed>>,
}

impl AuthorityRead {
    /// `entry` as `reader` may read it.
    pub(crate) fn for_reader(entry: DirectoryEntry, reader: Option<&ActorContext>) -> Self {
        let allowed = match summary_of(&entry) {
            Some(target) => AuthorityView::ALL
                .into_iter()
                .filter(|view| may_view(reader, &target, *view))
                .collect(),
            None => Vec::new(),
        };
        Self {
            entry,
            allowed,
            past_contact_person: None,
        }
    }

    /// The directory fields only: every part the policy gates absent.
    pub(crate) fn public(entry: DirectoryEntry) -> Self {
        Self {
            entry,
            allowed: Vec::new(),
            past_contact_person: None,
        }
    }

    /// `then`, read as of a point, narrowed to what the caller may read `now` as well (a
    /// right gained since never reveals more of the past, one lost never more than now).
    pub(crate) fn as_of(
        mut then: AuthorityRead,
        now: &AuthorityRead,
        contact_person: Option<Sealed>,
    ) -> Self {
        then.allowed.retain(|view| now.may(*view));
        then.past_contact_person = Some(contact_person);
        then
    }

    /// Whether the caller may read `view` of this authority.
    pub fn may(&self, view: AuthorityView) -> bool {
        self.allowed.contains(&view)
    }
}

/// A page of the directory, ordered by id.
#[derive(Clone, Debug)]
pub struct DirectoryPage {
    pub authorities: Vec<AuthorityRead>,
    pub has_next_page: bool,
}

/// An authority's named contact person (personal data), opened for a caller allowed to see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactPersonView {
    /// The authority's personal data were erased: `name` is gone.
    pub erased: bool,
    pub name: Option<String>,
}

/// One caller following one authority's directory entry.
#[derive(Clone, Debug)]
pub struct Following {
    pub authority_id: String,
    /// Who follows, as the policy sees them.
    reader: Option<Arc<ActorContext>>,
    /// The entry as it stood when the following started.
    pub initial: AuthorityRead,
}

fn directory_error(context: &str) -> impl Fn(sqlx::Error) -> AppError + '_ {
    move |e| AppError::database(context, &e)
}

impl App {
    /// Searches the directory (`query.limit` is the page size). Refused, whatever matched, to
    /// a caller whose authority is not registered or who may not act.
    pub async fn search_directory(
        &self,
        caller: &Caller,
        query: DirectoryQuery,
    ) -> AppResult<DirectoryPage> {
        let limit = query.limit.max(0);
        let mut entries = if limit == 0 {
            Vec::new()
        } else {
            let query = DirectoryQuery {
                limit: limit + 1,
                ..query
            };
            imi_projections::directory::find(&self.reads, &query)
                .await
                .map_err(directory_error("searching the directory"))?
        };
        let reader = self.actor_context(caller).await?;
        if let Some(why) = reader.as_deref().map_or_else(
            || Some(NOT_REGISTERED.to_string()),
            |r| r.unable().map(|d| d.0),
        ) {
            return Err(AppError::forbidden(why));
        }
        let has_next_page = entries.len() as i64 > limit;
        entries.truncate(limit as usize);
        // Every validated entry passes for an able caller; the check stays for the rule's sake.
        let authorities = entries
            .into_iter()
            .map(|entry| AuthorityRead::for_reader(entry, reader.as_deref()))
            .filter(|a| a.may(AuthorityView::Directory))
            .collect();
        Ok(DirectoryPage {
            authorities,
            has_next_page,
        })
    }

    /// One authority, as the caller may read it; `None` when the directory does not list it
    /// or the caller may not see it (an authority awaiting validation shows only to its
    /// inviting coordinator).
    pub async fn authority(
        &self,
        caller: &Caller,
        authority_id: &str,
        language: &Language,
    ) -> AppResult<Option<AuthorityRead>> {
        let options = ReadOptions {
            visibility: Visibility::IncludingAwaitingValidation,
            language: Some(language.code().to_string()),
        };
        let entry = imi_projections::directory::get_with(&self.reads, authority_id, &options)
            .await
            .map_err(directory_error("reading an authority"))?;
        let Some(entry) = entry else {
            return Ok(None);
        };
        let reader = self.actor_context(caller).await?;
        let authority = AuthorityRead::for_reader(entry, reader.as_deref());
        Ok(authority.may(AuthorityView::Directory).then_some(authority))
    }

    /// The caller's own authority, its directory fields only.
    pub async fn own_authority(&self, caller: &Caller) -> AppResult<Option<AuthorityRead>> {
        let Some((_, authority_id)) = caller.user_ids() else {
            return Ok(None);
        };
        let entry = imi_projections::directory::get(&self.reads, authority_id)
            .await
            .map_err(directory_error("reading the user's authority"))?;
        Ok(entry.map(AuthorityRead::public))
    }

    /// Starts following an authority's entry: as it stands now, read as the caller may. An
    /// authority the caller may not see answers as an unknown one.
    pub async fn follow_authority(
        &self,
        caller: &Caller,
        authority_id: &str,
    ) -> AppResult<Following> {
        let entry = imi_projections::directory::get(&self.reads, authority_id)
            .await
            .map_err(directory_error("reading an authority"))?
            .ok_or_else(|| AppError::not_found(NO_SUCH_AUTHORITY))?;
        let reader = self.actor_context(caller).await?;
        let initial = AuthorityRead::for_reader(entry, reader.as_deref());
        if !initial.may(AuthorityView::Directory) {
            return Err(AppError::not_found(NO_SUCH_AUTHORITY));
        }
        Ok(Following {
            authority_id: authority_id.to_string(),
            reader,
            initial,
        })
    }

    /// The followed authority's entry as it now stands, read as its follower may (with the
    /// follower's rights as they were when following started).
    pub async fn reread(&self, following: &Following) -> AppResult<Option<AuthorityRead>> {
        let entry = imi_projections::directory::get(&self.reads, &following.authority_id)
            .await
            .map_err(directory_error("following an authority"))?;
        Ok(entry.map(|e| AuthorityRead::for_reader(e, following.reader.as_deref())))
    }

    /// The authority's current contact person, opened for the caller (and recorded in the
    /// processing log); `None` when it has none or the caller may not read it (the authority
    /// itself, its inviting, validating and access coordinators' data administrators may).
    pub async fn contact_person(
        &self,
        caller: &Caller,
        authority: &AuthorityRead,
    ) -> AppResult<Option<ContactPersonView>> {
        if !authority.may(AuthorityView::ContactPerson) {
            return Ok(None);
        }
        let (sealed, operation) = match &authority.past_contact_person {
            Some(then) => (then.clone(), "directory.contactPerson.asOf"),
            None => (
                imi_projections::users::contact_person(&self.reads, &authority.entry.authority_id)
                    .await
                    .map_err(directory_error("reading the contact person"))?,
                "directory.contactPerson",
            ),
        };
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let name = self
            .open_texts(caller, operation, "contactPerson", &[sealed])
            .await?
            .pop()
            .flatten();
        Ok(Some(ContactPersonView {
            erased: name.is_none(),
            name,
        }))
    }
}
