//! The values an alert is described by: its kind and content, where it is in its workflow,
//! the closure periods of its area, and the read-only [`AlertSummary`] the access policy,
//! projections and the gateway see of it.
//!
//! What can hold personal data (the provider's or professional's identity and details, free
//! text, attachments' names) is only ever [`Sealed`] under the alert's own key
//! ([`super::alert_key_id`]); what the rules, queues and statistics need (area, kind,
//! Member States, profession, scope, dates) stays in the clear.

use crate::authority::LegislativeArea;
use crate::reference::MemberState;
use crate::sealed::Sealed;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The two alert mechanisms: Services (Art. 29 and 32 of Directive 2006/123/EC) and
/// Professional Qualifications (Art. 56a of Directive 2005/36/EC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AlertKind {
    /// SD: a service activity that may cause serious damage.
    Services,
    /// PQ: a professional restricted or prohibited from practising.
    ProfessionalQualifications,
}

impl AlertKind {
    pub const ALL: [AlertKind; 2] = [Self::Services, Self::ProfessionalQualifications];

    /// The name stored in read models.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Services => "SD",
            Self::ProfessionalQualifications => "PQ",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an SD alert reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServicesAlert {
    /// The service activity concerned (a code of the area's list), when one fits.
    pub service_activity: Option<String>,
    /// Where the provider is established, if known: that Member State manages the closure.
    pub member_state_of_establishment: Option<MemberState>,
    /// The dangerous activity, described in free text (sealed: it may name persons).
    pub dangerous_activity: Sealed,
    /// The service provider's identity and details (sealed).
    pub service_provider: Sealed,
    /// The attachments' names (sealed); their content is stored elsewhere.
    #[serde(default)]
    pub attachments: Vec<Sealed>,
}

/// Whether a PQ decision prohibits the professional from practising or restricts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RestrictionScope {
    /// Prohibited from pursuing the profession, wholly.
    Prohibition,
    /// Restricted in pursuing it, even temporarily or in part.
    Restriction,
}

/// What a PQ alert (Art. 56a(2) of Directive 2005/36/EC) reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfessionalAlert {
    /// The profession concerned (a code of the area's list). Not personal data: an
    /// incoming-alert coordinator sees it.
    pub profession: String,
    /// The scope of the decision. Not personal data: an incoming-alert coordinator sees it.
    pub scope: RestrictionScope,
    /// The period the prohibition or restriction applies: from, and until (open-ended when
    /// `None`).
    pub applies_from: NaiveDate,
    pub applies_until: Option<NaiveDate>,
    /// When the decision was taken: the alert is due within 3 days of it.
    pub decided_at: DateTime<Utc>,
    /// The authority or court that took the decision (a public body, not a person).
    pub deciding_authority: String,
    /// Where the professional is established, if known: that Member State manages the closure.
    pub member_state_of_establishment: Option<MemberState>,
    /// The professional's identity (sealed).
    pub professional: Sealed,
    /// Further details in free text (sealed).
    pub details: Option<Sealed>,
    /// The attachments' names (sealed).
    #[serde(default)]
    pub attachments: Vec<Sealed>,
}

/// An alert's content; its variant is the alert's kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AlertContent {
    Services(ServicesAlert),
    ProfessionalQualifications(ProfessionalAlert),
}

impl AlertContent {
    pub fn kind(&self) -> AlertKind {
        match self {
            Self::Services(_) => AlertKind::Services,
            Self::ProfessionalQualifications(_) => AlertKind::ProfessionalQualifications,
        }
    }

    pub fn member_state_of_establishment(&self) -> Option<&MemberState> {
        match self {
            Self::Services(s) => s.member_state_of_establishment.as_ref(),
            Self::ProfessionalQualifications(p) => p.member_state_of_establishment.as_ref(),
        }
    }

    /// Every sealed value it carries.
    pub fn sealed_values(&self) -> Vec<&Sealed> {
        match self {
            Self::Services(s) => [&s.dangerous_activity, &s.service_provider]
                .into_iter()
                .chain(s.attachments.iter())
                .collect(),
            Self::ProfessionalQualifications(p) => std::iter::once(&p.professional)
                .chain(p.details.iter())
                .chain(p.attachments.iter())
                .collect(),
        }
    }
}

/// Additional information to an alert, or a request for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum InformationKind {
    Information,
    Request,
}

