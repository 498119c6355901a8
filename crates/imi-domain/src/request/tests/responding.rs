//! The responding authority takes the request: accepting, another answer date, forwarding;
//! allocation to request handlers on either side.

use super::support::*;
use crate::authority::Flag;
use crate::error::DomainError;
use crate::request::*;

#[tokio::test]
async fn the_responding_authority_accepts_at_the_proposed_date() {
    given(sent())
        .when_async(issued(
            fr_handler(),
            RequestCommand::Accept {
                request_coordinator: None,
            },
        ))
        .await
        .then_expect_events(vec![RequestEvent::RequestAccepted {
            responding_coordinator: "fr-rc".into(),
            agreed_answer_date: answer_date(),
            at: now(),
        }]);
}

#[tokio::test]
async fn a_request_is_accepted_once() {
    given(accepted())
        .when_async(issued(
            fr_handler(),
            RequestCommand::Accept {
                request_coordinator: None,
            },
        ))
        .await
        .then_expect_error(DomainError::refused("the request was already accepted"));
}

#[tokio::test]
async fn accepting_names_a_linked_coordinator() {
    given(sent())
        .when_async(issued(
            fr_handler(),
            RequestCommand::Accept {
                request_coordinator: Some("de-rc".into()),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "de-rc is not a request coordinator linked to the authority in PQ",
        ));
}

#[tokio::test]
async fn a_request_not_dispatched_is_not_the_responders() {
    given(drafted())
        .when_async(issued(
            fr_handler(),
            RequestCommand::Accept {
                request_coordinator: None,
            },
        ))
        .await
        // Until it is sent, the request does not exist for the responding side.
        .then_expect_error(crate::request::unknown_request());
}

#[tokio::test]
async fn the_requesting_authority_does_not_accept() {
    given(sent())
        .when_async(issued(
            de_handler(),
            RequestCommand::Accept {
                request_coordinator: None,
            },
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the responding authority may take this step",
        ));
}

#[tokio::test]
async fn a_closed_request_is_not_accepted() {
    given(withdrawn())
        .when_async(issued(
            fr_handler(),
            RequestCommand::Accept {
                request_coordinator: None,
            },
        ))
        .await
        .then_expect_error(DomainError::refused("the request was withdrawn"));
}

// --- Another answer date ----------------------------------------------------------------

fn propose(date: chrono::NaiveDate) -> RequestCommand {
    RequestCommand::ProposeAnswerDate {
        date,
        reason: "the register is consulted by post".into(),
    }
}

#[tokio::test]
async fn the_responding_authority_proposes_another_answer_date() {
    given(sent())
        .when_async(issued(fr_handler(), propose(day(2026, 3, 1))))
        .await
        .then_expect_events(vec![RequestEvent::AnswerDateProposed {
            date: day(2026, 3, 1),
            reason: "the register is consulted by post".into(),
            at: now(),
        }]);
}

#[tokio::test]
async fn another_answer_date_is_after_today() {
    given(sent())
        .when_async(issued(fr_handler(), propose(now().date_naive())))
        .await
        .then_expect_error(DomainError::invalid(
            "the proposed answer date must be after today",
        ));
}

#[tokio::test]
async fn another_answer_date_differs() {
    given(accepted())
        .when_async(issued(fr_handler(), propose(answer_date())))
        .await
        .then_expect_error(DomainError::refused("that is already the answer date"));
}

#[tokio::test]
async fn another_answer_date_needs_a_reason() {
    given(sent())
        .when_async(issued(
            fr_handler(),
            RequestCommand::ProposeAnswerDate {
                date: day(2026, 3, 1),
                reason: "".into(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the reason for another answer date is required",
        ));
}

#[tokio::test]
async fn no_other_answer_date_once_answered() {
    given(answered())
        .when_async(issued(fr_handler(), propose(day(2026, 3, 1))))
        .await
        .then_expect_error(DomainError::refused(
            "another answer date is proposed only while a reply is due",
        ));
}

fn proposed(events: Vec<RequestEvent>) -> Vec<RequestEvent> {
    with(
        events,
        RequestEvent::AnswerDateProposed {
            date: day(2026, 3, 1),
            reason: "post".into(),
            at: now(),
        },
    )
}

#[tokio::test]
async fn the_requesting_authority_agrees_to_the_proposed_date() {
    given(proposed(sent()))
        .when_async(issued(de_handler(), RequestCommand::AgreeAnswerDate))
        .await
        .then_expect_events(vec![RequestEvent::AnswerDateAgreed {
            date: day(2026, 3, 1),
            at: now(),
        }]);
}

#[test]
fn an_agreed_date_before_acceptance_becomes_the_proposed_one_and_after_it_the_agreed_one() {
    let agreed = RequestEvent::AnswerDateAgreed {
        date: day(2026, 3, 1),
        at: now(),
    };
    let before = Subject::from_events(with(proposed(sent()), agreed.clone()))
        .summary()
        .unwrap();
    assert_eq!(before.dates.proposed_answer_date, day(2026, 3, 1));
    assert_eq!(before.dates.counter_proposed_answer_date, None);
    let after = Subject::from_events(with(proposed(accepted()), agreed))
        .summary()
        .unwrap();
    assert_eq!(after.dates.agreed_answer_date, Some(day(2026, 3, 1)));
    assert_eq!(after.dates.proposed_answer_date, answer_date());
    assert_eq!(after.due_date(), day(2026, 3, 1));
}

#[tokio::test]
async fn nothing_to_agree_without_a_proposal() {
    given(sent())
        .when_async(issued(de_handler(), RequestCommand::AgreeAnswerDate))
        .await
        .then_expect_error(DomainError::refused("no other answer date was proposed"));
}

// --- Forwarding -------------------------------------------------------------------------

fn forward(to: &str) -> RequestCommand {
    RequestCommand::Forward {
        to: to.into(),
        reason: "competent for the register".into(),
    }
}

#[tokio::test]
async fn the_request_is_forwarded_to_a_competent_authority_of_the_same_member_state() {
    let fr_ca2 = directory().get("fr-ca2").cloned().unwrap();
    given(sent())
        .when_async(issued(fr_handler(), forward("fr-ca2")))
        .await
        .then_expect_events(vec![RequestEvent::RequestForwarded {
            from: "fr-ca".into(),
            to: party(&fr_ca2),
            reason: "competent for the register".into(),
            at: now(),
        }]);
}

#[test]
fn after_forwarding_the_new_authority_responds_and_the_old_one_watches() {
    let fr_ca2 = directory().get("fr-ca2").cloned().unwrap();
    let events = with(
        sent(),
        RequestEvent::RequestForwarded {
            from: "fr-ca".into(),
            to: party(&fr_ca2),
            reason: "r".into(),
            at: now(),
        },
    );
    let summary = Subject::from_events(events).summary().unwrap();
    assert_eq!(summary.responding.authority_id, "fr-ca2");
    assert_eq!(summary.forwarded_from, ids(&["fr-ca"]));
    assert_eq!(summary.status, RequestStatus::Sent);
}

#[tokio::test]
async fn the_forwarded_request_is_accepted_by_its_new_authority() {
    let fr_ca2 = directory().get("fr-ca2").cloned().unwrap();
    let events = with(
        sent(),
        RequestEvent::RequestForwarded {
            from: "fr-ca".into(),
            to: party(&fr_ca2),
            reason: "r".into(),
            at: now(),
        },
    );
    given(events.clone())
        .when_async(issued(
            fr_handler(),
            RequestCommand::Accept {
                request_coordinator: None,
            },
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the responding authority may take this step",
        ));
    given(events)
        .when_async(issued(
            fr2_handler(),
            RequestCommand::Accept {
                request_coordinator: None,
            },
        ))
        .await
        .then_expect_events(vec![RequestEvent::RequestAccepted {
            responding_coordinator: "fr-rc".into(),
            agreed_answer_date: answer_date(),
            at: now(),
        }]);
}

#[tokio::test]
async fn an_accepted_request_is_not_forwarded() {
    given(accepted())
        .when_async(issued(fr_handler(), forward("fr-ca2")))
        .await
        .then_expect_error(DomainError::refused(
            "only a request not accepted yet is forwarded",
        ));
}

#[tokio::test]
async fn a_request_is_not_forwarded_to_its_own_responder() {
    given(sent())
        .when_async(issued(fr_handler(), forward("fr-ca")))
        .await
        .then_expect_error(DomainError::invalid(
            "the request is already with that authority",
        ));
}

#[tokio::test]
async fn a_request_is_forwarded_to_a_known_authority() {
    given(sent())
        .when_async(issued(fr_handler(), forward("nowhere")))
        .await
        .then_expect_error(DomainError::not_found("no authority nowhere"));
}

#[tokio::test]
async fn a_request_is_forwarded_within_the_member_state() {
    given(sent())
        .when_async(issued(fr_handler(), forward("it-ca")))
        .await
        .then_expect_error(DomainError::refused(
            "a request is forwarded only to an authority of the responding authority's Member \
             State",
        ));
}

#[tokio::test]
async fn a_request_is_forwarded_to_an_authority_with_the_request_workflow() {
    given(sent())
        .when_async(issued(fr_handler(), forward("fr-nopq")))
        .await
        .then_expect_error(DomainError::refused(
            "the authority fr-nopq has no access to the request workflow in PQ",
        ));
}

#[tokio::test]
async fn forwarding_needs_a_reason() {
    given(sent())
        .when_async(issued(
            fr_handler(),
            RequestCommand::Forward {
                to: "fr-ca2".into(),
                reason: " ".into(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the reason for forwarding is required",
        ));
}

// --- Allocation -------------------------------------------------------------------------

fn allocating() -> crate::request::testing::InMemoryRequestServices {
    services()
        .with_authority(with_flags(fr_ca(), &[Flag::Allocation]))
        .with_authority(with_flags(de_ca(), &[Flag::Allocation]))
}

fn assign(handlers: &[&str]) -> RequestCommand {
    RequestCommand::Assign {
        handlers: ids(handlers),
    }
}

#[tokio::test]
async fn the_responding_allocator_assigns_request_handlers() {
    given_in(allocating(), sent())
        .when_async(issued(
            fr_allocator(),
            assign(&["fr-handler", "fr-handler2"]),
        ))
        .await
        .then_expect_events(vec![RequestEvent::RequestAssigned {
            authority_id: "fr-ca".into(),
            handlers: ids(&["fr-handler", "fr-handler2"]),
            at: now(),
        }]);
}

#[tokio::test]
async fn the_requesting_allocator_reassigns_an_outgoing_request() {
    given_in(allocating(), sent())
        .when_async(issued(de_allocator(), assign(&["de-handler2"])))
        .await
        .then_expect_events(vec![RequestEvent::RequestAssigned {
            authority_id: "de-ca".into(),
            handlers: ids(&["de-handler2"]),
            at: now(),
        }]);
}

#[tokio::test]
async fn with_allocation_the_responding_side_waits_for_its_allocator() {
    given_in(allocating(), sent())
        .when_async(issued(
            fr_handler(),
            RequestCommand::Accept {
                request_coordinator: None,
            },
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "the request awaits its allocation to a request handler",
        ));
}

fn assigned_to_fr_handler2() -> Vec<RequestEvent> {
    with(
        sent(),
        RequestEvent::RequestAssigned {
            authority_id: "fr-ca".into(),
            handlers: ids(&["fr-handler2"]),
            at: now(),
        },
    )
}

#[tokio::test]
async fn with_allocation_only_assigned_handlers_act() {
    given_in(allocating(), assigned_to_fr_handler2())
        .when_async(issued(
            fr_handler(),
            RequestCommand::Accept {
                request_coordinator: None,
            },
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the request handlers assigned to this request may act on it",
        ));
    given_in(allocating(), assigned_to_fr_handler2())
        .when_async(issued(
            fr_handler2(),
            RequestCommand::Accept {
                request_coordinator: None,
            },
        ))
        .await
        .then_expect_events(vec![RequestEvent::RequestAccepted {
            responding_coordinator: "fr-rc".into(),
            agreed_answer_date: answer_date(),
            at: now(),
        }]);
}

#[tokio::test]
async fn with_allocation_the_drafter_keeps_the_request_until_reassigned() {
    let events = with(
        drafted(),
        RequestEvent::RequestAssigned {
            authority_id: "de-ca".into(),
            handlers: ids(&["de-handler2"]),
            at: now(),
        },
    );
    given_in(allocating(), drafted())
        .when_async(issued(de_handler2(), RequestCommand::Send))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the request handlers assigned to this request may act on it",
        ));
    given_in(allocating(), events)
        .when_async(issued(de_handler(), RequestCommand::Send))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the request handlers assigned to this request may act on it",
        ));
}

#[tokio::test]
async fn an_authority_without_allocation_does_not_assign() {
    given(sent())
        .when_async(issued(fr_allocator(), assign(&["fr-handler"])))
        .await
        .then_expect_error(DomainError::forbidden(
            "the authority does not use allocation in PQ",
        ));
}

#[tokio::test]
async fn only_an_allocator_assigns() {
    given_in(allocating(), sent())
        .when_async(issued(fr_handler(), assign(&["fr-handler"])))
        .await
        .then_expect_error(DomainError::forbidden(
            "only an allocator in PQ of the requesting or the responding authority may assign \
             the request",
        ));
}

#[tokio::test]
async fn the_responding_allocator_waits_for_the_dispatch() {
    given_in(allocating(), drafted())
        .when_async(issued(fr_allocator(), assign(&["fr-handler"])))
        .await
        .then_expect_error(crate::request::unknown_request());
}

#[tokio::test]
async fn at_least_one_handler_is_assigned() {
    given_in(allocating(), sent())
        .when_async(issued(fr_allocator(), assign(&[])))
        .await
        .then_expect_error(DomainError::invalid("assign at least one request handler"));
}

#[tokio::test]
async fn only_request_handlers_of_the_allocators_authority_are_assigned() {
    given_in(allocating(), sent())
        .when_async(issued(fr_allocator(), assign(&["fr-viewer"])))
        .await
        .then_expect_error(DomainError::invalid(
            "fr-viewer is not an active request handler of the authority in PQ",
        ));
    given_in(allocating(), sent())
        .when_async(issued(fr_allocator(), assign(&["de-handler"])))
        .await
        .then_expect_error(DomainError::invalid(
            "de-handler is not an active request handler of the authority in PQ",
        ));
}

#[tokio::test]
async fn a_deactivated_handler_is_not_assigned() {
    let mut fr = with_flags(fr_ca(), &[Flag::Allocation]);
    fr.users.get_mut("fr-handler").unwrap().active = false;
    given_in(allocating().with_authority(fr), sent())
        .when_async(issued(fr_allocator(), assign(&["fr-handler"])))
        .await
        .then_expect_error(DomainError::invalid(
            "fr-handler is not an active request handler of the authority in PQ",
        ));
}

#[tokio::test]
async fn the_same_assignment_is_not_repeated() {
    given_in(allocating(), assigned_to_fr_handler2())
        .when_async(issued(fr_allocator(), assign(&["fr-handler2"])))
        .await
        .then_expect_error(DomainError::refused(
            "the request is already assigned to exactly these handlers",
        ));
}

#[tokio::test]
async fn a_closed_request_is_not_assigned() {
    given_in(allocating(), closed())
        .when_async(issued(fr_allocator(), assign(&["fr-handler"])))
        .await
        .then_expect_error(DomainError::refused("the request is closed"));
}
