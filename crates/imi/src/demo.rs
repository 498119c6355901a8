//! The living demo: for DE, FR, AT, NL and PL, the national coordinator as request coordinator
//! and incoming alert postbox in PQ and SD, a PQ and an SD competent authority, users for every
//! role, and requests and alerts in every state. Everything goes through the application
//! layer's use cases, as the users named in the README would issue them.
//!
//! The exchanges tell a story that began [`STORY_DAYS`] days ago, on a clock of their own that
//! only moves forward, so that comment and objection periods have passed for the alerts that
//! need it. Idempotent: authorities and requests have fixed ids, users fixed logins, and every
//! exchange's commands carry the correlation id `demo-<name>`; what exists is skipped.

use anyhow::{anyhow, Context, Result};
use chrono::Duration;
use imi_app::alerts::{AlertInput, AlertTextStep, InformationInput, SdAlertInput};
use imi_app::registration::Placement;
use imi_app::requests::{ContentInput, SubjectInput};
use imi_app::users::NewAccount;
use imi_app::{App, AppError, Caller, Code, Wait};
use imi_domain::alert::{AlertCommand, InformationKind};
use imi_domain::authority::Clock;
use imi_domain::authority::{
    AuthorityCommand, AuthorityData, AuthorityKind, ContactDetails, Flag, LegislativeArea,
    UserRole, Workflow, WorkflowRole, WorkflowSetup,
};
use imi_domain::reference::{Language, MemberState};
use imi_domain::request::RequestCommand;
use imi_store::clock::AdjustableClock;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How many days ago the demo's story began.
pub const STORY_DAYS: i64 = 30;

/// A Member State of the demo network.
#[derive(Deserialize)]
pub struct DemoCountry {
    pub member_state: String,
    /// The official names of its PQ and SD competent authorities.
    pub pq: String,
    pub sd: String,
    pub city: String,
}

/// What a run added.
#[derive(Debug, Default)]
pub struct DemoReport {
    pub authorities: usize,
    pub users: usize,
    pub exchanges: usize,
}

fn failed(e: AppError) -> anyhow::Error {
    anyhow!("{} ({})", e.message, e.code.as_str())
}

/// Runs a step again after a conflict, as a client does: the scheduler may act on the same
/// exchange meanwhile (the story's deadlines fall due on the system clock).
async fn retried<T, F, Fut>(mut step: F) -> Result<T, AppError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let mut attempts = 0;
    loop {
        match step().await {
            Err(e) if e.code == Code::Conflict && attempts < 10 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            result => return result,
        }
    }
}

fn area(code: &str) -> LegislativeArea {
    LegislativeArea::parse(code).expect("PQ and SD are legislative areas")
}

fn en() -> Language {
    Language::parse("en").expect("en")
}

/// Roles by legislative area.
pub type Roles = Vec<(&'static str, UserRole)>;

/// The users of the demo by login (`<ms>.…`): their authority and their roles in PQ and SD.
/// The first of each authority is its local data administrator (the national coordinator's
/// also a data administrator in PQ and SD).
pub fn logins(ms: &str) -> Vec<(String, String, Roles)> {
    use UserRole::*;
    let (nimic, pq, sd) = (
        format!("nimic-{ms}"),
        format!("{ms}-pq"),
        format!("{ms}-sd"),
    );
    let both = |role| vec![("PQ", role), ("SD", role)];
    vec![
        (
            format!("{ms}.nimic"),
            nimic.clone(),
            both(DataAdministrator),
        ),
        (
            format!("{ms}.requests"),
            nimic.clone(),
            both(RequestHandler),
        ),
        (
            format!("{ms}.referral"),
            nimic.clone(),
            both(ReferralHandler),
        ),
        (
            format!("{ms}.alerts"),
            nimic.clone(),
            [both(AlertHandler), both(AlertDisseminator)].concat(),
        ),
        (format!("{ms}.pq.admin"), pq.clone(), vec![]),
        (
            format!("{ms}.pq.handler"),
            pq.clone(),
            vec![("PQ", RequestHandler)],
        ),
        (
            format!("{ms}.pq.allocator"),
            pq.clone(),
            vec![("PQ", Allocator)],
        ),
        (
            format!("{ms}.pq.alerts"),
            pq.clone(),
            vec![("PQ", AlertHandler)],
        ),
        // Every user is a basic user; this one has no other role.
        (format!("{ms}.pq.basic"), pq, vec![]),
        (format!("{ms}.sd.admin"), sd.clone(), vec![]),
        (format!("{ms}.sd.alerts"), sd, vec![("SD", AlertHandler)]),
    ]
}

struct Demo<'a> {
    app: &'a App,
    /// The application on the story's clock.
    story: App,
    clock: Arc<AdjustableClock>,
    password: String,
    report: DemoReport,
}

