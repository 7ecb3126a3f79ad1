//! Safe to expose (SPEC §3, §6, §7): no default credentials, no password hash in session data,
//! allowed hosts, `__Host-` cookies, one JSON error shape under `/api/v1`, and the session
//! limit held by the database across instances.

use crate::common::*;
use sqlx::Row;

db_tests!(
    an_empty_user_table_stays_empty_without_demo_account,
    demo_account_creates_the_demo_user,
    the_demo_password_is_retired_without_demo_account,
    session_data_holds_no_password_hash,
    a_password_change_still_ends_sessions,
    unknown_hosts_get_400_before_any_handler,
    secure_cookies_use_the_host_prefix,
    api_errors_are_always_json,
    two_instances_hold_the_session_limit_together,
    a_restart_keeps_sessions_signed_in,
);

async fn an_empty_user_table_stays_empty_without_demo_account(db: TestDb) {
    let app = spawn_joining(db, &[]).await;
    assert_eq!(app.state.engine.users().count().await.unwrap(), 0);
    let res = app
        .sign_in(&browser(), "demo", "auto-logout-demo", "")
        .await;
    assert!(location(&res).starts_with("/sign-in?error=1"));
}

async fn demo_account_creates_the_demo_user(db: TestDb) {
    let app = spawn_joining(db, &[("AUTO_LOGOUT_DEMO_ACCOUNT", "true")]).await;
    let res = app
        .sign_in(&browser(), "demo", "auto-logout-demo", "")
        .await;
    assert_eq!(location(&res), "/home");
}

async fn the_demo_password_is_retired_without_demo_account(db: TestDb) {
    let demo = spawn_joining(db, &[("AUTO_LOGOUT_DEMO_ACCOUNT", "true")]).await;
    let (_, cookie) = {
        let client = browser();
        let res = demo.sign_in(&client, "demo", "auto-logout-demo", "").await;
        (client, session_cookie(&res).expect("the demo signs in"))
    };
    let db = demo.stop().await;
    let production = spawn_joining(db, &[]).await;
    let res = production
        .sign_in(&browser(), "demo", "auto-logout-demo", "")
        .await;
    assert!(
        location(&res).starts_with("/sign-in?error=1"),
        "the published password no longer works"
    );
    // And the session made with it has ended, audited.
    let row = production
        .session_row(&auto_logout::server::secret::hash_secret(&cookie))
        .await;
    assert_eq!(row.end_reason.as_deref(), Some("revoked"));
    // Audited like any password change.
    let changed = production
        .audit_events(Some(auto_logout::AuditEvent::PasswordChanged))
        .await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].username.as_deref(), Some("demo"));
}

async fn session_data_holds_no_password_hash(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    assert_eq!(
        client.get(app.url("/home")).send().await.unwrap().status(),
        200
    );
    let user = app.user("alice").await;
    let rows = sqlx::query("SELECT data FROM sessions")
        .fetch_all(app.state.engine.database().pool())
        .await
        .unwrap();
    assert!(!rows.is_empty());
    let hash_bytes: Vec<String> = user
        .password_hash
        .as_bytes()
        .iter()
        .map(u8::to_string)
        .collect();
    for row in rows {
        let data: String = row.try_get("data").unwrap();
        assert!(!data.contains("argon2"), "{data}");
        assert!(!data.contains(&user.password_hash), "{data}");
        // axum-login stores its auth hash as a byte array: not the password hash's bytes.
        assert!(!data.contains(&hash_bytes[..8].join(",")), "{data}");
    }
}

async fn a_password_change_still_ends_sessions(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    app.state
        .engine
        .users()
        .set_password("alice", "a brand new password")
        .await
        .unwrap();
    // The derived auth hash changed with the password: the old session no longer signs in,
    // at once (the account cache is invalidated by the change, not by age).
    let res = client.get(app.url("/home")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/sign-in"));
}

async fn unknown_hosts_get_400_before_any_handler(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    for path in ["/", "/home", "/sign-in", "/healthz", "/pkg/auto-logout.css"] {
        let res = client
            .get(app.url(path))
            .header("host", "attacker.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{path}");
    }
    let res = client
        .get(app.url("/api/v1/session"))
        .header("host", "attacker.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unknown_host");
    // A rebinding page cannot sign out either: the POST never reaches the handler.
    let res = client
        .post(app.url("/logout"))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        client.get(app.url("/home")).send().await.unwrap().status(),
        200
    );
    let res = client
        .get(app.url("/home"))
        .header("host", "localhost:1234")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "localhost on any port is allowed by default"
    );
}

