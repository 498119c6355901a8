//! Given/when/then tests of the SubjectRequest aggregate: who records, carries out and closes
//! a data subject's request, and every refusal.

use super::*;
use crate::authority::testing::InMemoryDirectory;
use crate::authority::{AuthorityKind, AuthorityStatus, AuthoritySummary, UserRole, UserSummary};
use crate::reference::MemberState;
use crate::request::testing::InMemoryRequestServices;
use crate::sealed::A256GCM;
use chrono::{NaiveDate, TimeZone};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use std::collections::{BTreeMap, BTreeSet};

type Subject = SubjectRequest<InMemoryRequestServices>;

const ID: &str = "s1";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}
fn pq() -> LegislativeArea {
    LegislativeArea::parse("PQ").unwrap()
}
fn due() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
}

fn user(lda: bool, roles: &[UserRole]) -> UserSummary {
    UserSummary {
        local_data_administrator: lda,
        active: true,
        roles: BTreeMap::from([(pq(), roles.iter().copied().collect())]),
    }
}

/// `de-ca` (a participant): `de-lda` its local data administrator, `de-da` a data
/// administrator in PQ, `de-handler` a request handler. `it-ca` took no part: `it-lda`.
fn authority(id: &str, ms: &str, users: Vec<(&str, UserSummary)>) -> AuthoritySummary {
    AuthoritySummary {
        authority_id: id.into(),
        member_state: MemberState::parse(ms).unwrap(),
        kind: AuthorityKind::CompetentAuthority,
        region: None,
        coordinated_areas: BTreeSet::new(),
        status: AuthorityStatus::Validated,
        invited_by: None,
        validating_coordinator: None,
        areas: BTreeMap::new(),
        linked_authorities: BTreeSet::new(),
        users: users.into_iter().map(|(u, s)| (u.to_string(), s)).collect(),
    }
}

fn services_at(at: DateTime<Utc>) -> InMemoryRequestServices {
    InMemoryRequestServices::new(
        InMemoryDirectory::new()
            .at(at)
            .with_authority(authority(
                "de-ca",
                "DE",
                vec![
                    ("de-lda", user(true, &[])),
                    ("de-da", user(false, &[UserRole::DataAdministrator])),
                    ("de-handler", user(false, &[UserRole::RequestHandler])),
                ],
            ))
            .with_authority(authority("it-ca", "IT", vec![("it-lda", user(true, &[]))])),
    )
}

fn given(events: Vec<SubjectRequestEvent>) -> AggregateTestExecutor<Subject> {
    given_at(now(), events)
}
fn given_at(at: DateTime<Utc>, events: Vec<SubjectRequestEvent>) -> AggregateTestExecutor<Subject> {
    TestFramework::<Subject>::with(services_at(at)).given(events)
}
fn by(user: &str, authority: &str) -> Actor {
    Actor::User {
        user_id: user.into(),
        authority_id: authority.into(),
    }
}
fn lda() -> Actor {
    by("de-lda", "de-ca")
}
fn issued(actor: Actor, command: SubjectRequestCommand) -> Issued<SubjectRequestCommand> {
    Issued::new(actor, command)
}

