//! Closure: the Member State responsible (of Establishment, or the initiating one) proposes,
//! its involved authorities comment during the comment period, the closing coordinator
//! broadcasts the proposal, recipient Member States object during the objection period, and
//! the closing coordinator closes at its end (or rejects the proposal). Also the time facts
//! the system records once each: the periods' ends and a PQ alert's 3-day deadline.

use super::model::{AlertKind, AlertStatus, AlertSummary, ClosurePeriods, ClosureSummary};
use super::{alert_coordinator, checked_sealed, unavailable, AlertCommand, AlertEvent};
use super::{AlertServices, AlertState};
use crate::access::ActorContext;
use crate::error::DomainError;
use crate::sealed::Sealed;
use chrono::{DateTime, Duration, Utc};

async fn periods(
    services: &dyn AlertServices,
    alert: &AlertSummary,
) -> Result<ClosurePeriods, DomainError> {
    services
        .closure_periods(&alert.area)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            DomainError::refused(format!("no closure periods are set for {}", alert.area))
        })
}

fn after_days(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now + Duration::days(i64::from(days))
}

fn closure(alert: &AlertSummary) -> Result<&ClosureSummary, DomainError> {
    alert
        .closure
        .as_ref()
        .ok_or_else(|| DomainError::refused("no closure proposal is under way"))
}

impl AlertState {
    /// Closure steps of the closing coordinator need a proposal to name it.
    pub(super) fn closure_exists(alert: &AlertSummary) -> Result<(), DomainError> {
        Self::require_not_ended(alert)?;
        closure(alert).map(|_| ())
    }

    pub(super) async fn propose_closure(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        actor: &ActorContext,
        closing_coordinator_id: String,
        reason: Sealed,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_live(alert)?;
        if alert.status != AlertStatus::Broadcast {
            return Err(DomainError::refused(
                "a closure proposal is already under way",
            ));
        }
        checked_sealed("the reason", &reason, &alert.alert_id)?;
        let responsible = alert.responsible_member_state().clone();
        let coordinator = alert_coordinator(services, &closing_coordinator_id, &alert.area).await?;
        if coordinator.member_state != responsible {
            return Err(DomainError::refused(format!(
                "{closing_coordinator_id} is not in {responsible}, the Member State responsible \
                 for closure"
            )));
        }
        let periods = periods(services, alert).await?;
        Ok(vec![AlertEvent::ClosureProposed {
            proposed_by: actor.authority_id().to_string(),
            closing_coordinator: closing_coordinator_id,
            responsible_member_state: responsible,
            reason,
            comment_period_ends_at: after_days(services.now(), periods.comment_days),
        }])
    }

    pub(super) fn comment(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        actor: &ActorContext,
        comment: Sealed,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_live(alert)?;
        let c = closure(alert)?;
        if alert.status != AlertStatus::ClosureProposed
            || c.comment_period_ended
            || services.now() >= c.comment_period_ends_at
        {
            return Err(DomainError::refused(format!(
                "the comment period ended at {}",
                c.comment_period_ends_at
            )));
        }
        checked_sealed("the comment", &comment, &alert.alert_id)?;
        Ok(vec![AlertEvent::ClosureCommented {
            commented_by: actor.authority_id().to_string(),
            comment,
        }])
    }

    pub(super) async fn broadcast_closure(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        let c = closure(alert)?;
        if alert.status != AlertStatus::ClosureProposed {
            return Err(DomainError::refused(
                "the closure proposal was already broadcast",
            ));
        }
        if !c.comment_period_ended && services.now() < c.comment_period_ends_at {
            return Err(DomainError::refused(format!(
                "the comment period runs until {}",
                c.comment_period_ends_at
            )));
        }
        let periods = periods(services, alert).await?;
        Ok(vec![AlertEvent::ClosureProposalBroadcast {
            closing_coordinator: c.closing_coordinator.clone(),
            objection_period_ends_at: after_days(services.now(), periods.objection_days),
        }])
    }

