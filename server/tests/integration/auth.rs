//! Sign-in, sign-out, protected pages, CSRF and the audit log, against the real server over
//! HTTP, on SQLite and (with `TEST_POSTGRES_URL`) PostgreSQL.

use crate::common::*;
use auto_logout::server::secret::hash_secret;
use sqlx::Row;

db_tests!(
    sign_in_sets_a_fresh_http_only_cookie,
    sign_in_over_a_planted_or_live_session_gets_a_new_id,
    home_needs_a_session,
    logout_ends_the_session_for_good,
    wrong_password_and_unknown_user_look_the_same,
    offsite_next_lands_on_home,
    cross_site_posts_change_nothing,
    audit_rows_have_ip_and_user_agent,
    database_holds_no_raw_session_id,
    trailing_slashes_are_accepted_without_open_redirects,
    hostile_input_is_a_plain_failure,
    signed_in_pages_are_not_cached,
    logout_page_asks_first,
    a_lost_database_fails_closed,
);

async fn sign_in_sets_a_fresh_http_only_cookie(db: TestDb) {
    let app = spawn_app(db).await;
    let client = browser();
    let res = app.sign_in(&client, "alice", PASSWORD, "/home").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/home");
    let cookie = session_set_cookie(&res).expect("session cookie set");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(
        !cookie.contains("Max-Age"),
        "a browser-session cookie without Remember me: {cookie}"
    );
    let id = session_cookie(&res).unwrap();
    assert!(id.len() >= 22, "128-bit id, got {id}");
}

async fn sign_in_over_a_planted_or_live_session_gets_a_new_id(db: TestDb) {
    let app = spawn_app(db).await;
    // An attacker plants a well-formed id: signing in must not adopt it.
    let planted = "AAAAAAAAAAAAAAAAAAAAAA";
    let client = browser();
    let res = client
        .post(app.url("/sign-in"))
        .header("cookie", format!("auto_logout_session={planted}"))
        .header("origin", &app.address)
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let first = session_cookie(&res).expect("new cookie");
    assert_ne!(first, planted);
    // Signing in again over a live session cycles the id and ends the old session.
    let res = app.sign_in(&client, "alice", PASSWORD, "").await;
    let second = session_cookie(&res).expect("cycled cookie");
    assert_ne!(first, second);
    let old = app.get_with_cookie("/home", &first).await;
    assert_eq!(old.status(), 303, "the replaced session must be refused");
    let row = app.session_row(&hash_secret(&first)).await;
    assert!(row.ended_at.is_some());
}