async fn secure_cookies_use_the_host_prefix(db: TestDb) {
    let app = spawn_app_env(db, &[("AUTO_LOGOUT_COOKIE_SECURE", "true")]).await;
    let client = browser();
    let res = app.sign_in(&client, "alice", PASSWORD, "").await;
    let cookie = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("__Host-auto_logout_session="))
        .expect("a __Host- session cookie");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    let id = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    // The plain name is not a session on this server.
    let plain = app.get_with_cookie("/home", &id).await;
    assert_eq!(plain.status(), 303);
    let res = browser()
        .post(app.url("/logout"))
        .header("origin", &app.address)
        .header("cookie", format!("__Host-auto_logout_session={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookies = set_cookies(&res);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("__Host-auto_logout_session=;")
                && c.contains("Max-Age=0")
                && c.contains("Secure")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("auto_logout_flash=signed_out") && c.contains("Secure")),
        "{cookies:?}"
    );
}

async fn api_errors_are_always_json(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    let check = |res: reqwest::Response, status: u16, code: &'static str| async move {
        assert_eq!(res.status(), status);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{code}"
        );
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    };
    let res = client
        .delete(app.url("/api/v1/sessions?scope=others"))
        .header("origin", "https://attacker.example")
        .send()
        .await
        .unwrap();
    check(res, 403, "forbidden").await;
    let res = client
        .get(app.url("/api/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    check(res, 404, "not_found").await;
    let res = client
        .put(app.url("/api/v1/session"))
        .header("origin", &app.address)
        .send()
        .await
        .unwrap();
    check(res, 405, "method_not_allowed").await;
    let res = browser()
        .get(app.url("/api/v1/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    check(res, 401, "unauthenticated").await;
    app.state.engine.database().close().await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let res = client.get(app.url("/api/v1/session")).send().await.unwrap();
    assert!(res.headers().contains_key("retry-after"));
    check(res, 503, "unavailable").await;
}

async fn two_instances_hold_the_session_limit_together(db: TestDb) {
    let env = [
        ("AUTO_LOGOUT_MAX_SESSIONS", "1"),
        ("AUTO_LOGOUT_ON_MAX_SESSIONS", "deny_new"),
        // Attempts still being checked count against the throttle; let all 8 through.
        ("AUTO_LOGOUT_LOGIN_MAX_FAILURES", "20"),
    ];
    let second = db.share();
    let a = spawn_app_env(db, &env).await;
    let b = spawn_joining(second, &env).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let address = if i % 2 == 0 { &a.address } else { &b.address }.clone();
        tasks.spawn(async move {
            location(&sign_in_to(&address, &browser(), "alice", PASSWORD, "").await)
        });
    }
    let mut admitted = 0;
    while let Some(target) = tasks.join_next().await {
        let target = target.unwrap();
        assert!(
            !target.is_empty(),
            "every attempt is answered with a redirect"
        );
        if target == "/home" {
            admitted += 1;
        } else {
            assert!(target.starts_with("/sign-in?error=limit"), "{target}");
        }
    }
    assert_eq!(
        admitted, 1,
        "exactly one sign-in admitted across both instances"
    );
    let live = sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE ended_at IS NULL")
        .fetch_one(a.state.engine.database().pool())
        .await
        .unwrap()
        .try_get::<i64, _>("n")
        .unwrap();
    assert_eq!(live, 1);
    let refused = a
        .audit_events(Some(auto_logout::AuditEvent::SessionLimit))
        .await;
    assert_eq!(refused.len(), 7, "every refusal audited");
}

async fn a_restart_keeps_sessions_signed_in(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    assert_eq!(
        client.get(app.url("/home")).send().await.unwrap().status(),
        200
    );
    let res = app.sign_in(&browser(), "alice", PASSWORD, "").await;
    let id = session_cookie(&res).unwrap();
    let db = app.stop().await;
    let restarted = spawn_joining(db, &[]).await;
    let res = restarted.get_with_cookie("/home", &id).await;
    assert_eq!(res.status(), 200, "the session survives a restart");
    assert!(res.text().await.unwrap().contains("alice"));
}