fn sealed_under(key: &str) -> Sealed {
    Sealed {
        key_id: key.into(),
        alg: A256GCM.into(),
        nonce: "bm9uY2U=".into(),
        ciphertext: "Y3Q=".into(),
    }
}
fn sealed() -> Sealed {
    sealed_under(&subject_request_key_id(ID))
}
fn facts() -> ExchangeFacts {
    ExchangeFacts {
        exchange: "InformationRequest/r1".into(),
        area: pq(),
        participants: BTreeSet::from(["de-ca".to_string(), "fr-ca".to_string()]),
    }
}
fn record(subject: Sealed) -> SubjectRequestCommand {
    SubjectRequestCommand::Record {
        id: ID.into(),
        kind: SubjectRequestKind::Erasure,
        exchange: facts(),
        subject,
    }
}
fn recorded_by(user: &str) -> SubjectRequestEvent {
    SubjectRequestEvent::SubjectRequestRecorded {
        id: ID.into(),
        kind: SubjectRequestKind::Erasure,
        authority_id: "de-ca".into(),
        exchange: facts(),
        subject: sealed(),
        recorded_by: user.into(),
        due_on: due(),
        at: now(),
    }
}
fn recorded() -> Vec<SubjectRequestEvent> {
    vec![recorded_by("de-lda")]
}
fn carried_out() -> Vec<SubjectRequestEvent> {
    let mut e = recorded();
    e.push(SubjectRequestEvent::SubjectRequestCarriedOut {
        by: "de-lda".into(),
        at: now(),
    });
    e
}
fn closed() -> Vec<SubjectRequestEvent> {
    let mut e = carried_out();
    e.push(SubjectRequestEvent::SubjectRequestClosed {
        answer: sealed(),
        by: "de-lda".into(),
        at: now(),
    });
    e
}
fn close() -> SubjectRequestCommand {
    SubjectRequestCommand::Close {
        answer: Some(sealed()),
    }
}

#[tokio::test]
async fn a_local_data_administrator_records_a_request_due_in_30_days() {
    given(vec![])
        .when_async(issued(lda(), record(sealed())))
        .await
        .then_expect_events(recorded());
}

#[tokio::test]
async fn a_data_administrator_of_the_area_records_one_too() {
    given(vec![])
        .when_async(issued(by("de-da", "de-ca"), record(sealed())))
        .await
        .then_expect_events(vec![recorded_by("de-da")]);
}

#[tokio::test]
async fn a_user_without_the_role_does_not_record() {
    given(vec![])
        .when_async(issued(by("de-handler", "de-ca"), record(sealed())))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a data administrator of the authority records a data subject's request",
        ));
}

#[tokio::test]
async fn an_authority_that_took_no_part_holds_no_data() {
    given(vec![])
        .when_async(issued(by("it-lda", "it-ca"), record(sealed())))
        .await
        .then_expect_error(DomainError::forbidden(
            "the acting authority did not take part in the exchange: it holds no data of it",
        ));
}

#[tokio::test]
async fn the_subjects_identification_is_sealed_under_the_requests_own_key() {
    given(vec![])
        .when_async(issued(lda(), record(sealed_under("InformationRequest/r1"))))
        .await
        .then_expect_error(DomainError::invalid(
            "the subject's identification must be sealed under the data subject's request's \
             own key",
        ));
}

#[tokio::test]
async fn an_id_is_recorded_once() {
    given(recorded())
        .when_async(issued(lda(), record(sealed())))
        .await
        .then_expect_error(DomainError::refused(
            "the data subject's request already exists",
        ));
}

#[tokio::test]
async fn the_system_does_not_record_a_request() {
    given(vec![])
        .when_async(issued(Actor::system("seed"), record(sealed())))
        .await
        .then_expect_error(DomainError::forbidden("this command is issued by a user"));
}

#[tokio::test]
async fn carried_out_once_then_closed_with_the_answer() {
    given(recorded())
        .when_async(issued(lda(), SubjectRequestCommand::CarryOut))
        .await
        .then_expect_events(carried_out()[1..].to_vec());
    given(carried_out())
        .when_async(issued(lda(), SubjectRequestCommand::CarryOut))
        .await
        .then_expect_error(DomainError::refused(
            "the data subject's request was already carried out",
        ));
    given(carried_out())
        .when_async(issued(by("de-da", "de-ca"), close()))
        .await
        .then_expect_events(vec![SubjectRequestEvent::SubjectRequestClosed {
            answer: sealed(),
            by: "de-da".into(),
            at: now(),
        }]);
}

