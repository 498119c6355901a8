//! Reference data: the EEA Member States, the EU's official languages, the legislative areas
//! (IMI modules) with their workflows and Union acts, the two keyword lists, professions and
//! service activities per area, the registers database, the helpdesks and the question sets of
//! the information request workflow.
//!
//! The source is the JSON files of `fixtures/reference/` (bundled into the binary, or read from
//! a folder); [`load`] upserts them into the `reference` schema in one transaction. Loading is
//! idempotent: a row whose content did not change is not written again, so reseeding changes
//! nothing (not even the rows' versions). Rows are never deleted: events refer to these codes.
//! Adding a legislative area, a keyword, a profession or a register is a change of the files
//! only.

use imi_domain::authority::{KeywordList, LegislativeArea, Workflow};
use imi_domain::reference::{Language, MemberState};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Texts by language code: `{"en": "...", "fr": "..."}`. English is required (the fallback).
pub type Names = BTreeMap<String, String>;

/// Why reference data was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file} is not valid: {source}")]
    Parse {
        file: String,
        source: serde_json::Error,
    },
    #[error("{file}: {problem}")]
    Invalid { file: String, problem: String },
    /// Retention delays the Regulation does not allow; `code()` says which rule.
    #[error("{file}: {area}: {}: {source}", source.code())]
    Retention {
        file: String,
        area: String,
        source: imi_domain::retention::RetentionError,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl ReferenceError {
    /// The machine code of a refusal that has one (retention delays).
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::Retention { source, .. } => Some(source.code()),
            _ => None,
        }
    }
}

/// The files of a reference data set, by name.
pub const FILES: [&str; 9] = [
    "languages.json",
    "member_states.json",
    "legislative_areas.json",
    "keywords.json",
    "professions.json",
    "service_activities.json",
    "registers.json",
    "helpdesks.json",
    "question_sets.json",
];

const BUNDLED: [(&str, &str); 9] = [
    (
        "languages.json",
        include_str!("../../../fixtures/reference/languages.json"),
    ),
    (
        "member_states.json",
        include_str!("../../../fixtures/reference/member_states.json"),
    ),
    (
        "legislative_areas.json",
        include_str!("../../../fixtures/reference/legislative_areas.json"),
    ),
    (
        "keywords.json",
        include_str!("../../../fixtures/reference/keywords.json"),
    ),
    (
        "professions.json",
        include_str!("../../../fixtures/reference/professions.json"),
    ),
    (
        "service_activities.json",
        include_str!("../../../fixtures/reference/service_activities.json"),
    ),
    (
        "registers.json",
        include_str!("../../../fixtures/reference/registers.json"),
    ),
    (
        "helpdesks.json",
        include_str!("../../../fixtures/reference/helpdesks.json"),
    ),
    (
        "question_sets.json",
        include_str!("../../../fixtures/reference/question_sets.json"),
    ),
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageEntry {
    pub code: String,
    pub names: Names,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberStateEntry {
    pub code: String,
    pub names: Names,
    pub eu_member: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaEntry {
    pub code: String,
    pub names: Names,
    /// `requests` and/or `alerts`.
    pub workflows: Vec<String>,
    /// The Union act the area implements.
    pub act: String,
    /// For an area with alerts: the closure periods (required there, absent elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_periods: Option<AlertPeriodsEntry>,
    /// The retention delays of personal data after formal closure, for requests and alerts
    /// (the Regulation's defaults where absent; stored resolved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<imi_domain::retention::Retention>,
}

/// An area's alert closure periods, in days (both at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertPeriodsEntry {
    pub comment_days: u32,
    pub objection_days: u32,
}

/// An entry of a list: a keyword, a profession or a service activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeEntry {
    pub code: String,
    pub names: Names,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterEntry {
    pub register_id: String,
    pub member_state: String,
    pub names: Names,
    #[serde(default)]
    pub content: Option<Names>,
    #[serde(default)]
    pub coverage: Option<Names>,
    #[serde(default)]
    pub access_conditions: Option<Names>,
    #[serde(default)]
    pub fees: Option<Names>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub responsible_authority: Option<String>,
    #[serde(default)]
    pub languages: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelpdeskEntry {
    pub helpdesk_id: String,
    /// `None`: the European Commission's helpdesk.
    pub member_state: Option<String>,
    pub names: Names,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub languages: Vec<String>,
}

/// A question of a question set: a stable id and its texts by language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionEntry {
    pub id: String,
    pub texts: Names,
}

/// A question set of a legislative area's request workflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionSetEntry {
    pub id: String,
    pub area: String,
    pub names: Names,
    pub questions: Vec<QuestionEntry>,
}

/// A whole reference data set, checked and with its codes in canonical form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReferenceData {
    pub languages: Vec<LanguageEntry>,
    pub member_states: Vec<MemberStateEntry>,
    pub legislative_areas: Vec<AreaEntry>,
    /// By list: `economic_activity`, `policy_area`.
    pub keywords: BTreeMap<String, Vec<CodeEntry>>,
    /// By legislative area.
    pub professions: BTreeMap<String, Vec<CodeEntry>>,
    /// By legislative area.
    pub service_activities: BTreeMap<String, Vec<CodeEntry>>,
    pub registers: Vec<RegisterEntry>,
    pub helpdesks: Vec<HelpdeskEntry>,
    pub question_sets: Vec<QuestionSetEntry>,
}

