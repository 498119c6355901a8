//! After the broadcast: each recipient Member State's postbox acknowledges receipt and
//! disseminates; postboxes and coordinators add recipients at any time; involved authorities
//! add information (or ask for it) through a coordinator that broadcasts it.

use super::model::{AlertSummary, InformationKind, Involvement};
use super::AlertState;
use super::{alert_coordinator, alert_participant, checked_sealed, AlertEvent, AlertServices};
use crate::access::ActorContext;
use crate::error::DomainError;
use crate::sealed::Sealed;
use std::collections::BTreeSet;

/// Additional information as submitted.
pub(super) struct Information {
    pub information_id: String,
    pub kind: InformationKind,
    pub coordinator_id: String,
    pub text: Sealed,
    pub attachments: Vec<Sealed>,
}

impl AlertState {
    pub(super) fn acknowledge(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        actor: &ActorContext,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_live(alert)?;
        let ms = &actor.authority.member_state;
        let recipient = alert
            .recipient_member_states
            .get(ms)
            .ok_or_else(|| DomainError::refused(format!("{ms} is not a recipient")))?;
        if recipient.acknowledged_at.is_some() {
            return Err(DomainError::refused(format!(
                "receipt was already acknowledged for {ms}"
            )));
        }
        Ok(vec![AlertEvent::ReceiptAcknowledged {
            member_state: ms.clone(),
            postbox: recipient.postbox.clone(),
            at: services.now(),
        }])
    }

    pub(super) async fn add_recipients(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        actor: &ActorContext,
        authorities: BTreeSet<String>,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_live(alert)?;
        if authorities.is_empty() {
            return Err(DomainError::invalid("name at least one authority to add"));
        }
        let ms = &actor.authority.member_state;
        if let Some(r) = alert.recipient_member_states.get(ms) {
            if actor.belongs_to(&r.postbox) && r.acknowledged_at.is_none() {
                return Err(DomainError::refused(
                    "acknowledge receipt before disseminating the alert",
                ));
            }
        }
        for id in &authorities {
            // A postbox that only routes the alert may assign it to itself.
            let how = alert.involvement(id);
            let only_routing = how.iter().all(|h| *h == Involvement::Postbox);
            if alert.recipients.contains_key(id) || !only_routing {
                return Err(DomainError::refused(format!(
                    "{id} already has access to the alert"
                )));
            }
            let (summary, _) = alert_participant(services, id, &alert.area).await?;
            if &summary.member_state != ms {
                return Err(DomainError::refused(format!(
                    "{id} is not in {ms}: an alert is disseminated within the disseminator's \
                     own Member State"
                )));
            }
        }
        Ok(vec![AlertEvent::RecipientsAdded {
            member_state: ms.clone(),
            added_by: actor.authority_id().to_string(),
            authorities,
        }])
    }

    pub(super) async fn submit_information(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        actor: &ActorContext,
        info: Information,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_live(alert)?;
        let id = info.information_id.trim().to_string();
        if id.is_empty() {
            return Err(DomainError::invalid(
                "the additional information needs an id",
            ));
        }
        if alert.pending_information.contains_key(&id) || self.broadcast_information.contains(&id) {
            return Err(DomainError::refused(format!(
                "additional information {id} was already submitted"
            )));
        }
        checked_sealed("the additional information", &info.text, &alert.alert_id)?;
        for a in &info.attachments {
            checked_sealed("an attachment's name", a, &alert.alert_id)?;
        }
        alert_coordinator(services, &info.coordinator_id, &alert.area).await?;
        Ok(vec![AlertEvent::AdditionalInformationSubmitted {
            information_id: id,
            kind: info.kind,
            submitted_by: actor.authority_id().to_string(),
            coordinator: info.coordinator_id,
            text: info.text,
            attachments: info.attachments,
        }])
    }

    pub(super) fn broadcast_information(
        &self,
        alert: &AlertSummary,
        information_id: String,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_live(alert)?;
        let coordinator = alert
            .pending_information
            .get(&information_id)
            .cloned()
            .unwrap_or_default();
        Ok(vec![AlertEvent::AdditionalInformationBroadcast {
            information_id,
            coordinator,
        }])
    }

    /// What a command names must exist before the policy can say who may act on it.
    pub(super) fn information_exists(
        &self,
        alert: &AlertSummary,
        information_id: &str,
    ) -> Result<(), DomainError> {
        if self.broadcast_information.contains(information_id) {
            return Err(DomainError::refused(format!(
                "additional information {information_id} was already broadcast"
            )));
        }
        if !alert.pending_information.contains_key(information_id) {
            return Err(DomainError::not_found(format!(
                "no additional information {information_id}"
            )));
        }
        Ok(())
    }
}
