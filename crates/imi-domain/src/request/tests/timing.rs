//! The time facts the scheduler records, each once. The scene's events all happen at
//! 2026-01-01 09:00; the answer date is 2026-02-01 (31 days later).

use super::support::*;
use crate::error::DomainError;
use crate::request::*;
use chrono::Duration;

async fn fact(
    services: crate::request::testing::InMemoryRequestServices,
    events: Vec<RequestEvent>,
    command: RequestCommand,
    expected: Result<RequestEvent, DomainError>,
) {
    let run = given_in(services, events)
        .when_async(issued(scheduler(), command))
        .await;
    match expected {
        Ok(event) => run.then_expect_events(vec![event]),
        Err(error) => run.then_expect_error(error),
    }
}

#[tokio::test]
async fn a_user_does_not_record_time_facts() {
    given(sent())
        .when_async(issued(
            fr_handler(),
            RequestCommand::RecordAcceptanceOverdue,
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the scheduler records the time facts of a request",
        ));
}

#[tokio::test]
async fn time_facts_need_a_request() {
    fact(
        later(8),
        vec![],
        RequestCommand::RecordAcceptanceOverdue,
        Err(DomainError::not_found("no such request")),
    )
    .await;
}

// --- 7 days to accept -------------------------------------------------------------------

#[tokio::test]
async fn a_request_not_accepted_within_7_days_is_overdue() {
    fact(
        later(7),
        sent(),
        RequestCommand::RecordAcceptanceOverdue,
        Ok(RequestEvent::AcceptanceOverdue {
            dispatched_at: now(),
            at: now() + Duration::days(7),
        }),
    )
    .await;
}

#[tokio::test]
async fn within_7_days_acceptance_is_not_overdue() {
    fact(
        services().at(now() + Duration::days(7) - Duration::seconds(1)),
        sent(),
        RequestCommand::RecordAcceptanceOverdue,
        Err(DomainError::refused(
            "the 7 days to accept have not passed yet",
        )),
    )
    .await;
}

#[tokio::test]
async fn a_missed_acceptance_is_recorded_once() {
    let events = with(
        sent(),
        RequestEvent::AcceptanceOverdue {
            dispatched_at: now(),
            at: now() + Duration::days(7),
        },
    );
    fact(
        later(9),
        events,
        RequestCommand::RecordAcceptanceOverdue,
        Err(DomainError::refused(
            "the missed acceptance was already recorded",
        )),
    )
    .await;
}

#[tokio::test]
async fn an_accepted_request_is_not_overdue_for_acceptance() {
    fact(
        later(9),
        accepted(),
        RequestCommand::RecordAcceptanceOverdue,
        Err(DomainError::refused(
            "only a request waiting for acceptance is overdue for it",
        )),
    )
    .await;
}

#[tokio::test]
async fn forwarding_restarts_the_7_days() {
    let fr_ca2 = directory().get("fr-ca2").cloned().unwrap();
    let events = [
        sent(),
        vec![
            RequestEvent::AcceptanceOverdue {
                dispatched_at: now(),
                at: now() + Duration::days(7),
            },
            RequestEvent::RequestForwarded {
                from: "fr-ca".into(),
                to: party(&fr_ca2),
                reason: "r".into(),
                at: now() + Duration::days(8),
            },
        ],
    ]
    .concat();
    fact(
        later(14),
        events.clone(),
        RequestCommand::RecordAcceptanceOverdue,
        Err(DomainError::refused(
            "the 7 days to accept have not passed yet",
        )),
    )
    .await;
    fact(
        later(15),
        events,
        RequestCommand::RecordAcceptanceOverdue,
        Ok(RequestEvent::AcceptanceOverdue {
            dispatched_at: now() + Duration::days(8),
            at: now() + Duration::days(15),
        }),
    )
    .await;
}

// --- Reminders around the answer date -----------------------------------------------------

#[tokio::test]
async fn three_days_before_the_answer_date_a_reminder_is_due() {
    fact(
        later(28),
        accepted(),
        RequestCommand::RecordDueDateApproaching,
        Ok(RequestEvent::DueDateApproaching {
            due_date: answer_date(),
            at: now() + Duration::days(28),
        }),
    )
    .await;
}

#[tokio::test]
async fn earlier_no_reminder_is_due() {
    fact(
        later(27),
        accepted(),
        RequestCommand::RecordDueDateApproaching,
        Err(DomainError::refused(
            "the answer date is more than 3 days away",
        )),
    )
    .await;
}

#[tokio::test]
async fn after_the_answer_date_the_reminder_before_is_not_due() {
    fact(
        later(32),
        accepted(),
        RequestCommand::RecordDueDateApproaching,
        Err(DomainError::refused("the answer date has passed")),
    )
    .await;
}

