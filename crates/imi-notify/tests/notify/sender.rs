//! Mailing the outbox: each notification once, in the recipient's language, retried with
//! backoff, never twice across a restart or between two senders.

use crate::support::{at, row, Scene};
use chrono::{Duration as Days, Utc};
use imi_notify::mail::Mailer;
use imi_notify::sender::{message_id, Outcome, Sender, SenderOptions};
use imi_notify::status;
use imi_projections::notifications::{kinds, EmailTo, Row};
use imi_testkit::smtp::SmtpServer;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::watch;

const FROM: &str = "IMI <no-reply@imi.test>";

fn sender(scene: &Scene, smtp: &SmtpServer, name: &str) -> Sender {
    let mailer = Mailer::smtp(&smtp.url(), FROM).expect("mailer");
    Sender::new(scene.pool().clone(), scene.keyring.clone(), mailer, name)
}

/// `n` notifications to the office address of `ca-de` (German).
async fn office_mails(scene: &Scene, n: usize) -> Vec<Row> {
    scene
        .authority("ca-de", "DE", Some("poststelle@ca.example.de"))
        .await;
    more_office_mails(scene, n).await
}

/// `n` more notifications to `ca-de`, after [`office_mails`].
async fn more_office_mails(scene: &Scene, n: usize) -> Vec<Row> {
    let rows: Vec<Row> = (0..n)
        .map(|_| {
            row(
                kinds::AUTHORITY_VALIDATED,
                "ca-de",
                EmailTo::Authority,
                json!({"authority_id": "ca-de"}),
            )
        })
        .collect();
    scene.add(&rows).await;
    rows
}

fn message_ids(mails: &[imi_testkit::smtp::ReceivedMail]) -> Vec<String> {
    mails
        .iter()
        .map(|m| m.header("Message-ID").expect("a Message-ID"))
        .collect()
}

#[tokio::test]
async fn every_notification_is_mailed_once_in_its_recipients_language() {
    let scene = Scene::new().await;
    let smtp = SmtpServer::start();
    // An invited French authority: its code goes to the sealed address of the invitation.
    scene.registration_code("ca-fr", "d1", "K7Q2-ZX9P").await;
    let invitation = scene
        .seal("Authority/ca-fr", &json!("greffe@ca.example.fr"))
        .await;
    let code = Row {
        email: Some(invitation),
        ..row(
            kinds::REGISTRATION_CODE,
            "ca-fr",
            EmailTo::Sealed,
            json!({"authority_id": "ca-fr", "member_state": "FR", "code_digest": "d1",
                   "expires_at": "2027-01-01T00:00:00Z"}),
        )
    };
    // A German office, and a user of it whose identity asks for English.
    let office = office_mails(&scene, 1).await.remove(0);
    scene
        .user(
            "ca-de",
            "u-1",
            json!({"name": "Erika Muster", "email": "erika@ca.example.de", "language": "en"}),
        )
        .await;
    let to_user = Row {
        recipient_user: Some("u-1".into()),
        ..row(
            kinds::PASSWORD_RESET,
            "ca-de",
            EmailTo::User,
            json!({"authority_id": "ca-de", "user_id": "u-1"}),
        )
    };
    // In-app only: never mailed.
    let in_app = row(kinds::USER_REGISTERED, "ca-de", EmailTo::None, json!({}));
    scene
        .add(&[code.clone(), to_user.clone(), in_app.clone()])
        .await;

    let done = sender(&scene, &smtp, "s1").drain().await.unwrap();
    assert_eq!(done.len(), 3, "{done:?}");
    assert!(done.iter().all(|(_, o)| matches!(o, Outcome::Sent { .. })));
    let mails = smtp.received();
    assert_eq!(mails.len(), 3);

    let fr = &smtp.to("greffe@ca.example.fr")[0];
    assert_eq!(
        fr.header("Subject").unwrap(),
        "IMI : votre code d'enregistrement"
    );
    assert!(fr.body().contains("K7Q2-ZX9P"), "{}", fr.body());
    assert!(fr.body().contains("2027-01-01"));
    assert_eq!(fr.header("Message-ID").unwrap(), message_id(&code.id));
    let de = &smtp.to("poststelle@ca.example.de")[0];
    assert_eq!(de.header("Message-ID").unwrap(), message_id(&office.id));
    assert!(de.header("Subject").unwrap().contains("validiert"));
    let en = &smtp.to("erika@ca.example.de")[0];
    assert_eq!(
        en.header("Subject").unwrap(),
        "IMI: your password was reset"
    );
    assert!(
        !en.data.contains("Erika"),
        "no personal data beyond the address"
    );

    // Sent codes are not kept.
    let codes: i64 = sqlx::query_scalar("SELECT count(*) FROM registration_codes")
        .fetch_one(scene.pool())
        .await
        .unwrap();
    assert_eq!(codes, 0);
    // A second pass finds nothing to send.
    assert!(sender(&scene, &smtp, "s2")
        .drain()
        .await
        .unwrap()
        .is_empty());
    assert_eq!(smtp.received().len(), 3);
    let s = status::outbox(scene.pool()).await.unwrap();
    assert_eq!((s.pending, s.sent, s.failed), (0, 3, 0));
}

