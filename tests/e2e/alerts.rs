//! Alerts, end to end over HTTP: an SD alert from a German alert authority through its
//! coordinator (Germany's national coordinator, its incoming alert postbox) to France and
//! Austria; each postbox acknowledges and disseminates to an alert authority of its own;
//! France adds information through its postbox; Austria, the Member State of Establishment,
//! proposes closure; comments and objections run their periods with the clock moved forward,
//! and the closing coordinator closes. At each step the test checks what each participant
//! sees. A second alert is withdrawn and stops there.

use crate::harness::{start, Account, Service};
use serde_json::{json, Value};

const LOGIN: &str = "mutation($login: String!, $password: String!) {
  login(login: $login, password: $password) { token }
}";

const ALERT: &str = "query($id: ID!) {
  alert(id: $id) {
    id viewLevel status kind
    recipientMemberStates { memberState postboxId acknowledgedAt }
    recipientAuthorityIds
    closure { closingCoordinatorId commentPeriodEndsAt objectionPeriodEndsAt objectingMemberStates }
    content { serviceProvider dangerousActivity memberStateOfEstablishment attachmentNames erased }
    history { entry authorityId broadcast text }
  }
}";

const QUEUE: &str = "query {
  alertQueue(first: 20) { edges { node { queue alert { id viewLevel } } } }
}";

const ALERTS: &str = "query($involvement: AlertInvolvement) {
  alerts(first: 20, involvement: $involvement) { edges { node { id status viewLevel } } }
}";

pub(crate) struct Client<'a> {
    service: &'a Service,
    pub(crate) token: String,
}

impl Client<'_> {
    async fn run(&self, field: &str, input_type: &str, selection: &str, input: Value) -> Value {
        let query = format!(
            "mutation($input: {input_type}!) {{ {field}(input: $input) {{ {selection} }} }}"
        );
        self.service
            .graphql(Some(&self.token), None, &query, json!({ "input": input }))
            .await
    }

    /// Waits (up to 60 s) until the caller has a notification of `kind` about `alert`.
    pub(crate) async fn wait_for_notification(&self, kind: &str, alert: &str) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let list = self
                .service
                .graphql(
                    Some(&self.token),
                    None,
                    "{ notifications(first: 50) { edges { node { kind aggregateId } } } }",
                    json!({}),
                )
                .await;
            let found = list["data"]["notifications"]["edges"]
                .as_array()
                .is_some_and(|edges| {
                    edges
                        .iter()
                        .any(|e| e["node"]["kind"] == kind && e["node"]["aggregateId"] == alert)
                });
            if found {
                return;
            }
            assert!(
                std::time::Instant::now() < until,
                "no {kind} notification about {alert}: {list}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Runs a mutation that must succeed; returns its payload.
    pub(crate) async fn ok(
        &self,
        field: &str,
        input_type: &str,
        selection: &str,
        input: Value,
    ) -> Value {
        let answer = self.run(field, input_type, selection, input).await;
        assert!(answer["errors"].is_null(), "{field}: {answer}");
        assert_eq!(answer["data"][field]["waited"], true, "{field}: {answer}");
        answer["data"][field].clone()
    }

    /// Runs a mutation that must be refused; returns the error's code and message.
    pub(crate) async fn refused(
        &self,
        field: &str,
        input_type: &str,
        input: Value,
    ) -> (String, String) {
        let answer = self.run(field, input_type, "position", input).await;
        let error = &answer["errors"][0];
        assert!(!error.is_null(), "{field} should be refused: {answer}");
        (
            error["extensions"]["code"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            error["message"].as_str().unwrap_or("").to_string(),
        )
    }

    pub(crate) async fn query(&self, query: &str, variables: Value) -> Value {
        self.service
            .graphql(Some(&self.token), None, query, variables)
            .await
    }

    /// The alert as this client sees it; `Err(code)` when refused.
    pub(crate) async fn alert(&self, id: &str) -> Result<Value, String> {
        let answer = self.query(ALERT, json!({ "id": id })).await;
        if answer["errors"].is_null() {
            Ok(answer["data"]["alert"].clone())
        } else {
            Err(answer["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("")
                .to_string())
        }
    }

    async fn level(&self, id: &str) -> String {
        match self.alert(id).await {
            Ok(alert) => alert["viewLevel"].as_str().unwrap_or("").to_string(),
            Err(code) => code,
        }
    }

    async fn queue(&self) -> Vec<(String, String)> {
        let answer = self.query(QUEUE, json!({})).await;
        assert!(answer["errors"].is_null(), "{answer}");
        answer["data"]["alertQueue"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["node"]["queue"].as_str().unwrap().to_string(),
                    e["node"]["alert"]["id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

pub(crate) async fn sign_in<'a>(service: &'a Service, login: &str, password: &str) -> Client<'a> {
    let answer = service
        .graphql(
            None,
            None,
            LOGIN,
            json!({ "login": login, "password": password }),
        )
        .await;
    let token = answer["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token for {login}: {answer}"))
        .to_string();
    Client { service, token }
}

fn alerts_workflow(role: &str, linked: &str) -> Value {
    json!([{ "workflow": "ALERTS", "role": role, "linkedCoordinators": [linked] }])
}

/// A Member State: its national coordinator as incoming alert postbox in SD (its LDA a data
/// administrator, alert handler and disseminator there), an alert authority linked to it
/// whose LDA is an alert handler, and a basic user of the coordinator.
pub(crate) struct Country<'a> {
    pub(crate) postbox: Client<'a>,
    pub(crate) postbox_id: String,
    pub(crate) authority: Client<'a>,
    pub(crate) authority_id: String,
    pub(crate) basic: Client<'a>,
}

pub(crate) async fn country<'a>(service: &'a Service, code: &str, name: &str) -> Country<'a> {
    country_in(service, code, name, "SD").await
}

