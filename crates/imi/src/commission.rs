//! `imi commission`: the European Commission's statistics readers. The Commission runs IMI and
//! is no Member State, so no national coordinator grants its access: the platform's operator
//! registers its readers here. A reader signs in like any user and reads the statistics of
//! every Member State, nothing else (`imi_domain::access::Reader::CommissionStatistics`).

use anyhow::{Context, Result};
use clap::Subcommand;
use imi_domain::access::COMMISSION;
use sqlx::PgPool;

#[derive(Subcommand)]
pub enum CommissionCommand {
    /// Register (or reset) a statistics reader of the Commission.
    AddReader {
        /// The reader's user id, e.g. `ec-grow-stats-1`.
        user_id: String,
        /// The login name they sign in with.
        #[arg(long)]
        login: String,
        /// Their password (at least 10 characters).
        #[arg(long, env = "IMI_READER_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Remove a statistics reader: they can no longer sign in.
    RemoveReader { user_id: String },
}

pub async fn run(pool: &PgPool, command: CommissionCommand) -> Result<()> {
    match command {
        CommissionCommand::AddReader {
            user_id,
            login,
            password,
        } => {
            imi_app::input::id(&user_id).map_err(|e| anyhow::anyhow!(e.message))?;
            imi_store::credentials::set(pool, &user_id, COMMISSION, &login, &password)
                .await
                .with_context(|| format!("registering {user_id}"))?;
            println!("{user_id} reads the statistics of every Member State as {login}");
        }
        CommissionCommand::RemoveReader { user_id } => {
            imi_store::credentials::remove(pool, &user_id).await?;
            println!("{user_id} removed");
        }
    }
    Ok(())
}
