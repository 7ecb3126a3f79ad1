//! Sign-in throttling (SPEC §6) against the real server: per username from any IP, per client
//! IP, refused even with the right password, cleared by a success, counted in the database so
//! that two instances throttle together. Time moves by the injected clock, never by sleeping.

use crate::common::*;
use auto_logout::AuditEvent;
use sqlx::Row;

db_tests!(
    failures_throttle_the_username_even_with_the_right_password,
    the_wait_ends_when_the_window_has_passed,
    a_success_clears_the_usernames_failures,
    one_client_ip_is_throttled_across_usernames,
    throttled_api_calls_and_fetches_get_429_json_or_page,
    unknown_usernames_are_never_stored,
    two_instances_throttle_together,
    simultaneous_correct_sign_ins_wait_seconds_not_the_window,
);

const START: i64 = 1_900_000_000_000;

async fn app_with_clock(db: TestDb, env: &[(&'static str, &str)]) -> TestApp {
    spawn_app_with(
        db,
        Spawn {
            env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            manual_clock_at: Some(START),
            ..Spawn::default()
        },
    )
    .await
}

async fn fail(app: &TestApp, client: &reqwest::Client, username: &str) -> reqwest::Response {
    app.sign_in(client, username, "not the password", "/sessions")
        .await
}

async fn failures_throttle_the_username_even_with_the_right_password(db: TestDb) {
    let app = app_with_clock(db, &[]).await;
    let attacker = browser();
    for _ in 0..5 {
        let res = fail(&app, &attacker, "alice").await;
        assert_eq!(res.status(), 303, "failures 1-5 are ordinary failures");
        assert!(location(&res).starts_with("/sign-in?error=1"));
    }
    // The sixth attempt, from another client with the right password, is refused unchecked.
    let owner = browser();
    let res = app.sign_in(&owner, "alice", PASSWORD, "/sessions").await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "900");
    assert!(session_cookie(&res).is_none(), "no session while throttled");
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Too many failed sign-in attempts. Please wait 15 minutes"),
        "the page says when to try again"
    );
    assert!(
        page.contains("name=\"password\""),
        "it is the sign-in form again"
    );
    let throttled = app.audit_events(Some(AuditEvent::LoginThrottled)).await;
    assert_eq!(throttled.len(), 1);
    assert_eq!(throttled[0].username.as_deref(), Some("alice"));
    assert!(throttled[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("for this username"));
    // Refused attempts do not count: 5 failures stay 5.
    let failed = app.audit_events(Some(AuditEvent::LoginFailed)).await;
    assert_eq!(failed.len(), 5);
}

async fn the_wait_ends_when_the_window_has_passed(db: TestDb) {
    let app = app_with_clock(db, &[("AUTO_LOGOUT_LOGIN_LOCKOUT", "10m")]).await;
    let clock = app.clock.clone().unwrap();
    let client = browser();
    for minute in 0..5 {
        clock.set(auto_logout::UnixMillis(START + minute * 60_000));
        fail(&app, &client, "alice").await;
    }
    // Failures at minutes 0..4; the first leaves the 10-minute window at minute 10.
    clock.set(auto_logout::UnixMillis(START + 9 * 60_000));
    let res = app.sign_in(&client, "alice", PASSWORD, "").await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "60");
    clock.set(auto_logout::UnixMillis(START + 10 * 60_000));
    let res = app.sign_in(&client, "alice", PASSWORD, "").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/home");
}

async fn a_success_clears_the_usernames_failures(db: TestDb) {
    let app = app_with_clock(db, &[]).await;
    let client = browser();
    for _ in 0..4 {
        fail(&app, &client, "alice").await;
    }
    assert_eq!(
        app.sign_in(&browser(), "alice", PASSWORD, "")
            .await
            .status(),
        303
    );
    // The count starts again: four more failures are still allowed, the fifth too.
    for _ in 0..5 {
        assert_eq!(fail(&app, &client, "alice").await.status(), 303);
    }
    assert_eq!(fail(&app, &client, "alice").await.status(), 429);
}