async fn country_in<'a>(service: &'a Service, code: &str, name: &str, area: &str) -> Country<'a> {
    let account: Account = service.seed_national_coordinator(code, name).await;
    let postbox = sign_in(service, &account.login, &account.password).await;
    let roles = |roles: &[&str]| {
        json!({ "authorityId": account.authority_id, "userId": account.user_id, "area": area,
                "roles": roles })
    };
    postbox
        .ok(
            "grantUserRoles",
            "UserRolesInput",
            "position waited",
            roles(&["DATA_ADMINISTRATOR"]),
        )
        .await;
    postbox
        .ok(
            "grantAreaAccess",
            "GrantAreaAccessInput",
            "position waited",
            json!({ "authorityId": account.authority_id, "area": area,
                    "workflows": alerts_workflow("INCOMING_ALERT_POSTBOX", &account.authority_id) }),
        )
        .await;
    postbox
        .ok(
            "grantUserRoles",
            "UserRolesInput",
            "position waited",
            roles(&["ALERT_HANDLER", "ALERT_DISSEMINATOR"]),
        )
        .await;
    let lower = code.to_ascii_lowercase();
    let basic_login = format!("{lower}.basic");
    postbox
        .ok(
            "registerUser",
            "RegisterUserInput",
            "position waited userId",
            json!({ "authorityId": account.authority_id,
                    "user": { "login": basic_login, "password": "basic-user-password",
                              "name": format!("Basic {code}"),
                              "email": format!("basic@{lower}.example.eu") } }),
        )
        .await;
    let authority_id = format!("{lower}-gewerbe");
    let registered = postbox
        .ok(
            "registerAuthority",
            "RegisterAuthorityInput",
            "position waited userId",
            json!({
                "authorityId": authority_id,
                "kind": "COMPETENT_AUTHORITY",
                "access": [{ "area": area,
                             "workflows": alerts_workflow("ALERT_AUTHORITY", &account.authority_id) }],
                "data": { "officialName": format!("Trade supervision {code}") },
                "firstUser": { "login": format!("{lower}.gewerbe"),
                               "password": "authority-lda-password",
                               "name": format!("Handler {code}"),
                               "email": format!("handler@{lower}.example.eu") }
            }),
        )
        .await;
    let authority = sign_in(
        service,
        &format!("{lower}.gewerbe"),
        "authority-lda-password",
    )
    .await;
    authority
        .ok(
            "grantUserRoles",
            "UserRolesInput",
            "position waited",
            json!({ "authorityId": authority_id, "userId": registered["userId"], "area": area,
                    "roles": ["ALERT_HANDLER"] }),
        )
        .await;
    let basic = sign_in(service, &basic_login, "basic-user-password").await;
    Country {
        postbox,
        postbox_id: account.authority_id,
        authority,
        authority_id,
        basic,
    }
}

