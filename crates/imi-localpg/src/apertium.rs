//! A private Apertium translation server (`apertium-apy`) beside the service, for when no
//! `IMI_TRANSLATION_URL` names one: started on a free loopback port from the machine's
//! `apertium-apy` and the language pairs installed in its modes folder, and stopped when the
//! process that started it ends (a watcher shell ends it when its parent is gone, even after a
//! crash). Synchronous, like the rest of this crate.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `apertium-*` pair packages put their modes.
pub const DEFAULT_MODES: &str = "/usr/share/apertium/modes";

#[derive(Debug, thiserror::Error)]
pub enum ApertiumError {
    #[error(
        "apertium-apy is not installed (Debian/Ubuntu: `apt-get install apertium-apy` and pairs \
         such as `apertium-eng-spa apertium-fr-es`), or set IMI_TRANSLATION_URL"
    )]
    NotInstalled,
    #[error("no Apertium language pairs in {0} (install e.g. `apertium-eng-spa`)")]
    NoPairs(PathBuf),
    #[error("apertium-apy could not be started: {0}")]
    Start(std::io::Error),
    #[error("apertium-apy did not answer within {0:?} (its log: {1})")]
    NotAnswering(Duration, PathBuf),
}

/// The `apertium-apy` program on PATH, if installed.
pub fn find_apy() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("apertium-apy"))
        .find(|p| p.is_file())
}

/// A running private `apertium-apy`; stopped when dropped or when this process ends.
#[derive(Debug)]
pub struct ApyServer {
    watcher: Child,
    port: u16,
}

impl ApyServer {
    /// Starts `apertium-apy` on a free loopback port over the pairs in `modes`, logging to
    /// `log`, and waits (at most `timeout`) until it lists its pairs.
    pub fn start(modes: &Path, log: &Path, timeout: Duration) -> Result<Self, ApertiumError> {
        let apy = find_apy().ok_or(ApertiumError::NotInstalled)?;
        let has_pairs = std::fs::read_dir(modes)
            .map(|d| {
                d.flatten()
                    .any(|e| e.path().extension().is_some_and(|x| x == "mode"))
            })
            .unwrap_or(false);
        if !has_pairs {
            return Err(ApertiumError::NoPairs(modes.to_path_buf()));
        }
        let port = free_port().map_err(ApertiumError::Start)?;
        // The watcher ends the server once this process is gone: `kill -0` on the parent.
        let script = r#"apy="$1"; shift; "$apy" "$@" & pid=$!
trap 'kill $pid 2>/dev/null; exit 0' TERM INT
while kill -0 "$PARENT" 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 1; done
kill $pid 2>/dev/null"#;
        let log_file = std::fs::File::create(log).map_err(ApertiumError::Start)?;
        let watcher = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(&apy)
            .arg("-p")
            .arg(port.to_string())
            // Idle pipelines end after 10 minutes, keeping memory low between bursts.
            .arg("-m")
            .arg("600")
            .arg(modes)
            .env("PARENT", std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(ApertiumError::Start)?)
            .stderr(log_file)
            .spawn()
            .map_err(ApertiumError::Start)?;
        let server = Self { watcher, port };
        let start = Instant::now();
        while start.elapsed() < timeout {
            if server.answers() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(ApertiumError::NotAnswering(timeout, log.to_path_buf()))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Whether the server lists its pairs now.
    pub fn answers(&self) -> bool {
        http_ok(self.port, "/listPairs")
    }
}

impl Drop for ApyServer {
    fn drop(&mut self) {
        // SIGTERM to the watcher, whose trap ends the server.
        let _ = Command::new("kill")
            .arg(self.watcher.id().to_string())
            .status();
        let _ = self.watcher.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn http_ok(port: u16, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}