/// The name of a keyword list in the reference tables.
pub fn keyword_list_code(list: KeywordList) -> &'static str {
    match list {
        KeywordList::EconomicActivities => "economic_activity",
        KeywordList::PolicyAreas => "policy_area",
    }
}

/// The keyword list named `code` in the reference tables.
pub fn keyword_list(code: &str) -> Option<KeywordList> {
    match code {
        "economic_activity" => Some(KeywordList::EconomicActivities),
        "policy_area" => Some(KeywordList::PolicyAreas),
        _ => None,
    }
}

/// A workflow by its reference data name (`requests`, `alerts`).
pub fn workflow(name: &str) -> Option<Workflow> {
    Workflow::ALL.into_iter().find(|w| w.as_str() == name)
}

impl ReferenceData {
    /// The data set of `fixtures/reference/` this build carries.
    pub fn bundled() -> Result<Self, ReferenceError> {
        Self::parse(|file| {
            BUNDLED
                .iter()
                .find(|(name, _)| *name == file)
                .map(|(_, text)| text.to_string())
                .ok_or_else(|| ReferenceError::Invalid {
                    file: file.into(),
                    problem: "not bundled".into(),
                })
        })
    }

    /// The data set in `dir` (the files of [`FILES`]).
    pub fn from_dir(dir: &Path) -> Result<Self, ReferenceError> {
        Self::parse(|file| {
            let path = dir.join(file);
            std::fs::read_to_string(&path).map_err(|source| ReferenceError::Read {
                file: path.display().to_string(),
                source,
            })
        })
    }

    fn parse(
        mut read: impl FnMut(&str) -> Result<String, ReferenceError>,
    ) -> Result<Self, ReferenceError> {
        fn json<T: serde::de::DeserializeOwned>(
            file: &str,
            text: String,
        ) -> Result<T, ReferenceError> {
            serde_json::from_str(&text).map_err(|source| ReferenceError::Parse {
                file: file.into(),
                source,
            })
        }
        let mut file = |name: &'static str| read(name).map(|text| (name, text));
        let (f, t) = file("languages.json")?;
        let languages = json(f, t)?;
        let (f, t) = file("member_states.json")?;
        let member_states = json(f, t)?;
        let (f, t) = file("legislative_areas.json")?;
        let legislative_areas = json(f, t)?;
        let (f, t) = file("keywords.json")?;
        let keywords = json(f, t)?;
        let (f, t) = file("professions.json")?;
        let professions = json(f, t)?;
        let (f, t) = file("service_activities.json")?;
        let service_activities = json(f, t)?;
        let (f, t) = file("registers.json")?;
        let registers = json(f, t)?;
        let (f, t) = file("helpdesks.json")?;
        let helpdesks = json(f, t)?;
        let (f, t) = file("question_sets.json")?;
        let question_sets = json(f, t)?;
        let data = ReferenceData {
            languages,
            member_states,
            legislative_areas,
            keywords,
            professions,
            service_activities,
            registers,
            helpdesks,
            question_sets,
        };
        data.checked()
    }

