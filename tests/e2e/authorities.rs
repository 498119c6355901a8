//! Authorities, end to end over HTTP: Germany's national coordinator (a data administrator in
//! PQ and PW) invites a competent authority for PQ requests; the authority registers itself
//! with the code (no token), the coordinator validates it, grants it PW, sets an approval flag
//! and links the PQ legislative area coordinator; the authority's local data administrator
//! registers a user and gives them a role; and the authority is found through the directory
//! in French and in English.

use crate::harness::{start, Service};
use serde_json::{json, Value};

const LOGIN: &str = "mutation($login: String!, $password: String!) {
  login(login: $login, password: $password) { token }
}";

const TREE: &str = "query($ms: String!, $id: ID!) {
  coordinationTree(memberState: $ms) {
    root { id }
    children { edges { node { authority { id } links { relation area workflow } } } }
  }
  coordinationChildren(coordinatorId: \"limic-de-pq\", relation: LINKED_COORDINATOR) {
    edges { node { authority { id } links { relation area workflow role } } }
  }
  coordinationAncestors(authorityId: $id) {
    ancestors { authority { id } depth }
    links { authorityId coordinatorId relation }
  }
}";

const USERS: &str = "query($id: ID!) {
  authorityUsers(authorityId: $id) {
    edges { node { id erased name login localDataAdministrator active roles { area roles } } }
    pageInfo { hasNextPage }
  }
}";

const FIND: &str = "query($text: String, $language: String) {
  authorities(text: $text, memberState: \"DE\", language: $language, first: 10) {
    edges { node { id kind officialName informalTitle { text language fallback } } }
  }
}";

/// Runs a mutation `field` and returns its payload; panics on any error.
pub async fn mutate(
    service: &Service,
    token: Option<&str>,
    field: &str,
    input_type: &str,
    selection: &str,
    input: Value,
) -> Value {
    let query =
        format!("mutation($input: {input_type}!) {{ {field}(input: $input) {{ {selection} }} }}");
    let answer = service
        .graphql(token, None, &query, json!({ "input": input }))
        .await;
    assert!(answer["errors"].is_null(), "{field}: {answer}");
    answer["data"][field].clone()
}