/// Where an alert is in its workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AlertStatus {
    /// Drafted by the initiating authority, not submitted.
    Draft,
    /// Submitted to an alert coordinator, awaiting its check.
    Submitted,
    /// Sent back by the coordinator; the initiating authority may amend and resubmit.
    SentBack,
    /// Broadcast: visible to the recipient Member States' postboxes.
    Broadcast,
    /// A closure proposal is in its comment period (in the Member State responsible).
    ClosureProposed,
    /// The closure proposal was broadcast: its objection period runs.
    ClosureProposalBroadcast,
    Closed,
    Withdrawn,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 8] = [
        Self::Draft,
        Self::Submitted,
        Self::SentBack,
        Self::Broadcast,
        Self::ClosureProposed,
        Self::ClosureProposalBroadcast,
        Self::Closed,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::Submitted => "Submitted",
            Self::SentBack => "SentBack",
            Self::Broadcast => "Broadcast",
            Self::ClosureProposed => "ClosureProposed",
            Self::ClosureProposalBroadcast => "ClosureProposalBroadcast",
            Self::Closed => "Closed",
            Self::Withdrawn => "Withdrawn",
        }
    }

    /// Broadcast and not ended: recipients act on it.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Self::Broadcast | Self::ClosureProposed | Self::ClosureProposalBroadcast
        )
    }

    /// Closed or withdrawn: nothing more happens.
    pub fn is_ended(self) -> bool {
        matches!(self, Self::Closed | Self::Withdrawn)
    }

    /// Still with the initiating authority (never broadcast).
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::SentBack)
    }
}

/// The closure periods of one legislative area, in days. Reference data: configured per
/// area, read through [`super::AlertPeriods`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosurePeriods {
    /// How long the involved authorities of the Member State responsible for closure may
    /// comment on a closure proposal.
    pub comment_days: u32,
    /// How long the recipient Member States may object to a broadcast closure proposal.
    pub objection_days: u32,
}

/// A recipient Member State: its incoming alert postbox and whether it acknowledged receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientState {
    pub postbox: String,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// A closure under way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosureSummary {
    /// The involved authority (in the Member State responsible) that proposed it.
    pub proposed_by: String,
    /// The alert coordinator responsible for broadcasting the proposal and closing.
    pub closing_coordinator: String,
    pub comment_period_ends_at: DateTime<Utc>,
    /// The system recorded that the comment period ended.
    pub comment_period_ended: bool,
    /// The authorities that commented.
    pub commented_by: BTreeSet<String>,
    /// Set once the closing coordinator broadcast the proposal.
    pub objection_period_ends_at: Option<DateTime<Utc>>,
    /// The system recorded that the objection period ended.
    pub objection_period_ended: bool,
    /// The Member States that objected.
    pub objecting_member_states: BTreeSet<MemberState>,
}

/// What the access policy, read models and the gateway know of an alert: who is involved in
/// which role, where it stands, its dates. No personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSummary {
    pub alert_id: String,
    pub kind: AlertKind,
    pub area: LegislativeArea,
    pub status: AlertStatus,
    pub initiating_authority: String,
    pub initiating_member_state: MemberState,
    pub member_state_of_establishment: Option<MemberState>,
    /// For PQ alerts, the profession concerned (shown at the profession-and-scope level).
    pub profession: Option<String>,
    /// For PQ alerts, the scope of the decision.
    pub scope: Option<RestrictionScope>,
    /// The alert coordinator it was submitted to (and that broadcasts it).
    pub coordinator: Option<String>,
    /// The incoming alert postbox of the initiating Member State, which receives every
    /// outgoing alert (if one is nominated).
    pub sending_postbox: Option<String>,
    pub recipient_member_states: BTreeMap<MemberState, RecipientState>,
    /// Authorities the alert was disseminated to, with their Member State.
    pub recipients: BTreeMap<String, MemberState>,
    /// Additional information submitted and not yet broadcast: its id and the coordinator it
    /// was submitted to.
    pub pending_information: BTreeMap<String, String>,
    pub closure: Option<ClosureSummary>,
    pub drafted_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub broadcast_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// For PQ alerts: 3 days after the decision, the date it is due by.
    pub three_day_deadline: Option<DateTime<Utc>>,
    /// For PQ alerts, once the deadline passed (recorded by the system): whether it was
    /// broadcast in time.
    pub broadcast_in_time: Option<bool>,
    /// When the personal data were blocked (the area's blocking delay after the end).
    #[serde(default)]
    pub personal_data_blocked_at: Option<DateTime<Utc>>,
    /// When the personal data were deleted (the data key erased).
    #[serde(default)]
    pub personal_data_deleted_at: Option<DateTime<Utc>>,
}

impl AlertSummary {
    /// The Member State responsible for closure: the Member State of Establishment, or the
    /// initiating Member State when it is unknown.
    pub fn responsible_member_state(&self) -> &MemberState {
        self.member_state_of_establishment
            .as_ref()
            .unwrap_or(&self.initiating_member_state)
    }

    /// Every authority with access to the alert, with its Member State and how it is
    /// involved.
    pub fn involved(&self) -> BTreeMap<String, (MemberState, BTreeSet<Involvement>)> {
        let mut all: BTreeMap<String, (MemberState, BTreeSet<Involvement>)> = BTreeMap::new();
        let mut add = |id: &str, ms: &MemberState, how: Involvement| {
            all.entry(id.to_string())
                .or_insert_with(|| (ms.clone(), BTreeSet::new()))
                .1
                .insert(how);
        };
        add(
            &self.initiating_authority,
            &self.initiating_member_state,
            Involvement::Initiating,
        );
        if let Some(c) = &self.coordinator {
            add(c, &self.initiating_member_state, Involvement::Coordinator);
        }
        if let Some(p) = &self.sending_postbox {
            add(p, &self.initiating_member_state, Involvement::Postbox);
        }
        for (ms, r) in &self.recipient_member_states {
            add(&r.postbox, ms, Involvement::Postbox);
        }
        for (id, ms) in &self.recipients {
            add(id, ms, Involvement::Recipient);
        }
        if let Some(c) = &self.closure {
            add(
                &c.closing_coordinator,
                self.responsible_member_state(),
                Involvement::ClosingCoordinator,
            );
        }
        all
    }

