//! Every administration mutation succeeds over HTTP when the policy allows it.

use crate::support::*;
use serde_json::{json, Value};

/// Runs mutation `field` (input type `ty`) as `token`; returns its payload or panics.
async fn run(gw: &Gateway, token: Option<&str>, field: &str, ty: &str, input: Value) -> Value {
    let selection = match field {
        "inviteAuthority" | "renewInvitation" => "position waited",
        "registerWithInvitation" | "registerAuthority" | "registerUser" => "position waited userId",
        _ => "position waited",
    };
    let query = format!("mutation($input: {ty}!) {{ {field}(input: $input) {{ {selection} }} }}");
    let (_, body) = gw.gql(token, &query, json!({ "input": input })).await;
    assert!(body.get("errors").is_none(), "{field}: {body}");
    let payload = body["data"][field].clone();
    assert!(payload["position"].is_string(), "{field}: {body}");
    payload
}

async fn sign_in(gw: &Gateway, login: &str, password: &str) -> String {
    let (_, body) = gw
        .gql(
            None,
            "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }",
            json!({ "l": login, "p": password }),
        )
        .await;
    body["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

fn user(login: &str) -> Value {
    json!({ "login": login, "password": PASSWORD, "name": format!("User {login}"),
            "email": format!("{login}@example.eu") })
}

#[tokio::test]
async fn every_administration_mutation_works() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let t = gw.login(&de).await;
    let de_ = Some(t.as_str());
    let requests = |role: &str, linked: &[&str]| json!({ "workflow": "REQUESTS", "role": role, "linkedCoordinators": linked });
    for area in ["PQ", "PW", "SD"] {
        run(
            &gw,
            de_,
            "grantUserRoles",
            "UserRolesInput",
            json!({ "authorityId": "nimic-de", "userId": de.user_id, "area": area,
                    "roles": ["DATA_ADMINISTRATOR"] }),
        )
        .await;
        run(
            &gw,
            de_,
            "grantAreaAccess",
            "GrantAreaAccessInput",
            json!({ "authorityId": "nimic-de", "area": area, "workflows": if area == "PQ" {
                json!([requests("REQUEST_COORDINATOR", &["nimic-de"]),
                       { "workflow": "ALERTS", "role": "INCOMING_ALERT_POSTBOX",
                         "linkedCoordinators": ["nimic-de"] }])
            } else {
                json!([requests("REQUEST_COORDINATOR", &["nimic-de"])])
            } }),
        )
        .await;
    }
    run(&gw, de_, "registerAuthority", "RegisterAuthorityInput", json!({
        "authorityId": "limic-pq", "kind": "LEGISLATIVE_AREA_COORDINATOR",
        "coordinatedAreas": ["PQ"],
        "access": [{ "area": "PQ", "workflows": [requests("REQUEST_COORDINATOR", &["limic-pq"])] }],
        "data": { "officialName": "PQ coordinator" }, "firstUser": user("limic.lda")
    })).await;

    // Invitation, renewal (the first code stops working), registration, validation.
    run(&gw, de_, "inviteAuthority", "InviteAuthorityInput", json!({
        "authorityId": "ca-1", "kind": "COMPETENT_AUTHORITY",
        "access": [{ "area": "PQ", "workflows": [requests("REQUEST_AUTHORITY", &["nimic-de"])] }],
        "contactEmail": "ca@example.eu"
    })).await;
    run(
        &gw,
        de_,
        "renewInvitation",
        "AuthorityInput",
        json!({ "authorityId": "ca-1" }),
    )
    .await;
    run(
        &gw,
        None,
        "registerWithInvitation",
        "RegisterWithInvitationInput",
        json!({
            "authorityId": "ca-1", "registrationCode": gw.registration_code("ca-1").await,
            "data": { "officialName": "Competent authority 1" }, "firstUser": user("ca.lda")
        }),
    )
    .await;
    run(
        &gw,
        de_,
        "validateAuthority",
        "AuthorityInput",
        json!({ "authorityId": "ca-1" }),
    )
    .await;
    let c = sign_in(&gw, "ca.lda", PASSWORD).await;
    let ca = Some(c.as_str());

    // General and area data, by the authority's LDA.
    run(
        &gw,
        ca,
        "setOfficialName",
        "SetOfficialNameInput",
        json!({ "authorityId": "ca-1", "officialName": "Competent authority one" }),
    )
    .await;
    run(
        &gw,
        ca,
        "setDescription",
        "SetDescriptionInput",
        json!({ "authorityId": "ca-1", "description": "Recognises qualifications" }),
    )
    .await;
    run(
        &gw,
        ca,
        "setContactDetails",
        "SetContactDetailsInput",
        json!({ "authorityId": "ca-1", "contact": { "city": "Berlin" } }),
    )
    .await;
    run(
        &gw,
        ca,
        "setContactPerson",
        "SetContactPersonInput",
        json!({ "authorityId": "ca-1", "contactPerson": "Erika Mustermann" }),
    )
    .await;
    run(
        &gw,
        ca,
        "setProfessions",
        "SetAreaCodesInput",
        json!({ "authorityId": "ca-1", "area": "PQ", "codes": ["doctor"] }),
    )
    .await;
    run(
        &gw,
        ca,
        "setCompetences",
        "SetCompetencesInput",
        json!({
            "authorityId": "ca-1", "area": "PQ",
            "keywords": [{ "list": "POLICY_AREAS", "code": "public-health" }]
        }),
    )
    .await;
    run(
        &gw,
        de_,
        "grantAreaAccess",
        "GrantAreaAccessInput",
        json!({
            "authorityId": "ca-1", "area": "SD",
            "workflows": [requests("REQUEST_AUTHORITY", &["nimic-de"])]
        }),
    )
    .await;
    run(
        &gw,
        ca,
        "setServiceActivities",
        "SetAreaCodesInput",
        json!({ "authorityId": "ca-1", "area": "SD", "codes": ["construction", "craft"] }),
    )
    .await;

    // Access, flags and links, by the coordinator.
    run(
        &gw,
        de_,
        "grantAreaAccess",
        "GrantAreaAccessInput",
        json!({
            "authorityId": "ca-1", "area": "PW",
            "workflows": [requests("REQUEST_AUTHORITY", &["nimic-de"])]
        }),
    )
    .await;
    run(
        &gw,
        de_,
        "grantWorkflowAccess",
        "GrantWorkflowAccessInput",
        json!({
            "authorityId": "ca-1", "area": "PQ",
            "grant": { "workflow": "ALERTS", "role": "ALERT_AUTHORITY",
                       "linkedCoordinators": ["nimic-de"] }
        }),
    )
    .await;
    run(
        &gw,
        de_,
        "revokeWorkflowAccess",
        "WorkflowInput",
        json!({ "authorityId": "ca-1", "area": "PQ", "workflow": "ALERTS" }),
    )
    .await;
    let limic_link = |coordinator: &str| {
        json!({ "authorityId": "limic-pq", "area": "PQ", "workflow": "REQUESTS",
                "coordinatorId": coordinator })
    };
    run(
        &gw,
        de_,
        "linkCoordinator",
        "CoordinatorLinkInput",
        limic_link("nimic-de"),
    )
    .await;
    run(
        &gw,
        de_,
        "unlinkCoordinator",
        "CoordinatorLinkInput",
        limic_link("limic-pq"),
    )
    .await;
    run(
        &gw,
        de_,
        "changeWorkflowRole",
        "ChangeWorkflowRoleInput",
        json!({
            "authorityId": "limic-pq", "area": "PQ", "workflow": "REQUESTS",
            "role": "REQUEST_AUTHORITY"
        }),
    )
    .await;
    run(
        &gw,
        de_,
        "changeWorkflowRole",
        "ChangeWorkflowRoleInput",
        json!({
            "authorityId": "limic-pq", "area": "PQ", "workflow": "REQUESTS",
            "role": "REQUEST_COORDINATOR"
        }),
    )
    .await;
    run(
        &gw,
        de_,
        "revokeAreaAccess",
        "AreaInput",
        json!({ "authorityId": "ca-1", "area": "PW" }),
    )
    .await;
    run(
        &gw,
        de_,
        "setFlag",
        "SetFlagInput",
        json!({
            "authorityId": "ca-1", "area": "PQ", "workflow": "REQUESTS",
            "flag": "APPROVAL_OF_RESPONSES", "enabled": true
        }),
    )
    .await;
    run(
        &gw,
        ca,
        "setFlag",
        "SetFlagInput",
        json!({
            "authorityId": "ca-1", "area": "PQ", "workflow": "REQUESTS",
            "flag": "ALLOCATION", "enabled": true
        }),
    )
    .await;
    let link = json!({ "authorityId": "ca-1", "area": "PQ", "workflow": "REQUESTS",
                       "coordinatorId": "limic-pq" });
    run(
        &gw,
        de_,
        "linkCoordinator",
        "CoordinatorLinkInput",
        link.clone(),
    )
    .await;
    run(&gw, de_, "unlinkCoordinator", "CoordinatorLinkInput", link).await;
    let other = json!({ "authorityId": "ca-1", "linkedAuthorityId": "limic-pq" });
    run(
        &gw,
        ca,
        "linkAuthority",
        "AuthorityLinkInput",
        other.clone(),
    )
    .await;
    run(&gw, ca, "unlinkAuthority", "AuthorityLinkInput", other).await;

    // Users, by the LDA.
    let u = run(
        &gw,
        ca,
        "registerUser",
        "RegisterUserInput",
        json!({ "authorityId": "ca-1", "user": user("ca.user") }),
    )
    .await;
    let id = u["userId"].clone();
    let roles = json!({ "authorityId": "ca-1", "userId": id, "area": "PQ",
                        "roles": ["REQUEST_HANDLER", "ALLOCATOR"] });
    run(&gw, ca, "grantUserRoles", "UserRolesInput", roles.clone()).await;
    run(&gw, ca, "revokeUserRoles", "UserRolesInput", roles).await;
    let target = json!({ "authorityId": "ca-1", "userId": id });
    for field in [
        "appointLocalDataAdministrator",
        "dismissLocalDataAdministrator",
    ] {
        run(&gw, ca, field, "UserInput", target.clone()).await;
    }
    run(&gw, ca, "deactivateUser", "UserInput", target.clone()).await;
    let (_, body) = gw
        .gql(
            None,
            "mutation { login(login: \"ca.user\", password: \"correct horse battery staple\") { token } }",
            json!({}),
        )
        .await;
    assert!(
        body["data"]["login"].is_null(),
        "a deactivated user cannot sign in: {body}"
    );
    run(&gw, ca, "reactivateUser", "UserInput", target.clone()).await;
    sign_in(&gw, "ca.user", PASSWORD).await;
    run(
        &gw,
        ca,
        "resetPassword",
        "ResetPasswordInput",
        json!({
            "authorityId": "ca-1", "userId": id, "newPassword": "another long passphrase"
        }),
    )
    .await;
    sign_in(&gw, "ca.user", "another long passphrase").await;

    // The access coordinator hands PQ over to the legislative area coordinator.
    run(
        &gw,
        de_,
        "handOverAccessCoordination",
        "HandOverInput",
        json!({ "authorityId": "ca-1", "area": "PQ", "to": "limic-pq" }),
    )
    .await;

    // Directory v2 filters find it by what was set.
    let find = |filters: &str| {
        format!("query {{ authorities({filters}) {{ edges {{ node {{ id }} }} }} }}")
    };
    for filters in [
        "kind: COMPETENT_AUTHORITY",
        "area: \"SD\", serviceActivity: \"craft\"",
        "area: \"PQ\", profession: \"doctor\"",
        "keyword: { list: POLICY_AREAS, code: \"public-health\" }",
        "area: \"PQ\", workflowRole: REQUEST_AUTHORITY",
        "text: \"competent authority one\", memberState: \"DE\"",
    ] {
        let (_, body) = gw.gql(de_, &find(filters), json!({})).await;
        assert_eq!(
            body["data"]["authorities"]["edges"],
            json!([{ "node": { "id": "ca-1" } }]),
            "{filters}: {body}"
        );
    }
    let (_, body) = gw
        .gql(de_, &find("kind: LEGISLATIVE_AREA_COORDINATOR"), json!({}))
        .await;
    assert_eq!(
        body["data"]["authorities"]["edges"],
        json!([{ "node": { "id": "limic-pq" } }]),
        "{body}"
    );
}
