//! Partial and full replies, their approval by the responding coordinator, and additional
//! information.

use super::support::*;
use crate::authority::Flag;
use crate::error::DomainError;
use crate::request::*;

fn partial(questions: &[&str]) -> RequestCommand {
    RequestCommand::ReplyPartially {
        answers: answers(questions),
        attachments: vec![],
    }
}
fn full(questions: &[&str]) -> RequestCommand {
    RequestCommand::Reply {
        answers: answers(questions),
        attachments: vec![attachment('b')],
    }
}

#[tokio::test]
async fn a_partial_reply_answers_some_questions() {
    given(accepted())
        .when_async(issued(fr_handler(), partial(&["PQ-GEN-01"])))
        .await
        .then_expect_events(vec![RequestEvent::PartialReplySent {
            answers: answers(&["PQ-GEN-01"]),
            attachments: vec![],
            at: now(),
        }]);
}

#[tokio::test]
async fn the_full_reply_answers_the_rest() {
    given(partially_answered())
        .when_async(issued(fr_handler(), full(&["PQ-GEN-02"])))
        .await
        .then_expect_events(vec![RequestEvent::FullReplySent {
            answers: answers(&["PQ-GEN-02"]),
            attachments: vec![attachment('b')],
            at: now(),
        }]);
}

#[test]
fn replies_move_the_status() {
    let partially = Subject::from_events(partially_answered())
        .summary()
        .unwrap();
    assert_eq!(partially.status, RequestStatus::PartiallyAnswered);
    assert_eq!(partially.dates.fully_answered_at, None);
    let fully = Subject::from_events(answered()).summary().unwrap();
    assert_eq!(fully.status, RequestStatus::Answered);
    assert_eq!(fully.dates.fully_answered_at, Some(now()));
}

#[tokio::test]
async fn a_request_is_accepted_before_it_is_answered() {
    given(sent())
        .when_async(issued(fr_handler(), partial(&["PQ-GEN-01"])))
        .await
        .then_expect_error(DomainError::refused(
            "the request is accepted before it is answered",
        ));
}

#[tokio::test]
async fn after_the_full_reply_a_reply_waits_for_a_request_for_additional_information() {
    given(answered())
        .when_async(issued(fr_handler(), full(&["PQ-GEN-01", "PQ-GEN-02"])))
        .await
        .then_expect_error(DomainError::refused(
            "the full reply was sent: the responding authority replies again only when \
             additional information is asked",
        ));
}

#[tokio::test]
async fn a_reply_answers_at_least_one_question() {
    given(accepted())
        .when_async(issued(fr_handler(), partial(&[])))
        .await
        .then_expect_error(DomainError::invalid(
            "a reply answers at least one question",
        ));
}

#[tokio::test]
async fn a_reply_answers_only_the_requests_questions() {
    given(accepted())
        .when_async(issued(fr_handler(), partial(&["PQ-GEN-03"])))
        .await
        .then_expect_error(DomainError::invalid(
            "PQ-GEN-03 is not a question of this request",
        ));
}

#[tokio::test]
async fn answers_are_sealed_under_the_requests_key() {
    given(accepted())
        .when_async(issued(
            fr_handler(),
            RequestCommand::ReplyPartially {
                answers: [("PQ-GEN-01".to_string(), foreign_sealed())].into(),
                attachments: vec![],
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "an answer must be sealed under the request's own key",
        ));
}

#[tokio::test]
async fn a_replys_attachments_are_checked() {
    let mut a = attachment('b');
    a.media_type = "text/html".into();
    given(accepted())
        .when_async(issued(
            fr_handler(),
            RequestCommand::ReplyPartially {
                answers: answers(&["PQ-GEN-01"]),
                attachments: vec![a],
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "attachments of type \"text/html\" are not accepted",
        ));
}

#[tokio::test]
async fn a_partial_reply_leaves_a_question_open() {
    given(accepted())
        .when_async(issued(fr_handler(), partial(&["PQ-GEN-01", "PQ-GEN-02"])))
        .await
        .then_expect_error(DomainError::refused(
            "this reply answers every question: send it as the full reply",
        ));
}

#[tokio::test]
async fn a_full_reply_answers_every_question() {
    given(accepted())
        .when_async(issued(fr_handler(), full(&["PQ-GEN-01"])))
        .await
        .then_expect_error(DomainError::refused(
            "a full reply answers every question; unanswered: PQ-GEN-02",
        ));
}

#[tokio::test]
async fn the_requesting_authority_does_not_reply() {
    given(accepted())
        .when_async(issued(de_handler(), partial(&["PQ-GEN-01"])))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the responding authority may take this step",
        ));
}

