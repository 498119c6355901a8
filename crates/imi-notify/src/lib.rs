//! IMI notifications beyond the read model: mailing the outbox (the `notifications`
//! projection) over SMTP, the texts in the recipient's language, the scheduler that acts on
//! every time rule, and their status.

pub mod mail;
pub mod scheduler;
pub mod sender;
pub mod status;
pub mod texts;

/// The read model a query names does not exist yet (its projector has not created it): for
/// the sender and the scheduler, nothing to do yet.
fn undefined_table(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01"))
}
