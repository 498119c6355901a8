//! Alerts (SD and PQ): a mutation per command a user issues, and the read models at the level
//! the access policy allows each caller ([`imi_domain::alert::view_level`]): the high-level
//! overview, a PQ alert's profession and scope, the reduced view after closure, the full view
//! with personal data. Personal data (the provider's or professional's identity and details,
//! free text, attachments' names) is sealed here under the alert's key before any command
//! carries it, and opened only for callers with the full view.
//!
//! The facts of time (periods ending, the PQ 3-day deadline) are the scheduler's commands,
//! not mutations: only the system issues them.

use super::authority_admin::{settle, CommandPayload};
use super::directory::parse_id;
use super::model::parse_area;
use super::relay::{decode_cursor, encode_cursor, page_size, PageInfo, DEFAULT_PAGE_SIZE};
use super::{data, request, services};
use crate::errors::{command_error, outcome_label, ApiError, Code};
use crate::metrics::Metrics;
use crate::state::Services;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use imi_domain::access::ActorContext;
use imi_domain::alert as d;
use imi_domain::command::Issued;
use imi_domain::reference::MemberState;
use imi_domain::sealed::Sealed;
use imi_projections::{alert_full, alert_overview, alert_queue, alert_statistics};
use imi_store::feed::FeedPosition;
use imi_store::sealing::Opened;
use std::collections::BTreeSet;

/// Longest free text accepted (a description, a reason, a comment), in characters.
const MAX_TEXT_CHARS: usize = 20_000;
/// Most attachments' names per alert or information.
const MAX_ATTACHMENTS: usize = 50;

macro_rules! mirror {
    ($(#[$doc:meta])* $gql:ident => $dom:ident { $($v:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $gql {
            $($v),*
        }
        impl From<$gql> for d::$dom {
            fn from(v: $gql) -> Self {
                match v {
                    $($gql::$v => d::$dom::$v),*
                }
            }
        }
        impl From<d::$dom> for $gql {
            fn from(v: d::$dom) -> Self {
                match v {
                    $(d::$dom::$v => $gql::$v),*
                }
            }
        }
    };
}

mirror!(
    /// SD (Services Directive) or PQ (Art. 56a of Directive 2005/36/EC).
    AlertKind => AlertKind { Services, ProfessionalQualifications }
);
mirror!(
    /// Where an alert is in its workflow.
    AlertStatus => AlertStatus {
        Draft, Submitted, SentBack, Broadcast, ClosureProposed, ClosureProposalBroadcast,
        Closed, Withdrawn,
    }
);
mirror!(
    /// How much of an alert the caller sees.
    AlertViewLevel => AlertViewLevel {
        HighLevel, ProfessionAndScope, ReducedAfterClosure, FullWithPersonalData,
    }
);
mirror!(
    /// A work queue an alert waits in for an authority.
    AlertQueue => AlertQueue {
        ToBroadcast, ToAcknowledge, ToDisseminate, ToComment, ToObject,
        InformationToBroadcast, ToClose,
    }
);
mirror!(
    /// Whether a PQ decision prohibits or restricts practice.
    RestrictionScope => RestrictionScope { Prohibition, Restriction }
);
mirror!(
    /// Additional information, or a request for it.
    InformationKind => InformationKind { Information, Request }
);

/// How an authority takes part in an alert (filter of `alerts`).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertInvolvement {
    Initiating,
    Coordinator,
    Postbox,
    Recipient,
    ClosingCoordinator,
}

// --- Commands -------------------------------------------------------------------------

/// The alert projections a command waits for by default.
fn alert_wait_list(requested: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    super::directory::wait_list(Some(requested.unwrap_or_else(|| {
        [
            alert_overview::NAME,
            alert_full::NAME,
            alert_queue::NAME,
            alert_statistics::NAME,
        ]
        .map(String::from)
        .to_vec()
    })))
}

/// Sends `command` to alert `alert_id` as the signed-in caller and waits as asked.
async fn issue(
    ctx: &Context<'_>,
    alert_id: &str,
    wait_for: Option<Vec<String>>,
    command: d::AlertCommand,
) -> Result<CommandPayload, ApiError> {
    let request = request(ctx)?;
    let principal = request.principal()?;
    let services = services(ctx)?;
    let wait_for = alert_wait_list(wait_for)?;
    let position = execute(ctx, alert_id, principal, command).await?;
    settle(services, position, &wait_for).await
}

async fn execute(
    ctx: &Context<'_>,
    alert_id: &str,
    principal: &crate::auth::Principal,
    command: d::AlertCommand,
) -> Result<Option<FeedPosition>, ApiError> {
    let services = services(ctx)?;
    let metrics = data::<Metrics>(ctx)?;
    let name = command_name(&command);
    let result = services
        .alerts
        .execute(
            alert_id,
            Issued::new(principal.actor(), command),
            request(ctx)?.metadata(principal),
        )
        .await
        .map_err(command_error);
    metrics.command("Alert", name, outcome_label(&result.as_ref().map(|_| ())));
    result
}