pub(crate) fn sd_alert(mse: Option<&str>) -> Value {
    json!({
        "memberStateOfEstablishment": mse,
        "dangerousActivity": "Unlicensed gas installations in residential buildings",
        "serviceProvider": "Gasbau Falsch GmbH, Hauptstraße 1, Wien",
        "attachmentNames": ["inspection-report.pdf"]
    })
}

pub(crate) fn input(alert_id: &str, more: Value) -> Value {
    let mut input = json!({ "alertId": alert_id });
    input
        .as_object_mut()
        .unwrap()
        .extend(more.as_object().unwrap().clone());
    input
}

#[tokio::test]
async fn an_sd_alert_from_draft_to_closure_and_a_withdrawn_one() {
    let service = start().await;
    let de = country(&service, "DE", "Bundesministerium für Wirtschaft").await;
    let fr = country(&service, "FR", "Ministère de l'Économie").await;
    let at = country(
        &service,
        "AT",
        "Bundesministerium für Arbeit und Wirtschaft",
    )
    .await;

    // Draft and submit: only Germany's initiating authority sees it, in full.
    let drafted = de
        .authority
        .ok(
            "draftSdAlert",
            "DraftSdAlertInput",
            "position waited alertId",
            json!({ "alert": sd_alert(Some("AT")) }),
        )
        .await;
    let a1 = drafted["alertId"].as_str().unwrap().to_string();
    assert_eq!(de.authority.level(&a1).await, "FULL_WITH_PERSONAL_DATA");
    assert_eq!(de.postbox.level(&a1).await, "NOT_FOUND");
    de.authority
        .ok(
            "submitAlert",
            "SubmitAlertInput",
            "position waited",
            input(&a1, json!({ "coordinatorId": de.postbox_id })),
        )
        .await;
    assert_eq!(
        de.postbox.queue().await,
        [("TO_BROADCAST".into(), a1.clone())]
    );
    assert_eq!(fr.postbox.level(&a1).await, "NOT_FOUND");

    // Broadcast to France and Austria: their postboxes see it and must acknowledge.
    let (code, message) = de
        .authority
        .refused(
            "broadcastAlert",
            "AlertMemberStatesInput",
            input(&a1, json!({ "memberStates": ["FR"] })),
        )
        .await;
    assert_eq!(code, "FORBIDDEN", "{message}");
    de.postbox
        .ok(
            "broadcastAlert",
            "AlertMemberStatesInput",
            "position waited",
            input(&a1, json!({ "memberStates": ["FR", "AT"] })),
        )
        .await;
    let seen = fr.postbox.alert(&a1).await.unwrap();
    assert_eq!(seen["viewLevel"], "FULL_WITH_PERSONAL_DATA");
    assert_eq!(
        seen["content"]["serviceProvider"],
        "Gasbau Falsch GmbH, Hauptstraße 1, Wien"
    );
    assert_eq!(fr.basic.level(&a1).await, "HIGH_LEVEL");
    let high = fr.basic.alert(&a1).await.unwrap();
    assert!(
        high["content"].is_null() && high["history"].is_null(),
        "{high}"
    );
    assert_eq!(fr.authority.level(&a1).await, "NOT_FOUND");
    for c in [&fr, &at] {
        assert_eq!(
            c.postbox.queue().await,
            [("TO_ACKNOWLEDGE".into(), a1.clone())]
        );
    }

    // Each postbox acknowledges and disseminates to its alert authority.
    for c in [&fr, &at] {
        let (code, _) = c
            .postbox
            .refused(
                "addAlertRecipients",
                "AddAlertRecipientsInput",
                input(&a1, json!({ "authorityIds": [c.authority_id] })),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT");
        c.postbox
            .ok(
                "acknowledgeAlert",
                "AlertInput",
                "position waited",
                input(&a1, json!({})),
            )
            .await;
        assert_eq!(
            c.postbox.queue().await,
            [("TO_DISSEMINATE".into(), a1.clone())]
        );
        c.postbox
            .ok(
                "addAlertRecipients",
                "AddAlertRecipientsInput",
                "position waited",
                input(&a1, json!({ "authorityIds": [c.authority_id] })),
            )
            .await;
        assert_eq!(c.authority.level(&a1).await, "FULL_WITH_PERSONAL_DATA");
        assert!(c.postbox.queue().await.is_empty());
    }
    let recipients = at
        .authority
        .query(ALERTS, json!({ "involvement": "RECIPIENT" }))
        .await;
    assert_eq!(
        recipients["data"]["alerts"]["edges"][0]["node"]["id"], a1,
        "{recipients}"
    );

    // France adds information through its postbox, which broadcasts it.
    let info = fr
        .authority
        .ok(
            "submitAlertInformation",
            "SubmitAlertInformationInput",
            "position waited informationId",
            input(
                &a1,
                json!({ "kind": "INFORMATION", "coordinatorId": fr.postbox_id,
                        "text": "The firm also operates in Strasbourg" }),
            ),
        )
        .await;
    assert_eq!(
        fr.postbox.queue().await,
        [("INFORMATION_TO_BROADCAST".into(), a1.clone())]
    );
    fr.postbox
        .ok(
            "broadcastAlertInformation",
            "BroadcastAlertInformationInput",
            "position waited",
            input(&a1, json!({ "informationId": info["informationId"] })),
        )
        .await;
    let history = de.authority.alert(&a1).await.unwrap()["history"].clone();
    assert_eq!(
        history,
        json!([{ "entry": "Information", "authorityId": fr.authority_id, "broadcast": true,
                 "text": "The firm also operates in Strasbourg" }])
    );

    // Closure: Austria (the Member State of Establishment) proposes, France may not.
    let propose = |reason: &str| {
        input(
            &a1,
            json!({ "closingCoordinatorId": at.postbox_id, "reason": reason }),
        )
    };
    let (code, _) = fr
        .authority
        .refused(
            "proposeAlertClosure",
            "ProposeAlertClosureInput",
            propose("Not ours to close"),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    at.authority
        .ok(
            "proposeAlertClosure",
            "ProposeAlertClosureInput",
            "position waited",
            propose("The licence was withdrawn and the firm closed"),
        )
        .await;
    let mut at_queue = at.postbox.queue().await;
    at_queue.sort();
    assert_eq!(at_queue, [("TO_COMMENT".into(), a1.clone())]);
    at.postbox
        .ok(
            "commentOnAlertClosure",
            "AlertTextInput",
            "position waited",
            input(&a1, json!({ "text": "Confirmed by our inspection" })),
        )
        .await;
    let (code, message) = at
        .postbox
        .refused(
            "broadcastAlertClosureProposal",
            "AlertInput",
            input(&a1, json!({})),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("comment period runs until"), "{message}");

    // Seven days later (SD's comment period), the scheduler ends the comment period and tells
    // the closing coordinator (mail and app); then it broadcasts the proposal.
    service.clock.advance(chrono::Duration::days(7));
    at.postbox
        .wait_for_notification("comment_period_ended", &a1)
        .await;
    let (code, _) = at
        .authority
        .refused(
            "commentOnAlertClosure",
            "AlertTextInput",
            input(&a1, json!({ "text": "Too late" })),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    at.postbox
        .ok(
            "broadcastAlertClosureProposal",
            "AlertInput",
            "position waited",
            input(&a1, json!({})),
        )
        .await;
    assert!(fr
        .postbox
        .queue()
        .await
        .contains(&("TO_OBJECT".into(), a1.clone())));
    fr.postbox
        .ok(
            "objectToAlertClosure",
            "AlertTextInput",
            "position waited",
            input(
                &a1,
                json!({ "text": "The firm still operates in Strasbourg" }),
            ),
        )
        .await;
    let (code, message) = at
        .postbox
        .refused("closeAlert", "AlertInput", input(&a1, json!({})))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("objection period runs until"), "{message}");

    // Fourteen days later (SD's objection period), the scheduler ends it; the closing
    // coordinator is told and closes.
    service.clock.advance(chrono::Duration::days(14));
    at.postbox
        .wait_for_notification("objection_period_ended", &a1)
        .await;
    at.postbox
        .ok(
            "closeAlert",
            "AlertInput",
            "position waited",
            input(&a1, json!({})),
        )
        .await;
    let closed = fr.postbox.alert(&a1).await.unwrap();
    assert_eq!(closed["status"], "CLOSED");
    assert_eq!(closed["viewLevel"], "REDUCED_AFTER_CLOSURE");
    assert_eq!(closed["closure"]["objectingMemberStates"], json!(["FR"]));
    assert!(closed["content"]["serviceProvider"].is_null(), "{closed}");
    assert_eq!(closed["content"]["memberStateOfEstablishment"], "AT");
    assert!(closed["history"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["text"].is_null()));
    assert_eq!(fr.basic.level(&a1).await, "HIGH_LEVEL");
    let stats = de
        .basic
        .query(
            "query { alertStatistics(area: \"SD\") { memberState sent received closed objections } }",
            json!({}),
        )
        .await;
    assert_eq!(
        stats["data"]["alertStatistics"],
        json!([
            { "memberState": "AT", "sent": 0, "received": 1, "closed": 0, "objections": 0 },
            { "memberState": "DE", "sent": 1, "received": 0, "closed": 1, "objections": 0 },
            { "memberState": "FR", "sent": 0, "received": 1, "closed": 0, "objections": 1 }
        ]),
        "{stats}"
    );
    // As of the log's head, every participant's view is the live one: the fold of the
    // events up to a point and the read models agree.
    const AS_OF: &str = "query($id: ID!, $asOf: AsOf) {
      alert(id: $id, asOf: $asOf) {
        id viewLevel status kind
        recipientMemberStates { memberState postboxId acknowledgedAt }
        recipientAuthorityIds
        closure { closingCoordinatorId commentPeriodEndsAt objectionPeriodEndsAt objectingMemberStates }
        content { serviceProvider dangerousActivity memberStateOfEstablishment attachmentNames erased }
        history { entry authorityId broadcast text }
      }
    }";
    let head: i64 = sqlx::query_scalar("SELECT max(position) FROM events")
        .fetch_one(&service.services.pool)
        .await
        .unwrap();
    for client in [
        &de.authority,
        &de.postbox,
        &fr.postbox,
        &fr.basic,
        &at.postbox,
    ] {
        let live = client.query(AS_OF, json!({ "id": a1, "asOf": null })).await;
        let past = client
            .query(AS_OF, json!({ "id": a1, "asOf": { "position": head } }))
            .await;
        assert!(live["errors"].is_null(), "{live}");
        assert_eq!(past, live);
    }

    // The European Commission's statistics reader, registered by the platform's operator:
    // the figures of every Member State, and no exchange at all.
    imi_store::credentials::set(
        &service.services.pool,
        "ec-stats",
        imi_domain::access::COMMISSION,
        "ec-stats",
        "ec-stats-password",
    )
    .await
    .unwrap();
    let commission = sign_in(&service, "ec-stats", "ec-stats-password").await;
    let figures = commission
        .query(
            "query { alertStatistics(area: \"SD\") { memberState sent received closed objections } }",
            json!({}),
        )
        .await;
    assert_eq!(figures["data"], stats["data"], "{figures}");
    // The Scoreboard too (no request was sent here: no Member State has figures).
    let scoreboard = commission
        .query(
            "query { scoreboard(from: \"2020-01-01\", to: \"2040-01-01\") { memberState } }",
            json!({}),
        )
        .await;
    assert_eq!(scoreboard["data"]["scoreboard"], json!([]), "{scoreboard}");
    for (query, variables) in [
        (ALERT, json!({ "id": a1 })),
        (AS_OF, json!({ "id": a1, "asOf": { "position": head } })),
        (ALERTS, json!({})),
        (QUEUE, json!({})),
        ("query { informationRequest(id: \"r-1\") { id } }", json!({})),
        (
            "query($e: String!) { exchangeHistory(exchange: $e) { edges { cursor } } }",
            json!({ "e": format!("Alert/{a1}") }),
        ),
        (
            "query($e: String!) { exchangeDiff(exchange: $e, from: { position: 0 }, to: { position: 1 }) { fields { path } } }",
            json!({ "e": format!("Alert/{a1}") }),
        ),
        ("query { processingLog(first: 5) { edges { cursor } } }", json!({})),
    ] {
        let answer = commission.query(query, variables).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{query}: {answer}"
        );
        assert!(!answer.to_string().contains("Gasbau"), "{answer}");
    }

    // A second alert, broadcast to France only, is withdrawn: it stops there.
    let drafted = de
        .authority
        .ok(
            "draftSdAlert",
            "DraftSdAlertInput",
            "position waited alertId",
            json!({ "alert": sd_alert(None) }),
        )
        .await;
    let a2 = drafted["alertId"].as_str().unwrap().to_string();
    de.authority
        .ok(
            "submitAlert",
            "SubmitAlertInput",
            "position waited",
            input(&a2, json!({ "coordinatorId": de.postbox_id })),
        )
        .await;
    de.postbox
        .ok(
            "broadcastAlert",
            "AlertMemberStatesInput",
            "position waited",
            input(&a2, json!({ "memberStates": ["FR"] })),
        )
        .await;
    assert_eq!(at.postbox.level(&a2).await, "NOT_FOUND");
    de.authority
        .ok(
            "withdrawAlert",
            "AlertTextInput",
            "position waited",
            input(&a2, json!({ "text": "Based on a mix-up of firms" })),
        )
        .await;
    let (code, message) = fr
        .postbox
        .refused("acknowledgeAlert", "AlertInput", input(&a2, json!({})))
        .await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("BAD_USER_INPUT", "the alert was withdrawn")
    );
    let withdrawn = fr.postbox.alert(&a2).await.unwrap();
    assert_eq!(withdrawn["status"], "WITHDRAWN");
    assert_eq!(withdrawn["viewLevel"], "REDUCED_AFTER_CLOSURE");
    assert!(fr.postbox.queue().await.is_empty());
}

