//! The authority directory: every registered authority with its kind, place, names, areas,
//! workflow roles, competences and linked coordinators; searchable by name or informal title in
//! any language (case- and accent-insensitive), Member State, kind, region, area, workflow role,
//! competence keyword, profession and service activity.
//!
//! Queries list validated authorities only unless the caller passes
//! [`Visibility::IncludingAwaitingValidation`] (the gateway decides who may: the inviting
//! coordinator, the authority's own users). Invited authorities that have not registered yet
//! are kept (their areas come from the invitation) but never listed here: see
//! [`crate::coordination`] for a coordinator's invitations.

use crate::fold;
use crate::i18n::{self, Localized};
use crate::projection::{Projection, ProjectionError};
use crate::text;
use crate::writes::Writes;
use chrono::{DateTime, Utc};
use imi_domain::authority::{
    AreaAccess, AuthorityEvent, AuthorityKind, AuthorityStatus, ContactDetails, Keyword,
    KeywordList, LegislativeArea, Workflow, WorkflowAccess, WorkflowRole, WorkflowSetup,
};
use imi_domain::reference::Language;
use imi_store::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use std::collections::{BTreeMap, BTreeSet};

pub const NAME: &str = "authority_directory";

pub struct AuthorityDirectory;

#[async_trait::async_trait]
impl Projection for AuthorityDirectory {
    fn name(&self) -> &'static str {
        NAME
    }
    /// 2: status, region, description, contact, areas, workflows, competences, links and the
    /// folded search key.
    fn version(&self) -> i32 {
        3
    }
    fn tables_sql(&self) -> &'static str {
        include_str!("../../../projections/authority_directory.sql")
    }
    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[crate::fold::AUTHORITY])
    }

    /// Loads the rows of the authorities in the batch, folds the batch over them in memory,
    /// then rewrites the changed ones and their index rows set-wise.
    async fn apply(
        &self,
        db: &mut PgConnection,
        events: &[FeedEvent],
    ) -> Result<Writes, ProjectionError> {
        let Some(mut folded) = fold::fold_authorities::<Row>(
            db,
            events,
            "SELECT to_jsonb(a) FROM authorities a WHERE authority_id = ANY($1)",
            |r| r.authority_id.clone(),
            apply,
        )
        .await?
        else {
            return Ok(Writes::default());
        };
        for id in &folded.changed {
            let row = folded.rows.get_mut(id).expect("changed rows exist");
            row.search_key = text::key_of(
                row.official_name
                    .iter()
                    .chain(row.informal_titles.values())
                    .map(String::as_str),
            );
        }
        let written = folded.changed_rows();
        let changed = &folded.changed;
        let (mut areas, mut workflows, mut terms) = (Vec::new(), Vec::new(), Vec::new());
        for row in &written {
            index_rows(row, &mut areas, &mut workflows, &mut terms);
        }
        let mut writes = Writes::default();
        writes.replace("authorities", "authority_id", changed, &written)?;
        writes.replace("areas", "authority_id", changed, &areas)?;
        writes.replace("workflows", "authority_id", changed, &workflows)?;
        writes.replace("area_terms", "authority_id", changed, &terms)?;
        writes.sequences(&folded.sequences);
        Ok(writes)
    }
}

/// One row of `authorities` (the column names are the field names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Row {
    authority_id: String,
    status: AuthorityStatus,
    member_state: String,
    kind: String,
    region: Option<String>,
    official_name: Option<String>,
    informal_titles: BTreeMap<String, String>,
    description: Option<String>,
    contact: ContactDetails,
    coordinated_areas: BTreeSet<String>,
    invited_by: Option<String>,
    validating_coordinator: Option<String>,
    areas: BTreeMap<String, AreaAccess>,
    linked_authorities: BTreeSet<String>,
    invited_at: Option<DateTime<Utc>>,
    registered_at: Option<DateTime<Utc>>,
    validated_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    /// Computed on write; queries leave it out.
    #[serde(default)]
    search_key: String,
    /// Read beside the row from `machine_titles` (migration 0031), never stored in it.
    #[serde(default, skip_serializing)]
    machine_titles: BTreeMap<String, MachineTitle>,
}

/// An informal title machine-translated into a language nobody typed one in (`machine_titles`,
/// filled by the application layer's title filler), with its mark.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineTitle {
    pub title: String,
    /// The typed title's language it was translated from.
    pub source_language: String,
    pub engine: String,
    pub pivot: Option<String>,
    pub translated_at: DateTime<Utc>,
}

