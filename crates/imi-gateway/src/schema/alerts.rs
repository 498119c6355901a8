//! Alerts (SD and PQ): a mutation per command a user issues, and the views at the level the
//! access policy allows each caller ([`imi_domain::alert::view_level`]): the high-level
//! overview, a PQ alert's profession and scope, the reduced view after closure, the full view
//! with personal data. Each resolver maps its arguments to one use case of the application
//! layer ([`imi_app::alerts`]), which seals personal data under the alert's key, shapes the
//! view with the declared visibility rules and opens personal data only where they show.
//!
//! The facts of time (periods ending, the PQ 3-day deadline) are the scheduler's commands,
//! not mutations: only the system issues them.

use super::authority_admin::CommandPayload;
use super::relay::{decode_cursor, encode_cursor, page_size, PageInfo, DEFAULT_PAGE_SIZE};
use super::translation::{of_text, MachineTranslation};
use super::{app, caller};
use crate::errors::ApiError;
use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, NaiveDate, Utc};
use imi_app::alerts::{self as uc, AlertTextStep};
use imi_app::translation::TextSource;
use imi_app::{Outcome, Wait};
use imi_domain::alert as d;

type Result<T> = std::result::Result<T, ApiError>;

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

impl From<AlertInvolvement> for d::Involvement {
    fn from(i: AlertInvolvement) -> Self {
        match i {
            AlertInvolvement::Initiating => Self::Initiating,
            AlertInvolvement::Coordinator => Self::Coordinator,
            AlertInvolvement::Postbox => Self::Postbox,
            AlertInvolvement::Recipient => Self::Recipient,
            AlertInvolvement::ClosingCoordinator => Self::ClosingCoordinator,
        }
    }
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

impl From<SdAlertFields> for uc::AlertInput {
    fn from(f: SdAlertFields) -> Self {
        uc::AlertInput::Services(uc::SdAlertInput {
            service_activity: f.service_activity,
            member_state_of_establishment: f.member_state_of_establishment,
            dangerous_activity: f.dangerous_activity,
            service_provider: f.service_provider,
            attachment_names: f.attachment_names,
        })
    }
}

impl From<PqAlertFields> for uc::AlertInput {
    fn from(f: PqAlertFields) -> Self {
        uc::AlertInput::ProfessionalQualifications(uc::PqAlertInput {
            profession: f.profession,
            scope: f.scope.into(),
            applies_from: f.applies_from,
            applies_until: f.applies_until,
            decided_at: f.decided_at,
            deciding_authority: f.deciding_authority,
            member_state_of_establishment: f.member_state_of_establishment,
            professional: f.professional,
            details: f.details,
            attachment_names: f.attachment_names,
        })
    }
}

// --- Commands -------------------------------------------------------------------------

fn wait(requested: Option<Vec<String>>) -> Result<Wait> {
    Ok(Wait::of(requested, &uc::DEFAULT_WAIT)?)
}

fn payload(outcome: Outcome) -> CommandPayload {
    CommandPayload {
        position: outcome.position.map(|at| at.to_string()),
        waited: outcome.waited,
    }
}

/// A step without personal data.
async fn step(
    ctx: &Context<'_>,
    alert_id: &ID,
    wait_for: Option<Vec<String>>,
    command: d::AlertCommand,
) -> Result<CommandPayload> {
    let outcome = app(ctx)?
        .alert_step(&caller(ctx)?, alert_id, command, &wait(wait_for)?)
        .await?;
    Ok(payload(outcome))
}

/// A step with a free text (sealed).
async fn text_step(
    ctx: &Context<'_>,
    input: AlertTextInput,
    step: AlertTextStep,
) -> Result<CommandPayload> {
    let outcome = app(ctx)?
        .alert_text_step(
            &caller(ctx)?,
            &input.alert_id,
            step,
            &input.text,
            &wait(input.wait_for)?,
        )
        .await?;
    Ok(payload(outcome))
}

async fn draft(
    ctx: &Context<'_>,
    area: &str,
    content: uc::AlertInput,
    wait_for: Option<Vec<String>>,
) -> Result<DraftAlertPayload> {
    let (alert_id, outcome) = app(ctx)?
        .draft_alert(&caller(ctx)?, area, content, &wait(wait_for)?)
        .await?;
    Ok(DraftAlertPayload {
        position: outcome.position.map(|at| at.to_string()),
        waited: outcome.waited,
        alert_id: ID(alert_id),
    })
}

async fn amend(
    ctx: &Context<'_>,
    alert_id: &ID,
    content: uc::AlertInput,
    wait_for: Option<Vec<String>>,
) -> Result<CommandPayload> {
    let outcome = app(ctx)?
        .amend_alert(&caller(ctx)?, alert_id, content, &wait(wait_for)?)
        .await?;
    Ok(payload(outcome))
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
    ) -> Result<DraftAlertPayload> {
        let area = input.area.unwrap_or_else(|| "SD".to_string());
        draft(ctx, &area, input.alert.into(), input.wait_for).await
    }