/// Builds the demo network and its exchanges on `app`, each user with `password`. `story` is
/// the application on `clock`, which this moves from [`STORY_DAYS`] days ago to `app`'s now.
pub async fn build(
    app: &App,
    story: App,
    clock: Arc<AdjustableClock>,
    countries: &[DemoCountry],
    password: &str,
) -> Result<DemoReport> {
    let mut demo = Demo {
        app,
        story,
        clock,
        password: password.to_string(),
        report: DemoReport::default(),
    };
    for c in countries {
        demo.country(c)
            .await
            .with_context(|| format!("the demo network of {}", c.member_state))?;
    }
    demo.exchanges().await.context("the demo exchanges")?;
    Ok(demo.report)
}

impl Demo<'_> {
    /// The caller signed in as `login`, on the story's clock, tagged with `story`.
    async fn caller(&self, login: &str, story: &str) -> Result<Caller> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT user_id, authority_id FROM credentials WHERE login = lower($1)")
                .bind(login)
                .fetch_optional(&self.app.pool)
                .await?;
        let (user_id, authority_id) = row.ok_or_else(|| anyhow!("no demo user {login}"))?;
        Ok(Caller::user(&user_id, &authority_id, en())
            .with_correlation_id(Some(format!("demo-{story}"))))
    }

    async fn done(&self, story: &str) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM events WHERE metadata->>'correlation_id' = $1)",
        )
        .bind(format!("demo-{story}"))
        .fetch_one(&self.app.pool)
        .await?)
    }

    async fn authority_exists(&self, id: &str) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM events WHERE aggregate_type = 'Authority' AND aggregate_id = $1)",
        )
        .bind(id)
        .fetch_one(&self.app.pool)
        .await?)
    }

    async fn authority(&self, by: &Caller, id: &str, command: AuthorityCommand) -> Result<()> {
        let name = command.name();
        self.app
            .authority_command(by, id, command, &Wait::none())
            .await
            .map_err(failed)
            .with_context(|| format!("{name} on {id}"))?;
        Ok(())
    }

    fn account(&self, login: &str, c: &DemoCountry) -> NewAccount {
        let name = login.replace('.', " ");
        NewAccount {
            login: login.to_string(),
            password: self.password.clone(),
            name: format!("Demo {name}"),
            email: format!("{login}@{}.imi.example.eu", c.member_state.to_lowercase()),
        }
    }

    /// Grants `login`'s roles, one area at a time, as its authority's first administrator.
    async fn grant(
        &self,
        lda: &Caller,
        authority: &str,
        login: &str,
        roles: &[(&str, UserRole)],
    ) -> Result<()> {
        let user_id = self
            .caller(login, "network")
            .await?
            .user_ids()
            .map(|(u, _)| u.to_string());
        let user_id = user_id.expect("a user caller");
        let mut by_area: BTreeMap<&str, BTreeSet<UserRole>> = BTreeMap::new();
        for (a, role) in roles {
            by_area.entry(*a).or_default().insert(*role);
        }
        for (a, roles) in by_area {
            let command = AuthorityCommand::GrantUserRoles {
                user_id: user_id.clone(),
                area: area(a),
                roles,
            };
            self.authority(lda, authority, command).await?;
        }
        Ok(())
    }

    async fn country(&mut self, c: &DemoCountry) -> Result<()> {
        let ms = c.member_state.to_lowercase();
        let nimic = format!("nimic-{ms}");
        let lda = self.caller(&format!("{ms}.nimic"), "network").await?;
        let users = logins(&ms);
        // The national coordinator: request coordinator and incoming alert postbox in PQ and SD.
        if !self.done(&format!("coordinator-{ms}")).await? {
            let tagged = lda
                .clone()
                .with_correlation_id(Some(format!("demo-coordinator-{ms}")));
            self.grant(&tagged, &nimic, &users[0].0, &users[0].2)
                .await?;
            for a in ["PQ", "SD"] {
                let workflows = BTreeMap::from([
                    (
                        Workflow::Requests,
                        setup(WorkflowRole::RequestCoordinator, &nimic),
                    ),
                    (
                        Workflow::Alerts,
                        setup(WorkflowRole::IncomingAlertPostbox, &nimic),
                    ),
                ]);
                let command = AuthorityCommand::GrantAreaAccess {
                    area: area(a),
                    workflows,
                };
                self.authority(&tagged, &nimic, command).await?;
            }
        }
        // Its competent authorities, each linked to it in both workflows of its area.
        for (suffix, a, name) in [("pq", "PQ", &c.pq), ("sd", "SD", &c.sd)] {
            let id = format!("{ms}-{suffix}");
            if self.authority_exists(&id).await? {
                continue;
            }
            let access = BTreeMap::from([(
                area(a),
                BTreeMap::from([
                    (
                        Workflow::Requests,
                        setup(WorkflowRole::RequestAuthority, &nimic),
                    ),
                    (
                        Workflow::Alerts,
                        setup(WorkflowRole::AlertAuthority, &nimic),
                    ),
                ]),
            )]);
            let placement = Placement {
                kind: AuthorityKind::CompetentAuthority,
                region: None,
                coordinated_areas: BTreeSet::new(),
                access,
            };
            let data = AuthorityData {
                official_name: name.clone(),
                informal_titles: BTreeMap::new(),
                description: Some(format!("Demo competent authority in {a}")),
                contact: ContactDetails {
                    city: Some(c.city.clone()),
                    email: Some(format!("office@{id}.imi.example.eu")),
                    ..ContactDetails::default()
                },
                contact_person: None,
            };
            let first = self.account(&format!("{ms}.{suffix}.admin"), c);
            self.app
                .register_authority(&lda, &id, placement, data, &first, &Wait::none())
                .await
                .map_err(failed)
                .with_context(|| format!("registering {id}"))?;
            self.report.authorities += 1;
            self.report.users += 1;
            let admin = self.caller(&first.login, "network").await?;
            let (_, _, roles) = users
                .iter()
                .find(|(l, _, _)| *l == first.login)
                .expect("listed");
            self.grant(&admin, &id, &first.login, roles).await?;
            if suffix == "pq" && ms == "de" {
                // German requests go through their coordinator's approval.
                self.flag(&lda, &id, Flag::ApprovalOfNewRequests).await?;
            }
            if suffix == "pq" && ms == "fr" {
                // French incoming requests are allocated to a handler first.
                self.flag(&admin, &id, Flag::Allocation).await?;
            }
        }
        // The other users, registered by their authority's first administrator.
        for (login, authority, roles) in &users {
            let taken = imi_store::credentials::login_taken(&self.app.pool, login).await?;
            if taken {
                continue;
            }
            let admin_login = users
                .iter()
                .find(|(_, a, _)| a == authority)
                .map(|(l, _, _)| l.clone())
                .expect("every authority has its administrator first");
            let admin = self.caller(&admin_login, "network").await?;
            self.app
                .register_user(
                    &admin,
                    authority,
                    &self.account(login, c),
                    false,
                    &Wait::none(),
                )
                .await
                .map_err(failed)
                .with_context(|| format!("registering {login}"))?;
            self.report.users += 1;
            self.grant(&admin, authority, login, roles).await?;
        }
        Ok(())
    }

    async fn flag(&self, by: &Caller, id: &str, flag: Flag) -> Result<()> {
        let command = AuthorityCommand::SetFlag {
            area: area("PQ"),
            workflow: Workflow::Requests,
            flag,
            enabled: true,
        };
        self.authority(by, id, command).await
    }

    /// Moves the story's clock to `days_ago` days before now (never back).
    fn at_day(&self, days_ago: i64) {
        let target = self.app.clock.now() - Duration::days(days_ago);
        let by = target - self.clock.now();
        if by > Duration::zero() {
            self.clock.advance(by);
        }
    }

    async fn exchanges(&mut self) -> Result<()> {
        self.closures().await?;
        // The rest happens now.
        self.at_day(0);
        self.alert_closure_proposed().await?;
        self.alert_broadcast().await?;
        self.alert_sent_back().await?;
        self.alert_submitted().await?;
        self.alert_draft().await?;
        self.alert_withdrawn().await?;
        self.requests().await?;
        Ok(())
    }
}