// --- Approval of responses --------------------------------------------------------------

fn with_reply_approval() -> crate::request::testing::InMemoryRequestServices {
    services().with_authority(with_flags(fr_ca(), &[Flag::ApprovalOfResponses]))
}

fn pending_full_reply() -> Vec<RequestEvent> {
    with(
        accepted(),
        RequestEvent::ReplySubmittedForApproval {
            full: true,
            answers: answers(&["PQ-GEN-01", "PQ-GEN-02"]),
            attachments: vec![],
            coordinator: "fr-rc".into(),
            at: now(),
        },
    )
}

#[tokio::test]
async fn with_approval_a_reply_goes_to_the_responding_coordinator() {
    given_in(with_reply_approval(), accepted())
        .when_async(issued(fr_handler(), partial(&["PQ-GEN-01"])))
        .await
        .then_expect_events(vec![RequestEvent::ReplySubmittedForApproval {
            full: false,
            answers: answers(&["PQ-GEN-01"]),
            attachments: vec![],
            coordinator: "fr-rc".into(),
            at: now(),
        }]);
}

#[tokio::test]
async fn the_responding_coordinator_approves_and_the_reply_is_sent() {
    given(pending_full_reply())
        .when_async(issued(fr_rc_handler(), RequestCommand::ApproveReply))
        .await
        .then_expect_events(vec![
            RequestEvent::ReplyApproved {
                coordinator: "fr-rc".into(),
                at: now(),
            },
            RequestEvent::FullReplySent {
                answers: answers(&["PQ-GEN-01", "PQ-GEN-02"]),
                attachments: vec![],
                at: now(),
            },
        ]);
}

#[tokio::test]
async fn the_requesting_coordinator_does_not_approve_replies() {
    given(pending_full_reply())
        .when_async(issued(de_rc_handler(), RequestCommand::ApproveReply))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a request handler in PQ of the request coordinator chosen for this request \
             may approve or send it back",
        ));
}

#[tokio::test]
async fn no_reply_to_approve() {
    given(accepted())
        .when_async(issued(fr_rc_handler(), RequestCommand::ApproveReply))
        .await
        .then_expect_error(DomainError::refused("no reply awaits approval"));
}

#[tokio::test]
async fn no_second_reply_while_one_awaits_approval() {
    given_in(with_reply_approval(), pending_full_reply())
        .when_async(issued(fr_handler(), partial(&["PQ-GEN-01"])))
        .await
        .then_expect_error(DomainError::refused(
            "a reply awaits the coordinator's approval",
        ));
}

#[tokio::test]
async fn the_responding_coordinator_sends_a_reply_back() {
    given(pending_full_reply())
        .when_async(issued(
            fr_rc_handler(),
            RequestCommand::SendBackReply {
                reason: "answer 2 incomplete".into(),
            },
        ))
        .await
        .then_expect_events(vec![RequestEvent::ReplySentBack {
            reason: "answer 2 incomplete".into(),
            at: now(),
        }]);
}

#[test]
fn a_reply_sent_back_is_gone() {
    let events = with(
        pending_full_reply(),
        RequestEvent::ReplySentBack {
            reason: "r".into(),
            at: now(),
        },
    );
    let summary = Subject::from_events(events).summary().unwrap();
    assert!(!summary.reply_awaiting_approval);
    assert!(summary.reply_approval);
    assert_eq!(summary.status, RequestStatus::Accepted);
}