    /// An alert handler drafts a PQ alert for their authority.
    async fn draft_pq_alert(
        &self,
        ctx: &Context<'_>,
        input: DraftPqAlertInput,
    ) -> Result<DraftAlertPayload> {
        let area = input.area.unwrap_or_else(|| "PQ".to_string());
        draft(ctx, &area, input.alert.into(), input.wait_for).await
    }

    /// The initiating authority replaces its SD draft (or an alert sent back).
    async fn amend_sd_alert(
        &self,
        ctx: &Context<'_>,
        input: AmendSdAlertInput,
    ) -> Result<CommandPayload> {
        amend(ctx, &input.alert_id, input.alert.into(), input.wait_for).await
    }

    /// The initiating authority replaces its PQ draft (or an alert sent back).
    async fn amend_pq_alert(
        &self,
        ctx: &Context<'_>,
        input: AmendPqAlertInput,
    ) -> Result<CommandPayload> {
        amend(ctx, &input.alert_id, input.alert.into(), input.wait_for).await
    }

    /// Submits the alert to an alert coordinator.
    async fn submit_alert(
        &self,
        ctx: &Context<'_>,
        input: SubmitAlertInput,
    ) -> Result<CommandPayload> {
        let command = d::AlertCommand::SubmitAlert {
            coordinator_id: imi_app::input::id(&input.coordinator_id)?,
        };
        step(ctx, &input.alert_id, input.wait_for, command).await
    }