fn setup(role: WorkflowRole, coordinator: &str) -> WorkflowSetup {
    WorkflowSetup {
        role,
        linked_coordinators: BTreeSet::from([coordinator.to_string()]),
    }
}

// --- Alerts --------------------------------------------------------------------------------

fn sd_alert(provider: &str, activity: &str, mse: Option<&str>) -> AlertInput {
    AlertInput::Services(SdAlertInput {
        service_activity: None,
        member_state_of_establishment: mse.map(str::to_string),
        dangerous_activity: activity.to_string(),
        service_provider: provider.to_string(),
        attachment_names: vec!["inspection-report.pdf".to_string()],
    })
}

fn member_states(codes: &[&str]) -> BTreeSet<MemberState> {
    codes
        .iter()
        .map(|c| MemberState::parse(c).expect("a Member State"))
        .collect()
}

impl Demo<'_> {
    /// Drafts an SD alert by `ms`'s SD authority; with `submit`, submits it to its
    /// coordinator; with `broadcast`, the coordinator broadcasts it to those Member States.
    async fn sd_alert(
        &self,
        story: &str,
        ms: &str,
        content: AlertInput,
        submit: bool,
        broadcast: &[&str],
    ) -> Result<String> {
        let app = &self.story;
        let handler = self.caller(&format!("{ms}.sd.alerts"), story).await?;
        let (id, _) = app
            .draft_alert(&handler, "SD", content, &Wait::none())
            .await
            .map_err(failed)?;
        if submit {
            let command = AlertCommand::SubmitAlert {
                coordinator_id: format!("nimic-{ms}"),
            };
            let wait = Wait::none();
            retried(|| app.alert_step(&handler, &id, command.clone(), &wait))
                .await
                .map_err(failed)?;
        }
        if !broadcast.is_empty() {
            let coordinator = self.caller(&format!("{ms}.alerts"), story).await?;
            let command = AlertCommand::BroadcastAlert {
                member_states: member_states(broadcast),
            };
            let wait = Wait::none();
            retried(|| app.alert_step(&coordinator, &id, command.clone(), &wait))
                .await
                .map_err(failed)?;
        }
        Ok(id)
    }

    async fn alert_step(
        &self,
        login: &str,
        story: &str,
        id: &str,
        command: AlertCommand,
    ) -> Result<()> {
        let by = self.caller(login, story).await?;
        let wait = Wait::none();
        retried(|| self.story.alert_step(&by, id, command.clone(), &wait))
            .await
            .map_err(failed)
            .with_context(|| format!("{story}: a step by {login}"))?;
        Ok(())
    }

    async fn alert_text(
        &self,
        login: &str,
        story: &str,
        id: &str,
        step: AlertTextStep,
        text: &str,
    ) -> Result<()> {
        let by = self.caller(login, story).await?;
        let wait = Wait::none();
        retried(|| {
            self.story
                .alert_text_step(&by, id, step.clone(), text, &wait)
        })
        .await
        .map_err(failed)
        .with_context(|| format!("{story}: a step by {login}"))?;
        Ok(())
    }

    /// Acknowledged by `ms`'s postbox and disseminated to its SD authority.
    async fn receive(&self, story: &str, ms: &str, id: &str) -> Result<()> {
        let postbox = format!("{ms}.alerts");
        self.alert_step(&postbox, story, id, AlertCommand::AcknowledgeReceipt)
            .await?;
        let command = AlertCommand::AddRecipients {
            authorities: BTreeSet::from([format!("{ms}-sd")]),
        };
        self.alert_step(&postbox, story, id, command).await
    }

    /// Two SD alerts whose closure needs time: one closed (comment period 7 days, objection
    /// period 14 days, France objects), one whose closure proposal is broadcast and whose
    /// objection period still runs. Days before now: 30 and 29 proposed, 22 the first
    /// broadcast, 10 the second broadcast, 7 the first closed.
    async fn closures(&mut self) -> Result<()> {
        let (closed, broadcast) = ("alert-closed", "alert-closure-proposal-broadcast");
        if self.done(closed).await? {
            return Ok(());
        }
        self.at_day(STORY_DAYS);
        let content = sd_alert(
            "Gasbau Falsch GmbH, Hauptstraße 1, 10115 Berlin",
            "Unlicensed gas installations in residential buildings",
            None,
        );
        let first = self
            .sd_alert(closed, "de", content, true, &["FR", "AT"])
            .await?;
        self.receive(closed, "fr", &first).await?;
        self.receive(closed, "at", &first).await?;
        let information = InformationInput {
            kind: InformationKind::Information,
            coordinator_id: "nimic-fr".to_string(),
            text: "The firm also operates in Strasbourg".to_string(),
            attachment_names: Vec::new(),
        };
        let by = self.caller("fr.sd.alerts", closed).await?;
        let wait = Wait::none();
        let (information_id, _) = retried(|| {
            self.story
                .submit_alert_information(&by, &first, information.clone(), &wait)
        })
        .await
        .map_err(failed)?;
        let command = AlertCommand::BroadcastAdditionalInformation { information_id };
        self.alert_step("fr.alerts", closed, &first, command)
            .await?;
        let closing = AlertTextStep::ProposeClosure {
            closing_coordinator_id: "nimic-de".to_string(),
        };
        self.alert_text(
            "de.sd.alerts",
            closed,
            &first,
            closing,
            "The licence was withdrawn and the firm closed",
        )
        .await?;

        self.at_day(STORY_DAYS - 1);
        let content = sd_alert(
            "Dachdeckerei Steil KG, Mariahilfer Straße 20, 1060 Wien",
            "Roof works without fall protection on public buildings",
            None,
        );
        let second = self
            .sd_alert(broadcast, "at", content, true, &["DE", "PL"])
            .await?;
        self.receive(broadcast, "de", &second).await?;
        let closing = AlertTextStep::ProposeClosure {
            closing_coordinator_id: "nimic-at".to_string(),
        };
        self.alert_text(
            "at.sd.alerts",
            broadcast,
            &second,
            closing,
            "The firm gave up roofing",
        )
        .await?;

        self.at_day(22);
        self.alert_step(
            "de.alerts",
            closed,
            &first,
            AlertCommand::BroadcastClosureProposal,
        )
        .await?;
        self.alert_text(
            "fr.alerts",
            closed,
            &first,
            AlertTextStep::Object,
            "The firm still operates in Strasbourg",
        )
        .await?;
        self.at_day(10);
        self.alert_step(
            "at.alerts",
            broadcast,
            &second,
            AlertCommand::BroadcastClosureProposal,
        )
        .await?;
        self.at_day(7);
        self.alert_step("de.alerts", closed, &first, AlertCommand::CloseAlert)
            .await?;
        self.report.exchanges += 2;
        Ok(())
    }

    async fn alert_closure_proposed(&mut self) -> Result<()> {
        let story = "alert-closure-proposed";
        if self.done(story).await? {
            return Ok(());
        }
        let content = sd_alert(
            "Elektro Blitz Sp. z o.o., ul. Prosta 5, 00-850 Warszawa",
            "Electrical installations without earthing in schools",
            None,
        );
        let id = self
            .sd_alert(story, "pl", content, true, &["DE", "NL"])
            .await?;
        self.receive(story, "nl", &id).await?;
        let closing = AlertTextStep::ProposeClosure {
            closing_coordinator_id: "nimic-pl".to_string(),
        };
        self.alert_text(
            "pl.sd.alerts",
            story,
            &id,
            closing,
            "The installations were redone",
        )
        .await?;
        self.report.exchanges += 1;
        Ok(())
    }

    async fn alert_broadcast(&mut self) -> Result<()> {
        let story = "alert-broadcast";
        if self.done(story).await? {
            return Ok(());
        }
        let content = sd_alert(
            "Sécurité Incendie Express SARL, 12 rue de la Paix, 75002 Paris",
            "Fire alarm systems installed without certification in hotels",
            Some("FR"),
        );
        let id = self
            .sd_alert(story, "fr", content, true, &["DE", "AT", "NL"])
            .await?;
        self.receive(story, "de", &id).await?;
        self.report.exchanges += 1;
        Ok(())
    }

    async fn alert_sent_back(&mut self) -> Result<()> {
        let story = "alert-sent-back";
        if self.done(story).await? {
            return Ok(());
        }
        let content = sd_alert(
            "Kran & Hebe GmbH, Ringstraße 3, 8010 Graz",
            "Cranes operated without inspection",
            None,
        );
        let id = self.sd_alert(story, "at", content, true, &[]).await?;
        self.alert_text(
            "at.alerts",
            story,
            &id,
            AlertTextStep::SendBack,
            "Please name the sites concerned",
        )
        .await?;
        self.report.exchanges += 1;
        Ok(())
    }

    async fn alert_submitted(&mut self) -> Result<()> {
        let story = "alert-submitted";
        if self.done(story).await? {
            return Ok(());
        }
        let content = sd_alert(
            "Snel Verhuis B.V., Kade 7, 2511 Den Haag",
            "Removal vans overloaded on motorways",
            None,
        );
        self.sd_alert(story, "nl", content, true, &[]).await?;
        self.report.exchanges += 1;
        Ok(())
    }

    async fn alert_draft(&mut self) -> Result<()> {
        let story = "alert-draft";
        if self.done(story).await? {
            return Ok(());
        }
        let content = sd_alert(
            "Budowlanka Tanio S.A., ul. Długa 1, 31-147 Kraków",
            "Scaffolding without anchoring",
            None,
        );
        self.sd_alert(story, "pl", content, false, &[]).await?;
        self.report.exchanges += 1;
        Ok(())
    }

    async fn alert_withdrawn(&mut self) -> Result<()> {
        let story = "alert-withdrawn";
        if self.done(story).await? {
            return Ok(());
        }
        let content = sd_alert(
            "Schoonmaak Glans B.V., Laan 9, 3011 Rotterdam",
            "Cleaning agents mixed into toxic gases at client premises",
            None,
        );
        let id = self.sd_alert(story, "nl", content, true, &["DE"]).await?;
        self.alert_text(
            "nl.sd.alerts",
            story,
            &id,
            AlertTextStep::Withdraw,
            "Based on a mix-up of firms",
        )
        .await?;
        self.report.exchanges += 1;
        Ok(())
    }
}

