//! The authority directory: search it, read one authority, edit its informal titles, follow
//! its changes.

use super::i18n::{all_wanted_first, parse_language, pick, LocalizedText};
use super::model::{parse_area, parse_region, AuthorityKind, Workflow, WorkflowRole};
use super::profile::{areas, AuthorityArea, AuthorityStatus, ContactDetails};
use super::relay::{
    decode_cursor, encode_cursor, page_size, PageInfo, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use super::{data, request};
use crate::errors::ApiError;
use crate::live::ProjectionWatch;
use async_graphql::{Context, InputObject, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures::stream::{self, Stream};
use imi_app::directory::{self as directory, AuthorityRead, Following, Visibility};
use imi_app::Wait;
use imi_domain::access::AuthorityView;
use imi_domain::authority::AuthorityCommand;
use imi_domain::reference::{Language, MemberState};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The cursor kind of authority connections.
const CURSOR_KIND: &str = "Authority";
/// Longest search text accepted, in characters.
const MAX_SEARCH_CHARS: usize = 200;
/// Longest id accepted, in bytes.
const MAX_ID_BYTES: usize = 128;
/// Longest a mutation waits for the projections its client reads.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct DirectoryQuery;

#[derive(Default)]
pub struct DirectoryMutation;

#[derive(Default)]
pub struct DirectorySubscription;

/// An authority registered in IMI, as the directory shows it.
pub struct Authority {
    /// The entry, and what the caller may read beyond the directory fields.
    read: AuthorityRead,
    /// The caller's language, for the informal titles.
    language: Language,
}

impl Authority {
    /// As the application layer lets the caller read it.
    pub fn new(read: AuthorityRead, language: Language) -> Self {
        Self { read, language }
    }

    fn may(&self, view: AuthorityView) -> bool {
        self.read.may(view)
    }

    fn entry(&self) -> &imi_app::directory::DirectoryEntry {
        &self.read.entry
    }
}

/// An authority registered in IMI, as the directory shows it.
#[Object]
impl Authority {
    async fn id(&self) -> ID {
        ID(self.entry().authority_id.clone())
    }

    /// ISO 3166-1 alpha-2 code of its Member State (EL for Greece).
    async fn member_state(&self) -> &str {
        &self.entry().member_state
    }

    async fn kind(&self) -> async_graphql::Result<AuthorityKind> {
        AuthorityKind::from_name(&self.entry().kind).ok_or_else(|| {
            tracing::error!(kind = %self.entry().kind, "the directory holds an authority kind this gateway does not know");
            ApiError::new(crate::errors::Code::Internal, "internal error").into()
        })
    }

    /// Its official name, in its own language.
    async fn official_name(&self) -> &str {
        &self.entry().official_name
    }

    /// Its informal title in `language` (default: the caller's language); when there is none in
    /// that language, in English or else another language, with `fallback: true`. Null when it
    /// has no informal title at all.
    async fn informal_title(
        &self,
        language: Option<String>,
    ) -> async_graphql::Result<Option<LocalizedText>> {
        let language = match language {
            Some(code) => parse_language(&code)?,
            None => self.language.clone(),
        };
        let entry = self.entry();
        // A typed title first; else the machine-translated one in that language (marked).
        if !entry.informal_titles.contains_key(language.code()) {
            if let Some(m) = entry.machine_titles.get(language.code()) {
                return Ok(Some(machine_title(language.code(), m, false)));
            }
        }
        Ok(pick(&entry.informal_titles, &language))
    }

    /// All its informal titles, the one in the caller's language first: those typed, then
    /// those machine-translated into the other EU languages (marked).
    async fn informal_titles(&self) -> Vec<LocalizedText> {
        let entry = self.entry();
        let mut out = all_wanted_first(&entry.informal_titles, &self.language);
        let wanted = self.language.code();
        if let Some(m) = entry.machine_titles.get(wanted) {
            out.insert(0, machine_title(wanted, m, false));
        }
        out.extend(
            entry
                .machine_titles
                .iter()
                .filter(|(l, _)| l.as_str() != wanted)
                .map(|(l, m)| machine_title(l, m, true)),
        );
        out
    }

    /// Whether it has machine-translated informal titles, and in which languages.
    async fn machine_translated_title_languages(&self) -> Vec<String> {
        self.entry().machine_titles.keys().cloned().collect()
    }

    /// When its directory entry last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.entry().updated_at
    }

    async fn status(&self) -> AuthorityStatus {
        self.entry().status.into()
    }

    /// Its region (e.g. a federal state, `DE-BY`), if any.
    async fn region(&self) -> Option<&str> {
        self.entry().region.as_deref()
    }

    async fn registered_at(&self) -> Option<DateTime<Utc>> {
        self.entry().registered_at
    }

    async fn validated_at(&self) -> Option<DateTime<Utc>> {
        self.entry().validated_at
    }

    /// The short description of its tasks (profile: null unless the caller may read it).
    async fn description(&self) -> Option<&str> {
        self.may(AuthorityView::Profile)
            .then_some(self.entry().description.as_deref())
            .flatten()
    }

    /// Its official contact details (profile).
    async fn contact(&self) -> Option<ContactDetails> {
        self.may(AuthorityView::Profile)
            .then(|| ContactDetails::from(&self.entry().contact))
    }

    /// Its areas with workflow roles, competences, professions and service activities
    /// (profile); flags and linked coordinators need the workflow settings view, access
    /// coordinators the coordination tree view.
    async fn areas(&self) -> Option<Vec<AuthorityArea>> {
        self.may(AuthorityView::Profile).then(|| areas(&self.read))
    }

    /// Its named contact person (personal data): null unless the caller may see it (the
    /// authority itself, its inviting, validating and access coordinators' data
    /// administrators) or it has none; `erased` once its personal data was erased.
    async fn contact_person(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::profile::ContactPerson>> {
        let person = super::app(ctx)?
            .contact_person(&super::caller(ctx)?, &self.read)
            .await
            .map_err(ApiError::from)?;
        Ok(person.map(Into::into))
    }

    /// The areas a legislative area or delegated coordinator coordinates (coordination tree).
    async fn coordinated_areas(&self) -> Option<Vec<String>> {
        self.may(AuthorityView::CoordinationTree)
            .then(|| self.entry().coordinated_areas.iter().cloned().collect())
    }

    /// The coordinator that invited or registered it (coordination tree).
    async fn invited_by(&self) -> Option<ID> {
        self.may(AuthorityView::CoordinationTree)
            .then(|| self.entry().invited_by.clone().map(ID))
            .flatten()
    }

    /// The coordinator that validated it and manages its data (coordination tree).
    async fn validating_coordinator(&self) -> Option<ID> {
        self.may(AuthorityView::CoordinationTree)
            .then(|| self.entry().validating_coordinator.clone().map(ID))
            .flatten()
    }

    /// Authorities of its Member State linked to it (workflow settings).
    async fn linked_authorities(&self) -> Option<Vec<ID>> {
        self.may(AuthorityView::WorkflowSettings).then(|| {
            self.entry()
                .linked_authorities
                .iter()
                .cloned()
                .map(ID)
                .collect()
        })
    }
}

/// One authority in a page of results, with its cursor.
#[derive(SimpleObject)]
pub struct AuthorityEdge {
    pub cursor: String,
    pub node: Authority,
}

/// A page of authorities (a Relay connection).
#[derive(SimpleObject)]
pub struct AuthorityConnection {
    pub edges: Vec<AuthorityEdge>,
    pub page_info: PageInfo,
}

#[Object]
impl DirectoryQuery {
    /// Searches the directory (validated authorities), ordered by id; every filter given
    /// must hold. `text` matches the official name or an informal title in any language
    /// (case- and accent-insensitive); `area` narrows `workflow`, `workflowRole`, `keyword`,
    /// `profession` and `serviceActivity` to that area. `language` is the language to show
    /// titles in (default: the `Accept-Language` header, else English); titles in it come
    /// first. Pages hold at most 100 authorities.
    #[graphql(
        complexity = "(first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn authorities(
        &self,
        ctx: &Context<'_>,
        text: Option<String>,
        member_state: Option<String>,
        kind: Option<AuthorityKind>,
        region: Option<String>,
        area: Option<String>,
        workflow: Option<Workflow>,
        workflow_role: Option<WorkflowRole>,
        keyword: Option<KeywordInput>,
        profession: Option<String>,
        service_activity: Option<String>,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        language: Option<String>,
    ) -> async_graphql::Result<AuthorityConnection> {
        let request = request(ctx)?;
        let caller = super::caller(ctx)?;
        let limit = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE))?;
        let language = match language {
            Some(code) => parse_language(&code)?,
            None => request.language.clone(),
        };
        let member_state = member_state
            .map(|code| MemberState::parse(&code).map(|ms| ms.code().to_string()))
            .transpose()
            .map_err(ApiError::from)?;
        let text = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_SEARCH_CHARS)
        {
            return Err(ApiError::bad_input(format!(
                "the search text may have at most {MAX_SEARCH_CHARS} characters"
            ))
            .into());
        }
        let code = |what: &str, value: Option<String>| -> Result<Option<String>, ApiError> {
            match value.map(|v| v.trim().to_string()) {
                Some(v) if v.is_empty() || v.len() > MAX_ID_BYTES => Err(ApiError::bad_input(
                    format!("{what} must have 1 to {MAX_ID_BYTES} characters"),
                )),
                other => Ok(other),
            }
        };
        let after = after
            .map(|cursor| decode_cursor(CURSOR_KIND, &cursor))
            .transpose()?;
        let has_previous_page = after.is_some();
        let query = directory::DirectoryQuery {
            text,
            member_state,
            kind: kind.map(Into::into),
            region: region
                .as_deref()
                .map(parse_region)
                .transpose()?
                .map(|r| r.code().to_string()),
            area: area
                .as_deref()
                .map(parse_area)
                .transpose()?
                .map(|a| a.code().to_string()),
            workflow: workflow.map(Into::into),
            workflow_role: workflow_role.map(Into::into),
            keyword: keyword.map(|k| imi_domain::authority::Keyword {
                list: k.list.into(),
                code: k.code.trim().to_string(),
            }),
            profession: code("profession", profession)?,
            service_activity: code("serviceActivity", service_activity)?,
            visibility: Visibility::ValidatedOnly,
            language: Some(language.code().to_string()),
            after,
            limit,
        };
        let page = super::app(ctx)?
            .search_directory(&caller, query)
            .await
            .map_err(ApiError::from)?;
        let has_next_page = page.has_next_page;
        let edges: Vec<AuthorityEdge> = page
            .authorities
            .into_iter()
            .map(|read| AuthorityEdge {
                cursor: encode_cursor(CURSOR_KIND, &read.entry.authority_id),
                node: Authority::new(read, language.clone()),
            })
            .collect();
        Ok(AuthorityConnection {
            page_info: PageInfo::of(
                has_next_page,
                has_previous_page,
                edges.first().map(|e| &e.cursor),
                edges.last().map(|e| &e.cursor),
            ),
            edges,
        })
    }

    /// One authority by id; null when the directory does not list it or the caller may not
    /// see it (an authority awaiting validation shows only to its inviting coordinator).
    /// `asOf`: as the directory showed it at that point of the log (null when it was not
    /// listed then), each part as the caller may read it both now and then.
    async fn authority(
        &self,
        ctx: &Context<'_>,
        id: ID,
        language: Option<String>,
        as_of: Option<super::history::AsOf>,
    ) -> async_graphql::Result<Option<Authority>> {
        let request = request(ctx)?;
        let caller = super::caller(ctx)?;
        let id = parse_id(&id)?;
        let language = match language {
            Some(code) => parse_language(&code)?,
            None => request.language.clone(),
        };
        let app = super::app(ctx)?;
        let read = match as_of {
            Some(point) => {
                app.authority_as_of(&caller, &id, &language, point.point()?)
                    .await
            }
            None => app.authority(&caller, &id, &language).await,
        }
        .map_err(ApiError::from)?;
        Ok(read.map(|read| Authority::new(read, language)))
    }
}