const PQ_ALERT: &str = "query($id: ID!) {
  alert(id: $id) { viewLevel profession scope threeDayDeadline content { professional decidingAuthority } }
}";

async fn pq_view(client: &Client<'_>, id: &str) -> Value {
    client.query(PQ_ALERT, json!({ "id": id })).await["data"]["alert"].clone()
}

#[tokio::test]
async fn a_pq_alerts_incoming_postbox_sees_profession_and_scope_until_it_takes_the_alert() {
    let service = start().await;
    let de = country_in(&service, "DE", "Bundesministerium für Gesundheit", "PQ").await;
    let fr = country_in(&service, "FR", "Ministère de la Santé", "PQ").await;
    let decided = chrono::Utc::now() - chrono::Duration::days(1);
    let drafted = de
        .authority
        .ok(
            "draftPqAlert",
            "DraftPqAlertInput",
            "position waited alertId",
            json!({ "alert": {
                "profession": "doctor",
                "scope": "PROHIBITION",
                "appliesFrom": decided.date_naive().to_string(),
                "decidedAt": decided.to_rfc3339(),
                "decidingAuthority": "Approbationsbehörde Berlin",
                "professional": "Dr. Fritz Falsch, born 1970-01-01"
            } }),
        )
        .await;
    let id = drafted["alertId"].as_str().unwrap().to_string();
    de.authority
        .ok(
            "submitAlert",
            "SubmitAlertInput",
            "position waited",
            input(&id, json!({ "coordinatorId": de.postbox_id })),
        )
        .await;
    de.postbox
        .ok(
            "broadcastAlert",
            "AlertMemberStatesInput",
            "position waited",
            input(&id, json!({ "memberStates": ["FR"] })),
        )
        .await;
    let routed = pq_view(&fr.postbox, &id).await;
    assert_eq!(routed["viewLevel"], "PROFESSION_AND_SCOPE", "{routed}");
    assert_eq!(routed["profession"], "doctor");
    assert_eq!(routed["scope"], "PROHIBITION");
    assert!(routed["content"].is_null(), "{routed}");
    let basic = pq_view(&fr.basic, &id).await;
    assert_eq!(basic["viewLevel"], "HIGH_LEVEL");
    assert!(basic["profession"].is_null(), "{basic}");
    let initiating = pq_view(&de.authority, &id).await;
    assert_eq!(
        initiating["content"]["professional"],
        "Dr. Fritz Falsch, born 1970-01-01"
    );
    assert!(initiating["threeDayDeadline"].is_string());

    // The postbox takes the alert: it handles it and sees it in full.
    fr.postbox
        .ok(
            "acknowledgeAlert",
            "AlertInput",
            "position waited",
            input(&id, json!({})),
        )
        .await;
    fr.postbox
        .ok(
            "addAlertRecipients",
            "AddAlertRecipientsInput",
            "position waited",
            input(&id, json!({ "authorityIds": [fr.postbox_id] })),
        )
        .await;
    let handled = pq_view(&fr.postbox, &id).await;
    assert_eq!(handled["viewLevel"], "FULL_WITH_PERSONAL_DATA", "{handled}");
    assert_eq!(
        handled["content"]["decidingAuthority"],
        "Approbationsbehörde Berlin"
    );
}