fn command_name(command: &d::AlertCommand) -> &'static str {
    use d::AlertCommand as C;
    match command {
        C::DraftAlert { .. } => "DraftAlert",
        C::AmendDraft { .. } => "AmendDraft",
        C::SubmitAlert { .. } => "SubmitAlert",
        C::SendBackAlert { .. } => "SendBackAlert",
        C::BroadcastAlert { .. } => "BroadcastAlert",
        C::ExtendBroadcast { .. } => "ExtendBroadcast",
        C::AcknowledgeReceipt => "AcknowledgeReceipt",
        C::AddRecipients { .. } => "AddRecipients",
        C::SubmitAdditionalInformation { .. } => "SubmitAdditionalInformation",
        C::BroadcastAdditionalInformation { .. } => "BroadcastAdditionalInformation",
        C::ProposeClosure { .. } => "ProposeClosure",
        C::CommentOnClosure { .. } => "CommentOnClosure",
        C::BroadcastClosureProposal => "BroadcastClosureProposal",
        C::RejectClosureProposal { .. } => "RejectClosureProposal",
        C::ObjectToClosure { .. } => "ObjectToClosure",
        C::CloseAlert => "CloseAlert",
        C::WithdrawAlert { .. } => "WithdrawAlert",
        C::EndCommentPeriod => "EndCommentPeriod",
        C::EndObjectionPeriod => "EndObjectionPeriod",
        C::PassThreeDayDeadline => "PassThreeDayDeadline",
    }
}

