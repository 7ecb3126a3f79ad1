//! "Was this you?" (SPEC §4 `/account/activity`): a person's own history, a page at a time,
//! and "This wasn't me", which signs out everywhere and asks for a new password after the next
//! sign-in. Both databases.

use crate::common::*;
use auto_logout::{
    account_activity::ActivityCursor,
    server::{audit::AuditFilter, rules::account_activity::NOT_ME_DETAIL},
    AuditEvent,
};
use std::time::{SystemTime, UNIX_EPOCH};

db_tests!(
    the_activity_page_lists_ones_own_history_newest_first_a_page_at_a_time,
    this_wasnt_me_signs_out_everywhere_and_asks_for_a_new_password,
);

async fn the_activity_page_lists_ones_own_history_newest_first_a_page_at_a_time(db: TestDb) {
    let app = spawn_app(db).await;
    app.add_user("bob").await;
    let alice = app.user("alice").await;
    let res = app
        .sign_in(&browser(), "alice", "not her password", "")
        .await;
    assert!(location(&res).starts_with("/sign-in?error="));
    app.device("bob", CHROME_UA).await;
    let (first, _) = app.device("alice", CHROME_UA).await;
    let (firefox, _) = app.device("alice", FIREFOX_UA).await;
    app.logout(&firefox).await;

    let activity = app.state.engine.account_activity();
    let page = activity.page(alice.id, None).await.unwrap();
    let events: Vec<&str> = page.entries.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        events,
        ["logout", "login", "login", "login_failed"],
        "hers only, newest first"
    );
    let from_firefox = &page.entries[1];
    assert!(from_firefox.new_device);
    assert!(
        from_firefox.device.starts_with("Firefox on "),
        "{from_firefox:?}"
    );
    assert_eq!(from_firefox.place.as_deref(), Some("127.0.0.0/24"));
    assert!(!page.entries[2].new_device, "her first device");
    assert_eq!(page.entries[3].what, "Failed sign-in (wrong password)");
    assert_eq!(page.older, None);

    let html = app.page(&first, "/account/activity").await;
    assert_eq!(
        html.matches(r#"data-testid="activity-row""#).count(),
        4,
        "{html}"
    );
    assert_eq!(html.matches(r#"data-testid="new-device""#).count(), 1);
    assert!(
        html.contains("127.0.0.0/24") && !html.contains("127.0.0.1<"),
        "{html}"
    );
    assert!(html.contains(r#"data-testid="not-me""#));

    // 30 more sign-ins: two pages, each entry once.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for i in 0..30 {
        sqlx::query(
            "INSERT INTO audit_log (event, at, user_id, username, ip, user_agent) \
             VALUES ('login', $1, $2, 'alice', '198.51.100.7', $3)",
        )
        .bind(now - 86_400_000 - i * 1_000)
        .bind(alice.id)
        .bind(CHROME_UA)
        .execute(app.state.engine.database().pool())
        .await
        .unwrap();
    }
    let first_page = activity.page(alice.id, None).await.unwrap();
    assert_eq!(first_page.entries.len(), 25);
    let cursor: ActivityCursor = first_page.older.as_deref().unwrap().parse().unwrap();
    let second_page = activity.page(alice.id, Some(cursor)).await.unwrap();
    assert_eq!(second_page.entries.len(), 34 - 25);
    assert_eq!(second_page.older, None);
    assert!(first_page.entries.last().unwrap().at >= second_page.entries[0].at);
    let html = app
        .page(
            &first,
            &format!("/account/activity?before={}", first_page.older.unwrap()),
        )
        .await;
    assert_eq!(html.matches(r#"data-testid="activity-row""#).count(), 9);
    assert!(html.contains("198.51.100.0/24"));
    // A made-up cursor is refused with a message, not a failure.
    let html = app.page(&first, "/account/activity?before=1;DROP").await;
    assert!(html.contains("not a page of activity"), "{html}");
}

async fn this_wasnt_me_signs_out_everywhere_and_asks_for_a_new_password(db: TestDb) {
    let app = spawn_app(db).await;
    let alice = app.user("alice").await;
    let (me, _) = app.device("alice", CHROME_UA).await;
    let (other, _) = app.device("alice", FIREFOX_UA).await;

    // Only from the site itself.
    let res = app.post_cross_site(&me, "/account/activity/not-me").await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.status_json(&other).await["user"], "alice");

    let res = post_form(&app, &me, "/account/activity/not-me", &[]).await;
    assert_eq!(
        location(&res),
        "/sign-in?next=%2Faccount%2Fpassword&reason=not_me"
    );
    // This browser's cookie went with the answer; the other's session ended.
    assert_eq!(app.status_json(&me).await["error"], "unauthenticated");
    assert_eq!(app.status_json(&other).await["error"], "session_ended");
    let revoked = app
        .state
        .engine
        .audit()
        .list(&AuditFilter {
            event: Some(AuditEvent::Revoked),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(revoked.len(), 2, "both sessions, this one included");
    assert!(revoked
        .iter()
        .all(|e| e.detail.as_deref() == Some(NOT_ME_DETAIL) && e.actor_id == Some(alice.id)));
    let page = app
        .page(
            &browser(),
            "/sign-in?next=%2Faccount%2Fpassword&reason=not_me",
        )
        .await;
    assert!(page.contains("choose a new"), "{page}");

    // Whatever the sign-in asks for, a new password comes first, until one is chosen.
    let again = browser();
    let res = app.sign_in(&again, "alice", PASSWORD, "/home").await;
    assert_eq!(location(&res), "/account/password?required=1");
    let page = app.page(&again, "/account/password?required=1").await;
    assert!(page.contains(r#"data-testid="password-change-required""#));
    let res = app.sign_in(&browser(), "alice", PASSWORD, "/home").await;
    assert_eq!(location(&res), "/account/password?required=1", "still");
    let new = "a password nobody else knows";
    let res = post_form(
        &app,
        &again,
        "/account/password",
        &[
            ("reauth_password", PASSWORD),
            ("new", new),
            ("confirm", new),
        ],
    )
    .await;
    assert!(location(&res).starts_with("/account/password?done="));
    let res = app.sign_in(&browser(), "alice", new, "/home").await;
    assert_eq!(
        location(&res),
        "/home",
        "the mark went with the new password"
    );
}