    /// The coordinator sends the alert back to the initiating authority, with a reason.
    async fn send_back_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertTextInput,
    ) -> Result<CommandPayload> {
        text_step(ctx, input, AlertTextStep::SendBack).await
    }

    /// The coordinator broadcasts the alert to the recipient Member States' postboxes.
    async fn broadcast_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertMemberStatesInput,
    ) -> Result<CommandPayload> {
        let command = d::AlertCommand::BroadcastAlert {
            member_states: uc::member_states(&input.member_states)?,
        };
        step(ctx, &input.alert_id, input.wait_for, command).await
    }

    /// The coordinator adds recipient Member States to a broadcast alert.
    async fn extend_alert_broadcast(
        &self,
        ctx: &Context<'_>,
        input: AlertMemberStatesInput,
    ) -> Result<CommandPayload> {
        let command = d::AlertCommand::ExtendBroadcast {
            member_states: uc::member_states(&input.member_states)?,
        };
        step(ctx, &input.alert_id, input.wait_for, command).await
    }

    /// A recipient Member State's postbox acknowledges receipt.
    async fn acknowledge_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertInput,
    ) -> Result<CommandPayload> {
        let command = d::AlertCommand::AcknowledgeReceipt;
        step(ctx, &input.alert_id, input.wait_for, command).await
    }

    /// A postbox or coordinator disseminates the alert within its Member State.
    async fn add_alert_recipients(
        &self,
        ctx: &Context<'_>,
        input: AddAlertRecipientsInput,
    ) -> Result<CommandPayload> {
        let authorities = input
            .authority_ids
            .iter()
            .map(|id| imi_app::input::id(id))
            .collect::<std::result::Result<_, _>>()?;
        let command = d::AlertCommand::AddRecipients { authorities };
        step(ctx, &input.alert_id, input.wait_for, command).await
    }

    /// An involved authority adds information (or asks for it) through a coordinator.
    async fn submit_alert_information(
        &self,
        ctx: &Context<'_>,
        input: SubmitAlertInformationInput,
    ) -> Result<AlertInformationPayload> {
        let (information_id, outcome) = app(ctx)?
            .submit_alert_information(
                &caller(ctx)?,
                &input.alert_id,
                uc::InformationInput {
                    kind: input.kind.into(),
                    coordinator_id: input.coordinator_id.0,
                    text: input.text,
                    attachment_names: input.attachment_names,
                },
                &wait(input.wait_for)?,
            )
            .await?;
        Ok(AlertInformationPayload {
            position: outcome.position.map(|at| at.to_string()),
            waited: outcome.waited,
            information_id: ID(information_id),
        })
    }

    /// The coordinator broadcasts additional information submitted to it.
    async fn broadcast_alert_information(
        &self,
        ctx: &Context<'_>,
        input: BroadcastAlertInformationInput,
    ) -> Result<CommandPayload> {
        let command = d::AlertCommand::BroadcastAdditionalInformation {
            information_id: imi_app::input::id(&input.information_id)?,
        };
        step(ctx, &input.alert_id, input.wait_for, command).await
    }

    /// An involved authority of the Member State responsible proposes closure.
    async fn propose_alert_closure(
        &self,
        ctx: &Context<'_>,
        input: ProposeAlertClosureInput,
    ) -> Result<CommandPayload> {
        let outcome = app(ctx)?
            .alert_text_step(
                &caller(ctx)?,
                &input.alert_id,
                AlertTextStep::ProposeClosure {
                    closing_coordinator_id: input.closing_coordinator_id.0,
                },
                &input.reason,
                &wait(input.wait_for)?,
            )
            .await?;
        Ok(payload(outcome))
    }

    /// Comments on a closure proposal during the comment period.
    async fn comment_on_alert_closure(
        &self,
        ctx: &Context<'_>,
        input: AlertTextInput,
    ) -> Result<CommandPayload> {
        text_step(ctx, input, AlertTextStep::Comment).await
    }

    /// The closing coordinator broadcasts the proposal after the comment period.
    async fn broadcast_alert_closure_proposal(
        &self,
        ctx: &Context<'_>,
        input: AlertInput,
    ) -> Result<CommandPayload> {
        let command = d::AlertCommand::BroadcastClosureProposal;
        step(ctx, &input.alert_id, input.wait_for, command).await
    }

    /// The closing coordinator drops the closure proposal.
    async fn reject_alert_closure_proposal(
        &self,
        ctx: &Context<'_>,
        input: AlertTextInput,
    ) -> Result<CommandPayload> {
        text_step(ctx, input, AlertTextStep::RejectClosureProposal).await
    }

    /// A recipient Member State's coordinator objects during the objection period.
    async fn object_to_alert_closure(
        &self,
        ctx: &Context<'_>,
        input: AlertTextInput,
    ) -> Result<CommandPayload> {
        text_step(ctx, input, AlertTextStep::Object).await
    }

    /// The closing coordinator closes the alert after the objection period.
    async fn close_alert(&self, ctx: &Context<'_>, input: AlertInput) -> Result<CommandPayload> {
        step(
            ctx,
            &input.alert_id,
            input.wait_for,
            d::AlertCommand::CloseAlert,
        )
        .await
    }

    /// The initiating authority (or its coordinator) withdraws an unfounded alert.
    async fn withdraw_alert(
        &self,
        ctx: &Context<'_>,
        input: AlertTextInput,
    ) -> Result<CommandPayload> {
        text_step(ctx, input, AlertTextStep::Withdraw).await
    }
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
#[graphql(complex)]
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
    #[graphql(skip)]
    pub text_sources: Vec<TextSource>,
}