/// What one Member State writes on an alert stays there until a coordinator broadcasts it:
/// the coordinator's send-back and its reason, information not yet broadcast, a closure
/// proposal in its comment period (not even its status) and the comments on it.
#[tokio::test]
async fn alert_content_not_broadcast_stays_in_its_member_state() {
    let service = start().await;
    let de = country(&service, "DE", "Bundesministerium für Wirtschaft").await;
    let fr = country(&service, "FR", "Ministère de l'Économie").await;
    const SENT_BACK: &str = "SENT-BACK: name the provider's branch";
    const DE_PENDING: &str = "DE-PENDING: a second site in Passau";
    const FR_PENDING: &str = "FR-PENDING: a customer complaint in Lyon";
    const PROPOSAL: &str = "PROPOSAL: the licence was withdrawn";
    const COMMENT: &str = "COMMENT: confirmed by the chamber of crafts";

    // Germany is responsible for closure (no Member State of Establishment is known).
    let drafted = de
        .authority
        .ok(
            "draftSdAlert",
            "DraftSdAlertInput",
            "position waited alertId",
            json!({ "alert": sd_alert(None) }),
        )
        .await;
    let a = drafted["alertId"].as_str().unwrap().to_string();
    let submit = input(&a, json!({ "coordinatorId": de.postbox_id }));
    de.authority
        .ok(
            "submitAlert",
            "SubmitAlertInput",
            "position waited",
            submit.clone(),
        )
        .await;
    // The queue tells the truth: the postbox's disseminator has it to broadcast; a basic user
    // of the same postbox, who may not broadcast, has nothing to do.
    assert_eq!(
        de.postbox.queue().await,
        [("TO_BROADCAST".into(), a.clone())]
    );
    assert!(de.basic.queue().await.is_empty());
    de.postbox
        .ok(
            "sendBackAlert",
            "AlertTextInput",
            "position waited",
            input(&a, json!({ "text": SENT_BACK })),
        )
        .await;
    de.authority
        .ok("submitAlert", "SubmitAlertInput", "position waited", submit)
        .await;
    de.postbox
        .ok(
            "broadcastAlert",
            "AlertMemberStatesInput",
            "position waited",
            input(&a, json!({ "memberStates": ["FR"] })),
        )
        .await;
    fr.postbox
        .ok(
            "acknowledgeAlert",
            "AlertInput",
            "position waited",
            input(&a, json!({})),
        )
        .await;
    fr.postbox
        .ok(
            "addAlertRecipients",
            "AddAlertRecipientsInput",
            "position waited",
            input(&a, json!({ "authorityIds": [fr.authority_id] })),
        )
        .await;

    // Each side submits information to its own coordinator; neither broadcasts it yet.
    for (c, text) in [(&de, DE_PENDING), (&fr, FR_PENDING)] {
        c.authority
            .ok(
                "submitAlertInformation",
                "SubmitAlertInformationInput",
                "position waited informationId",
                input(
                    &a,
                    json!({ "kind": "INFORMATION", "coordinatorId": c.postbox_id, "text": text }),
                ),
            )
            .await;
    }
    // Germany proposes closure and comments on it: the comment period runs.
    de.authority
        .ok(
            "proposeAlertClosure",
            "ProposeAlertClosureInput",
            "position waited",
            input(
                &a,
                json!({ "closingCoordinatorId": de.postbox_id, "reason": PROPOSAL }),
            ),
        )
        .await;
    de.postbox
        .ok(
            "commentOnAlertClosure",
            "AlertTextInput",
            "position waited",
            input(&a, json!({ "text": COMMENT })),
        )
        .await;

    // Inside Germany everything German shows; France's pending information does not.
    let inside = de.authority.alert(&a).await.unwrap();
    let text = inside.to_string();
    for shown in [SENT_BACK, DE_PENDING, PROPOSAL, COMMENT] {
        assert!(text.contains(shown), "Germany misses {shown:?}: {inside}");
    }
    assert!(!text.contains(FR_PENDING), "{inside}");
    assert_eq!(inside["status"], "CLOSURE_PROPOSED");

    // In France only what is French or was broadcast shows; the proposal is not known yet.
    for client in [&fr.postbox, &fr.authority] {
        let outside = client.alert(&a).await.unwrap();
        let text = outside.to_string();
        for hidden in [SENT_BACK, DE_PENDING, PROPOSAL, COMMENT] {
            assert!(!text.contains(hidden), "France reads {hidden:?}: {outside}");
        }
        assert!(text.contains(FR_PENDING), "{outside}");
        assert_eq!(outside["status"], "BROADCAST", "{outside}");
        assert!(outside["closure"].is_null(), "{outside}");
        let entries: Vec<&str> = outside["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["entry"].as_str().unwrap())
            .collect();
        assert_eq!(entries, ["Information"], "{outside}");
        let listed = client.query(ALERTS, json!({})).await.to_string();
        assert!(!listed.contains("CLOSURE_PROPOSED"), "{listed}");
    }
    assert!(fr
        .postbox
        .queue()
        .await
        .iter()
        .all(|(queue, _)| queue != "TO_OBJECT"));
    let filtered = fr
        .basic
        .query(
            "{ alerts(first: 20, status: CLOSURE_PROPOSED) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(filtered["data"]["alerts"]["edges"], json!([]), "{filtered}");
}