/// A keyword of one of the two keyword lists.
#[derive(InputObject)]
pub struct KeywordInput {
    pub list: super::model::KeywordList,
    pub code: String,
}

/// Input of `setInformalTitle`.
#[derive(InputObject)]
pub struct SetInformalTitleInput {
    pub authority_id: ID,
    /// ISO 639-1 code of one of the EU's official languages.
    pub language: String,
    /// The title; null removes the title in that language.
    pub title: Option<String>,
    /// Projections to wait for (at most 5 s) before answering, so that reading them right
    /// after shows this change. Default: `["authority_directory"]`; `[]` answers at once.
    pub wait_for: Option<Vec<String>>,
}

/// What `setInformalTitle` did.
#[derive(SimpleObject)]
pub struct SetInformalTitlePayload {
    /// Feed position (`xid:position`) of the authority's latest event once the command ran.
    pub position: Option<String>,
    /// Whether every projection in `waitFor` had applied that position when this answered.
    pub waited: bool,
}

#[Object]
impl DirectoryMutation {
    /// Sets (or, with a null title, removes) an authority's informal title in one language.
    /// Only a local data administrator of that authority may.
    async fn set_informal_title(
        &self,
        ctx: &Context<'_>,
        input: SetInformalTitleInput,
    ) -> async_graphql::Result<SetInformalTitlePayload> {
        let authority_id = parse_id(&input.authority_id)?;
        let language = parse_language(&input.language)?;
        let wait_for = wait_list(input.wait_for)?;
        let command = AuthorityCommand::SetInformalTitle {
            language,
            title: input.title,
        };
        let outcome = super::app(ctx)?
            .execute(&super::caller(ctx)?, &authority_id, command, &wait_for)
            .await
            .map_err(ApiError::from)?;
        Ok(SetInformalTitlePayload {
            position: outcome.position.map(|at| at.to_string()),
            waited: outcome.waited,
        })
    }
}