#[ComplexObject]
impl AlertContentView {
    /// The dangerous activity translated by machine into `language` (null without it).
    async fn dangerous_activity_translation(
        &self,
        ctx: &Context<'_>,
        language: String,
        #[graphql(desc = "the text's language; default: its author's Member State's")] from: Option<
            String,
        >,
    ) -> Result<Option<MachineTranslation>> {
        let source = self
            .text_sources
            .iter()
            .find(|s| s.field == "dangerousActivity");
        of_text(
            ctx,
            source,
            self.dangerous_activity.as_ref(),
            &language,
            from,
        )
        .await
    }

    /// The details translated by machine into `language` (null without them).
    async fn details_translation(
        &self,
        ctx: &Context<'_>,
        language: String,
        #[graphql(desc = "the text's language; default: its author's Member State's")] from: Option<
            String,
        >,
    ) -> Result<Option<MachineTranslation>> {
        let source = self.text_sources.iter().find(|s| s.field == "details");
        of_text(ctx, source, self.details.as_ref(), &language, from).await
    }
}

/// One entry of an alert's history; its text only at the full view.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AlertHistoryEntry {
    /// `SentBack`, `Information`, `InformationRequest`, `ClosureProposal`, `Comment`,
    /// `ClosureRejection`, `Objection`, `Withdrawal`.
    pub entry: String,
    pub authority_id: ID,
    pub information_id: Option<ID>,
    pub broadcast: bool,
    pub text: Option<String>,
    #[graphql(skip)]
    pub text_source: Option<TextSource>,
    pub attachment_names: Option<Vec<String>>,
    pub at: DateTime<Utc>,
}

#[ComplexObject]
impl AlertHistoryEntry {
    /// The text translated by machine into `language` (null without the text).
    async fn translation(
        &self,
        ctx: &Context<'_>,
        language: String,
        #[graphql(desc = "the text's language; default: its author's Member State's")] from: Option<
            String,
        >,
    ) -> Result<Option<MachineTranslation>> {
        of_text(
            ctx,
            self.text_source.as_ref(),
            self.text.as_ref(),
            &language,
            from,
        )
        .await
    }
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
    /// The blocking delay after the end passed: the alert only proves that it took place.
    pub personal_data_blocked: bool,
    /// The deletion delay passed: the alert's personal data are erased; its facts remain.
    pub personal_data_erased: bool,
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

impl From<uc::AlertView> for Alert {
    fn from(v: uc::AlertView) -> Self {
        let summary = &v.summary;
        Alert {
            id: id(&summary.alert_id),
            view_level: v.level.into(),
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
            personal_data_blocked: summary.personal_data_blocked_at.is_some(),
            personal_data_erased: summary.personal_data_deleted_at.is_some(),
            profession: v.profession.clone(),
            scope: v.scope.map(Into::into),
            content: v.content.map(|c| AlertContentView {
                service_activity: c.service_activity,
                member_state_of_establishment: c.member_state_of_establishment,
                applies_from: c.applies_from,
                applies_until: c.applies_until,
                decided_at: c.decided_at,
                deciding_authority: c.deciding_authority,
                dangerous_activity: c.dangerous_activity,
                service_provider: c.service_provider,
                professional: c.professional,
                details: c.details,
                attachment_names: c.attachment_names,
                erased: c.erased,
                text_sources: c.text_sources,
            }),
            history: v.history.map(|entries| {
                entries
                    .into_iter()
                    .map(|e| AlertHistoryEntry {
                        entry: e.entry,
                        authority_id: ID(e.authority_id),
                        information_id: e.information_id.map(ID),
                        broadcast: e.broadcast,
                        text: e.text,
                        text_source: e.text_source,
                        attachment_names: e.attachment_names,
                        at: e.at,
                    })
                    .collect()
            }),
            updated_at: v.updated_at,
        }
    }
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

#[derive(Default)]
pub struct AlertsQuery;

#[Object]
impl AlertsQuery {
    /// One alert at the caller's view level; NOT_FOUND when it does not exist or the caller's
    /// authority has no access to it. With `asOf`, as it stood at that point of the log
    /// (docs/AUDIT.md): for a caller who may see it now and could then, at the lower of the
    /// two levels; for an auditor of a Member State that took part, the high level.
    async fn alert(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<super::history::AsOf>,
    ) -> Result<Alert> {
        let app = app(ctx)?;
        let view = match as_of {
            Some(point) => app.alert_as_of(&caller(ctx)?, &id, point.point()?).await?,
            None => app.alert(&caller(ctx)?, &id).await?,
        };
        Ok(view.into())
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
    ) -> Result<AlertConnection> {
        let limit = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE))?;
        let after = after
            .map(|c| decode_cursor(ALERT_CURSOR_KIND, &c))
            .transpose()?;
        let has_previous_page = after.is_some();
        let filter = uc::AlertsFilter {
            status: status.map(Into::into),
            area,
            kind: kind.map(Into::into),
            involvement: involvement.map(Into::into),
        };
        let (views, has_next_page) = app(ctx)?
            .alerts(&caller(ctx)?, filter, after, limit)
            .await?;
        let edges: Vec<AlertEdge> = views
            .into_iter()
            .map(|v| AlertEdge {
                cursor: encode_cursor(ALERT_CURSOR_KIND, &v.summary.alert_id),
                node: v.into(),
            })
            .collect();
        Ok(AlertConnection {
            page_info: PageInfo::of(
                has_next_page,
                has_previous_page,
                edges.first().map(|e| &e.cursor),
                edges.last().map(|e| &e.cursor),
            ),
            edges,
        })
    }

