//! Attachments' bytes: stored sealed under their request's key before a draft or a reply lists
//! them, and read back only at the full view with personal data. A request the caller may not
//! see, and an attachment it does not hold, answer alike.

use crate::caller::Caller;
use crate::error::{reason, AppError, AppResult, Code};
use crate::input;
use crate::opening::Reading;
use crate::App;
use imi_domain::authority::UserRole;
use imi_domain::request::visibility::RequestField;
use imi_domain::request::{request_key_id, view_level};
use imi_projections::request_monitoring;
use imi_store::attachments::{self, AttachmentError, StoredAttachment};
use imi_store::processing_log::{self, Kind, Processing};
use imi_store::sealing::Opened;

fn unknown_attachment() -> AppError {
    AppError::not_found("no such attachment")
}

fn attachment_error(e: AttachmentError) -> AppError {
    match e {
        AttachmentError::Empty | AttachmentError::TooLarge | AttachmentError::MediaType(_) => {
            AppError::bad_input(e.to_string())
        }
        AttachmentError::Seal(e) => AppError::sealing("an attachment", &e),
        AttachmentError::Database(e) => AppError::database("an attachment", &e),
        e => AppError::internal("an attachment", &e),
    }
}

impl App {
    /// Stores a document for request `id`: allowed to a request handler who reads the request
    /// with personal data, and, before the request exists, to any request handler (who is
    /// about to draft it).
    pub async fn upload_attachment(
        &self,
        caller: &Caller,
        id: &str,
        media_type: &str,
        content: &[u8],
    ) -> AppResult<StoredAttachment> {
        let reader = self.reader(caller).await?;
        let id = input::id(id)?;
        let handler_in = |area: Option<&str>| {
            reader.user().is_some_and(|u| {
                u.roles.iter().any(|(a, roles)| {
                    roles.contains(&UserRole::RequestHandler) && area.is_none_or(|x| a.code() == x)
                })
            })
        };
        let row = request_monitoring::get(&self.pool, &id)
            .await
            .map_err(|e| AppError::database("reading a request", &e))?;
        let allowed = match &row {
            Some(row) => {
                // An id in use by a request the caller may not see answers as drafting with it
                // would: the id is taken. That says no more than a draft's refusal does.
                let level = view_level(&reader, &row.summary).ok_or_else(|| {
                    AppError::from(imi_domain::error::DomainError::refused(
                        imi_domain::request::ID_TAKEN,
                    ))
                })?;
                RequestField::AttachmentNamesAndContent.shown_at(level)
                    && !row.summary.personal_data_blocked()
                    && handler_in(Some(&row.area))
            }
            None => handler_in(None),
        };
        if !allowed {
            return Err(AppError::forbidden(
                "only a request handler of an authority involved attaches documents",
            ));
        }
        attachments::put(
            &self.pool,
            &self.keyring,
            &request_key_id(&id),
            media_type,
            content,
        )
        .await
        .map_err(attachment_error)
    }

    /// A document of request `id` (its media type and bytes), for a reader at the full view
    /// with personal data.
    pub async fn download_attachment(
        &self,
        caller: &Caller,
        id: &str,
        sha256: &str,
    ) -> AppResult<(String, Vec<u8>)> {
        let reader = self.reader(caller).await?;
        let id = input::id(id)?;
        let sha256 = input::sha256(sha256).map_err(|_| unknown_attachment())?;
        let row = request_monitoring::get(&self.pool, &id)
            .await
            .map_err(|e| AppError::database("reading a request", &e))?
            .ok_or_else(unknown_attachment)?;
        let level = view_level(&reader, &row.summary).ok_or_else(unknown_attachment)?;
        if !RequestField::AttachmentNamesAndContent.shown_at(level)
            || row.summary.personal_data_blocked()
        {
            return Err(AppError::forbidden(
                "attachments are shown only with the full view with personal data",
            ));
        }
        let (media_type, content) =
            attachments::get(&self.pool, &self.keyring, &request_key_id(&id), &sha256)
                .await
                .map_err(attachment_error)?
                .ok_or_else(unknown_attachment)?;
        match content {
            Opened::Value(bytes) => {
                // The bytes are answered only once their reading is recorded.
                let reading = Reading::by(&reader, "attachment.download", level);
                let entry = Processing {
                    exchange: request_key_id(&id),
                    kind: Kind::Read,
                    operation: reading.operation.to_string(),
                    fields: vec![format!("attachment:{sha256}")],
                    level: Some(reading.level),
                    acting_user: reading.acting_user,
                    acting_authority: reading.acting_authority,
                };
                processing_log::record(&self.pool, &entry)
                    .await
                    .map_err(|e| AppError::database("recording a reading", &e))?;
                Ok((media_type, bytes))
            }
            Opened::Erased => Err(AppError::new(
                Code::NotFound,
                "the request's personal data were erased",
            )
            .with_reason(reason::PERSONAL_DATA_ERASED)),
        }
    }
}