#[tokio::test]
async fn the_reminder_before_is_recorded_once_per_answer_date() {
    let reminded = with(
        accepted(),
        RequestEvent::DueDateApproaching {
            due_date: answer_date(),
            at: now() + Duration::days(28),
        },
    );
    fact(
        later(29),
        reminded.clone(),
        RequestCommand::RecordDueDateApproaching,
        Err(DomainError::refused(
            "the reminder before this answer date was already recorded",
        )),
    )
    .await;
    // A new agreed date brings a new reminder.
    let moved = [
        reminded,
        vec![
            RequestEvent::AnswerDateProposed {
                date: day(2026, 2, 10),
                reason: "r".into(),
                at: now(),
            },
            RequestEvent::AnswerDateAgreed {
                date: day(2026, 2, 10),
                at: now(),
            },
        ],
    ]
    .concat();
    fact(
        later(37),
        moved,
        RequestCommand::RecordDueDateApproaching,
        Ok(RequestEvent::DueDateApproaching {
            due_date: day(2026, 2, 10),
            at: now() + Duration::days(37),
        }),
    )
    .await;
}

#[tokio::test]
async fn reminders_concern_an_accepted_request_without_its_full_reply() {
    for command in [
        RequestCommand::RecordDueDateApproaching,
        RequestCommand::RecordAnswerOverdue,
    ] {
        fact(
            later(40),
            answered(),
            command,
            Err(DomainError::refused(
                "reminders concern an accepted request without its full reply",
            )),
        )
        .await;
    }
}

#[tokio::test]
async fn after_the_answer_date_the_missing_reply_is_overdue() {
    fact(
        later(32),
        partially_answered(),
        RequestCommand::RecordAnswerOverdue,
        Ok(RequestEvent::AnswerOverdue {
            due_date: answer_date(),
            at: now() + Duration::days(32),
        }),
    )
    .await;
}

#[tokio::test]
async fn on_the_answer_date_the_reply_is_not_overdue() {
    fact(
        later(31),
        accepted(),
        RequestCommand::RecordAnswerOverdue,
        Err(DomainError::refused("the answer date has not passed yet")),
    )
    .await;
}

#[tokio::test]
async fn a_missed_answer_date_is_recorded_once() {
    let events = with(
        accepted(),
        RequestEvent::AnswerOverdue {
            due_date: answer_date(),
            at: now() + Duration::days(32),
        },
    );
    fact(
        later(33),
        events,
        RequestCommand::RecordAnswerOverdue,
        Err(DomainError::refused(
            "the missed answer date was already recorded",
        )),
    )
    .await;
}

// --- Inactivity -------------------------------------------------------------------------

#[tokio::test]
async fn two_months_without_action_are_raised_to_both_coordinators() {
    fact(
        later(59),
        accepted(),
        RequestCommand::RaiseInactivity,
        Ok(RequestEvent::InactivityRaised {
            inactive_since: now(),
            coordinators: ids(&["de-rc", "fr-rc"]),
            at: now() + Duration::days(59),
        }),
    )
    .await;
}

#[tokio::test]
async fn within_two_months_nothing_is_raised() {
    fact(
        later(58),
        accepted(),
        RequestCommand::RaiseInactivity,
        Err(DomainError::refused(
            "the request was active in the last 2 months",
        )),
    )
    .await;
}

#[tokio::test]
async fn inactivity_is_raised_once_until_something_happens() {
    let raised = with(
        accepted(),
        RequestEvent::InactivityRaised {
            inactive_since: now(),
            coordinators: ids(&["de-rc", "fr-rc"]),
            at: now() + Duration::days(59),
        },
    );
    fact(
        later(120),
        raised.clone(),
        RequestCommand::RaiseInactivity,
        Err(DomainError::refused(
            "the inactivity was already raised; nothing happened since",
        )),
    )
    .await;
    let active_again = with(
        raised,
        RequestEvent::PartialReplySent {
            answers: answers(&["PQ-GEN-01"]),
            attachments: vec![],
            at: now() + Duration::days(60),
        },
    );
    fact(
        later(125),
        active_again,
        RequestCommand::RaiseInactivity,
        Ok(RequestEvent::InactivityRaised {
            inactive_since: now() + Duration::days(60),
            coordinators: ids(&["de-rc", "fr-rc"]),
            at: now() + Duration::days(125),
        }),
    )
    .await;
}

#[tokio::test]
async fn only_an_open_request_is_raised_for_inactivity() {
    for events in [drafted(), closed()] {
        fact(
            later(90),
            events,
            RequestCommand::RaiseInactivity,
            Err(DomainError::refused(
                "only an open request is raised for inactivity",
            )),
        )
        .await;
    }
}

// --- Blocking ---------------------------------------------------------------------------

#[tokio::test]
async fn six_months_after_closure_personal_data_are_blocked() {
    fact(
        later(181),
        closed(),
        RequestCommand::BlockPersonalData,
        Ok(RequestEvent::PersonalDataBlocked {
            at: now() + Duration::days(181),
        }),
    )
    .await;
}

