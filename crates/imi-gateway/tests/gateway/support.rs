//! A gateway on a fresh, migrated database, served on a free port, its projector running; and a
//! client that speaks GraphQL over HTTP to it.

use imi_domain::actor::Actor;
use imi_domain::authority::{user_key_id, AuthorityCommand, NewUser};
use imi_domain::command::Issued;
use imi_domain::reference::{Language, MemberState};
use imi_gateway::Services;
use imi_projections::directory::AuthorityDirectory;
use imi_projections::runner::Runner;
use imi_store::metadata::CommandMetadata;
use imi_store::sealing::{KeyRing, MasterKey};
use imi_store::wake::Wake;
use imi_store::PgPool;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const SECRET: &[u8] = b"gateway-tests-token-secret-0123456789";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct Gateway {
    pub base: String,
    pub pool: PgPool,
    pub services: Services,
    pub http: reqwest::Client,
}

/// A user that can sign in, of a registered national coordinator.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub authority_id: String,
    pub user_id: String,
    pub login: String,
}

pub fn services(pool: PgPool) -> Services {
    services_with_clock(pool, Arc::new(imi_domain::authority::SystemClock))
}

/// [`services`] deciding by `clock`.
pub fn services_with_clock(pool: PgPool, clock: Arc<dyn imi_domain::authority::Clock>) -> Services {
    let wake = Wake::local_only();
    Services {
        app: imi_app::App::on_pool(
            pool.clone(),
            KeyRing::new(pool.clone(), MasterKey::generate()),
            wake,
            clock,
        ),
        token_secret: Arc::new(SECRET.to_vec()),
    }
}

/// A migrated database, the directory's and users' projectors, and the gateway serving on a
/// free port.
pub async fn start() -> Gateway {
    start_with_clock(Arc::new(imi_domain::authority::SystemClock)).await
}

/// [`start`], the service deciding by `clock`.
pub async fn start_with_clock(clock: Arc<dyn imi_domain::authority::Clock>) -> Gateway {
    let db = imi_testkit::fresh_database().await;
    imi_store::migrate(&db.pool).await.expect("migrate");
    let reference = imi_store::reference::ReferenceData::bundled().expect("reference data");
    imi_store::reference::load(&db.pool, &reference)
        .await
        .expect("load the reference data");
    let services = services_with_clock(db.pool.clone(), clock);
    // The directory, and the users (and contact persons) the authority views read.
    let projections: [Arc<dyn imi_projections::Projection>; 2] = [
        Arc::new(AuthorityDirectory),
        Arc::new(imi_projections::users::AuthorityUsers),
    ];
    for projection in projections {
        let runner =
            Runner::new(db.pool.clone(), projection).with_local_wake(services.wake.subscribe());
        tokio::spawn(async move {
            if let Err(error) = runner.run().await {
                panic!("a runner stopped: {error}");
            }
        });
    }
    serve(services).await
}

/// Serves the gateway for `services` (no projector, no migration).
pub async fn serve(services: Services) -> Gateway {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = imi_gateway::router(services.clone())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Gateway {
        base: format!("http://{addr}"),
        pool: services.pool.clone(),
        services,
        http: reqwest::Client::new(),
    }
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers the national coordinator of `member_state` (id `nimic-<ms>`) with its first
    /// user, sets that user's password to [`PASSWORD`], and waits until the directory lists it.
    pub async fn seed_nimic(&self, member_state: &str) -> Seeded {
        let ms = member_state.to_ascii_lowercase();
        let seeded = Seeded {
            authority_id: format!("nimic-{ms}"),
            user_id: format!("user-nimic-{ms}-lda"),
            login: format!("{ms}.nimic"),
        };
        let identity = self
            .services
            .keyring
            .seal(
                &user_key_id(&seeded.user_id),
                &json!({ "name": format!("Coordinator {member_state}"), "login": seeded.login }),
            )
            .await
            .expect("seal");
        let system = Actor::system("test");
        let command = AuthorityCommand::RegisterNationalCoordinator {
            member_state: MemberState::parse(member_state).expect("member state"),
            official_name: format!("National IMI Coordinator {member_state}"),
            informal_titles: BTreeMap::from([(
                Language::parse("en").expect("en"),
                format!("IMI coordinator {member_state}"),
            )]),
            first_user: NewUser {
                user_id: seeded.user_id.clone(),
                identity,
            },
        };
        let at = self
            .services
            .authorities
            .execute(
                &seeded.authority_id,
                Issued::new(system.clone(), command),
                CommandMetadata::for_actor(&system),
            )
            .await
            .expect("register")
            .expect("a position");
        imi_store::credentials::set(
            &self.pool,
            &seeded.user_id,
            &seeded.authority_id,
            &seeded.login,
            PASSWORD,
        )
        .await
        .expect("credentials");
        let listed = imi_projections::runner::wait_for(
            &self.pool,
            &[imi_projections::directory::NAME],
            at,
            Duration::from_secs(10),
        )
        .await
        .expect("wait");
        assert!(listed, "the directory did not list {}", seeded.authority_id);
        seeded
    }

    /// POSTs a GraphQL request; returns the status and the JSON body.
    pub async fn gql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("send");
        let status = response.status();
        let body = response.json().await.expect("a JSON body");
        (status, body)
    }

    /// Signs in; returns the token.
    pub async fn login(&self, seeded: &Seeded) -> String {
        let (status, body) = self
            .gql(
                None,
                "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }",
                json!({ "l": seeded.login, "p": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {body}"))
            .to_string()
    }

    /// How many events the log holds.
    pub async fn events(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .expect("count events")
    }
}

/// The `extensions.code` of the first error.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

pub fn reason(body: &Value) -> &str {
    body["errors"][0]["extensions"]["reason"]
        .as_str()
        .unwrap_or("")
}

pub const SET_TITLE: &str = "mutation($input: SetInformalTitleInput!) {
  setInformalTitle(input: $input) { position waited }
}";

pub fn set_title_input(authority_id: &str, language: &str, title: &str) -> Value {
    json!({ "input": { "authorityId": authority_id, "language": language, "title": title } })
}

impl Gateway {
    /// The latest registration code kept for `authority_id`, as the mail sender would read it
    /// (these tests run no sender; tests/e2e reads it from the mail).
    pub async fn registration_code(&self, authority_id: &str) -> String {
        let sealed: serde_json::Value = sqlx::query_scalar(
            "SELECT code FROM registration_codes WHERE authority_id = $1
              ORDER BY created_at DESC LIMIT 1",
        )
        .bind(authority_id)
        .fetch_one(&self.pool)
        .await
        .expect("a kept registration code");
        let sealed: imi_domain::sealed::Sealed = serde_json::from_value(sealed).unwrap();
        self.services
            .keyring
            .open::<String>(&sealed)
            .await
            .expect("opened")
            .into_option()
            .expect("not erased")
    }
}

/// Grants `role` in PQ to the seeded user, as `token`; the answer.
pub async fn grant_role(gw: &Gateway, token: &str, seeded: &Seeded, role: &str) -> Value {
    let (_, body) = gw
        .gql(
            Some(token),
            "mutation($input: UserRolesInput!) { grantUserRoles(input: $input) { waited } }",
            json!({ "input": { "authorityId": seeded.authority_id, "userId": seeded.user_id,
                "area": "PQ", "roles": [role], "waitFor": ["authority_users"] } }),
        )
        .await;
    body
}