impl Row {
    fn new(id: &str, status: AuthorityStatus, member_state: &str, kind: AuthorityKind) -> Self {
        Row {
            authority_id: id.to_string(),
            status,
            member_state: member_state.to_string(),
            kind: kind.as_str().to_string(),
            region: None,
            official_name: None,
            informal_titles: BTreeMap::new(),
            description: None,
            contact: ContactDetails::default(),
            coordinated_areas: BTreeSet::new(),
            invited_by: None,
            validating_coordinator: None,
            areas: BTreeMap::new(),
            linked_authorities: BTreeSet::new(),
            invited_at: None,
            registered_at: None,
            validated_at: None,
            updated_at: DateTime::<Utc>::MIN_UTC,
            search_key: String::new(),
            machine_titles: BTreeMap::new(),
        }
    }
}

fn titles(titles: BTreeMap<Language, String>) -> BTreeMap<String, String> {
    titles
        .into_iter()
        .map(|(l, t)| (l.code().to_string(), t))
        .collect()
}

fn codes(areas: BTreeSet<LegislativeArea>) -> BTreeSet<String> {
    areas.into_iter().map(|a| a.code().to_string()).collect()
}

fn workflow_access(setup: WorkflowSetup) -> WorkflowAccess {
    WorkflowAccess {
        role: setup.role,
        linked_coordinators: setup.linked_coordinators,
        flags: BTreeSet::new(),
    }
}

fn area_access(coordinator: &str, workflows: BTreeMap<Workflow, WorkflowSetup>) -> AreaAccess {
    AreaAccess {
        access_coordinator: coordinator.to_string(),
        workflows: workflows
            .into_iter()
            .map(|(w, setup)| (w, workflow_access(setup)))
            .collect(),
        competences: BTreeSet::new(),
        professions: BTreeSet::new(),
        service_activities: BTreeSet::new(),
    }
}

fn areas_from(
    coordinator: &str,
    access: BTreeMap<LegislativeArea, BTreeMap<Workflow, WorkflowSetup>>,
) -> BTreeMap<String, AreaAccess> {
    access
        .into_iter()
        .map(|(area, workflows)| (area.code().to_string(), area_access(coordinator, workflows)))
        .collect()
}