async fn one_client_ip_is_throttled_across_usernames(db: TestDb) {
    let app = app_with_clock(
        db,
        &[
            ("AUTO_LOGOUT_LOGIN_MAX_FAILURES_PER_IP", "3"),
            ("AUTO_LOGOUT_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let client = browser();
    let from = |ip: &'static str, user: &'static str, password: &'static str| {
        client
            .post(app.url("/sign-in"))
            .header("origin", &app.address)
            .header("x-forwarded-for", ip)
            .form(&[("username", user), ("password", password)])
            .send()
    };
    for user in ["bob", "carol", "dave"] {
        assert_eq!(
            from("203.0.113.9", user, "guess").await.unwrap().status(),
            303
        );
    }
    // A fourth username from that IP is refused, even the right password for alice...
    let res = from("203.0.113.9", "alice", PASSWORD).await.unwrap();
    assert_eq!(res.status(), 429);
    // ...while alice from her own IP signs in.
    let res = from("198.51.100.20", "alice", PASSWORD).await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/home");
    let throttled = app.audit_events(Some(AuditEvent::LoginThrottled)).await;
    assert!(throttled[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("client IP"));
    assert_eq!(throttled[0].ip.as_deref(), Some("203.0.113.9"));
}

async fn throttled_api_calls_and_fetches_get_429_json_or_page(db: TestDb) {
    let app = app_with_clock(db, &[("AUTO_LOGOUT_LOGIN_MAX_FAILURES", "1")]).await;
    let client = browser();
    fail(&app, &client, "alice").await;
    let res = app.sign_in(&client, "alice", PASSWORD, "/sessions").await;
    assert_eq!(res.status(), 429);
    assert_eq!(
        res.headers()["cache-control"],
        "no-store",
        "a refusal page is never cached"
    );
    let page = res.text().await.unwrap();
    // `next` survives the refusal, so the person still lands where they were going.
    assert!(
        page.contains("value=\"/sessions\""),
        "next kept in the form"
    );
}

async fn unknown_usernames_are_never_stored(db: TestDb) {
    let app = app_with_clock(db, &[]).await;
    let client = browser();
    // People type passwords into the username field.
    let typed = "hunter2-my-secret";
    for _ in 0..6 {
        fail(&app, &client, typed).await;
    }
    fail(&app, &client, "alice").await;
    for entry in app.audit_events(None).await {
        assert_ne!(entry.username.as_deref(), Some(typed), "{entry:?}");
        let text = format!("{entry:?}");
        assert!(!text.contains(typed), "{text}");
    }
    let failed = app.audit_events(Some(AuditEvent::LoginFailed)).await;
    assert_eq!(
        failed[0].username.as_deref(),
        Some("alice"),
        "known users are named"
    );
    assert!(failed[0].user_id.is_some());
    assert_eq!(
        failed.len(),
        6,
        "5 failures for the typed name, then 1 for alice"
    );
    assert!(failed[1..]
        .iter()
        .all(|e| e.username.is_none() && e.user_id.is_none()));
    let rows = sqlx::query("SELECT user_key, ip_key FROM login_attempts")
        .fetch_all(app.state.engine.database().pool())
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let key: Option<String> = row.try_get("user_key").unwrap();
        let key = key.unwrap_or_default();
        assert!(!key.contains(typed) && !key.contains("alice"), "{key}");
        assert_eq!(key.len(), 8, "a short keyed hash, not the name");
    }
}

async fn two_instances_throttle_together(db: TestDb) {
    let second_db = db.share();
    let a = spawn_app(db).await;
    let b = spawn_joining(second_db, &[]).await;
    for instance in [&a, &b, &a, &b, &a] {
        assert_eq!(fail(instance, &browser(), "alice").await.status(), 303);
    }
    for instance in [&a, &b] {
        let res = instance.sign_in(&browser(), "alice", PASSWORD, "").await;
        assert_eq!(res.status(), 429, "both instances count the same failures");
    }
    // Failures racing on both instances at once cannot check more passwords than allowed.
    let racing = fresh_username_race(&a, &b).await;
    assert!(
        racing <= 5,
        "at most 5 passwords checked for one username across instances, got {racing}"
    );
}

/// 20 concurrent failures for a fresh username, half on each instance; returns how many were
/// checked (answered as ordinary failures rather than 429).
async fn fresh_username_race(a: &TestApp, b: &TestApp) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let address = if i % 2 == 0 { &a.address } else { &b.address }.clone();
        tasks.spawn(async move {
            sign_in_to(&address, &browser(), "mallory", "guess", "")
                .await
                .status()
                .as_u16()
        });
    }
    let mut checked = 0;
    while let Some(status) = tasks.join_next().await {
        match status.unwrap() {
            303 => checked += 1,
            429 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    checked
}

async fn simultaneous_correct_sign_ins_wait_seconds_not_the_window(db: TestDb) {
    let app = spawn_app(db).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let address = app.address.clone();
        tasks.spawn(async move {
            let res = sign_in_to(&address, &browser(), "alice", PASSWORD, "").await;
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            (res.status().as_u16(), retry)
        });
    }
    let mut signed_in = 0;
    let mut told_to_wait = 0;
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (303, None) => signed_in += 1,
            // Attempts still being checked make the rest wait briefly, never the window.
            (429, Some(wait)) => {
                assert!(wait <= 2, "told to wait {wait} s");
                told_to_wait += 1;
            }
            // On a slow machine some may find the password checks' queue full.
            (503, Some(wait)) => {
                assert!(wait <= 3, "told to wait {wait} s");
                told_to_wait += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    // Once the burst is over, every one of them gets in at once: nothing was counted.
    for _ in 0..told_to_wait {
        let res = app.sign_in(&browser(), "alice", PASSWORD, "").await;
        assert_eq!(location(&res), "/home");
        signed_in += 1;
    }
    assert_eq!(signed_in, 12);
    assert!(
        app.audit_events(Some(AuditEvent::LoginFailed))
            .await
            .is_empty(),
        "no failures were recorded"
    );
    // And nothing is left counting against alice.
    assert_eq!(
        app.sign_in(&browser(), "alice", PASSWORD, "")
            .await
            .status(),
        303
    );
}
