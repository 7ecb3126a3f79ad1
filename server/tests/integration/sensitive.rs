//! Sensitive actions (issue 26, SPEC §4, §6, §7): the re-authentication window with the
//! injected clock, every sensitive form and API call refused outside it and allowed after the
//! password is proved again; signing everyone out; overlapping refreshes. SQLite and
//! PostgreSQL.

use crate::common::*;
use auto_logout::AuditEvent;
use reqwest::{Client, Method, Response};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

db_tests!(
    every_sensitive_form_asks_for_the_password_in_place_then_acts,
    every_sensitive_api_call_needs_a_recent_proof,
    reauthentication_is_throttled_like_a_sign_in,
    signing_out_everyone_spares_whom_it_is_told_and_is_audited_once,
    overlapping_refreshes_share_a_successor_and_a_late_reuse_ends_the_session,
);

/// Just past the default `reauth_window` (10 minutes).
const PAST_THE_WINDOW: Duration = Duration::from_secs(10 * 60 + 1);

/// A server on a hand-moved clock whose sessions outlive several windows; `root` is an
/// administrator beside `alice`.
async fn window_app(db: TestDb) -> TestApp {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let app = spawn_app_with(
        db,
        Spawn {
            manual_clock_at: Some(now),
            env: vec![
                ("AUTO_LOGOUT_IDLE_TIME", "8h".into()),
                ("AUTO_LOGOUT_SESSION_TIME", "8h".into()),
            ],
            ..Spawn::default()
        },
    )
    .await;
    app.add_admin("root").await;
    app
}

/// Posts `fields` to `path` as a same-site page of this server would.
async fn post_fields(
    app: &TestApp,
    client: &Client,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    post_form(app, client, path, fields).await
}

/// Outside the window, `path` answers with the prompt (keeping every field typed) and does
/// nothing; the same post with the password does it. Returns that second answer.
async fn asks_then_does(
    app: &TestApp,
    client: &Client,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    app.advance(PAST_THE_WINDOW);
    let res = post_fields(app, client, path, fields).await;
    assert_eq!(res.status(), 200, "{path}: the prompt, not the action");
    assert_eq!(res.headers()["x-auto-logout-reauth"], "required", "{path}");
    let page = res.text().await.unwrap();
    assert!(page.contains("data-testid=\"reauth\""), "{path}: {page}");
    assert!(
        page.contains(&format!("action=\"{path}\"")),
        "{path}: posts back"
    );
    for (name, value) in fields {
        assert!(
            page.contains(&format!("name=\"{name}\" value=\"{value}\"")),
            "{path}: keeps {name}: {page}"
        );
    }
    let mut with_password = fields.to_vec();
    with_password.push(("reauth_password", PASSWORD));
    let res = post_fields(app, client, path, &with_password).await;
    assert_eq!(
        res.status(),
        303,
        "{path}: done once the password is proved"
    );
    res
}

async fn is_live(app: &TestApp, client: &Client) -> bool {
    app.status_json(client).await["session_id"].is_string()
}

