//! The living demo (`imi seed --demo`): every login of the README signs in, every exchange is
//! in the state the README names, each role sees what the README says, and seeding again
//! changes nothing.

use crate::harness::{start_with_demo, Service};
use imi::demo::{logins, REQUESTS};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PASSWORD: &str = "imi-demo-2026";
const MEMBER_STATES: [&str; 5] = ["de", "fr", "at", "nl", "pl"];

async fn token(service: &Service, login: &str) -> String {
    let answer = service
        .graphql(
            None,
            None,
            "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }",
            json!({ "l": login, "p": PASSWORD }),
        )
        .await;
    answer["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{login} cannot sign in: {answer}"))
        .to_string()
}

/// Runs `query` as `login` until `expected` holds of the answer's data (the projections catch
/// up with the seed), for at most 60 s; returns the last data.
async fn eventually(
    service: &Service,
    login: &str,
    query: &str,
    variables: Value,
    expected: impl Fn(&Value) -> bool,
) -> Value {
    let token = token(service, login).await;
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = service
            .graphql(Some(&token), None, query, variables.clone())
            .await;
        if expected(&answer["data"]) {
            return answer["data"].clone();
        }
        assert!(Instant::now() < until, "{login}: {query}: {answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const REQUEST: &str = "query($id: ID!) { informationRequest(id: $id) { status viewLevel } }";
const ALERTS: &str = "query($involvement: AlertInvolvement) {
  alerts(first: 20, involvement: $involvement) { edges { node { status viewLevel } } }
}";
const QUEUE: &str = "{ alertQueue(first: 20) { edges { node { queue alert { status } } } } }";

const INBOX: &str = "query($first: Int!, $after: String) {
  requestInbox(first: $first, after: $after) {
    edges { cursor node { requestId action area dueDate since assignedTo } }
    pageInfo { hasNextPage endCursor }
  }
}";