// --- Requests ------------------------------------------------------------------------------

/// How far a demo request goes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Draft,
    Sent,
    Accepted,
    PartiallyAnswered,
    Answered,
    AdditionalInformation,
    Referral,
    Closed,
}

/// The demo requests: id, requesting and responding Member State, how far each goes (the
/// awaiting-approval and withdrawn ones are told apart below), and the person concerned.
pub const REQUESTS: [(&str, &str, &str, &str); 10] = [
    ("demo-request-draft", "de", "fr", "Dr. Anna Beispiel"),
    ("demo-request-awaiting-approval", "de", "at", "Jan Kowalski"),
    ("demo-request-sent", "at", "nl", "Maria Huber"),
    ("demo-request-accepted", "nl", "pl", "Pieter de Vries"),
    (
        "demo-request-partially-answered",
        "pl",
        "de",
        "Katarzyna Nowak",
    ),
    ("demo-request-answered", "fr", "at", "Claire Martin"),
    (
        "demo-request-additional-information",
        "at",
        "fr",
        "Lukas Gruber",
    ),
    ("demo-request-in-referral", "nl", "de", "Sanne Jansen"),
    ("demo-request-closed", "de", "fr", "Dr. Ingrid Vollmer"),
    ("demo-request-withdrawn", "pl", "nl", "Tomasz Wiśniewski"),
];