/// The registration code mailed to `address` (waits for the mail).
pub async fn mailed_code(service: &Service, address: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(mail) = service.smtp.to(address).last() {
            let body = mail.body();
            let line = body
                .lines()
                .find(|l| l.to_lowercase().contains("code") && l.contains(':'))
                .unwrap_or_else(|| panic!("no code in the mail: {body}"));
            return line.rsplit(':').next().unwrap().trim().to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mail to {address}: {:?}",
            service.smtp.received()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub async fn sign_in(service: &Service, login: &str, password: &str) -> String {
    let answer = service
        .graphql(
            None,
            None,
            LOGIN,
            json!({ "login": login, "password": password }),
        )
        .await;
    answer["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token for {login}: {answer}"))
        .to_string()
}

pub fn workflow(role: &str, linked: &[&str]) -> Value {
    json!({ "workflow": "REQUESTS", "role": role, "linkedCoordinators": linked })
}

#[tokio::test]
async fn a_national_coordinator_invites_an_authority_that_registers_validates_and_is_found() {
    let service = start().await;
    let de = service
        .seed_national_coordinator("DE", "Bundesministerium für Wirtschaft")
        .await;
    let nimic = sign_in(&service, &de.login, &de.password).await;
    let nimic_token = Some(nimic.as_str());

    // The coordinator's LDA becomes a data administrator in PQ and PW; the coordinator
    // gives itself both areas as request coordinator.
    for area in ["PQ", "PW"] {
        mutate(
            &service,
            nimic_token,
            "grantUserRoles",
            "UserRolesInput",
            "position",
            json!({ "authorityId": de.authority_id, "userId": de.user_id, "area": area,
                    "roles": ["DATA_ADMINISTRATOR"] }),
        )
        .await;
        mutate(
            &service,
            nimic_token,
            "grantAreaAccess",
            "GrantAreaAccessInput",
            "position",
            json!({ "authorityId": de.authority_id, "area": area,
                    "workflows": [workflow("REQUEST_COORDINATOR", &["nimic-de"])] }),
        )
        .await;
    }
    // It registers the PQ legislative area coordinator directly.
    mutate(
        &service,
        nimic_token,
        "registerAuthority",
        "RegisterAuthorityInput",
        "position userId",
        json!({
            "authorityId": "limic-de-pq",
            "kind": "LEGISLATIVE_AREA_COORDINATOR",
            "coordinatedAreas": ["PQ"],
            "access": [{ "area": "PQ",
                         "workflows": [workflow("REQUEST_COORDINATOR", &["limic-de-pq"])] }],
            "data": { "officialName": "Zentralstelle für ausländisches Bildungswesen" },
            "firstUser": { "login": "de.limic.pq", "password": "limic-pq-password",
                           "name": "Lena Koch", "email": "lena.koch@kmk.example.de" }
        }),
    )
    .await;

    // The invitation: PQ requests, linked to the national coordinator.
    let invited = mutate(
        &service,
        nimic_token,
        "inviteAuthority",
        "InviteAuthorityInput",
        "position",
        json!({
            "authorityId": "de-blaek",
            "kind": "COMPETENT_AUTHORITY",
            "region": "DE-BY",
            "access": [{ "area": "PQ",
                         "workflows": [workflow("REQUEST_AUTHORITY", &["nimic-de"])] }],
            "contactEmail": "imi@blaek.example.de"
        }),
    )
    .await;
    assert!(invited.get("registrationCode").is_none());
    // The code arrives by mail, in German (the authority's Member State), and only there.
    let code = mailed_code(&service, "imi@blaek.example.de").await;
    let code = code.as_str();

    // Self-registration, without a token.
    let registered = mutate(
        &service,
        None,
        "registerWithInvitation",
        "RegisterWithInvitationInput",
        "position userId",
        json!({
            "authorityId": "de-blaek",
            "registrationCode": code,
            "data": {
                "officialName": "Bayerische Landesärztekammer",
                "informalTitles": [
                    { "language": "en", "text": "Bavarian Chamber of Physicians" },
                    { "language": "fr", "text": "Ordre des médecins de Bavière" }
                ],
                "description": "Registers physicians in Bavaria",
                "contact": { "city": "München", "website": "https://blaek.example.de" },
                "contactPerson": "Dr. Anna Huber"
            },
            "firstUser": { "login": "blaek.lda", "password": "blaek-lda-password",
                           "name": "Anna Huber", "email": "anna.huber@blaek.example.de" }
        }),
    )
    .await;
    assert!(registered["userId"].is_string());
    // Not validated yet: the directory does not list it.
    let before = service
        .graphql(nimic_token, None, FIND, json!({ "text": "Bavière" }))
        .await;
    assert_eq!(
        before["data"]["authorities"]["edges"],
        json!([]),
        "{before}"
    );

    // The coordinator validates it, grants PW, sets a flag and links the LIMIC.
    mutate(
        &service,
        nimic_token,
        "validateAuthority",
        "AuthorityInput",
        "position waited",
        json!({ "authorityId": "de-blaek" }),
    )
    .await;
    mutate(
        &service,
        nimic_token,
        "grantAreaAccess",
        "GrantAreaAccessInput",
        "position",
        json!({ "authorityId": "de-blaek", "area": "PW",
                "workflows": [workflow("REQUEST_AUTHORITY", &["nimic-de"])] }),
    )
    .await;
    mutate(
        &service,
        nimic_token,
        "setFlag",
        "SetFlagInput",
        "position",
        json!({ "authorityId": "de-blaek", "area": "PQ", "workflow": "REQUESTS",
                "flag": "APPROVAL_OF_NEW_REQUESTS", "enabled": true }),
    )
    .await;
    mutate(
        &service,
        nimic_token,
        "linkCoordinator",
        "CoordinatorLinkInput",
        "position",
        json!({ "authorityId": "de-blaek", "area": "PQ", "workflow": "REQUESTS",
                "coordinatorId": "limic-de-pq", "waitFor": ["coordination", "authority_directory"] }),
    )
    .await;

    // The coordination tree: down from the national coordinator, up from the authority.
    let tree = service
        .graphql(
            nimic_token,
            None,
            TREE,
            json!({ "ms": "DE", "id": "de-blaek" }),
        )
        .await;
    assert!(tree["errors"].is_null(), "{tree}");
    assert_eq!(tree["data"]["coordinationTree"]["root"]["id"], "nimic-de");
    let children: Vec<&str> = tree["data"]["coordinationTree"]["children"]["edges"]
        .as_array()
        .expect("children")
        .iter()
        .map(|e| e["node"]["authority"]["id"].as_str().unwrap())
        .collect();
    assert!(children.contains(&"de-blaek"), "{tree}");
    assert!(children.contains(&"limic-de-pq"), "{tree}");
    let limic_children = &tree["data"]["coordinationChildren"]["edges"];
    assert_eq!(
        limic_children[0]["node"]["authority"]["id"], "de-blaek",
        "{tree}"
    );
    assert_eq!(
        limic_children[0]["node"]["links"][0]["relation"],
        "LINKED_COORDINATOR"
    );
    let ancestors: Vec<&str> = tree["data"]["coordinationAncestors"]["ancestors"]
        .as_array()
        .expect("ancestors")
        .iter()
        .map(|a| a["authority"]["id"].as_str().unwrap())
        .collect();
    assert!(ancestors.contains(&"nimic-de"), "{tree}");
    assert!(ancestors.contains(&"limic-de-pq"), "{tree}");

    // The new authority's LDA registers a user and makes them a request handler in PQ.
    let lda = sign_in(&service, "blaek.lda", "blaek-lda-password").await;
    let user = mutate(
        &service,
        Some(&lda),
        "registerUser",
        "RegisterUserInput",
        "userId",
        json!({ "authorityId": "de-blaek",
                "user": { "login": "blaek.handler", "password": "blaek-handler-password",
                          "name": "Max Bauer", "email": "max.bauer@blaek.example.de" } }),
    )
    .await;
    mutate(
        &service,
        Some(&lda),
        "grantUserRoles",
        "UserRolesInput",
        "position",
        json!({ "authorityId": "de-blaek", "userId": user["userId"], "area": "PQ",
                "roles": ["REQUEST_HANDLER"], "waitFor": ["authority_users"] }),
    )
    .await;
    let handler = sign_in(&service, "blaek.handler", "blaek-handler-password").await;

    // Its LDA reads its users, identities opened; a mere handler may not; an erased
    // identity shows as erased.
    let users = service
        .graphql(Some(&lda), None, USERS, json!({ "id": "de-blaek" }))
        .await;
    assert!(users["errors"].is_null(), "{users}");
    let nodes: Vec<Value> = users["data"]["authorityUsers"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(nodes.len(), 2, "{users}");
    let max = nodes
        .iter()
        .find(|n| n["id"] == user["userId"])
        .expect("the handler");
    assert_eq!(max["name"], "Max Bauer");
    assert_eq!(max["login"], "blaek.handler");
    assert_eq!(max["erased"], false);
    assert_eq!(
        max["roles"],
        json!([{ "area": "PQ", "roles": ["REQUEST_HANDLER"] }])
    );
    assert!(nodes
        .iter()
        .any(|n| n["name"] == "Anna Huber" && n["localDataAdministrator"] == true));
    let handlers = service
        .graphql(
            Some(&lda),
            None,
            "query { authorityUsers(authorityId: \"de-blaek\", area: \"PQ\", role: REQUEST_HANDLER) {
               edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        handlers["data"]["authorityUsers"]["edges"],
        json!([{ "node": { "id": user["userId"] } }]),
        "{handlers}"
    );
    let ldas = service
        .graphql(
            Some(&lda),
            None,
            "query { authorityUsers(authorityId: \"de-blaek\", localDataAdministratorsOnly: true) {
               edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        ldas["data"]["authorityUsers"]["edges"],
        json!([{ "node": { "name": "Anna Huber" } }]),
        "{ldas}"
    );
    let refused = service
        .graphql(Some(&handler), None, USERS, json!({ "id": "de-blaek" }))
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let handler_id = user["userId"].as_str().unwrap();
    service
        .services
        .keyring
        .erase(&format!("User/{handler_id}"), "test", "erasure request")
        .await
        .expect("erase");
    let users = service
        .graphql(Some(&lda), None, USERS, json!({ "id": "de-blaek" }))
        .await;
    let erased = users["data"]["authorityUsers"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["id"] == user["userId"])
        .expect("the handler")
        .clone();
    assert_eq!(erased["erased"], true, "{users}");
    assert_eq!(erased["name"], Value::Null);

    // Found in French and in English, by anyone signed in.
    let fr = service
        .graphql(
            Some(&handler),
            Some("fr-FR,fr;q=0.9"),
            FIND,
            json!({ "text": "bavière" }),
        )
        .await;
    let node = &fr["data"]["authorities"]["edges"][0]["node"];
    assert_eq!(node["id"], "de-blaek", "{fr}");
    assert_eq!(node["kind"], "COMPETENT_AUTHORITY");
    assert_eq!(
        node["informalTitle"],
        json!({ "text": "Ordre des médecins de Bavière", "language": "fr", "fallback": false })
    );
    let en = service
        .graphql(
            nimic_token,
            None,
            FIND,
            json!({ "text": "chamber of physicians", "language": "en" }),
        )
        .await;
    let node = &en["data"]["authorities"]["edges"][0]["node"];
    assert_eq!(node["id"], "de-blaek", "{en}");
    assert_eq!(node["officialName"], "Bayerische Landesärztekammer");
    assert_eq!(
        node["informalTitle"],
        json!({ "text": "Bavarian Chamber of Physicians", "language": "en", "fallback": false })
    );
}