/// Applies one event as the aggregate does. Returns whether the authority's entry changed.
fn apply(rows: &mut BTreeMap<String, Row>, e: &FeedEvent, event: AuthorityEvent) -> bool {
    use AuthorityEvent as E;
    let id = e.aggregate_id.as_str();
    let at = e.recorded_at;
    match event {
        E::NationalCoordinatorRegistered {
            member_state,
            official_name,
            informal_titles,
        } => {
            let mut row = Row::new(
                id,
                AuthorityStatus::Validated,
                member_state.code(),
                AuthorityKind::NationalCoordinator,
            );
            row.official_name = Some(official_name);
            row.informal_titles = titles(informal_titles);
            row.registered_at = Some(at);
            row.validated_at = Some(at);
            row.updated_at = at;
            rows.insert(id.to_string(), row);
            return true;
        }
        E::InvitationIssued {
            invited_by,
            member_state,
            kind,
            region,
            coordinated_areas,
            access,
            ..
        } => {
            let mut row = Row::new(id, AuthorityStatus::Invited, member_state.code(), kind);
            row.region = region.map(|r| r.code().to_string());
            row.coordinated_areas = codes(coordinated_areas);
            row.areas = areas_from(&invited_by, access);
            row.invited_by = Some(invited_by);
            row.invited_at = Some(at);
            row.updated_at = at;
            rows.insert(id.to_string(), row);
            return true;
        }
        E::AuthorityRegistered {
            registered_by,
            member_state,
            kind,
            region,
            coordinated_areas,
            access,
            official_name,
            informal_titles,
            description,
            contact,
            ..
        } => {
            let mut row = Row::new(
                id,
                AuthorityStatus::AwaitingValidation,
                member_state.code(),
                kind,
            );
            row.region = region.map(|r| r.code().to_string());
            row.coordinated_areas = codes(coordinated_areas);
            row.areas = areas_from(&registered_by, access);
            row.invited_by = Some(registered_by);
            row.official_name = Some(official_name);
            row.informal_titles = titles(informal_titles);
            row.description = description;
            row.contact = contact;
            row.registered_at = Some(at);
            row.updated_at = at;
            rows.insert(id.to_string(), row);
            return true;
        }
        _ => {}
    }
    // Every other event changes an existing authority; one the directory does not know
    // (never created in the log) is left alone.
    let Some(row) = rows.get_mut(id) else {
        return false;
    };
    let changed = match event {
        E::AuthoritySelfRegistered {
            member_state,
            kind,
            official_name,
            informal_titles,
            description,
            contact,
            ..
        } => {
            row.status = AuthorityStatus::AwaitingValidation;
            row.member_state = member_state.code().to_string();
            row.kind = kind.as_str().to_string();
            row.official_name = Some(official_name);
            row.informal_titles = titles(informal_titles);
            row.description = description;
            row.contact = contact;
            row.registered_at = Some(at);
            true
        }
        E::AuthorityValidated { validated_by } => {
            row.status = AuthorityStatus::Validated;
            row.validating_coordinator = Some(validated_by);
            row.validated_at = Some(at);
            true
        }
        E::InformalTitleSet { language, title } => {
            row.informal_titles
                .insert(language.code().to_string(), title);
            true
        }
        E::InformalTitleRemoved { language } => {
            row.informal_titles.remove(language.code());
            true
        }
        E::OfficialNameChanged { official_name } => {
            row.official_name = Some(official_name);
            true
        }
        E::DescriptionChanged { description } => {
            row.description = description;
            true
        }
        E::ContactDetailsChanged { contact } => {
            row.contact = contact;
            true
        }
        E::CompetencesChanged { area, keywords } => {
            with_area(row, &area, |a| a.competences = keywords)
        }
        E::ProfessionsChanged { area, professions } => {
            with_area(row, &area, |a| a.professions = professions)
        }
        E::ServiceActivitiesChanged {
            area,
            service_activities,
        } => with_area(row, &area, |a| a.service_activities = service_activities),
        E::AreaAccessGranted {
            area,
            access_coordinator,
            workflows,
        } => {
            row.areas.insert(
                area.code().to_string(),
                area_access(&access_coordinator, workflows),
            );
            true
        }
        E::AreaAccessRevoked { area } => row.areas.remove(area.code()).is_some(),
        E::WorkflowAccessGranted {
            area,
            workflow,
            role,
            linked_coordinators,
        } => with_area(row, &area, |a| {
            a.workflows.insert(
                workflow,
                workflow_access(WorkflowSetup {
                    role,
                    linked_coordinators,
                }),
            );
        }),
        E::WorkflowAccessRevoked { area, workflow } => with_area(row, &area, |a| {
            a.workflows.remove(&workflow);
        }),
        E::WorkflowRoleChanged {
            area,
            workflow,
            role,
        } => with_workflow(row, &area, workflow, |w| w.role = role),
        E::AccessCoordinationHandedOver { area, to, .. } => {
            with_area(row, &area, |a| a.access_coordinator = to)
        }
        E::FlagSet {
            area,
            workflow,
            flag,
            enabled,
        } => with_workflow(row, &area, workflow, |w| {
            if enabled {
                w.flags.insert(flag);
            } else {
                w.flags.remove(&flag);
            }
        }),
        E::CoordinatorLinked {
            area,
            workflow,
            coordinator_id,
        } => with_workflow(row, &area, workflow, |w| {
            w.linked_coordinators.insert(coordinator_id);
        }),
        E::CoordinatorUnlinked {
            area,
            workflow,
            coordinator_id,
        } => with_workflow(row, &area, workflow, |w| {
            w.linked_coordinators.remove(&coordinator_id);
        }),
        E::AuthorityLinked { authority_id } => row.linked_authorities.insert(authority_id),
        E::AuthorityUnlinked { authority_id } => row.linked_authorities.remove(&authority_id),
        // Not directory data: users (see `users`), the invitation's code, the contact person
        // (personal data, sealed).
        E::UserRegistered { .. }
        | E::InvitationRenewed { .. }
        | E::InvitationExpired { .. }
        | E::ContactPersonChanged { .. }
        | E::UserRolesGranted { .. }
        | E::UserRolesRevoked { .. }
        | E::LocalDataAdministratorAppointed { .. }
        | E::LocalDataAdministratorDismissed { .. }
        | E::PasswordReset { .. }
        | E::UserDeactivated { .. }
        | E::UserReactivated { .. } => false,
        E::NationalCoordinatorRegistered { .. }
        | E::InvitationIssued { .. }
        | E::AuthorityRegistered { .. } => unreachable!("handled above"),
    };
    if changed {
        row.updated_at = at;
    }
    changed
}

