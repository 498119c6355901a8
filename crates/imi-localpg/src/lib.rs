//! Starts or reuses a private PostgreSQL cluster in the project's data folder, so `imi serve` and
//! the tests work without a `DATABASE_URL`.
//!
//! Layout of a data root: `pgdata/` (the cluster), `run/` (its Unix socket), `postgres.log`,
//! `port` (chosen once) and `lock` (serialises concurrent callers). The API is synchronous: call
//! it from `spawn_blocking` in async code.

pub mod apertium;
mod binaries;
mod run_as;
pub mod standby;

use std::fs::{self, File};
use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

pub use binaries::{find_server_binaries, BinarySearch, ServerBinaries, MIN_MAJOR};
use run_as::RunAs;

/// Superuser created by `initdb`; trust authentication, loopback only.
pub const SUPERUSER: &str = "imi";
/// Port tried first for a new cluster (next to the usual 5432, unlikely to be taken).
pub const PREFERRED_PORT: u16 = 54329;

#[derive(Debug, thiserror::Error)]
pub enum LocalPgError {
    #[error(
        "no PostgreSQL server binaries (initdb, pg_ctl) found ({searched}). Install PostgreSQL {}+ \
         server binaries (Debian/Ubuntu: `apt-get install postgresql`; elsewhere put initdb, \
         pg_ctl and postgres on PATH), or set DATABASE_URL to use an existing server",
        MIN_MAJOR
    )]
    NoServerBinaries { searched: String },
    #[error(
        "running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL \
         as (it refuses root): create one, or set DATABASE_URL"
    )]
    NoUnprivilegedUser,
    #[error(
        "the `{user}` user PostgreSQL runs as cannot enter {} nor the fallback {}; make one \
         traversable, set IMI_DATA_DIR, or set DATABASE_URL",
        requested.display(), fallback.display()
    )]
    DataRootUnreachable {
        user: String,
        requested: PathBuf,
        fallback: PathBuf,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("{command} failed: {output}")]
    CommandFailed { command: String, output: String },
    #[error(
        "PostgreSQL in {} runs but accepts no connection on 127.0.0.1:{port}; see {}",
        data_dir.display(), log.display()
    )]
    NotReachable {
        data_dir: PathBuf,
        port: u16,
        log: PathBuf,
    },
}

impl LocalPgError {
    fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// A running private cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCluster {
    /// The cluster's data directory (`<data root>/pgdata`).
    pub data_dir: PathBuf,
    pub port: u16,
    pub socket_dir: PathBuf,
}

impl LocalCluster {
    /// `postgres://imi@127.0.0.1:<port>/<database>` (no password: trust on loopback).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the cluster (fast shutdown: open sessions are ended). It otherwise keeps running
    /// after `imi` exits, for the next command to reuse.
    pub fn stop(&self) -> Result<(), LocalPgError> {
        let bins = find_server_binaries(&BinarySearch::from_env())?;
        let run_as = RunAs::detect()?;
        let cwd = self.data_dir.parent().unwrap_or(&self.data_dir);
        run(run_as
            .command(&bins.pg_ctl, cwd)
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w", "stop"]))
        .map(drop)
    }
}

/// `IMI_DATA_DIR` if set, else `<workspace root>/.imi-data`, the workspace root being the nearest
/// folder above the current one whose `Cargo.toml` has `[workspace]` (else the current folder).
pub fn default_data_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if let Some(dir) = std::env::var_os("IMI_DATA_DIR").filter(|d| !d.is_empty()) {
        return cwd.join(dir);
    }
    let is_workspace = |dir: &Path| {
        fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
    };
    let root = cwd.ancestors().find(|d| is_workspace(d)).unwrap_or(&cwd);
    root.join(".imi-data")
}

/// Starts the cluster in `data_root` (creating it first if needed) or reuses the running one.
pub fn ensure_running(data_root: &Path) -> Result<LocalCluster, LocalPgError> {
    ensure_running_with(data_root, &BinarySearch::from_env())
}

/// [`ensure_running`] with an explicit binary search.
pub fn ensure_running_with(
    data_root: &Path,
    search: &BinarySearch,
) -> Result<LocalCluster, LocalPgError> {
    let bins = find_server_binaries(search)?;
    let run_as = RunAs::detect()?;
    let root = usable_data_root(data_root, &bins, &run_as)?;
    let layout = Layout::new(&root);

    // Parallel test binaries (and a running `imi serve`) call this at once: one initdb, one start.
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&layout.lock)
        .map_err(|e| LocalPgError::io(format!("opening {}", layout.lock.display()), e))?;
    let _lock = Flock::lock(lock, FlockArg::LockExclusive).map_err(|(_, e)| {
        LocalPgError::io(format!("locking {}", layout.lock.display()), e.into())
    })?;

    let port = match running_port(&layout, &bins, &run_as)? {
        Some(port) => {
            tracing::debug!(data_dir = %layout.pgdata.display(), port, "reusing running PostgreSQL");
            port
        }
        None => {
            owned_dir(&layout.pgdata, &run_as)?;
            if !layout.pgdata.join("PG_VERSION").exists() {
                init(&layout, &bins, &run_as)?;
            }
            start(&layout, &bins, &run_as)?
        }
    };
    Ok(LocalCluster {
        data_dir: layout.pgdata,
        port,
        socket_dir: layout.socket_dir,
    })
}

