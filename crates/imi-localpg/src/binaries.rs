//! Finding the PostgreSQL server binaries (`initdb`, `pg_ctl`) on this machine.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::LocalPgError;

/// Oldest server major version accepted.
pub const MIN_MAJOR: u32 = 15;

/// Where to look for server binaries. [`BinarySearch::from_env`] describes this machine; tests
/// pass their own so the "nothing found" path can be exercised.
#[derive(Debug, Clone)]
pub struct BinarySearch {
    /// A `PATH`-style list, searched for `pg_config` first and then for `initdb`/`pg_ctl`.
    pub path: OsString,
    /// Folders holding one `<version>/bin` per installed version (Debian: `/usr/lib/postgresql`).
    pub versioned_roots: Vec<PathBuf>,
}

impl BinarySearch {
    pub fn from_env() -> Self {
        Self {
            path: std::env::var_os("PATH").unwrap_or_default(),
            versioned_roots: vec![PathBuf::from("/usr/lib/postgresql")],
        }
    }
}

/// The server binaries chosen.
#[derive(Debug, Clone)]
pub struct ServerBinaries {
    pub initdb: PathBuf,
    pub pg_ctl: PathBuf,
    pub major: u32,
}

/// Tries `pg_config --bindir`, then `<versioned root>/*/bin` (highest version first), then each
/// `PATH` entry; the first folder with `initdb` and `pg_ctl` of version [`MIN_MAJOR`]+ wins.
pub fn find_server_binaries(search: &BinarySearch) -> Result<ServerBinaries, LocalPgError> {
    let mut candidates = Vec::new();
    candidates.extend(pg_config_bindir(&search.path));
    for root in &search.versioned_roots {
        candidates.extend(versioned_bindirs(root));
    }
    candidates.extend(std::env::split_paths(&search.path));

    let mut too_old = Vec::new();
    for dir in candidates {
        let (initdb, pg_ctl) = (dir.join("initdb"), dir.join("pg_ctl"));
        if !is_executable(&initdb) || !is_executable(&pg_ctl) {
            continue;
        }
        match major_version(&initdb) {
            Some(major) if major >= MIN_MAJOR => {
                return Ok(ServerBinaries {
                    initdb,
                    pg_ctl,
                    major,
                })
            }
            found => too_old.push(format!(
                "{} (version {})",
                dir.display(),
                found.map_or("unknown".to_string(), |m| m.to_string())
            )),
        }
    }

    let roots: Vec<String> = search
        .versioned_roots
        .iter()
        .map(|r| format!("{}/*/bin", r.display()))
        .collect();
    let mut searched = format!("searched `pg_config --bindir`, {}, PATH", roots.join(", "));
    if !too_old.is_empty() {
        searched.push_str(&format!("; ignored as too old: {}", too_old.join(", ")));
    }
    Err(LocalPgError::NoServerBinaries { searched })
}

fn pg_config_bindir(path: &OsString) -> Option<PathBuf> {
    let pg_config = std::env::split_paths(path)
        .map(|dir| dir.join("pg_config"))
        .find(|p| is_executable(p))?;
    let out = Command::new(pg_config).arg("--bindir").output().ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !dir.trim().is_empty()).then(|| PathBuf::from(dir.trim()))
}

fn versioned_bindirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version = name
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
                .ok()?;
            Some((version, e.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `initdb (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)` -> 15. `--version` is answered before
/// initdb's refusal to run as root, so this works for any caller.
fn major_version(initdb: &Path) -> Option<u32> {
    let out = Command::new(initdb).arg("--version").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find_map(|word| {
            let digits: String = word.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
}
