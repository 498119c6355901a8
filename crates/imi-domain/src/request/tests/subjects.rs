//! A data subject's request carried out on a request: only by the system (for a data
//! administrator whose request the SubjectRequest aggregate accepted), never after erasure.

use super::support::*;
use crate::error::DomainError;
use crate::request::*;
use crate::subject_request::{CorrectedField, Correction};

fn system() -> crate::actor::Actor {
    crate::actor::Actor::system("subject-requests")
}
fn rectify(subject: crate::sealed::Sealed) -> RequestCommand {
    rectify_all(vec![Correction {
        field: CorrectedField::Subject,
        value: subject,
    }])
}
fn rectify_all(corrections: Vec<Correction>) -> RequestCommand {
    RequestCommand::Rectify {
        subject_request: "s1".into(),
        corrections,
    }
}
fn block() -> RequestCommand {
    RequestCommand::BlockPersonalDataForSubject {
        subject_request: "s1".into(),
    }
}
fn erase() -> RequestCommand {
    RequestCommand::RecordPersonalDataErasedForSubject {
        subject_request: "s1".into(),
    }
}
fn erased() -> RequestEvent {
    RequestEvent::PersonalDataErasedForSubject {
        subject_request: "s1".into(),
        at: now(),
    }
}

#[tokio::test]
async fn the_subject_is_rectified_as_a_new_event_and_the_draft_shows_it() {
    given(sent())
        .when_async(issued(system(), rectify(sealed())))
        .await
        .then_expect_events(vec![RequestEvent::SubjectRectified {
            subject_request: "s1".into(),
            subject: sealed(),
            at: now(),
        }]);
    let mut replacement = sealed();
    replacement.ciphertext = "bmV3".into();
    let r = InformationRequest::<()>::from_events(with(
        sent(),
        RequestEvent::SubjectRectified {
            subject_request: "s1".into(),
            subject: replacement.clone(),
            at: now(),
        },
    ));
    assert_eq!(r.details().unwrap().draft.subject, replacement);
}

#[tokio::test]
async fn a_rectified_subject_is_sealed_under_the_requests_key() {
    given(sent())
        .when_async(issued(system(), rectify(foreign_sealed())))
        .await
        .then_expect_error(DomainError::invalid(
            "the corrected subject must be sealed under the request's own key",
        ));
}

#[tokio::test]
async fn a_user_does_not_carry_out_a_data_subjects_request_on_the_request() {
    for command in [rectify(sealed()), block(), erase()] {
        given(sent())
            .when_async(issued(de_handler(), command))
            .await
            .then_expect_error(DomainError::forbidden(
                "only the system carries out a data subject's request, for its data \
                 administrator",
            ));
    }
}

#[tokio::test]
async fn an_open_request_is_blocked_at_once_and_only_once() {
    given(sent())
        .when_async(issued(system(), block()))
        .await
        .then_expect_events(vec![RequestEvent::PersonalDataBlockedForSubject {
            subject_request: "s1".into(),
            at: now(),
        }]);
    let r = InformationRequest::<()>::from_events(with(
        sent(),
        RequestEvent::PersonalDataBlockedForSubject {
            subject_request: "s1".into(),
            at: now(),
        },
    ));
    assert!(r.summary().unwrap().personal_data_blocked());
    given(with(
        sent(),
        RequestEvent::PersonalDataBlocked { at: now() },
    ))
    .when_async(issued(system(), block()))
    .await
    .then_expect_error(DomainError::refused(
        "the personal data are already blocked",
    ));
}

#[tokio::test]
async fn after_erasure_nothing_more_is_carried_out() {
    given(sent())
        .when_async(issued(system(), erase()))
        .await
        .then_expect_events(vec![erased()]);
    let r = InformationRequest::<()>::from_events(with(sent(), erased()));
    assert!(r.summary().unwrap().personal_data_deleted());
    for command in [rectify(sealed()), block(), erase()] {
        given(with(sent(), erased()))
            .when_async(issued(system(), command))
            .await
            .then_expect_error(DomainError::refused(
                "the personal data of this request are already erased",
            ));
    }
}

#[tokio::test]
async fn the_free_text_and_answers_are_rectified_one_event_per_field() {
    let mut text = sealed();
    text.ciphertext = "dGV4dA==".into();
    let mut answer = sealed();
    answer.ciphertext = "YW5zd2Vy".into();
    let corrections = vec![
        Correction {
            field: CorrectedField::FreeText,
            value: text.clone(),
        },
        Correction {
            field: CorrectedField::Answer {
                question: "PQ-GEN-01".into(),
            },
            value: answer.clone(),
        },
    ];
    let events = vec![
        RequestEvent::FreeTextRectified {
            subject_request: "s1".into(),
            free_text: text.clone(),
            at: now(),
        },
        RequestEvent::AnswerRectified {
            subject_request: "s1".into(),
            question: "PQ-GEN-01".into(),
            answer: answer.clone(),
            at: now(),
        },
    ];
    given(answered())
        .when_async(issued(system(), rectify_all(corrections)))
        .await
        .then_expect_events(events.clone());
    let mut all = answered();
    all.extend(events);
    let r = InformationRequest::<()>::from_events(all);
    let d = r.details().unwrap();
    assert_eq!(d.draft.free_text, Some(text));
    assert_eq!(d.answers["PQ-GEN-01"], answer);
    assert_eq!(d.answers["PQ-GEN-02"], sealed(), "the other answer stays");
}

#[tokio::test]
async fn only_a_given_answer_is_rectified_under_the_requests_key() {
    let answer_to = |question: &str, value| Correction {
        field: CorrectedField::Answer {
            question: question.into(),
        },
        value,
    };
    given(answered())
        .when_async(issued(
            system(),
            rectify_all(vec![answer_to("PQ-GEN-09", sealed())]),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "question PQ-GEN-09 has no answer to rectify",
        ));
    given(answered())
        .when_async(issued(
            system(),
            rectify_all(vec![answer_to("PQ-GEN-01", foreign_sealed())]),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the corrected answer must be sealed under the request's own key",
        ));
    given(answered())
        .when_async(issued(system(), rectify_all(vec![])))
        .await
        .then_expect_error(DomainError::invalid(
            "a rectification is carried out with the corrected values",
        ));
}
