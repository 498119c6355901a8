//! The authority's data: general data (its LDAs, its validating coordinator's data
//! administrators) and data per area (its LDAs, its access coordinator's data administrators).

use super::support::*;
use crate::authority::*;
use crate::error::DomainError;
use crate::reference::Language;
use std::collections::BTreeSet;

const GENERAL_DATA_DENIED: &str = "only a local data administrator of this authority or a data \
                                   administrator of its validating coordinator may edit its data";

fn title(language: Language, title: Option<&str>) -> AuthorityCommand {
    AuthorityCommand::SetInformalTitle {
        language,
        title: title.map(str::to_string),
    }
}

fn with_title() -> Vec<AuthorityEvent> {
    let mut events = validated_ca();
    events.push(AuthorityEvent::InformalTitleSet {
        language: en(),
        title: "State office".into(),
    });
    events
}

#[tokio::test]
async fn the_lda_sets_an_informal_title() {
    let fr = Language::parse("fr").unwrap();
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            title(fr.clone(), Some(" Office régional ")),
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::InformalTitleSet {
            language: fr,
            title: "Office régional".into(),
        }]);
}

#[tokio::test]
async fn the_national_coordinators_lda_sets_its_informal_title() {
    given(nimic_history())
        .when_async(issued(nimic_da(), title(en(), Some("German NIMIC"))))
        .await
        .then_expect_events(vec![AuthorityEvent::InformalTitleSet {
            language: en(),
            title: "German NIMIC".into(),
        }]);
}

#[tokio::test]
async fn setting_the_same_title_again_records_nothing() {
    given(with_title())
        .when_async(issued(ca_lda(), title(en(), Some("State office"))))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn the_lda_removes_an_informal_title_and_removing_none_records_nothing() {
    given(with_title())
        .when_async(issued(ca_lda(), title(en(), None)))
        .await
        .then_expect_events(vec![AuthorityEvent::InformalTitleRemoved {
            language: en(),
        }]);
    given(validated_ca())
        .when_async(issued(ca_lda(), title(en(), None)))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn the_validating_coordinator_edits_general_data() {
    given(validated_ca())
        .when_async(issued(dimic_da(), title(en(), Some("Regional office"))))
        .await
        .then_expect_events(vec![AuthorityEvent::InformalTitleSet {
            language: en(),
            title: "Regional office".into(),
        }]);
}

#[tokio::test]
async fn others_may_not_edit_general_data() {
    for by in [
        ca_user(),
        dimic_lda_only(),
        limic_da(),
        nimic_da(),
        other_lda(),
        fr_da(),
    ] {
        given(validated_ca())
            .when_async(issued(by, title(en(), Some("Hijacked"))))
            .await
            .then_expect_error(DomainError::forbidden(GENERAL_DATA_DENIED));
    }
}

#[tokio::test]
async fn a_stranger_may_not_set_the_national_coordinators_title() {
    given(nimic_history())
        .when_async(issued(
            user("u-9", "ca-other"),
            title(en(), Some("Hijacked")),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "the acting user does not belong to the acting authority",
        ));
}

#[tokio::test]
async fn the_system_may_not_edit_an_authoritys_data() {
    given(validated_ca())
        .when_async(issued(system(), title(en(), Some("x"))))
        .await
        .then_expect_error(DomainError::forbidden("this command is issued by a user"));
}

#[tokio::test]
async fn a_title_for_an_unregistered_authority_is_not_found() {
    given(vec![])
        .when_async(issued(ca_lda(), title(en(), Some("x"))))
        .await
        .then_expect_error(DomainError::not_found("no such authority"));
}

#[tokio::test]
async fn the_official_name_is_changed_by_the_lda_or_the_validating_coordinator() {
    for by in [ca_lda(), dimic_da()] {
        given(validated_ca())
            .when_async(issued(
                by,
                AuthorityCommand::SetOfficialName {
                    official_name: " Landesamt für Anerkennung ".into(),
                },
            ))
            .await
            .then_expect_events(vec![AuthorityEvent::OfficialNameChanged {
                official_name: "Landesamt für Anerkennung".into(),
            }]);
    }
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetOfficialName {
                official_name: "Landesamt".into(),
            },
        ))
        .await
        .then_expect_events(vec![]);
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetOfficialName {
                official_name: "".into(),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid("official name must not be empty"));
    given(validated_ca())
        .when_async(issued(
            limic_da(),
            AuthorityCommand::SetOfficialName {
                official_name: "x".into(),
            },
        ))
        .await
        .then_expect_error(DomainError::forbidden(GENERAL_DATA_DENIED));
}

#[tokio::test]
async fn the_description_is_set_trimmed_and_removed() {
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetDescription {
                description: Some(" Recognition of qualifications ".into()),
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::DescriptionChanged {
            description: Some("Recognition of qualifications".into()),
        }]);
    let mut events = validated_ca();
    events.push(AuthorityEvent::DescriptionChanged {
        description: Some("x".into()),
    });
    given(events)
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetDescription {
                description: Some("  ".into()),
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::DescriptionChanged {
            description: None,
        }]);
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetDescription {
                description: Some("x".repeat(MAX_DESCRIPTION_CHARS + 1)),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(format!(
            "the description is longer than {MAX_DESCRIPTION_CHARS} characters"
        )));
}

