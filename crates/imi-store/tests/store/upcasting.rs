//! Events of an older version reach the projections as the current version, while the row
//! stays as recorded.

use crate::support::migrated;
use imi_domain::request::RequestEvent;
use imi_store::feed::{self, FeedPosition};
use serde_json::json;

#[tokio::test]
async fn the_feed_reads_a_version_1_rating_as_version_2() {
    let pool = migrated().await;
    let recorded = json!({"ReplyRated": {"rating": 1, "at": "2026-01-05T10:00:00Z"}});
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('InformationRequest', 'r-1', 1, 'ReplyRated', '1', $1, '{}')",
    )
    .bind(&recorded)
    .execute(&pool)
    .await
    .unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let events = loop {
        let events = feed::read(&mut pool.acquire().await.unwrap(), FeedPosition::START, 10)
            .await
            .unwrap();
        if !events.is_empty() || std::time::Instant::now() >= deadline {
            break events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_version, "2.0.0");
    let event = events[0].event::<RequestEvent>().unwrap();
    assert!(matches!(
        event,
        RequestEvent::ReplyRated {
            timeliness: 1,
            effort: 1,
            ..
        }
    ));

    let (version, payload): (String, serde_json::Value) =
        sqlx::query_as("SELECT event_version, payload FROM events")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (version.as_str(), payload),
        ("1", recorded),
        "the row as recorded"
    );
}
