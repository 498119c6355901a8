//! Log output: text for people (coloured only on a terminal) or JSON lines for collectors
//! (`IMI_LOG_FORMAT=json`), filtered by `RUST_LOG`.

use anyhow::{bail, Result};
use std::io::IsTerminal;

/// Installs the process's subscriber, writing to stderr.
pub fn init() -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn".into());
    let format = std::env::var("IMI_LOG_FORMAT").unwrap_or_default();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format.trim().to_ascii_lowercase().as_str() {
        "" | "text" => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        // One object a line: time, level, target, and the event's fields (`message` included).
        "json" => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
        other => bail!("IMI_LOG_FORMAT={other:?}: expected json or text"),
    }
    Ok(())
}
