//! The administrators' API (SPEC §7): every endpoint refuses anyone but an administrator, and
//! every action is in the audit log with the administrator as actor. SQLite and PostgreSQL.

use crate::common::*;
use auto_logout::AuditEvent;
use reqwest::Method;
use serde_json::{json, Value};

db_tests!(
    only_administrators_get_in,
    administrators_see_and_end_any_session,
    the_activity_log_filters_and_pages,
    accounts_are_created_disabled_enabled_and_signed_out,
    administrators_get_their_own_limits,
    the_admin_pages_work_without_javascript,
    a_password_change_keeps_this_session_and_ends_the_others,
    the_session_list_follows_every_change_made_here,
    a_sign_in_on_another_instance_reaches_the_session_list,
);

/// Every admin endpoint (method, path).
const ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/api/v1/admin/sessions"),
    ("DELETE", "/api/v1/admin/sessions/0123"),
    ("GET", "/api/v1/admin/activity"),
    ("GET", "/api/v1/admin/users"),
    ("POST", "/api/v1/admin/users"),
    ("POST", "/api/v1/admin/users/alice/disable"),
    ("POST", "/api/v1/admin/users/alice/enable"),
    ("POST", "/api/v1/admin/users/alice/sign-out"),
];

impl TestApp {
    /// An administrator `root`, signed in on a new browser.
    async fn admin(&self) -> reqwest::Client {
        if self
            .state
            .engine
            .users()
            .find_by_username("root")
            .await
            .unwrap()
            .is_none()
        {
            self.state
                .engine
                .users()
                .create("root", PASSWORD, true)
                .await
                .unwrap();
        }
        let client = browser();
        let res = self.sign_in(&client, "root", PASSWORD, "/home").await;
        assert_eq!(res.status(), 303);
        client
    }

