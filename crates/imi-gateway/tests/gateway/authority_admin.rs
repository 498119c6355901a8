//! Administering authorities over HTTP: invitation, self-registration, validation, access,
//! flags, users and passwords; and a refusal of each kind, which writes nothing.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const GRANT_ROLES: &str = "mutation($input: UserRolesInput!) {
  grantUserRoles(input: $input) { position waited }
}";
const GRANT_AREA: &str = "mutation($input: GrantAreaAccessInput!) {
  grantAreaAccess(input: $input) { position waited }
}";
const INVITE: &str = "mutation($input: InviteAuthorityInput!) {
  inviteAuthority(input: $input) { position waited }
}";
const REGISTER: &str = "mutation($input: RegisterWithInvitationInput!) {
  registerWithInvitation(input: $input) { position waited userId }
}";
const VALIDATE: &str = "mutation($input: AuthorityInput!) {
  validateAuthority(input: $input) { position waited }
}";
const SET_FLAG: &str = "mutation($input: SetFlagInput!) {
  setFlag(input: $input) { position waited }
}";
const REGISTER_USER: &str = "mutation($input: RegisterUserInput!) {
  registerUser(input: $input) { position waited userId }
}";
const RESET_PASSWORD: &str = "mutation($input: ResetPasswordInput!) {
  resetPassword(input: $input) { position waited }
}";
const READ: &str = "query($id: ID!) { authority(id: $id) {
  id status invitedBy description contactPerson { erased name }
  areas { area accessCoordinator workflows { workflow role flags linkedCoordinators } }
} }";
const FILTER: &str = "query($area: String, $role: WorkflowRole) {
  authorities(area: $area, workflowRole: $role) { edges { node { id } } }
}";
const LOGIN: &str =
    "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }";

fn ok<'a>(status: StatusCode, body: &'a Value, field: &str) -> &'a Value {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    &body["data"][field]
}

async fn sign_in(gw: &Gateway, login: &str, password: &str) -> Option<String> {
    let (_, body) = gw
        .gql(None, LOGIN, json!({ "l": login, "p": password }))
        .await;
    body["data"]["login"]["token"].as_str().map(str::to_string)
}

async fn credentials(gw: &Gateway) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM credentials")
        .fetch_one(&gw.pool)
        .await
        .expect("count credentials")
}

/// Makes the NIMIC's LDA a data administrator in PQ and gives the NIMIC PQ requests.
async fn nimic_for_pq(gw: &Gateway, nimic: &Seeded, token: &str) {
    let (s, b) = gw
        .gql(
            Some(token),
            GRANT_ROLES,
            json!({ "input": { "authorityId": nimic.authority_id, "userId": nimic.user_id,
                               "area": "PQ", "roles": ["DATA_ADMINISTRATOR"] } }),
        )
        .await;
    ok(s, &b, "grantUserRoles");
    let (s, b) = gw
        .gql(
            Some(token),
            GRANT_AREA,
            json!({ "input": { "authorityId": nimic.authority_id, "area": "PQ",
                "workflows": [{ "workflow": "REQUESTS", "role": "REQUEST_COORDINATOR",
                                "linkedCoordinators": [nimic.authority_id] }] } }),
        )
        .await;
    ok(s, &b, "grantAreaAccess");
}

fn invitation(id: &str, nimic: &str) -> Value {
    json!({ "input": {
        "authorityId": id,
        "kind": "COMPETENT_AUTHORITY",
        "access": [{ "area": "PQ", "workflows": [{ "workflow": "REQUESTS",
            "role": "REQUEST_AUTHORITY", "linkedCoordinators": [nimic] }] }],
        "contactEmail": "registry@kammer.example.de"
    } })
}

fn registration(id: &str, code: &str, login: &str) -> Value {
    json!({ "input": {
        "authorityId": id,
        "waitFor": ["authority_users"],
        "registrationCode": code,
        "data": { "officialName": "Landesärztekammer Bayern",
                  "informalTitles": [{ "language": "en", "text": "Bavarian medical chamber" }],
                  "contactPerson": "Dr. Anna Huber" },
        "firstUser": { "login": login, "password": PASSWORD, "name": "Anna Huber",
                       "email": "anna.huber@kammer.example.de" }
    } })
}