#[tokio::test]
async fn a_mail_waits_until_the_projections_its_recipient_is_read_from_have_its_event() {
    let scene = Scene::new().await;
    let smtp = SmtpServer::start();
    scene.authority("ca-de", "DE", None).await;
    // The outbox has the user's welcome; the users projection, in another lane, has not yet
    // applied the event that registered them.
    let welcome = Row {
        recipient_user: Some("u-2".into()),
        ..row(
            kinds::USER_REGISTERED,
            "ca-de",
            EmailTo::User,
            json!({"authority_id": "ca-de", "user_id": "u-2"}),
        )
    };
    scene
        .add_ahead_of_recipients(std::slice::from_ref(&welcome))
        .await;
    let s1 = sender(&scene, &smtp, "s1");
    assert!(s1.drain().await.unwrap().is_empty(), "held, not skipped");
    let deliveries: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_deliveries")
        .fetch_one(scene.pool())
        .await
        .unwrap();
    assert_eq!(deliveries, 0);

    scene
        .user(
            "ca-de",
            "u-2",
            json!({"name": "Udo", "email": "udo@ca.example.de"}),
        )
        .await;
    scene
        .recipients_applied((welcome.xid, welcome.position))
        .await;
    let done = s1.drain().await.unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(matches!(done[0].1, Outcome::Sent { .. }), "{done:?}");
    assert_eq!(smtp.to("udo@ca.example.de").len(), 1);
}

#[tokio::test]
async fn a_sender_restarted_mid_batch_sends_nothing_twice() {
    let scene = Scene::new().await;
    let smtp = SmtpServer::start();
    let rows = office_mails(&scene, 30).await;

    let first = sender(&scene, &smtp, "first");
    let (stop_tx, stop) = watch::channel(false);
    let (_wake_tx, wake) = watch::channel(0u64);
    let running = tokio::spawn(async move { first.run(wake, stop).await });
    smtp.wait_for(8, Duration::from_secs(20)).await;
    stop_tx.send(true).unwrap();
    running.await.unwrap();
    let before_restart = smtp.received().len();
    assert!(
        (8..30).contains(&before_restart),
        "stopped mid-batch: {before_restart}"
    );

    let done = sender(&scene, &smtp, "second").drain().await.unwrap();
    assert_eq!(done.len(), 30 - before_restart);
    let ids = message_ids(&smtp.received());
    assert_eq!(ids.len(), 30);
    let unique: BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 30, "a mail was sent twice");
    let expected: BTreeSet<String> = rows.iter().map(|r| message_id(&r.id)).collect();
    assert_eq!(
        unique.into_iter().cloned().collect::<BTreeSet<_>>(),
        expected
    );
}

#[tokio::test]
async fn two_senders_at_once_send_each_notification_once() {
    let scene = Scene::new().await;
    let smtp = SmtpServer::start();
    office_mails(&scene, 40).await;
    let (a, b) = (sender(&scene, &smtp, "a"), sender(&scene, &smtp, "b"));
    let (ra, rb) = tokio::join!(a.drain(), b.drain());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.len() + rb.len(), 40);
    let ids = message_ids(&smtp.received());
    assert_eq!(ids.len(), 40);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 40);
}

