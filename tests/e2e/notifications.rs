//! Notifications end to end, over HTTP with the real SMTP server: the registration code is
//! mailed to the invited authority and nowhere else; the inviting coordinator is told live
//! (subscription) and in its list when the authority registers; an unused code expires when
//! the clock passes its 30 days — the scheduler records it once, the coordinator is told, and
//! the old code no longer works.

use crate::authorities::{mailed_code, mutate, sign_in, workflow};
use crate::harness::start;
use serde_json::json;
use std::time::Duration;

const LIST: &str = "query($unread: Boolean) {
  notifications(first: 20, unreadOnly: $unread) {
    edges { node { id kind aggregateId subject language read } }
    unreadCount
  }
}";

const LIVE: &str =
    "subscription { notifications(language: \"fr\") { id kind aggregateId subject language } }";

const INVITATIONS: &str = "query($state: InvitationState) {
  invitations(state: $state, first: 10) {
    edges { node { authorityId state contactEmail renewals areas kind } }
  }
}";

const STATUS: &str = "{ notificationStatus { pending sent failed deadlinesScheduled deadlinesDone nextDeadlineAt } }";

#[tokio::test]
async fn codes_are_mailed_coordinators_are_told_and_unused_codes_expire() {
    let service = start().await;
    let de = service
        .seed_national_coordinator("DE", "Bundesministerium für Wirtschaft")
        .await;
    let nimic = sign_in(&service, &de.login, &de.password).await;
    let token = Some(nimic.as_str());
    mutate(
        &service,
        token,
        "grantUserRoles",
        "UserRolesInput",
        "position",
        json!({ "authorityId": de.authority_id, "userId": de.user_id, "area": "PQ",
                "roles": ["DATA_ADMINISTRATOR"] }),
    )
    .await;
    mutate(
        &service,
        token,
        "grantAreaAccess",
        "GrantAreaAccessInput",
        "position",
        json!({ "authorityId": de.authority_id, "area": "PQ",
                "workflows": [workflow("REQUEST_COORDINATOR", &["nimic-de"])] }),
    )
    .await;
    let mut live = service.subscriptions(&nimic).await;
    live.subscribe("n", LIVE, json!({})).await;

    // Two invitations; each code goes by mail to its own address only.
    for (id, address) in [("de-a", "imi@a.example.de"), ("de-b", "imi@b.example.de")] {
        let invited = mutate(
            &service,
            token,
            "inviteAuthority",
            "InviteAuthorityInput",
            "position",
            json!({
                "authorityId": id,
                "kind": "COMPETENT_AUTHORITY",
                "access": [{ "area": "PQ", "workflows": [workflow("REQUEST_AUTHORITY", &["nimic-de"])] }],
                "contactEmail": address
            }),
        )
        .await;
        assert!(invited.get("registrationCode").is_none());
    }
    let code_a = mailed_code(&service, "imi@a.example.de").await;
    let code_b = mailed_code(&service, "imi@b.example.de").await;
    assert_ne!(code_a, code_b);
    let mails = service.smtp.received();
    assert_eq!(mails.len(), 2, "{mails:?}");
    for mail in &mails {
        assert!(mail
            .header("Subject")
            .unwrap()
            .contains("Registrierungscode"));
        let other = if mail.to[0].contains("@a.") {
            &code_b
        } else {
            &code_a
        };
        assert!(
            !mail.data.contains(other.as_str()),
            "a code went to the wrong address"
        );
    }

    // de-a registers with its code: the coordinator's data administrator is told live, in
    // the language the subscription asked for.
    mutate(
        &service,
        None,
        "registerWithInvitation",
        "RegisterWithInvitationInput",
        "position",
        json!({
            "authorityId": "de-a",
            "registrationCode": code_a,
            "data": { "officialName": "Amt A" },
            "firstUser": { "login": "a.lda", "password": "a-lda-password-1",
                           "name": "Alma A", "email": "alma@a.example.de" }
        }),
    )
    .await;
    let pushed = live.receive().await;
    assert_eq!(pushed["type"], "next", "{pushed}");
    let n = &pushed["payload"]["data"]["notifications"];
    assert_eq!(n["kind"], "awaiting_validation");
    assert_eq!(n["aggregateId"], "de-a");
    assert_eq!(n["language"], "fr");
    assert!(n["subject"].as_str().unwrap().contains("validation"), "{n}");

    // The list holds it unread, newest first (after the coordinator's own welcome), in the
    // caller's language; marking both read empties the unread list.
    let list = service
        .graphql(token, None, LIST, json!({ "unread": true }))
        .await;
    assert!(list["errors"].is_null(), "{list}");
    let edges = list["data"]["notifications"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    let kinds: Vec<&str> = edges
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["awaiting_validation", "user_registered"], "{list}");
    assert_eq!(list["data"]["notifications"]["unreadCount"], 2);
    let ids: Vec<_> = edges.iter().map(|e| e["node"]["id"].clone()).collect();
    let marked = service
        .graphql(
            token,
            None,
            "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }",
            json!({ "ids": [ids[0], ids[1], "Authority/de-a/1/0"] }),
        )
        .await;
    assert_eq!(marked["data"]["markNotificationsRead"], 2, "{marked}");
    let list = service
        .graphql(token, None, LIST, json!({ "unread": true }))
        .await;
    assert_eq!(list["data"]["notifications"]["edges"], json!([]));
    // The registering authority's LDA does not see the coordinator's notifications.
    let a_lda = sign_in(&service, "a.lda", "a-lda-password-1").await;
    let theirs = service.graphql(Some(&a_lda), None, LIST, json!({})).await;
    let kinds: Vec<&str> = theirs["data"]["notifications"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{theirs}"))
        .iter()
        .map(|e| e["node"]["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.contains(&"awaiting_validation"), "{theirs}");
    assert!(kinds.contains(&"user_registered"), "{theirs}");
    assert!(
        !kinds.contains(&"registration_code"),
        "the code never shows in the app: {theirs}"
    );
    // ... nor the outbox status (no data administrator there).
    let denied = service.graphql(Some(&a_lda), None, STATUS, json!({})).await;
    assert_eq!(
        denied["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{denied}"
    );

    // de-b never registers. One deadline is scheduled (de-a's ended with its registration).
    wait_for_mails(&service, "alma@a.example.de", 1).await;
    let status = service.graphql(token, None, STATUS, json!({})).await;
    assert!(status["errors"].is_null(), "{status}");
    assert_eq!(
        status["data"]["notificationStatus"]["deadlinesScheduled"], 1,
        "{status}"
    );
    // Mailed: the two codes and de-a's first user's welcome (to the user's own address).
    assert_eq!(status["data"]["notificationStatus"]["sent"], 3, "{status}");
    assert_eq!(service.smtp.to("alma@a.example.de").len(), 1);

    // 31 days later the scheduler records the expiry, once, and the coordinator is told.
    service.clock.advance(chrono::Duration::days(31));
    let pushed = live.receive().await;
    let n = &pushed["payload"]["data"]["notifications"];
    assert_eq!(n["kind"], "invitation_expired", "{pushed}");
    assert_eq!(n["aggregateId"], "de-b");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let expired: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_id = 'de-b' AND event_type = 'InvitationExpired'",
    )
    .fetch_one(&service.services.pool)
    .await
    .unwrap();
    assert_eq!(expired, 1);
    let status = service.graphql(token, None, STATUS, json!({})).await;
    let s = &status["data"]["notificationStatus"];
    assert_eq!(
        (
            s["deadlinesScheduled"].as_i64(),
            s["deadlinesDone"].as_i64()
        ),
        (Some(0), Some(1)),
        "{status}"
    );

    // The coordinator's invitations: de-b expired (address shown to its data administrators),
    // de-a used; the authority's own LDA may not list them.
    let listed = service.graphql(token, None, INVITATIONS, json!({})).await;
    assert!(listed["errors"].is_null(), "{listed}");
    let states: Vec<(String, String)> = listed["data"]["invitations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["authorityId"].as_str().unwrap().to_string(),
                e["node"]["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("de-b".to_string(), "EXPIRED".to_string()),
            ("de-a".to_string(), "REGISTERED".to_string())
        ],
        "{listed}"
    );
    assert_eq!(
        listed["data"]["invitations"]["edges"][0]["node"]["contactEmail"],
        "imi@b.example.de"
    );
    let expired_only = service
        .graphql(token, None, INVITATIONS, json!({ "state": "EXPIRED" }))
        .await;
    assert_eq!(
        expired_only["data"]["invitations"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let denied = service
        .graphql(Some(&a_lda), None, INVITATIONS, json!({}))
        .await;
    assert_eq!(
        denied["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{denied}"
    );

    // The expired code is refused; a renewal mails a fresh one that works.
    let refused = service
        .graphql(
            None,
            None,
            "mutation($input: RegisterWithInvitationInput!) { registerWithInvitation(input: $input) { position } }",
            json!({ "input": {
                "authorityId": "de-b", "registrationCode": code_b,
                "data": { "officialName": "Amt B" },
                "firstUser": { "login": "b.lda", "password": "b-lda-password-1",
                               "name": "Bert B", "email": "bert@b.example.de" } } }),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["reason"], "REFUSED",
        "{refused}"
    );
    assert_eq!(
        refused["errors"][0]["message"],
        "the registration code has expired"
    );
    mutate(
        &service,
        token,
        "renewInvitation",
        "AuthorityInput",
        "position",
        json!({ "authorityId": "de-b", "waitFor": ["invitations"] }),
    )
    .await;
    wait_for_mails(&service, "imi@b.example.de", 2).await;
    let renewed = mailed_code(&service, "imi@b.example.de").await;
    assert_ne!(renewed, code_b);
    let pending = service
        .graphql(token, None, INVITATIONS, json!({ "state": "PENDING" }))
        .await;
    assert_eq!(
        pending["data"]["invitations"]["edges"][0]["node"]["authorityId"], "de-b",
        "{pending}"
    );
    assert_eq!(
        pending["data"]["invitations"]["edges"][0]["node"]["renewals"],
        1
    );
    mutate(
        &service,
        None,
        "registerWithInvitation",
        "RegisterWithInvitationInput",
        "position",
        json!({
            "authorityId": "de-b", "registrationCode": renewed,
            "data": { "officialName": "Amt B" },
            "firstUser": { "login": "b.lda", "password": "b-lda-password-1",
                           "name": "Bert B", "email": "bert@b.example.de" }
        }),
    )
    .await;
    live.close().await;
}

/// Waits (up to 60 s) until `n` mails reached `address`.
async fn wait_for_mails(service: &crate::harness::Service, address: &str, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while service.smtp.to(address).len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than {n} mails to {address}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_mail_sender_restarted_mid_batch_sends_no_mail_twice() {
    let service = start().await;
    let de = service
        .seed_national_coordinator("DE", "Bundesministerium für Wirtschaft")
        .await;
    let nimic = sign_in(&service, &de.login, &de.password).await;
    let token = Some(nimic.as_str());
    mutate(
        &service,
        token,
        "grantUserRoles",
        "UserRolesInput",
        "position",
        json!({ "authorityId": de.authority_id, "userId": de.user_id, "area": "PQ",
                "roles": ["DATA_ADMINISTRATOR"] }),
    )
    .await;
    mutate(
        &service,
        token,
        "grantAreaAccess",
        "GrantAreaAccessInput",
        "position",
        json!({ "authorityId": de.authority_id, "area": "PQ",
                "workflows": [workflow("REQUEST_COORDINATOR", &["nimic-de"])] }),
    )
    .await;
    // With the sender down, 40 invitations pile up in the outbox.
    service.stop_sender().await;
    const N: usize = 40;
    for i in 0..N {
        mutate(
            &service,
            token,
            "inviteAuthority",
            "InviteAuthorityInput",
            "position",
            json!({
                "authorityId": format!("de-{i}"),
                "kind": "COMPETENT_AUTHORITY",
                "access": [{ "area": "PQ", "workflows": [workflow("REQUEST_AUTHORITY", &["nimic-de"])] }],
                "contactEmail": format!("imi@{i}.example.de"),
                "waitFor": ["notifications"]
            }),
        )
        .await;
    }
    // A sender starts, is stopped mid-batch (as at a shutdown), and a new one takes over.
    service.start_sender();
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while service.smtp.received().len() < 5 {
        assert!(
            std::time::Instant::now() < until,
            "the first sender sent nothing"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    service.stop_sender().await;
    let before = service.smtp.received().len();
    assert!(before < N, "stopped mid-batch, not after: {before}");
    service.start_sender();
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while service.smtp.received().len() < N {
        assert!(
            std::time::Instant::now() < until,
            "mails missing after the restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails = service.smtp.received();
    assert_eq!(mails.len(), N, "a mail was sent twice");
    let mut ids: Vec<String> = mails
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), N);
    // Each authority got its own code, once.
    for i in 0..N {
        assert_eq!(
            service.smtp.to(&format!("imi@{i}.example.de")).len(),
            1,
            "de-{i}"
        );
    }
}