/// One page of the inbox of the user signed in with `token`: its entries, whether more follow,
/// and its end cursor.
pub(crate) async fn inbox_page(
    service: &Service,
    token: &str,
    first: i32,
    after: Option<Value>,
) -> (Vec<Value>, bool, Option<Value>) {
    let answer = service
        .graphql(
            Some(token),
            None,
            INBOX,
            json!({ "first": first, "after": after }),
        )
        .await;
    let inbox = &answer["data"]["requestInbox"];
    let entries = inbox["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    let more = inbox["pageInfo"]["hasNextPage"] == true;
    (entries, more, Some(inbox["pageInfo"]["endCursor"].clone()))
}

fn statuses(data: &Value) -> Vec<String> {
    let mut out: Vec<String> = data["alerts"]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .map(|e| e["node"]["status"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test]
async fn the_demo_network_has_every_role_and_exchanges_in_every_state() {
    let (service, report) = start_with_demo().await;
    let demo = report.demo.expect("the demo's report");
    assert_eq!((demo.authorities, demo.users, demo.exchanges), (10, 50, 18));

    // Every login of the README signs in.
    for ms in MEMBER_STATES {
        for (login, _, _) in logins(ms) {
            token(&service, &login).await;
        }
    }

    // Each request is in the state its id names, as its requesting handler sees it (in full).
    let expected = [
        "DRAFT",
        "AWAITING_APPROVAL",
        "SENT",
        "ACCEPTED",
        "PARTIALLY_ANSWERED",
        "ANSWERED",
        "ADDITIONAL_INFORMATION_REQUESTED",
        "IN_REFERRAL",
        "CLOSED",
        "WITHDRAWN",
    ];
    for ((id, from, _, _), status) in REQUESTS.iter().zip(expected) {
        eventually(
            &service,
            &format!("{from}.pq.handler"),
            REQUEST,
            json!({ "id": id }),
            |d| {
                d["informationRequest"]["status"] == status
                    && d["informationRequest"]["viewLevel"] == "FULL_WITH_PERSONAL_DATA"
            },
        )
        .await;
    }

    // Each alert is in its state, as its initiating authority sees it.
    for (ms, expected) in [
        ("de", vec!["CLOSED"]),
        ("at", vec!["CLOSURE_PROPOSAL_BROADCAST", "SENT_BACK"]),
        ("pl", vec!["CLOSURE_PROPOSED", "DRAFT"]),
        ("fr", vec!["BROADCAST"]),
        ("nl", vec!["SUBMITTED", "WITHDRAWN"]),
    ] {
        eventually(
            &service,
            &format!("{ms}.sd.alerts"),
            ALERTS,
            json!({ "involvement": "INITIATING" }),
            |d| statuses(d) == expected,
        )
        .await;
    }

    // What the roles see. France's postbox: its own alert in full, the closed one it received
    // reduced.
    let postbox = eventually(
        &service,
        "fr.alerts",
        ALERTS,
        json!({ "involvement": "POSTBOX" }),
        |d| statuses(d) == ["BROADCAST", "CLOSED"],
    )
    .await;
    for edge in postbox["alerts"]["edges"].as_array().unwrap() {
        let level = if edge["node"]["status"] == "CLOSED" {
            "REDUCED_AFTER_CLOSURE"
        } else {
            "FULL_WITH_PERSONAL_DATA"
        };
        assert_eq!(edge["node"]["viewLevel"], level, "{postbox}");
    }
    let queue = eventually(&service, "nl.alerts", QUEUE, json!({}), |d| {
        d["alertQueue"]["edges"]
            .as_array()
            .is_some_and(|e| e.len() == 2)
    })
    .await;
    let mut queues: Vec<&str> = queue["alertQueue"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["queue"].as_str().unwrap())
        .collect();
    queues.sort();
    // France's alert to acknowledge, its own submitted alert to broadcast.
    assert_eq!(queues, ["TO_ACKNOWLEDGE", "TO_BROADCAST"], "{queue}");
    // An SD authority sees the alerts its postbox disseminated to it, in full; not the others.
    eventually(
        &service,
        "de.sd.alerts",
        ALERTS,
        json!({ "involvement": "RECIPIENT" }),
        |d| statuses(d) == ["BROADCAST", "CLOSURE_PROPOSAL_BROADCAST"],
    )
    .await;
    // Poland's closure proposal stays in Poland during its comment period: the Netherlands'
    // SD authority still sees the alert as broadcast.
    eventually(
        &service,
        "nl.sd.alerts",
        ALERTS,
        json!({ "involvement": "RECIPIENT" }),
        |d| statuses(d) == ["BROADCAST"],
    )
    .await;
    // The allocator of the French PQ authority sees the requests it allocated without
    // personal data; a basic user of the requesting authority only monitors.
    eventually(
        &service,
        "fr.pq.allocator",
        REQUEST,
        json!({ "id": "demo-request-closed" }),
        |d| d["informationRequest"]["viewLevel"] == "FULL",
    )
    .await;
    eventually(
        &service,
        "de.pq.basic",
        REQUEST,
        json!({ "id": "demo-request-closed" }),
        |d| d["informationRequest"]["viewLevel"] == "MONITORING",
    )
    .await;

    // Every login's inbox, read one and two steps a page, is its inbox read in one page.
    let mut paged = 0;
    for ms in MEMBER_STATES {
        for (login, _, _) in logins(ms) {
            let token = token(&service, &login).await;
            let (whole, more, _) = inbox_page(&service, &token, 100, None).await;
            assert!(!more, "{login}");
            for size in [1, 2] {
                let (mut entries, mut after) = (Vec::new(), None);
                loop {
                    let (page, more, end) = inbox_page(&service, &token, size, after).await;
                    assert!(
                        !page.is_empty() || !more,
                        "{login}: an empty page before the end"
                    );
                    entries.extend(page);
                    if !more {
                        break;
                    }
                    after = end;
                }
                assert_eq!(entries, whole, "{login}, {size} a page");
            }
            paged += usize::from(whole.len() >= 2);
        }
    }
    assert!(
        paged >= 2,
        "too few inboxes with two steps to page through: {paged}"
    );
    // A cursor that is not the inbox's, and a page too large, are refused.
    let token = token(&service, "de.pq.handler").await;
    let other = service
        .graphql(
            Some(&token),
            None,
            "{ informationRequests(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let other = other["data"]["informationRequests"]["pageInfo"]["endCursor"].clone();
    assert!(other.is_string(), "{other}");
    for (first, after) in [(5, json!("junk")), (5, other), (101, Value::Null)] {
        let answer = service
            .graphql(
                Some(&token),
                None,
                INBOX,
                json!({ "first": first, "after": after }),
            )
            .await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{first} {after}: {answer}"
        );
    }

    // Seeding again changes nothing.
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events")
            .fetch_one(&service.services.pool)
            .await
            .unwrap()
    };
    let before = count().await;
    let again = imi::seed::seed(&service.services.app, true)
        .await
        .expect("seeding again");
    let demo = again.demo.expect("the demo's report");
    assert_eq!((demo.authorities, demo.users, demo.exchanges), (0, 0, 0));
    assert_eq!(count().await, before, "seeding again wrote events");
}