#[tokio::test]
async fn a_mail_behind_more_than_one_claim_walks_over_is_still_sent() {
    let scene = Scene::new().await;
    let smtp = SmtpServer::start();
    let taken = office_mails(&scene, 300).await;
    sqlx::query(
        "INSERT INTO notification_deliveries (notification_id, state, attempts, claimed_by)
         SELECT unnest($1::text[]), 'sent', 1, 'other'",
    )
    .bind(taken.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
    .execute(scene.pool())
    .await
    .unwrap();
    // In-app only: nothing to mail.
    let in_app: Vec<Row> = (0..300)
        .map(|_| {
            row(
                kinds::AUTHORITY_VALIDATED,
                "ca-de",
                EmailTo::None,
                json!({}),
            )
        })
        .collect();
    scene.add(&in_app).await;
    let due = more_office_mails(&scene, 1).await;

    let sent = sender(&scene, &smtp, "s").drain().await.unwrap();
    assert_eq!(sent.len(), 1, "600 passed over, in two walks: {sent:?}");
    assert_eq!(message_ids(&smtp.received()), vec![message_id(&due[0].id)]);
}

#[tokio::test]
async fn a_running_sender_finds_what_came_after_it_what_another_took_and_retries_behind_it() {
    let scene = Scene::new().await;
    let smtp = SmtpServer::start();
    let first = office_mails(&scene, 2).await;
    let running = sender(&scene, &smtp, "s");
    let (stop_tx, stop) = watch::channel(false);
    let (wake_tx, wake) = watch::channel(0u64);
    let task = tokio::spawn(async move { running.run(wake, stop).await });
    smtp.wait_for(2, Duration::from_secs(20)).await;

    // Past its cursor: one another sender holds (a live lease), then one nobody claimed.
    let later = more_office_mails(&scene, 2).await;
    sqlx::query(
        "INSERT INTO notification_deliveries (notification_id, state, attempts, claimed_by, claimed_until)
         VALUES ($1, 'sending', 1, 'other', now() + interval '1 hour')",
    )
    .bind(&later[0].id)
    .execute(scene.pool())
    .await
    .unwrap();
    wake_tx.send_modify(|n| *n += 1);
    smtp.wait_for(3, Duration::from_secs(20)).await;
    // Behind its cursor: the first one's retry falls due.
    sqlx::query(
        "UPDATE notification_deliveries SET state = 'retry', next_attempt_at = now() - interval '1 second'
          WHERE notification_id = $1",
    )
    .bind(&first[0].id)
    .execute(scene.pool())
    .await
    .unwrap();
    wake_tx.send_modify(|n| *n += 1);
    smtp.wait_for(4, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_tx.send(true).unwrap();
    task.await.unwrap();

    let expected: Vec<String> = [&first[0], &first[1], &later[1], &first[0]]
        .iter()
        .map(|r| message_id(&r.id))
        .collect();
    let mut got = message_ids(&smtp.received());
    let mut want = expected.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "the one another sender holds is not mailed");
}

#[tokio::test]
async fn a_dead_senders_claim_is_taken_over_once_it_expires() {
    let scene = Scene::new().await;
    let smtp = SmtpServer::start();
    let rows = office_mails(&scene, 2).await;
    // One claimed by a sender that died (its lease is over), one by a live one.
    for (row, until) in [
        (&rows[0], "now() - interval '1 second'"),
        (&rows[1], "now() + interval '1 hour'"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO notification_deliveries (notification_id, state, attempts, claimed_by, claimed_until)
             VALUES ($1, 'sending', 1, 'gone', {until})"
        ))
        .bind(&row.id)
        .execute(scene.pool())
        .await
        .unwrap();
    }
    let done = sender(&scene, &smtp, "heir").drain().await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, rows[0].id);
    assert_eq!(message_ids(&smtp.received()), vec![message_id(&rows[0].id)]);
}

#[tokio::test]
async fn an_unreachable_server_is_retried_with_backoff_then_given_up() {
    let scene = Scene::new().await;
    let rows = office_mails(&scene, 1).await;
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mailer = Mailer::smtp(&format!("smtp://127.0.0.1:{port}"), FROM).unwrap();
    let options = SenderOptions {
        max_attempts: 3,
        backoff_base: Duration::from_millis(200),
        ..SenderOptions::default()
    };
    let s =
        Sender::new(scene.pool().clone(), scene.keyring.clone(), mailer, "s").with_options(options);

    let first = s.drain().await.unwrap();
    assert!(matches!(first[0].1, Outcome::Retry(_)), "{first:?}");
    // Not due again before its backoff.
    assert!(s.drain().await.unwrap().is_empty());
    let st = status::outbox(scene.pool()).await.unwrap();
    assert_eq!((st.retrying, st.failed), (1, 0));
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(matches!(s.drain().await.unwrap()[0].1, Outcome::Retry(_)));
    // The second wait is twice as long.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(s.drain().await.unwrap().is_empty(), "backoff doubles");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let last = s.drain().await.unwrap();
    assert!(matches!(last[0].1, Outcome::Retry(_)));
    let st = status::outbox(scene.pool()).await.unwrap();
    assert_eq!((st.retrying, st.failed), (0, 1));
    assert_eq!(st.recent_failures[0].0, rows[0].id);
    assert!(!st.recent_failures[0].1.is_empty());
    let attempts: i32 = sqlx::query_scalar(
        "SELECT attempts FROM notification_deliveries WHERE notification_id = $1",
    )
    .bind(&rows[0].id)
    .fetch_one(scene.pool())
    .await
    .unwrap();
    assert_eq!(attempts, 3);
}

/// A mail to the office of authority `old`, created 30 days ago: beyond the sender's horizon.
async fn old_office_mail(scene: &Scene) -> Row {
    scene
        .authority("old", "DE", Some("old@ca.example.de"))
        .await;
    at(
        row(
            kinds::AUTHORITY_VALIDATED,
            "old",
            EmailTo::Authority,
            json!({}),
        ),
        Utc::now() - Days::days(30),
    )
}

