//! Further persons concerned: named by the requesting handler while a draft; the erasure of
//! one person among several re-seals the others' values under the request's next key.

use super::support::*;
use crate::error::DomainError;
use crate::request::*;

fn name(person: &str) -> RequestCommand {
    RequestCommand::NamePersonConcerned {
        person: person.into(),
        identity: sealed(),
    }
}
fn named(person: &str) -> RequestEvent {
    RequestEvent::PersonConcernedNamed {
        person: person.into(),
        identity: sealed(),
        at: now(),
    }
}
fn partner() -> PersonOfRequest {
    PersonOfRequest::Concerned("partner".into())
}
fn next_key() -> String {
    format!("{}#2", request_key_id(ID))
}
fn system() -> crate::actor::Actor {
    crate::actor::Actor::system("subject-requests")
}
/// Erases the partner, the subject's identification re-sealed.
fn reseal(values: Vec<ResealedValue>) -> RequestCommand {
    RequestCommand::Reseal {
        subject_request: "s1".into(),
        erased: partner(),
        from_key: request_key_id(ID),
        key_id: next_key(),
        values,
    }
}
fn subject_kept() -> ResealedValue {
    ResealedValue::Person {
        person: PersonOfRequest::Subject,
        identity: sealed_under(&next_key()),
    }
}
fn with_partner(events: Vec<RequestEvent>) -> Vec<RequestEvent> {
    let mut all = drafted();
    all.push(named("partner"));
    all.extend(events.into_iter().skip(1));
    all
}

#[tokio::test]
async fn the_requesting_handler_names_a_further_person_in_the_draft() {
    given(drafted())
        .when_async(issued(de_handler(), name("partner")))
        .await
        .then_expect_events(vec![named("partner")]);
    let r = InformationRequest::<()>::from_events(with(drafted(), named("partner")));
    let details = r.details().unwrap();
    assert_eq!(details.persons_concerned["partner"], sealed());
    assert_eq!(details.data_key, request_key_id(ID));
}

