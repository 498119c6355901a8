//! The service's own waits for a pool connection, counted: sqlx 0.8 does not say how many
//! tasks wait for one of its connections, so the transactions and held connections the service
//! opens ([`begin`], [`acquire`]) count themselves while they wait. Single statements run on
//! the pool directly wait inside sqlx and are not counted.

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres, Transaction};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Waiters by pool (the address of the pool's options, shared by its clones and stable while
/// it lives). A dropped pool's entry stays at 0: a process has few pools.
fn counters() -> &'static Mutex<HashMap<usize, Arc<AtomicI64>>> {
    static COUNTERS: OnceLock<Mutex<HashMap<usize, Arc<AtomicI64>>>> = OnceLock::new();
    COUNTERS.get_or_init(Mutex::default)
}

fn counter(pool: &PgPool) -> Arc<AtomicI64> {
    let key = pool.options() as *const _ as usize;
    counters()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default()
        .clone()
}

/// Counts one waiter until dropped (the connection came, the wait failed or was cancelled).
struct Waiting(Arc<AtomicI64>);

impl Waiting {
    fn start(pool: &PgPool) -> Self {
        let counter = counter(pool);
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection of `pool`, counted as waiting until it comes.
pub async fn acquire(pool: &PgPool) -> sqlx::Result<PoolConnection<Postgres>> {
    let _waiting = Waiting::start(pool);
    pool.acquire().await
}

/// A transaction on `pool`, counted as waiting until its connection comes.
pub async fn begin(pool: &PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
    let connection = acquire(pool).await?;
    begin_on(connection, None).await
}

/// [`begin`] with `statements` for the `BEGIN`, sent as one simple query (e.g.
/// [`crate::feed::PROJECTOR_BATCH`]); refused unless they leave a transaction open.
pub async fn begin_with(
    pool: &PgPool,
    statements: impl Into<Cow<'static, str>>,
) -> sqlx::Result<Transaction<'static, Postgres>> {
    let connection = acquire(pool).await?;
    let begun = begin_on(connection, Some(statements.into())).await;
    if let Err(sqlx::Error::Database(_)) = &begun {
        end_failed_begin(pool).await;
    }
    begun
}

/// After statements sent with a `BEGIN` failed on the server: sqlx rolls back only a
/// transaction whose begin answered well, so the connection went back to the pool inside the
/// aborted transaction, where every later statement of whoever takes it would fail. Each idle
/// connection gets a `ROLLBACK` (which does nothing outside a transaction), in a few passes
/// while the failed one comes back (sqlx returns it in a task of its own). Only on this path.
async fn end_failed_begin(pool: &PgPool) {
    for pass in 0..4u32 {
        tokio::time::sleep(std::time::Duration::from_millis(1 << pass)).await;
        let mut swept = Vec::new();
        while let Some(mut connection) = pool.try_acquire() {
            if sqlx::Executor::execute(&mut *connection, "ROLLBACK")
                .await
                .is_err()
            {
                // Not usable: closed rather than handed to anyone.
                connection.close_on_drop();
            }
            swept.push(connection);
        }
    }
}

/// Begins a transaction on `connection`, to the end even if the caller stops waiting (a client
/// gone, a task aborted). sqlx counts a transaction, and rolls it back when dropped, only once
/// its `BEGIN` has answered: cancelled while the server runs it, the connection went back to
/// the pool inside a transaction nobody would end, and the next user's statements ran in it,
/// never committed. In a task of its own the begin completes, and a transaction nobody takes
/// is dropped, so rolled back, before its connection is used again.
async fn begin_on(
    connection: PoolConnection<Postgres>,
    statements: Option<Cow<'static, str>>,
) -> sqlx::Result<Transaction<'static, Postgres>> {
    tokio::spawn(Transaction::begin(connection, statements))
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("beginning a transaction: {e}")))?
}

/// Tasks waiting now for a connection of `pool` at the service's own acquisitions.
pub fn waiting(pool: &PgPool) -> u64 {
    counter(pool).load(Ordering::Relaxed).max(0) as u64
}

/// The connection options of a database URL. A server on this machine (a loopback address or
/// `localhost`) is reached without TLS unless the URL's `sslmode` or `PGSSLMODE` asks for it:
/// on loopback TLS protects nothing and costs both sides CPU, and sqlx 0.8's TLS can stall a
/// connection for good when a large write fills the socket (the client then waits to read
/// while the server waits for the rest: sqlx-core's `StdSocket::poll_ready`, fixed in sqlx
/// 0.9, which postgres-es 0.5 does not take). Seen as a COPY of `imi bench populate --scale
/// 1.0` that stopped with both ends idle (docs/BENCHMARKS.md).
pub fn connect_options(url: &str) -> Result<sqlx::postgres::PgConnectOptions, sqlx::Error> {
    let options: sqlx::postgres::PgConnectOptions = url.parse()?;
    let asked = url.contains("sslmode=") || std::env::var_os("PGSSLMODE").is_some();
    let host = options
        .get_host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let local = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    Ok(if local && !asked {
        options.ssl_mode(sqlx::postgres::PgSslMode::Disable)
    } else {
        options
    })
}

#[cfg(test)]
mod tests {
    use super::connect_options;
    use sqlx::postgres::PgSslMode;

    fn mode(url: &str) -> PgSslMode {
        connect_options(url).unwrap().get_ssl_mode()
    }

    #[test]
    fn a_server_on_this_machine_is_reached_without_tls_unless_the_url_asks_for_it() {
        if std::env::var_os("PGSSLMODE").is_some() {
            return;
        }
        for url in [
            "postgres://postgres@127.0.0.1:5432/imi",
            "postgres://postgres@localhost/imi",
            "postgres://postgres@[::1]:5432/imi",
        ] {
            assert!(matches!(mode(url), PgSslMode::Disable), "{url}");
        }
        assert!(matches!(
            mode("postgres://postgres@127.0.0.1:5432/imi?sslmode=require"),
            PgSslMode::Require
        ));
        // Elsewhere, sqlx's default (TLS when the server offers it) or what the URL says.
        assert!(matches!(
            mode("postgres://imi@db.example.eu/imi"),
            PgSslMode::Prefer
        ));
        assert!(matches!(
            mode("postgres://imi@db.example.eu/imi?sslmode=verify-full"),
            PgSslMode::VerifyFull
        ));
    }
}