fn with_area(row: &mut Row, area: &LegislativeArea, f: impl FnOnce(&mut AreaAccess)) -> bool {
    match row.areas.get_mut(area.code()) {
        Some(a) => {
            f(a);
            true
        }
        None => false,
    }
}

fn with_workflow(
    row: &mut Row,
    area: &LegislativeArea,
    workflow: Workflow,
    f: impl FnOnce(&mut WorkflowAccess),
) -> bool {
    match row
        .areas
        .get_mut(area.code())
        .and_then(|a| a.workflows.get_mut(&workflow))
    {
        Some(w) => {
            f(w);
            true
        }
        None => false,
    }
}

#[derive(Serialize)]
struct AreaRow<'a> {
    authority_id: &'a str,
    area: &'a str,
    access_coordinator: &'a str,
}

#[derive(Serialize)]
struct WorkflowRow<'a> {
    authority_id: &'a str,
    area: &'a str,
    workflow: Workflow,
    role: WorkflowRole,
}

#[derive(Serialize)]
struct TermRow<'a> {
    authority_id: &'a str,
    area: &'a str,
    term: &'static str,
    code: &'a str,
}

/// The `area_terms.term` of a keyword list.
pub fn keyword_term(list: KeywordList) -> &'static str {
    match list {
        KeywordList::EconomicActivities => "EconomicActivities",
        KeywordList::PolicyAreas => "PolicyAreas",
    }
}
const PROFESSION: &str = "profession";
const SERVICE_ACTIVITY: &str = "service_activity";

fn index_rows<'a>(
    row: &'a Row,
    areas: &mut Vec<AreaRow<'a>>,
    workflows: &mut Vec<WorkflowRow<'a>>,
    terms: &mut Vec<TermRow<'a>>,
) {
    let authority_id = row.authority_id.as_str();
    for (area, access) in &row.areas {
        areas.push(AreaRow {
            authority_id,
            area,
            access_coordinator: &access.access_coordinator,
        });
        for (workflow, w) in &access.workflows {
            workflows.push(WorkflowRow {
                authority_id,
                area,
                workflow: *workflow,
                role: w.role,
            });
        }
        let term = |term, code| TermRow {
            authority_id,
            area,
            term,
            code,
        };
        terms.extend(
            access
                .competences
                .iter()
                .map(|k| term(keyword_term(k.list), &k.code)),
        );
        terms.extend(access.professions.iter().map(|c| term(PROFESSION, c)));
        terms.extend(
            access
                .service_activities
                .iter()
                .map(|c| term(SERVICE_ACTIVITY, c)),
        );
    }
}

// --- Queries --------------------------------------------------------------------------

/// One authority as the directory shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub authority_id: String,
    pub member_state: String,
    /// [`AuthorityKind::as_str`]: `NationalCoordinator`, `CompetentAuthority`, ...
    pub kind: String,
    pub official_name: String,
    /// Informal titles by language code, as typed.
    pub informal_titles: BTreeMap<String, String>,
    /// Informal titles machine-translated into languages without a typed one.
    pub machine_titles: BTreeMap<String, MachineTitle>,
    /// When the entry last changed.
    pub updated_at: DateTime<Utc>,
    /// `Validated`, or `AwaitingValidation` (listed only with
    /// [`Visibility::IncludingAwaitingValidation`]).
    pub status: AuthorityStatus,
    /// The federal state (region code such as `DE-BY`), if any.
    pub region: Option<String>,
    pub description: Option<String>,
    /// The office's contact details (not personal data).
    pub contact: ContactDetails,
    /// The areas a LIMIC or DIMIC coordinates (NIMICs and SDIMICs coordinate all).
    pub coordinated_areas: BTreeSet<String>,
    /// The coordinator that invited or registered it.
    pub invited_by: Option<String>,
    /// The coordinator that validated it (manages its data).
    pub validating_coordinator: Option<String>,
    /// Per legislative area: its access coordinator, its role, flags and linked coordinators
    /// per workflow, its competences, professions and service activities.
    pub areas: BTreeMap<String, AreaAccess>,
    /// Authorities of its Member State linked to it (monitoring view).
    pub linked_authorities: BTreeSet<String>,
    /// Every informal title: the one in the query's language first, then English, then the
    /// others by language code; `fallback` marks titles not in the query's language.
    pub titles: Vec<Localized>,
    /// The title to show: in the query's language, else English, else the first there is.
    pub title: Option<Localized>,
    pub registered_at: Option<DateTime<Utc>>,
    pub validated_at: Option<DateTime<Utc>>,
}

