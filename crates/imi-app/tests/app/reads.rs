//! Who reads what: the directory's contact person, the directory search's refusal of an
//! unregistered caller, the notifications inbox, sign-in.

use crate::support::{english, read_models, start, Scene, PASSWORD};
use imi_app::caller::Caller;
use imi_app::directory::{DirectoryQuery, Visibility, NOT_REGISTERED};
use imi_app::error::Code;
use imi_app::sign_in::SignIn;
use imi_domain::access::AuthorityView;

/// The first page of validated authorities, as `caller` searches them.
async fn search(
    scene: &Scene,
    caller: &Caller,
) -> imi_app::AppResult<imi_app::directory::DirectoryPage> {
    scene
        .app
        .search_directory(
            caller,
            DirectoryQuery {
                visibility: Visibility::ValidatedOnly,
                limit: 10,
                ..Default::default()
            },
        )
        .await
}

#[tokio::test]
async fn a_caller_of_another_member_state_does_not_get_the_contact_person() {
    let scene = start().await;
    let de = scene.nimic("DE").await;
    let fr = scene.nimic("FR").await;
    scene
        .app
        .set_contact_person(&de, "nimic-de", Some("Erika Mustermann"), &read_models())
        .await
        .expect("set the contact person");

    // The authority itself reads it, and the reading is recorded.
    let own = scene
        .app
        .authority(&de, "nimic-de", &english())
        .await
        .expect("read")
        .expect("listed");
    let person = scene
        .app
        .contact_person(&de, &own)
        .await
        .expect("open")
        .expect("a contact person");
    assert_eq!(person.name.as_deref(), Some("Erika Mustermann"));
    assert!(!person.erased);

    // Another Member State's coordinator sees the authority, not its contact person.
    let other = scene
        .app
        .authority(&fr, "nimic-de", &english())
        .await
        .expect("read")
        .expect("a validated authority is public");
    assert!(other.may(AuthorityView::Directory));
    assert!(!other.may(AuthorityView::ContactPerson));
    assert_eq!(
        scene.app.contact_person(&fr, &other).await.expect("read"),
        None
    );
    // Nor through the directory search.
    let page = search(&scene, &fr).await.expect("search");
    let found = page
        .authorities
        .iter()
        .find(|a| a.entry.authority_id == "nimic-de")
        .expect("listed");
    assert_eq!(
        scene.app.contact_person(&fr, found).await.expect("read"),
        None
    );
}

#[tokio::test]
async fn an_unregistered_caller_is_refused_the_directory_as_before() {
    let scene = start().await;
    scene.nimic("DE").await;
    let ghost = Caller::user("user-ghost", "no-such-authority", english());
    let error = search(&scene, &ghost).await.expect_err("refused");
    assert_eq!(error.code, Code::Forbidden);
    assert_eq!(error.message, NOT_REGISTERED);
    // A user unknown to a registered authority is refused too (the domain's words).
    let stranger = Caller::user("user-stranger", "nimic-de", english());
    let error = search(&scene, &stranger).await.expect_err("refused");
    assert_eq!(error.code, Code::Forbidden);
}

