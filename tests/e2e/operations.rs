//! The `imi serve` process as an operator runs it: its connection budget, its roles, its stop
//! on SIGTERM. Each test spawns the built binary on a fresh database.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `imi serve`, killed if the test ends without stopping it.
struct Served {
    child: Child,
    /// `http://host:port` when the process serves the gateway.
    base: Option<String>,
    /// Lines the process wrote to stderr (its log), collected as they come.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn imi(url: &str, data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_imi"));
    command
        .env("DATABASE_URL", url)
        .env("IMI_MASTER_KEY", "22".repeat(32))
        .env("IMI_TOKEN_SECRET", "operations-test-secret-of-32-bytes!")
        .env("IMI_DATA_DIR", data_dir)
        .env("RUST_LOG", "info,sqlx=warn");
    command
}

/// Runs an `imi` command to its end; panics unless it succeeds.
async fn run(url: &str, data_dir: &std::path::Path, args: &[&str]) {
    let mut command = imi(url, data_dir);
    command.args(args);
    let output = tokio::task::spawn_blocking(move || command.output().expect("imi runs"))
        .await
        .unwrap();
    assert!(output.status.success(), "imi {args:?}: {output:?}");
}

/// Starts `imi serve` with `args` (and `env`) and waits until it serves (or, without the
/// gateway role, until it started).
async fn serve(
    url: &str,
    data_dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Served {
    let mut command = imi(url, data_dir);
    command
        .arg("serve")
        .args(["--bind", "127.0.0.1:0", "--seed-demo", "false"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("imi serve starts");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("IMI is serving GraphQL at ") {
                let _ = tx.send(Some(rest.trim_end_matches("/graphql").to_string()));
            }
        }
    });
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (stderr, lines) = (child.stderr.take().expect("stderr"), log.clone());
    let (started_tx, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("started") {
                let _ = started_tx.send(());
            }
            lines.lock().unwrap().push(line);
        }
    });
    let gateway =
        args.iter().all(|a| !a.starts_with("--roles")) || args.join(" ").contains("gateway");
    let base = tokio::task::spawn_blocking(move || {
        if gateway {
            rx.recv_timeout(Duration::from_secs(60))
                .expect("the gateway serves")
        } else {
            started
                .recv_timeout(Duration::from_secs(60))
                .expect("the process started");
            None
        }
    })
    .await
    .unwrap();
    Served { child, base, log }
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_deref().expect("a gateway"))
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit status.
    async fn exit(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let log = self.log.lock().unwrap().clone();
                return (status, log);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the process did not exit"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn wait_ready(&self, http: &reqwest::Client) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let ready = http
                .get(self.url("/ready"))
                .send()
                .await
                .expect("/ready answers");
            if ready.status().is_success() {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "never ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connections to database `name` other than the caller's own.
async fn connections(url: &str, name: &str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let n = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    n
}

fn database_name(url: &str) -> String {
    url.rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_idle_server_with_every_role_holds_at_most_twelve_connections() {
    let db = imi_testkit::fresh_database().await;
    db.pool.close().await;
    let data = tempdir();
    run(&db.url, &data, &["migrate"]).await;
    run(&db.url, &data, &["seed"]).await;
    let server = serve(&db.url, &data, &[], &[]).await;
    let http = reqwest::Client::new();
    server.wait_ready(&http).await;
    // Some work first: every projector applied the seed, a few requests came in.
    for _ in 0..5 {
        let answer = http
            .post(server.url("/graphql"))
            .json(&json!({ "query": "{ __typename }" }))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = connections(&db.url, &database_name(&db.url)).await;
    assert!(
        (2..=12).contains(&held),
        "an idle server holds {held} connections"
    );
    server.signal("TERM");
    let (status, _) = server.exit().await;
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_and_exits_0() {
    use sqlx::Connection;
    let db = imi_testkit::fresh_database().await;
    db.pool.close().await;
    let data = tempdir();
    run(&db.url, &data, &["migrate"]).await;
    let server = serve(&db.url, &data, &[], &[]).await;
    let http = reqwest::Client::new();
    server.wait_ready(&http).await;
    // Hold the sign-in's table, so a sign-in is in flight when the signal comes.
    let mut blocker = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("LOCK TABLE credentials IN ACCESS EXCLUSIVE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let request = tokio::spawn(
        http.post(server.url("/graphql"))
            .header("accept", "application/json")
            .json(&json!({
                "query": "mutation { login(login: \"de.nimic\", password: \"wrong\") { token } }"
            }))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!request.is_finished(), "the sign-in waits for the table");
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!request.is_finished(), "the sign-in still waits");
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    let answer = request
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert!(answer.status().is_success(), "{answer:?}");
    let body: Value = answer.json().await.unwrap();
    assert!(body["errors"].is_array(), "{body}");
    let (status, log) = server.exit().await;
    assert!(status.success(), "{status:?}\n{}", log.join("\n"));
    let log = log.join("\n");
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes off a terminal: {log}"
    );
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}

#[tokio::test]
async fn a_projector_only_process_applies_and_a_gateway_only_process_does_not() {
    let db = imi_testkit::fresh_database().await;
    let data = tempdir();
    run(&db.url, &data, &["migrate"]).await;
    run(&db.url, &data, &["seed"]).await;
    let gateway = serve(&db.url, &data, &["--roles", "gateway"], &[]).await;
    let http = reqwest::Client::new();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM projections")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(applied, 0, "a gateway-only process runs no projector");
    let ready = http.get(gateway.url("/ready")).send().await.unwrap();
    assert_eq!(
        ready.status(),
        503,
        "not ready before the projections caught up"
    );
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["reason"], "projections catching up", "{body}");

    let projectors = serve(&db.url, &data, &["--roles", "projectors"], &[]).await;
    gateway.wait_ready(&http).await;
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM projections WHERE slot = 'live'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(live as usize, imi_projections::all().len());
    let behind: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM projections
          WHERE slot = 'live' AND position < (SELECT max(position) FROM events)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(behind, 0, "the projector-only process applied the seed");
    for process in [gateway, projectors] {
        process.signal("TERM");
        let (status, log) = process.exit().await;
        assert!(status.success(), "{status:?}\n{}", log.join("\n"));
    }
}

/// A fresh data folder (mail files) for one process.
fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("imi-ops-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_command_names_the_databases_own_refusal() {
    use sqlx::Connection;
    let db = imi_testkit::fresh_database().await;
    // A role the database lets in zero times: it refuses with "too many connections".
    let role = format!("imi_refused_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query(&format!("CREATE ROLE {role} LOGIN CONNECTION LIMIT 0"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (scheme, rest) = db.url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    let url = format!("{scheme}://{role}@{host}");
    let data = tempdir();
    let mut command = imi(&url, &data);
    command.args(["projections", "status"]);
    let started = std::time::Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    sqlx::query(&format!("DROP ROLE {role}"))
        .execute(&mut admin)
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("too many connections"), "{stderr}");
    assert!(!stderr.contains("pool timed out"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "it fails at once"
    );
}

#[tokio::test]
async fn json_logs_parse_and_the_access_log_names_each_request() {
    let db = imi_testkit::fresh_database().await;
    db.pool.close().await;
    let data = tempdir();
    run(&db.url, &data, &["migrate"]).await;
    let server = serve(&db.url, &data, &[], &[("IMI_LOG_FORMAT", "json")]).await;
    let http = reqwest::Client::new();
    server.wait_ready(&http).await;
    let answer = http
        .post(server.url("/graphql"))
        .header("x-correlation-id", "probe-42")
        .json(&json!({ "query": "query Probe { __typename }", "operationName": "Probe" }))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    server.signal("INT");
    let (status, log) = server.exit().await;
    assert!(status.success(), "{status:?}");
    let lines: Vec<Value> = log
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["timestamp"].is_string()));
    let access = lines
        .iter()
        .find(|l| l["target"] == "imi::access" && l["correlation_id"] == "probe-42")
        .unwrap_or_else(|| panic!("no access log line: {log:?}"));
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["method"], "POST");
    assert_eq!(access["route"], "/graphql");
    assert_eq!(access["status"], 200);
    assert_eq!(access["operation"], "Probe");
    assert!(access["duration_ms"].as_f64().is_some(), "{access}");
    assert!(lines.iter().any(|l| l["signal"] == "SIGINT"), "{log:?}");
}

