//! The referral: both request coordinators, where they take part, give opinions through
//! their referral handlers.

use super::support::*;
use crate::error::DomainError;
use crate::request::*;

#[tokio::test]
async fn the_requesting_authority_opens_a_referral_when_the_reply_is_maintained() {
    given(maintained())
        .when_async(issued(de_handler(), RequestCommand::OpenReferral))
        .await
        .then_expect_events(vec![RequestEvent::ReferralOpened {
            requesting_coordinator: "de-rc".into(),
            responding_coordinator: "fr-rc".into(),
            at: now(),
        }]);
}

#[tokio::test]
async fn a_referral_needs_a_maintained_reply() {
    given(answered())
        .when_async(issued(de_handler(), RequestCommand::OpenReferral))
        .await
        .then_expect_error(DomainError::refused(
            "a referral is opened when the responding authority insists on its reply",
        ));
}

#[tokio::test]
async fn a_referral_is_opened_once() {
    given(in_referral())
        .when_async(issued(de_handler(), RequestCommand::OpenReferral))
        .await
        .then_expect_error(DomainError::refused(
            "a referral was already opened for this request",
        ));
}

fn decide(participates: bool) -> RequestCommand {
    RequestCommand::DecideReferralParticipation { participates }
}
fn opinion() -> RequestCommand {
    RequestCommand::GiveReferralOpinion {
        opinion: sealed(),
        satisfactory: false,
    }
}
fn decided(events: Vec<RequestEvent>, coordinator: &str, participates: bool) -> Vec<RequestEvent> {
    with(
        events,
        RequestEvent::ReferralParticipationDecided {
            coordinator: coordinator.into(),
            participates,
            at: now(),
        },
    )
}

#[tokio::test]
async fn a_referral_handler_decides_that_its_coordinator_takes_part() {
    given(in_referral())
        .when_async(issued(de_rc_referee(), decide(true)))
        .await
        .then_expect_events(vec![RequestEvent::ReferralParticipationDecided {
            coordinator: "de-rc".into(),
            participates: true,
            at: now(),
        }]);
}

#[tokio::test]
async fn a_coordinator_decides_once() {
    given(decided(in_referral(), "de-rc", true))
        .when_async(issued(de_rc_referee(), decide(false)))
        .await
        .then_expect_error(DomainError::refused(
            "the coordinator already decided whether it takes part",
        ));
}

#[tokio::test]
async fn only_referral_handlers_of_the_two_coordinators_take_part() {
    given(in_referral())
        .when_async(issued(de_rc_handler(), decide(true)))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a referral handler in PQ of one of the two request coordinators may take \
             part in the referral",
        ));
}

#[tokio::test]
async fn no_decision_without_a_referral() {
    given(maintained())
        .when_async(issued(de_rc_referee(), decide(true)))
        .await
        .then_expect_error(DomainError::refused("no referral is in progress"));
}

#[tokio::test]
async fn a_participating_coordinator_gives_its_opinion() {
    given(decided(in_referral(), "de-rc", true))
        .when_async(issued(de_rc_referee(), opinion()))
        .await
        .then_expect_events(vec![RequestEvent::ReferralOpinionGiven {
            coordinator: "de-rc".into(),
            opinion: sealed(),
            satisfactory: false,
            at: now(),
        }]);
}

#[tokio::test]
async fn an_opinion_follows_the_decision_to_take_part() {
    given(decided(in_referral(), "de-rc", false))
        .when_async(issued(de_rc_referee(), opinion()))
        .await
        .then_expect_error(DomainError::refused(
            "the coordinator gives an opinion only once it decided to take part",
        ));
}

#[tokio::test]
async fn an_opinion_is_given_once() {
    let events = with(
        decided(in_referral(), "de-rc", true),
        RequestEvent::ReferralOpinionGiven {
            coordinator: "de-rc".into(),
            opinion: sealed(),
            satisfactory: true,
            at: now(),
        },
    );
    given(events)
        .when_async(issued(de_rc_referee(), opinion()))
        .await
        .then_expect_error(DomainError::refused(
            "the coordinator already gave its opinion",
        ));
}

#[tokio::test]
async fn an_opinion_is_sealed() {
    given(decided(in_referral(), "de-rc", true))
        .when_async(issued(
            de_rc_referee(),
            RequestCommand::GiveReferralOpinion {
                opinion: foreign_sealed(),
                satisfactory: true,
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the opinion must be sealed under the request's own key",
        ));
}

#[tokio::test]
async fn the_last_opinion_concludes_the_referral() {
    let events = decided(decided(in_referral(), "de-rc", false), "fr-rc", true);
    given(events)
        .when_async(issued(fr_rc_referee(), opinion()))
        .await
        .then_expect_events(vec![
            RequestEvent::ReferralOpinionGiven {
                coordinator: "fr-rc".into(),
                opinion: sealed(),
                satisfactory: false,
                at: now(),
            },
            RequestEvent::ReferralConcluded { at: now() },
        ]);
}

#[tokio::test]
async fn the_last_refusal_to_take_part_concludes_the_referral() {
    given(decided(in_referral(), "de-rc", false))
        .when_async(issued(fr_rc_referee(), decide(false)))
        .await
        .then_expect_events(vec![
            RequestEvent::ReferralParticipationDecided {
                coordinator: "fr-rc".into(),
                participates: false,
                at: now(),
            },
            RequestEvent::ReferralConcluded { at: now() },
        ]);
}

#[test]
fn a_concluded_referral_returns_the_request_to_answered() {
    let events = with(
        decided(decided(in_referral(), "de-rc", false), "fr-rc", false),
        RequestEvent::ReferralConcluded { at: now() },
    );
    let summary = Subject::from_events(events).summary().unwrap();
    assert_eq!(summary.status, RequestStatus::Answered);
    assert!(summary.referral.unwrap().concluded);
}
