//! Signing out with the last tab (`end_with_last_tab`, `last_tab_grace`): what the pages'
//! tabs say ends a session a grace after the last one closed, or four graces after a visible
//! one went silent; reloads and hidden tabs never do; sessions whose tabs never spoke are left
//! alone. On requests and in the sweep, with an injected clock.

use crate::common::*;
use auto_logout::last_tab::{TabPresence, TabSignal};
use auto_logout::UnixMillis;
use reqwest::Client;
use serde_json::Value;
use std::time::Duration;

db_tests!(
    the_last_tab_closing_ends_the_session_a_grace_later,
    reloads_changes_of_page_and_hidden_tabs_never_end_it,
    the_sweep_ends_the_sessions_without_an_open_tab_and_only_those,
    what_a_tab_says_is_checked_and_ignored_where_the_rule_is_off,
);

const SEC: Duration = Duration::from_secs(1);
const T0: i64 = 1_800_000_000_000;

async fn app_with(db: TestDb, env: &[(&'static str, &str)]) -> TestApp {
    let mut all = vec![
        ("AUTO_LOGOUT_END_WITH_LAST_TAB", "true".to_owned()),
        ("AUTO_LOGOUT_LAST_TAB_GRACE", "15s".to_owned()),
        // Only this rule ends the sessions here.
        ("AUTO_LOGOUT_IDLE_TIME", "0".to_owned()),
        ("AUTO_LOGOUT_ADMIN_IDLE_TIME", "0".to_owned()),
        ("AUTO_LOGOUT_REMEMBER_IDLE_TIME", "0".to_owned()),
        ("AUTO_LOGOUT_SESSION_TIME", "0".to_owned()),
        ("AUTO_LOGOUT_ADMIN_SESSION_TIME", "0".to_owned()),
        ("AUTO_LOGOUT_REMEMBER_SESSION_TIME", "0".to_owned()),
    ];
    all.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
    spawn_app_with(
        db,
        Spawn {
            env: all,
            manual_clock_at: Some(T0),
            ..Spawn::default()
        },
    )
    .await
}

/// A tab of `client`'s page says `signal`, as the countdown does (same-origin `POST`).
async fn say(app: &TestApp, client: &Client, signal: &str) -> reqwest::Response {
    client
        .post(app.url("/api/v1/session/tabs"))
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "text/plain;charset=UTF-8")
        .body(signal.to_owned())
        .send()
        .await
        .expect("tabs request")
}

async fn says(app: &TestApp, client: &Client, signal: &str) {
    let res = say(app, client, signal).await;
    assert_eq!(res.status(), 200, "{signal}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["ends_with_last_tab"], true);
}

async fn the_last_tab_closing_ends_the_session_a_grace_later(db: TestDb) {
    let app = app_with(db, &[]).await;
    let clock = app.clock.clone().unwrap();
    let (tab, id) = app.device("alice", CHROME_UA).await;
    assert_eq!(app.status_json(&tab).await["ends_with_last_tab"], true);

    // A session whose tabs never spoke (no WebAssembly, a script) is not ended by the rule.
    clock.advance(Duration::from_secs(3_600));
    assert_eq!(app.status_json(&tab).await["user"], "alice");

    says(&app, &tab, "visible").await;
    clock.advance(Duration::from_secs(5));
    says(&app, &tab, "closed").await;
    let closed_at = T0 + 3_605_000;
    clock.advance(Duration::from_secs(14));
    // Requests that are not a tab speaking (a script, a page loading) do not reopen it.
    assert_eq!(
        tab.get(app.url("/home")).send().await.unwrap().status(),
        200
    );
    clock.advance(SEC);
    let res = tab.get(app.url("/home")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/sign-in?next=%2Fhome&reason=tabs_closed");
    let row = app.session_row(&id).await;
    assert_eq!(row.end_reason.as_deref(), Some("tabs_closed"));
    assert_eq!(
        row.ended_at,
        Some(closed_at + 15_000),
        "a grace after the close"
    );
    let event = app.audit_events(None).await.remove(0);
    assert_eq!(event.event, "tabs_closed");
    assert_eq!(event.at, closed_at + 15_000);
    let page = app.page(&browser(), "/sign-in?reason=tabs_closed").await;
    assert!(page.contains("every tab of this site was closed"), "{page}");

    // A tab coming back after the grace (Back into the page) finds the session ended.
    let (back, _) = app.device("alice", CHROME_UA).await;
    says(&app, &back, "closed").await;
    clock.advance(Duration::from_secs(20));
    let res = say(&app, &back, "visible").await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["reason"], "tabs_closed");
}

async fn reloads_changes_of_page_and_hidden_tabs_never_end_it(db: TestDb) {
    let app = app_with(db, &[]).await;
    let clock = app.clock.clone().unwrap();
    let (tab, id) = app.device("alice", CHROME_UA).await;
    says(&app, &tab, "visible").await;
    // Ten reloads and changes of page: the leaving page says closed, the new one visible a
    // second later, and it beats every two seconds.
    for _ in 0..10 {
        clock.advance(2 * SEC);
        says(&app, &tab, "closed").await;
        clock.advance(SEC);
        says(&app, &tab, "visible").await;
        for _ in 0..5 {
            clock.advance(2 * SEC);
            says(&app, &tab, "visible").await;
        }
    }
    assert_eq!(app.state.engine.gate().sweep_once().await.unwrap(), 0);
    assert_eq!(app.status_json(&tab).await["user"], "alice");
    // The database hears a visible tab at most once a grace, not on every beat.
    let written = app.session_row(&id).await.tabs.unwrap();
    assert_eq!(written.signal, TabSignal::Visible);
    assert!(T0 + 130_000 - written.at.as_millis() < 15_000);

    // Hidden for three hours: the browser runs its timers once a minute, or not at all.
    says(&app, &tab, "hidden").await;
    for _ in 0..180 {
        clock.advance(Duration::from_secs(60));
        assert_eq!(app.state.engine.gate().sweep_once().await.unwrap(), 0);
    }
    assert_eq!(app.status_json(&tab).await["user"], "alice");
    says(&app, &tab, "visible").await;
    assert_eq!(
        app.session_row(&id).await.tabs,
        Some(TabPresence {
            signal: TabSignal::Visible,
            at: UnixMillis(T0 + 130_000 + 3 * 3_600_000),
        })
    );
    assert!(app.session_row(&id).await.ended_at.is_none());
}

async fn the_sweep_ends_the_sessions_without_an_open_tab_and_only_those(db: TestDb) {
    let app = app_with(db, &[("AUTO_LOGOUT_ADMIN_END_WITH_LAST_TAB", "false")]).await;
    let clock = app.clock.clone().unwrap();
    app.add_admin("root").await;
    let (closed, closed_id) = app.device("alice", CHROME_UA).await;
    let (silent, silent_id) = app.device("alice", CHROME_UA).await;
    let (hidden, hidden_id) = app.device("alice", CHROME_UA).await;
    let (_mute, mute_id) = app.device("alice", CHROME_UA).await;
    let remembered = browser();
    let res = app.sign_in_remembered(&remembered).await;
    let remembered_id = auto_logout::server::secret::hash_secret(&session_cookie(&res).unwrap());
    let (admin, admin_id) = app.device("root", CHROME_UA).await;
    for client in [&closed, &silent, &hidden] {
        says(&app, client, "visible").await;
    }
    // The rule does not apply to these: they hear nothing.
    for client in [&remembered, &admin] {
        let res = say(&app, client, "closed").await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["ends_with_last_tab"], false);
    }
    clock.advance(SEC);
    says(&app, &closed, "closed").await;
    says(&app, &hidden, "hidden").await;

    let gate = app.state.engine.gate();
    clock.advance(14 * SEC);
    assert_eq!(gate.sweep_once().await.unwrap(), 0, "a second early");
    clock.advance(SEC);
    assert_eq!(gate.sweep_once().await.unwrap(), 1, "the closed one");
    let row = app.session_row(&closed_id).await;
    assert_eq!(row.end_reason.as_deref(), Some("tabs_closed"));
    assert_eq!(row.ended_at, Some(T0 + 16_000));

    // The visible tab that went silent (a crash, a power cut): four graces after its last beat.
    clock.advance(Duration::from_millis(60_000 - 16_000 - 1));
    assert_eq!(gate.sweep_once().await.unwrap(), 0);
    clock.advance(Duration::from_millis(1));
    assert_eq!(gate.sweep_once().await.unwrap(), 1, "the silent one");
    let row = app.session_row(&silent_id).await;
    assert_eq!(row.end_reason.as_deref(), Some("tabs_closed"));
    assert_eq!(row.ended_at, Some(T0 + 60_000));

    clock.advance(Duration::from_secs(86_400));
    assert_eq!(
        gate.sweep_once().await.unwrap(),
        0,
        "nobody else, a day later"
    );
    for id in [&hidden_id, &mute_id, &remembered_id, &admin_id] {
        assert!(app.session_row(id).await.ended_at.is_none(), "{id}");
    }
    let ended = app
        .audit_events(Some(auto_logout::AuditEvent::TabsClosed))
        .await;
    assert_eq!(ended.len(), 2);
}

async fn what_a_tab_says_is_checked_and_ignored_where_the_rule_is_off(db: TestDb) {
    let app = app_with(db, &[]).await;
    let (tab, id) = app.device("alice", CHROME_UA).await;
    for bad in [
        "",
        "open",
        "closed closed",
        &"visible ".repeat(40),
        "\u{fffd}",
    ] {
        let res = say(&app, &tab, bad).await;
        assert_eq!(res.status(), 422, "{bad:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_body");
    }
    assert_eq!(app.session_row(&id).await.tabs, None);
    // Without a session: 401, nothing recorded anywhere.
    let res = say(&app, &browser(), "closed").await;
    assert_eq!(res.status(), 401);
    // From another site: refused before it is heard.
    let res = tab
        .post(app.url("/api/v1/session/tabs"))
        .header("sec-fetch-site", "cross-site")
        .body("closed")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(app.session_row(&id).await.tabs, None);
    // Telling the server about a tab is not activity.
    let before = app.session_row(&id).await.last_seen_at;
    app.clock.clone().unwrap().advance(Duration::from_secs(30));
    says(&app, &tab, "visible").await;
    assert_eq!(app.session_row(&id).await.last_seen_at, before);

    // With the rule off (the default), the status says so and tabs are not heard.
    let off = spawn_app_with(
        TestDb::sqlite(),
        Spawn {
            manual_clock_at: Some(T0),
            ..Spawn::default()
        },
    )
    .await;
    let (tab, id) = off.device("alice", CHROME_UA).await;
    assert_eq!(off.status_json(&tab).await["ends_with_last_tab"], false);
    let res = say(&off, &tab, "closed").await;
    assert_eq!(res.status(), 200);
    off.clock.clone().unwrap().advance(Duration::from_secs(60));
    assert_eq!(off.state.engine.gate().sweep_once().await.unwrap(), 0);
    assert_eq!(off.session_row(&id).await.tabs, None);
    assert_eq!(off.status_json(&tab).await["user"], "alice");
}
