//! Configuration: flags and environment variables, with the embedded default when no
//! database is named.

use anyhow::{Context, Result};
use imi_store::sealing::MasterKey;
use std::path::{Path, PathBuf};

/// Where the database is.
pub enum Database {
    Url(String),
    /// The private cluster in the data folder.
    Embedded,
}

impl Database {
    pub fn from_option(url: Option<String>) -> Self {
        match url {
            Some(url) if !url.trim().is_empty() => Database::Url(url),
            _ => Database::Embedded,
        }
    }

    /// The URL to connect to, starting the private cluster (and creating its `imi` database)
    /// when needed.
    pub async fn url(&self) -> Result<String> {
        match self {
            Database::Url(url) => Ok(url.clone()),
            Database::Embedded => {
                let root = imi_localpg::default_data_root();
                let cluster =
                    tokio::task::spawn_blocking(move || imi_localpg::ensure_running(&root))
                        .await??;
                let admin = sqlx::PgPool::connect_with(imi_store::pool::connect_options(
                    &cluster.url("postgres"),
                )?)
                .await?;
                let exists: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'imi')",
                )
                .fetch_one(&admin)
                .await?;
                if !exists {
                    sqlx::raw_sql("CREATE DATABASE imi").execute(&admin).await?;
                }
                admin.close().await;
                Ok(cluster.url("imi"))
            }
        }
    }
}

/// A secret from its variable, or else one generated once and kept in the data folder (fine
/// for the embedded default; set the variable in production).
pub fn secret(value: Option<String>, file: &str, what: &str) -> Result<String> {
    if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
        return Ok(v);
    }
    let dir = imi_localpg::default_data_root().join("secrets");
    let path = dir.join(file);
    if let Ok(v) = std::fs::read_to_string(&path) {
        return Ok(v.trim().to_string());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let generated = MasterKey::generate().export_hex();
    write_private(&path, &generated)?;
    tracing::warn!("{what} not set: generated one in {}", path.display());
    Ok(generated)
}

fn write_private(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    Ok(())
}

/// The data folder, for messages.
pub fn data_root() -> PathBuf {
    imi_localpg::default_data_root()
}
