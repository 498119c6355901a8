//! Reference data in the caller's language: legislative areas, keywords, professions and
//! service activities; the registers database; helpdesks. Relay pages ordered by code.
//! Reference data is not authority data: any signed-in user reads it.

use super::i18n::{all_wanted_first, parse_language, pick, LocalizedText};
use super::model::{parse_area, KeywordList, Workflow};
use super::relay::{
    decode_cursor, encode_cursor, page_size, PageInfo, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use super::{app, request};
use crate::errors::ApiError;
use async_graphql::{Context, Object, SimpleObject, ID};
use imi_app::reference::{
    keyword_list, keyword_list_code, workflow, HelpdeskQuery, Localized, Multilingual, Owner,
    RegisterSearch,
};
use imi_domain::authority as d;
use imi_domain::reference::{Language, MemberState};
use std::collections::BTreeMap;

/// Longest search text accepted, in characters.
const MAX_SEARCH_CHARS: usize = 200;

#[derive(Default)]
pub struct ReferenceQuery;

/// One entry of a reference list.
#[derive(SimpleObject)]
pub struct ReferenceEntry {
    pub code: String,
    /// Its name in the caller's language, else visibly in another one.
    pub name: Option<LocalizedText>,
    /// Every name, the caller's language first.
    pub names: Vec<LocalizedText>,
    /// For professions and service activities: their legislative area.
    pub area: Option<String>,
    /// For keywords: their list.
    pub list: Option<KeywordList>,
    /// For legislative areas: the workflows they offer.
    pub workflows: Option<Vec<Workflow>>,
    /// For legislative areas: the Union act they implement.
    pub act: Option<String>,
}

#[derive(SimpleObject)]
pub struct ReferenceEdge {
    pub cursor: String,
    pub node: ReferenceEntry,
}

/// A page of a reference list (a Relay connection).
#[derive(SimpleObject)]
pub struct ReferenceConnection {
    pub edges: Vec<ReferenceEdge>,
    pub page_info: PageInfo,
}

/// One register of the registers database.
#[derive(SimpleObject)]
pub struct Register {
    pub id: ID,
    pub member_state: Option<String>,
    pub name: Option<LocalizedText>,
    pub names: Vec<LocalizedText>,
    /// What it holds.
    pub content: Option<LocalizedText>,
    pub coverage: Option<LocalizedText>,
    pub access_conditions: Option<LocalizedText>,
    pub fees: Option<LocalizedText>,
    pub url: Option<String>,
    pub responsible_authority: Option<String>,
    /// The languages it is available in.
    pub languages: Vec<String>,
}

#[derive(SimpleObject)]
pub struct RegisterEdge {
    pub cursor: String,
    pub node: Register,
}

#[derive(SimpleObject)]
pub struct RegisterConnection {
    pub edges: Vec<RegisterEdge>,
    pub page_info: PageInfo,
}

/// A helpdesk: a national IMI coordinator's, or (no Member State) the Commission's.
#[derive(SimpleObject)]
pub struct Helpdesk {
    pub id: ID,
    pub member_state: Option<String>,
    pub name: Option<LocalizedText>,
    pub names: Vec<LocalizedText>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub url: Option<String>,
    /// The languages it answers in.
    pub languages: Vec<String>,
}

#[derive(SimpleObject)]
pub struct HelpdeskEdge {
    pub cursor: String,
    pub node: Helpdesk,
}

#[derive(SimpleObject)]
pub struct HelpdeskConnection {
    pub edges: Vec<HelpdeskEdge>,
    pub page_info: PageInfo,
}

fn localized(l: Localized) -> LocalizedText {
    LocalizedText {
        text: l.text,
        language: l.language,
        fallback: l.fallback,
        machine_translation: None,
    }
}

fn first_text(m: Multilingual) -> Option<LocalizedText> {
    m.text.map(localized)
}

fn language_of(
    request: &crate::context::RequestContext,
    code: Option<String>,
) -> Result<Language, ApiError> {
    match code {
        Some(code) => parse_language(&code),
        None => Ok(request.language.clone()),
    }
}

fn parse_member_state(code: Option<String>) -> Result<Option<String>, ApiError> {
    code.map(|c| MemberState::parse(&c).map(|ms| ms.code().to_string()))
        .transpose()
        .map_err(ApiError::from)
}

fn page_info<T>(
    edges: &[T],
    cursor: impl Fn(&T) -> &String,
    has_next_page: bool,
    has_previous_page: bool,
) -> PageInfo {
    PageInfo::of(
        has_next_page,
        has_previous_page,
        edges.first().map(&cursor),
        edges.last().map(&cursor),
    )
}

use imi_app::reference::ReferenceList as List;

fn cursor_kind(list: List) -> &'static str {
    match list {
        List::Areas => "LegislativeArea",
        List::Keywords => "Keyword",
        List::Professions => "Profession",
        List::ServiceActivities => "ServiceActivity",
    }
}