    /// Checks every code and puts it in canonical form (Member States and areas upper case,
    /// languages lower case, workflows in their fixed order).
    fn checked(mut self) -> Result<Self, ReferenceError> {
        let mut c = Checker {
            file: "languages.json",
            seen: BTreeSet::new(),
        };
        for l in &mut self.languages {
            l.code = c.language(&l.code)?;
            c.unique("language", &l.code)?;
            c.names(&l.code, &mut l.names)?;
        }

        c.file = "member_states.json";
        c.seen.clear();
        for m in &mut self.member_states {
            m.code = c.member_state(&m.code)?;
            c.unique("Member State", &m.code)?;
            c.names(&m.code, &mut m.names)?;
        }
        let member_states: BTreeSet<String> =
            self.member_states.iter().map(|m| m.code.clone()).collect();

        c.file = "legislative_areas.json";
        c.seen.clear();
        for a in &mut self.legislative_areas {
            a.code = c.area(&a.code)?;
            c.unique("legislative area", &a.code)?;
            c.names(&a.code, &mut a.names)?;
            let mut workflows = BTreeSet::new();
            for w in &a.workflows {
                workflows.insert(workflow(w).ok_or_else(|| {
                    c.invalid(format!(
                        "{}: unknown workflow {w:?} (requests or alerts)",
                        a.code
                    ))
                })?);
            }
            if workflows.is_empty() {
                return Err(c.invalid(format!("{}: no workflow", a.code)));
            }
            a.workflows = workflows.iter().map(|w| w.as_str().to_string()).collect();
            match (workflows.contains(&Workflow::Alerts), a.alert_periods) {
                (true, None) => {
                    return Err(c.invalid(format!(
                        "{}: an area with alerts needs its alert_periods",
                        a.code
                    )))
                }
                (false, Some(_)) => {
                    return Err(c.invalid(format!(
                        "{}: alert_periods without the alerts workflow",
                        a.code
                    )))
                }
                (true, Some(p)) if p.comment_days == 0 || p.objection_days == 0 => {
                    return Err(c.invalid(format!("{}: alert periods are at least one day", a.code)))
                }
                _ => {}
            }
            a.act = c.text(&a.code, "act", &a.act)?;
            let retention = a.retention.unwrap_or_default();
            retention
                .check()
                .map_err(|source| ReferenceError::Retention {
                    file: c.file.into(),
                    area: a.code.clone(),
                    source,
                })?;
            a.retention = Some(retention);
        }
        let areas: BTreeSet<String> = self
            .legislative_areas
            .iter()
            .map(|a| a.code.clone())
            .collect();

        c.file = "keywords.json";
        for (list, entries) in &mut self.keywords {
            if keyword_list(list).is_none() {
                return Err(c.invalid(format!(
                    "unknown keyword list {list:?} (economic_activity or policy_area)"
                )));
            }
            c.entries(list, entries)?;
        }

        for (file, lists) in [
            ("professions.json", &mut self.professions),
            ("service_activities.json", &mut self.service_activities),
        ] {
            c.file = file;
            let by_area = std::mem::take(lists);
            for (area, mut entries) in by_area {
                let area = c.area(&area)?;
                if !areas.contains(&area) {
                    return Err(c.invalid(format!("{area} is not in legislative_areas.json")));
                }
                c.entries(&area, &mut entries)?;
                if lists.insert(area.clone(), entries).is_some() {
                    return Err(c.invalid(format!("{area} appears twice")));
                }
            }
        }

        c.file = "registers.json";
        c.seen.clear();
        for r in &mut self.registers {
            r.register_id = c.text("register", "register_id", &r.register_id)?;
            c.unique("register", &r.register_id)?;
            r.member_state = c.known_member_state(&member_states, &r.member_state)?;
            let id = r.register_id.clone();
            c.names(&id, &mut r.names)?;
            for texts in [
                &mut r.content,
                &mut r.coverage,
                &mut r.access_conditions,
                &mut r.fees,
            ]
            .into_iter()
            .flatten()
            {
                c.texts(&id, texts)?;
            }
            r.languages = c.languages(&r.languages)?;
            c.url(&id, r.url.as_deref())?;
        }

        c.file = "helpdesks.json";
        c.seen.clear();
        for h in &mut self.helpdesks {
            h.helpdesk_id = c.text("helpdesk", "helpdesk_id", &h.helpdesk_id)?;
            c.unique("helpdesk", &h.helpdesk_id)?;
            if let Some(ms) = &h.member_state {
                h.member_state = Some(c.known_member_state(&member_states, ms)?);
            }
            let id = h.helpdesk_id.clone();
            c.names(&id, &mut h.names)?;
            h.languages = c.languages(&h.languages)?;
            c.url(&id, h.url.as_deref())?;
        }

        c.file = "question_sets.json";
        c.seen.clear();
        let mut question_ids = BTreeSet::new();
        let with_requests: BTreeSet<&str> = self
            .legislative_areas
            .iter()
            .filter(|a| a.workflows.iter().any(|w| w == "requests"))
            .map(|a| a.code.as_str())
            .collect();
        for set in &mut self.question_sets {
            set.id = c.area(&set.id)?;
            c.unique("question set", &set.id)?;
            set.area = c.area(&set.area)?;
            if !with_requests.contains(set.area.as_str()) {
                return Err(c.invalid(format!(
                    "{}: {} is not a legislative area with a request workflow",
                    set.id, set.area
                )));
            }
            let id = set.id.clone();
            c.names(&id, &mut set.names)?;
            if set.questions.is_empty() {
                return Err(c.invalid(format!("{id}: no question")));
            }
            for q in &mut set.questions {
                q.id = c.area(&q.id)?;
                if !question_ids.insert(q.id.clone()) {
                    return Err(c.invalid(format!("question {} appears twice", q.id)));
                }
                let qid = q.id.clone();
                c.names(&qid, &mut q.texts)?;
            }
        }
        Ok(self)
    }