    pub(super) fn reject_closure(
        &self,
        alert: &AlertSummary,
        reason: Sealed,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        let c = closure(alert)?;
        checked_sealed("the reason", &reason, &alert.alert_id)?;
        Ok(vec![AlertEvent::ClosureProposalRejected {
            closing_coordinator: c.closing_coordinator.clone(),
            reason,
        }])
    }

    pub(super) fn object(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        actor: &ActorContext,
        objection: Sealed,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_live(alert)?;
        let (c, ends_at) = match (&alert.closure, alert.status) {
            (Some(c), AlertStatus::ClosureProposalBroadcast) => match c.objection_period_ends_at {
                Some(ends_at) => (c, ends_at),
                None => {
                    return Err(DomainError::refused(
                        "no closure proposal has been broadcast",
                    ))
                }
            },
            _ => {
                return Err(DomainError::refused(
                    "no closure proposal has been broadcast",
                ))
            }
        };
        if c.objection_period_ended || services.now() >= ends_at {
            return Err(DomainError::refused(format!(
                "the objection period ended at {ends_at}"
            )));
        }
        checked_sealed("the objection", &objection, &alert.alert_id)?;
        Ok(vec![AlertEvent::ClosureObjected {
            objected_by: actor.authority_id().to_string(),
            member_state: actor.authority.member_state.clone(),
            objection,
        }])
    }

    pub(super) fn close(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        let c = closure(alert)?;
        let Some(ends_at) = c.objection_period_ends_at else {
            return Err(DomainError::refused(
                "the closure proposal has not been broadcast yet",
            ));
        };
        if !c.objection_period_ended && services.now() < ends_at {
            return Err(DomainError::refused(format!(
                "the objection period runs until {ends_at}"
            )));
        }
        Ok(vec![AlertEvent::AlertClosed {
            closing_coordinator: c.closing_coordinator.clone(),
            at: services.now(),
        }])
    }

    /// Records a fact of time once: refused before it is due and once recorded.
    pub(super) fn record_time_fact(
        &self,
        alert: &AlertSummary,
        services: &dyn AlertServices,
        fact: AlertCommand,
    ) -> Result<Vec<AlertEvent>, DomainError> {
        Self::require_not_ended(alert)?;
        let now = services.now();
        match fact {
            AlertCommand::EndCommentPeriod => {
                let c = closure(alert)?;
                if c.comment_period_ended {
                    return Err(DomainError::refused(
                        "the end of the comment period is already recorded",
                    ));
                }
                if now < c.comment_period_ends_at {
                    return Err(DomainError::refused(format!(
                        "the comment period runs until {}",
                        c.comment_period_ends_at
                    )));
                }
                Ok(vec![AlertEvent::CommentPeriodEnded {
                    ended_at: c.comment_period_ends_at,
                }])
            }
            AlertCommand::EndObjectionPeriod => {
                let c = closure(alert)?;
                let Some(ends_at) = c.objection_period_ends_at else {
                    return Err(DomainError::refused(
                        "the closure proposal has not been broadcast yet",
                    ));
                };
                if c.objection_period_ended {
                    return Err(DomainError::refused(
                        "the end of the objection period is already recorded",
                    ));
                }
                if now < ends_at {
                    return Err(DomainError::refused(format!(
                        "the objection period runs until {ends_at}"
                    )));
                }
                Ok(vec![AlertEvent::ObjectionPeriodEnded { ended_at: ends_at }])
            }
            AlertCommand::PassThreeDayDeadline => {
                let (AlertKind::ProfessionalQualifications, Some(deadline)) =
                    (alert.kind, alert.three_day_deadline)
                else {
                    return Err(DomainError::refused("only a PQ alert has a 3-day deadline"));
                };
                if alert.broadcast_in_time.is_some() {
                    return Err(DomainError::refused(
                        "the 3-day deadline is already recorded",
                    ));
                }
                if now < deadline {
                    return Err(DomainError::refused(format!(
                        "the 3-day deadline is {deadline}"
                    )));
                }
                Ok(vec![AlertEvent::ThreeDayDeadlinePassed {
                    deadline,
                    broadcast_in_time: alert.broadcast_at.is_some_and(|b| b <= deadline),
                }])
            }
            _ => Err(DomainError::invalid("not a fact of time")),
        }
    }
}
