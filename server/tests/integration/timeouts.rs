//! Idle and absolute limits enforced by the server (SPEC §6), with an injected clock for the
//! long limits and a 2-second idle limit for the real-time polling tests.

use crate::common::*;
use auto_logout::server::secret::hash_secret;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

db_tests!(
    idle_limit_ends_the_session_at_its_deadline,
    activity_before_the_idle_limit_keeps_the_session,
    absolute_limit_ends_the_session_despite_activity,
    status_reads_and_passive_requests_do_not_keep_a_session_alive,
    sweep_records_the_deadline_not_the_sweep_time,
    status_endpoint_reports_and_extend_resets_the_idle_countdown,
    activity_writes_are_coalesced,
    expired_sessions_get_401_from_server_functions_and_a_reason_from_status_reads,
    oddly_written_cookies_cannot_slip_past_the_limits,
    the_sweep_applies_each_sessions_own_limits,
    one_sweep_ends_a_mass_expiry_each_at_its_own_deadline,
);

const MIN: Duration = Duration::from_secs(60);

fn real_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn manual_app(db: TestDb) -> TestApp {
    spawn_app_with(
        db,
        Spawn {
            manual_clock_at: Some(real_now_ms()),
            ..Spawn::default()
        },
    )
    .await
}

async fn last_event(app: &TestApp) -> auto_logout::server::AuditEntry {
    app.audit_events(None).await.remove(0)
}

async fn status(app: &TestApp, client: &reqwest::Client) -> reqwest::Response {
    client.get(app.url("/api/v1/session")).send().await.unwrap()
}

