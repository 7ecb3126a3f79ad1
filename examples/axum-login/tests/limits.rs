//! The engine adopted by a plain axum + axum-login application that keeps its own `accounts`
//! table and backend: idle and absolute limits, passive reads, revocation, a password change or
//! a locked account ending sessions, the administrators' limits and throttling hold there, with
//! an injected clock.

use auto_logout::{
    policy::TimeoutPolicy,
    server::{ClientInfo, Engine, Limits, ManualClock, SharedClock},
    UnixMillis,
};
use auto_logout_example::{app, Accounts};
use std::{sync::Arc, time::Duration};

const PASSWORD: &str = "correct horse battery";

struct Running {
    base: String,
    clock: ManualClock,
    engine: Engine,
    accounts: Accounts,
    _dir: tempfile::TempDir,
}

/// 15 minutes idle and 8 hours absolute for everyone; staff (the administrators' class) 5
/// minutes idle.
fn limits() -> Limits {
    let policy = TimeoutPolicy::new(
        Duration::from_secs(15 * 60),
        Duration::from_secs(8 * 3600),
        Duration::from_secs(60),
    );
    Limits {
        admin: TimeoutPolicy::new(
            Duration::from_secs(5 * 60),
            Duration::from_secs(8 * 3600),
            Duration::from_secs(60),
        ),
        ..Limits::uniform(policy)
    }
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/example.db?mode=rwc", dir.path().display());
    let clock = ManualClock::new(UnixMillis(1_800_000_000_000));
    let shared: SharedClock = Arc::new(clock.clone());
    let accounts = Accounts::open(&url).await.unwrap();
    accounts.add("ada", PASSWORD, false).await.unwrap();
    accounts.add("grace", PASSWORD, true).await.unwrap();
    let checker = accounts.clone();
    let engine = Engine::builder()
        .database_url(&url)
        .clock(shared)
        .limits(limits())
        .app_password_check(move |id, password| {
            let accounts = checker.clone();
            async move {
                let right = accounts.password_is_right(id, password).await;
                right.map_err(|e| e.to_string())
            }
        })
        .build()
        .await
        .unwrap();
    let router = app(accounts.clone(), engine.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Running {
        base,
        clock,
        engine,
        accounts,
        _dir: dir,
    }
}

impl Running {
    async fn signed_in(&self) -> reqwest::Client {
        self.signed_in_as("ada").await.0
    }

    /// A client signed in as `name`, and its cookie jar.
    async fn signed_in_as(&self, name: &str) -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .build()
            .unwrap();
        let res = self.login(&client, name, PASSWORD).await;
        assert_eq!(res.status(), 204, "signed in");
        (client, jar)
    }

    async fn login(
        &self,
        client: &reqwest::Client,
        name: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(format!("{}/login", self.base))
            .json(&serde_json::json!({"username": name, "password": password}))
            .send()
            .await
            .unwrap()
    }

    async fn me(&self, client: &reqwest::Client) -> u16 {
        client
            .get(format!("{}/me", self.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn status(&self, client: &reqwest::Client) -> (u16, serde_json::Value) {
        let res = client
            .get(format!("{}/api/v1/session", self.base))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }
}

#[tokio::test]
async fn activity_keeps_the_session_and_idleness_ends_it() {
    let app = start().await;
    let client = app.signed_in().await;
    assert_eq!(app.me(&client).await, 200);
    for _ in 0..3 {
        app.advance(14 * 60);
        assert_eq!(app.me(&client).await, 200, "activity within 15 minutes");
    }
    app.advance(15 * 60 + 1);
    assert_eq!(app.me(&client).await, 401, "15 minutes without activity");
    let (code, body) = app.status(&client).await;
    assert_eq!(code, 401);
    assert_eq!(
        body["error"], "unauthenticated",
        "the ended cookie was removed"
    );
}

#[tokio::test]
async fn status_reads_are_passive_and_report_what_is_left() {
    let app = start().await;
    let client = app.signed_in().await;
    app.advance(10 * 60);
    let (code, body) = app.status(&client).await;
    assert_eq!(code, 200);
    assert_eq!(body["user"], "ada");
    assert_eq!(body["seconds_until_idle_end"], 5 * 60);
    app.advance(5 * 60 + 1);
    let (code, body) = app.status(&client).await;
    assert_eq!((code, body["error"].as_str()), (401, Some("session_ended")));
}

#[tokio::test]
async fn the_absolute_limit_holds_whatever_the_activity() {
    let app = start().await;
    let client = app.signed_in().await;
    // Active every 10 minutes for 8 hours.
    for _ in 0..47 {
        app.advance(10 * 60);
        assert_eq!(app.me(&client).await, 200);
    }
    app.advance(10 * 60);
    assert_eq!(app.me(&client).await, 401, "8 hours after sign-in");
}

#[tokio::test]
async fn a_revoked_session_is_refused_at_once() {
    let app = start().await;
    let client = app.signed_in().await;
    let other = app.signed_in().await;
    // The engine's own row for the application's account.
    let ada = app
        .engine
        .users()
        .find_by_username("ada")
        .await
        .unwrap()
        .unwrap();
    let (_, mine) = app.status(&client).await;
    let ended = app
        .engine
        .gate()
        .revoke_all_except(
            ada.id,
            mine["session_id"].as_str(),
            ada.id,
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(app.me(&other).await, 401, "the other device is signed out");
    assert_eq!(app.me(&client).await, 200, "this one is kept");
}

#[tokio::test]
async fn logout_is_final() {
    use reqwest::cookie::CookieStore;
    let app = start().await;
    let (client, jar) = app.signed_in_as("ada").await;
    let url: reqwest::Url = app.base.parse().unwrap();
    let cookie = jar.cookies(&url).expect("a session cookie");
    let logout = |origin: Option<&str>| {
        let req = client.post(format!("{}/logout", app.base));
        match origin {
            Some(origin) => req.header("origin", origin),
            None => req,
        }
        .send()
    };
    // The engine's layers refuse a state change from another site, or one that carries the
    // session cookie without saying where it came from (as a browser always does).
    assert_eq!(
        logout(Some("https://evil.example")).await.unwrap().status(),
        403
    );
    assert_eq!(logout(None).await.unwrap().status(), 403);
    assert_eq!(app.me(&client).await, 200, "still signed in");
    assert_eq!(logout(Some(&app.base)).await.unwrap().status(), 204);
    assert_eq!(app.me(&client).await, 401);
    // The old cookie, presented again, is refused too.
    let replay = reqwest::Client::new()
        .get(format!("{}/me", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
}

/// The audit events recorded for `name`, oldest first.
async fn events_of(app: &Running, name: &str) -> Vec<String> {
    let filter = auto_logout::server::audit::AuditFilter {
        username: Some(name.to_owned()),
        ..Default::default()
    };
    let mut events: Vec<String> = app
        .engine
        .audit()
        .list(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    events.reverse();
    events
}

#[tokio::test]
async fn a_password_changed_in_the_application_ends_every_session() {
    let app = start().await;
    let client = app.signed_in().await;
    let other = app.signed_in().await;
    app.accounts
        .set_password("ada", "a brand new password")
        .await
        .unwrap();
    assert_eq!(app.me(&client).await, 401, "the next request is refused");
    let (code, body) = app.status(&other).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (401, Some("session_ended")),
        "and every other session of the account ended with it"
    );
    let events = events_of(&app, "ada").await;
    assert!(
        events.contains(&"password_changed".to_owned()),
        "{events:?}"
    );
    assert_eq!(
        events.iter().filter(|e| *e == "revoked").count(),
        2,
        "{events:?}"
    );
    // The old password no longer signs in; the new one does.
    let fresh = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    assert_eq!(app.login(&fresh, "ada", PASSWORD).await.status(), 401);
    let res = app.login(&fresh, "ada", "a brand new password").await;
    assert_eq!(res.status(), 204);
    assert_eq!(app.me(&fresh).await, 200);
}

#[tokio::test]
async fn a_locked_account_is_signed_out_and_cannot_sign_in() {
    let app = start().await;
    let client = app.signed_in().await;
    app.accounts.set_locked("ada", true).await.unwrap();
    assert_eq!(app.me(&client).await, 401);
    let fresh = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    assert_eq!(app.login(&fresh, "ada", PASSWORD).await.status(), 401);
    let events = events_of(&app, "ada").await;
    assert!(events.contains(&"user_disabled".to_owned()), "{events:?}");
    assert!(events.contains(&"revoked".to_owned()), "{events:?}");
}

#[tokio::test]
async fn staff_get_the_administrators_limits() {
    let app = start().await;
    let (staff, _) = app.signed_in_as("grace").await;
    let member = app.signed_in().await;
    let (_, body) = app.status(&staff).await;
    assert_eq!(body["user"], "grace");
    assert_eq!(body["seconds_until_idle_end"], 5 * 60);
    app.advance(5 * 60 + 1);
    assert_eq!(app.me(&staff).await, 401, "5 minutes idle for staff");
    assert_eq!(app.me(&member).await, 200, "15 for everyone else");
}

#[tokio::test]
async fn wrong_passwords_are_throttled() {
    let app = start().await;
    // Seen once, the account's failures are audited under its name (before, under none:
    // the application's backend does not say whether a name exists).
    app.signed_in().await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    for _ in 0..5 {
        assert_eq!(
            app.login(&client, "ada", "wrong password").await.status(),
            401
        );
    }
    let res = app.login(&client, "ada", PASSWORD).await;
    assert_eq!(res.status(), 429, "even the right password waits");
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    let events = events_of(&app, "ada").await;
    assert_eq!(
        events.iter().filter(|e| *e == "login_failed").count(),
        5,
        "{events:?}"
    );
    assert!(events.contains(&"login_throttled".to_owned()), "{events:?}");
    app.advance(15 * 60 + 1);
    assert_eq!(app.login(&client, "ada", PASSWORD).await.status(), 204);
}

/// The engine's device-list forms (`Engine::devices_router`): one device, then all others,
/// signed out from a page of this site; a form from another site, or one that does not say
/// where it came from, changes nothing; `back` is followed only when it is a local path.
#[tokio::test]
async fn the_device_forms_sign_out_other_devices_and_refuse_other_sites() {
    use auto_logout::server::layer::device_forms::{REVOKE_OTHERS_PATH, REVOKE_PATH};
    let app = start().await;
    let me = reqwest::Client::builder()
        .cookie_provider(Arc::new(reqwest::cookie::Jar::default()))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(app.login(&me, "ada", PASSWORD).await.status(), 204);
    let phone = app.signed_in().await;
    let laptop = app.signed_in().await;
    let (_, status) = app.status(&phone).await;
    let phone_id = status["session_id"].as_str().unwrap().to_owned();
    let post = |path: &str, origin: Option<&str>, form: Vec<(&'static str, String)>| {
        let mut req = me.post(format!("{}{path}", app.base)).form(&form);
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req.send()
    };
    let one = || vec![("id", phone_id.clone()), ("back", "/me".to_owned())];

    let res = post(REVOKE_PATH, Some("https://evil.example"), one())
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "another site's form");
    let res = post(REVOKE_PATH, None, one()).await.unwrap();
    assert_eq!(
        res.status(),
        403,
        "a form that does not say where it came from"
    );
    assert_eq!(app.status(&phone).await.0, 200, "nothing changed");

    let res = post(REVOKE_PATH, Some(&app.base), one()).await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/me");
    assert_eq!(app.status(&phone).await.0, 401, "the phone is signed out");
    assert_eq!(app.status(&laptop).await.0, 200, "the laptop is not");

    let away = vec![("back", "//evil.example/".to_owned())];
    let res = post(REVOKE_OTHERS_PATH, Some(&app.base), away)
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/", "an offsite back goes home");
    assert_eq!(
        app.status(&laptop).await.0,
        401,
        "every other device is signed out"
    );
    assert_eq!(app.status(&me).await.0, 200, "this one is not");
    assert_eq!(
        events_of(&app, "ada")
            .await
            .iter()
            .filter(|e| *e == "revoked")
            .count(),
        2
    );
}

/// Login CSRF: another site's form cannot sign a visitor in (as the attacker), whatever it
/// sends; the application's own page can.
#[tokio::test]
async fn another_site_cannot_sign_a_visitor_in() {
    let app = start().await;
    let res = reqwest::Client::new()
        .post(format!("{}/login", app.base))
        .header("sec-fetch-site", "cross-site")
        .json(&serde_json::json!({"username": "ada", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("set-cookie").is_none(), "no session");
    let res = reqwest::Client::new()
        .post(format!("{}/login", app.base))
        .header("sec-fetch-site", "same-origin")
        .json(&serde_json::json!({"username": "ada", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

/// Signing out the other devices is sensitive: past `reauth_window` (10 minutes) the engine's
/// form asks for the password again, and checks it with the application's own accounts.
#[tokio::test]
async fn signing_out_other_devices_asks_an_adopted_account_for_its_own_password() {
    let running = start().await;
    let laptop = running.signed_in().await;
    let phone = running.signed_in().await;
    running.clock.advance(Duration::from_secs(11 * 60));
    let revoke_others = |password: &'static str| {
        let mut form = vec![("back", "/me")];
        if !password.is_empty() {
            form.push(("reauth_password", password));
        }
        laptop
            .post(format!(
                "{}/auto-logout/sessions/revoke-others",
                running.base
            ))
            .header("origin", &running.base)
            .form(&form)
            .send()
    };
    let res = revoke_others("").await.unwrap();
    assert_eq!(res.headers()["x-auto-logout-reauth"], "required");
    let res = revoke_others("not it").await.unwrap();
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("That password is not right."));
    assert_eq!(running.status(&phone).await.0, 200, "nothing done yet");
    let res = revoke_others(PASSWORD).await.unwrap();
    assert!(res.headers().get("x-auto-logout-reauth").is_none());
    assert!(res.status().is_success(), "back to /me: {}", res.status());
    assert_eq!(running.status(&phone).await.0, 401);
    assert_eq!(running.status(&laptop).await.0, 200);
}