    /// `method path` as `client`, same-origin, with an optional JSON body.
    async fn admin_call(
        &self,
        client: &reqwest::Client,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = client
            .request(method.parse::<Method>().unwrap(), self.url(path))
            .header("origin", &self.address);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

async fn only_administrators_get_in(db: TestDb) {
    let app = spawn_app(db).await;
    let alice = app.signed_in().await;
    for (method, path) in ENDPOINTS {
        let body = (*method == "POST").then(|| json!({"username": "x", "password": "y"}));
        let (status, answer) = app.admin_call(&alice, method, path, body.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (403, Some("forbidden")),
            "{method} {path}"
        );
        let (status, _) = app.admin_call(&browser(), method, path, body).await;
        assert_eq!(status, 401, "anonymous {method} {path}");
    }
    // Nothing changed: alice is still signed in and enabled.
    assert_eq!(app.status_json(&alice).await["user"], "alice");
    // The admin pages: 403 for a non-administrator too.
    let res = alice.get(app.url("/admin/sessions")).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

async fn administrators_see_and_end_any_session(db: TestDb) {
    let app = spawn_app(db).await;
    let root = app.admin().await;
    let (alice_laptop, laptop_id) = app.device("alice", CHROME_UA).await;
    let (_alice_phone, _) = app.device("alice", IPHONE_UA).await;
    let (status, page) = app
        .admin_call(
            &root,
            "GET",
            "/api/v1/admin/sessions?state=active&user=alice",
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let sessions = page["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert!(sessions
        .iter()
        .all(|s| s["user"] == "alice" && s["kind"] == "browser"));
    assert!(sessions
        .iter()
        .any(|s| s["browser"] == "Safari" || s["os"] == "iOS"));
    // Pagination: one at a time, newest first, no repeats.
    let (_, first) = app
        .admin_call(
            &root,
            "GET",
            "/api/v1/admin/sessions?user=alice&limit=1",
            None,
        )
        .await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let (_, second) = app
        .admin_call(
            &root,
            "GET",
            &format!("/api/v1/admin/sessions?user=alice&limit=1&cursor={cursor}"),
            None,
        )
        .await;
    assert_ne!(first["sessions"][0]["id"], second["sessions"][0]["id"]);
    let (status, _) = app
        .admin_call(&root, "GET", "/api/v1/admin/sessions?state=sleeping", None)
        .await;
    assert_eq!(status, 400);
    // End alice's laptop session.
    let (status, _) = app
        .admin_call(
            &root,
            "DELETE",
            &format!("/api/v1/admin/sessions/{laptop_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        app.status_json(&alice_laptop).await["error"],
        "session_ended"
    );
    let root_id = app.user("root").await.id;
    let row = app.session_row(&laptop_id).await;
    assert_eq!(
        (row.end_reason.as_deref(), row.ended_by),
        (Some("revoked"), Some(root_id))
    );
    let revoked = app.audit_events(Some(AuditEvent::Revoked)).await;
    assert_eq!(revoked[0].actor_id, Some(root_id));
    let (status, _) = app
        .admin_call(
            &root,
            "DELETE",
            &format!("/api/v1/admin/sessions/{laptop_id}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "already ended");
    let (_, ended) = app
        .admin_call(
            &root,
            "GET",
            "/api/v1/admin/sessions?state=ended&user=alice",
            None,
        )
        .await;
    assert_eq!(ended["sessions"][0]["ended_by"], root_id);
    assert_eq!(ended["sessions"][0]["ended_by_user"], "root");
}

async fn the_activity_log_filters_and_pages(db: TestDb) {
    let app = spawn_app(db).await;
    let root = app.admin().await;
    for _ in 0..3 {
        app.sign_in(&browser(), "alice", "wrong password", "").await;
    }
    app.signed_in().await;
    let (status, page) = app
        .admin_call(
            &root,
            "GET",
            "/api/v1/admin/activity?user=alice&event=login_failed",
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries
        .iter()
        .all(|e| e["event"] == "login_failed" && e["username"] == "alice"));
    let (_, first) = app
        .admin_call(
            &root,
            "GET",
            "/api/v1/admin/activity?user=alice&limit=2",
            None,
        )
        .await;
    let cursor = first["next_cursor"].as_i64().unwrap();
    let (_, rest) = app
        .admin_call(
            &root,
            "GET",
            &format!("/api/v1/admin/activity?user=alice&limit=10&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(
        first["entries"].as_array().unwrap().len() + rest["entries"].as_array().unwrap().len(),
        4,
        "3 failures and a login, each once"
    );
    let future = app.state.engine.clock().now().as_millis() + 60_000;
    let (_, none) = app
        .admin_call(
            &root,
            "GET",
            &format!("/api/v1/admin/activity?since={future}"),
            None,
        )
        .await;
    assert!(none["entries"].as_array().unwrap().is_empty());
    let (status, _) = app
        .admin_call(&root, "GET", "/api/v1/admin/activity?event=nap", None)
        .await;
    assert_eq!(status, 400);
}

async fn accounts_are_created_disabled_enabled_and_signed_out(db: TestDb) {
    let app = spawn_app(db).await;
    let root = app.admin().await;
    let root_id = app.user("root").await.id;
    let (status, created) = app
        .admin_call(
            &root,
            "POST",
            "/api/v1/admin/users",
            Some(json!({"username": "bob", "password": "a long password"})),
        )
        .await;
    assert_eq!((status, created["username"].as_str()), (201, Some("bob")));
    let (status, body) = app
        .admin_call(
            &root,
            "POST",
            "/api/v1/admin/users",
            Some(json!({"username": "bob", "password": "a long password"})),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("user_exists")));
    let (status, _) = app
        .admin_call(
            &root,
            "POST",
            "/api/v1/admin/users",
            Some(json!({"username": "carol", "password": "short"})),
        )
        .await;
    assert_eq!(status, 422);
    let created = app.audit_events(Some(AuditEvent::UserCreated)).await;
    assert_eq!(
        (created[0].username.as_deref(), created[0].actor_id),
        (Some("bob"), Some(root_id))
    );

    // Disable alice: her sessions end and she cannot sign in, with the generic message.
    let alice = app.signed_in().await;
    let (_, users) = app
        .admin_call(&root, "GET", "/api/v1/admin/users", None)
        .await;
    let row = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "alice")
        .unwrap()
        .clone();
    assert_eq!(
        (row["active_sessions"].as_i64(), row["disabled"].as_bool()),
        (Some(1), Some(false))
    );
    let (status, _) = app
        .admin_call(&root, "POST", "/api/v1/admin/users/alice/disable", None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.status_json(&alice).await["error"], "session_ended");
    let res = app.sign_in(&browser(), "alice", PASSWORD, "/home").await;
    assert_eq!(
        location(&res),
        "/sign-in?error=1&next=%2Fhome",
        "refused like a wrong password"
    );
    let disabled = app.audit_events(Some(AuditEvent::UserDisabled)).await;
    assert_eq!(disabled[0].actor_id, Some(root_id));
    let (_, users) = app
        .admin_call(&root, "GET", "/api/v1/admin/users", None)
        .await;
    let row = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "alice")
        .unwrap()
        .clone();
    assert_eq!(
        (row["active_sessions"].as_i64(), row["disabled"].as_bool()),
        (Some(0), Some(true))
    );

    // Enable: she signs in again; then signed out everywhere by the administrator.
    let (status, _) = app
        .admin_call(&root, "POST", "/api/v1/admin/users/alice/enable", None)
        .await;
    assert_eq!(status, 204);
    let alice = app.signed_in().await;
    let (status, _) = app
        .admin_call(&root, "POST", "/api/v1/admin/users/alice/sign-out", None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.status_json(&alice).await["error"], "session_ended");
    let (status, _) = app
        .admin_call(&root, "POST", "/api/v1/admin/users/nobody/disable", None)
        .await;
    assert_eq!(status, 404);
    let enabled = app.audit_events(Some(AuditEvent::UserEnabled)).await;
    assert_eq!(enabled[0].actor_id, Some(root_id));
}

async fn administrators_get_their_own_limits(db: TestDb) {
    let app = spawn_app_env(
        db,
        &[
            ("AUTO_LOGOUT_ADMIN_IDLE_TIME", "2m"),
            ("AUTO_LOGOUT_ADMIN_SESSION_TIME", "20m"),
        ],
    )
    .await;
    let root = app.admin().await;
    let alice = app.signed_in().await;
    let status = app.status_json(&root).await;
    assert_eq!(status["seconds_until_idle_end"], 120);
    assert_eq!(status["seconds_until_session_end"], 1200);
    assert_eq!(
        app.status_json(&alice).await["seconds_until_idle_end"],
        600,
        "not for others"
    );
    // The countdown on the page shows the administrator's limit.
    let page = app.page(&root, "/home").await;
    assert!(page.contains(r#"data-testid="idle-countdown""#), "{page}");
    assert!(page.contains(r#"data-seconds="120""#), "{page}");
}

async fn the_admin_pages_work_without_javascript(db: TestDb) {
    let app = spawn_app(db).await;
    let root = app.admin().await;
    let (alice, alice_id) = app.device("alice", CHROME_UA).await;
    app.sign_in(&browser(), "alice", "wrong password", "").await;
    // Non-administrators get 403 on every page and form.
    for page in [
        "/admin/sessions",
        "/admin/activity",
        "/admin/users",
        "/admin/activity.csv",
    ] {
        let res = alice.get(app.url(page)).send().await.unwrap();
        assert_eq!(res.status(), 403, "{page}");
    }
    let res = post_form(&app, &alice, "/admin/users/disable", &[("name", "root")]).await;
    assert_eq!(res.status(), 403);

    let page = app
        .page(&root, "/admin/sessions?state=active&user=alice")
        .await;
    assert!(
        page.contains(&format!(r#"data-session-id="{alice_id}""#)),
        "{page}"
    );
    let res = post_form(
        &app,
        &root,
        "/admin/sessions/end",
        &[("id", &alice_id), ("back", "/admin/sessions?user=alice")],
    )
    .await;
    assert_eq!(location(&res), "/admin/sessions?user=alice");
    assert_eq!(app.status_json(&alice).await["error"], "session_ended");
    let page = app
        .page(&root, "/admin/sessions?state=ended&user=alice")
        .await;
    assert!(page.contains("(revoked by root)"), "who ended it: {page}");
    let res = post_form(
        &app,
        &root,
        "/admin/sessions/end",
        &[("id", "x"), ("back", "https://evil.example/")],
    )
    .await;
    assert_eq!(location(&res), "/admin/sessions", "no open redirect");

    let res = post_form(
        &app,
        &root,
        "/admin/users/create",
        &[("username", "bob"), ("password", "a long password")],
    )
    .await;
    assert_eq!(location(&res), "/admin/users?done=created");
    let page = app.page(&root, "/admin/users?done=created").await;
    assert!(
        page.contains(r#"data-user="bob""#) && page.contains("Account created."),
        "{page}"
    );
    let res = post_form(
        &app,
        &root,
        "/admin/users/create",
        &[("username", "bob"), ("password", "a long password")],
    )
    .await;
    assert_eq!(location(&res), "/admin/users?error=exists");
    let res = post_form(&app, &root, "/admin/users/disable", &[("name", "bob")]).await;
    assert_eq!(location(&res), "/admin/users?done=disable");
    let res = app.sign_in(&browser(), "bob", "a long password", "").await;
    assert!(
        location(&res).starts_with("/sign-in?error=1"),
        "a disabled account cannot sign in"
    );

    let page = app
        .page(&root, "/admin/activity?user=alice&event=login_failed")
        .await;
    assert_eq!(
        page.matches(r#"data-testid="activity-row""#).count(),
        1,
        "{page}"
    );
    let csv = root
        .get(app.url("/admin/activity.csv?user=alice&event=login_failed"))
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("id,at,event,username"));
    assert!(lines[1].contains(",login_failed,alice,"), "{text}");
}

async fn a_password_change_keeps_this_session_and_ends_the_others(db: TestDb) {
    let app = spawn_app(db).await;
    let (laptop, _) = app.device("alice", CHROME_UA).await;
    let (phone, _) = app.device("alice", IPHONE_UA).await;
    let res = post_form(
        &app,
        &laptop,
        "/account/password",
        &[
            ("reauth_password", "wrong"),
            ("new", "a brand new password"),
            ("confirm", "a brand new password"),
        ],
    )
    .await;
    // A wrong current password is the re-authentication prompt again, saying so.
    assert_eq!(res.headers()["x-auto-logout-reauth"], "required");
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("That password is not right."));
    let res = post_form(
        &app,
        &laptop,
        "/account/password",
        &[
            ("reauth_password", PASSWORD),
            ("new", "a brand new password"),
            ("confirm", "another one"),
        ],
    )
    .await;
    assert_eq!(location(&res), "/account/password?error=mismatch");
    let res = post_form(
        &app,
        &laptop,
        "/account/password",
        &[
            ("reauth_password", PASSWORD),
            ("new", "a brand new password"),
            ("confirm", "a brand new password"),
        ],
    )
    .await;
    assert_eq!(location(&res), "/account/password?done=1");
    assert_eq!(
        app.status_json(&phone).await["error"],
        "session_ended",
        "the other device"
    );
    assert_eq!(
        app.status_json(&laptop).await["user"],
        "alice",
        "this one stays"
    );
    assert_eq!(
        laptop.get(app.url("/home")).send().await.unwrap().status(),
        200
    );
    let page = app.page(&laptop, "/account/password?done=1").await;
    assert!(page.contains("1 other session was signed out."), "{page}");
    let changed = app.audit_events(Some(AuditEvent::PasswordChanged)).await;
    assert_eq!(changed.len(), 1);
    let res = app
        .sign_in(&browser(), "alice", "a brand new password", "")
        .await;
    assert_eq!(location(&res), "/home");
}

/// alice's sessions in the administrators' list (the JSON API and the page both read the page
/// the engine keeps between changes): (id, last seen, ended) by id.
async fn alices_sessions(app: &TestApp, root: &reqwest::Client) -> Vec<(String, i64, bool)> {
    let (status, page) = app
        .admin_call(root, "GET", "/api/v1/admin/sessions?user=alice", None)
        .await;
    assert_eq!(status, 200, "{page}");
    let mut sessions: Vec<_> = page["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["last_seen_at"].as_i64().unwrap(),
                !s["ended_at"].is_null(),
            )
        })
        .collect();
    sessions.sort();
    sessions
}

/// The `/admin/sessions?user=alice` page: how many rows, how many of them live.
async fn alices_rows(app: &TestApp, root: &reqwest::Client) -> (usize, usize) {
    let res = root
        .get(app.url("/admin/sessions?user=alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    (
        html.matches(r#"data-testid="admin-session-row""#).count(),
        html.matches("<td>live</td>").count(),
    )
}

async fn the_session_list_follows_every_change_made_here(db: TestDb) {
    let app = spawn_app_with(
        db,
        Spawn {
            manual_clock_at: Some(1_800_000_000_000),
            ..Spawn::default()
        },
    )
    .await;
    let clock = app.clock.clone().unwrap();
    let root = app.admin().await;
    let (laptop, laptop_id) = app.device("alice", CHROME_UA).await;
    let first = alices_sessions(&app, &root).await;
    assert_eq!(first.len(), 1);
    assert_eq!(
        alices_sessions(&app, &root).await,
        first,
        "the same list again"
    );
    assert_eq!(alices_rows(&app, &root).await, (1, 1));
    assert_eq!(
        alices_rows(&app, &root).await,
        (1, 1),
        "the same page again"
    );

    // A sign-in.
    let (phone, phone_id) = app.device("alice", IPHONE_UA).await;
    assert_eq!(alices_rows(&app, &root).await, (2, 2));
    let listed = alices_sessions(&app, &root).await;
    assert_eq!(listed.len(), 2);

    // Activity moves "last seen" to the second.
    clock.advance(std::time::Duration::from_secs(30));
    let res = phone.get(app.url("/home")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let last_seen =
        |list: &[(String, i64, bool)], id: &str| list.iter().find(|(i, _, _)| i == id).unwrap().1;
    let moved = alices_sessions(&app, &root).await;
    assert_eq!(
        last_seen(&moved, &phone_id),
        last_seen(&listed, &phone_id) + 30_000
    );

    // A session ended by its owner, then one by the administrator.
    let res = app.logout(&phone).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(alices_rows(&app, &root).await, (2, 1));
    let (status, _) = app
        .admin_call(
            &root,
            "DELETE",
            &format!("/api/v1/admin/sessions/{laptop_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(alices_rows(&app, &root).await, (2, 0));
    assert!(alices_sessions(&app, &root)
        .await
        .iter()
        .all(|(_, _, ended)| *ended));
    assert_ne!(
        app.status_json(&laptop).await["user"],
        "alice",
        "the laptop is out"
    );
}

async fn a_sign_in_on_another_instance_reaches_the_session_list(db: TestDb) {
    let (a, b) = spawn_two_instances(db).await;
    let root = a.admin().await;
    let (_, on_a) = a.device("alice", CHROME_UA).await;
    assert_eq!(alices_rows(&a, &root).await, (1, 1));
    let (on_b_client, on_b) = b.device("alice", FIREFOX_UA).await;
    wait_for_rows(&a, &root, (2, 2), "the sign-in on B").await;
    let ids: Vec<String> = alices_sessions(&a, &root)
        .await
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    let mut expected = vec![on_a, on_b];
    expected.sort();
    assert_eq!(ids, expected);
    // And a sign-out there.
    let res = b.logout(&on_b_client).await;
    assert!(res.status().is_redirection(), "{}", res.status());
    wait_for_rows(&a, &root, (2, 1), "the sign-out on B").await;
}

/// Polls `app`'s `/admin/sessions?user=alice` until it shows `rows` (at most 5 s).
async fn wait_for_rows(app: &TestApp, root: &reqwest::Client, rows: (usize, usize), what: &str) {
    assert!(
        eventually(|| alices_rows(app, root), |shown| *shown == rows).await,
        "the list never showed {what}"
    );
}