    /// The number of rows each table gets from this data set.
    pub fn row_counts(&self) -> BTreeMap<&'static str, usize> {
        let sum = |m: &BTreeMap<String, Vec<CodeEntry>>| m.values().map(Vec::len).sum::<usize>();
        BTreeMap::from([
            ("languages", self.languages.len()),
            ("member_states", self.member_states.len()),
            ("legislative_areas", self.legislative_areas.len()),
            ("keywords", sum(&self.keywords)),
            ("professions", sum(&self.professions)),
            ("service_activities", sum(&self.service_activities)),
            ("registers", self.registers.len()),
            ("helpdesks", self.helpdesks.len()),
            ("question_sets", self.question_sets.len()),
            (
                "questions",
                self.question_sets.iter().map(|s| s.questions.len()).sum(),
            ),
        ])
    }
}

struct Checker {
    file: &'static str,
    seen: BTreeSet<String>,
}

impl Checker {
    fn invalid(&self, problem: String) -> ReferenceError {
        ReferenceError::Invalid {
            file: self.file.into(),
            problem,
        }
    }
    fn unique(&mut self, what: &str, code: &str) -> Result<(), ReferenceError> {
        if self.seen.insert(code.to_string()) {
            Ok(())
        } else {
            Err(self.invalid(format!("{what} {code} appears twice")))
        }
    }
    fn language(&self, code: &str) -> Result<String, ReferenceError> {
        Language::parse(code)
            .map(|l| l.code().to_string())
            .map_err(|e| self.invalid(e.to_string()))
    }
    fn languages(&self, codes: &[String]) -> Result<Vec<String>, ReferenceError> {
        let mut out: Vec<String> = Vec::new();
        for code in codes {
            let code = self.language(code)?;
            if !out.contains(&code) {
                out.push(code);
            }
        }
        Ok(out)
    }
    fn member_state(&self, code: &str) -> Result<String, ReferenceError> {
        MemberState::parse(code)
            .map(|m| m.code().to_string())
            .map_err(|e| self.invalid(e.to_string()))
    }
    fn known_member_state(
        &self,
        known: &BTreeSet<String>,
        code: &str,
    ) -> Result<String, ReferenceError> {
        let code = self.member_state(code)?;
        if known.contains(&code) {
            Ok(code)
        } else {
            Err(self.invalid(format!("{code} is not in member_states.json")))
        }
    }
    fn area(&self, code: &str) -> Result<String, ReferenceError> {
        LegislativeArea::parse(code)
            .map(|a| a.code().to_string())
            .map_err(|e| self.invalid(e.to_string()))
    }
    fn text(&self, of: &str, field: &str, text: &str) -> Result<String, ReferenceError> {
        let text = text.trim();
        if text.is_empty() {
            Err(self.invalid(format!("{of}: {field} is empty")))
        } else {
            Ok(text.to_string())
        }
    }
    /// Texts by language: known language codes, no empty text.
    fn texts(&self, of: &str, texts: &mut Names) -> Result<(), ReferenceError> {
        let mut checked = Names::new();
        for (language, text) in std::mem::take(texts) {
            let language = self.language(&language)?;
            let text = self.text(of, &format!("the {language} text"), &text)?;
            checked.insert(language, text);
        }
        *texts = checked;
        Ok(())
    }
    /// Names: texts with at least the English one, the fallback.
    fn names(&self, of: &str, names: &mut Names) -> Result<(), ReferenceError> {
        self.texts(of, names)?;
        if names.contains_key("en") {
            Ok(())
        } else {
            Err(self.invalid(format!("{of}: no English name")))
        }
    }
    fn entries(&mut self, of: &str, entries: &mut [CodeEntry]) -> Result<(), ReferenceError> {
        self.seen.clear();
        for e in entries.iter_mut() {
            e.code = self.text(of, "code", &e.code)?;
            self.unique(&format!("{of} code"), &e.code)?;
            let code = e.code.clone();
            self.names(&code, &mut e.names)?;
        }
        Ok(())
    }
    fn url(&self, of: &str, url: Option<&str>) -> Result<(), ReferenceError> {
        match url {
            Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
                Err(self.invalid(format!("{of}: the url must start with http(s)://")))
            }
            _ => Ok(()),
        }
    }
}

