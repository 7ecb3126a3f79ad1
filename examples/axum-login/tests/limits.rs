//! The engine mounted in a plain axum + axum-login application: idle and absolute limits,
//! passive status reads and revocation hold there, with an injected clock.

use auto_logout::{
    server::{ClientInfo, ManualClock, SharedClock},
    UnixMillis,
};
use auto_logout_example::{build, default_limits, Example};
use std::{sync::Arc, time::Duration};

struct Running {
    base: String,
    clock: ManualClock,
    example_gate: auto_logout::server::SessionGate,
    users: auto_logout::server::Users,
    _dir: tempfile::TempDir,
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/example.db?mode=rwc", dir.path().display());
    let clock = ManualClock::new(UnixMillis(1_800_000_000_000));
    let shared: SharedClock = Arc::new(clock.clone());
    let Example {
        router,
        gate,
        users,
    } = build(&url, default_limits(), shared).await.unwrap();
    users
        .create("ada", "correct horse battery", false)
        .await
        .unwrap();
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
        example_gate: gate,
        users,
        _dir: dir,
    }
}

impl Running {
    async fn signed_in(&self) -> reqwest::Client {
        self.signed_in_with_jar().await.0
    }

    /// A signed-in client and its cookie jar.
    async fn signed_in_with_jar(&self) -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .build()
            .unwrap();
        let res = client
            .post(format!("{}/login", self.base))
            .json(&serde_json::json!({"username": "ada", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "signed in");
        (client, jar)
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
            .get(format!("{}/api/session", self.base))
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
    let ada = app.users.find_by_username("ada").await.unwrap().unwrap();
    let (_, mine) = app.status(&client).await;
    let ended = app
        .example_gate
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
    let (client, jar) = app.signed_in_with_jar().await;
    let url: reqwest::Url = app.base.parse().unwrap();
    let cookie = jar.cookies(&url).expect("a session cookie");
    let res = client
        .post(format!("{}/logout", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
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
