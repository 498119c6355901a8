//! Training mode over HTTP: a trainer (a data administrator of a national coordinator) moves
//! the service clock forward so an SD alert runs through its comment and objection periods to
//! closure; who may not move it, and that it never moves backward. Production refuses every
//! clock change and refuses to start on a database that ran in training mode.

use crate::alerts::{country, input, sd_alert, Client};
use crate::harness::{start, start_in, Service};
use imi_store::training::Mode;
use serde_json::{json, Value};

const ADVANCE: &str =
    "mutation($by: String!) { advanceClock(by: $by) { mode offset offsetSeconds now } }";
const CLOCK: &str = "{ serviceClock { mode offset offsetSeconds now } }";

async fn advance(client: &Client<'_>, by: &str) -> Value {
    client.query(ADVANCE, json!({ "by": by })).await
}

/// The code and reason of a refused clock move.
async fn refused(client: &Client<'_>, by: &str) -> (String, String) {
    let answer = advance(client, by).await;
    let error = &answer["errors"][0];
    assert!(
        !error.is_null(),
        "moving the clock by {by} should be refused: {answer}"
    );
    assert!(answer["data"].is_null(), "{answer}");
    let text = |key: &str| error["extensions"][key].as_str().unwrap_or("").to_string();
    (text("code"), text("reason"))
}

async fn health(service: &Service) -> String {
    reqwest::get(format!("{}/health", service.base))
        .await
        .expect("health")
        .text()
        .await
        .expect("text")
}

#[tokio::test]
async fn a_trainer_runs_an_sd_alert_through_its_periods_to_closure_by_moving_the_clock() {
    let service = start_in(Mode::Training).await;
    let de = country(&service, "DE", "Bundesministerium für Wirtschaft").await;
    let fr = country(&service, "FR", "Ministère de l'Économie").await;
    let at = country(
        &service,
        "AT",
        "Bundesministerium für Arbeit und Wirtschaft",
    )
    .await;
    assert_eq!(
        health(&service).await.lines().nth(1),
        Some("mode: training")
    );

    let drafted = de
        .authority
        .ok(
            "draftSdAlert",
            "DraftSdAlertInput",
            "position waited alertId",
            json!({ "alert": sd_alert(Some("AT")) }),
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
            input(&id, json!({ "memberStates": ["FR", "AT"] })),
        )
        .await;
    at.postbox
        .ok(
            "acknowledgeAlert",
            "AlertInput",
            "position waited",
            input(&id, json!({})),
        )
        .await;
    at.postbox
        .ok(
            "addAlertRecipients",
            "AddAlertRecipientsInput",
            "position waited",
            input(&id, json!({ "authorityIds": [at.authority_id] })),
        )
        .await;
    at.authority
        .ok(
            "proposeAlertClosure",
            "ProposeAlertClosureInput",
            "position waited",
            input(
                &id,
                json!({ "closingCoordinatorId": at.postbox_id, "reason": "The firm closed" }),
            ),
        )
        .await;

    // Who may not move the clock, and never backward.
    assert_eq!(refused(&fr.basic, "7d").await.0, "FORBIDDEN");
    assert_eq!(refused(&at.authority, "7d").await.0, "FORBIDDEN");
    for backward in ["-1d", "0d"] {
        assert_eq!(
            refused(&de.postbox, backward).await,
            ("BAD_USER_INPUT".to_string(), "CLOCK_BACKWARD".to_string())
        );
    }
    assert_eq!(refused(&de.postbox, "a week").await.0, "BAD_USER_INPUT");
    let clock = fr.basic.query(CLOCK, json!({})).await;
    assert_eq!(clock["data"]["serviceClock"]["offsetSeconds"], 0, "{clock}");

    // Seven days on: the scheduler ends the comment period at once; the closing coordinator
    // broadcasts the proposal and France objects.
    let moved = advance(&de.postbox, "7d").await;
    assert_eq!(
        (
            &moved["data"]["advanceClock"]["mode"],
            &moved["data"]["advanceClock"]["offset"]
        ),
        (&json!("training"), &json!("+7d")),
        "{moved}"
    );
    at.postbox
        .wait_for_notification("comment_period_ended", &id)
        .await;
    at.postbox
        .ok(
            "broadcastAlertClosureProposal",
            "AlertInput",
            "position waited",
            input(&id, json!({})),
        )
        .await;
    fr.postbox
        .ok(
            "objectToAlertClosure",
            "AlertTextInput",
            "position waited",
            input(&id, json!({ "text": "Still active in Strasbourg" })),
        )
        .await;
    let (code, message) = at
        .postbox
        .refused("closeAlert", "AlertInput", input(&id, json!({})))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("objection period runs until"), "{message}");

    // Fourteen days more: the objection period ends; the closing coordinator closes.
    let moved = advance(&de.postbox, "14d").await;
    assert_eq!(moved["data"]["advanceClock"]["offset"], "+21d", "{moved}");
    at.postbox
        .wait_for_notification("objection_period_ended", &id)
        .await;
    at.postbox
        .ok(
            "closeAlert",
            "AlertInput",
            "position waited",
            input(&id, json!({})),
        )
        .await;
    let closed = fr.postbox.alert(&id).await.unwrap();
    assert_eq!(closed["status"], "CLOSED");
    assert_eq!(closed["viewLevel"], "REDUCED_AFTER_CLOSURE");
    assert_eq!(closed["closure"]["objectingMemberStates"], json!(["FR"]));

    // The offset shows in /health, and every mail says it comes from a training environment.
    let text = health(&service).await;
    assert!(text.contains("clock: +21d"), "{text}");
    let mails = service
        .smtp
        .wait_for(1, std::time::Duration::from_secs(30))
        .await;
    assert!(!mails.is_empty(), "no mail was sent");
    assert!(
        mails
            .iter()
            .all(|m| m.body().contains("IMI training environment")),
        "every mail has the training footer"
    );

    // Not even the database lets the clock go back, and production refuses this database.
    let pool = &service.services.pool;
    let back = sqlx::query("UPDATE training_clock SET offset_seconds = 0")
        .execute(pool)
        .await;
    assert!(back.is_err(), "the clock moved backward");
    let refusal = imi::app::mode_clock(pool, Mode::Production, &service.services.wake)
        .await
        .expect_err("production refuses a training database")
        .to_string();
    assert!(refusal.contains("ran in training mode"), "{refusal}");
}

#[tokio::test]
async fn production_refuses_every_clock_change() {
    let service = start().await;
    let de = country(&service, "DE", "Bundesministerium für Wirtschaft").await;
    assert_eq!(
        refused(&de.postbox, "7d").await,
        ("FORBIDDEN".to_string(), "TRAINING_MODE_ONLY".to_string())
    );
    let clock = de.basic.query(CLOCK, json!({})).await;
    assert_eq!(
        (
            &clock["data"]["serviceClock"]["mode"],
            &clock["data"]["serviceClock"]["offset"]
        ),
        (&json!("production"), &json!("+0")),
        "{clock}"
    );
    assert_eq!(health(&service).await, "ok\nmode: production\n");
    let state = imi_store::training::state(&service.services.pool)
        .await
        .unwrap();
    assert!(
        state.is_none(),
        "a production database was marked as training"
    );
}