#[tokio::test]
async fn a_refused_request_is_closed_without_carrying_it_out() {
    given(recorded())
        .when_async(issued(lda(), close()))
        .await
        .then_expect_events(vec![closed()[2].clone()]);
}

#[tokio::test]
async fn the_answer_is_required_and_sealed_under_the_requests_own_key() {
    given(recorded())
        .when_async(issued(lda(), SubjectRequestCommand::Close { answer: None }))
        .await
        .then_expect_error(DomainError::invalid(
            "a data subject's request is closed with the answer given to the subject",
        ));
    given(recorded())
        .when_async(issued(
            lda(),
            SubjectRequestCommand::Close {
                answer: Some(sealed_under("SubjectRequest/other")),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the answer must be sealed under the data subject's request's own key",
        ));
}

#[tokio::test]
async fn a_closed_request_takes_nothing_more() {
    for command in [SubjectRequestCommand::CarryOut, close()] {
        given(closed())
            .when_async(issued(lda(), command))
            .await
            .then_expect_error(DomainError::refused(
                "the data subject's request is already closed",
            ));
    }
    for command in [
        SubjectRequestCommand::RecordDeadlineApproaching,
        SubjectRequestCommand::RecordOverdue,
    ] {
        given_at(now() + Duration::days(40), closed())
            .when_async(issued(Actor::system("scheduler"), command))
            .await
            .then_expect_error(DomainError::refused(
                "the data subject's request is already closed",
            ));
    }
}

#[tokio::test]
async fn another_authority_does_not_see_the_request() {
    given(recorded())
        .when_async(issued(
            by("it-lda", "it-ca"),
            SubjectRequestCommand::CarryOut,
        ))
        .await
        .then_expect_error(unknown_subject_request());
    given(vec![])
        .when_async(issued(lda(), SubjectRequestCommand::CarryOut))
        .await
        .then_expect_error(unknown_subject_request());
}

#[tokio::test]
async fn only_its_data_administrators_carry_out_and_close() {
    for command in [SubjectRequestCommand::CarryOut, close()] {
        given(recorded())
            .when_async(issued(by("de-handler", "de-ca"), command))
            .await
            .then_expect_error(DomainError::forbidden(
                "only a data administrator of the authority handles a data subject's request",
            ));
    }
}

#[tokio::test]
async fn the_reminder_comes_7_days_before_the_deadline_once() {
    let reminded = SubjectRequestEvent::SubjectRequestDeadlineNeared {
        authority_id: "de-ca".into(),
        recorded_by: "de-lda".into(),
        due_on: due(),
        at: now() + Duration::days(23),
    };
    given_at(now() + Duration::days(22), recorded())
        .when_async(issued(
            Actor::system("scheduler"),
            SubjectRequestCommand::RecordDeadlineApproaching,
        ))
        .await
        .then_expect_error(DomainError::refused("the deadline is not close yet"));
    given_at(now() + Duration::days(23), recorded())
        .when_async(issued(
            Actor::system("scheduler"),
            SubjectRequestCommand::RecordDeadlineApproaching,
        ))
        .await
        .then_expect_events(vec![reminded.clone()]);
    let mut events = recorded();
    events.push(reminded);
    given_at(now() + Duration::days(24), events)
        .when_async(issued(
            Actor::system("scheduler"),
            SubjectRequestCommand::RecordDeadlineApproaching,
        ))
        .await
        .then_expect_error(DomainError::refused("the reminder was already recorded"));
}

#[tokio::test]
async fn overdue_the_day_after_the_deadline_once() {
    let overdue = SubjectRequestEvent::SubjectRequestDeadlineMissed {
        authority_id: "de-ca".into(),
        recorded_by: "de-lda".into(),
        due_on: due(),
        at: now() + Duration::days(31),
    };
    given_at(now() + Duration::days(30), recorded())
        .when_async(issued(
            Actor::system("scheduler"),
            SubjectRequestCommand::RecordOverdue,
        ))
        .await
        .then_expect_error(DomainError::refused("the deadline has not passed"));
    given_at(now() + Duration::days(31), recorded())
        .when_async(issued(
            Actor::system("scheduler"),
            SubjectRequestCommand::RecordOverdue,
        ))
        .await
        .then_expect_events(vec![overdue.clone()]);
    let mut events = recorded();
    events.push(overdue);
    given_at(now() + Duration::days(32), events)
        .when_async(issued(
            Actor::system("scheduler"),
            SubjectRequestCommand::RecordOverdue,
        ))
        .await
        .then_expect_error(DomainError::refused("the overdue was already recorded"));
}

#[tokio::test]
async fn a_user_does_not_record_reminders() {
    given_at(now() + Duration::days(40), recorded())
        .when_async(issued(lda(), SubjectRequestCommand::RecordOverdue))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the scheduler records the reminders of a data subject's request",
        ));
}

