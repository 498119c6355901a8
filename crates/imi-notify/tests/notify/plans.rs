//! The outbox's statements that join it to other tables reach each table through an index on
//! the keys compared. The outbox compares its keys byte by byte (`COLLATE "C"`), the other
//! tables under the database's collation, and an index serves a comparison only under its
//! own collation: a join that named neither would read the other table whole, unnoticed by
//! any other test (`imi_testkit::plans`).

use crate::support::Scene;
use imi_notify::sender::{notification_with_office, CLAIM};
use imi_projections::notifications::unread_count_sql;
use imi_testkit::plans::{assert_searched_by, generic_plan, scans_of};

#[tokio::test]
async fn the_senders_lookup_reaches_the_directory_through_its_key() {
    let scene = Scene::new().await;
    let plan = generic_plan(scene.pool(), &notification_with_office(), "'some-id'").await;
    assert_searched_by(&plan, "notifications", "id");
    assert_searched_by(&plan, "authorities", "authority_id");
}

#[tokio::test]
async fn the_inbox_reaches_the_users_roles_and_reads_through_their_keys() {
    let scene = Scene::new().await;
    let plan = generic_plan(scene.pool(), &unread_count_sql(), "'u', 'a', 'u', 'u'").await;
    assert_searched_by(&plan, "notifications", "recipient_authority");
    assert_searched_by(&plan, "user_roles", "authority_id");
    // The reads: by the user, or by the user and notification (as the planner guesses).
    assert_searched_by(&plan, "notification_reads", "user_id");
}

#[tokio::test]
async fn the_senders_claim_walks_the_outbox_and_finds_deliveries_by_their_keys() {
    let scene = Scene::new().await;
    let args = "'sender', 60, now(), 0, 0, '', '{sending,retry}', '{authority_directory}', 512";
    let plan = generic_plan(scene.pool(), CLAIM, args).await;
    // Each step of the walk: the next notification after the cursor, all three of its columns
    // in the index's condition (under two collations only a prefix would be).
    let walked = scans_of(&plan, "notifications");
    assert!(
        walked
            .iter()
            .any(|(_, c)| c.contains("ROW(xid, \"position\", id) > ROW(")),
        "no step of the walk searched by the whole cursor: {plan:#}"
    );
    // Its delivery, and each claim due again, looked up by notification.
    let deliveries = scans_of(&plan, "notification_deliveries");
    assert!(deliveries.len() >= 2, "{plan:#}");
    for (node, condition) in deliveries {
        assert!(
            condition.contains("notification_id = "),
            "notification_deliveries read by a {node} ({condition:?}): {plan:#}"
        );
    }
}
