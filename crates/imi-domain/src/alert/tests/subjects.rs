//! A data subject's request carried out on an alert: only by the system (for a data
//! administrator whose request the SubjectRequest aggregate accepted), never after erasure.

use super::support::*;
use crate::alert::*;
use crate::error::DomainError;
use crate::subject_request::{CorrectedField, Correction};

fn correction(field: CorrectedField, value: crate::sealed::Sealed) -> Correction {
    Correction { field, value }
}
fn rectify(corrections: Vec<Correction>) -> AlertCommand {
    AlertCommand::RectifyForSubject {
        subject_request: "s1".into(),
        corrections,
    }
}
fn block() -> AlertCommand {
    AlertCommand::BlockPersonalDataForSubject {
        subject_request: "s1".into(),
    }
}
fn erase() -> AlertCommand {
    AlertCommand::RecordPersonalDataErasedForSubject {
        subject_request: "s1".into(),
    }
}
fn erased() -> AlertEvent {
    AlertEvent::PersonalDataErasedForSubject {
        subject_request: "s1".into(),
        at: now(),
    }
}

#[tokio::test]
async fn the_person_and_the_description_are_rectified_one_event_per_field() {
    let corrections = vec![
        correction(CorrectedField::Subject, sealed("corrected provider")),
        correction(CorrectedField::FreeText, sealed("corrected activity")),
    ];
    let events = vec![
        AlertEvent::PersonRectified {
            subject_request: "s1".into(),
            person: sealed("corrected provider"),
            at: now(),
        },
        AlertEvent::DescriptionRectified {
            subject_request: "s1".into(),
            text: sealed("corrected activity"),
            at: now(),
        },
    ];
    given(disseminated())
        .when_async(issued(system(), rectify(corrections)))
        .await
        .then_expect_events(events.clone());
    let mut all = disseminated();
    all.extend(events);
    let alert = Alert::<()>::from_events(all);
    let Some(AlertContent::Services(c)) = alert.content() else {
        panic!("an SD alert")
    };
    assert_eq!(c.service_provider, sealed("corrected provider"));
    assert_eq!(c.dangerous_activity, sealed("corrected activity"));
    assert_eq!(c.attachments, vec![sealed("report.pdf")], "the rest stays");
}

#[tokio::test]
async fn a_pq_alerts_professional_and_details_are_rectified() {
    let events = with(
        drafted_with("PQ", pq_content()),
        AlertEvent::PersonRectified {
            subject_request: "s1".into(),
            person: sealed("corrected professional"),
            at: now(),
        },
    );
    let events = with(
        events,
        AlertEvent::DescriptionRectified {
            subject_request: "s1".into(),
            text: sealed("corrected details"),
            at: now(),
        },
    );
    let alert = Alert::<()>::from_events(events);
    let Some(AlertContent::ProfessionalQualifications(p)) = alert.content() else {
        panic!("a PQ alert")
    };
    assert_eq!(p.professional, sealed("corrected professional"));
    assert_eq!(p.details, Some(sealed("corrected details")));
}

#[tokio::test]
async fn a_rectification_names_fields_of_the_alert_sealed_under_its_key() {
    given(disseminated())
        .when_async(issued(system(), rectify(vec![])))
        .await
        .then_expect_error(DomainError::invalid(
            "a rectification is carried out with the corrected values",
        ));
    let answer = CorrectedField::Answer {
        question: "q".into(),
    };
    given(disseminated())
        .when_async(issued(
            system(),
            rectify(vec![correction(answer, sealed("x"))]),
        ))
        .await
        .then_expect_error(DomainError::invalid("an alert has no answers to rectify"));
    given(disseminated())
        .when_async(issued(
            system(),
            rectify(vec![correction(CorrectedField::Subject, foreign_sealed())]),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the corrected person must be sealed under the alert's own key",
        ));
}

#[tokio::test]
async fn a_user_does_not_carry_out_a_data_subjects_request_on_the_alert() {
    for command in [rectify(vec![]), block(), erase()] {
        given(disseminated())
            .when_async(issued(de_handler(), command))
            .await
            .then_expect_error(DomainError::forbidden(
                "only the system carries out a data subject's request, for its data \
                 administrator",
            ));
    }
}

#[tokio::test]
async fn an_alert_is_blocked_at_once_and_only_once() {
    let blocked = AlertEvent::PersonalDataBlockedForSubject {
        subject_request: "s1".into(),
        at: now(),
    };
    given(disseminated())
        .when_async(issued(system(), block()))
        .await
        .then_expect_events(vec![blocked.clone()]);
    let alert = Alert::<()>::from_events(with(disseminated(), blocked.clone()));
    assert!(alert.summary().unwrap().personal_data_blocked_at.is_some());
    given(with(disseminated(), blocked))
        .when_async(issued(system(), block()))
        .await
        .then_expect_error(DomainError::refused(
            "the personal data are already blocked",
        ));
}

#[tokio::test]
async fn after_erasure_nothing_more_is_carried_out_on_the_alert() {
    given(disseminated())
        .when_async(issued(system(), erase()))
        .await
        .then_expect_events(vec![erased()]);
    let alert = Alert::<()>::from_events(with(disseminated(), erased()));
    assert!(alert.summary().unwrap().personal_data_deleted_at.is_some());
    for command in [
        rectify(vec![correction(CorrectedField::Subject, sealed("x"))]),
        block(),
        erase(),
    ] {
        given(with(disseminated(), erased()))
            .when_async(issued(system(), command))
            .await
            .then_expect_error(DomainError::refused(
                "the personal data of this alert are already erased",
            ));
    }
    given(vec![])
        .when_async(issued(system(), block()))
        .await
        .then_expect_error(unknown_alert());
}