fn checked_text(what: &str, text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_input(format!(
            "{what} must have 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(text.to_string())
}

/// Seals `value` under the alert's key.
async fn seal(services: &Services, alert_id: &str, value: &str) -> Result<Sealed, ApiError> {
    services
        .keyring
        .seal(&d::alert_key_id(alert_id), &serde_json::json!(value))
        .await
        .map_err(|e| ApiError::internal("sealing an alert's personal data", &e))
}

async fn seal_text(
    services: &Services,
    alert_id: &str,
    what: &str,
    text: &str,
) -> Result<Sealed, ApiError> {
    let text = checked_text(what, text)?;
    seal(services, alert_id, &text).await
}

async fn seal_names(
    services: &Services,
    alert_id: &str,
    names: &[String],
) -> Result<Vec<Sealed>, ApiError> {
    if names.len() > MAX_ATTACHMENTS {
        return Err(ApiError::bad_input(format!(
            "at most {MAX_ATTACHMENTS} attachments"
        )));
    }
    let mut sealed = Vec::with_capacity(names.len());
    for name in names {
        sealed.push(seal_text(services, alert_id, "an attachment's name", name).await?);
    }
    Ok(sealed)
}

fn member_state(code: &str) -> Result<MemberState, ApiError> {
    Ok(MemberState::parse(code)?)
}

fn member_states(codes: &[String]) -> Result<BTreeSet<MemberState>, ApiError> {
    codes.iter().map(|c| member_state(c)).collect()
}

/// An SD alert's content, in the clear as the client sends it.
#[derive(InputObject)]
pub struct SdAlertFields {
    /// A service activity code of the area, when one fits.
    pub service_activity: Option<String>,
    /// The provider's Member State of Establishment, if known (it manages the closure).
    pub member_state_of_establishment: Option<String>,
    /// The dangerous activity (free text; personal data).
    pub dangerous_activity: String,
    /// The service provider's identity and details (personal data).
    pub service_provider: String,
    #[graphql(default)]
    pub attachment_names: Vec<String>,
}

impl SdAlertFields {
    async fn content(&self, services: &Services, id: &str) -> Result<d::AlertContent, ApiError> {
        Ok(d::AlertContent::Services(d::ServicesAlert {
            service_activity: self.service_activity.clone(),
            member_state_of_establishment: self
                .member_state_of_establishment
                .as_deref()
                .map(member_state)
                .transpose()?,
            dangerous_activity: seal_text(
                services,
                id,
                "the dangerous activity",
                &self.dangerous_activity,
            )
            .await?,
            service_provider: seal_text(
                services,
                id,
                "the service provider",
                &self.service_provider,
            )
            .await?,
            attachments: seal_names(services, id, &self.attachment_names).await?,
        }))
    }
}

/// A PQ alert's content (Art. 56a(2) of Directive 2005/36/EC).
#[derive(InputObject)]
pub struct PqAlertFields {
    /// A profession code of the area.
    pub profession: String,
    pub scope: RestrictionScope,
    pub applies_from: NaiveDate,
    pub applies_until: Option<NaiveDate>,
    /// When the decision was taken: the alert is due within 3 days.
    pub decided_at: DateTime<Utc>,
    /// The authority or court that took the decision.
    pub deciding_authority: String,
    pub member_state_of_establishment: Option<String>,
    /// The professional's identity (personal data).
    pub professional: String,
    /// Further details (free text; personal data).
    pub details: Option<String>,
    #[graphql(default)]
    pub attachment_names: Vec<String>,
}

impl PqAlertFields {
    async fn content(&self, services: &Services, id: &str) -> Result<d::AlertContent, ApiError> {
        let details = match &self.details {
            Some(t) => Some(seal_text(services, id, "the details", t).await?),
            None => None,
        };
        Ok(d::AlertContent::ProfessionalQualifications(
            d::ProfessionalAlert {
                profession: self.profession.trim().to_string(),
                scope: self.scope.into(),
                applies_from: self.applies_from,
                applies_until: self.applies_until,
                decided_at: self.decided_at,
                deciding_authority: self.deciding_authority.trim().to_string(),
                member_state_of_establishment: self
                    .member_state_of_establishment
                    .as_deref()
                    .map(member_state)
                    .transpose()?,
                professional: seal_text(services, id, "the professional", &self.professional)
                    .await?,
                details,
                attachments: seal_names(services, id, &self.attachment_names).await?,
            },
        ))
    }
}

/// Input of `draftSdAlert`.
#[derive(InputObject)]
pub struct DraftSdAlertInput {
    /// A legislative area with alerts; default SD.
    pub area: Option<String>,
    pub alert: SdAlertFields,
    pub wait_for: Option<Vec<String>>,
}

/// Input of `draftPqAlert`.
#[derive(InputObject)]
pub struct DraftPqAlertInput {
    /// Default PQ.
    pub area: Option<String>,
    pub alert: PqAlertFields,
    pub wait_for: Option<Vec<String>>,
}

/// Input of `amendSdAlert`.
#[derive(InputObject)]
pub struct AmendSdAlertInput {
    pub alert_id: ID,
    pub alert: SdAlertFields,
    pub wait_for: Option<Vec<String>>,
}

/// Input of `amendPqAlert`.
#[derive(InputObject)]
pub struct AmendPqAlertInput {
    pub alert_id: ID,
    pub alert: PqAlertFields,
    pub wait_for: Option<Vec<String>>,
}

/// What a draft did.
#[derive(SimpleObject)]
pub struct DraftAlertPayload {
    pub position: Option<String>,
    pub waited: bool,
    pub alert_id: ID,
}

/// An alert, for commands that carry nothing else.
#[derive(InputObject)]
pub struct AlertInput {
    pub alert_id: ID,
    pub wait_for: Option<Vec<String>>,
}

/// An alert and a free text (a reason, a comment, an objection; personal data).
#[derive(InputObject)]
pub struct AlertTextInput {
    pub alert_id: ID,
    pub text: String,
    pub wait_for: Option<Vec<String>>,
}

/// Input of `submitAlert`.
#[derive(InputObject)]
pub struct SubmitAlertInput {
    pub alert_id: ID,
    /// An alert coordinator the caller's authority is linked to (or itself, being one).
    pub coordinator_id: ID,
    pub wait_for: Option<Vec<String>>,
}

/// Input of `broadcastAlert` and `extendAlertBroadcast`.
#[derive(InputObject)]
pub struct AlertMemberStatesInput {
    pub alert_id: ID,
    pub member_states: Vec<String>,
    pub wait_for: Option<Vec<String>>,
}

/// Input of `addAlertRecipients`.
#[derive(InputObject)]
pub struct AddAlertRecipientsInput {
    pub alert_id: ID,
    pub authority_ids: Vec<ID>,
    pub wait_for: Option<Vec<String>>,
}

/// Input of `submitAlertInformation`.
#[derive(InputObject)]
pub struct SubmitAlertInformationInput {
    pub alert_id: ID,
    pub kind: InformationKind,
    /// An alert coordinator the caller's authority is linked to (or itself).
    pub coordinator_id: ID,
    pub text: String,
    #[graphql(default)]
    pub attachment_names: Vec<String>,
    pub wait_for: Option<Vec<String>>,
}

/// What `submitAlertInformation` did.
#[derive(SimpleObject)]
pub struct AlertInformationPayload {
    pub position: Option<String>,
    pub waited: bool,
    pub information_id: ID,
}

/// Input of `broadcastAlertInformation`.
#[derive(InputObject)]
pub struct BroadcastAlertInformationInput {
    pub alert_id: ID,
    pub information_id: ID,
    pub wait_for: Option<Vec<String>>,
}

/// Input of `proposeAlertClosure`.
#[derive(InputObject)]
pub struct ProposeAlertClosureInput {
    pub alert_id: ID,
    /// An alert coordinator of the Member State responsible for closure.
    pub closing_coordinator_id: ID,
    pub reason: String,
    pub wait_for: Option<Vec<String>>,
}

#[derive(Default)]
pub struct AlertsMutation;

#[Object]
impl AlertsMutation {
    /// An alert handler drafts an SD alert for their authority.
    async fn draft_sd_alert(
        &self,
        ctx: &Context<'_>,
        input: DraftSdAlertInput,
    ) -> async_graphql::Result<DraftAlertPayload> {
        let services = services(ctx)?;
        let alert_id = uuid::Uuid::now_v7().to_string();
        let area = parse_area(input.area.as_deref().unwrap_or("SD"))?;
        let content = input.alert.content(services, &alert_id).await?;
        draft(ctx, alert_id, area, content, input.wait_for).await
    }

    /// An alert handler drafts a PQ alert for their authority.
    async fn draft_pq_alert(
        &self,
        ctx: &Context<'_>,
        input: DraftPqAlertInput,
    ) -> async_graphql::Result<DraftAlertPayload> {
        let services = services(ctx)?;
        let alert_id = uuid::Uuid::now_v7().to_string();
        let area = parse_area(input.area.as_deref().unwrap_or("PQ"))?;
        let content = input.alert.content(services, &alert_id).await?;
        draft(ctx, alert_id, area, content, input.wait_for).await
    }

    /// The initiating authority replaces its SD draft (or an alert sent back).
    async fn amend_sd_alert(
        &self,
        ctx: &Context<'_>,
        input: AmendSdAlertInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let content = input.alert.content(services(ctx)?, &id).await?;
        Ok(issue(
            ctx,
            &id,
            input.wait_for,
            d::AlertCommand::AmendDraft { content },
        )
        .await?)
    }

    /// The initiating authority replaces its PQ draft (or an alert sent back).
    async fn amend_pq_alert(
        &self,
        ctx: &Context<'_>,
        input: AmendPqAlertInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let content = input.alert.content(services(ctx)?, &id).await?;
        Ok(issue(
            ctx,
            &id,
            input.wait_for,
            d::AlertCommand::AmendDraft { content },
        )
        .await?)
    }

    /// Submits the alert to an alert coordinator.
    async fn submit_alert(
        &self,
        ctx: &Context<'_>,
        input: SubmitAlertInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let command = d::AlertCommand::SubmitAlert {
            coordinator_id: parse_id(&input.coordinator_id)?,
        };
        Ok(issue(ctx, &id, input.wait_for, command).await?)
    }

    /// The coordinator sends the alert back to the initiating authority, with a reason.
    async fn send_back_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertTextInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let reason = seal_text(services(ctx)?, &id, "the reason", &input.text).await?;
        Ok(issue(
            ctx,
            &id,
            input.wait_for,
            d::AlertCommand::SendBackAlert { reason },
        )
        .await?)
    }

    /// The coordinator broadcasts the alert to the recipient Member States' postboxes.
    async fn broadcast_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertMemberStatesInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let command = d::AlertCommand::BroadcastAlert {
            member_states: member_states(&input.member_states)?,
        };
        Ok(issue(ctx, &id, input.wait_for, command).await?)
    }

    /// The coordinator adds recipient Member States to a broadcast alert.
    async fn extend_alert_broadcast(
        &self,
        ctx: &Context<'_>,
        input: AlertMemberStatesInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let command = d::AlertCommand::ExtendBroadcast {
            member_states: member_states(&input.member_states)?,
        };
        Ok(issue(ctx, &id, input.wait_for, command).await?)
    }

    /// A recipient Member State's postbox acknowledges receipt.
    async fn acknowledge_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        Ok(issue(
            ctx,
            &id,
            input.wait_for,
            d::AlertCommand::AcknowledgeReceipt,
        )
        .await?)
    }

    /// A postbox or coordinator disseminates the alert within its Member State.
    async fn add_alert_recipients(
        &self,
        ctx: &Context<'_>,
        input: AddAlertRecipientsInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let authorities = input
            .authority_ids
            .iter()
            .map(parse_id)
            .collect::<Result<_, _>>()?;
        Ok(issue(
            ctx,
            &id,
            input.wait_for,
            d::AlertCommand::AddRecipients { authorities },
        )
        .await?)
    }

    /// An involved authority adds information (or asks for it) through a coordinator.
    async fn submit_alert_information(
        &self,
        ctx: &Context<'_>,
        input: SubmitAlertInformationInput,
    ) -> async_graphql::Result<AlertInformationPayload> {
        let services = services(ctx)?;
        let id = parse_id(&input.alert_id)?;
        let information_id = uuid::Uuid::now_v7().to_string();
        let command = d::AlertCommand::SubmitAdditionalInformation {
            information_id: information_id.clone(),
            kind: input.kind.into(),
            coordinator_id: parse_id(&input.coordinator_id)?,
            text: seal_text(services, &id, "the information", &input.text).await?,
            attachments: seal_names(services, &id, &input.attachment_names).await?,
        };
        let payload = issue(ctx, &id, input.wait_for, command).await?;
        Ok(AlertInformationPayload {
            position: payload.position,
            waited: payload.waited,
            information_id: ID(information_id),
        })
    }

    /// The coordinator broadcasts additional information submitted to it.
    async fn broadcast_alert_information(
        &self,
        ctx: &Context<'_>,
        input: BroadcastAlertInformationInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let command = d::AlertCommand::BroadcastAdditionalInformation {
            information_id: parse_id(&input.information_id)?,
        };
        Ok(issue(ctx, &id, input.wait_for, command).await?)
    }

    /// An involved authority of the Member State responsible proposes closure.
    async fn propose_alert_closure(
        &self,
        ctx: &Context<'_>,
        input: ProposeAlertClosureInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let command = d::AlertCommand::ProposeClosure {
            closing_coordinator_id: parse_id(&input.closing_coordinator_id)?,
            reason: seal_text(services(ctx)?, &id, "the reason", &input.reason).await?,
        };
        Ok(issue(ctx, &id, input.wait_for, command).await?)
    }

    /// Comments on a closure proposal during the comment period.
    async fn comment_on_alert_closure(
        &self,
        ctx: &Context<'_>,
        input: AlertTextInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let comment = seal_text(services(ctx)?, &id, "the comment", &input.text).await?;
        Ok(issue(
            ctx,
            &id,
            input.wait_for,
            d::AlertCommand::CommentOnClosure { comment },
        )
        .await?)
    }

    /// The closing coordinator broadcasts the proposal after the comment period.
    async fn broadcast_alert_closure_proposal(
        &self,
        ctx: &Context<'_>,
        input: AlertInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        Ok(issue(
            ctx,
            &id,
            input.wait_for,
            d::AlertCommand::BroadcastClosureProposal,
        )
        .await?)
    }

    /// The closing coordinator drops the closure proposal.
    async fn reject_alert_closure_proposal(
        &self,
        ctx: &Context<'_>,
        input: AlertTextInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let reason = seal_text(services(ctx)?, &id, "the reason", &input.text).await?;
        Ok(issue(
            ctx,
            &id,
            input.wait_for,
            d::AlertCommand::RejectClosureProposal { reason },
        )
        .await?)
    }

    /// A recipient Member State's coordinator objects during the objection period.
    async fn object_to_alert_closure(
        &self,
        ctx: &Context<'_>,
        input: AlertTextInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let objection = seal_text(services(ctx)?, &id, "the objection", &input.text).await?;
        Ok(issue(
            ctx,
            &id,
            input.wait_for,
            d::AlertCommand::ObjectToClosure { objection },
        )
        .await?)
    }

    /// The closing coordinator closes the alert after the objection period.
    async fn close_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        Ok(issue(ctx, &id, input.wait_for, d::AlertCommand::CloseAlert).await?)
    }

    /// The initiating authority (or its coordinator) withdraws an unfounded alert.
    async fn withdraw_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertTextInput,
    ) -> async_graphql::Result<CommandPayload> {
        let id = parse_id(&input.alert_id)?;
        let reason = seal_text(services(ctx)?, &id, "the reason", &input.text).await?;
        Ok(issue(
            ctx,
            &id,
            input.wait_for,
            d::AlertCommand::WithdrawAlert { reason },
        )
        .await?)
    }
}

