//! IMI notifications beyond the read model: mailing the outbox (the `notifications`
//! projection) over SMTP, the texts in the recipient's language, the scheduler that acts on
//! every time rule, and their status.

pub mod mail;
pub mod scheduler;
pub mod sender;
pub mod status;
pub mod texts;