/// What loading did to one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableLoad {
    pub table: &'static str,
    /// Rows in the data set.
    pub rows: usize,
    pub inserted: usize,
    pub updated: usize,
}

impl TableLoad {
    pub fn unchanged(&self) -> usize {
        self.rows - self.inserted - self.updated
    }
}

/// What [`load`] did, table by table (in loading order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub tables: Vec<TableLoad>,
}

impl LoadReport {
    /// Whether the load wrote nothing: the tables already held this data set.
    pub fn unchanged(&self) -> bool {
        self.tables
            .iter()
            .all(|t| t.inserted == 0 && t.updated == 0)
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .tables
            .iter()
            .map(|t| {
                format!(
                    "{} {} ({} new, {} changed)",
                    t.rows,
                    t.table.replace('_', " "),
                    t.inserted,
                    t.updated
                )
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// One table: its key columns and its other columns, with their SQL types.
struct Table {
    name: &'static str,
    key: &'static [&'static str],
    columns: &'static [(&'static str, &'static str)],
}

impl Table {
    /// Upserts the rows of a JSON array; returns one `inserted` flag per row written (new or
    /// changed); unchanged rows are not written.
    fn upsert_sql(&self) -> String {
        let all: Vec<&str> = self.columns.iter().map(|(c, _)| *c).collect();
        let typed: Vec<String> = self
            .columns
            .iter()
            .map(|(c, t)| format!("{c} {t}"))
            .collect();
        let values: Vec<&str> = all
            .iter()
            .copied()
            .filter(|c| !self.key.contains(c))
            .collect();
        let set: Vec<String> = values
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let old: Vec<String> = values.iter().map(|c| format!("t.{c}")).collect();
        let new: Vec<String> = values.iter().map(|c| format!("excluded.{c}")).collect();
        format!(
            "INSERT INTO reference.{name} AS t ({all})
             SELECT {all} FROM jsonb_to_recordset($1) AS r({typed})
             ON CONFLICT ({key}) DO UPDATE SET {set}
              WHERE ({old}) IS DISTINCT FROM ({new})
             RETURNING (t.xmax = 0) AS inserted",
            name = self.name,
            all = all.join(", "),
            typed = typed.join(", "),
            key = self.key.join(", "),
            set = set.join(", "),
            old = old.join(", "),
            new = new.join(", "),
        )
    }
}

const NAMES: (&str, &str) = ("names", "jsonb");

/// In loading order (referenced tables first).
const TABLES: [Table; 10] = [
    Table {
        name: "languages",
        key: &["code"],
        columns: &[("code", "text"), NAMES],
    },
    Table {
        name: "member_states",
        key: &["code"],
        columns: &[("code", "text"), NAMES, ("eu_member", "boolean")],
    },
    Table {
        name: "legislative_areas",
        key: &["code"],
        columns: &[
            ("code", "text"),
            NAMES,
            ("workflows", "text[]"),
            ("act", "text"),
            ("alert_periods", "jsonb"),
            ("retention", "jsonb"),
        ],
    },
    Table {
        name: "keywords",
        key: &["list", "code"],
        columns: &[("list", "text"), ("code", "text"), NAMES],
    },
    Table {
        name: "professions",
        key: &["area", "code"],
        columns: &[("area", "text"), ("code", "text"), NAMES],
    },
    Table {
        name: "service_activities",
        key: &["area", "code"],
        columns: &[("area", "text"), ("code", "text"), NAMES],
    },
    Table {
        name: "registers",
        key: &["register_id"],
        columns: &[
            ("register_id", "text"),
            ("member_state", "text"),
            NAMES,
            ("content", "jsonb"),
            ("coverage", "jsonb"),
            ("access_conditions", "jsonb"),
            ("fees", "jsonb"),
            ("url", "text"),
            ("responsible_authority", "text"),
            ("languages", "text[]"),
        ],
    },
    Table {
        name: "helpdesks",
        key: &["helpdesk_id"],
        columns: &[
            ("helpdesk_id", "text"),
            ("member_state", "text"),
            NAMES,
            ("email", "text"),
            ("phone", "text"),
            ("url", "text"),
            ("languages", "text[]"),
        ],
    },
    Table {
        name: "question_sets",
        key: &["id"],
        columns: &[("id", "text"), ("area", "text"), NAMES],
    },
    Table {
        name: "questions",
        key: &["id"],
        columns: &[
            ("id", "text"),
            ("question_set", "text"),
            ("position", "integer"),
            ("texts", "jsonb"),
        ],
    },
];

/// The rows of one table, as the JSON array the upsert reads.
fn rows_of(data: &ReferenceData, table: &str) -> Result<serde_json::Value, serde_json::Error> {
    use serde_json::{json, to_value};
    let listed = |by: &BTreeMap<String, Vec<CodeEntry>>, key: &str| -> serde_json::Value {
        by.iter()
            .flat_map(|(group, entries)| {
                entries
                    .iter()
                    .map(move |e| json!({ key: group, "code": e.code, "names": e.names }))
            })
            .collect()
    };
    Ok(match table {
        "languages" => to_value(&data.languages)?,
        "member_states" => to_value(&data.member_states)?,
        "legislative_areas" => to_value(&data.legislative_areas)?,
        "keywords" => listed(&data.keywords, "list"),
        "professions" => listed(&data.professions, "area"),
        "service_activities" => listed(&data.service_activities, "area"),
        "registers" => to_value(&data.registers)?,
        "helpdesks" => to_value(&data.helpdesks)?,
        "question_sets" => data
            .question_sets
            .iter()
            .map(|s| json!({"id": s.id, "area": s.area, "names": s.names}))
            .collect(),
        "questions" => data
            .question_sets
            .iter()
            .flat_map(|s| {
                s.questions.iter().enumerate().map(move |(i, q)| {
                    json!({"id": q.id, "question_set": s.id, "position": i + 1, "texts": q.texts})
                })
            })
            .collect(),
        other => unreachable!("no reference table {other}"),
    })
}

/// Upserts `data` into the reference tables, in one transaction.
pub async fn load(pool: &PgPool, data: &ReferenceData) -> Result<LoadReport, ReferenceError> {
    let counts = data.row_counts();
    let mut transaction = crate::pool::begin(pool).await?;
    let mut report = LoadReport::default();
    for table in &TABLES {
        let rows = rows_of(data, table.name).map_err(|source| ReferenceError::Parse {
            file: table.name.into(),
            source,
        })?;
        let written: Vec<bool> = sqlx::query_scalar(&table.upsert_sql())
            .bind(rows)
            .fetch_all(&mut *transaction)
            .await?;
        let inserted = written.iter().filter(|new| **new).count();
        report.tables.push(TableLoad {
            table: table.name,
            rows: counts[table.name],
            inserted,
            updated: written.len() - inserted,
        });
    }
    transaction.commit().await?;
    Ok(report)
}

/// The number of rows in each reference table.
pub async fn table_counts(pool: &PgPool) -> Result<BTreeMap<&'static str, i64>, sqlx::Error> {
    let mut counts = BTreeMap::new();
    for table in &TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM reference.{}", table.name))
            .fetch_one(pool)
            .await?;
        counts.insert(table.name, n);
    }
    Ok(counts)
}

/// A reference list read page by page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferenceList {
    Areas,
    Keywords,
    Professions,
    ServiceActivities,
}