async fn draft(
    ctx: &Context<'_>,
    alert_id: String,
    area: imi_domain::authority::LegislativeArea,
    content: d::AlertContent,
    wait_for: Option<Vec<String>>,
) -> async_graphql::Result<DraftAlertPayload> {
    let command = d::AlertCommand::DraftAlert {
        alert_id: alert_id.clone(),
        area,
        content,
    };
    let payload = issue(ctx, &alert_id, wait_for, command).await?;
    Ok(DraftAlertPayload {
        position: payload.position,
        waited: payload.waited,
        alert_id: ID(alert_id),
    })
}

// --- Views ----------------------------------------------------------------------------

/// A recipient Member State and its postbox.
#[derive(SimpleObject)]
pub struct RecipientMemberState {
    pub member_state: String,
    pub postbox_id: ID,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// A closure under way.
#[derive(SimpleObject)]
pub struct AlertClosure {
    pub proposed_by: ID,
    pub closing_coordinator_id: ID,
    pub comment_period_ends_at: DateTime<Utc>,
    pub comment_period_ended: bool,
    pub objection_period_ends_at: Option<DateTime<Utc>>,
    pub objection_period_ended: bool,
    pub objecting_member_states: Vec<String>,
}

/// An alert's content as the caller's level shows it: the fields that are personal data are
/// null unless the level is `FULL_WITH_PERSONAL_DATA` (and `erased` tells they are gone).
#[derive(SimpleObject, Default)]
pub struct AlertContentView {
    pub service_activity: Option<String>,
    pub member_state_of_establishment: Option<String>,
    pub applies_from: Option<NaiveDate>,
    pub applies_until: Option<NaiveDate>,
    pub decided_at: Option<DateTime<Utc>>,
    pub deciding_authority: Option<String>,
    pub dangerous_activity: Option<String>,
    pub service_provider: Option<String>,
    pub professional: Option<String>,
    pub details: Option<String>,
    pub attachment_names: Option<Vec<String>>,
    /// The alert's personal data was erased.
    pub erased: bool,
}

/// One entry of an alert's history; its text only at the full view.
#[derive(SimpleObject)]
pub struct AlertHistoryEntry {
    /// `SentBack`, `Information`, `InformationRequest`, `ClosureProposal`, `Comment`,
    /// `ClosureRejection`, `Objection`, `Withdrawal`.
    pub entry: String,
    pub authority_id: ID,
    pub information_id: Option<ID>,
    pub broadcast: bool,
    pub text: Option<String>,
    pub attachment_names: Option<Vec<String>>,
    pub at: DateTime<Utc>,
}

/// An alert at the caller's view level.
#[derive(SimpleObject)]
pub struct Alert {
    pub id: ID,
    pub view_level: AlertViewLevel,
    pub kind: AlertKind,
    pub area: String,
    pub status: AlertStatus,
    pub initiating_authority_id: ID,
    pub initiating_member_state: String,
    pub member_state_of_establishment: Option<String>,
    pub coordinator_id: Option<ID>,
    pub sending_postbox_id: Option<ID>,
    pub recipient_member_states: Vec<RecipientMemberState>,
    pub recipient_authority_ids: Vec<ID>,
    pub closure: Option<AlertClosure>,
    pub drafted_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub broadcast_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// PQ: the date the alert is due by (3 days after the decision).
    pub three_day_deadline: Option<DateTime<Utc>>,
    /// PQ, once the deadline passed: whether it was broadcast in time.
    pub broadcast_in_time: Option<bool>,
    /// PQ: shown from the profession-and-scope level up.
    pub profession: Option<String>,
    pub scope: Option<RestrictionScope>,
    /// From the reduced level up (personal data only at the full level).
    pub content: Option<AlertContentView>,
    /// From the reduced level up (texts only at the full level).
    pub history: Option<Vec<AlertHistoryEntry>>,
    pub updated_at: DateTime<Utc>,
}

fn id(s: &str) -> ID {
    ID(s.to_string())
}

/// The high-level part of an alert (and profession and scope where the level allows).
fn overview(
    summary: &d::AlertSummary,
    level: d::AlertViewLevel,
    updated_at: DateTime<Utc>,
) -> Alert {
    let scoped = level >= d::AlertViewLevel::ProfessionAndScope;
    Alert {
        id: id(&summary.alert_id),
        view_level: level.into(),
        kind: summary.kind.into(),
        area: summary.area.code().to_string(),
        status: summary.status.into(),
        initiating_authority_id: id(&summary.initiating_authority),
        initiating_member_state: summary.initiating_member_state.code().to_string(),
        member_state_of_establishment: summary
            .member_state_of_establishment
            .as_ref()
            .map(|m| m.code().to_string()),
        coordinator_id: summary.coordinator.as_deref().map(id),
        sending_postbox_id: summary.sending_postbox.as_deref().map(id),
        recipient_member_states: summary
            .recipient_member_states
            .iter()
            .map(|(ms, r)| RecipientMemberState {
                member_state: ms.code().to_string(),
                postbox_id: id(&r.postbox),
                acknowledged_at: r.acknowledged_at,
            })
            .collect(),
        recipient_authority_ids: summary.recipients.keys().map(|a| id(a)).collect(),
        closure: summary.closure.as_ref().map(|c| AlertClosure {
            proposed_by: id(&c.proposed_by),
            closing_coordinator_id: id(&c.closing_coordinator),
            comment_period_ends_at: c.comment_period_ends_at,
            comment_period_ended: c.comment_period_ended,
            objection_period_ends_at: c.objection_period_ends_at,
            objection_period_ended: c.objection_period_ended,
            objecting_member_states: c
                .objecting_member_states
                .iter()
                .map(|m| m.code().to_string())
                .collect(),
        }),
        drafted_at: summary.drafted_at,
        submitted_at: summary.submitted_at,
        broadcast_at: summary.broadcast_at,
        ended_at: summary.ended_at,
        three_day_deadline: summary.three_day_deadline,
        broadcast_in_time: summary.broadcast_in_time,
        profession: summary.profession.clone().filter(|_| scoped),
        scope: summary.scope.filter(|_| scoped).map(Into::into),
        content: None,
        history: None,
        updated_at,
    }
}

/// Opens sealed values; `None` for each erased one. Errors are internal.
async fn open_all(services: &Services, sealed: &[Sealed]) -> Result<Vec<Option<String>>, ApiError> {
    let opened = services
        .keyring
        .open_many::<serde_json::Value>(sealed)
        .await
        .map_err(|e| ApiError::internal("opening an alert's personal data", &e))?;
    opened
        .into_iter()
        .map(|o| match o {
            Ok(Opened::Value(v)) => Ok(Some(match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })),
            Ok(Opened::Erased) => Ok(None),
            Err(e) => Err(ApiError::internal("opening an alert's personal data", &e)),
        })
        .collect()
}