impl DirectoryEntry {
    fn from_row(mut row: Row, language: Option<&str>) -> Self {
        // A typed title always wins.
        let typed = row.informal_titles.clone();
        row.machine_titles.retain(|l, _| !typed.contains_key(l));
        DirectoryEntry {
            titles: i18n::ordered(&row.informal_titles, language),
            title: i18n::pick(&row.informal_titles, language),
            authority_id: row.authority_id,
            member_state: row.member_state,
            kind: row.kind,
            official_name: row.official_name.unwrap_or_default(),
            informal_titles: row.informal_titles,
            machine_titles: row.machine_titles,
            updated_at: row.updated_at,
            status: row.status,
            region: row.region,
            description: row.description,
            contact: row.contact,
            coordinated_areas: row.coordinated_areas,
            invited_by: row.invited_by,
            validating_coordinator: row.validating_coordinator,
            areas: row.areas,
            linked_authorities: row.linked_authorities,
            registered_at: row.registered_at,
            validated_at: row.validated_at,
        }
    }

    /// Its role in `workflow` of `area`, if it has access there.
    pub fn role(&self, area: &str, workflow: Workflow) -> Option<WorkflowRole> {
        self.areas
            .get(area)
            .and_then(|a| a.workflows.get(&workflow))
            .map(|w| w.role)
    }

    pub fn validated(&self) -> bool {
        self.status == AuthorityStatus::Validated
    }
}

/// Which authorities a query may return.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Validated authorities: what every user sees.
    #[default]
    ValidatedOnly,
    /// Also those that registered themselves and await validation: for the callers the
    /// gateway allows (their inviting coordinator, their own users).
    IncludingAwaitingValidation,
}

impl Visibility {
    fn statuses(self) -> Vec<String> {
        let mut s = vec![status_name(AuthorityStatus::Validated)];
        if self == Visibility::IncludingAwaitingValidation {
            s.push(status_name(AuthorityStatus::AwaitingValidation));
        }
        s
    }
}

fn status_name(status: AuthorityStatus) -> String {
    match status {
        AuthorityStatus::Invited => "Invited",
        AuthorityStatus::AwaitingValidation => "AwaitingValidation",
        AuthorityStatus::Validated => "Validated",
    }
    .to_string()
}

/// A directory search (the first version's fields; see [`DirectoryQuery`] for all filters).
/// Text matches the official name or an informal title in any language. Lists validated
/// authorities only.
#[derive(Clone, Debug, Default)]
pub struct DirectorySearch {
    pub text: Option<String>,
    pub member_state: Option<String>,
    /// Return entries whose id sorts after this one (keyset pagination).
    pub after: Option<String>,
    pub limit: i64,
}

/// A directory search with every filter; all filters must hold. Results are ordered by
/// authority id; page with `after` (the last id of the previous page) and `limit`.
#[derive(Clone, Debug, Default)]
pub struct DirectoryQuery {
    /// Part of the official name or of an informal title in any language, case- and
    /// accent-insensitive ("bundesamt fur" finds "Bundesamt für Justiz").
    pub text: Option<String>,
    pub member_state: Option<String>,
    pub kind: Option<AuthorityKind>,
    pub region: Option<String>,
    /// Has access to this legislative area. Narrows the workflow, keyword, profession and
    /// service activity filters to that area.
    pub area: Option<String>,
    /// Has access to this workflow (in `area`, or in any area).
    pub workflow: Option<Workflow>,
    /// Plays this role (in `area`, or in any area).
    pub workflow_role: Option<WorkflowRole>,
    /// Has this area of competence.
    pub keyword: Option<Keyword>,
    pub profession: Option<String>,
    pub service_activity: Option<String>,
    pub visibility: Visibility,
    /// The caller's language: titles in it come first.
    pub language: Option<String>,
    pub after: Option<String>,
    pub limit: i64,
}

impl From<&DirectorySearch> for DirectoryQuery {
    fn from(s: &DirectorySearch) -> Self {
        DirectoryQuery {
            text: s.text.clone(),
            member_state: s.member_state.clone(),
            after: s.after.clone(),
            limit: s.limit,
            ..Default::default()
        }
    }
}