/// One entry of a reference list: `group` is the keyword list or the area ("" for areas).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ListEntry {
    pub grp: String,
    pub code: String,
    pub names: serde_json::Value,
    pub workflows: Option<Vec<String>>,
    pub act: Option<String>,
}

impl ReferenceList {
    /// `(grp, code, names, workflows, act)`, filtered by `$1` (the group, or null for all)
    /// and `$2` (the key to start after, `grp/code`), ordered by key, `$3` rows.
    fn sql(self) -> &'static str {
        match self {
            Self::Areas => {
                "SELECT '' AS grp, code, names, workflows, act FROM reference.legislative_areas
                  WHERE ($1::text IS NULL OR true) AND ($2::text IS NULL OR '/' || code > $2)
                  ORDER BY code LIMIT $3"
            }
            Self::Keywords => {
                "SELECT list AS grp, code, names, NULL::text[] AS workflows, NULL::text AS act
                   FROM reference.keywords
                  WHERE ($1::text IS NULL OR list = $1) AND ($2::text IS NULL OR (list, code) > (split_part($2, '/', 1), substr($2, strpos($2, '/') + 1)))
                  ORDER BY list, code LIMIT $3"
            }
            Self::Professions => {
                "SELECT area AS grp, code, names, NULL::text[] AS workflows, NULL::text AS act
                   FROM reference.professions
                  WHERE ($1::text IS NULL OR area = $1) AND ($2::text IS NULL OR (area, code) > (split_part($2, '/', 1), substr($2, strpos($2, '/') + 1)))
                  ORDER BY area, code LIMIT $3"
            }
            Self::ServiceActivities => {
                "SELECT area AS grp, code, names, NULL::text[] AS workflows, NULL::text AS act
                   FROM reference.service_activities
                  WHERE ($1::text IS NULL OR area = $1) AND ($2::text IS NULL OR (area, code) > (split_part($2, '/', 1), substr($2, strpos($2, '/') + 1)))
                  ORDER BY area, code LIMIT $3"
            }
        }
    }
}

