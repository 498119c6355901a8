//! Invisible is unknown: a query or mutation on an authority or user the caller may not see
//! answers exactly as one on an unknown id (same code, same message), and writes nothing.

use crate::support::*;
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
const USERS: &str =
    "query($id: ID!) { authorityUsers(authorityId: $id) { edges { node { id } } } }";

/// The code and message of the first error, or "OK".
fn answer(body: &Value) -> (String, String) {
    match body.get("errors") {
        Some(errors) => (
            code(body).to_string(),
            errors[0]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
        None => ("OK".into(), String::new()),
    }
}

async fn mutate(
    gw: &Gateway,
    token: &str,
    field: &str,
    ty: &str,
    input: Value,
) -> (String, String) {
    let query = format!("mutation($input: {ty}!) {{ {field}(input: $input) {{ __typename }} }}");
    let (_, body) = gw.gql(Some(token), &query, json!({ "input": input })).await;
    answer(&body)
}

async fn credentials(gw: &Gateway) -> Vec<(String, bool, String)> {
    sqlx::query_as("SELECT user_id, active, password_hash FROM credentials ORDER BY user_id")
        .fetch_all(&gw.pool)
        .await
        .expect("credentials")
}

#[tokio::test]
async fn users_of_another_authority_answer_as_unknown_users() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let fr = gw.seed_nimic("FR").await;
    let fr_token = gw.login(&fr).await;
    let before = (gw.events().await, credentials(&gw).await);

    let cases: [(&str, &str, Value); 6] = [
        ("deactivateUser", "UserInput", json!({})),
        ("reactivateUser", "UserInput", json!({})),
        ("appointLocalDataAdministrator", "UserInput", json!({})),
        ("dismissLocalDataAdministrator", "UserInput", json!({})),
        (
            "grantUserRoles",
            "UserRolesInput",
            json!({ "area": "PQ", "roles": ["REQUEST_HANDLER"] }),
        ),
        (
            "resetPassword",
            "ResetPasswordInput",
            json!({ "newPassword": "a long enough passphrase" }),
        ),
    ];
    for (field, ty, extra) in cases {
        let input = |user_id: &str| {
            let mut input = json!({ "authorityId": de.authority_id, "userId": user_id });
            input
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            input
        };
        let hidden = mutate(&gw, &fr_token, field, ty, input(&de.user_id)).await;
        let unknown = mutate(&gw, &fr_token, field, ty, input("nobody")).await;
        assert_eq!(hidden.0, "NOT_FOUND", "{field}: {hidden:?}");
        assert_eq!(hidden, unknown, "{field}");
    }
    assert_eq!((gw.events().await, credentials(&gw).await), before);
    // Signing in still works with the old password: nothing was reset.
    gw.login(&de).await;

    // The authority itself is public, its users are not.
    let (_, b) = gw
        .gql(Some(&fr_token), USERS, json!({ "id": de.authority_id }))
        .await;
    assert_eq!(code(&b), "FORBIDDEN", "{b}");
    let (_, b) = gw
        .gql(Some(&fr_token), USERS, json!({ "id": "nobody" }))
        .await;
    assert_eq!(code(&b), "NOT_FOUND", "{b}");
}

#[tokio::test]
async fn an_authority_awaiting_registration_is_unknown_to_other_coordinators() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let fr = gw.seed_nimic("FR").await;
    let de_token = gw.login(&de).await;
    let fr_token = gw.login(&fr).await;
    let (_, b) = gw
        .gql(
            Some(&de_token),
            GRANT_ROLES,
            json!({ "input": { "authorityId": de.authority_id, "userId": de.user_id,
                               "area": "PQ", "roles": ["DATA_ADMINISTRATOR"] } }),
        )
        .await;
    assert!(b.get("errors").is_none(), "{b}");
    let (_, b) = gw
        .gql(
            Some(&de_token),
            GRANT_AREA,
            json!({ "input": { "authorityId": de.authority_id, "area": "PQ",
                "workflows": [{ "workflow": "REQUESTS", "role": "REQUEST_COORDINATOR",
                                "linkedCoordinators": [de.authority_id] }] } }),
        )
        .await;
    assert!(b.get("errors").is_none(), "{b}");
    let (_, b) = gw
        .gql(
            Some(&de_token),
            INVITE,
            json!({ "input": {
                "authorityId": "ca-1",
                "kind": "COMPETENT_AUTHORITY",
                "access": [{ "area": "PQ", "workflows": [{ "workflow": "REQUESTS",
                    "role": "REQUEST_AUTHORITY", "linkedCoordinators": [de.authority_id] }] }],
                "contactEmail": "registry@kammer.example.de"
            } }),
        )
        .await;
    assert!(b.get("errors").is_none(), "{b}");
    let before = (gw.events().await, credentials(&gw).await);
    let codes: i64 = sqlx::query_scalar("SELECT count(*) FROM registration_codes")
        .fetch_one(&gw.pool)
        .await
        .unwrap();

    for (field, ty, extra) in [
        ("validateAuthority", "AuthorityInput", json!({})),
        ("renewInvitation", "AuthorityInput", json!({})),
        (
            "setOfficialName",
            "SetOfficialNameInput",
            json!({ "officialName": "Hijacked" }),
        ),
        (
            "deactivateUser",
            "UserInput",
            json!({ "userId": "someone" }),
        ),
    ] {
        let input = |id: &str| {
            let mut input = json!({ "authorityId": id });
            input
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            input
        };
        let hidden = mutate(&gw, &fr_token, field, ty, input("ca-1")).await;
        let unknown = mutate(&gw, &fr_token, field, ty, input("nobody")).await;
        assert_eq!(hidden.0, "NOT_FOUND", "{field}: {hidden:?}");
        assert_eq!(hidden, unknown, "{field}");
    }
    assert_eq!((gw.events().await, credentials(&gw).await), before);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM registration_codes")
        .fetch_one(&gw.pool)
        .await
        .unwrap();
    assert_eq!(after, codes, "a refused renewal keeps no code");

    // Reads answer the same too.
    let read = "query($id: ID!) { authority(id: $id) { id } }";
    for id in ["ca-1", "nobody"] {
        let (_, b) = gw.gql(Some(&fr_token), read, json!({ "id": id })).await;
        assert_eq!(b["data"]["authority"], Value::Null, "{b}");
    }
    let (_, hidden) = gw
        .gql(Some(&fr_token), USERS, json!({ "id": "ca-1" }))
        .await;
    let (_, unknown) = gw
        .gql(Some(&fr_token), USERS, json!({ "id": "nobody" }))
        .await;
    assert_eq!(answer(&hidden).0, "NOT_FOUND", "{hidden}");
    assert_eq!(answer(&hidden), answer(&unknown));
    // The inviting coordinator acts on it.
    let renewed = mutate(
        &gw,
        &de_token,
        "renewInvitation",
        "AuthorityInput",
        json!({ "authorityId": "ca-1" }),
    )
    .await;
    assert_eq!(renewed.0, "OK", "{renewed:?}");
}
