//! The facts of time the system records once each (so a scheduler may repeat itself): the
//! comment and objection periods ending, and a PQ alert's 3-day deadline passing.

use super::support::*;
use crate::alert::*;
use crate::error::DomainError;
use chrono::Duration;

fn pq_drafted() -> Vec<AlertEvent> {
    drafted_with("PQ", pq_content())
}

/// The PQ alert's deadline: 3 days after the decision (a day before [`now`]).
fn pq_deadline() -> chrono::DateTime<chrono::Utc> {
    pq_alert().decided_at + Duration::days(3)
}

// --- Comment period -------------------------------------------------------------------------

#[tokio::test]
async fn the_system_records_the_end_of_the_comment_period_once() {
    given_at(days(7), proposed())
        .when_async(issued(system(), AlertCommand::EndCommentPeriod))
        .await
        .then_expect_events(vec![AlertEvent::CommentPeriodEnded { ended_at: days(7) }]);
    given_at(
        days(8),
        with(
            proposed(),
            AlertEvent::CommentPeriodEnded { ended_at: days(7) },
        ),
    )
    .when_async(issued(system(), AlertCommand::EndCommentPeriod))
    .await
    .then_expect_error(DomainError::refused(
        "the end of the comment period is already recorded",
    ));
}

#[tokio::test]
async fn the_comment_period_has_not_ended_before_its_end() {
    given_at(days(6), proposed())
        .when_async(issued(system(), AlertCommand::EndCommentPeriod))
        .await
        .then_expect_error(DomainError::refused(
            "the comment period runs until 2026-03-09 00:00:00 UTC",
        ));
}

#[tokio::test]
async fn a_period_ends_only_where_a_proposal_is_under_way() {
    for fact in [
        AlertCommand::EndCommentPeriod,
        AlertCommand::EndObjectionPeriod,
    ] {
        given_at(days(30), disseminated())
            .when_async(issued(system(), fact))
            .await
            .then_expect_error(DomainError::refused("no closure proposal is under way"));
    }
}

// --- Objection period -----------------------------------------------------------------------

#[tokio::test]
async fn the_system_records_the_end_of_the_objection_period_once() {
    given_at(days(21), proposal_broadcast())
        .when_async(issued(system(), AlertCommand::EndObjectionPeriod))
        .await
        .then_expect_events(vec![AlertEvent::ObjectionPeriodEnded {
            ended_at: days(21),
        }]);
    given_at(
        days(22),
        with(
            proposal_broadcast(),
            AlertEvent::ObjectionPeriodEnded { ended_at: days(21) },
        ),
    )
    .when_async(issued(system(), AlertCommand::EndObjectionPeriod))
    .await
    .then_expect_error(DomainError::refused(
        "the end of the objection period is already recorded",
    ));
}

#[tokio::test]
async fn the_objection_period_has_not_ended_before_its_end() {
    given_at(days(20), proposal_broadcast())
        .when_async(issued(system(), AlertCommand::EndObjectionPeriod))
        .await
        .then_expect_error(DomainError::refused(
            "the objection period runs until 2026-03-23 00:00:00 UTC",
        ));
}

#[tokio::test]
async fn the_objection_period_starts_with_the_proposals_broadcast() {
    given_at(days(30), proposed())
        .when_async(issued(system(), AlertCommand::EndObjectionPeriod))
        .await
        .then_expect_error(DomainError::refused(
            "the closure proposal has not been broadcast yet",
        ));
}

#[tokio::test]
async fn a_closing_coordinator_closes_early_once_the_end_is_recorded() {
    // The recorded fact stands for the clock (e.g. a clock set back on a replica).
    given_at(
        days(10),
        with(
            proposal_broadcast(),
            AlertEvent::ObjectionPeriodEnded { ended_at: days(21) },
        ),
    )
    .when_async(issued(at_iap(), AlertCommand::CloseAlert))
    .await
    .then_expect_events(vec![AlertEvent::AlertClosed {
        closing_coordinator: "at-iap".into(),
        at: days(10),
    }]);
}

// --- The PQ 3-day rule ----------------------------------------------------------------------

#[tokio::test]
async fn the_system_records_a_pq_alert_not_broadcast_within_3_days() {
    given_at(days(3), pq_drafted())
        .when_async(issued(system(), AlertCommand::PassThreeDayDeadline))
        .await
        .then_expect_events(vec![AlertEvent::ThreeDayDeadlinePassed {
            deadline: pq_deadline(),
            broadcast_in_time: false,
        }]);
}

#[tokio::test]
async fn the_system_records_a_pq_alert_broadcast_within_3_days() {
    let mut events = pq_drafted();
    events.push(submitted_event());
    events.push(broadcast_event());
    given_at(days(3), events)
        .when_async(issued(system(), AlertCommand::PassThreeDayDeadline))
        .await
        .then_expect_events(vec![AlertEvent::ThreeDayDeadlinePassed {
            deadline: pq_deadline(),
            broadcast_in_time: true,
        }]);
}

#[tokio::test]
async fn the_3_day_deadline_is_recorded_once_and_not_early() {
    given_at(
        days(5),
        with(
            pq_drafted(),
            AlertEvent::ThreeDayDeadlinePassed {
                deadline: pq_deadline(),
                broadcast_in_time: false,
            },
        ),
    )
    .when_async(issued(system(), AlertCommand::PassThreeDayDeadline))
    .await
    .then_expect_error(DomainError::refused(
        "the 3-day deadline is already recorded",
    ));
    given_at(days(1), pq_drafted())
        .when_async(issued(system(), AlertCommand::PassThreeDayDeadline))
        .await
        .then_expect_error(DomainError::refused(
            "the 3-day deadline is 2026-03-04 00:00:00 UTC",
        ));
}

#[tokio::test]
async fn an_sd_alert_has_no_3_day_deadline() {
    given_at(days(5), drafted())
        .when_async(issued(system(), AlertCommand::PassThreeDayDeadline))
        .await
        .then_expect_error(DomainError::refused("only a PQ alert has a 3-day deadline"));
}

// --- Who records, and when not --------------------------------------------------------------

#[tokio::test]
async fn only_the_system_records_facts_of_time() {
    for fact in [
        AlertCommand::EndCommentPeriod,
        AlertCommand::EndObjectionPeriod,
        AlertCommand::PassThreeDayDeadline,
    ] {
        given_at(days(30), proposed())
            .when_async(issued(at_iap(), fact))
            .await
            .then_expect_error(DomainError::forbidden(
                "only the system records that a period has passed",
            ));
    }
}

#[tokio::test]
async fn no_fact_of_time_for_an_ended_or_unknown_alert() {
    given_at(days(30), with(pq_drafted(), withdrawn_event()))
        .when_async(issued(system(), AlertCommand::PassThreeDayDeadline))
        .await
        .then_expect_error(DomainError::refused("the alert was withdrawn"));
    given_at(days(30), closed())
        .when_async(issued(system(), AlertCommand::EndObjectionPeriod))
        .await
        .then_expect_error(DomainError::refused("the alert is closed"));
    given(vec![])
        .when_async(issued(system(), AlertCommand::EndCommentPeriod))
        .await
        .then_expect_error(DomainError::not_found("no such alert"));
}
