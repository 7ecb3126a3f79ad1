//! CSRF (SPEC §6): a state-changing request that carries the session cookie but none of
//! `Origin`, `Referer`, `Sec-Fetch-Site` is refused like a cross-site one, and changes nothing;
//! the same request labelled by its own site works. Requests without the cookie (a first
//! sign-in) or with a bearer credential need no label. SQLite and PostgreSQL.

use crate::common::*;
use reqwest::Client;

db_tests!(
    unlabelled_state_changes_with_the_session_cookie_are_refused,
    requests_without_an_ambient_credential_need_no_label,
);

/// `POST path` with a form body and no `Origin`, `Referer` or `Sec-Fetch-Site`: what an old
/// or privacy-hardened browser could send for another site's page, with the visitor's cookie.
async fn unlabelled_post(
    app: &TestApp,
    client: &Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("POST")
}

async fn unlabelled_state_changes_with_the_session_cookie_are_refused(db: TestDb) {
    let app = spawn_app(db).await;
    let (client, cookie) = app.signed_in_with_cookie().await;
    let id_hash = auto_logout::server::secret::hash_secret(&cookie);

    let res = unlabelled_post(&app, &client, "/logout", &[]).await;
    assert_eq!(res.status(), 403, "logout without a label");
    assert!(
        app.session_row(&id_hash).await.ended_at.is_none(),
        "the session is still live"
    );
    assert_eq!(app.status_json(&client).await["user"], "alice");

    let res = unlabelled_post(
        &app,
        &client,
        "/account",
        &[("display_name", "Forged"), ("email", "evil@example.org")],
    )
    .await;
    assert_eq!(res.status(), 403, "the account form without a label");
    let user = app.user("alice").await;
    assert_eq!((user.display_name, user.email), (None, None));

    // A server function and the JSON API.
    for path in ["/api/public_settings", "/api/v1/session/extend"] {
        let res = unlabelled_post(&app, &client, path, &[]).await;
        assert_eq!(res.status(), 403, "{path}");
    }
    // A `DELETE` too: the other sessions survive.
    let (other, _) = app.device("alice", FIREFOX_UA).await;
    let res = client
        .delete(app.url("/api/v1/sessions?scope=others"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "DELETE without a label");
    assert_eq!(app.status_json(&other).await["user"], "alice");

    // The same requests, labelled by the site itself, work.
    let res = client
        .post(app.url("/account"))
        .header("origin", &app.address)
        .form(&[("display_name", "Alice"), ("email", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/account?saved=1");
    assert_eq!(
        app.user("alice").await.display_name.as_deref(),
        Some("Alice")
    );
    let res = client
        .post(app.url("/api/public_settings"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a server function with Sec-Fetch-Site");
    let res = app.delete(&client, "/api/v1/sessions?scope=others").await;
    assert_eq!(res.status(), 204, "DELETE with Origin");
    let res = client
        .post(app.url("/logout"))
        .header("origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.session_row(&id_hash).await.end_reason.as_deref(),
        Some("logout")
    );
}

async fn requests_without_an_ambient_credential_need_no_label(db: TestDb) {
    let app = spawn_app(db).await;
    // A first sign-in: no cookie yet, no label (a script, or a browser that sends none).
    let client = browser();
    let res = client
        .post(app.url("/sign-in"))
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/home");

    // An API client with a bearer token, no label.
    let res = Client::new()
        .post(app.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token = res.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = Client::new()
        .post(app.url("/api/v1/session/extend"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "bearer without a label");
    let res = Client::new()
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204, "bearer sign-out without a label");
}