    /// The alerts waiting for the caller: in their authority's queues (in `queue`, or in
    /// any), where their roles let them take the queue's step; by queue then id.
    #[graphql(
        complexity = "(first.unwrap_or(super::relay::DEFAULT_PAGE_SIZE).clamp(0, super::relay::MAX_PAGE_SIZE) as usize) * child_complexity + 1"
    )]
    async fn alert_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(DEFAULT_PAGE_SIZE)")] first: Option<i32>,
        after: Option<String>,
        queue: Option<AlertQueue>,
    ) -> Result<AlertQueueConnection> {
        let limit = page_size(first.unwrap_or(DEFAULT_PAGE_SIZE))?;
        let after = after
            .map(|c| decode_cursor(QUEUE_CURSOR_KIND, &c))
            .transpose()?;
        let after_key = match &after {
            Some(key) => {
                let (queue, alert) = key
                    .split_once('|')
                    .ok_or_else(|| ApiError::bad_input("invalid cursor"))?;
                Some((queue.to_string(), alert.to_string()))
            }
            None => None,
        };
        let has_previous_page = after.is_some();
        let (entries, has_next_page) = app(ctx)?
            .alert_queue(&caller(ctx)?, queue.map(Into::into), after_key, limit)
            .await?;
        let edges: Vec<AlertQueueEdge> = entries
            .into_iter()
            .map(|e| AlertQueueEdge {
                cursor: encode_cursor(QUEUE_CURSOR_KIND, &e.key),
                node: AlertQueueItem {
                    queue: e.queue.into(),
                    since: e.since,
                    alert: e.alert.into(),
                },
            })
            .collect();
        Ok(AlertQueueConnection {
            page_info: PageInfo::of(
                has_next_page,
                has_previous_page,
                edges.first().map(|e| &e.cursor),
                edges.last().map(|e| &e.cursor),
            ),
            edges,
        })
    }

    /// Alert figures by Member State (no personal data), in `area` if given: for any active
    /// user of a validated authority.
    async fn alert_statistics(
        &self,
        ctx: &Context<'_>,
        area: Option<String>,
    ) -> Result<Vec<MemberStateAlertStatistics>> {
        let stats = app(ctx)?
            .alert_statistics(&caller(ctx)?, area.as_deref())
            .await?;
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