#[tokio::test]
async fn no_reply_to_send_back() {
    given(accepted())
        .when_async(issued(
            fr_rc_handler(),
            RequestCommand::SendBackReply { reason: "r".into() },
        ))
        .await
        .then_expect_error(DomainError::refused("no reply awaits approval"));
}

#[tokio::test]
async fn sending_a_reply_back_needs_a_reason() {
    given(pending_full_reply())
        .when_async(issued(
            fr_rc_handler(),
            RequestCommand::SendBackReply { reason: "".into() },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the reason for sending the reply back is required",
        ));
}

// --- Additional information -------------------------------------------------------------

fn ask(questions: &[&str]) -> RequestCommand {
    RequestCommand::RequestAdditionalInformation {
        justification: sealed(),
        questions: ids(questions),
    }
}

#[tokio::test]
async fn the_requesting_authority_asks_for_additional_information() {
    given(answered())
        .when_async(issued(de_handler(), ask(&["PQ-GEN-02"])))
        .await
        .then_expect_events(vec![RequestEvent::AdditionalInformationRequested {
            justification: sealed(),
            questions: ids(&["PQ-GEN-02"]),
            at: now(),
        }]);
}

#[tokio::test]
async fn additional_information_asks_no_new_questions() {
    given(answered())
        .when_async(issued(de_handler(), ask(&["PQ-GEN-03"])))
        .await
        .then_expect_error(DomainError::invalid(
            "PQ-GEN-03 is not a question of this request: a request for additional \
             information asks no new questions",
        ));
}

#[tokio::test]
async fn additional_information_needs_a_sealed_justification() {
    given(answered())
        .when_async(issued(
            de_handler(),
            RequestCommand::RequestAdditionalInformation {
                justification: foreign_sealed(),
                questions: ids(&[]),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the justification must be sealed under the request's own key",
        ));
}

#[tokio::test]
async fn additional_information_follows_the_full_reply() {
    given(partially_answered())
        .when_async(issued(de_handler(), ask(&["PQ-GEN-01"])))
        .await
        .then_expect_error(DomainError::refused(
            "additional information is asked once the full reply is in",
        ));
}

#[tokio::test]
async fn the_responding_authority_replies_with_the_clarification() {
    given(additional_information_requested())
        .when_async(issued(fr_handler(), full(&["PQ-GEN-02"])))
        .await
        .then_expect_events(vec![RequestEvent::FullReplySent {
            answers: answers(&["PQ-GEN-02"]),
            attachments: vec![attachment('b')],
            at: now(),
        }]);
}

#[tokio::test]
async fn the_responding_authority_insists_on_its_reply() {
    given(additional_information_requested())
        .when_async(issued(
            fr_handler(),
            RequestCommand::MaintainReply {
                comment: Some(sealed()),
            },
        ))
        .await
        .then_expect_events(vec![RequestEvent::ReplyMaintained {
            comment: Some(sealed()),
            at: now(),
        }]);
}

#[tokio::test]
async fn a_reply_is_maintained_only_when_additional_information_was_asked() {
    given(answered())
        .when_async(issued(
            fr_handler(),
            RequestCommand::MaintainReply { comment: None },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "a reply is maintained only when additional information was asked",
        ));
}

#[tokio::test]
async fn a_reply_is_not_maintained_while_another_awaits_approval() {
    let events = with(
        additional_information_requested(),
        RequestEvent::ReplySubmittedForApproval {
            full: true,
            answers: answers(&["PQ-GEN-02"]),
            attachments: vec![],
            coordinator: "fr-rc".into(),
            at: now(),
        },
    );
    given(events)
        .when_async(issued(
            fr_handler(),
            RequestCommand::MaintainReply { comment: None },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "a reply awaits the coordinator's approval",
        ));
}

#[tokio::test]
async fn the_comment_on_a_maintained_reply_is_sealed() {
    given(additional_information_requested())
        .when_async(issued(
            fr_handler(),
            RequestCommand::MaintainReply {
                comment: Some(foreign_sealed()),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the comment must be sealed under the request's own key",
        ));
}