#[tokio::test]
async fn six_months_after_withdrawal_personal_data_are_blocked() {
    fact(
        later(181),
        withdrawn(),
        RequestCommand::BlockPersonalData,
        Ok(RequestEvent::PersonalDataBlocked {
            at: now() + Duration::days(181),
        }),
    )
    .await;
}

#[tokio::test]
async fn within_six_months_nothing_is_blocked() {
    fact(
        later(180),
        closed(),
        RequestCommand::BlockPersonalData,
        Err(DomainError::refused(
            "6 months have not passed since the request ended",
        )),
    )
    .await;
}

#[tokio::test]
async fn an_open_request_is_not_blocked() {
    fact(
        later(400),
        answered(),
        RequestCommand::BlockPersonalData,
        Err(DomainError::refused(
            "personal data are blocked only after the request is closed or withdrawn",
        )),
    )
    .await;
}

#[tokio::test]
async fn personal_data_are_blocked_once() {
    let events = with(
        closed(),
        RequestEvent::PersonalDataBlocked {
            at: now() + Duration::days(181),
        },
    );
    fact(
        later(200),
        events,
        RequestCommand::BlockPersonalData,
        Err(DomainError::refused(
            "the personal data are already blocked",
        )),
    )
    .await;
}

#[test]
fn time_facts_are_not_activity() {
    let events = with(
        accepted(),
        RequestEvent::AcceptanceOverdue {
            dispatched_at: now(),
            at: now() + Duration::days(7),
        },
    );
    let summary = Subject::from_events(events).summary().unwrap();
    assert_eq!(summary.dates.last_activity_at, now());
}

// --- The area's delays and deletion -------------------------------------------------------

fn area_blocking(months: u32) -> crate::request::testing::InMemoryRequestServices {
    use crate::retention::{Retention, RetentionDelays};
    let retention = Retention {
        requests: RetentionDelays {
            blocking_months: months,
            ..RetentionDelays::default()
        },
        ..Retention::default()
    };
    let area = closed()
        .iter()
        .find_map(|e| match e {
            RequestEvent::RequestDrafted { area, .. } => Some(area.code().to_string()),
            _ => None,
        })
        .unwrap();
    services().with_retention(&area, retention)
}

#[tokio::test]
async fn an_area_with_18_months_blocks_later() {
    let in_18_months = crate::retention::add_months(now(), 18);
    fact(
        area_blocking(18).at(now() + Duration::days(181)),
        closed(),
        RequestCommand::BlockPersonalData,
        Err(DomainError::refused(
            "18 months have not passed since the request ended",
        )),
    )
    .await;
    fact(
        area_blocking(18).at(in_18_months),
        closed(),
        RequestCommand::BlockPersonalData,
        Ok(RequestEvent::PersonalDataBlocked { at: in_18_months }),
    )
    .await;
}

fn blocked() -> Vec<RequestEvent> {
    with(
        closed(),
        RequestEvent::PersonalDataBlocked {
            at: now() + Duration::days(181),
        },
    )
}

#[tokio::test]
async fn three_years_after_closure_personal_data_are_deleted() {
    let in_3_years = crate::retention::add_months(now(), 36);
    fact(
        services().at(in_3_years),
        blocked(),
        RequestCommand::RecordPersonalDataDeleted,
        Ok(RequestEvent::PersonalDataDeleted { at: in_3_years }),
    )
    .await;
}

#[tokio::test]
async fn within_three_years_nothing_is_deleted() {
    fact(
        later(3 * 365),
        blocked(),
        RequestCommand::RecordPersonalDataDeleted,
        Err(DomainError::refused(
            "36 months have not passed since the request ended",
        )),
    )
    .await;
}

#[tokio::test]
async fn only_blocked_personal_data_are_deleted() {
    fact(
        later(4 * 365),
        closed(),
        RequestCommand::RecordPersonalDataDeleted,
        Err(DomainError::refused(
            "personal data are deleted only once they are blocked",
        )),
    )
    .await;
    fact(
        later(4 * 365),
        answered(),
        RequestCommand::RecordPersonalDataDeleted,
        Err(DomainError::refused(
            "personal data are deleted only after the request is closed or withdrawn",
        )),
    )
    .await;
}

#[tokio::test]
async fn personal_data_are_deleted_once() {
    let events = with(
        blocked(),
        RequestEvent::PersonalDataDeleted {
            at: now() + Duration::days(3 * 366),
        },
    );
    fact(
        later(4 * 365),
        events,
        RequestCommand::RecordPersonalDataDeleted,
        Err(DomainError::refused(
            "the personal data are already deleted",
        )),
    )
    .await;
}

#[tokio::test]
async fn a_user_does_not_delete_personal_data() {
    given_in(later(4 * 365), blocked())
        .when_async(issued(
            fr_handler(),
            RequestCommand::RecordPersonalDataDeleted,
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the scheduler records the time facts of a request",
        ));
}