/// Adds the content and history the level allows.
async fn with_details(
    services: &Services,
    mut alert: Alert,
    level: d::AlertViewLevel,
) -> Result<Alert, ApiError> {
    use d::AlertViewLevel as L;
    if !matches!(level, L::ReducedAfterClosure | L::FullWithPersonalData) {
        return Ok(alert);
    }
    let mut conn = services
        .pool
        .acquire()
        .await
        .map_err(|e| ApiError::database("reading an alert", &e))?;
    let Some(details) = alert_full::get(&mut conn, &alert.id)
        .await
        .map_err(|e| ApiError::database("reading an alert", &e))?
    else {
        return Ok(alert);
    };
    let full = level == L::FullWithPersonalData;
    let mut view = AlertContentView::default();
    let mut personal: Vec<Sealed> = Vec::new();
    match &details.content {
        d::AlertContent::Services(s) => {
            view.service_activity = s.service_activity.clone();
            view.member_state_of_establishment = s
                .member_state_of_establishment
                .as_ref()
                .map(|m| m.code().to_string());
            personal.push(s.dangerous_activity.clone());
            personal.push(s.service_provider.clone());
            personal.extend(s.attachments.iter().cloned());
        }
        d::AlertContent::ProfessionalQualifications(p) => {
            view.applies_from = Some(p.applies_from);
            view.applies_until = p.applies_until;
            view.decided_at = Some(p.decided_at);
            view.deciding_authority = Some(p.deciding_authority.clone());
            view.member_state_of_establishment = p
                .member_state_of_establishment
                .as_ref()
                .map(|m| m.code().to_string());
            personal.push(p.professional.clone());
            personal.extend(p.details.iter().cloned());
            personal.extend(p.attachments.iter().cloned());
        }
    }
    let entry_texts: Vec<Sealed> = details
        .entries
        .iter()
        .flat_map(|e| std::iter::once(e.text.clone()).chain(e.attachments.iter().cloned()))
        .collect();
    let (opened, opened_entries) = if full {
        (
            open_all(services, &personal).await?,
            open_all(services, &entry_texts).await?,
        )
    } else {
        (vec![], vec![])
    };
    if full {
        // Erasing the alert's key erases all of its personal data at once.
        view.erased = opened.iter().any(Option::is_none);
        let mut values = opened.into_iter();
        match &details.content {
            d::AlertContent::Services(s) => {
                view.dangerous_activity = values.next().flatten();
                view.service_provider = values.next().flatten();
                view.attachment_names = Some(
                    values
                        .by_ref()
                        .take(s.attachments.len())
                        .flatten()
                        .collect(),
                );
            }
            d::AlertContent::ProfessionalQualifications(p) => {
                view.professional = values.next().flatten();
                if p.details.is_some() {
                    view.details = values.next().flatten();
                }
                view.attachment_names = Some(
                    values
                        .by_ref()
                        .take(p.attachments.len())
                        .flatten()
                        .collect(),
                );
            }
        }
    }
    let mut texts = opened_entries.into_iter();
    alert.history = Some(
        details
            .entries
            .iter()
            .map(|e| {
                let (text, names) = if full {
                    let text = texts.next().flatten();
                    let names = texts.by_ref().take(e.attachments.len()).flatten().collect();
                    (text, Some(names))
                } else {
                    (None, None)
                };
                AlertHistoryEntry {
                    entry: e.entry.clone(),
                    authority_id: id(&e.authority_id),
                    information_id: e.information_id.as_deref().map(id),
                    broadcast: e.broadcast,
                    text,
                    attachment_names: names,
                    at: e.at,
                }
            })
            .collect(),
    );
    alert.content = Some(view);
    Ok(alert)
}