/// The cluster in `data_root` if it runs (nothing is created or started).
pub fn running(data_root: &Path) -> Result<Option<LocalCluster>, LocalPgError> {
    let bins = find_server_binaries(&BinarySearch::from_env())?;
    let run_as = RunAs::detect()?;
    if !data_root.exists() {
        return Ok(None);
    }
    let root = usable_data_root(data_root, &bins, &run_as)?;
    let layout = Layout::new(&root);
    Ok(
        running_port(&layout, &bins, &run_as)?.map(|port| LocalCluster {
            data_dir: layout.pgdata,
            port,
            socket_dir: layout.socket_dir,
        }),
    )
}

/// Stops the cluster in `data_root` if it runs; returns the one it stopped.
pub fn stop_running(data_root: &Path) -> Result<Option<LocalCluster>, LocalPgError> {
    let Some(cluster) = running(data_root)? else {
        return Ok(None);
    };
    cluster.stop()?;
    Ok(Some(cluster))
}

struct Layout {
    /// Also the working folder of every child: it is checked to be enterable by their user.
    root: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
    port_file: PathBuf,
    lock: PathBuf,
}

impl Layout {
    fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            pgdata: root.join("pgdata"),
            socket_dir: root.join("run"),
            log: root.join("postgres.log"),
            port_file: root.join("port"),
            lock: root.join("lock"),
        }
    }
}

/// Creates `requested` and returns it as an absolute path (children run in other folders). As
/// root, the unprivileged user must be able to enter it; when a parent folder is closed to that
/// user, a folder under the temp dir, named after `requested`, is used instead.
fn usable_data_root(
    requested: &Path,
    bins: &ServerBinaries,
    run_as: &RunAs,
) -> Result<PathBuf, LocalPgError> {
    let root = create_root(requested, run_as)?;
    let Some(user) = run_as.name() else {
        return Ok(root);
    };
    if run_as.can_enter(&root, &bins.initdb) {
        return Ok(root);
    }
    let hash = root
        .as_os_str()
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3) // FNV-1a
        });
    let fallback = std::env::temp_dir().join(format!("imi-localpg-{hash:016x}"));
    tracing::warn!(
        requested = %root.display(),
        fallback = %fallback.display(),
        "user `{user}` (PostgreSQL refuses root) cannot enter the data folder; using the fallback"
    );
    let fallback = create_root(&fallback, run_as)?;
    if run_as.can_enter(&fallback, &bins.initdb) {
        Ok(fallback)
    } else {
        Err(LocalPgError::DataRootUnreachable {
            user: user.to_string(),
            requested: root,
            fallback,
        })
    }
}

fn create_root(path: &Path, run_as: &RunAs) -> Result<PathBuf, LocalPgError> {
    let existed = path.exists();
    fs::create_dir_all(path)
        .map_err(|e| LocalPgError::io(format!("creating {}", path.display()), e))?;
    if !existed {
        // Only what we create: an existing folder keeps its owner and mode.
        set_mode(path, 0o755)?;
        run_as.give(path)?;
    }
    fs::canonicalize(path).map_err(|e| LocalPgError::io(format!("resolving {}", path.display()), e))
}