async fn reference_page(
    ctx: &Context<'_>,
    list: List,
    group: Option<String>,
    first: Option<i32>,
    after: Option<String>,
    language: Option<String>,
) -> async_graphql::Result<ReferenceConnection> {
    let request = request(ctx)?;
    request.principal()?;
    let language = language_of(request, language)?;
    let limit = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE))?;
    let after = after
        .map(|c| decode_cursor(cursor_kind(list), &c))
        .transpose()?;
    let has_previous_page = after.is_some();
    let mut rows = if limit == 0 {
        Vec::new()
    } else {
        app(ctx)?
            .reference_list(list, group.as_deref(), after.as_deref(), limit + 1)
            .await
            .map_err(ApiError::from)?
    };
    let has_next_page = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let edges: Vec<ReferenceEdge> = rows
        .into_iter()
        .map(|row| {
            let (grp, code, names, workflows, act) =
                (row.grp, row.code, row.names, row.workflows, row.act);
            let names: BTreeMap<String, String> = names
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            ReferenceEdge {
                cursor: encode_cursor(cursor_kind(list), &format!("{grp}/{code}")),
                node: ReferenceEntry {
                    name: pick(&names, &language),
                    names: all_wanted_first(&names, &language),
                    area: matches!(list, List::Professions | List::ServiceActivities)
                        .then(|| grp.clone()),
                    list: match list {
                        List::Keywords => keyword_list(&grp).map(Into::into),
                        _ => None,
                    },
                    workflows: workflows.map(|w| {
                        w.iter()
                            .filter_map(|name| workflow(name))
                            .map(Into::into)
                            .collect()
                    }),
                    act,
                    code,
                },
            }
        })
        .collect();
    Ok(ReferenceConnection {
        page_info: page_info(&edges, |e| &e.cursor, has_next_page, has_previous_page),
        edges,
    })
}

fn search_text(text: Option<String>) -> Result<Option<String>, ApiError> {
    let text = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_SEARCH_CHARS)
    {
        return Err(ApiError::bad_input(format!(
            "the search text may have at most {MAX_SEARCH_CHARS} characters"
        )));
    }
    Ok(text)
}

