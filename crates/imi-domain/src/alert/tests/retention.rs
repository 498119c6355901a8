//! Blocking and deletion of an alert's personal data, the area's delays after it ended.

use super::support::*;
use crate::alert::*;
use crate::error::DomainError;
use crate::retention::{add_months, Retention, RetentionDelays};

/// When [`closed`] ended.
fn ended() -> chrono::DateTime<chrono::Utc> {
    days(21)
}

fn blocked() -> Vec<AlertEvent> {
    with(
        closed(),
        AlertEvent::PersonalDataBlocked {
            at: add_months(ended(), 6),
        },
    )
}

#[tokio::test]
async fn the_blocking_delay_after_closure_blocks_the_personal_data() {
    let at = add_months(ended(), 6);
    given_at(at, closed())
        .when_async(issued(system(), AlertCommand::BlockPersonalData))
        .await
        .then_expect_events(vec![AlertEvent::PersonalDataBlocked { at }]);
}

#[tokio::test]
async fn after_withdrawal_too() {
    let events = with(disseminated(), withdrawn_event());
    let at = add_months(now(), 6);
    given_at(at, events)
        .when_async(issued(system(), AlertCommand::BlockPersonalData))
        .await
        .then_expect_events(vec![AlertEvent::PersonalDataBlocked { at }]);
}

#[tokio::test]
async fn nothing_is_blocked_before_the_delay() {
    given_at(add_months(ended(), 5), closed())
        .when_async(issued(system(), AlertCommand::BlockPersonalData))
        .await
        .then_expect_error(DomainError::refused(
            "6 months have not passed since the alert ended",
        ));
}

#[tokio::test]
async fn an_area_with_18_months_blocks_later() {
    let retention = Retention {
        alerts: RetentionDelays {
            blocking_months: 18,
            ..RetentionDelays::default()
        },
        ..Retention::default()
    };
    given_in(
        services()
            .with_retention("SD", retention)
            .at(add_months(ended(), 17)),
        closed(),
    )
    .when_async(issued(system(), AlertCommand::BlockPersonalData))
    .await
    .then_expect_error(DomainError::refused(
        "18 months have not passed since the alert ended",
    ));
}

#[tokio::test]
async fn an_alert_under_way_is_not_blocked_nor_deleted() {
    for fact in [
        AlertCommand::BlockPersonalData,
        AlertCommand::RecordPersonalDataDeleted,
    ] {
        given_at(add_months(now(), 40), disseminated())
            .when_async(issued(system(), fact))
            .await
            .then_expect_error(DomainError::refused(
                "personal data are blocked and deleted only after the alert is closed or \
                 withdrawn",
            ));
    }
}

#[tokio::test]
async fn blocked_once() {
    given_at(add_months(ended(), 7), blocked())
        .when_async(issued(system(), AlertCommand::BlockPersonalData))
        .await
        .then_expect_error(DomainError::refused(
            "the personal data are already blocked",
        ));
}

#[tokio::test]
async fn the_deletion_delay_deletes_blocked_personal_data_once() {
    let at = add_months(ended(), 36);
    given_at(at, blocked())
        .when_async(issued(system(), AlertCommand::RecordPersonalDataDeleted))
        .await
        .then_expect_events(vec![AlertEvent::PersonalDataDeleted { at }]);
    given_at(
        add_months(ended(), 37),
        with(blocked(), AlertEvent::PersonalDataDeleted { at }),
    )
    .when_async(issued(system(), AlertCommand::RecordPersonalDataDeleted))
    .await
    .then_expect_error(DomainError::refused(
        "the personal data are already deleted",
    ));
}

#[tokio::test]
async fn nothing_is_deleted_before_the_delay_or_unblocked() {
    given_at(add_months(ended(), 35), blocked())
        .when_async(issued(system(), AlertCommand::RecordPersonalDataDeleted))
        .await
        .then_expect_error(DomainError::refused(
            "36 months have not passed since the alert ended",
        ));
    given_at(add_months(ended(), 36), closed())
        .when_async(issued(system(), AlertCommand::RecordPersonalDataDeleted))
        .await
        .then_expect_error(DomainError::refused(
            "personal data are deleted only once they are blocked",
        ));
}

#[tokio::test]
async fn only_the_system_blocks_or_deletes() {
    given_at(add_months(ended(), 36), blocked())
        .when_async(issued(
            de_handler(),
            AlertCommand::RecordPersonalDataDeleted,
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the system records that a period has passed",
        ));
}

#[test]
fn blocked_personal_data_show_the_overview_only() {
    let summary = summary_of(blocked());
    let mut levels = vec![];
    for (user_id, authority_id) in [("u-de-ca", "de-ca"), ("u-at-iap", "at-iap")] {
        let authority = scene()
            .into_iter()
            .find(|a| a.authority_id == authority_id)
            .unwrap();
        let user = authority
            .users
            .keys()
            .next()
            .cloned()
            .unwrap_or(user_id.into());
        let reader = crate::access::ActorContext::new(&user, authority);
        levels.push(view_level(Some(&reader), &summary));
    }
    assert!(
        levels.iter().all(|l| *l == Some(AlertViewLevel::HighLevel)),
        "{levels:?}"
    );
    let before = summary_of(closed());
    assert!(levels.len() == 2 && before.personal_data_blocked_at.is_none());
}
