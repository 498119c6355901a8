//! The processing log for data protection officers (Regulation 1024/2012, Art. 17(3)): each
//! Member State's officers (a role of its national coordinator, see
//! `imi_domain::authority::UserRole::DataProtectionOfficer`) list the entries of what users of
//! their Member State's authorities did with personal data. Nobody else reads the log through
//! the interfaces (the `imi audit reads` command reads it on the server). The log holds no
//! personal data itself: exchanges, field names, levels, user and authority ids.

use crate::{App, AppError, AppResult, Caller};
use chrono::{DateTime, Utc};
use imi_store::processing_log::{self, Entry, Filter};

/// The largest page.
pub const MAX_PAGE: i64 = 100;

/// What a data protection officer asks for; all given conditions hold.
#[derive(Clone, Debug, Default)]
pub struct LogQuery {
    /// The exchange's key: `InformationRequest/<id>`, `Alert/<id>`, `User/<id>`.
    pub exchange: Option<String>,
    /// A user id (`user:` prefix optional).
    pub user: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Entries after this entry id.
    pub after: Option<i64>,
    pub first: i64,
}

/// One page of entries, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct LogPage {
    pub entries: Vec<Entry>,
    pub has_next_page: bool,
}

impl App {
    /// The processing log of the caller's Member State, for its data protection officers.
    pub async fn processing_log(&self, caller: &Caller, query: LogQuery) -> AppResult<LogPage> {
        let reader = self.reader(caller).await?;
        let Some(member_state) = reader.data_protection_officer_of() else {
            return Err(AppError::forbidden(
                "only a data protection officer of the Member State's national coordinator \
                 reads the processing log",
            ));
        };
        if !(0..=MAX_PAGE).contains(&query.first) {
            return Err(AppError::bad_input(format!(
                "`first` must be between 0 and {MAX_PAGE}"
            )));
        }
        if let (Some(from), Some(to)) = (query.from, query.to) {
            if from > to {
                return Err(AppError::bad_input("`from` is after `to`"));
            }
        }
        let exchange = query
            .exchange
            .map(|e| crate::input::text("exchange", &e))
            .transpose()?;
        let user = query
            .user
            .map(|u| crate::input::text("user", &u))
            .transpose()?
            .map(|u| match u.strip_prefix("user:") {
                Some(_) => u,
                None => format!("user:{u}"),
            });
        let authorities =
            imi_projections::directory::ids_in_member_state(&self.reads, member_state.code())
                .await
                .map_err(|e| AppError::database("reading the directory", &e))?;
        let mut entries = processing_log::entries(
            &self.reads,
            &Filter {
                exchange,
                acting_user: user,
                from: query.from,
                to: query.to,
                acting_authorities: Some(authorities),
                after: query.after,
                limit: query.first + 1,
            },
        )
        .await
        .map_err(|e| AppError::database("reading the processing log", &e))?;
        let has_next_page = entries.len() as i64 > query.first;
        entries.truncate(query.first as usize);
        Ok(LogPage {
            entries,
            has_next_page,
        })
    }
}