#[Object]
impl ReferenceQuery {
    /// The legislative areas, names in `language` (default: the caller's) first.
    #[graphql(
        complexity = "(first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    async fn legislative_areas(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        language: Option<String>,
    ) -> async_graphql::Result<ReferenceConnection> {
        reference_page(ctx, List::Areas, None, first, after, language).await
    }

    /// The keywords of one list (default: both), for areas of competence.
    #[graphql(
        complexity = "(first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    async fn keywords(
        &self,
        ctx: &Context<'_>,
        list: Option<KeywordList>,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        language: Option<String>,
    ) -> async_graphql::Result<ReferenceConnection> {
        let group = list.map(|l| keyword_list_code(d::KeywordList::from(l)).to_string());
        reference_page(ctx, List::Keywords, group, first, after, language).await
    }

    /// The professions of one legislative area (default: all areas).
    #[graphql(
        complexity = "(first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    async fn professions(
        &self,
        ctx: &Context<'_>,
        area: Option<String>,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        language: Option<String>,
    ) -> async_graphql::Result<ReferenceConnection> {
        let group = area
            .as_deref()
            .map(parse_area)
            .transpose()?
            .map(|a| a.code().to_string());
        reference_page(ctx, List::Professions, group, first, after, language).await
    }

    /// The service activities of one legislative area (default: all areas).
    #[graphql(
        complexity = "(first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    async fn service_activities(
        &self,
        ctx: &Context<'_>,
        area: Option<String>,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        language: Option<String>,
    ) -> async_graphql::Result<ReferenceConnection> {
        let group = area
            .as_deref()
            .map(parse_area)
            .transpose()?
            .map(|a| a.code().to_string());
        reference_page(ctx, List::ServiceActivities, group, first, after, language).await
    }

    /// Searches the registers database, ordered by id: `text` matches a name or the content
    /// in any language (case- and accent-insensitive); texts in `language` (default: the
    /// caller's) first.
    #[graphql(
        complexity = "(first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn registers(
        &self,
        ctx: &Context<'_>,
        text: Option<String>,
        member_state: Option<String>,
        #[graphql(desc = "Only registers available in this language.")] available_in: Option<
            String,
        >,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        language: Option<String>,
    ) -> async_graphql::Result<RegisterConnection> {
        let request = request(ctx)?;
        request.principal()?;
        let language = language_of(request, language)?;
        let limit = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE))?;
        let after = after.map(|c| decode_cursor("Register", &c)).transpose()?;
        let has_previous_page = after.is_some();
        let query = RegisterSearch {
            text: search_text(text)?,
            member_state: parse_member_state(member_state)?,
            available_in: available_in
                .map(|c| parse_language(&c).map(|l| l.code().to_string()))
                .transpose()?,
            language: Some(language.code().to_string()),
            after,
            limit: limit + 1,
        };
        let mut found = if limit == 0 {
            Vec::new()
        } else {
            app(ctx)?.registers(&query).await.map_err(ApiError::from)?
        };
        let has_next_page = found.len() as i64 > limit;
        found.truncate(limit as usize);
        let edges: Vec<RegisterEdge> = found
            .into_iter()
            .map(|r| RegisterEdge {
                cursor: encode_cursor("Register", &r.register_id),
                node: Register {
                    id: ID(r.register_id),
                    member_state: r.member_state,
                    name: r.names.text.clone().map(localized),
                    names: r.names.texts.into_iter().map(localized).collect(),
                    content: first_text(r.content),
                    coverage: first_text(r.coverage),
                    access_conditions: first_text(r.access_conditions),
                    fees: first_text(r.fees),
                    url: r.url,
                    responsible_authority: r.responsible_authority,
                    languages: r.languages,
                },
            })
            .collect();
        Ok(RegisterConnection {
            page_info: page_info(&edges, |e| &e.cursor, has_next_page, has_previous_page),
            edges,
        })
    }

    /// Helpdesks, ordered by id: a Member State's national IMI coordinator's, or with
    /// `commission: true` the Commission's (default: all). Names in `language` first.
    #[graphql(
        complexity = "(first.unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    async fn helpdesks(
        &self,
        ctx: &Context<'_>,
        member_state: Option<String>,
        commission: Option<bool>,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        language: Option<String>,
    ) -> async_graphql::Result<HelpdeskConnection> {
        let request = request(ctx)?;
        request.principal()?;
        let language = language_of(request, language)?;
        let limit = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE))?;
        let after = after.map(|c| decode_cursor("Helpdesk", &c)).transpose()?;
        let has_previous_page = after.is_some();
        let owner = match (
            parse_member_state(member_state)?,
            commission.unwrap_or(false),
        ) {
            (Some(_), true) => {
                return Err(ApiError::bad_input("give memberState or commission, not both").into())
            }
            (Some(ms), false) => Some(Owner::MemberState(ms)),
            (None, true) => Some(Owner::Commission),
            (None, false) => None,
        };
        let query = HelpdeskQuery {
            owner,
            language: Some(language.code().to_string()),
            after,
            limit: limit + 1,
        };
        let mut found = if limit == 0 {
            Vec::new()
        } else {
            app(ctx)?.helpdesks(&query).await.map_err(ApiError::from)?
        };
        let has_next_page = found.len() as i64 > limit;
        found.truncate(limit as usize);
        let edges: Vec<HelpdeskEdge> = found
            .into_iter()
            .map(|h| HelpdeskEdge {
                cursor: encode_cursor("Helpdesk", &h.helpdesk_id),
                node: Helpdesk {
                    id: ID(h.helpdesk_id),
                    member_state: h.member_state,
                    name: h.name.map(localized),
                    names: h.names.into_iter().map(localized).collect(),
                    email: h.email,
                    phone: h.phone,
                    url: h.url,
                    languages: h.languages,
                },
            })
            .collect();
        Ok(HelpdeskConnection {
            page_info: page_info(&edges, |e| &e.cursor, has_next_page, has_previous_page),
            edges,
        })
    }
}
