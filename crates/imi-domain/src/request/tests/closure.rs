//! Formal closure, withdrawal and rating.

use super::support::*;
use crate::error::DomainError;
use crate::request::*;

#[tokio::test]
async fn the_requesting_authority_closes_a_fully_answered_request() {
    given(answered())
        .when_async(issued(de_handler(), RequestCommand::Close))
        .await
        .then_expect_events(vec![RequestEvent::RequestClosed { at: now() }]);
}

#[tokio::test]
async fn a_request_in_referral_is_closed_too() {
    given(in_referral())
        .when_async(issued(de_handler(), RequestCommand::Close))
        .await
        .then_expect_events(vec![RequestEvent::RequestClosed { at: now() }]);
}

#[tokio::test]
async fn a_request_is_closed_only_when_every_question_is_answered() {
    given(partially_answered())
        .when_async(issued(de_handler(), RequestCommand::Close))
        .await
        .then_expect_error(DomainError::refused(
            "the request is closed only when every question is answered; unanswered: PQ-GEN-02",
        ));
}

#[tokio::test]
async fn a_draft_is_not_closed() {
    given(drafted())
        .when_async(issued(de_handler(), RequestCommand::Close))
        .await
        .then_expect_error(DomainError::refused("the request was not sent"));
}

#[tokio::test]
async fn a_request_is_closed_once() {
    given(closed())
        .when_async(issued(de_handler(), RequestCommand::Close))
        .await
        .then_expect_error(DomainError::refused("the request is closed"));
}

#[tokio::test]
async fn the_responding_authority_does_not_close() {
    given(answered())
        .when_async(issued(fr_handler(), RequestCommand::Close))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the requesting authority may take this step",
        ));
}

fn withdraw(reason: &str) -> RequestCommand {
    RequestCommand::Withdraw {
        reason: reason.into(),
    }
}

#[tokio::test]
async fn the_requesting_authority_withdraws_a_request_at_any_point_before_closure() {
    for events in [
        drafted(),
        sent(),
        accepted(),
        partially_answered(),
        in_referral(),
    ] {
        given(events)
            .when_async(issued(de_handler(), withdraw("the applicant withdrew")))
            .await
            .then_expect_events(vec![RequestEvent::RequestWithdrawn {
                reason: "the applicant withdrew".into(),
                at: now(),
            }]);
    }
}

#[tokio::test]
async fn a_closed_request_is_not_withdrawn() {
    given(closed())
        .when_async(issued(de_handler(), withdraw("late")))
        .await
        .then_expect_error(DomainError::refused("the request is closed"));
}

#[tokio::test]
async fn a_request_is_withdrawn_once() {
    given(withdrawn())
        .when_async(issued(de_handler(), withdraw("again")))
        .await
        .then_expect_error(DomainError::refused("the request was withdrawn"));
}

#[tokio::test]
async fn withdrawing_needs_a_reason() {
    given(sent())
        .when_async(issued(de_handler(), withdraw(" ")))
        .await
        .then_expect_error(DomainError::invalid(
            "the reason for withdrawing is required",
        ));
}

#[tokio::test]
async fn the_requesting_authority_rates_the_reply() {
    given(closed())
        .when_async(issued(de_handler(), rate(4, 2)))
        .await
        .then_expect_events(vec![RequestEvent::ReplyRated {
            timeliness: 4,
            effort: 2,
            at: now(),
        }]);
}

fn rate(timeliness: u8, effort: u8) -> RequestCommand {
    RequestCommand::RateReply { timeliness, effort }
}

#[tokio::test]
async fn each_answer_of_a_rating_is_from_one_to_five() {
    for (timeliness, effort, what) in [
        (0, 3, "timeliness"),
        (6, 3, "timeliness"),
        (3, 0, "effort"),
        (3, 6, "effort"),
    ] {
        given(answered())
            .when_async(issued(de_handler(), rate(timeliness, effort)))
            .await
            .then_expect_error(DomainError::invalid(format!(
                "a rating of {what} is from 1 to 5"
            )));
    }
}

#[tokio::test]
async fn only_a_full_reply_is_rated() {
    given(partially_answered())
        .when_async(issued(de_handler(), rate(3, 3)))
        .await
        .then_expect_error(DomainError::refused("only a full reply is rated"));
}

#[tokio::test]
async fn a_reply_is_rated_once() {
    let events = with(
        answered(),
        RequestEvent::ReplyRated {
            timeliness: 5,
            effort: 5,
            at: now(),
        },
    );
    given(events)
        .when_async(issued(de_handler(), rate(3, 3)))
        .await
        .then_expect_error(DomainError::refused("the reply was already rated"));
}