/// Up to `limit` entries of `list` in `group` (all groups when `None`) after the key `after`
/// (`group/code`), ordered by key.
pub async fn list_page(
    pool: &PgPool,
    list: ReferenceList,
    group: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ListEntry>, sqlx::Error> {
    sqlx::query_as(list.sql())
        .bind(group)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_data_set_is_valid_and_complete() {
        let data = ReferenceData::bundled().expect("valid fixtures");
        assert_eq!(data.languages.len(), 24);
        assert_eq!(data.member_states.len(), 30);
        for code in imi_domain::reference::LANGUAGES {
            let l = data.languages.iter().find(|l| l.code == code).unwrap();
            assert!(l.names.contains_key(code), "{code} has no name of its own");
        }
        let areas: Vec<&str> = data
            .legislative_areas
            .iter()
            .map(|a| a.code.as_str())
            .collect();
        for area in ["PQ", "SD", "PW"] {
            assert!(areas.contains(&area), "{area}");
        }
        assert_eq!(data.keywords.len(), 2);
        for entries in data.keywords.values() {
            for e in entries {
                for language in ["en", "fr", "de"] {
                    assert!(e.names.contains_key(language), "{} in {language}", e.code);
                }
            }
        }
        assert!(data.professions["PQ"].len() >= 20);
        assert!(data.service_activities["SD"].len() >= 15);
        let with_member_state: BTreeSet<&str> = data
            .helpdesks
            .iter()
            .filter_map(|h| h.member_state.as_deref())
            .collect();
        assert_eq!(with_member_state.len(), 30, "a helpdesk per NIMIC");
        assert!(data.helpdesks.iter().any(|h| h.member_state.is_none()));
        let sets: Vec<(&str, &str)> = data
            .question_sets
            .iter()
            .map(|s| (s.id.as_str(), s.area.as_str()))
            .collect();
        assert_eq!(
            sets,
            [("PQ-GEN", "PQ"), ("SD-GEN", "SD"), ("SD-ART18", "SD")]
        );
    }

    #[test]
    fn question_sets_are_checked() {
        let mut bad = ReferenceData::bundled().unwrap();
        bad.question_sets[0].area = "NOPE".into();
        assert!(bad.checked().is_err(), "unknown area");
        let mut bad = ReferenceData::bundled().unwrap();
        let first = bad.question_sets[0].questions[0].clone();
        bad.question_sets[1].questions.push(first);
        assert!(bad.checked().is_err(), "a question id twice");
        let mut bad = ReferenceData::bundled().unwrap();
        bad.question_sets[0].questions[0].texts.remove("en");
        assert!(bad.checked().is_err(), "no English text");
        let mut bad = ReferenceData::bundled().unwrap();
        bad.question_sets[0].questions.clear();
        assert!(bad.checked().is_err(), "an empty set");
    }

    #[test]
    fn codes_are_checked_and_made_canonical() {
        let mut data = ReferenceData::bundled().unwrap();
        data.legislative_areas[0].code = " pq ".into();
        data.legislative_areas[0].workflows = vec!["alerts".into(), "requests".into()];
        let data = data.checked().unwrap();
        assert_eq!(data.legislative_areas[0].code, "PQ");
        assert_eq!(data.legislative_areas[0].workflows, ["requests", "alerts"]);

        let mut bad = ReferenceData::bundled().unwrap();
        bad.legislative_areas[0].workflows = vec!["notifications".into()];
        assert!(bad.checked().is_err());
        let mut bad = ReferenceData::bundled().unwrap();
        bad.professions.insert("NOPE".into(), vec![]);
        assert!(bad.checked().is_err());
        let mut bad = ReferenceData::bundled().unwrap();
        bad.languages[0].names.remove("en");
        assert!(bad.checked().is_err());
        let mut bad = ReferenceData::bundled().unwrap();
        bad.registers[0].member_state = "UK".into();
        assert!(bad.checked().is_err());
    }

    #[test]
    fn an_area_with_alerts_has_its_closure_periods_and_only_it() {
        let problem = |data: ReferenceData| match data.checked() {
            Err(ReferenceError::Invalid { problem, .. }) => problem,
            other => panic!("{other:?}"),
        };
        let data = ReferenceData::bundled().unwrap();
        for a in &data.legislative_areas {
            assert_eq!(
                a.alert_periods.is_some(),
                a.workflows.iter().any(|w| w == "alerts"),
                "{}",
                a.code
            );
        }
        let mut bad = data.clone();
        bad.legislative_areas[0].alert_periods = None;
        assert_eq!(
            problem(bad),
            "PQ: an area with alerts needs its alert_periods"
        );
        let mut bad = data.clone();
        bad.legislative_areas[0].alert_periods = Some(AlertPeriodsEntry {
            comment_days: 0,
            objection_days: 14,
        });
        assert_eq!(problem(bad), "PQ: alert periods are at least one day");
        let mut bad = data.clone();
        bad.legislative_areas[0].workflows = vec!["requests".into()];
        assert_eq!(
            problem(bad),
            "PQ: alert_periods without the alerts workflow"
        );
    }

    #[test]
    fn retention_is_resolved_and_a_blocking_delay_over_18_months_is_refused() {
        use imi_domain::retention::{Retention, RetentionDelays};
        let data = ReferenceData::bundled().unwrap();
        let mut partial = data.clone();
        partial.legislative_areas[0].retention = None;
        let checked = partial.checked().unwrap();
        assert_eq!(
            checked.legislative_areas[0].retention,
            Some(Retention::default())
        );
        let mut long = data.clone();
        long.legislative_areas[1].retention = Some(Retention {
            alerts: RetentionDelays {
                blocking_months: 18,
                deletion_months: 36,
            },
            ..Retention::default()
        });
        assert!(long.checked().is_ok());
        let mut bad = data;
        bad.legislative_areas[1].retention = Some(Retention {
            requests: RetentionDelays {
                blocking_months: 19,
                deletion_months: 36,
            },
            ..Retention::default()
        });
        let err = bad.checked().unwrap_err();
        assert_eq!(err.code(), Some("RETENTION_BLOCKING_TOO_LONG"));
        assert!(err.to_string().starts_with(
            "legislative_areas.json: SD: RETENTION_BLOCKING_TOO_LONG: the blocking delay is 19"
        ));
    }

    #[test]
    fn the_upsert_writes_only_what_changed() {
        let sql = TABLES[3].upsert_sql();
        assert!(sql.contains("ON CONFLICT (list, code) DO UPDATE SET names = excluded.names"));
        assert!(sql.contains("WHERE (t.names) IS DISTINCT FROM (excluded.names)"));
    }
}
