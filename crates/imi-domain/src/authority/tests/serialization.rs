//! Events are forever: their stored shape, names and version; snapshots taken before this
//! release still load; personal data is only ever sealed.

use super::support::*;
use crate::authority::*;
use cqrs_es::DomainEvent;
use serde_json::json;

/// One of each event, as the tests' histories produce them.
fn one_of_each() -> Vec<AuthorityEvent> {
    let mut events = nimic_history();
    events.extend(validated_ca());
    events.extend(dimic_history());
    let area = pq();
    let w = Workflow::Requests;
    events.extend([
        AuthorityEvent::InformalTitleSet {
            language: en(),
            title: "t".into(),
        },
        AuthorityEvent::InformalTitleRemoved { language: en() },
        AuthorityEvent::InvitationRenewed {
            renewed_by: "dimic-by".into(),
            code_digest: OTHER_CODE.into(),
            expires_at: expiry(),
        },
        AuthorityEvent::OfficialNameChanged {
            official_name: "n".into(),
        },
        AuthorityEvent::DescriptionChanged {
            description: Some("d".into()),
        },
        AuthorityEvent::ContactDetailsChanged {
            contact: ContactDetails::default(),
        },
        AuthorityEvent::ContactPersonChanged {
            contact_person: Some(sealed_for_authority("ca")),
        },
        AuthorityEvent::CompetencesChanged {
            area: area.clone(),
            keywords: [Keyword {
                list: KeywordList::PolicyAreas,
                code: "HEALTH".into(),
            }]
            .into(),
        },
        AuthorityEvent::ProfessionsChanged {
            area: area.clone(),
            professions: ids(&["doctor"]),
        },
        AuthorityEvent::ServiceActivitiesChanged {
            area: sd(),
            service_activities: ids(&["construction"]),
        },
        AuthorityEvent::AreaAccessRevoked { area: sd() },
        AuthorityEvent::WorkflowAccessGranted {
            area: area.clone(),
            workflow: Workflow::Alerts,
            role: WorkflowRole::AlertAuthority,
            linked_coordinators: ids(&["dimic-by"]),
        },
        AuthorityEvent::WorkflowAccessRevoked {
            area: area.clone(),
            workflow: Workflow::Alerts,
        },
        AuthorityEvent::WorkflowRoleChanged {
            area: area.clone(),
            workflow: w,
            role: WorkflowRole::RequestAuthority,
        },
        AuthorityEvent::AccessCoordinationHandedOver {
            area: area.clone(),
            from: "dimic-by".into(),
            to: "limic-pq".into(),
        },
        AuthorityEvent::FlagSet {
            area: area.clone(),
            workflow: w,
            flag: Flag::ApprovalOfNewRequests,
            enabled: true,
        },
        AuthorityEvent::CoordinatorLinked {
            area: area.clone(),
            workflow: w,
            coordinator_id: "limic-pq".into(),
        },
        AuthorityEvent::CoordinatorUnlinked {
            area: area.clone(),
            workflow: w,
            coordinator_id: "limic-pq".into(),
        },
        AuthorityEvent::AuthorityLinked {
            authority_id: "ca-other".into(),
        },
        AuthorityEvent::AuthorityUnlinked {
            authority_id: "ca-other".into(),
        },
        AuthorityEvent::UserRolesRevoked {
            user_id: "ca-user".into(),
            area: area.clone(),
            roles: roles(&[UserRole::RequestHandler]),
        },
        AuthorityEvent::LocalDataAdministratorAppointed {
            user_id: "ca-user".into(),
        },
        AuthorityEvent::LocalDataAdministratorDismissed {
            user_id: "ca-user".into(),
        },
        AuthorityEvent::PasswordReset {
            user_id: "ca-user".into(),
            reset_by_user: "ca-lda".into(),
            reset_by_authority: "ca".into(),
        },
        AuthorityEvent::UserDeactivated {
            user_id: "ca-user".into(),
        },
        AuthorityEvent::UserReactivated {
            user_id: "ca-user".into(),
        },
    ]);
    events
}

#[test]
fn every_event_round_trips_under_its_name_at_version_1() {
    let events = one_of_each();
    let names: std::collections::BTreeSet<String> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        names.len(),
        34,
        "one of each of the 34 event types: {names:?}"
    );
    for event in events {
        let json = serde_json::to_value(&event).unwrap();
        let tag: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(
            tag,
            vec![&event.event_type()],
            "externally tagged by its name"
        );
        assert_eq!(event.event_version(), "1");
        let back: AuthorityEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn the_first_events_keep_their_stored_shape() {
    let stored = json!({"NationalCoordinatorRegistered": {
        "member_state": "DE", "official_name": "BVA", "informal_titles": {"en": "NIMIC"}}});
    let event: AuthorityEvent = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(serde_json::to_value(&event).unwrap(), stored);
    let stored = json!({"UserRegistered": {"user_id": "u-1", "local_data_administrator": true,
        "identity": {"key": "User/u-1", "alg": "A256GCM", "nonce": "bg==", "ct": "Yw=="}}});
    let event: AuthorityEvent = serde_json::from_value(stored.clone()).unwrap();
    assert_eq!(serde_json::to_value(&event).unwrap(), stored);
    for stored in [
        json!({"InformalTitleSet": {"language": "fr", "title": "x"}}),
        json!({"InformalTitleRemoved": {"language": "fr"}}),
    ] {
        let event: AuthorityEvent = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), stored);
    }
}

#[test]
fn a_snapshot_taken_before_this_release_still_loads() {
    let old = json!({
        "registered": {"member_state": "DE", "kind": "NationalCoordinator", "official_name": "BVA"},
        "informal_titles": {"en": "NIMIC"},
        "users": {"u-1": {"local_data_administrator": true}}
    });
    let authority: Authority = serde_json::from_value(old).unwrap();
    let summary = authority.summary("nimic").unwrap();
    assert_eq!(summary.status, AuthorityStatus::Validated);
    assert!(summary.users["u-1"].active);
    assert_eq!(authority.official_name(), Some("BVA"));
    // And today's snapshot round-trips.
    let now = Authority::<()>::from_events(one_of_each());
    let json = serde_json::to_value(&now).unwrap();
    let back: Authority = serde_json::from_value(json).unwrap();
    assert_eq!(back, now);
}

#[test]
fn personal_data_is_only_ever_sealed() {
    // Users' identities, the contact person and the invitation's address are `Sealed`
    // values; the registration code is a digest. Nothing else in an event is personal.
    let mut invitation = serde_json::to_value(&invited_ca()[0]).unwrap();
    let fields = invitation["InvitationIssued"].as_object_mut().unwrap();
    assert_eq!(fields["contact_email"]["key"], "Authority/ca");
    assert_eq!(fields["code_digest"].as_str().unwrap().len(), 64);
    assert_eq!(authority_key_id("ca"), "Authority/ca");
    assert_eq!(user_key_id("u"), "User/u");
}

#[test]
fn the_store_can_run_the_aggregate_with_a_shared_lookup() {
    fn is_aggregate<A: cqrs_es::Aggregate<Services = S>, S>(_: &S) {}
    let shared: std::sync::Arc<dyn AuthorityServices> =
        std::sync::Arc::new(testing::InMemoryDirectory::new());
    is_aggregate::<Authority<std::sync::Arc<dyn AuthorityServices>>, _>(&shared);
    is_aggregate::<Authority, _>(&());
}