    /// How `authority_id` is involved (empty: not at all).
    pub fn involvement(&self, authority_id: &str) -> BTreeSet<Involvement> {
        self.involved()
            .remove(authority_id)
            .map(|(_, how)| how)
            .unwrap_or_default()
    }

    pub fn is_involved(&self, authority_id: &str) -> bool {
        !self.involvement(authority_id).is_empty()
    }

    /// The postbox of `member_state` if it is a recipient Member State.
    pub fn recipient_postbox(&self, member_state: &MemberState) -> Option<&str> {
        self.recipient_member_states
            .get(member_state)
            .map(|r| r.postbox.as_str())
    }
}

/// How an authority takes part in an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Involvement {
    /// Drafted it.
    Initiating,
    /// The alert coordinator it was submitted to, which broadcasts it.
    Coordinator,
    /// An incoming alert postbox: of a recipient Member State, or of the initiating one.
    Postbox,
    /// Disseminated to.
    Recipient,
    /// Chosen to close it.
    ClosingCoordinator,
}

/// A work queue an alert sits in for an authority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AlertQueue {
    /// Submitted to the authority (a coordinator): check and broadcast or send back.
    ToBroadcast,
    /// Broadcast to the authority's Member State; its postbox has not acknowledged receipt.
    ToAcknowledge,
    /// Acknowledged by the authority (a postbox) and not disseminated to anyone yet.
    ToDisseminate,
    /// A closure proposal in its comment period, in the authority's Member State.
    ToComment,
    /// A broadcast closure proposal in its objection period, for a recipient coordinator.
    ToObject,
    /// Additional information submitted to the authority, awaiting its broadcast.
    InformationToBroadcast,
    /// A closure proposal awaiting the closing coordinator (broadcast after comments, or
    /// close after objections).
    ToClose,
}

impl AlertQueue {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToBroadcast => "ToBroadcast",
            Self::ToAcknowledge => "ToAcknowledge",
            Self::ToDisseminate => "ToDisseminate",
            Self::ToComment => "ToComment",
            Self::ToObject => "ToObject",
            Self::InformationToBroadcast => "InformationToBroadcast",
            Self::ToClose => "ToClose",
        }
    }
}

impl AlertSummary {
    /// The queues this alert is in, per authority: what each must do next. Time-bound
    /// queues follow the recorded facts (the scheduler records period ends), so a read
    /// model derived from events alone agrees with this.
    pub fn queues(&self) -> BTreeSet<(String, AlertQueue)> {
        let mut queues = BTreeSet::new();
        match self.status {
            AlertStatus::Submitted => {
                if let Some(c) = &self.coordinator {
                    queues.insert((c.clone(), AlertQueue::ToBroadcast));
                }
            }
            s if s.is_live() => {
                let involved = self.involved();
                for (ms, r) in &self.recipient_member_states {
                    if r.acknowledged_at.is_none() {
                        queues.insert((r.postbox.clone(), AlertQueue::ToAcknowledge));
                    } else if !self.recipients.values().any(|m| m == ms) {
                        queues.insert((r.postbox.clone(), AlertQueue::ToDisseminate));
                    }
                }
                for coordinator in self.pending_information.values() {
                    queues.insert((coordinator.clone(), AlertQueue::InformationToBroadcast));
                }
                if let Some(c) = &self.closure {
                    let responsible = self.responsible_member_state();
                    if s == AlertStatus::ClosureProposed {
                        if c.comment_period_ended {
                            queues.insert((c.closing_coordinator.clone(), AlertQueue::ToClose));
                        } else {
                            for (id, (ms, _)) in &involved {
                                if ms == responsible && !c.commented_by.contains(id) {
                                    queues.insert((id.clone(), AlertQueue::ToComment));
                                }
                            }
                        }
                    } else if c.objection_period_ended {
                        queues.insert((c.closing_coordinator.clone(), AlertQueue::ToClose));
                    } else {
                        for (id, (ms, how)) in &involved {
                            let coordinating = how.iter().any(|h| {
                                matches!(
                                    h,
                                    Involvement::Postbox
                                        | Involvement::Coordinator
                                        | Involvement::ClosingCoordinator
                                )
                            });
                            if ms != responsible
                                && coordinating
                                && !c.objecting_member_states.contains(ms)
                            {
                                queues.insert((id.clone(), AlertQueue::ToObject));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        queues
    }
}