#[tokio::test]
async fn a_coordinator_invites_an_authority_that_registers_and_gets_to_work() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;
    nimic_for_pq(&gw, &de, &token).await;

    let (s, b) = gw
        .gql(Some(&token), INVITE, invitation("ca-1", "nimic-de"))
        .await;
    let invited = ok(s, &b, "inviteAuthority");
    assert!(
        invited.get("registrationCode").is_none(),
        "the code is only mailed"
    );
    let code = gw.registration_code("ca-1").await;
    assert!(code.len() >= 22, "at least 128 bits: {code}");
    let stored: String = sqlx::query_scalar(
        "SELECT payload::text FROM events WHERE aggregate_id = 'ca-1' ORDER BY sequence LIMIT 1",
    )
    .fetch_one(&gw.pool)
    .await
    .unwrap();
    assert!(!stored.contains(&code), "the code itself is never stored");
    assert!(!stored.contains("registry@kammer"), "the e-mail is sealed");

    // Self-registration needs no token.
    let (s, b) = gw
        .gql(None, REGISTER, registration("ca-1", &code, "ca1.lda"))
        .await;
    ok(s, &b, "registerWithInvitation");
    // Not validated yet: signing in works, acting does not.
    let ca_token = sign_in(&gw, "ca1.lda", PASSWORD).await.expect("sign in");
    let (_, b) = gw
        .gql(Some(&ca_token), FILTER, json!({ "area": "PQ" }))
        .await;
    assert_eq!(
        crate::support::code(&b),
        "FORBIDDEN",
        "not validated yet, it reads nothing: {b}"
    );

    let (s, b) = gw
        .gql(
            Some(&token),
            VALIDATE,
            json!({ "input": { "authorityId": "ca-1" } }),
        )
        .await;
    ok(s, &b, "validateAuthority");
    let (s, b) = gw
        .gql(
            Some(&token),
            SET_FLAG,
            json!({ "input": { "authorityId": "ca-1", "area": "PQ", "workflow": "REQUESTS",
                               "flag": "APPROVAL_OF_NEW_REQUESTS", "enabled": true } }),
        )
        .await;
    ok(s, &b, "setFlag");

    // Directory v2: the coordinator sees the flags, the access coordinator and the links;
    // another Member State's coordinator sees the profile but not the settings.
    let (s, b) = gw.gql(Some(&token), READ, json!({ "id": "ca-1" })).await;
    let read = ok(s, &b, "authority");
    assert_eq!(read["status"], "VALIDATED", "{b}");
    assert_eq!(read["invitedBy"], "nimic-de");
    assert_eq!(
        read["contactPerson"],
        json!({ "erased": false, "name": "Dr. Anna Huber" })
    );
    let pq = &read["areas"][0];
    assert_eq!(pq["area"], "PQ");
    assert_eq!(pq["accessCoordinator"], "nimic-de");
    assert_eq!(pq["workflows"][0]["role"], "REQUEST_AUTHORITY");
    assert_eq!(
        pq["workflows"][0]["flags"],
        json!(["APPROVAL_OF_NEW_REQUESTS"])
    );
    assert_eq!(
        pq["workflows"][0]["linkedCoordinators"],
        json!(["nimic-de"])
    );
    let fr = gw.seed_nimic("FR").await;
    let fr_token = gw.login(&fr).await;
    let (s, b) = gw.gql(Some(&fr_token), READ, json!({ "id": "ca-1" })).await;
    let read = ok(s, &b, "authority");
    assert_eq!(
        read["areas"][0]["workflows"][0]["role"], "REQUEST_AUTHORITY",
        "{b}"
    );
    assert_eq!(read["areas"][0]["workflows"][0]["flags"], Value::Null);
    assert_eq!(read["contactPerson"], Value::Null);
    let (s, b) = gw
        .gql(
            Some(&fr_token),
            FILTER,
            json!({ "area": "PQ", "role": "REQUEST_AUTHORITY" }),
        )
        .await;
    let found = ok(s, &b, "authorities");
    assert_eq!(found["edges"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(found["edges"][0]["node"]["id"], "ca-1");

    let (s, b) = gw
        .gql(
            Some(&ca_token),
            REGISTER_USER,
            json!({ "input": { "authorityId": "ca-1", "user": { "login": "ca1.handler",
                "password": PASSWORD, "name": "Max Muster", "email": "max@kammer.example.de" } } }),
        )
        .await;
    let handler = ok(s, &b, "registerUser")["userId"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, b) = gw
        .gql(
            Some(&ca_token),
            GRANT_ROLES,
            json!({ "input": { "authorityId": "ca-1", "userId": handler, "area": "PQ",
                               "roles": ["REQUEST_HANDLER"] } }),
        )
        .await;
    ok(s, &b, "grantUserRoles");
    assert!(sign_in(&gw, "ca1.handler", PASSWORD).await.is_some());

    let (s, b) = gw
        .gql(
            Some(&ca_token),
            RESET_PASSWORD,
            json!({ "input": { "authorityId": "ca-1", "userId": handler,
                               "newPassword": "a brand new passphrase" } }),
        )
        .await;
    ok(s, &b, "resetPassword");
    assert!(sign_in(&gw, "ca1.handler", PASSWORD).await.is_none());
    assert!(sign_in(&gw, "ca1.handler", "a brand new passphrase")
        .await
        .is_some());
}

#[tokio::test]
async fn refusals_write_nothing() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;

    // FORBIDDEN: the NIMIC's LDA is no data administrator in PQ yet.
    let before = (gw.events().await, credentials(&gw).await);
    let (_, b) = gw
        .gql(Some(&token), INVITE, invitation("ca-1", "nimic-de"))
        .await;
    assert_eq!(code(&b), "FORBIDDEN", "{b}");
    assert_eq!((gw.events().await, credentials(&gw).await), before);

    nimic_for_pq(&gw, &de, &token).await;
    let (_, b) = gw
        .gql(Some(&token), INVITE, invitation("ca-1", "nimic-de"))
        .await;
    ok(StatusCode::OK, &b, "inviteAuthority");
    let code_ = gw.registration_code("ca-1").await;
    let before = (gw.events().await, credentials(&gw).await);

    // FORBIDDEN: a wrong registration code; no user, no credentials.
    let (_, b) = gw
        .gql(
            None,
            REGISTER,
            registration("ca-1", "not-the-code", "ca1.lda"),
        )
        .await;
    assert_eq!(code(&b), "FORBIDDEN", "{b}");
    assert_eq!((gw.events().await, credentials(&gw).await), before);
    assert!(sign_in(&gw, "ca1.lda", PASSWORD).await.is_none());

    // NOT_FOUND: no invitation for this id.
    let (_, b) = gw
        .gql(None, REGISTER, registration("ca-2", &code_, "ca2.lda"))
        .await;
    assert_eq!(code(&b), "NOT_FOUND", "{b}");
    assert_eq!((gw.events().await, credentials(&gw).await), before);

    // BAD_USER_INPUT: a taken login, a weak password, a malformed area, an unknown area.
    let (_, b) = gw
        .gql(None, REGISTER, registration("ca-1", &code_, "de.nimic"))
        .await;
    assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
    let mut weak = registration("ca-1", &code_, "ca1.lda");
    weak["input"]["firstUser"]["password"] = json!("short");
    let (_, b) = gw.gql(None, REGISTER, weak).await;
    assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");
    for area in ["P Q", "NOPE"] {
        let (_, b) = gw
            .gql(
                Some(&token),
                SET_FLAG,
                json!({ "input": { "authorityId": "ca-1", "area": area, "workflow": "REQUESTS",
                                   "flag": "APPROVAL_OF_NEW_REQUESTS", "enabled": true } }),
            )
            .await;
        assert!(
            ["BAD_USER_INPUT", "FORBIDDEN", "NOT_FOUND"].contains(&code(&b)),
            "{b}"
        );
    }
    let (_, b) = gw
        .gql(
            Some(&token),
            GRANT_ROLES,
            json!({ "input": { "authorityId": "nimic-de", "userId": de.user_id, "area": "P Q",
                               "roles": ["DATA_ADMINISTRATOR"] } }),
        )
        .await;
    assert_eq!(code(&b), "BAD_USER_INPUT", "{b}");

    // NOT_FOUND: validating an authority that does not exist.
    let (_, b) = gw
        .gql(
            Some(&token),
            VALIDATE,
            json!({ "input": { "authorityId": "nobody" } }),
        )
        .await;
    assert_eq!(code(&b), "NOT_FOUND", "{b}");

    // FORBIDDEN: resetting a password without a say; UNAUTHENTICATED without a token.
    let (_, b) = gw
        .gql(
            None,
            VALIDATE,
            json!({ "input": { "authorityId": "ca-1" } }),
        )
        .await;
    assert_eq!(code(&b), "UNAUTHENTICATED", "{b}");
    assert_eq!((gw.events().await, credentials(&gw).await), before);
    assert!(sign_in(&gw, "ca1.lda", PASSWORD).await.is_none());
}

