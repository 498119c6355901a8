//! Test support: a fresh, empty PostgreSQL database per test, on the server named by
//! `DATABASE_URL` or else on the project's private cluster (see `imi-localpg`).
//!
//! Databases are not dropped afterwards: they are cheap, and a failed test's data stays around to
//! look at.

pub mod plans;
pub mod smtp;

use std::sync::OnceLock;

use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;
use uuid::Uuid;

/// A database of its own for one test. No migrations have run: the caller runs them.
#[derive(Debug, Clone)]
pub struct TestDb {
    pub pool: PgPool,
    pub url: String,
    pub name: String,
}

/// URL of a database on the test server, used to create the test databases: `DATABASE_URL`, or
/// the private cluster, started on first use. Blocks; panics with the reason when there is none.
pub fn server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => imi_localpg::ensure_running(&imi_localpg::default_data_root())
            .unwrap_or_else(|e| panic!("no PostgreSQL for the tests: {e}"))
            .url("postgres"),
    })
    .clone()
}

/// Creates `imi_test_<uuid>` on the test server and returns a pool (8 connections at most) on it.
/// Panics when the server cannot be reached: this is for tests.
pub async fn fresh_database() -> TestDb {
    let server = tokio::task::spawn_blocking(server_url)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let name = format!(
        "imi_test_{}_{}",
        unix_seconds(),
        &Uuid::new_v4().simple().to_string()[..12]
    );

    // Reached as the service reaches it (TLS only where the URL asks for it or the server is
    // not on this machine).
    let options = imi_store::pool::connect_options(&server)
        .unwrap_or_else(|e| panic!("the test server's URL {server}: {e}"));
    let mut admin = PgConnection::connect_with(&options)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test server {server}: {e}"));
    sweep_stale_databases(&mut admin).await;
    // Simple protocol: CREATE DATABASE cannot be prepared.
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create database {name} on {server}: {e}"));
    let _ = admin.close().await;

    let url = with_database(&server, &name);
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options.database(&name))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    TestDb { pool, url, name }
}

/// Test databases older than this are dropped by the next test process that starts.
const STALE_AFTER_SECONDS: u64 = 3 * 3600;

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// When a test database was created, from its name (`imi_test_<unix seconds>_<id>`); `None`
/// for names of another shape.
fn created_at(name: &str) -> Option<u64> {
    name.strip_prefix("imi_test_")?
        .split('_')
        .next()?
        .parse()
        .ok()
}

/// Drops the test databases of earlier runs, once per process, so they do not pile up on a
/// shared server. Only databases old enough that no test can still be using them; failures
/// (a database still in use) are left for a later run.
async fn sweep_stale_databases(admin: &mut PgConnection) {
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SWEPT.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'imi\\_test\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    let cutoff = unix_seconds().saturating_sub(STALE_AFTER_SECONDS);
    for name in names {
        if created_at(&name).is_some_and(|at| at < cutoff) {
            let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// `url` with its database (the path) replaced by `database`, query parameters kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{database}{query}", &base[..authority_end])
}

/// The URL of one `apertium-apy` shared by every test of this process, started on first use on
/// a free port over the machine's installed pairs (slow to start: one per test binary). It ends
/// with the process. Blocks; panics with the reason when Apertium is not installed.
pub fn apertium_url() -> String {
    static SERVER: OnceLock<imi_localpg::apertium::ApyServer> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let log = std::env::temp_dir().join(format!("imi-test-apy-{}.log", std::process::id()));
            imi_localpg::apertium::ApyServer::start(
                std::path::Path::new(imi_localpg::apertium::DEFAULT_MODES),
                &log,
                std::time::Duration::from_secs(60),
            )
            .unwrap_or_else(|e| panic!("no Apertium for the tests: {e}"))
        })
        .url()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_database_names_carry_their_creation_time() {
        assert_eq!(
            created_at("imi_test_1795712072_0a1b2c3d4e5f"),
            Some(1_795_712_072)
        );
        assert_eq!(
            created_at("imi_test_0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d"),
            None
        );
        assert_eq!(created_at("imi_bench_1795712072"), None);
    }

    #[test]
    fn replaces_the_database_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t"),
            "postgres://postgres@127.0.0.1:5432/t"
        );
        assert_eq!(with_database("postgres://h:1", "t"), "postgres://h:1/t");
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t"),
            "postgres://u:p@h/t?sslmode=disable"
        );
    }

    #[tokio::test]
    async fn two_calls_give_two_empty_databases() {
        let (a, b) = tokio::join!(fresh_database(), fresh_database());
        assert_ne!(a.name, b.name);

        for db in [&a, &b] {
            let (current, tables): (String, i64) = sqlx::query_as(
                "SELECT current_database(), \
                 (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')",
            )
            .fetch_one(&db.pool)
            .await
            .unwrap();
            assert_eq!(current, db.name);
            assert_eq!(tables, 0, "{} is not empty", db.name);
        }

        sqlx::raw_sql("CREATE TABLE only_in_a (id int)")
            .execute(&a.pool)
            .await
            .unwrap();
        let in_b: Option<String> = sqlx::query_scalar("SELECT to_regclass('only_in_a')::text")
            .fetch_one(&b.pool)
            .await
            .unwrap();
        assert_eq!(in_b, None);
    }
}