#[tokio::test]
async fn a_further_person_is_refused_outside_the_draft_twice_badly_named_or_unsealed() {
    given(sent())
        .when_async(issued(de_handler(), name("partner")))
        .await
        .then_expect_error(DomainError::refused(
            "further persons concerned are named while the request is a draft",
        ));
    given(with(drafted(), named("partner")))
        .when_async(issued(de_handler(), name("partner")))
        .await
        .then_expect_error(DomainError::refused("person partner is already named"));
    for bad in ["", "Partner", "a b", &"x".repeat(41)] {
        given(drafted())
            .when_async(issued(de_handler(), name(bad)))
            .await
            .then_expect_error(DomainError::invalid(
                "a person's id is 1 to 40 lower-case letters, digits or dashes",
            ));
    }
    given(drafted())
        .when_async(issued(
            de_handler(),
            RequestCommand::NamePersonConcerned {
                person: "partner".into(),
                identity: foreign_sealed(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the person's identification must be sealed under the request's own key",
        ));
    let mut full = drafted();
    for i in 0..MAX_PERSONS_CONCERNED {
        full.push(named(&format!("p{i}")));
    }
    given(full)
        .when_async(issued(de_handler(), name("one-more")))
        .await
        .then_expect_error(DomainError::invalid(
            "a request names at most 10 further persons",
        ));
}

#[tokio::test]
async fn only_a_requesting_handler_names_a_further_person() {
    for actor in [fr_handler(), de_viewer(), scheduler()] {
        let outcome = given(drafted())
            .when_async(issued(actor.clone(), name("partner")))
            .await
            .inspect_result();
        assert!(
            matches!(
                outcome,
                Err(DomainError::Forbidden(_)) | Err(DomainError::NotFound(_))
            ),
            "{actor:?}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn erasing_one_person_reseals_the_others_under_the_next_key() {
    let events = with_partner(sent());
    let text = ResealedValue::FreeText {
        text: sealed_under(&next_key()),
    };
    given(events.clone())
        .when_async(issued(system(), reseal(vec![subject_kept(), text.clone()])))
        .await
        .then_expect_events(vec![RequestEvent::PersonalDataResealed {
            subject_request: "s1".into(),
            erased: partner(),
            from_key: request_key_id(ID),
            key_id: next_key(),
            values: vec![subject_kept(), text.clone()],
            at: now(),
        }]);
    let r = InformationRequest::<()>::from_events(with(
        events,
        RequestEvent::PersonalDataResealed {
            subject_request: "s1".into(),
            erased: partner(),
            from_key: request_key_id(ID),
            key_id: next_key(),
            values: vec![subject_kept(), text],
            at: now(),
        },
    ));
    let details = r.details().unwrap();
    assert!(details.persons_concerned.is_empty());
    assert_eq!(details.draft.subject, sealed_under(&next_key()));
    assert_eq!(details.draft.free_text, Some(sealed_under(&next_key())));
    assert_eq!(details.data_key, next_key());
    assert!(!r.summary().unwrap().personal_data_deleted());
}

#[tokio::test]
async fn a_resealing_is_refused_for_one_person_an_unknown_one_or_values_not_all_resealed() {
    given(sent())
        .when_async(issued(system(), reseal(vec![])))
        .await
        .then_expect_error(DomainError::invalid(
            "the request holds no personal data of that person",
        ));
    let only_subject = RequestCommand::Reseal {
        subject_request: "s1".into(),
        erased: PersonOfRequest::Subject,
        from_key: request_key_id(ID),
        key_id: next_key(),
        values: vec![],
    };
    given(sent())
        .when_async(issued(system(), only_subject))
        .await
        .then_expect_error(DomainError::refused(
            "the request is about one person: their erasure erases its personal data",
        ));
    let events = with_partner(sent());
    given(events.clone())
        .when_async(issued(system(), reseal(vec![])))
        .await
        .then_expect_error(DomainError::invalid(
            "every other person's identification is re-sealed, and only theirs",
        ));
    let partner_kept = ResealedValue::Person {
        person: partner(),
        identity: sealed_under(&next_key()),
    };
    given(events.clone())
        .when_async(issued(system(), reseal(vec![subject_kept(), partner_kept])))
        .await
        .then_expect_error(DomainError::invalid(
            "every other person's identification is re-sealed, and only theirs",
        ));
    given(events.clone())
        .when_async(issued(
            system(),
            reseal(vec![subject_kept(), subject_kept()]),
        ))
        .await
        .then_expect_error(DomainError::invalid("a value is re-sealed once"));
    let old_key = ResealedValue::Person {
        person: PersonOfRequest::Subject,
        identity: sealed(),
    };
    given(events.clone())
        .when_async(issued(system(), reseal(vec![old_key])))
        .await
        .then_expect_error(DomainError::invalid(
            "a re-sealed value must be sealed under the request's next data key",
        ));
    let unanswered = ResealedValue::Answer {
        question: "PQ-GEN-01".into(),
        answer: sealed_under(&next_key()),
    };
    given(events.clone())
        .when_async(issued(system(), reseal(vec![subject_kept(), unanswered])))
        .await
        .then_expect_error(DomainError::invalid(
            "question PQ-GEN-01 has no answer to keep",
        ));
    let skipping = RequestCommand::Reseal {
        subject_request: "s1".into(),
        erased: partner(),
        from_key: request_key_id(ID),
        key_id: format!("{}#3", request_key_id(ID)),
        values: vec![],
    };
    given(events.clone())
        .when_async(issued(system(), skipping))
        .await
        .then_expect_error(DomainError::invalid(
            "the values are re-sealed under the request's next data key",
        ));
    let stale = RequestCommand::Reseal {
        subject_request: "s1".into(),
        erased: partner(),
        from_key: next_key(),
        key_id: next_key(),
        values: vec![],
    };
    given(events.clone())
        .when_async(issued(system(), stale))
        .await
        .then_expect_error(DomainError::refused(
            "the request's data key changed since the values were re-sealed",
        ));
    given(events)
        .when_async(issued(de_handler(), reseal(vec![subject_kept()])))
        .await
        .then_expect_error(DomainError::forbidden(
            "only the system carries out a data subject's request, for its data \
             administrator",
        ));
}

#[tokio::test]
async fn after_resealing_new_values_go_under_the_next_key() {
    let resealed = RequestEvent::PersonalDataResealed {
        subject_request: "s1".into(),
        erased: partner(),
        from_key: request_key_id(ID),
        key_id: next_key(),
        values: vec![subject_kept()],
        at: now(),
    };
    let events = with(with_partner(drafted()), resealed);
    given(events)
        .when_async(issued(
            de_handler(),
            RequestCommand::NamePersonConcerned {
                person: "employer".into(),
                identity: sealed_under(&next_key()),
            },
        ))
        .await
        .then_expect_events(vec![RequestEvent::PersonConcernedNamed {
            person: "employer".into(),
            identity: sealed_under(&next_key()),
            at: now(),
        }]);
}