#[tokio::test]
async fn official_contact_details_are_set_in_the_clear() {
    let contact = ContactDetails {
        phone: Some(" +49 89 1234 ".into()),
        email: Some("poststelle@landesamt.example.de".into()),
        website: Some("".into()),
        ..ContactDetails::default()
    };
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetContactDetails { contact },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::ContactDetailsChanged {
            contact: ContactDetails {
                phone: Some("+49 89 1234".into()),
                email: Some("poststelle@landesamt.example.de".into()),
                ..ContactDetails::default()
            },
        }]);
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetContactDetails {
                contact: ContactDetails::default(),
            },
        ))
        .await
        .then_expect_events(vec![]);
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetContactDetails {
                contact: ContactDetails {
                    email: Some("@nowhere".into()),
                    ..ContactDetails::default()
                },
            },
        ))
        .await
        .then_expect_error(DomainError::invalid("the e-mail address is malformed"));
}

#[tokio::test]
async fn the_contact_person_is_personal_data_sealed_under_the_authoritys_key() {
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetContactPerson {
                contact_person: Some(sealed_for_authority("ca")),
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::ContactPersonChanged {
            contact_person: Some(sealed_for_authority("ca")),
        }]);
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetContactPerson {
                contact_person: Some(sealed_for("ca-lda")),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the contact person must be sealed under the authority's own key",
        ));
    let mut events = validated_ca();
    events.push(AuthorityEvent::ContactPersonChanged {
        contact_person: Some(sealed_for_authority("ca")),
    });
    given(events)
        .when_async(issued(
            dimic_da(),
            AuthorityCommand::SetContactPerson {
                contact_person: None,
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::ContactPersonChanged {
            contact_person: None,
        }]);
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetContactPerson {
                contact_person: None,
            },
        ))
        .await
        .then_expect_events(vec![]);
}

// --- Per area ---------------------------------------------------------------------------

fn keyword(list: KeywordList, code: &str) -> Keyword {
    Keyword {
        list,
        code: code.into(),
    }
}

fn competences(keywords: &[Keyword]) -> AuthorityCommand {
    AuthorityCommand::SetCompetences {
        area: pq(),
        keywords: keywords.iter().cloned().collect(),
    }
}

#[tokio::test]
async fn the_lda_or_the_access_coordinator_sets_the_areas_of_competence() {
    let both = [
        keyword(KeywordList::EconomicActivities, "M69"),
        keyword(KeywordList::PolicyAreas, "HEALTH"),
    ];
    for by in [ca_lda(), dimic_da()] {
        given(validated_ca())
            .when_async(issued(by, competences(&both)))
            .await
            .then_expect_events(vec![AuthorityEvent::CompetencesChanged {
                area: pq(),
                keywords: both.iter().cloned().collect(),
            }]);
    }
    given(validated_ca())
        .when_async(issued(ca_lda(), competences(&[])))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn only_keywords_of_the_two_lists_are_competences() {
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            competences(&[keyword(KeywordList::PolicyAreas, "M69")]),
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "\"M69\" is not an entry of the PolicyAreas keyword list",
        ));
}

#[tokio::test]
async fn area_data_is_kept_by_the_access_coordinator_not_the_validating_one() {
    let mut events = validated_ca();
    events.push(AuthorityEvent::AccessCoordinationHandedOver {
        area: pq(),
        from: "dimic-by".into(),
        to: "limic-pq".into(),
    });
    given(events.clone())
        .when_async(issued(
            dimic_da(),
            competences(&[keyword(KeywordList::PolicyAreas, "HEALTH")]),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a local data administrator of this authority or a data administrator of its \
             access coordinator for PQ may edit its data in PQ",
        ));
    given(events)
        .when_async(issued(
            limic_da(),
            competences(&[keyword(KeywordList::PolicyAreas, "HEALTH")]),
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::CompetencesChanged {
            area: pq(),
            keywords: BTreeSet::from([keyword(KeywordList::PolicyAreas, "HEALTH")]),
        }]);
}

#[tokio::test]
async fn area_data_needs_access_to_the_area() {
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetCompetences {
                area: sd(),
                keywords: BTreeSet::new(),
            },
        ))
        .await
        .then_expect_error(DomainError::refused("the authority has no access to SD"));
}

#[tokio::test]
async fn professions_come_from_the_areas_reference_list() {
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetProfessions {
                area: pq(),
                professions: ids(&["doctor", " architect "]),
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::ProfessionsChanged {
            area: pq(),
            professions: ids(&["architect", "doctor"]),
        }]);
    given(validated_ca())
        .when_async(issued(
            ca_lda(),
            AuthorityCommand::SetProfessions {
                area: pq(),
                professions: ids(&["construction"]),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "\"construction\" is not a profession of PQ",
        ));
}

#[tokio::test]
async fn service_activities_come_from_the_areas_reference_list() {
    let mut events = nimic_history();
    events.push(AuthorityEvent::AreaAccessGranted {
        area: sd(),
        access_coordinator: "nimic".into(),
        workflows: workflows(&[(
            Workflow::Requests,
            WorkflowRole::RequestCoordinator,
            &["nimic"],
        )]),
    });
    given(events.clone())
        .when_async(issued(
            nimic_da(),
            AuthorityCommand::SetServiceActivities {
                area: sd(),
                service_activities: ids(&["construction"]),
            },
        ))
        .await
        .then_expect_events(vec![AuthorityEvent::ServiceActivitiesChanged {
            area: sd(),
            service_activities: ids(&["construction"]),
        }]);
    given(events)
        .when_async(issued(
            nimic_da(),
            AuthorityCommand::SetServiceActivities {
                area: pq(),
                service_activities: ids(&["construction"]),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "\"construction\" is not a service activity of PQ",
        ));
}
