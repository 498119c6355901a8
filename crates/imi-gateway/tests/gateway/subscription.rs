//! `authorityUpdated` over `graphql-transport-ws`.

use crate::support::*;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(gw: &Gateway) -> Ws {
    let url = gw.url("/graphql/ws").replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    request
        .headers_mut()
        .insert("accept-language", "fr".parse().unwrap());
    let (ws, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    ws
}

pub(crate) async fn send(ws: &mut Ws, message: Value) {
    ws.send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// The next protocol message, or `None` when the server closed the connection.
pub(crate) async fn receive(ws: &mut Ws) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no message within 10 s");
        match message {
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(text.as_str()).expect("JSON");
                if value["type"] == "ping" {
                    send(ws, json!({ "type": "pong" })).await;
                    continue;
                }
                return Some(value);
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => continue,
        }
    }
}

const SUBSCRIBE: &str = "subscription($id: ID!) {
  authorityUpdated(authorityId: $id) {
    initial
    authority { id informalTitle { text language fallback } updatedAt }
  }
}";

#[tokio::test]
async fn authority_updated_pushes_the_entry_then_each_change() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;
    let token = gw.login(&de).await;

    let mut ws = connect(&gw).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })).await;
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "connection_ack");
    send(&mut ws, json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIBE, "variables": { "id": de.authority_id } } })).await;

    let first = receive(&mut ws).await.unwrap();
    assert_eq!(first["type"], "next", "{first}");
    assert_eq!(first["id"], "1");
    let update = &first["payload"]["data"]["authorityUpdated"];
    assert_eq!(update["initial"], true, "{first}");
    assert_eq!(subscriptions_open(&gw).await, 1, "counted in /metrics");
    // No French title yet: English, marked as a fallback (the connection asked for French).
    assert_eq!(
        update["authority"]["informalTitle"],
        json!({ "text": "IMI coordinator DE", "language": "en", "fallback": true })
    );

    let (_, body) = gw
        .gql(
            Some(&token),
            SET_TITLE,
            set_title_input(&de.authority_id, "fr", "Coordinateur IMI Allemagne"),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let change = receive(&mut ws).await.unwrap();
    let update = &change["payload"]["data"]["authorityUpdated"];
    assert_eq!(update["initial"], false, "{change}");
    assert_eq!(
        update["authority"]["informalTitle"],
        json!({ "text": "Coordinateur IMI Allemagne", "language": "fr", "fallback": false })
    );

    // A command that changes nothing pushes nothing; the next real change is pushed.
    gw.gql(
        Some(&token),
        SET_TITLE,
        set_title_input(&de.authority_id, "fr", "Coordinateur IMI Allemagne"),
    )
    .await;
    gw.gql(
        Some(&token),
        SET_TITLE,
        set_title_input(&de.authority_id, "fr", "Coordination IMI"),
    )
    .await;
    let change = receive(&mut ws).await.unwrap();
    assert_eq!(
        change["payload"]["data"]["authorityUpdated"]["authority"]["informalTitle"]["text"],
        "Coordination IMI",
        "{change}"
    );

    send(&mut ws, json!({ "id": "1", "type": "complete" })).await;
    let _ = ws.close(None).await;
    // The stream ends with the client's `complete`: no longer counted.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while subscriptions_open(&gw).await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a finished subscription is still counted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `imi_subscriptions_open` as `/metrics` shows it.
async fn subscriptions_open(gw: &Gateway) -> i64 {
    let text = reqwest::get(gw.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("imi_subscriptions_open "))
        .unwrap_or_else(|| panic!("no imi_subscriptions_open in\n{text}"));
    line.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as i64
}

#[tokio::test]
async fn subscriptions_need_a_valid_token() {
    let gw = start().await;
    let de = gw.seed_nimic("DE").await;

    // No token: the connection is accepted, the subscription answers UNAUTHENTICATED.
    let mut ws = connect(&gw).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "connection_ack");
    send(&mut ws, json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIBE, "variables": { "id": de.authority_id } } })).await;
    let answer = receive(&mut ws).await.unwrap();
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{answer}"
    );
    let done = receive(&mut ws).await.unwrap();
    assert_eq!(done["type"], "complete", "{done}");

    // A forged token: the connection is closed.
    let (forged, _) = imi_gateway::auth::issue(
        b"not the gateway's secret, same length!",
        &de.user_id,
        &de.authority_id,
        chrono::Utc::now(),
    )
    .unwrap();
    let mut ws = connect(&gw).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {forged}") } })).await;
    assert_eq!(receive(&mut ws).await, None);

    // Without the subprotocol, no upgrade.
    let url = gw.url("/graphql/ws").replace("http://", "ws://");
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}