#[test]
fn events_are_past_tense_and_versioned_and_carry_only_sealed_personal_data() {
    use cqrs_es::DomainEvent;
    let mut all = closed();
    all.push(SubjectRequestEvent::SubjectRequestDeadlineNeared {
        authority_id: "de-ca".into(),
        recorded_by: "de-lda".into(),
        due_on: due(),
        at: now(),
    });
    all.push(SubjectRequestEvent::SubjectRequestDeadlineMissed {
        authority_id: "de-ca".into(),
        recorded_by: "de-lda".into(),
        due_on: due(),
        at: now(),
    });
    all.push(SubjectRequestEvent::SubjectRectificationCarriedOut {
        corrections: corrections(),
        by: "de-lda".into(),
        at: now(),
    });
    for event in all {
        let t = event.event_type();
        assert!(
            t.ends_with("ed") || t.ends_with("Out"),
            "{t} is not in the past tense"
        );
        assert_eq!(event.event_version(), "1");
    }
    let json = serde_json::to_string(&closed()).unwrap();
    // The subject's identification and the answer travel only as sealed values.
    assert_eq!(json.matches("\"alg\":\"A256GCM\"").count(), 2);
}

fn rectification() -> Vec<SubjectRequestEvent> {
    let mut e = recorded();
    if let SubjectRequestEvent::SubjectRequestRecorded { kind, .. } = &mut e[0] {
        *kind = SubjectRequestKind::Rectification;
    }
    e
}
fn correction(field: CorrectedField, key: &str) -> Correction {
    Correction {
        field,
        value: sealed_under(key),
    }
}
fn rectify(corrections: Vec<Correction>) -> SubjectRequestCommand {
    SubjectRequestCommand::Rectify { corrections }
}
fn corrections() -> Vec<Correction> {
    vec![
        correction(CorrectedField::Subject, "InformationRequest/r1"),
        correction(CorrectedField::FreeText, "InformationRequest/r1"),
        correction(
            CorrectedField::Answer {
                question: "PQ-GEN-01".into(),
            },
            "InformationRequest/r1",
        ),
    ]
}

#[tokio::test]
async fn a_rectification_records_its_corrected_values_and_the_fold_keeps_them() {
    let event = SubjectRequestEvent::SubjectRectificationCarriedOut {
        corrections: corrections(),
        by: "de-lda".into(),
        at: now(),
    };
    given(rectification())
        .when_async(issued(lda(), rectify(corrections())))
        .await
        .then_expect_events(vec![event.clone()]);
    let mut r = Subject::default();
    for e in rectification().into_iter().chain([event]) {
        r.record(e);
    }
    let s = r.summary().unwrap();
    assert_eq!(s.status, SubjectRequestStatus::CarriedOut);
    assert_eq!(s.corrections, corrections());
}