#[tokio::test]
async fn help_lists_every_variable_and_db_status_reports_a_stopped_cluster() {
    let help = Command::new(env!("CARGO_BIN_EXE_imi"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for variable in [
        "DATABASE_URL",
        "IMI_DB_POOL",
        "IMI_READ_DATABASE_URL",
        "IMI_READ_DB_POOL",
        "IMI_READ_WAIT_MS",
        "IMI_DATA_DIR",
        "IMI_MASTER_KEY",
        "IMI_TOKEN_SECRET",
        "IMI_BIND",
        "IMI_ROLES",
        "IMI_SEED_DEMO",
        "IMI_SHUTDOWN_GRACE",
        "IMI_CORS_ORIGINS",
        "IMI_INTROSPECTION",
        "IMI_SMTP_URL",
        "IMI_MAIL_FROM",
        "IMI_SNAPSHOT_AUTHORITY",
        "IMI_SNAPSHOT_REQUEST",
        "IMI_SNAPSHOT_ALERT",
        "IMI_LOG_FORMAT",
        "RUST_LOG",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        assert!(help.contains(variable), "{variable} missing from\n{help}");
    }
    // The master key and the token secret only where they act.
    let schema_help = Command::new(env!("CARGO_BIN_EXE_imi"))
        .args(["schema", "--help"])
        .output()
        .unwrap();
    let schema_help = String::from_utf8_lossy(&schema_help.stdout);
    assert!(!schema_help.contains("--master-key"), "{schema_help}");
    assert!(!schema_help.contains("--token-secret"), "{schema_help}");

    let data = std::env::temp_dir().join(format!("imi-ops-{}", uuid::Uuid::new_v4()));
    let status = Command::new(env!("CARGO_BIN_EXE_imi"))
        .args(["db", "status"])
        .env("IMI_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    assert!(
        String::from_utf8_lossy(&status.stdout).starts_with("not running"),
        "{status:?}"
    );
}

/// Several machines' worth of processes on one database: two gateways and a process with the
/// projectors, the sender and the scheduler. A token from one gateway works on the other; a
/// write through either is read back at once through the other (read-your-writes across
/// processes); a subscriber on one gateway is told of a change written through the other.
#[tokio::test]
async fn two_gateways_and_a_projector_process_share_one_database() {
    const LOGIN: &str = "mutation($login: String!, $password: String!) {
      login(login: $login, password: $password) { token } }";
    const SET_TITLE: &str = "mutation($input: SetInformalTitleInput!) {
      setInformalTitle(input: $input) { waited } }";
    const READ: &str = "query { authority(id: \"nimic-de\") {
      informalTitle(language: \"fr\") { text } } }";
    const FOLLOW: &str = "subscription { authorityUpdated(authorityId: \"nimic-de\",
      language: \"fr\") { initial authority { informalTitle { text } } } }";
    let db = imi_testkit::fresh_database().await;
    let data = tempdir();
    run(&db.url, &data, &["migrate"]).await;
    run(&db.url, &data, &["seed", "--demo"]).await;
    let background = serve(
        &db.url,
        &data,
        &["--roles", "projectors,sender,scheduler"],
        &[],
    )
    .await;
    let a = serve(&db.url, &data, &["--roles", "gateway"], &[]).await;
    let b = serve(&db.url, &data, &["--roles", "gateway"], &[]).await;
    let http = reqwest::Client::new();
    a.wait_ready(&http).await;
    b.wait_ready(&http).await;
    let graphql = |gateway: &Served, token: Option<&str>, query: &str, variables: Value| {
        let mut request = http
            .post(gateway.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let answer: Value = request.send().await.unwrap().json().await.unwrap();
            assert!(answer["errors"].is_null(), "{answer}");
            answer["data"].clone()
        }
    };
    let login = json!({ "login": "de.nimic", "password": "imi-demo-2026" });
    let token = graphql(&a, None, LOGIN, login).await["login"]["token"]
        .as_str()
        .unwrap()
        .to_string();

    // A subscriber on gateway b.
    let mut following = crate::harness::subscriptions_at(b.base.as_deref().unwrap(), &token).await;
    following.subscribe("1", FOLLOW, json!({})).await;
    let initial = following.receive().await;
    assert_eq!(
        initial["payload"]["data"]["authorityUpdated"]["initial"], true,
        "{initial}"
    );

    for (n, (writer, reader)) in [(&a, &b), (&b, &a)].into_iter().enumerate() {
        let title = format!("Coordinateur national, version {n}");
        let input = json!({ "input": {
            "authorityId": "nimic-de", "language": "fr", "title": title } });
        let written = graphql(writer, Some(&token), SET_TITLE, input).await;
        assert_eq!(written["setInformalTitle"]["waited"], true, "{written}");
        // Read at once through the other gateway: the projector process applied it.
        let read = graphql(reader, Some(&token), READ, json!({})).await;
        assert_eq!(
            read["authority"]["informalTitle"]["text"],
            title.as_str(),
            "{read}"
        );
        let update = following.receive().await;
        assert_eq!(
            update["payload"]["data"]["authorityUpdated"]["authority"]["informalTitle"]["text"],
            title.as_str(),
            "{update}"
        );
    }
    for process in [a, b, background] {
        process.signal("TERM");
        let (status, log) = process.exit().await;
        assert!(status.success(), "{status:?}\n{}", log.join("\n"));
    }
}

/// An OTLP/HTTP collector on a free port: the spans it received (OTLP JSON), flattened.
struct Collector {
    endpoint: String,
    spans: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

async fn collector() -> Collector {
    use axum::{body::Bytes, extract::State, routing::post};
    type Spans = std::sync::Arc<std::sync::Mutex<Vec<Value>>>;
    let spans: Spans = Default::default();
    async fn receive(State(spans): State<Spans>, body: Bytes) -> &'static str {
        let export: Value = serde_json::from_slice(&body).expect("OTLP JSON");
        let mut spans = spans.lock().unwrap();
        for resource in export["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                spans.extend(scope["spans"].as_array().into_iter().flatten().cloned());
            }
        }
        "{}"
    }
    let app = axum::Router::new()
        .route("/v1/traces", post(receive))
        .with_state(spans.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Collector { endpoint, spans }
}

/// A span's id or parent id as the JSON carries it ("" or absent: none).
fn span_id(span: &Value, field: &str) -> String {
    span[field].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn traces_reach_an_otlp_collector_with_their_parents() {
    const LOGIN: &str = "mutation($login: String!, $password: String!) {
      login(login: $login, password: $password) { token } }";
    const SET_TITLE: &str = "mutation SetTitle($input: SetInformalTitleInput!) {
      setInformalTitle(input: $input) { waited } }";
    let collector = collector().await;
    let db = imi_testkit::fresh_database().await;
    let data = tempdir();
    run(&db.url, &data, &["migrate"]).await;
    run(&db.url, &data, &["seed", "--demo"]).await;
    let server = serve(
        &db.url,
        &data,
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    server.wait_ready(&http).await;
    let login: Value = http
        .post(server.url("/graphql"))
        .json(&json!({ "query": LOGIN, "variables":
            { "login": "de.nimic", "password": "imi-demo-2026" } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"]["login"]["token"].as_str().expect("a token");
    let written: Value = http
        .post(server.url("/graphql"))
        .bearer_auth(token)
        .json(
            &json!({ "query": SET_TITLE, "operationName": "SetTitle", "variables": { "input": {
            "authorityId": "nimic-de", "language": "fr", "title": "Coordinateur tracé" } } }),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(written["errors"].is_null(), "{written}");

    // The exporter sends in batches, a span once it ended (a parent after its children):
    // wait for the mutation's operation, its request, and a projection batch.
    let is_set_title = |s: &Value| {
        s["name"] == "graphql.operation" && s["attributes"].to_string().contains("SetTitle")
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let spans = loop {
        let spans = collector.spans.lock().unwrap().clone();
        let operation = spans.iter().find(|s| is_set_title(s));
        let request = operation.and_then(|o| {
            spans
                .iter()
                .find(|s| span_id(s, "spanId") == span_id(o, "parentSpanId"))
        });
        if request.is_some() && spans.iter().any(|s| s["name"] == "projection.batch") {
            break spans;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "spans received: {:?}",
            spans.iter().map(|s| s["name"].clone()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let names = spans
        .iter()
        .map(|s| format!("{} {} <- {}", s["name"], s["spanId"], s["parentSpanId"]))
        .collect::<Vec<_>>()
        .join("\n");
    let child_of = |parent: &Value, name: &str| {
        spans
            .iter()
            .find(|s| s["name"] == name && span_id(s, "parentSpanId") == span_id(parent, "spanId"))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} under {}:\n{names}", parent["name"]))
    };
    // http.request > graphql.operation > command > append, one trace.
    let operation = spans.iter().find(|s| is_set_title(s)).unwrap().clone();
    let request = spans
        .iter()
        .find(|s| span_id(s, "spanId") == span_id(&operation, "parentSpanId"))
        .unwrap()
        .clone();
    assert_eq!(request["name"], "http.request", "{request}");
    assert_eq!(
        span_id(&request, "parentSpanId"),
        "",
        "the request is the root"
    );
    let attributes = request["attributes"].to_string();
    assert!(
        attributes.contains("/graphql") && attributes.contains("POST"),
        "{attributes}"
    );
    let command = child_of(&operation, "command");
    assert!(
        command["attributes"].to_string().contains("Authority"),
        "{command}"
    );
    let append = child_of(&command, "append");
    for span in [&command, &operation, &append] {
        assert_eq!(span["traceId"], request["traceId"], "one trace: {span}");
    }
    server.signal("TERM");
    let (status, log) = server.exit().await;
    assert!(status.success(), "{status:?}\n{}", log.join("\n"));
}

/// Prometheus text as families: each sample's family must have a HELP and a TYPE line.
/// Returns (family, labels, value) of every sample.
pub(crate) fn parse_metrics(text: &str) -> Vec<(String, String, f64)> {
    let (mut help, mut kind) = (Vec::new(), std::collections::BTreeMap::new());
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let mut parts = rest.splitn(2, ' ');
            let name = parts.next().unwrap().to_string();
            assert!(parts.next().is_some_and(|h| !h.trim().is_empty()), "{line}");
            help.push(name);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let name = parts.next().unwrap().to_string();
            kind.insert(name, parts.next().unwrap().to_string());
        } else {
            assert!(!line.starts_with('#'), "{line}");
            let (series, value) = line.rsplit_once(' ').expect("a sample: name value");
            let value = value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("not a number in {line}"));
            let (name, labels) = series.split_once('{').unwrap_or((series, ""));
            samples.push((
                name.to_string(),
                labels.trim_end_matches('}').to_string(),
                value,
            ));
        }
    }
    for (sample, _, _) in &samples {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                sample
                    .strip_suffix(suffix)
                    .filter(|f| kind.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(sample);
        assert!(kind.contains_key(family), "no TYPE for {family}\n{text}");
        assert!(
            help.iter().any(|h| h == family),
            "no HELP for {family}\n{text}"
        );
    }
    samples
}

/// The value of `family` with exactly `labels` (as written, e.g. `pool="primary"`).
pub(crate) fn sample(samples: &[(String, String, f64)], family: &str, labels: &str) -> Option<f64> {
    samples
        .iter()
        .find(|(name, l, _)| name == family && l == labels)
        .map(|(_, _, value)| *value)
}

/// `/metrics` shows the pool: its size, idle connections, tasks waiting for one and its limit,
/// each family with its HELP and TYPE lines.
#[tokio::test]
async fn metrics_show_the_pools_size_idle_and_waiting() {
    let service = crate::harness::start().await;
    let text = reqwest::get(format!("{}/metrics", service.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = parse_metrics(&text);
    let max = sample(&samples, "imi_db_pool_max_connections", "pool=\"primary\"");
    assert_eq!(max, Some(f64::from(imi::app::DEFAULT_POOL_SIZE)), "{text}");
    let size = sample(&samples, "imi_db_pool_size", "pool=\"primary\"").expect("size");
    let idle = sample(&samples, "imi_db_pool_idle", "pool=\"primary\"").expect("idle");
    let waiting = sample(&samples, "imi_db_pool_waiting", "pool=\"primary\"").expect("waiting");
    assert!(
        size >= idle && size <= f64::from(imi::app::DEFAULT_POOL_SIZE),
        "{text}"
    );
    assert!(waiting >= 0.0, "{text}");
    for state in ["idle", "in_use"] {
        let labels = format!("pool=\"primary\",state=\"{state}\"");
        assert!(
            sample(&samples, "imi_db_pool_connections", &labels).is_some(),
            "{text}"
        );
    }
    // No replica configured: no replica pool and no replica gauges.
    assert!(!text.contains("pool=\"replica\""), "{text}");
    assert!(!text.contains("imi_replica_up"), "{text}");
}