async fn every_sensitive_form_asks_for_the_password_in_place_then_acts(db: TestDb) {
    let app = window_app(db).await;
    let (laptop, _) = app.device("alice", CHROME_UA).await;
    let (phone, phone_id) = app.device("alice", IPHONE_UA).await;
    let (tablet, _) = app.device("alice", FIREFOX_UA).await;
    let (console, _) = app.device("root", CHROME_UA).await;

    // Within the window nothing is asked: signing in proved the password.
    let res = post_fields(
        &app,
        &laptop,
        "/account",
        &[("display_name", "Alice"), ("email", "alice@example.com")],
    )
    .await;
    assert_eq!(location(&res), "/account?saved=1");

    // Changing the email address.
    let res = asks_then_does(
        &app,
        &laptop,
        "/account",
        &[("display_name", "Alice"), ("email", "alice@example.org")],
    )
    .await;
    assert_eq!(location(&res), "/account?saved=1");
    assert_eq!(
        app.user("alice").await.email.as_deref(),
        Some("alice@example.org")
    );
    // The display name alone is not sensitive.
    app.advance(PAST_THE_WINDOW);
    let res = post_fields(
        &app,
        &laptop,
        "/account",
        &[("display_name", "Ada"), ("email", "alice@example.org")],
    )
    .await;
    assert_eq!(location(&res), "/account?saved=1");

    // Signing out another device; signing out this one is not sensitive.
    let res = asks_then_does(
        &app,
        &laptop,
        "/sessions/revoke",
        &[("id", &phone_id), ("back", "/sessions")],
    )
    .await;
    assert_eq!(location(&res), "/sessions");
    assert!(!is_live(&app, &phone).await);
    let res = asks_then_does(
        &app,
        &laptop,
        "/sessions/revoke-others",
        &[("back", "/sessions")],
    )
    .await;
    assert_eq!(location(&res), "/sessions");
    assert!(!is_live(&app, &tablet).await);
    assert!(is_live(&app, &laptop).await);

    // Changing the password: the current one is asked even within the window.
    let (fresh, _) = app.device("alice", CHROME_UA).await;
    let res = post_fields(
        &app,
        &fresh,
        "/account/password",
        &[("new", "whatever it is"), ("confirm", "whatever it is")],
    )
    .await;
    assert_eq!(res.headers()["x-auto-logout-reauth"], "required");
    let new = "a brand new password";
    let res = asks_then_does(
        &app,
        &laptop,
        "/account/password",
        &[("new", new), ("confirm", new)],
    )
    .await;
    assert_eq!(
        location(&res),
        "/account/password?done=1",
        "the fresh device signed out"
    );

    // Every administrator action.
    let res = asks_then_does(
        &app,
        &console,
        "/admin/users/create",
        &[("username", "bob"), ("password", "bob own password")],
    )
    .await;
    assert!(
        location(&res).starts_with("/admin/users?done="),
        "{}",
        location(&res)
    );
    let res = asks_then_does(&app, &console, "/admin/users/disable", &[("name", "bob")]).await;
    assert!(location(&res).starts_with("/admin/users?done="));
    assert!(app.user("bob").await.disabled);
    app.add_user("dave").await;
    let (victim, victim_id) = app.device("dave", IPHONE_UA).await;
    let res = asks_then_does(
        &app,
        &console,
        "/admin/sessions/end",
        &[("id", &victim_id), ("back", "/admin/sessions")],
    )
    .await;
    assert_eq!(location(&res), "/admin/sessions");
    assert!(!is_live(&app, &victim).await);
    let res = asks_then_does(
        &app,
        &console,
        "/admin/sessions/sign-out-all",
        &[("except_self", "1")],
    )
    .await;
    assert_eq!(location(&res), "/admin/sessions?ended=1", "alice's laptop");
    assert!(!is_live(&app, &laptop).await);
    assert!(is_live(&app, &console).await);

    // A wrong password is the prompt again, saying so, and does nothing.
    app.advance(PAST_THE_WINDOW);
    let res = post_fields(
        &app,
        &console,
        "/admin/users/enable",
        &[("name", "bob"), ("reauth_password", "not it")],
    )
    .await;
    assert_eq!(res.headers()["x-auto-logout-reauth"], "required");
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("That password is not right."));
    assert!(app.user("bob").await.disabled);

    // Each proof is audited, with the session it renewed.
    let proofs = app.audit_events(Some(AuditEvent::Reauthenticated)).await;
    assert_eq!(proofs.len(), 8, "{proofs:?}");
    assert!(proofs.iter().all(|e| e.session_hash.is_some()));
}

