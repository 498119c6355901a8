//! Loading reference data: the reference tables (Member States, languages, legislative areas,
//! keyword lists, professions, service activities, registers, helpdesks), then every Member
//! State's National IMI Coordinator and its first local data administrator; with `demo`, known
//! passwords and extra informal titles. Idempotent: a second run changes nothing.

use anyhow::{Context, Result};
use imi_domain::actor::Actor;
use imi_domain::authority::{user_key_id, AuthorityCommand, NewUser};
use imi_domain::command::Issued;
use imi_domain::reference::{Language, MemberState};
use imi_store::authority_bus::AuthorityBus;
use imi_store::metadata::CommandMetadata;
use imi_store::reference::{self, LoadReport, ReferenceData};
use imi_store::sealing::KeyRing;
use serde::Deserialize;
use sqlx::PgPool;
use std::collections::BTreeMap;

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
}

/// Seeds with the reference data bundled into this build.
pub async fn seed(
    pool: &PgPool,
    authorities: &AuthorityBus,
    keyring: &KeyRing,
    demo: bool,
) -> Result<SeedReport> {
    let data = ReferenceData::bundled().context("the bundled reference data")?;
    seed_with(pool, authorities, keyring, demo, &data).await
}

/// Seeds with the reference data set `data` (e.g. read from a folder).
pub async fn seed_with(
    pool: &PgPool,
    authorities: &AuthorityBus,
    keyring: &KeyRing,
    demo: bool,
    data: &ReferenceData,
) -> Result<SeedReport> {
    let coordinators: Vec<Coordinator> = serde_json::from_str(COORDINATORS)?;
    let demo_data: Demo = serde_json::from_str(DEMO)?;
    let system = Actor::system("seed");
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
        if !exists {
            let user = &c.first_user;
            let identity = keyring
                .seal(
                    &user_key_id(&user.user_id),
                    &serde_json::json!({"name": user.name, "email": user.email, "login": user.login}),
                )
                .await?;
            let mut titles = BTreeMap::new();
            for (language, title) in &c.informal_titles {
                titles.insert(Language::parse(language)?, title.clone());
            }
            let command = AuthorityCommand::RegisterNationalCoordinator {
                member_state: MemberState::parse(&c.member_state)?,
                official_name: c.official_name.clone(),
                informal_titles: titles,
                first_user: NewUser {
                    user_id: user.user_id.clone(),
                    identity,
                },
            };
            authorities
                .execute(
                    &c.authority_id,
                    Issued::new(system.clone(), command),
                    CommandMetadata::for_actor(&system),
                )
                .await
                .with_context(|| format!("registering {}", c.authority_id))?;
            report.authorities_registered += 1;
        }
        let has_password: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM credentials WHERE user_id = $1)")
                .bind(&c.first_user.user_id)
                .fetch_one(pool)
                .await?;
        let password = if has_password {
            None
        } else {
            let password = if demo {
                demo_data.password.clone()
            } else {
                one_time_password()
            };
            imi_store::credentials::set(
                pool,
                &c.first_user.user_id,
                &c.authority_id,
                &c.first_user.login,
                &password,
            )
            .await?;
            Some(password)
        };
        report.logins.push(SeededLogin {
            login: c.first_user.login.clone(),
            authority_id: c.authority_id.clone(),
            password,
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
            let lda = Actor::User {
                user_id: c.first_user.user_id.clone(),
                authority_id: c.authority_id.clone(),
            };
            authorities
                .execute(
                    &t.authority_id,
                    Issued::new(
                        lda.clone(),
                        AuthorityCommand::SetInformalTitle {
                            language: Language::parse(&t.language)?,
                            title: Some(t.title.clone()),
                        },
                    ),
                    CommandMetadata::for_actor(&lda),
                )
                .await?;
        }
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