#[tokio::test]
async fn nothing_is_mailed_without_an_address_or_beyond_the_horizon() {
    let scene = Scene::new().await;
    let smtp = SmtpServer::start();
    scene.authority("no-mail", "DE", None).await;
    let no_address = row(
        kinds::AUTHORITY_VALIDATED,
        "no-mail",
        EmailTo::Authority,
        json!({}),
    );
    // An invitation whose authority's key was erased.
    let sealed = scene
        .seal("Authority/erased", &json!("x@example.org"))
        .await;
    scene
        .keyring
        .erase("Authority/erased", "test", "data subject's request")
        .await
        .unwrap();
    let erased = Row {
        email: Some(sealed),
        ..row(
            kinds::INVITATION_EXPIRED,
            "erased",
            EmailTo::Sealed,
            json!({}),
        )
    };
    // A code mail whose code is no longer held.
    scene.authority("ca-x", "DE", Some("x@ca.example.de")).await;
    let lost_code = Row {
        email: Some(
            scene
                .seal("Authority/ca-x", &json!("x@ca.example.de"))
                .await,
        ),
        ..row(
            kinds::REGISTRATION_CODE,
            "ca-x",
            EmailTo::Sealed,
            json!({"code_digest": "gone"}),
        )
    };
    let old = old_office_mail(&scene).await;
    scene
        .add(&[
            no_address.clone(),
            erased.clone(),
            lost_code.clone(),
            old.clone(),
        ])
        .await;

    let done = sender(&scene, &smtp, "s").drain().await.unwrap();
    let outcome = |id: &str| done.iter().find(|(i, _)| i == id).map(|(_, o)| o.clone());
    assert!(matches!(outcome(&no_address.id), Some(Outcome::Skipped(_))));
    assert!(matches!(outcome(&erased.id), Some(Outcome::Skipped(_))));
    assert!(matches!(outcome(&lost_code.id), Some(Outcome::Failed(_))));
    assert_eq!(outcome(&old.id), None, "beyond the horizon: not even tried");
    assert!(smtp.received().is_empty());
    let st = status::outbox(scene.pool()).await.unwrap();
    assert_eq!((st.pending, st.skipped, st.failed, st.sent), (0, 3, 1, 0));
}

/// A notification that is already beyond the horizon when the running sender first finds it
/// (the sender had marked the old ones before it arrived) is recorded as skipped, not mailed,
/// and the one after it is sent.
#[tokio::test]
async fn a_notification_found_beyond_the_horizon_by_a_running_sender_is_skipped() {
    let scene = Scene::new().await;
    let smtp = SmtpServer::start();
    let s = sender(&scene, &smtp, "s");
    assert!(s.drain().await.unwrap().is_empty(), "nothing yet");
    let old = old_office_mail(&scene).await;
    let new = row(
        kinds::AUTHORITY_VALIDATED,
        "old",
        EmailTo::Authority,
        json!({}),
    );
    scene.add(&[old.clone(), new.clone()]).await;

    let mut done = Vec::new();
    while let Some(one) = s.send_next().await.unwrap() {
        done.push(one);
    }
    assert_eq!(done.len(), 1, "only the recent one is tried: {done:?}");
    assert_eq!(done[0].0, new.id);
    assert!(matches!(done[0].1, Outcome::Sent { .. }));
    assert_eq!(smtp.received().len(), 1);
    let (state, attempts, why): (String, i32, Option<String>) = sqlx::query_as(
        "SELECT state, attempts, last_error FROM notification_deliveries
          WHERE notification_id = $1",
    )
    .bind(&old.id)
    .fetch_one(scene.pool())
    .await
    .unwrap();
    assert_eq!((state.as_str(), attempts), ("skipped", 0));
    assert!(why.unwrap().contains("horizon"));
}

#[tokio::test]
async fn registration_codes_no_mail_will_need_are_dropped() {
    let scene = Scene::new().await;
    let smtp = SmtpServer::start();
    scene.registration_code("ca-old", "old", "OLD-CODE").await;
    scene.registration_code("ca-new", "new", "NEW-CODE").await;
    sqlx::query(
        "UPDATE registration_codes SET created_at = now() - interval '32 days'
          WHERE code_digest = 'old'",
    )
    .execute(scene.pool())
    .await
    .unwrap();
    sender(&scene, &smtp, "s").drain().await.unwrap();
    let kept: Vec<String> = sqlx::query_scalar("SELECT code_digest FROM registration_codes")
        .fetch_all(scene.pool())
        .await
        .unwrap();
    assert_eq!(kept, vec!["new".to_string()]);
}