/// An API client of `user` signed in for an opaque token: the token and its session id.
async fn api_token(app: &TestApp, user: &str) -> (String, String) {
    let body: Value = Client::new()
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        body["token"].as_str().unwrap().to_owned(),
        body["session_id"].as_str().unwrap().to_owned(),
    )
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = Client::new()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn every_sensitive_api_call_needs_a_recent_proof(db: TestDb) {
    let app = window_app(db).await;
    app.add_user("bob").await;
    let (alice, _) = api_token(&app, "alice").await;
    let (_, alice_other) = api_token(&app, "alice").await;
    let (root, _) = api_token(&app, "root").await;
    let (_, bob_session) = api_token(&app, "bob").await;
    app.advance(PAST_THE_WINDOW);

    let sensitive: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            "alice",
            Method::DELETE,
            format!("/api/v1/sessions/{alice_other}"),
            None,
        ),
        (
            "alice",
            Method::DELETE,
            "/api/v1/sessions?scope=others".into(),
            None,
        ),
        (
            "root",
            Method::DELETE,
            format!("/api/v1/admin/sessions/{bob_session}"),
            None,
        ),
        (
            "root",
            Method::POST,
            "/api/v1/admin/users".into(),
            Some(json!({"username": "carol", "password": "carol's password"})),
        ),
        (
            "root",
            Method::POST,
            "/api/v1/admin/users/bob/disable".into(),
            None,
        ),
        (
            "root",
            Method::POST,
            "/api/v1/admin/users/bob/enable".into(),
            None,
        ),
        (
            "root",
            Method::POST,
            "/api/v1/admin/users/bob/sign-out".into(),
            None,
        ),
        (
            "root",
            Method::POST,
            "/api/v1/admin/sessions/sign-out-all".into(),
            Some(json!({"except_self": true})),
        ),
    ];
    let token = |who: &str| {
        if who == "alice" {
            alice.clone()
        } else {
            root.clone()
        }
    };
    for (who, method, path, body) in &sensitive {
        let (status, answer) = call(&app, &token(who), method.clone(), path, body.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (403, Some("reauth_required")),
            "{method} {path}"
        );
    }
    // Reads are not sensitive.
    assert_eq!(
        call(&app, &root, Method::GET, "/api/v1/admin/users", None)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&app, &alice, Method::GET, "/api/v1/sessions", None)
            .await
            .0,
        200
    );

    // A wrong password renews nothing; the right one opens the window again.
    for who in ["alice", "root"] {
        let (status, answer) = call(
            &app,
            &token(who),
            Method::POST,
            "/api/v1/auth/reauth",
            Some(json!({"password": "not it"})),
        )
        .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (401, Some("invalid_credentials"))
        );
        let (status, _) = call(
            &app,
            &token(who),
            Method::POST,
            "/api/v1/auth/reauth",
            Some(json!({"password": PASSWORD})),
        )
        .await;
        assert_eq!(status, 204);
    }
    for (who, method, path, body) in &sensitive {
        let (status, answer) = call(&app, &token(who), method.clone(), path, body.clone()).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
    }
    // The window closes again.
    app.advance(PAST_THE_WINDOW);
    let (status, _) = call(
        &app,
        &root,
        Method::POST,
        "/api/v1/admin/users/bob/enable",
        None,
    )
    .await;
    assert_eq!(status, 403);
    let proofs = app.audit_events(Some(AuditEvent::Reauthenticated)).await;
    assert_eq!(proofs.len(), 2);
    let failures = app.audit_events(Some(AuditEvent::LoginFailed)).await;
    assert_eq!(
        failures.len(),
        2,
        "a wrong password counts as a failed sign-in"
    );
}

async fn reauthentication_is_throttled_like_a_sign_in(db: TestDb) {
    let app = window_app(db).await;
    let (alice, _) = api_token(&app, "alice").await;
    for _ in 0..5 {
        let (status, _) = call(
            &app,
            &alice,
            Method::POST,
            "/api/v1/auth/reauth",
            Some(json!({"password": "guess"})),
        )
        .await;
        assert_eq!(status, 401);
    }
    // Throttled: even the right password is refused unchecked until the wait is over.
    let (status, answer) = call(
        &app,
        &alice,
        Method::POST,
        "/api/v1/auth/reauth",
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (429, Some("too_many_requests"))
    );
    // And so is the sign-in page for that account.
    let res = app.sign_in(&browser(), "alice", PASSWORD, "").await;
    assert_ne!(location(&res), "/home");
}

