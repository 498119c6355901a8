//! Given/when/then tests of the Authority aggregate, refusals included.

use super::*;
use crate::sealed::Sealed;
use cqrs_es::test::TestFramework;

type Fixture = TestFramework<Authority>;

fn sealed_for(user_id: &str) -> Sealed {
    Sealed {
        key_id: user_key_id(user_id),
        alg: crate::sealed::A256GCM.to_string(),
        nonce: "bm9uY2U=".into(),
        ciphertext: "Y3Q=".into(),
    }
}

fn de() -> MemberState {
    MemberState::parse("DE").unwrap()
}
fn en() -> Language {
    Language::parse("en").unwrap()
}
fn lda() -> Actor {
    Actor::User {
        user_id: "u-1".into(),
        authority_id: "a-1".into(),
    }
}
fn system() -> Actor {
    Actor::system("seed")
}

fn register() -> AuthorityCommand {
    AuthorityCommand::RegisterNationalCoordinator {
        member_state: de(),
        official_name: " Bundesverwaltungsamt ".into(),
        informal_titles: BTreeMap::from([(en(), "German NIMIC".into())]),
        first_user: NewUser {
            user_id: "u-1".into(),
            identity: sealed_for("u-1"),
        },
    }
}

fn registered() -> Vec<AuthorityEvent> {
    vec![
        AuthorityEvent::NationalCoordinatorRegistered {
            member_state: de(),
            official_name: "Bundesverwaltungsamt".into(),
            informal_titles: BTreeMap::from([(en(), "German NIMIC".into())]),
        },
        AuthorityEvent::UserRegistered {
            user_id: "u-1".into(),
            identity: sealed_for("u-1"),
            local_data_administrator: true,
        },
    ]
}

#[test]
fn the_system_registers_a_national_coordinator_whose_first_user_is_lda() {
    Fixture::with(())
        .given_no_previous_events()
        .when(Issued::new(system(), register()))
        .then_expect_events(registered());
}

#[test]
fn a_user_may_not_register_a_national_coordinator() {
    Fixture::with(())
        .given_no_previous_events()
        .when(Issued::new(lda(), register()))
        .then_expect_error(DomainError::forbidden(
            "national coordinators are registered from reference data only",
        ));
}

#[test]
fn an_authority_is_registered_once() {
    Fixture::with(())
        .given(registered())
        .when(Issued::new(system(), register()))
        .then_expect_error(DomainError::refused("this authority is already registered"));
}

#[test]
fn an_empty_official_name_is_refused() {
    let mut cmd = register();
    if let AuthorityCommand::RegisterNationalCoordinator { official_name, .. } = &mut cmd {
        *official_name = "  ".into();
    }
    Fixture::with(())
        .given_no_previous_events()
        .when(Issued::new(system(), cmd))
        .then_expect_error(DomainError::invalid("official name must not be empty"));
}

#[test]
fn an_overlong_informal_title_is_refused() {
    let mut cmd = register();
    if let AuthorityCommand::RegisterNationalCoordinator {
        informal_titles, ..
    } = &mut cmd
    {
        informal_titles.insert(en(), "x".repeat(MAX_NAME_CHARS + 1));
    }
    Fixture::with(())
        .given_no_previous_events()
        .when(Issued::new(system(), cmd))
        .then_expect_error(DomainError::invalid(format!(
            "informal title is longer than {MAX_NAME_CHARS} characters"
        )));
}

#[test]
fn a_first_user_without_id_is_refused() {
    let mut cmd = register();
    if let AuthorityCommand::RegisterNationalCoordinator { first_user, .. } = &mut cmd {
        first_user.user_id = "".into();
    }
    Fixture::with(())
        .given_no_previous_events()
        .when(Issued::new(system(), cmd))
        .then_expect_error(DomainError::invalid("the first user needs an id"));
}

#[test]
fn an_identity_sealed_under_another_key_is_refused() {
    let mut cmd = register();
    if let AuthorityCommand::RegisterNationalCoordinator { first_user, .. } = &mut cmd {
        first_user.identity = sealed_for("someone-else");
    }
    Fixture::with(())
        .given_no_previous_events()
        .when(Issued::new(system(), cmd))
        .then_expect_error(DomainError::invalid(
            "a user's identity must be sealed under that user's own key",
        ));
}

#[test]
fn the_lda_sets_an_informal_title() {
    let fr = Language::parse("fr").unwrap();
    Fixture::with(())
        .given(registered())
        .when(Issued::new(
            lda(),
            AuthorityCommand::SetInformalTitle {
                language: fr.clone(),
                title: Some(" Coordinateur national ".into()),
            },
        ))
        .then_expect_events(vec![AuthorityEvent::InformalTitleSet {
            language: fr,
            title: "Coordinateur national".into(),
        }]);
}

#[test]
fn setting_the_same_title_again_records_nothing() {
    Fixture::with(())
        .given(registered())
        .when(Issued::new(
            lda(),
            AuthorityCommand::SetInformalTitle {
                language: en(),
                title: Some("German NIMIC".into()),
            },
        ))
        .then_expect_events(vec![]);
}

#[test]
fn the_lda_removes_an_informal_title() {
    Fixture::with(())
        .given(registered())
        .when(Issued::new(
            lda(),
            AuthorityCommand::SetInformalTitle {
                language: en(),
                title: None,
            },
        ))
        .then_expect_events(vec![AuthorityEvent::InformalTitleRemoved { language: en() }]);
}

#[test]
fn a_user_who_is_not_lda_may_not_set_a_title() {
    let stranger = Actor::User {
        user_id: "u-9".into(),
        authority_id: "a-2".into(),
    };
    Fixture::with(())
        .given(registered())
        .when(Issued::new(
            stranger,
            AuthorityCommand::SetInformalTitle {
                language: en(),
                title: Some("Hijacked".into()),
            },
        ))
        .then_expect_error(DomainError::forbidden(
            "only a local data administrator of this authority may edit its data",
        ));
}

#[test]
fn the_system_may_not_edit_an_authoritys_data() {
    Fixture::with(())
        .given(registered())
        .when(Issued::new(
            system(),
            AuthorityCommand::SetInformalTitle {
                language: en(),
                title: Some("x".into()),
            },
        ))
        .then_expect_error(DomainError::forbidden(
            "only a local data administrator of this authority may edit its data",
        ));
}

#[test]
fn a_title_for_an_unregistered_authority_is_not_found() {
    Fixture::with(())
        .given_no_previous_events()
        .when(Issued::new(
            lda(),
            AuthorityCommand::SetInformalTitle {
                language: en(),
                title: Some("x".into()),
            },
        ))
        .then_expect_error(DomainError::not_found("no such authority"));
}