/// The port of the cluster when it runs: its `postmaster.pid` names a live process (a crash
/// leaves a stale file) and the port accepts TCP connections. A killed postmaster stays a zombie,
/// "running" for pg_ctl, until it is reaped, hence the loop.
fn running_port(
    layout: &Layout,
    bins: &ServerBinaries,
    run_as: &RunAs,
) -> Result<Option<u16>, LocalPgError> {
    let Ok(pid_file) = fs::read_to_string(layout.pgdata.join("postmaster.pid")) else {
        return Ok(None);
    };
    // Line 4 of postmaster.pid is the port.
    let Some(port) = pid_file.lines().nth(3).and_then(|l| l.trim().parse().ok()) else {
        return Ok(None);
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = run_as
            .command(&bins.pg_ctl, &layout.root)
            .arg("status")
            .arg("-D")
            .arg(&layout.pgdata)
            .output()
            .map_err(|e| LocalPgError::io("running pg_ctl status", e))?;
        if !status.status.success() {
            return Ok(None);
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(Some(port));
        }
        if Instant::now() > deadline {
            return Err(not_reachable(layout, port));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn init(layout: &Layout, bins: &ServerBinaries, run_as: &RunAs) -> Result<(), LocalPgError> {
    tracing::info!(
        data_dir = %layout.pgdata.display(),
        run_as = run_as.name().unwrap_or("self"),
        "creating a private PostgreSQL {} cluster",
        bins.major
    );
    run(run_as
        .command(&bins.initdb, &layout.root)
        .arg("-D")
        .arg(&layout.pgdata)
        .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"]))
    .map(drop)
}

fn start(layout: &Layout, bins: &ServerBinaries, run_as: &RunAs) -> Result<u16, LocalPgError> {
    owned_dir(&layout.socket_dir, run_as)?;
    File::options()
        .create(true)
        .append(true)
        .open(&layout.log)
        .map_err(|e| LocalPgError::io(format!("creating {}", layout.log.display()), e))?;
    run_as.give(&layout.log)?;

    let mut port = stored_port(layout)?;
    let mut retries = 2;
    loop {
        tracing::info!(data_dir = %layout.pgdata.display(), port, "starting private PostgreSQL");
        // pg_ctl hands -o to a shell, hence the quoting. max_connections: parallel tests each hold
        // a pool.
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            shell_quote(&layout.socket_dir)
        );
        let started = run(run_as
            .command(&bins.pg_ctl, &layout.root)
            .arg("-D")
            .arg(&layout.pgdata)
            .args(["-w", "-t", "60", "-l"])
            .arg(&layout.log)
            .args(["-o", &options, "start"]));
        match started {
            Ok(_) => break,
            // Another cluster (another data root) may have taken the port since we checked it.
            Err(_) if retries > 0 && !port_is_free(port) => {
                retries -= 1;
                port = new_port(layout)?;
            }
            Err(LocalPgError::CommandFailed { command, output }) => {
                let output = format!("{output}\n{}:\n{}", layout.log.display(), log_tail(layout));
                return Err(LocalPgError::CommandFailed { command, output });
            }
            Err(e) => return Err(e),
        }
    }
    wait_for_tcp(port, layout)?;
    Ok(port)
}

/// The port stored in the data root, or a new one when there is none or it is now taken.
fn stored_port(layout: &Layout) -> Result<u16, LocalPgError> {
    let stored = fs::read_to_string(&layout.port_file)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok());
    match stored {
        Some(port) if port_is_free(port) => Ok(port),
        Some(port) => {
            tracing::warn!(
                port,
                "stored port is taken by another program; choosing another"
            );
            new_port(layout)
        }
        None => new_port(layout),
    }
}

fn new_port(layout: &Layout) -> Result<u16, LocalPgError> {
    let port = if port_is_free(PREFERRED_PORT) {
        PREFERRED_PORT
    } else {
        TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| LocalPgError::io("finding a free port", e))?
            .port()
    };
    fs::write(&layout.port_file, format!("{port}\n"))
        .map_err(|e| LocalPgError::io(format!("writing {}", layout.port_file.display()), e))?;
    Ok(port)
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// After `pg_ctl -w start`, which waits for "ready", this normally succeeds at once.
fn wait_for_tcp(port: u16, layout: &Layout) -> Result<(), LocalPgError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(not_reachable(layout, port));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn not_reachable(layout: &Layout, port: u16) -> LocalPgError {
    LocalPgError::NotReachable {
        data_dir: layout.pgdata.clone(),
        port,
        log: layout.log.clone(),
    }
}

/// Creates `path` (mode 0700, as PostgreSQL wants) for the user the cluster runs as. An existing
/// folder owned by someone else (e.g. left by an earlier root run) is handed over with all its
/// content, since PostgreSQL refuses a data directory it does not own.
fn owned_dir(path: &Path, run_as: &RunAs) -> Result<(), LocalPgError> {
    match fs::create_dir(path) {
        Ok(()) => {
            set_mode(path, 0o700)?;
            run_as.give(path)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if run_as.owns_not(path) {
                tracing::info!(path = %path.display(), "handing over to {}", run_as.name().unwrap_or("self"));
                run_as.give_tree(path)?;
            }
            Ok(())
        }
        Err(e) => Err(LocalPgError::io(format!("creating {}", path.display()), e)),
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), LocalPgError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| LocalPgError::io(format!("chmod {}", path.display()), e))
}

/// Runs `cmd` to completion; on failure the error carries its output.
fn run(cmd: &mut Command) -> Result<String, LocalPgError> {
    let command = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| LocalPgError::io(format!("running {command}"), e))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(LocalPgError::CommandFailed {
            command,
            output: format!("{} ({})", text.trim(), out.status),
        })
    }
}

fn log_tail(layout: &Layout) -> String {
    let log = fs::read_to_string(&layout.log).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', r"'\''"))
}