async fn signing_out_everyone_spares_whom_it_is_told_and_is_audited_once(db: TestDb) {
    let app = window_app(db).await;
    app.add_admin("carol").await;
    let (laptop, _) = app.device("alice", CHROME_UA).await;
    let (phone, _) = app.device("alice", IPHONE_UA).await;
    let (carol, _) = app.device("carol", CHROME_UA).await;
    let (console, _) = app.device("root", CHROME_UA).await;
    let sign_out_all = |body: Value| {
        console
            .post(app.url("/api/v1/admin/sessions/sign-out-all"))
            .header("origin", &app.address)
            .json(&body)
            .send()
    };
    let res = sign_out_all(json!({"except_admins": true})).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"ended": 2}));
    for tab in [&laptop, &phone] {
        let status = app.status_json(tab).await;
        assert_eq!(status["error"], "session_ended", "{status}");
        assert_eq!(status["reason"], "revoked", "{status}");
    }
    assert!(is_live(&app, &carol).await && is_live(&app, &console).await);
    let res = sign_out_all(json!({"except_self": true})).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"ended": 1}));
    assert!(!is_live(&app, &carol).await && is_live(&app, &console).await);

    // One entry per sign-out, with the count and the administrator; no entry per session.
    let root = app.user("root").await;
    let entries = app.audit_events(Some(AuditEvent::SignedOutEveryone)).await;
    let counts: Vec<(i64, Option<i64>)> = entries
        .iter()
        .map(|e| (e.repeat_count, e.actor_id))
        .collect();
    assert_eq!(counts, vec![(1, Some(root.id)), (2, Some(root.id))]);
    assert!(app.audit_events(Some(AuditEvent::Revoked)).await.is_empty());

    // Not for anyone else.
    let (late, _) = app.device("alice", FIREFOX_UA).await;
    let res = late
        .post(app.url("/api/v1/admin/sessions/sign-out-all"))
        .header("origin", &app.address)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(is_live(&app, &late).await);

    // The command line ends the rest, the console included.
    let out = run_cli(
        &["session", "revoke", "--all"],
        &app.state.config.database_url,
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "2 sessions signed out"
    );
    // Another process ended them: the server learns it from the change log within a second.
    for tab in [&console, &late] {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while is_live(&app, tab).await {
            assert!(std::time::Instant::now() < deadline, "still signed in");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let entries = app.audit_events(Some(AuditEvent::SignedOutEveryone)).await;
    assert_eq!((entries[0].repeat_count, entries[0].actor_id), (2, None));
    let out = run_cli(&["session", "revoke"], &app.state.config.database_url, "");
    assert!(!out.status.success(), "an id or --all is needed");
}

async fn refresh(token: String, address: String) -> (u16, Value) {
    let res = Client::new()
        .post(format!("{address}/api/v1/auth/jwt/refresh"))
        .json(&json!({"refresh_token": token}))
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn overlapping_refreshes_share_a_successor_and_a_late_reuse_ends_the_session(db: TestDb) {
    let app = window_app(db).await;
    let body: Value = Client::new()
        .post(app.url("/api/v1/auth/jwt"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = body["refresh_token"].as_str().unwrap().to_owned();
    let session = body["session_id"].as_str().unwrap().to_owned();
    // A mobile app's parallel requests all refresh with the same token at once.
    let racers: Vec<_> = (0..6)
        .map(|_| tokio::spawn(refresh(first.clone(), app.address.clone())))
        .collect();
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.unwrap());
    }
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    let successor = answers[0].1["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(successor, first);
    for (_, body) in &answers {
        assert_eq!(
            body["refresh_token"],
            successor.as_str(),
            "one successor for all"
        );
        let jwt = body["access_token"].as_str().unwrap();
        assert_eq!(
            call(&app, jwt, Method::GET, "/api/v1/session", None)
                .await
                .0,
            200
        );
    }
    // Late in the grace, still the same.
    app.advance(Duration::from_secs(10));
    let (status, body) = refresh(first.clone(), app.address.clone()).await;
    assert_eq!(
        (status, body["refresh_token"].as_str()),
        (200, Some(successor.as_str()))
    );
    // The successor rotates as any token.
    let (status, body) = refresh(successor.clone(), app.address.clone()).await;
    assert_eq!(status, 200);
    let third = body["refresh_token"].as_str().unwrap().to_owned();
    // After the grace, the first one again is a copy: the session ends.
    app.advance(Duration::from_secs(1));
    let (status, body) = refresh(first, app.address.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("session_ended"))
    );
    let row = app.session_row(&session).await;
    assert_eq!(row.detail.as_deref(), Some("refresh token reused"));
    assert_eq!(refresh(third, app.address.clone()).await.0, 401);
}
