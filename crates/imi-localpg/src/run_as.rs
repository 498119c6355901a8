//! Who `initdb` and `pg_ctl` run as. PostgreSQL refuses to run as root, so a root caller hands
//! the cluster to an unprivileged system user.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::fcntl::AtFlags;
use nix::unistd::{fchownat, Gid, Uid, User};

use crate::LocalPgError;

#[derive(Debug, Clone)]
pub(crate) struct RunAs {
    /// `None`: run as ourselves (not root).
    user: Option<Unprivileged>,
}

#[derive(Debug, Clone)]
struct Unprivileged {
    name: String,
    uid: Uid,
    gid: Gid,
}

impl RunAs {
    pub(crate) fn detect() -> Result<Self, LocalPgError> {
        if !Uid::effective().is_root() {
            return Ok(Self { user: None });
        }
        for name in ["postgres", "nobody"] {
            let user = User::from_name(name)
                .map_err(|e| LocalPgError::io(format!("looking up user `{name}`"), e.into()))?;
            if let Some(user) = user {
                return Ok(Self {
                    user: Some(Unprivileged {
                        name: user.name,
                        uid: user.uid,
                        gid: user.gid,
                    }),
                });
            }
        }
        Err(LocalPgError::NoUnprivilegedUser)
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.name.as_str())
    }

    /// A command for `program`, started in `cwd` (the caller's own cwd, e.g. /root, may be closed
    /// to the unprivileged user) and with that user's uid/gid when we are root.
    pub(crate) fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd);
        if let Some(user) = &self.user {
            // std also drops root's supplementary groups when uid is set.
            cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        cmd
    }

    /// Whether the user can enter `dir`: the child's chdir happens after setuid, so this checks
    /// every parent folder for real. `probe` is any harmless binary (`initdb --version`).
    pub(crate) fn can_enter(&self, dir: &Path, probe: &Path) -> bool {
        self.command(probe, dir)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Hands `path` to the user (no-op when not root).
    pub(crate) fn give(&self, path: &Path) -> Result<(), LocalPgError> {
        let Some(user) = &self.user else {
            return Ok(());
        };
        // No-follow: a symlink inside pgdata (e.g. pg_wal) must not hand over its target.
        fchownat(
            None,
            path,
            Some(user.uid),
            Some(user.gid),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| {
            LocalPgError::io(
                format!("chown {} to {}", path.display(), user.name),
                e.into(),
            )
        })
    }

    /// Whether `path` belongs to someone other than the user we run PostgreSQL as.
    pub(crate) fn owns_not(&self, path: &Path) -> bool {
        let Some(user) = &self.user else {
            return false;
        };
        std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() != user.uid.as_raw())
    }

    /// Hands `path` and everything below it to the user (no-op when not root).
    pub(crate) fn give_tree(&self, path: &Path) -> Result<(), LocalPgError> {
        if self.user.is_none() {
            return Ok(());
        }
        self.give(path)?;
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            let entries = std::fs::read_dir(path)
                .map_err(|e| LocalPgError::io(format!("reading {}", path.display()), e))?;
            for entry in entries {
                let entry = entry
                    .map_err(|e| LocalPgError::io(format!("reading {}", path.display()), e))?;
                self.give_tree(&entry.path())?;
            }
        }
        Ok(())
    }
}
