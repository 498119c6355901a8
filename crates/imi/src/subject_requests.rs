//! `imi subject-requests`: data subjects' requests on the server. The queue shows facts only
//! (no subject, no answer): the personal data are read through GraphQL by the authority's
//! data administrators, each reading logged.

use anyhow::Result;
use sqlx::PgPool;

#[derive(clap::Subcommand)]
pub enum SubjectRequestsCommand {
    /// The open data subjects' requests of an authority, the nearest deadline first.
    Queue {
        /// The authority that holds the data (and answers).
        #[arg(long)]
        authority: String,
    },
}

pub async fn run(pool: &PgPool, command: SubjectRequestsCommand) -> Result<()> {
    match command {
        SubjectRequestsCommand::Queue { authority } => {
            let today = chrono::Utc::now().date_naive();
            let open = imi_projections::subject_requests::open_of(pool, &authority).await?;
            if open.is_empty() {
                println!("no open data subjects' requests for {authority}");
            }
            for r in open {
                println!(
                    "{}\t{}\t{}\t{:?}\tdue {}{}",
                    r.id,
                    r.kind.as_str(),
                    r.exchange,
                    r.status,
                    r.due_on,
                    if today > r.due_on { "\toverdue" } else { "" }
                );
            }
            Ok(())
        }
    }
}