async fn home_needs_a_session(db: TestDb) {
    let app = spawn_app(db).await;
    let res = browser().get(app.url("/home")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/sign-in?next=%2Fhome");

    let client = app.signed_in().await;
    let res = client.get(app.url("/home")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("Hello, "), "greeting missing");
    assert!(body.contains("alice"));

    // A signed-in visitor to the sign-in page goes home.
    let res = client.get(app.url("/sign-in")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/home");
}

async fn logout_ends_the_session_for_good(db: TestDb) {
    let app = spawn_app(db).await;
    let client = browser();
    let res = app.sign_in(&client, "alice", PASSWORD, "").await;
    let id = session_cookie(&res).unwrap();

    let res = app.logout(&client).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let removal = session_set_cookie(&res).expect("cookie expired");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert!(removal.contains("Path=/"), "{removal}");

    // The old cookie, replayed, is anonymous.
    let replay = app.get_with_cookie("/home", &id).await;
    assert_eq!(replay.status(), 303);
    assert!(location(&replay).starts_with("/sign-in"));

    let row = app.session_row(&hash_secret(&id)).await;
    assert_eq!(row.end_reason.as_deref(), Some("logout"));
    assert!(row.ended_at.is_some());

    // The landing page shows the sign-out notice once.
    let landing = app.page(&client, "/").await;
    assert!(landing.contains("You have been signed out."));
    let again = app.page(&client, "/").await;
    assert!(!again.contains("You have been signed out."));
}

async fn wrong_password_and_unknown_user_look_the_same(db: TestDb) {
    let app = spawn_app(db).await;
    let wrong = app
        .sign_in(&browser(), "alice", "not the password", "/home")
        .await;
    let unknown = app
        .sign_in(&browser(), "mallory", "not the password", "/home")
        .await;
    assert_eq!(wrong.status(), unknown.status());
    assert_eq!(location(&wrong), location(&unknown));
    assert_eq!(location(&wrong), "/sign-in?error=1&next=%2Fhome");
    assert!(session_cookie(&wrong).is_none() && session_cookie(&unknown).is_none());
    let page = browser()
        .get(app.url(&location(&wrong)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Invalid username or password."));
}

async fn offsite_next_lands_on_home(db: TestDb) {
    let app = spawn_app(db).await;
    for next in [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "/%2F%2Fevil.example",
    ] {
        let res = app.sign_in(&browser(), "alice", PASSWORD, next).await;
        assert_eq!(res.status(), 303, "{next}");
        assert_eq!(location(&res), "/home", "next={next}");
    }
    let res = app
        .sign_in(&browser(), "alice", PASSWORD, "/sessions?tab=2")
        .await;
    assert_eq!(location(&res), "/sessions?tab=2");
}

async fn cross_site_posts_change_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = client
            .post(app.url("/logout"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}: {value}");
        let home = client.get(app.url("/home")).send().await.unwrap();
        assert_eq!(
            home.status(),
            200,
            "still signed in after a cross-site logout ({name})"
        );
    }
    // A cross-site sign-in (login CSRF) is refused too.
    let res = browser()
        .post(app.url("/sign-in"))
        .header("origin", "https://evil.example")
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // And so is a cross-site call of a server function.
    let res = client
        .post(app.url("/api/current_user"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

async fn audit_rows_have_ip_and_user_agent(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    app.sign_in(&browser(), "alice", "wrong password", "").await;
    app.logout(&client).await;
    let entries = app.audit_events(None).await;
    let events: Vec<&str> = entries.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events, ["logout", "login_failed", "login"], "newest first");
    for entry in &entries {
        assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"), "{entry:?}");
        assert_eq!(entry.user_agent.as_deref(), Some(CHROME_UA), "{entry:?}");
        assert_eq!(entry.username.as_deref(), Some("alice"));
    }
    assert!(entries[0].session_hash.is_some() && entries[2].session_hash.is_some());
    assert_eq!(
        entries[0].session_hash, entries[2].session_hash,
        "logout names the session signed in"
    );
    assert!(entries[0].user_id.is_some());
}

async fn database_holds_no_raw_session_id(db: TestDb) {
    let app = spawn_app(db).await;
    let client = browser();
    let res = app.sign_in(&client, "alice", PASSWORD, "").await;
    let id = session_cookie(&res).unwrap();
    client.get(app.url("/home")).send().await.unwrap();
    let rows = sqlx::query("SELECT id_hash, data FROM sessions")
        .fetch_all(app.state.engine.database().pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let id_hash: String = rows[0].get("id_hash");
    let data: String = rows[0].get("data");
    assert_eq!(id_hash, hash_secret(&id));
    assert!(!id_hash.contains(&id) && !data.contains(&id));
    let audit = sqlx::query("SELECT COALESCE(session_hash, '') AS h FROM audit_log")
        .fetch_all(app.state.engine.database().pool())
        .await
        .unwrap();
    for row in audit {
        let h: String = row.get("h");
        assert!(!h.contains(&id));
    }
}

async fn trailing_slashes_are_accepted_without_open_redirects(db: TestDb) {
    let app = spawn_app(db).await;
    let res = browser()
        .get(app.url("/sign-in/?next=/home"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(location(&res), "/sign-in?next=/home");
    let res = browser()
        .get(app.url("//evil.example/"))
        .send()
        .await
        .unwrap();
    assert!(!location(&res).starts_with("//"), "{}", location(&res));
    // A form posted to /logout/ works like /logout.
    let client = app.signed_in().await;
    let res = app.post(&client, "/logout/").await;
    assert_eq!(res.status(), 303);
    let home = client.get(app.url("/home")).send().await.unwrap();
    assert_eq!(home.status(), 303);
}

async fn hostile_input_is_a_plain_failure(db: TestDb) {
    let app = spawn_app(db).await;
    let huge = "p".repeat(10 * 1024);
    for (user, pass) in [
        ("alice' OR '1'='1", "x' OR '1'='1"),
        ("alice", huge.as_str()),
        ("", ""),
        ("a\u{0}b", "x"),
    ] {
        let res = app.sign_in(&browser(), user, pass, "").await;
        assert_eq!(res.status(), 303, "{user:?}");
        assert!(location(&res).starts_with("/sign-in?error=1"));
    }
    // A post with no fields at all is a failed sign-in, not an error page.
    let res = browser()
        .post(app.url("/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // Malformed, oversized and duplicated cookies are anonymous, never an error.
    let long = "A".repeat(4000);
    for cookie in [
        "auto_logout_session=not-base64!!".to_owned(),
        format!("auto_logout_session={long}"),
        "auto_logout_session=AAAAAAAAAAAAAAAAAAAAAA; auto_logout_session=BBBBBBBBBBBBBBBBBBBBBB"
            .to_owned(),
    ] {
        let res = browser()
            .get(app.url("/home"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
    }
    // Unknown ids create nothing.
    assert_eq!(app.state.engine.sessions().count_all().await.unwrap(), 0);
}

async fn signed_in_pages_are_not_cached(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    for path in ["/home", "/", "/logout"] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            res.headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path}"
        );
    }
}

async fn logout_page_asks_first(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    let res = client.get(app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("Sign out?"));
    assert!(body.contains("method=\"post\""));
    let home = client.get(app.url("/home")).send().await.unwrap();
    assert_eq!(home.status(), 200, "GET /logout must change nothing");
}

async fn a_lost_database_fails_closed(db: TestDb) {
    let app = spawn_app(db).await;
    let client = app.signed_in().await;
    assert_eq!(
        client.get(app.url("/home")).send().await.unwrap().status(),
        200
    );
    app.state.engine.database().close().await;
    // Cached sessions stay trusted only while the change log can be read: once the server
    // notices (within its safety-net period, 10 s), requests fail, and none is ever answered
    // as anonymous meanwhile.
    let start = std::time::Instant::now();
    loop {
        let res = client.get(app.url("/api/v1/session")).send().await.unwrap();
        if res.status() == 503 {
            break;
        }
        assert_eq!(res.status(), 200, "never anonymous");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(12),
            "still served from the cache"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let res = client.get(app.url("/home")).send().await.unwrap();
    assert_eq!(res.status(), 503);
}