/// How one entry is read: who may see what, and in which language.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    pub visibility: Visibility,
    pub language: Option<String>,
}

/// The entry columns of `authorities a`, with its machine-translated titles.
const ROW: &str = "(to_jsonb(a) - 'search_key') || jsonb_build_object('machine_titles', \
     (SELECT coalesce(jsonb_object_agg(m.language, to_jsonb(m) - 'search_key' - 'authority_id' \
        - 'language' - 'source_title'), '{}'::jsonb) \
        FROM public.machine_titles m WHERE m.authority_id = a.authority_id))";

fn decode_entries(
    values: Vec<serde_json::Value>,
    language: Option<&str>,
) -> Result<Vec<DirectoryEntry>, sqlx::Error> {
    values
        .into_iter()
        .map(|v| fold::decode::<Row>(v).map(|row| DirectoryEntry::from_row(row, language)))
        .collect()
}

/// The entry of the authority whose events up to a point are `events`, as the directory held
/// it then: an entry depends on its own authority's events alone, so folding them with the
/// projection's own `apply` rebuilds it exactly (times rounded as the table stores them).
/// `None` before the authority was created. Its status may be `Invited`, which no query lists.
pub fn entry_at(
    events: &[FeedEvent],
    language: Option<&str>,
) -> Result<Option<DirectoryEntry>, ProjectionError> {
    let mut rows = BTreeMap::new();
    for (e, event) in fold::authority_events(events)? {
        apply(&mut rows, e, event);
    }
    Ok(rows.into_values().next().map(|mut row| {
        let stored = crate::as_of::stored;
        row.updated_at = stored(row.updated_at);
        for t in [
            &mut row.invited_at,
            &mut row.registered_at,
            &mut row.validated_at,
        ] {
            *t = t.map(stored);
        }
        DirectoryEntry::from_row(row, language)
    }))
}

/// One validated authority of the live directory.
pub async fn get<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
) -> Result<Option<DirectoryEntry>, sqlx::Error> {
    get_with(db, authority_id, &ReadOptions::default()).await
}

/// One authority of the live directory, as `options` allow.
pub async fn get_with<'e>(
    db: impl PgExecutor<'e>,
    authority_id: &str,
    options: &ReadOptions,
) -> Result<Option<DirectoryEntry>, sqlx::Error> {
    let mut found = get_many(db, &[authority_id.to_string()], options).await?;
    Ok(found.pop())
}

/// Several authorities at once (for a request's data loader), ordered by id; ids the
/// directory does not list are left out.
pub async fn get_many<'e>(
    db: impl PgExecutor<'e>,
    authority_ids: &[String],
    options: &ReadOptions,
) -> Result<Vec<DirectoryEntry>, sqlx::Error> {
    let values: Vec<serde_json::Value> = sqlx::query_scalar(&format!(
        "SELECT {ROW} FROM {NAME}.authorities a
          WHERE a.authority_id = ANY($1) AND a.status = ANY($2)
          ORDER BY a.authority_id"
    ))
    .bind(authority_ids)
    .bind(options.visibility.statuses())
    .fetch_all(db)
    .await?;
    decode_entries(values, options.language.as_deref())
}

/// Searches the live directory (validated authorities), ordered by authority id.
pub async fn search<'e>(
    db: impl PgExecutor<'e>,
    q: &DirectorySearch,
) -> Result<Vec<DirectoryEntry>, sqlx::Error> {
    find(db, &DirectoryQuery::from(q)).await
}