#[tokio::test]
async fn the_inbox_shows_only_the_callers_own_notifications() {
    let scene = start().await;
    let de = scene.nimic("DE").await;
    let fr = scene.nimic("FR").await;
    let de2 = scene.user(&de, "de.second").await;
    let fr2 = scene.user(&fr, "fr.second").await;

    let inbox = |caller: Caller| {
        let app = scene.app.clone();
        async move {
            app.notifications(&caller, None, 100, false, &english())
                .await
                .expect("inbox")
        }
    };
    let de2_inbox = inbox(de2.clone()).await;
    let fr2_inbox = inbox(fr2.clone()).await;
    let de_inbox = inbox(de.clone()).await;
    assert!(
        de2_inbox
            .notifications
            .iter()
            .any(|n| n.kind == "user_registered"),
        "a new user is told they were registered: {de2_inbox:?}"
    );
    assert!(!fr2_inbox.notifications.is_empty());
    for n in &de2_inbox.notifications {
        assert_eq!(n.aggregate_id, "nimic-de", "{n:?}");
    }
    for n in &fr2_inbox.notifications {
        assert_eq!(n.aggregate_id, "nimic-fr", "{n:?}");
    }
    // Announced to de2 by name: not in another user's inbox of the same authority.
    let de_ids: Vec<&str> = de_inbox
        .notifications
        .iter()
        .map(|n| n.id.as_str())
        .collect();
    for n in de2_inbox
        .notifications
        .iter()
        .filter(|n| n.kind == "user_registered")
    {
        assert!(!de_ids.contains(&n.id.as_str()), "{n:?}");
    }
    assert_eq!(de2_inbox.unread_count, de2_inbox.notifications.len() as i64);

    // Marking another user's notifications marks nothing; marking one's own does.
    let ids: Vec<String> = de2_inbox
        .notifications
        .iter()
        .map(|n| n.id.clone())
        .collect();
    assert_eq!(
        scene
            .app
            .mark_notifications_read(&fr2, &ids)
            .await
            .expect("mark"),
        0
    );
    assert_eq!(
        scene
            .app
            .mark_notifications_read(&de2, &ids)
            .await
            .expect("mark"),
        ids.len() as u64
    );
    assert_eq!(
        scene
            .app
            .unread_notification_count(&de2)
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        scene
            .app
            .unread_notification_count(&fr2)
            .await
            .expect("count"),
        fr2_inbox.unread_count
    );
    // The live stream's batches hold the same.
    let streamed = scene
        .app
        .notifications_after(&fr2, None, 100, &english())
        .await
        .expect("stream");
    assert!(streamed.iter().all(|n| n.aggregate_id == "nimic-fr"));
}

#[tokio::test]
async fn sign_in_checks_the_password_and_throttles_failures() {
    let scene = start().await;
    scene.nimic("DE").await;
    let accepted = scene
        .app
        .sign_in(" DE.nimic ", PASSWORD, "192.0.2.1")
        .await
        .expect("sign in");
    match accepted {
        SignIn::Accepted(principal) => assert_eq!(principal.authority_id, "nimic-de"),
        other => panic!("not accepted: {other:?}"),
    }
    let mut throttled = false;
    for _ in 0..20 {
        match scene
            .app
            .sign_in("de.nimic", "wrong password!", "192.0.2.1")
            .await
            .expect("sign in")
        {
            SignIn::WrongCredentials { .. } => {}
            SignIn::Throttled { .. } => {
                throttled = true;
                break;
            }
            SignIn::Accepted(_) => panic!("a wrong password was accepted"),
        }
    }
    assert!(throttled, "repeated failures lock the login out");
    // While locked out, not even the right password is checked.
    assert!(matches!(
        scene
            .app
            .sign_in("de.nimic", PASSWORD, "192.0.2.1")
            .await
            .expect("sign in"),
        SignIn::Throttled { .. }
    ));
    let too_long = "x".repeat(imi_app::sign_in::MAX_LOGIN_CHARS + 1);
    let error = scene
        .app
        .sign_in(&too_long, PASSWORD, "192.0.2.1")
        .await
        .expect_err("refused");
    assert_eq!(error.code, Code::BadUserInput);
}

#[tokio::test]
async fn invitations_and_the_outbox_status_are_for_data_administrators_only() {
    let scene = start().await;
    let de = scene.nimic("DE").await;
    let plain = scene.user(&de, "de.plain").await;
    let error = scene
        .app
        .invitations(&plain, None, None, 10)
        .await
        .expect_err("refused");
    assert_eq!(
        (error.code, error.message.as_str()),
        (
            Code::Forbidden,
            imi_app::invitations::FOR_DATA_ADMINISTRATORS
        )
    );
    let error = scene
        .app
        .notification_status(&plain)
        .await
        .expect_err("refused");
    assert_eq!(
        (error.code, error.message.as_str()),
        (
            Code::Forbidden,
            imi_app::notifications::STATUS_FOR_DATA_ADMINISTRATORS
        )
    );
}
