//! The readers that join two of a projection's tables reach the second through the index on
//! its key (`imi_testkit::plans`): both keys compare byte by byte, and a join that named
//! another collation on either would read the second table whole.

use imi_projections::request_monitoring::{list_sql, RequestFilter, RequestMonitoring};
use imi_projections::{runner, Slot};
use imi_testkit::plans::{assert_searched_by, generic_plan};

#[tokio::test]
async fn the_monitoring_list_reaches_the_requests_through_their_key() {
    let db = imi_testkit::fresh_database().await;
    imi_store::migrate(&db.pool).await.expect("migrations");
    runner::ensure_slot(&db.pool, &RequestMonitoring, Slot::Live)
        .await
        .expect("the projection's tables");
    // A page after a request: the watcher ($1), the request ($2), the page's size ($3).
    let filter = RequestFilter {
        watcher: "watcher".into(),
        after: Some("request".into()),
        limit: 21,
        ..Default::default()
    };
    let plan = generic_plan(&db.pool, &list_sql(&filter), "'watcher', 'request', 21").await;
    assert_searched_by(&plan, "watched", "watcher");
    assert_searched_by(&plan, "requests", "request_id");
}