#[tokio::test]
async fn a_rectification_is_carried_out_with_its_corrections_only() {
    given(rectification())
        .when_async(issued(lda(), SubjectRequestCommand::CarryOut))
        .await
        .then_expect_error(DomainError::invalid(
            "a rectification is carried out with the corrected values",
        ));
    given(rectification())
        .when_async(issued(lda(), rectify(vec![])))
        .await
        .then_expect_error(DomainError::invalid(
            "a rectification is carried out with the corrected values",
        ));
    given(recorded())
        .when_async(issued(lda(), rectify(corrections())))
        .await
        .then_expect_error(DomainError::invalid(
            "only a rectification is carried out with corrected values",
        ));
}

#[tokio::test]
async fn a_corrected_value_is_sealed_under_the_exchanges_key_and_given_once() {
    given(rectification())
        .when_async(issued(
            lda(),
            rectify(vec![correction(
                CorrectedField::Subject,
                &subject_request_key_id(ID),
            )]),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "a corrected value must be sealed under the exchange's key",
        ));
    given(rectification())
        .when_async(issued(
            lda(),
            rectify(vec![
                correction(CorrectedField::FreeText, "InformationRequest/r1"),
                correction(CorrectedField::FreeText, "InformationRequest/r1"),
            ]),
        ))
        .await
        .then_expect_error(DomainError::invalid("a field is corrected once"));
}

#[tokio::test]
async fn a_rectification_is_carried_out_once_by_its_data_administrators() {
    let mut done = rectification();
    done.push(SubjectRequestEvent::SubjectRectificationCarriedOut {
        corrections: corrections(),
        by: "de-lda".into(),
        at: now(),
    });
    given(done)
        .when_async(issued(lda(), rectify(corrections())))
        .await
        .then_expect_error(DomainError::refused(
            "the data subject's request was already carried out",
        ));
    given(rectification())
        .when_async(issued(by("de-handler", "de-ca"), rectify(corrections())))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a data administrator of the authority handles a data subject's request",
        ));
}

fn partial(key_id: &str, value_key: &str) -> PartialErasure {
    PartialErasure {
        person: crate::request::PersonOfRequest::Concerned("partner".into()),
        from_key: "InformationRequest/r1".into(),
        key_id: key_id.into(),
        values: vec![crate::request::ResealedValue::Person {
            person: crate::request::PersonOfRequest::Subject,
            identity: sealed_under(value_key),
        }],
    }
}

#[tokio::test]
async fn an_erasure_of_one_person_records_the_others_resealed_values_once() {
    let erasure = partial("InformationRequest/r1#2", "InformationRequest/r1#2");
    given(recorded())
        .when_async(issued(
            lda(),
            SubjectRequestCommand::CarryOutErasure {
                erasure: erasure.clone(),
            },
        ))
        .await
        .then_expect_events(vec![SubjectRequestEvent::SubjectErasureCarriedOut {
            erasure: erasure.clone(),
            by: "de-lda".into(),
            at: now(),
        }]);
    given(carried_out())
        .when_async(issued(
            lda(),
            SubjectRequestCommand::CarryOutErasure { erasure },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "the data subject's request was already carried out",
        ));
}