/// What changed in an authority's directory entry.
pub struct AuthorityUpdate {
    authority: Authority,
    initial: bool,
}

/// An authority's directory entry, pushed by `authorityUpdated`.
#[Object]
impl AuthorityUpdate {
    /// The entry as it now stands.
    async fn authority(&self) -> &Authority {
        &self.authority
    }

    /// True for the first message of a subscription: the entry as it stood when the
    /// subscription started (so a client misses nothing between reading and subscribing).
    async fn initial(&self) -> bool {
        self.initial
    }
}

#[Subscription]
impl DirectorySubscription {
    /// The authority's directory entry, first as it stands, then each time it changes. Needs a
    /// token in the websocket's `connection_init` payload; ends when the token expires.
    async fn authority_updated(
        &self,
        ctx: &Context<'_>,
        authority_id: ID,
        language: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<AuthorityUpdate>>> {
        let request = request(ctx)?;
        let principal = request.principal()?;
        let caller = super::caller(ctx)?;
        let authority_id = parse_id(&authority_id)?;
        let language = match language {
            Some(code) => parse_language(&code)?,
            None => request.language.clone(),
        };
        let app = super::app(ctx)?.clone();
        let mut checkpoint = data::<Arc<ProjectionWatch>>(ctx)?.subscribe();
        // Changes from here on wake us; the entry read next already includes earlier ones.
        checkpoint.borrow_and_update();
        let following = app
            .follow_authority(&caller, &authority_id)
            .await
            .map_err(ApiError::from)?;
        let follow = Follow {
            _open: data::<crate::metrics::Metrics>(ctx)?.subscription_opened(),
            app,
            initial: Some(following.initial.clone()),
            following,
            language,
            checkpoint,
            expires_at: principal.expires_at,
            last: None,
            done: false,
        };
        Ok(stream::unfold(follow, Follow::next))
    }
}

/// The state of one `authorityUpdated` subscription.
struct Follow {
    _open: crate::metrics::SubscriptionOpen,
    app: imi_app::App,
    /// Who follows what, for the fields the access policy gates.
    following: Following,
    language: Language,
    checkpoint: watch::Receiver<crate::live::Position>,
    expires_at: DateTime<Utc>,
    initial: Option<AuthorityRead>,
    last: Option<imi_app::directory::DirectoryEntry>,
    done: bool,
}

impl Follow {
    async fn next(mut self) -> Option<(async_graphql::Result<AuthorityUpdate>, Self)> {
        if self.done {
            return None;
        }
        if let Some(read) = self.initial.take() {
            return Some((Ok(self.update(read, true)), self));
        }
        loop {
            let until_expiry = (self.expires_at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            tokio::select! {
                moved = self.checkpoint.changed() => {
                    if moved.is_err() {
                        return None;
                    }
                }
                _ = tokio::time::sleep(until_expiry) => {
                    self.done = true;
                    let error = ApiError::unauthenticated(
                        "the token has expired: sign in again and subscribe again",
                        crate::errors::reason::TOKEN_EXPIRED,
                    );
                    return Some((Err(error.into()), self));
                }
            }
            match self.app.reread(&self.following).await {
                Ok(Some(read)) if self.last.as_ref() != Some(&read.entry) => {
                    return Some((Ok(self.update(read, false)), self));
                }
                Ok(_) => continue,
                Err(e) => {
                    self.done = true;
                    return Some((Err(ApiError::from(e).into()), self));
                }
            }
        }
    }

    fn update(&mut self, read: AuthorityRead, initial: bool) -> AuthorityUpdate {
        self.last = Some(read.entry.clone());
        AuthorityUpdate {
            authority: Authority::new(read, self.language.clone()),
            initial,
        }
    }
}

/// An id from the client: 1 to 128 of `A-Z a-z 0-9 . _ : / -`.
pub fn parse_id(id: &ID) -> Result<String, ApiError> {
    Ok(imi_app::input::id(id)?)
}

/// The projections a mutation waits for: known names only; the directory by default.
pub(crate) fn wait_list(requested: Option<Vec<String>>) -> Result<Wait, ApiError> {
    Ok(Wait::of(requested, &[directory::NAME])?)
}

fn machine_title(
    language: &str,
    m: &imi_app::directory::MachineTitle,
    fallback: bool,
) -> LocalizedText {
    LocalizedText {
        text: m.title.clone(),
        language: language.to_string(),
        fallback,
        machine_translation: Some(super::i18n::TranslationMark {
            from: m.source_language.clone(),
            engine: m.engine.clone(),
            translated_at: m.translated_at,
            pivot: m.pivot.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(parse_id(&ID::from("NIMIC-DE")).is_ok());
        assert!(parse_id(&ID::from("Authority/0191a2b3-c4d5")).is_ok());
        assert!(parse_id(&ID::from("")).is_err());
        assert!(parse_id(&ID::from("a b")).is_err());
        assert!(parse_id(&ID::from("x'; DROP TABLE events; --")).is_err());
        assert!(parse_id(&ID::from("a".repeat(129))).is_err());
    }

    #[test]
    fn wait_lists_name_known_projections() {
        assert_eq!(
            wait_list(None).unwrap().names(),
            [directory::NAME.to_string()]
        );
        assert!(wait_list(Some(vec![])).unwrap().names().is_empty());
        assert!(wait_list(Some(vec!["nope".into()])).is_err());
    }
}