/// The caller as the policy sees them.
async fn viewer(ctx: &Context<'_>) -> Result<std::sync::Arc<ActorContext>, ApiError> {
    let principal = request(ctx)?.principal()?;
    let services = services(ctx)?;
    let viewer =
        super::profile::viewer(&services.pool, &principal.user_id, &principal.authority_id)
            .await?
            .ok_or_else(|| {
                ApiError::new(Code::Forbidden, "the acting authority is not registered")
            })?;
    if let Some(denied) = viewer.unable() {
        return Err(ApiError::new(Code::Forbidden, denied.0));
    }
    Ok(viewer)
}

#[derive(SimpleObject)]
pub struct AlertEdge {
    pub cursor: String,
    pub node: Alert,
}

/// A page of alerts (a Relay connection).
#[derive(SimpleObject)]
pub struct AlertConnection {
    pub edges: Vec<AlertEdge>,
    pub page_info: PageInfo,
}

/// An alert waiting in a queue of the caller's authority.
#[derive(SimpleObject)]
pub struct AlertQueueItem {
    pub queue: AlertQueue,
    pub since: DateTime<Utc>,
    pub alert: Alert,
}

#[derive(SimpleObject)]
pub struct AlertQueueEdge {
    pub cursor: String,
    pub node: AlertQueueItem,
}