#[tokio::test]
async fn an_erasure_of_one_person_is_refused_under_a_wrong_key_or_for_another_kind() {
    for (key_id, value_key, why) in [
        (
            "InformationRequest/r1",
            "InformationRequest/r1",
            "the other persons' values are re-sealed under the exchange's next key",
        ),
        (
            "InformationRequest/r2#2",
            "InformationRequest/r2#2",
            "the other persons' values are re-sealed under the exchange's next key",
        ),
        (
            "InformationRequest/r1#2",
            "InformationRequest/r1",
            "a re-sealed value must be sealed under the exchange's next key",
        ),
    ] {
        given(recorded())
            .when_async(issued(
                lda(),
                SubjectRequestCommand::CarryOutErasure {
                    erasure: partial(key_id, value_key),
                },
            ))
            .await
            .then_expect_error(DomainError::invalid(why));
    }
    let mut access = recorded_by("de-lda");
    if let SubjectRequestEvent::SubjectRequestRecorded { kind, .. } = &mut access {
        *kind = SubjectRequestKind::Access;
    }
    given(vec![access])
        .when_async(issued(
            lda(),
            SubjectRequestCommand::CarryOutErasure {
                erasure: partial("InformationRequest/r1#2", "InformationRequest/r1#2"),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "only an erasure about an information request erases one person among several",
        ));
    given(recorded())
        .when_async(issued(
            by("de-handler", "de-ca"),
            SubjectRequestCommand::CarryOutErasure {
                erasure: partial("InformationRequest/r1#2", "InformationRequest/r1#2"),
            },
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a data administrator of the authority handles a data subject's request",
        ));
}

fn extend(months: u32, reason: &str) -> SubjectRequestCommand {
    SubjectRequestCommand::ExtendDeadline {
        months,
        reason: reason.into(),
    }
}
fn extended() -> SubjectRequestEvent {
    SubjectRequestEvent::SubjectRequestDeadlineExtended {
        previous_due_on: due(),
        due_on: NaiveDate::from_ymd_opt(2026, 5, 31).unwrap(),
        months: 2,
        reason: "many requests at once".into(),
        by: "de-lda".into(),
        at: now(),
    }
}

#[tokio::test]
async fn the_deadline_is_extended_by_up_to_two_months_with_a_reason_and_its_reminders_renew() {
    given(recorded())
        .when_async(issued(lda(), extend(2, "  many requests at once ")))
        .await
        .then_expect_events(vec![extended()]);
    let mut events = recorded();
    events.push(SubjectRequestEvent::SubjectRequestDeadlineNeared {
        authority_id: "de-ca".into(),
        recorded_by: "de-lda".into(),
        due_on: due(),
        at: now(),
    });
    events.push(extended());
    let mut r = SubjectRequest::<()>::default();
    for e in events {
        r.record(e);
    }
    let s = r.summary().unwrap();
    assert_eq!(s.due_on, NaiveDate::from_ymd_opt(2026, 5, 31).unwrap());
    assert!(
        s.extended && !s.reminded,
        "a reminder before the new deadline"
    );
}

#[tokio::test]
async fn an_extension_is_refused_twice_without_reason_too_long_late_closed_or_by_others() {
    let mut twice = recorded();
    twice.push(extended());
    given(twice)
        .when_async(issued(lda(), extend(1, "again")))
        .await
        .then_expect_error(DomainError::refused(
            "the deadline of a data subject's request is extended once",
        ));
    for reason in ["", "   "] {
        given(recorded())
            .when_async(issued(lda(), extend(1, reason)))
            .await
            .then_expect_error(DomainError::invalid(
                "an extension of the deadline needs the reason the subject is told",
            ));
    }
    given(recorded())
        .when_async(issued(lda(), extend(1, &"x".repeat(2001))))
        .await
        .then_expect_error(DomainError::invalid(
            "the reason is at most 2000 characters, without NUL",
        ));
    for months in [0, 3] {
        given(recorded())
            .when_async(issued(lda(), extend(months, "complex")))
            .await
            .then_expect_error(DomainError::invalid(
                "the deadline is extended by 1 to 2 months",
            ));
    }
    let late = Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap();
    given_at(late, recorded())
        .when_async(issued(lda(), extend(1, "complex")))
        .await
        .then_expect_error(DomainError::refused(
            "the deadline is extended only before it passed",
        ));
    given(closed())
        .when_async(issued(lda(), extend(1, "complex")))
        .await
        .then_expect_error(DomainError::refused(
            "the data subject's request is already closed",
        ));
    given(recorded())
        .when_async(issued(by("de-handler", "de-ca"), extend(1, "complex")))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a data administrator of the authority handles a data subject's request",
        ));
    given(recorded())
        .when_async(issued(by("it-lda", "it-ca"), extend(1, "complex")))
        .await
        .then_expect_error(unknown_subject_request());
}