async fn idle_limit_ends_the_session_at_its_deadline(db: TestDb) {
    let app = manual_app(db).await;
    let clock = app.clock.clone().unwrap();
    let t0 = clock_now(&app);
    let client = browser();
    let id = session_cookie(&app.sign_in(&client, "alice", PASSWORD, "").await).unwrap();
    clock.advance(10 * MIN);
    let res = client.get(app.url("/home")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/sign-in?next=%2Fhome&reason=idle");
    let row = app.session_row(&hash_secret(&id)).await;
    assert_eq!(row.end_reason.as_deref(), Some("idle_timeout"));
    let event = last_event(&app).await;
    assert_eq!(event.event, "idle_timeout");
    assert_eq!(event.at, t0 + 10 * 60_000, "audit time is the deadline");
    // The ended session stays ended: the next request is simply anonymous.
    let res = client.get(app.url("/home")).send().await.unwrap();
    assert!(location(&res).starts_with("/sign-in"));
}

fn clock_now(app: &TestApp) -> i64 {
    use auto_logout::server::Clock;
    app.clock.as_ref().unwrap().now().as_millis()
}

async fn activity_before_the_idle_limit_keeps_the_session(db: TestDb) {
    let app = manual_app(db).await;
    let clock = app.clock.clone().unwrap();
    let client = app.signed_in().await;
    for _ in 0..5 {
        clock.advance(9 * MIN);
        let res = client.get(app.url("/home")).send().await.unwrap();
        assert_eq!(res.status(), 200, "active within the idle limit");
    }
}

async fn absolute_limit_ends_the_session_despite_activity(db: TestDb) {
    let app = manual_app(db).await;
    let clock = app.clock.clone().unwrap();
    let t0 = clock_now(&app);
    let client = app.signed_in().await;
    for _ in 0..6 {
        clock.advance(9 * MIN);
        assert_eq!(
            client.get(app.url("/home")).send().await.unwrap().status(),
            200
        );
    }
    clock.advance(7 * MIN); // 61 minutes after sign-in, 7 after the last activity
    let res = client.get(app.url("/home")).send().await.unwrap();
    assert_eq!(location(&res), "/sign-in?next=%2Fhome&reason=expired");
    let event = last_event(&app).await;
    assert_eq!(event.event, "absolute_timeout");
    assert_eq!(event.at, t0 + 60 * 60_000);
}

async fn status_reads_and_passive_requests_do_not_keep_a_session_alive(db: TestDb) {
    let app = spawn_app_env(
        db,
        &[
            ("AUTO_LOGOUT_IDLE_TIME", "2s"),
            ("AUTO_LOGOUT_WARN_BEFORE", "1s"),
        ],
    )
    .await;
    // Polling the status endpoint every 200 ms.
    let client = app.signed_in().await;
    let start = Instant::now();
    let mut polls = 0;
    while start.elapsed() < Duration::from_millis(2_400) {
        let res = status(&app, &client).await;
        polls += 1;
        if res.status() == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let res = status(&app, &client).await;
    assert_eq!(
        res.status(),
        401,
        "after {polls} polls the session must have ended"
    );
    assert_eq!(res.headers().get("www-authenticate").unwrap(), "Bearer");
    let body: Value = res.json().await.unwrap();
    assert!(body["error"].is_string() && body["message"].is_string());
    assert_eq!(last_event(&app).await.event, "idle_timeout");

    // Page requests marked `X-Session-Passive: 1` likewise: the poll that meets the
    // deadline is already sent to sign in.
    let client = app.signed_in().await;
    let start = Instant::now();
    let ended = loop {
        let res = client
            .get(app.url("/home"))
            .header("x-session-passive", "1")
            .send()
            .await
            .unwrap();
        if res.status() == 303 {
            break location(&res);
        }
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "passive polls kept the session alive"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(start.elapsed() >= Duration::from_millis(1_800));
    assert_eq!(ended, "/sign-in?next=%2Fhome&reason=idle");
    assert_eq!(last_event(&app).await.event, "idle_timeout");
}

async fn sweep_records_the_deadline_not_the_sweep_time(db: TestDb) {
    let app = manual_app(db).await;
    let clock = app.clock.clone().unwrap();
    let client = browser();
    let id = session_cookie(&app.sign_in(&client, "alice", PASSWORD, "").await).unwrap();
    clock.advance(3 * MIN);
    client.get(app.url("/home")).send().await.unwrap();
    let last_activity = clock_now(&app);
    clock.advance(20 * MIN);
    assert_eq!(app.state.engine.gate().sweep_once().await.unwrap(), 1);
    assert_eq!(
        app.state.engine.gate().sweep_once().await.unwrap(),
        0,
        "ended once"
    );
    let row = app.session_row(&hash_secret(&id)).await;
    assert_eq!(row.end_reason.as_deref(), Some("idle_timeout"));
    let event = last_event(&app).await;
    assert_eq!(event.event, "idle_timeout");
    assert_eq!(
        event.at,
        last_activity + 10 * 60_000,
        "deadline, not sweep time"
    );
    assert_eq!(event.username.as_deref(), Some("alice"));
}

async fn one_sweep_ends_a_mass_expiry_each_at_its_own_deadline(db: TestDb) {
    let app = manual_app(db).await;
    let clock = app.clock.clone().unwrap();
    let start = clock_now(&app);
    // 250 sessions of alice, last active one second apart: several write batches.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) \
         INSERT INTO sessions (id_hash, user_id, kind, data, remember, created_at, last_seen_at, \
         expires_at, ip, last_ip, user_agent) \
         SELECT 'mass' || i, (SELECT id FROM users WHERE username = 'alice'), 'browser', '{}', 0, \
                $1, $1 + i * 1000, $1 + 86400000, NULL, NULL, NULL FROM n",
    )
    .bind(start)
    .execute(app.state.engine.database().pool())
    .await
    .unwrap();
    clock.advance(20 * MIN);
    assert_eq!(app.state.engine.gate().sweep_once().await.unwrap(), 250);
    assert_eq!(
        app.state.engine.gate().sweep_once().await.unwrap(),
        0,
        "ended once"
    );
    let idle = app
        .state
        .engine
        .audit()
        .list(&auto_logout::server::audit::AuditFilter {
            event: Some(auto_logout::AuditEvent::IdleTimeout),
            limit: Some(1_000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(idle.len(), 250);
    for event in idle {
        let i: i64 = event.session_hash.as_deref().unwrap()["mass".len()..]
            .parse()
            .unwrap();
        assert_eq!(
            event.at,
            start + i * 1000 + 10 * 60_000,
            "{i}: its own deadline"
        );
        assert_eq!(event.username.as_deref(), Some("alice"));
        let row = app.session_row(&format!("mass{i}")).await;
        assert_eq!(row.ended_at, Some(event.at));
        assert_eq!(row.end_reason.as_deref(), Some("idle_timeout"));
    }
}

async fn status_endpoint_reports_and_extend_resets_the_idle_countdown(db: TestDb) {
    let app = manual_app(db).await;
    let clock = app.clock.clone().unwrap();
    let client = app.signed_in().await;
    let body: Value = status(&app, &client).await.json().await.unwrap();
    assert_eq!(body["user"], "alice");
    assert_eq!(body["seconds_until_idle_end"], 600);
    assert_eq!(body["seconds_until_session_end"], 3600);
    assert_eq!(body["warn_before"], 60);
    assert_eq!(body["session_id"].as_str().unwrap().len(), 64);

    clock.advance(5 * MIN);
    let body: Value = status(&app, &client).await.json().await.unwrap();
    assert_eq!(
        body["seconds_until_idle_end"], 300,
        "status reads are passive"
    );
    let res = app.post(&client, "/api/v1/session/extend").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["seconds_until_idle_end"], 600);
    assert_eq!(
        body["seconds_until_session_end"], 3300,
        "activity never moves the absolute limit"
    );

    clock.advance(11 * MIN);
    let res = app.post(&client, "/api/v1/session/extend").await;
    assert_eq!(res.status(), 401, "extend cannot revive an expired session");
    let anon = browser()
        .get(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
}

async fn activity_writes_are_coalesced(db: TestDb) {
    // 1,000 active requests spread over 20 s of (injected) time on one session.
    let app = manual_app(db).await;
    let clock = app.clock.clone().unwrap();
    let client = app.signed_in().await;
    let before = app.state.engine.gate().activity_writes();
    for _ in 0..1_000 {
        clock.advance(Duration::from_millis(20));
        let res = app.post(&client, "/api/v1/session/extend").await;
        assert_eq!(res.status(), 200);
    }
    let writes = app.state.engine.gate().activity_writes() - before;
    println!("1000 active requests over 20 s -> {writes} activity writes (window 5 s)");
    assert!(
        (3..=5).contains(&writes),
        "{writes} writes for 1000 requests"
    );
    // The coalesced writes still left the database with the latest activity (± the window).
    let body: Value = status(&app, &client).await.json().await.unwrap();
    assert_eq!(body["seconds_until_idle_end"], 600);
}

async fn expired_sessions_get_401_from_server_functions_and_a_reason_from_status_reads(db: TestDb) {
    let app = manual_app(db).await;
    let clock = app.clock.clone().unwrap();

    // A live session: the status read reports what is left, to the millisecond too.
    let client = app.signed_in().await;
    let body = app.status_json(&client).await;
    assert_eq!(body["seconds_until_idle_end"], 600);
    assert_eq!(body["milliseconds_until_idle_end"], 600_000);
    assert_eq!(body["milliseconds_until_session_end"], 3_600_000);

    // Expired: a server function acting for the person is refused with 401 JSON...
    clock.advance(11 * MIN);
    let res = app.post(&client, "/api/admin_users").await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "session_ended");

    // ...and a status read of another expired session says why it ended, for the countdown's
    // redirect (`reason=idle`).
    let other = app.signed_in().await;
    clock.advance(11 * MIN);
    let res = status(&app, &other).await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "session_ended");
    assert_eq!(body["reason"], "idle");

    // Server functions fail in the API's error shape, with the status of the code.
    let res = app.post(&browser(), "/api/admin_users").await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthenticated");
}

async fn oddly_written_cookies_cannot_slip_past_the_limits(db: TestDb) {
    let app = manual_app(db).await;
    let clock = app.clock.clone().unwrap();
    let res = app.sign_in(&browser(), "alice", PASSWORD, "").await;
    let id = session_cookie(&res).unwrap();
    clock.advance(11 * MIN);
    for cookie in [
        format!("auto_logout_session ={id}"),
        format!("auto_logout%5Fsession={id}"),
        format!("auto_logout_session=junk; auto_logout_session={id}"),
        format!("x=1;auto_logout_session={id}"),
    ] {
        let res = browser()
            .get(app.url("/home"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{cookie} must not reach /home");
    }
    assert_eq!(
        app.session_row(&hash_secret(&id))
            .await
            .end_reason
            .as_deref(),
        Some("idle_timeout")
    );
}

async fn the_sweep_applies_each_sessions_own_limits(db: TestDb) {
    let app = manual_app(db).await;
    let clock = app.clock.clone().unwrap();
    let remembered = browser();
    let res = app.sign_in_remembered(&remembered).await;
    let remembered_id = hash_secret(&session_cookie(&res).unwrap());
    let plain = browser();
    let plain_id =
        hash_secret(&session_cookie(&app.sign_in(&plain, "alice", PASSWORD, "").await).unwrap());
    clock.advance(2 * 60 * MIN);
    assert_eq!(app.state.engine.gate().sweep_once().await.unwrap(), 1);
    assert_eq!(
        app.session_row(&plain_id).await.end_reason.as_deref(),
        Some("idle_timeout")
    );
    assert_eq!(
        app.session_row(&remembered_id).await.ended_at,
        None,
        "7-day idle limit"
    );
    assert_eq!(
        remembered
            .get(app.url("/home"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