/// Searches the live directory with every filter of `q`, ordered by authority id.
///
/// A text is matched in two arms, typed titles and names, then machine-translated titles, each
/// with every other filter and its own page: the planner then picks, per arm, between the
/// trigram index (a rare text: a few rows) and the walk along the key that stops at the page
/// (a common one). One `OR` of both would leave it only the walk, which reads every authority
/// when nothing matches. Which is right depends on the text, so the statement is planned for
/// each search.
pub async fn find<'e>(
    db: impl PgExecutor<'e>,
    q: &DirectoryQuery,
) -> Result<Vec<DirectoryEntry>, sqlx::Error> {
    let mut sql: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {ROW} FROM {NAME}.authorities a WHERE "));
    match q.text.as_deref().and_then(text::contains_pattern) {
        Some(pattern) => {
            sql.push(format!(
                "a.authority_id IN ((SELECT a.authority_id FROM {NAME}.authorities a \
                 WHERE a.search_key LIKE "
            ))
            .push_bind(pattern.clone());
            push_filters(&mut sql, q);
            push_page(&mut sql, q);
            sql.push(format!(
                ") UNION ALL (SELECT a.authority_id FROM {NAME}.authorities a \
                 WHERE a.authority_id IN (SELECT m.authority_id FROM public.machine_titles m \
                 WHERE m.search_key LIKE "
            ))
            .push_bind(pattern)
            .push(")");
            push_filters(&mut sql, q);
            push_page(&mut sql, q);
            sql.push("))");
        }
        None => {
            sql.push("true");
            push_filters(&mut sql, q);
        }
    }
    push_page(&mut sql, q);
    // Planned for its own text each time: a plan kept for any text (the server's generic plan
    // after five runs of a prepared statement) is the one of whichever text came first.
    let values: Vec<serde_json::Value> = sql
        .build_query_scalar()
        .persistent(false)
        .fetch_all(db)
        .await?;
    decode_entries(values, q.language.as_deref())
}

/// Every filter of `q` but its text, on the authorities as `a`.
fn push_filters(sql: &mut QueryBuilder<Postgres>, q: &DirectoryQuery) {
    sql.push(" AND a.status = ANY(")
        .push_bind(q.visibility.statuses())
        .push(")");
    if let Some(ms) = &q.member_state {
        sql.push(" AND a.member_state = ").push_bind(ms.clone());
    }
    if let Some(kind) = q.kind {
        sql.push(" AND a.kind = ").push_bind(kind.as_str());
    }
    if let Some(region) = &q.region {
        sql.push(" AND a.region = ").push_bind(region.clone());
    }
    if let Some(after) = &q.after {
        sql.push(" AND a.authority_id > ").push_bind(after.clone());
    }
    let in_area = |sql: &mut QueryBuilder<Postgres>, table: &str| {
        if let Some(area) = &q.area {
            sql.push(format!(" AND {table}.area = "))
                .push_bind(area.clone());
        }
    };
    if q.area.is_some() {
        sql.push(format!(
            " AND EXISTS (SELECT 1 FROM {NAME}.areas x WHERE x.authority_id = a.authority_id"
        ));
        in_area(sql, "x");
        sql.push(")");
    }
    if q.workflow.is_some() || q.workflow_role.is_some() {
        sql.push(format!(
            " AND EXISTS (SELECT 1 FROM {NAME}.workflows w WHERE w.authority_id = a.authority_id"
        ));
        in_area(sql, "w");
        if let Some(workflow) = q.workflow {
            sql.push(" AND w.workflow = ").push_bind(workflow.as_str());
        }
        if let Some(role) = q.workflow_role {
            sql.push(" AND w.role = ").push_bind(role_name(role));
        }
        sql.push(")");
    }
    let terms = q
        .keyword
        .iter()
        .map(|k| (keyword_term(k.list), k.code.clone()))
        .chain(q.profession.iter().map(|c| (PROFESSION, c.clone())))
        .chain(
            q.service_activity
                .iter()
                .map(|c| (SERVICE_ACTIVITY, c.clone())),
        );
    for (term, code) in terms {
        sql.push(format!(
            " AND EXISTS (SELECT 1 FROM {NAME}.area_terms t WHERE t.authority_id = a.authority_id"
        ));
        in_area(sql, "t");
        sql.push(" AND t.term = ")
            .push_bind(term)
            .push(" AND t.code = ")
            .push_bind(code)
            .push(")");
    }
}

/// The page: `q.limit` authorities in the order of their ids.
fn push_page(sql: &mut QueryBuilder<Postgres>, q: &DirectoryQuery) {
    sql.push(" ORDER BY a.authority_id LIMIT ")
        .push_bind(q.limit.max(0));
}

/// A workflow role's name as stored (its serde name).
pub fn role_name(role: WorkflowRole) -> String {
    match serde_json::to_value(role) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{role:?}"),
    }
}

/// The ids of every authority of `member_state`, whatever its status (a data protection
/// officer supervises what they did, registered or not any more).
pub async fn ids_in_member_state<'e>(
    db: impl PgExecutor<'e>,
    member_state: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT authority_id FROM {NAME}.authorities WHERE member_state = $1"
    ))
    .bind(member_state)
    .fetch_all(db)
    .await
}