/// A mutation of `field` with `input`, as `token`: the error code, or "OK".
async fn attempt(gw: &Gateway, token: Option<&str>, field: &str, ty: &str, input: Value) -> String {
    let query = format!("mutation($input: {ty}!) {{ {field}(input: $input) {{ __typename }} }}");
    let (_, body) = gw.gql(token, &query, json!({ "input": input })).await;
    match body.get("errors") {
        Some(_) => format!("{field}: {}", code(&body)),
        None => format!("{field}: OK"),
    }
}

#[tokio::test]
async fn every_mutation_class_refuses_and_writes_nothing() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let fr = gw.seed_nimic("FR").await;
    let token = gw.login(&de).await;
    let fr_token = gw.login(&fr).await;
    nimic_for_pq(&gw, &de, &token).await;
    let (_, b) = gw
        .gql(Some(&token), INVITE, invitation("ca-1", "nimic-de"))
        .await;
    assert!(b["errors"].is_null(), "{b}");
    let code_ = gw.registration_code("ca-1").await;
    let (s, b) = gw
        .gql(None, REGISTER, registration("ca-1", &code_, "ca1.lda"))
        .await;
    ok(s, &b, "registerWithInvitation");
    let (s, b) = gw
        .gql(
            Some(&token),
            VALIDATE,
            json!({ "input": { "authorityId": "ca-1" } }),
        )
        .await;
    ok(s, &b, "validateAuthority");
    let ca = sign_in(&gw, "ca1.lda", PASSWORD).await.unwrap();
    let (ca, de_, fr_) = (
        Some(ca.as_str()),
        Some(token.as_str()),
        Some(fr_token.as_str()),
    );
    let before = (gw.events().await, credentials(&gw).await);

    let pq = |extra: Value| {
        let mut input = json!({ "authorityId": "ca-1", "area": "PQ" });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        input
    };
    let mut outcomes = Vec::new();
    // General data.
    outcomes.push(
        attempt(
            &gw,
            fr_,
            "setOfficialName",
            "SetOfficialNameInput",
            json!({ "authorityId": "ca-1", "officialName": "Hijacked" }),
        )
        .await,
    );
    outcomes.push(
        attempt(
            &gw,
            ca,
            "setOfficialName",
            "SetOfficialNameInput",
            json!({ "authorityId": "ca-1", "officialName": "   " }),
        )
        .await,
    );
    outcomes.push(
        attempt(
            &gw,
            de_,
            "setDescription",
            "SetDescriptionInput",
            json!({ "authorityId": "nobody", "description": "x" }),
        )
        .await,
    );
    // Area data.
    outcomes.push(
        attempt(
            &gw,
            fr_,
            "setProfessions",
            "SetAreaCodesInput",
            pq(json!({ "codes": ["doctor"] })),
        )
        .await,
    );
    outcomes.push(
        attempt(
            &gw,
            ca,
            "setProfessions",
            "SetAreaCodesInput",
            pq(json!({ "codes": ["astronaut"] })),
        )
        .await,
    );
    // Access to areas and workflows.
    outcomes.push(
        attempt(
            &gw,
            ca,
            "grantAreaAccess",
            "GrantAreaAccessInput",
            json!({ "authorityId": "ca-1", "area": "PW", "workflows": [] }),
        )
        .await,
    );
    outcomes.push(
        attempt(
            &gw,
            de_,
            "changeWorkflowRole",
            "ChangeWorkflowRoleInput",
            pq(json!({ "workflow": "REQUESTS", "role": "ALERT_AUTHORITY" })),
        )
        .await,
    );
    outcomes.push(
        attempt(
            &gw,
            de_,
            "revokeAreaAccess",
            "AreaInput",
            json!({ "authorityId": "nobody", "area": "PQ" }),
        )
        .await,
    );
    // Flags and links.
    outcomes.push(
        attempt(
            &gw,
            de_,
            "setFlag",
            "SetFlagInput",
            pq(json!({ "workflow": "REQUESTS", "flag": "ALLOCATION", "enabled": true })),
        )
        .await,
    );
    outcomes.push(
        attempt(
            &gw,
            de_,
            "linkAuthority",
            "AuthorityLinkInput",
            json!({ "authorityId": "ca-1", "linkedAuthorityId": "nimic-de" }),
        )
        .await,
    );
    outcomes.push(
        attempt(
            &gw,
            de_,
            "linkCoordinator",
            "CoordinatorLinkInput",
            pq(json!({ "workflow": "REQUESTS", "coordinatorId": "bad id" })),
        )
        .await,
    );
    // Users.
    outcomes.push(
        attempt(
            &gw,
            de_,
            "registerUser",
            "RegisterUserInput",
            json!({ "authorityId": "ca-1", "user": { "login": "intruder", "password": PASSWORD,
                "name": "In Truder", "email": "in@example.eu" } }),
        )
        .await,
    );
    outcomes.push(
        attempt(
            &gw,
            ca,
            "registerUser",
            "RegisterUserInput",
            json!({ "authorityId": "ca-1", "user": { "login": "ca1.lda", "password": PASSWORD,
                "name": "Dup Licate", "email": "dup@example.eu" } }),
        )
        .await,
    );
    outcomes.push(
        attempt(
            &gw,
            ca,
            "grantUserRoles",
            "UserRolesInput",
            json!({ "authorityId": "ca-1", "userId": "nobody", "area": "PQ",
                "roles": ["REQUEST_HANDLER"] }),
        )
        .await,
    );
    outcomes.push(
        attempt(
            &gw,
            ca,
            "resetPassword",
            "ResetPasswordInput",
            json!({ "authorityId": "ca-1", "userId": "nobody", "newPassword": "short" }),
        )
        .await,
    );
    outcomes.push(
        attempt(
            &gw,
            fr_,
            "deactivateUser",
            "UserInput",
            json!({ "authorityId": "ca-1", "userId": "nobody" }),
        )
        .await,
    );

    assert_eq!(
        outcomes,
        [
            "setOfficialName: FORBIDDEN",
            "setOfficialName: BAD_USER_INPUT",
            "setDescription: NOT_FOUND",
            "setProfessions: FORBIDDEN",
            "setProfessions: BAD_USER_INPUT",
            "grantAreaAccess: FORBIDDEN",
            "changeWorkflowRole: BAD_USER_INPUT",
            "revokeAreaAccess: NOT_FOUND",
            "setFlag: FORBIDDEN",
            "linkAuthority: FORBIDDEN",
            "linkCoordinator: BAD_USER_INPUT",
            "registerUser: FORBIDDEN",
            "registerUser: BAD_USER_INPUT",
            "grantUserRoles: NOT_FOUND",
            "resetPassword: BAD_USER_INPUT",
            // Another Member State's coordinator may not see ca-1's users: as unknown.
            "deactivateUser: NOT_FOUND",
        ]
    );
    assert_eq!((gw.events().await, credentials(&gw).await), before);

    // A user without credentials: nothing to reset, nothing recorded; a caller who may not
    // see the user learns no more than of an unknown one.
    let lda_id: String =
        sqlx::query_scalar("DELETE FROM credentials WHERE login = 'ca1.lda' RETURNING user_id")
            .fetch_one(&gw.pool)
            .await
            .unwrap();
    let before = gw.events().await;
    let reset = json!({ "authorityId": "ca-1", "userId": lda_id,
                        "newPassword": "a long enough passphrase" });
    assert_eq!(
        attempt(
            &gw,
            fr_,
            "resetPassword",
            "ResetPasswordInput",
            reset.clone()
        )
        .await,
        "resetPassword: NOT_FOUND"
    );
    assert_eq!(
        attempt(&gw, ca, "resetPassword", "ResetPasswordInput", reset).await,
        "resetPassword: NOT_FOUND"
    );
    assert_eq!(gw.events().await, before);

    // Reads: another Member State's coordinator sees neither users nor the tree above.
    let (_, b) = gw
        .gql(
            fr_,
            "query { authorityUsers(authorityId: \"ca-1\") { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&b), "FORBIDDEN", "{b}");
    let (_, b) = gw
        .gql(
            de_,
            "query { coordinationAncestors(authorityId: \"nobody\") { depth: ancestors { depth } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&b), "NOT_FOUND", "{b}");
}