impl Demo<'_> {
    async fn requests(&mut self) -> Result<()> {
        use Stage::*;
        for (id, from, to, subject) in REQUESTS {
            if self.done(id).await? {
                continue;
            }
            let stage = match id {
                "demo-request-draft" => Draft,
                "demo-request-awaiting-approval"
                | "demo-request-sent"
                | "demo-request-withdrawn" => Sent,
                "demo-request-accepted" => Accepted,
                "demo-request-partially-answered" => PartiallyAnswered,
                "demo-request-answered" => Answered,
                "demo-request-additional-information" => AdditionalInformation,
                "demo-request-in-referral" => Referral,
                _ => Closed,
            };
            self.request(id, from, to, subject, stage)
                .await
                .with_context(|| id.to_string())?;
            if id == "demo-request-withdrawn" {
                let command = RequestCommand::Withdraw {
                    reason: "The applicant withdrew her application".to_string(),
                };
                self.request_step(&format!("{from}.pq.handler"), id, command)
                    .await?;
            }
            self.report.exchanges += 1;
        }
        Ok(())
    }

    async fn request_step(&self, login: &str, id: &str, command: RequestCommand) -> Result<()> {
        let name = command.name();
        let by = self.caller(login, id).await?;
        let wait = Wait::none();
        retried(|| self.story.request_step(&by, id, command.clone(), &wait))
            .await
            .map_err(failed)
            .with_context(|| format!("{name} by {login}"))?;
        Ok(())
    }

    async fn request(
        &self,
        id: &str,
        from: &str,
        to: &str,
        subject: &str,
        stage: Stage,
    ) -> Result<()> {
        let app = &self.story;
        let requester = self.caller(&format!("{from}.pq.handler"), id).await?;
        let content = ContentInput {
            question_set: "PQ-GEN".to_string(),
            questions: vec!["PQ-GEN-01".to_string(), "PQ-GEN-02".to_string()],
            free_text: Some(format!(
                "{subject} applies for recognition of her or his diploma"
            )),
            subject: SubjectInput {
                name: subject.to_string(),
                birth_date: Some("1980-05-17".to_string()),
                ..SubjectInput::default()
            },
            attachments: Vec::new(),
            proposed_answer_date: (self.app.clock.now() + Duration::days(60)).date_naive(),
            responding_authority: format!("{to}-pq"),
            request_coordinator: None,
        };
        app.draft_request(&requester, Some(id), "PQ", content, &Wait::none())
            .await
            .map_err(failed)
            .context("drafting")?;
        if stage == Stage::Draft {
            return Ok(());
        }
        let handler = format!("{from}.pq.handler");
        self.request_step(&handler, id, RequestCommand::Send)
            .await?;
        // German requests wait for their coordinator's approval; one is left waiting.
        if from == "de" {
            if id == "demo-request-awaiting-approval" {
                return Ok(());
            }
            self.request_step("de.requests", id, RequestCommand::ApproveRequest)
                .await?;
        }
        if stage == Stage::Sent {
            return Ok(());
        }
        let responder = format!("{to}.pq.handler");
        if to == "fr" {
            let command = RequestCommand::Assign {
                handlers: BTreeSet::from([self.user_id(&responder).await?]),
            };
            self.request_step("fr.pq.allocator", id, command).await?;
        }
        let accept = RequestCommand::Accept {
            request_coordinator: None,
        };
        self.request_step(&responder, id, accept).await?;
        if stage == Stage::Accepted {
            return Ok(());
        }
        let by = self.caller(&responder, id).await?;
        let answer = |q: &str, text: &str| vec![(q.to_string(), text.to_string())];
        app.reply_to_request(
            &by,
            id,
            false,
            &answer("PQ-GEN-01", "Registered since 2011 under number 75-31415"),
            &[],
            &Wait::none(),
        )
        .await
        .map_err(failed)
        .context("the partial reply")?;
        if stage == Stage::PartiallyAnswered {
            return Ok(());
        }
        app.reply_to_request(
            &by,
            id,
            true,
            &answer("PQ-GEN-02", "The diploma is authentic"),
            &[],
            &Wait::none(),
        )
        .await
        .map_err(failed)
        .context("the full reply")?;
        if stage == Stage::Answered {
            return Ok(());
        }
        let requester = self.caller(&handler, id).await?;
        app.request_additional_information(
            &requester,
            id,
            "Please confirm the registration number",
            &["PQ-GEN-01".to_string()],
            &Wait::none(),
        )
        .await
        .map_err(failed)
        .context("asking for additional information")?;
        if stage == Stage::AdditionalInformation {
            return Ok(());
        }
        app.maintain_reply(&by, id, Some("The number is correct"), &Wait::none())
            .await
            .map_err(failed)
            .context("maintaining the reply")?;
        self.request_step(&handler, id, RequestCommand::OpenReferral)
            .await?;
        if stage == Stage::Referral {
            return Ok(());
        }
        let (requesting, responding) = (format!("{from}.referral"), format!("{to}.referral"));
        let participates = RequestCommand::DecideReferralParticipation { participates: true };
        self.request_step(&requesting, id, participates).await?;
        let referee = self.caller(&requesting, id).await?;
        app.give_referral_opinion(
            &referee,
            id,
            "The reply answers the question",
            true,
            &Wait::none(),
        )
        .await
        .map_err(failed)
        .context("the referral opinion")?;
        let declines = RequestCommand::DecideReferralParticipation {
            participates: false,
        };
        self.request_step(&responding, id, declines).await?;
        self.request_step(&handler, id, RequestCommand::Close)
            .await?;
        self.request_step(
            &handler,
            id,
            RequestCommand::RateReply {
                timeliness: 4,
                effort: 3,
            },
        )
        .await
    }

    async fn user_id(&self, login: &str) -> Result<String> {
        let caller = self.caller(login, "network").await?;
        Ok(caller
            .user_ids()
            .map(|(u, _)| u.to_string())
            .expect("a user"))
    }
}
