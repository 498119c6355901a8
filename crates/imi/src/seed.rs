//! Loading reference data: the reference tables (Member States, languages, legislative areas,
//! keyword lists, professions, service activities, registers, helpdesks), then every Member
//! State's National IMI Coordinator and its first local data administrator; with `demo`, known
//! passwords, extra informal titles and the demo network with its exchanges ([`crate::demo`]).
//! Idempotent: a second run changes nothing.

use anyhow::{anyhow, Context, Result};
use imi_app::registration::NationalCoordinator;
use imi_app::users::NewAccount;
use imi_app::{App, AppError, Caller, Wait};
use imi_domain::authority::AuthorityCommand;
use imi_domain::authority::Clock;
use imi_domain::reference::{Language, MemberState};
use imi_store::clock::AdjustableClock;
use imi_store::reference::{self, LoadReport, ReferenceData};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

const COORDINATORS: &str = include_str!("../../../fixtures/reference/national_coordinators.json");
const DEMO: &str = include_str!("../../../fixtures/demo/demo.json");

#[derive(Deserialize)]
struct Coordinator {
    authority_id: String,
    member_state: String,
    official_name: String,
    informal_titles: BTreeMap<String, String>,
    first_user: FirstUser,
}

#[derive(Deserialize)]
struct FirstUser {
    user_id: String,
    login: String,
    name: String,
    email: String,
}

#[derive(Deserialize)]
struct Demo {
    password: String,
    informal_titles: Vec<DemoTitle>,
    network: Vec<crate::demo::DemoCountry>,
}

#[derive(Deserialize)]
struct DemoTitle {
    authority_id: String,
    language: String,
    title: String,
}

/// A user that can sign in after seeding.
#[derive(Debug, Clone)]
pub struct SeededLogin {
    pub login: String,
    pub authority_id: String,
    /// Only for logins whose password this run set.
    pub password: Option<String>,
}

#[derive(Debug, Default)]
pub struct SeedReport {
    /// What loading the reference tables did.
    pub reference: LoadReport,
    pub authorities_registered: usize,
    pub logins: Vec<SeededLogin>,
    pub demo_password: Option<String>,
    /// What the demo network and exchanges added.
    pub demo: Option<crate::demo::DemoReport>,
}

/// Seeds with the reference data bundled into this build.
pub async fn seed(app: &App, demo: bool) -> Result<SeedReport> {
    let data = ReferenceData::bundled().context("the bundled reference data")?;
    seed_with(app, demo, &data).await
}

fn failed(e: AppError) -> anyhow::Error {
    anyhow!("{} ({})", e.message, e.code.as_str())
}

/// Seeds with the reference data set `data` (e.g. read from a folder).
pub async fn seed_with(app: &App, demo: bool, data: &ReferenceData) -> Result<SeedReport> {
    let pool = &app.pool;
    let coordinators: Vec<Coordinator> = serde_json::from_str(COORDINATORS)?;
    let demo_data: Demo = serde_json::from_str(DEMO)?;
    let system = Caller::system("seed", Language::parse("en")?);
    let mut report = SeedReport {
        reference: reference::load(pool, data)
            .await
            .context("loading the reference data")?,
        demo_password: demo.then(|| demo_data.password.clone()),
        ..SeedReport::default()
    };
    for c in &coordinators {
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM events WHERE aggregate_type = 'Authority' AND aggregate_id = $1)",
        )
        .bind(&c.authority_id)
        .fetch_one(pool)
        .await?;
        let user = &c.first_user;
        let password = if demo {
            demo_data.password.clone()
        } else {
            one_time_password()
        };
        let account = NewAccount {
            login: user.login.clone(),
            password,
            name: user.name.clone(),
            email: user.email.clone(),
        };
        if !exists {
            let mut titles = BTreeMap::new();
            for (language, title) in &c.informal_titles {
                titles.insert(Language::parse(language)?, title.clone());
            }
            let coordinator = NationalCoordinator {
                authority_id: c.authority_id.clone(),
                member_state: MemberState::parse(&c.member_state)?,
                official_name: c.official_name.clone(),
                informal_titles: titles,
                first_user_id: user.user_id.clone(),
            };
            app.register_national_coordinator(&system, coordinator, &account)
                .await
                .map_err(failed)
                .with_context(|| format!("registering {}", c.authority_id))?;
            report.authorities_registered += 1;
        }
        let set = app
            .ensure_credentials(
                &user.user_id,
                &c.authority_id,
                &user.login,
                &account.password,
            )
            .await
            .map_err(failed)?;
        report.logins.push(SeededLogin {
            login: user.login.clone(),
            authority_id: c.authority_id.clone(),
            password: set.then_some(account.password),
        });
    }
    if demo {
        for t in &demo_data.informal_titles {
            let Some(c) = coordinators
                .iter()
                .find(|c| c.authority_id == t.authority_id)
            else {
                continue;
            };
            let lda = Caller::user(
                &c.first_user.user_id,
                &c.authority_id,
                Language::parse("en")?,
            );
            let command = AuthorityCommand::SetInformalTitle {
                language: Language::parse(&t.language)?,
                title: Some(t.title.clone()),
            };
            app.execute(&lda, &t.authority_id, command, &Wait::none())
                .await
                .map_err(failed)?;
        }
        // The demo's story runs on a clock of its own that starts in the past.
        let clock = Arc::new(AdjustableClock::new());
        clock.advance(
            (app.clock.now() - chrono::Utc::now())
                - chrono::Duration::days(crate::demo::STORY_DAYS + 1),
        );
        let story = crate::app::app_with_clock(
            pool.clone(),
            app.keyring.clone(),
            app.wake.clone(),
            clock.clone(),
        );
        report.demo = Some(
            crate::demo::build(app, story, clock, &demo_data.network, &demo_data.password).await?,
        );
    }
    Ok(report)
}

fn one_time_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