/// A page of queued alerts (a Relay connection).
#[derive(SimpleObject)]
pub struct AlertQueueConnection {
    pub edges: Vec<AlertQueueEdge>,
    pub page_info: PageInfo,
}

/// One Member State's alert figures (no personal data).
#[derive(SimpleObject)]
pub struct MemberStateAlertStatistics {
    pub member_state: String,
    pub sent: i64,
    pub received: i64,
    pub open: i64,
    pub closed: i64,
    pub withdrawn: i64,
    pub objections: i64,
    pub pq_in_time: i64,
    pub pq_late: i64,
}

const ALERT_CURSOR_KIND: &str = "Alert";
const QUEUE_CURSOR_KIND: &str = "AlertQueue";

fn queue_of(name: &str) -> Option<d::AlertQueue> {
    use d::AlertQueue as Q;
    [
        Q::ToBroadcast,
        Q::ToAcknowledge,
        Q::ToDisseminate,
        Q::ToComment,
        Q::ToObject,
        Q::InformationToBroadcast,
        Q::ToClose,
    ]
    .into_iter()
    .find(|q| q.as_str() == name)
}

#[derive(Default)]
pub struct AlertsQuery;

#[Object]
impl AlertsQuery {
    /// One alert at the caller's view level; NOT_FOUND when it does not exist or the caller's
    /// authority has no access to it.
    async fn alert(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Alert> {
        let alert_id = parse_id(&id)?;
        let viewer = viewer(ctx).await?;
        let services = services(ctx)?;
        let entry = alert_overview::get(&services.pool, &alert_id)
            .await
            .map_err(|e| ApiError::database("reading an alert", &e))?;
        let found =
            entry.and_then(|e| d::view_level(Some(&viewer), &e.summary).map(|level| (e, level)));
        let Some((entry, level)) = found else {
            return Err(ApiError::not_found("no such alert").into());
        };
        let alert = overview(&entry.summary, level, entry.updated_at);
        Ok(with_details(services, alert, level).await?)
    }

    /// The alerts the caller's authority has access to, by id, at the caller's level
    /// (content and history: ask `alert(id)`).
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        complexity = "(first.unwrap_or(super::relay::DEFAULT_PAGE_SIZE).clamp(0, super::relay::MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        status: Option<AlertStatus>,
        area: Option<String>,
        kind: Option<AlertKind>,
        involvement: Option<AlertInvolvement>,
    ) -> async_graphql::Result<AlertConnection> {
        let viewer = viewer(ctx).await?;
        let services = services(ctx)?;
        let limit = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE))?;
        let after = after
            .map(|c| decode_cursor(ALERT_CURSOR_KIND, &c))
            .transpose()?;
        let filter = alert_overview::AlertFilter {
            status: status.map(Into::into),
            area: area
                .as_deref()
                .map(parse_area)
                .transpose()?
                .map(|a| a.code().to_string()),
            kind: kind.map(|k| d::AlertKind::from(k).as_str().to_string()),
            involvement: involvement.map(|i| format!("{i:?}")),
        };
        let has_previous_page = after.is_some();
        let mut found = if limit == 0 {
            vec![]
        } else {
            alert_overview::for_authority(
                &services.pool,
                viewer.authority_id(),
                &filter,
                after.as_deref(),
                limit + 1,
            )
            .await
            .map_err(|e| ApiError::database("reading alerts", &e))?
        };
        let has_next_page = found.len() as i64 > limit;
        found.truncate(limit as usize);
        let edges: Vec<AlertEdge> = found
            .iter()
            .filter_map(|e| {
                let level = d::view_level(Some(&viewer), &e.summary)?;
                Some(AlertEdge {
                    cursor: encode_cursor(ALERT_CURSOR_KIND, &e.summary.alert_id),
                    node: overview(&e.summary, level, e.updated_at),
                })
            })
            .collect();
        Ok(AlertConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page,
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }

    /// The alerts waiting for the caller's authority (in `queue`, or in any), by queue then id.
    #[graphql(
        complexity = "(first.unwrap_or(super::relay::DEFAULT_PAGE_SIZE).clamp(0, super::relay::MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    async fn alert_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        queue: Option<AlertQueue>,
    ) -> async_graphql::Result<AlertQueueConnection> {
        let viewer = viewer(ctx).await?;
        let services = services(ctx)?;
        let limit = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE))?;
        let after = after
            .map(|c| decode_cursor(QUEUE_CURSOR_KIND, &c))
            .transpose()?;
        let after_key = match &after {
            Some(key) => Some(
                key.split_once('|')
                    .ok_or_else(|| ApiError::bad_input("invalid cursor"))?,
            ),
            None => None,
        };
        let has_previous_page = after.is_some();
        let mut found = if limit == 0 {
            vec![]
        } else {
            alert_queue::for_authority(
                &services.pool,
                viewer.authority_id(),
                queue.map(Into::into),
                after_key,
                limit + 1,
            )
            .await
            .map_err(|e| ApiError::database("reading alert queues", &e))?
        };
        let has_next_page = found.len() as i64 > limit;
        found.truncate(limit as usize);
        let mut edges = Vec::with_capacity(found.len());
        for q in found {
            let Some(entry) = alert_overview::get(&services.pool, &q.alert_id)
                .await
                .map_err(|e| ApiError::database("reading an alert", &e))?
            else {
                continue;
            };
            let Some(level) = d::view_level(Some(&viewer), &entry.summary) else {
                continue;
            };
            let Some(queue) = queue_of(&q.queue) else {
                continue;
            };
            edges.push(AlertQueueEdge {
                cursor: encode_cursor(QUEUE_CURSOR_KIND, &format!("{}|{}", q.queue, q.alert_id)),
                node: AlertQueueItem {
                    queue: queue.into(),
                    since: q.since,
                    alert: overview(&entry.summary, level, entry.updated_at),
                },
            });
        }
        Ok(AlertQueueConnection {
            page_info: PageInfo {
                has_next_page,
                has_previous_page,
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
        })
    }

    /// Alert figures by Member State (no personal data), in `area` if given: for any active
    /// user of a validated authority.
    async fn alert_statistics(
        &self,
        ctx: &Context<'_>,
        area: Option<String>,
    ) -> async_graphql::Result<Vec<MemberStateAlertStatistics>> {
        viewer(ctx).await?;
        let services = services(ctx)?;
        let area = area.as_deref().map(parse_area).transpose()?;
        let stats =
            alert_statistics::by_member_state(&services.pool, area.as_ref().map(|a| a.code()))
                .await
                .map_err(|e| ApiError::database("reading alert statistics", &e))?;
        Ok(stats
            .into_iter()
            .map(|s| MemberStateAlertStatistics {
                member_state: s.member_state,
                sent: s.sent,
                received: s.received,
                open: s.open,
                closed: s.closed,
                withdrawn: s.withdrawn,
                objections: s.objections,
                pq_in_time: s.pq_in_time,
                pq_late: s.pq_late,
            })
            .collect())
    }
}
