//! An application layer on a fresh, migrated database with the projectors its reads need.

use imi_app::caller::Caller;
use imi_app::dispatch::Wait;
use imi_app::registration::NationalCoordinator;
use imi_app::users::NewAccount;
use imi_app::App;
use imi_domain::reference::{Language, MemberState};
use imi_projections::runner::Runner;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const PASSWORD: &str = "correct horse battery staple";

pub fn english() -> Language {
    Language::parse("en").expect("en")
}

/// The application layer, and the database it runs on (kept alive with it).
pub struct Scene {
    pub app: App,
    _db: imi_testkit::TestDb,
}

/// The projections every test here waits for.
pub fn read_models() -> Wait {
    Wait::of(
        Some(vec![
            imi_projections::directory::NAME.to_string(),
            imi_projections::users::NAME.to_string(),
            imi_projections::notifications::NAME.to_string(),
        ]),
        &[],
    )
    .expect("known projections")
}

pub async fn start() -> Scene {
    let projections: Vec<Arc<dyn imi_projections::Projection>> = vec![
        Arc::new(imi_projections::directory::AuthorityDirectory),
        Arc::new(imi_projections::users::AuthorityUsers),
        Arc::new(imi_projections::notifications::Notifications),
    ];
    start_with(projections).await
}

/// The projections the data subjects' requests read: those of [`start`], the requests' and
/// the subject requests' own.
pub fn exchange_read_models() -> Vec<Arc<dyn imi_projections::Projection>> {
    vec![
        Arc::new(imi_projections::directory::AuthorityDirectory),
        Arc::new(imi_projections::users::AuthorityUsers),
        Arc::new(imi_projections::notifications::Notifications),
        Arc::new(imi_projections::request_monitoring::RequestMonitoring),
        Arc::new(imi_projections::request_full::RequestFull),
        Arc::new(imi_projections::subject_requests::SubjectRequests),
    ]
}

/// As [`start`], with [`exchange_read_models`] running and the bundled reference data loaded.
pub async fn start_with_exchanges() -> Scene {
    let scene = start_with(exchange_read_models()).await;
    let reference = imi_store::reference::ReferenceData::bundled().expect("reference data");
    imi_store::reference::load(&scene.app.pool, &reference)
        .await
        .expect("load the reference data");
    scene
}

async fn start_with(projections: Vec<Arc<dyn imi_projections::Projection>>) -> Scene {
    let db = imi_testkit::fresh_database().await;
    imi_store::migrate(&db.pool).await.expect("migrate");
    let pool = db.pool.clone();
    let wake = Wake::local_only();
    let app = App::on_pool(
        pool.clone(),
        KeyRing::new(pool.clone(), MasterKey::generate()),
        wake.clone(),
        Arc::new(imi_domain::authority::SystemClock),
    );
    // One lock connection for all the runners: the test database's pool is small.
    let locks = Arc::new(imi_projections::active::ActiveLocks::new(pool.clone()));
    for projection in projections {
        let runner = Runner::new(pool.clone(), projection)
            .with_local_wake(wake.subscribe())
            .with_locks(locks.clone());
        tokio::spawn(async move {
            if let Err(error) = runner.run().await {
                panic!("a runner stopped: {error}");
            }
        });
    }
    Scene { app, _db: db }
}

impl Scene {
    /// Registers the national coordinator `nimic-<ms>` of `member_state`; returns its first
    /// user (a local data administrator) as a caller.
    pub async fn nimic(&self, member_state: &str) -> Caller {
        let ms = member_state.to_ascii_lowercase();
        let authority_id = format!("nimic-{ms}");
        let user_id = format!("user-nimic-{ms}");
        let coordinator = NationalCoordinator {
            authority_id: authority_id.clone(),
            member_state: MemberState::parse(member_state).expect("member state"),
            official_name: format!("National IMI Coordinator {member_state}"),
            informal_titles: BTreeMap::new(),
            first_user_id: user_id.clone(),
        };
        let account = NewAccount {
            login: format!("{ms}.nimic"),
            password: PASSWORD.to_string(),
            name: format!("Coordinator {member_state}"),
            email: format!("nimic@{ms}.example"),
        };
        let outcome = self
            .app
            .register_national_coordinator(
                &Caller::system("test", english()),
                coordinator,
                &account,
            )
            .await
            .expect("register the national coordinator");
        self.app
            .settle(outcome.position, &read_models())
            .await
            .expect("wait for the read models");
        self.app
            .ensure_credentials(&user_id, &authority_id, &account.login, PASSWORD)
            .await
            .expect("credentials");
        Caller::user(&user_id, &authority_id, english())
    }

    /// `by` (a local data administrator) registers a user `login` of its authority.
    pub async fn user(&self, by: &Caller, login: &str) -> Caller {
        let (_, authority_id) = by.user_ids().expect("a user");
        let authority_id = authority_id.to_string();
        let account = NewAccount {
            login: login.to_string(),
            password: PASSWORD.to_string(),
            name: format!("User {login}"),
            email: format!("{login}@example.org"),
        };
        let (outcome, user_id) = self
            .app
            .register_user(by, &authority_id, &account, false, &read_models())
            .await
            .expect("register a user");
        assert!(outcome.waited, "the read models did not catch up");
        Caller::user(&user_id, &authority_id, english())
    }
}
