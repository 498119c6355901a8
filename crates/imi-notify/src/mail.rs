//! Where mails go: an SMTP server (`IMI_SMTP_URL`, e.g. `smtp://relay.example:25`,
//! `smtps://user:pass@relay.example:465`, `smtp://host:587?tls=required`), or, for the
//! embedded default without one, a pickup directory of `.eml` files.

use lettre::message::Mailbox;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// The sender address when `IMI_MAIL_FROM` is not set.
pub const DEFAULT_FROM: &str = "IMI <no-reply@imi.localhost>";

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Directory(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// A configured mail transport and sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    pub from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail configuration: {0}")]
    Config(String),
    #[error("sending failed: {0}")]
    Send(String),
}

impl Mailer {
    /// An SMTP transport from a URL (see the module documentation).
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Config(format!("IMI_SMTP_URL: {e}")))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Self {
            transport: Transport::Smtp(transport),
            from: parse_from(from)?,
        })
    }

    /// A pickup directory: each mail becomes one `.eml` file there.
    pub fn directory(dir: impl Into<PathBuf>, from: &str) -> Result<Self, MailError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| MailError::Config(format!("mail directory {}: {e}", dir.display())))?;
        Ok(Self {
            transport: Transport::Directory(AsyncFileTransport::new(&dir), dir),
            from: parse_from(from)?,
        })
    }

    /// From `IMI_SMTP_URL` and `IMI_MAIL_FROM`; without an SMTP URL, the pickup directory
    /// `default_dir`.
    pub fn from_env(default_dir: impl Into<PathBuf>) -> Result<Self, MailError> {
        let from = std::env::var("IMI_MAIL_FROM").unwrap_or_else(|_| DEFAULT_FROM.to_string());
        match std::env::var("IMI_SMTP_URL") {
            Ok(url) if !url.trim().is_empty() => Self::smtp(url.trim(), &from),
            _ => Self::directory(default_dir, &from),
        }
    }

    /// Where mails go, for logs and status (no credentials).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP (IMI_SMTP_URL)".to_string(),
            Transport::Directory(_, dir) => format!("pickup directory {}", dir.display()),
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        match &self.transport {
            Transport::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Send(e.to_string())),
            Transport::Directory(t, _) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Send(e.to_string())),
        }
    }
}

fn parse_from(from: &str) -> Result<Mailbox, MailError> {
    from.parse()
        .map_err(|e| MailError::Config(format!("IMI_MAIL_FROM {from:?}: {e}")))
}
