//! From the draft to the broadcast, and the withdrawal: the initiating authority drafts,
//! amends and submits; its coordinator sends back or broadcasts (and extends the broadcast);
//! the initiating authority withdraws an unfounded alert at once.

use super::model::{AlertContent, AlertStatus, AlertSummary};
use super::{
    alert_coordinator, checked_sealed, policy, unavailable, AlertCommand, AlertEvent,
    AlertServices, AlertState,
};
use crate::access::ActorContext;
use crate::actor::Actor;
use crate::authority::{LegislativeArea, Workflow};
use crate::error::DomainError;
use crate::reference::MemberState;
use crate::sealed::Sealed;
use std::collections::{BTreeMap, BTreeSet};

/// Checks a content against the alert's key, the area's reference data and the clock.
async fn checked_content(
    services: &dyn AlertServices,
    alert_id: &str,
    area: &LegislativeArea,
    content: &AlertContent,
) -> Result<(), DomainError> {
    for sealed in content.sealed_values() {
        checked_sealed("the alert's personal data", sealed, alert_id)?;
    }
    match content {
        AlertContent::Services(s) => {
            if let Some(code) = &s.service_activity {
                if !services
                    .is_known_service_activity(area, code)
                    .await
                    .map_err(unavailable)?
                {
                    return Err(DomainError::invalid(format!(
                        "unknown service activity {code} in {area}"
                    )));
                }
            }
        }
        AlertContent::ProfessionalQualifications(p) => {
            if !services
                .is_known_profession(area, &p.profession)
                .await
                .map_err(unavailable)?
            {
                return Err(DomainError::invalid(format!(
                    "unknown profession {} in {area}",
                    p.profession
                )));
            }
            if p.deciding_authority.trim().is_empty() {
                return Err(DomainError::invalid(
                    "name the authority or court that took the decision",
                ));
            }
            if p.applies_until.is_some_and(|until| until < p.applies_from) {
                return Err(DomainError::invalid(
                    "the restriction cannot end before it starts",
                ));
            }
            if p.decided_at > services.now() {
                return Err(DomainError::invalid("the decision cannot be in the future"));
            }
        }
    }
    Ok(())
}

/// The recipient Member States' postboxes; each must have one.
async fn postboxes(
    services: &dyn AlertServices,
    alert: &AlertSummary,
    member_states: BTreeSet<MemberState>,
) -> Result<BTreeMap<MemberState, String>, DomainError> {
    if member_states.is_empty() {
        return Err(DomainError::invalid(
            "choose at least one recipient Member State",
        ));
    }
    if member_states.contains(&alert.initiating_member_state) {
        return Err(DomainError::invalid(
            "the initiating Member State receives the alert through its own incoming alert \
             postbox; choose other Member States",
        ));
    }
    let mut found = BTreeMap::new();
    for ms in member_states {
        let postbox = services
            .incoming_alert_postbox(&ms)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| DomainError::refused(format!("{ms} has no incoming alert postbox")))?;
        found.insert(ms, postbox);
    }
    Ok(found)
}

impl AlertState {
    pub(super) async fn draft(
        &self,
        by: &Actor,
        services: &dyn AlertServices,
        alert_id: String,
        area: LegislativeArea,
        content: AlertContent,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        if self.summary.is_some() {
            return Err(DomainError::refused("the alert already exists"));
        }
        let alert_id = alert_id.trim().to_string();
        if alert_id.is_empty() {
            return Err(DomainError::invalid("the alert needs an id"));
        }
        let workflows = services
            .workflows_of(&area)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| DomainError::invalid(format!("unknown legislative area {area}")))?;
        if !workflows.contains(&Workflow::Alerts) {
            return Err(DomainError::invalid(format!(
                "{area} has no alerts workflow"
            )));
        }
        let actor = Self::actor(by, services).await?;
        let drafted = AlertEvent::AlertDrafted {
            alert_id: alert_id.clone(),
            area: area.clone(),
            initiating_authority: actor.authority_id().to_string(),
            initiating_member_state: actor.authority.member_state.clone(),
            content: content.clone(),
            at: services.now(),
        };
        let mut prospective = AlertState::default();
        prospective.apply(drafted.clone());
        let command = AlertCommand::DraftAlert {
            alert_id: alert_id.clone(),
            area: area.clone(),
            content: content.clone(),
        };
        policy::authorize(&actor, &command, prospective.require()?)?;
        checked_content(services, &alert_id, &area, &content).await?;
        Ok(vec![drafted])
    }

    pub(super) async fn amend(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        content: AlertContent,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_not_ended(alert)?;
        if !alert.status.is_editable() {
            return Err(DomainError::refused(
                "only a draft or an alert sent back can be amended",
            ));
        }
        if content.kind() != alert.kind {
            return Err(DomainError::invalid(format!(
                "an alert keeps its kind: this one is a {} alert",
                alert.kind
            )));
        }
        checked_content(services, &alert.alert_id, &alert.area, &content).await?;
        Ok(vec![AlertEvent::DraftAmended { content }])
    }

    pub(super) async fn submit(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        coordinator_id: String,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_not_ended(alert)?;
        if !alert.status.is_editable() {
            return Err(DomainError::refused("the alert was already submitted"));
        }
        alert_coordinator(services, &coordinator_id, &alert.area).await?;
        Ok(vec![AlertEvent::AlertSubmitted {
            coordinator: coordinator_id,
            at: services.now(),
        }])
    }

    pub(super) fn send_back(
        &self,
        alert: &AlertSummary,
        reason: Sealed,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_not_ended(alert)?;
        if alert.status != AlertStatus::Submitted {
            return Err(DomainError::refused(
                "only a submitted alert can be sent back",
            ));
        }
        checked_sealed("the reason", &reason, &alert.alert_id)?;
        Ok(vec![AlertEvent::AlertSentBack {
            coordinator: alert.coordinator.clone().unwrap_or_default(),
            reason,
        }])
    }

    pub(super) async fn broadcast(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        member_states: BTreeSet<MemberState>,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_not_ended(alert)?;
        if alert.status != AlertStatus::Submitted {
            return Err(DomainError::refused(if alert.status.is_live() {
                "the alert was already broadcast"
            } else {
                "only a submitted alert can be broadcast"
            }));
        }
        let member_states = postboxes(services, alert, member_states).await?;
        let sending_postbox = services
            .incoming_alert_postbox(&alert.initiating_member_state)
            .await
            .map_err(unavailable)?;
        Ok(vec![AlertEvent::AlertBroadcast {
            coordinator: alert.coordinator.clone().unwrap_or_default(),
            member_states,
            sending_postbox,
            at: services.now(),
        }])
    }

    pub(super) async fn extend_broadcast(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        member_states: BTreeSet<MemberState>,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_live(alert)?;
        if let Some(ms) = member_states
            .iter()
            .find(|ms| alert.recipient_member_states.contains_key(*ms))
        {
            return Err(DomainError::refused(format!(
                "{ms} already receives the alert"
            )));
        }
        let member_states = postboxes(services, alert, member_states).await?;
        Ok(vec![AlertEvent::BroadcastExtended { member_states }])
    }

    pub(super) fn withdraw(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        actor: &ActorContext,
        reason: Sealed,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_not_ended(alert)?;
        checked_sealed("the reason", &reason, &alert.alert_id)?;
        Ok(vec![AlertEvent::AlertWithdrawn {
            withdrawn_by: actor.authority_id().to_string(),
            reason,
            at: services.now(),
        }])
    }
}
