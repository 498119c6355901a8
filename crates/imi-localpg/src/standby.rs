//! A streaming standby of a running PostgreSQL server, from this machine's server binaries:
//! a base backup (`pg_basebackup -R -X stream`) started on a free port in a folder of its own,
//! as the unprivileged user when run as root. For trying a read replica on one machine; the
//! primary must accept replication connections from 127.0.0.1 (a `host replication` line in
//! its pg_hba.conf) and run with `wal_level=replica` (the default).

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use crate::run_as::RunAs;
use crate::{
    create_root, find_server_binaries, owned_dir, run, shell_quote, wait_for_tcp, BinarySearch,
    Layout, LocalPgError,
};

/// A running standby; stopped and its folder removed when dropped.
pub struct Standby {
    layout: Layout,
    pub port: u16,
    pg_ctl: PathBuf,
    run_as: RunAs,
}

/// Settings a standby must hold at least as high as its primary, as `pg_controldata` names them.
const AT_LEAST_THE_PRIMARYS: [(&str, &str); 5] = [
    ("max_connections setting", "max_connections"),
    ("max_worker_processes setting", "max_worker_processes"),
    ("max_wal_senders setting", "max_wal_senders"),
    ("max_prepared_xacts setting", "max_prepared_transactions"),
    ("max_locks_per_xact setting", "max_locks_per_transaction"),
];

impl Standby {
    /// Copies the server at `host:port` (connecting as `user`, trust) and starts the copy as its
    /// streaming standby, hot (read-only queries), on a free port of 127.0.0.1.
    pub fn start(host: &str, port: u16, user: &str) -> Result<Self, LocalPgError> {
        let bins = find_server_binaries(&BinarySearch::from_env())?;
        let run_as = RunAs::detect()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let root =
            std::env::temp_dir().join(format!("imi-standby-{}-{nanos:09}", std::process::id()));
        let root = create_root(&root, &run_as)?;
        let mut standby = Self {
            layout: Layout::new(&root),
            port: 0,
            pg_ctl: bins.pg_ctl.clone(),
            run_as,
        };
        // From here on, a failure drops `standby`, which removes the folder.
        let layout = &standby.layout;
        let bindir = bins.pg_ctl.parent().unwrap_or(Path::new("."));
        run(standby
            .run_as
            .command(&bindir.join("pg_basebackup"), &layout.root)
            .args(["-R", "-X", "stream", "-c", "fast", "-D"])
            .arg(&layout.pgdata)
            .args(["-h", host, "-p", &port.to_string(), "-U", user]))?;
        // Debian keeps the server's configuration outside its data folder: the copy gets its
        // own, loopback and trust only.
        for (file, text) in [
            ("postgresql.conf", ""),
            ("pg_ident.conf", ""),
            (
                "pg_hba.conf",
                "local all all trust\nhost all all 127.0.0.1/32 trust\n",
            ),
        ] {
            let path = layout.pgdata.join(file);
            if !path.exists() {
                fs::write(&path, text)
                    .map_err(|e| LocalPgError::io(format!("writing {}", path.display()), e))?;
                standby.run_as.give(&path)?;
            }
        }
        let control = run(standby
            .run_as
            .command(&bindir.join("pg_controldata"), &layout.root)
            .arg(&layout.pgdata))?;
        let mut options = String::new();
        for line in control.lines() {
            if let Some((name, value)) = line.split_once(':') {
                if let Some((_, setting)) = AT_LEAST_THE_PRIMARYS.iter().find(|(n, _)| *n == name) {
                    options.push_str(&format!(" -c {setting}={}", value.trim()));
                }
            }
        }
        owned_dir(&layout.socket_dir, &standby.run_as)?;
        fs::File::create(&layout.log)
            .map_err(|e| LocalPgError::io(format!("creating {}", layout.log.display()), e))?;
        standby.run_as.give(&layout.log)?;
        let free = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| LocalPgError::io("finding a free port", e))?
            .port();
        let options = format!(
            "-p {free} -k {} -c listen_addresses=127.0.0.1 -c hot_standby=on{options}",
            shell_quote(&layout.socket_dir)
        );
        // It accepts connections once it replayed the WAL written during the copy, which on a
        // busy server may take minutes.
        run(standby
            .run_as
            .command(&standby.pg_ctl, &layout.root)
            .arg("-D")
            .arg(&layout.pgdata)
            .args(["-w", "-t", "900", "-l"])
            .arg(&layout.log)
            .args(["-o", &options, "start"]))?;
        wait_for_tcp(free, layout)?;
        standby.port = free;
        Ok(standby)
    }

    /// `postgres://<user>@127.0.0.1:<port>/<database>`.
    pub fn url(&self, user: &str, database: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// The standby's folder (its data, socket and log).
    pub fn folder(&self) -> &Path {
        &self.layout.root
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        if self.layout.pgdata.join("postmaster.pid").exists() {
            let stopped = run(self
                .run_as
                .command(&self.pg_ctl, &self.layout.root)
                .arg("-D")
                .arg(&self.layout.pgdata)
                .args(["-m", "immediate", "-w", "stop"]));
            if let Err(error) = stopped {
                tracing::warn!(%error, "stopping the standby");
            }
        }
        if let Err(error) = fs::remove_dir_all(&self.layout.root) {
            tracing::warn!(%error, folder = %self.layout.root.display(), "removing the standby");
        }
    }
}
