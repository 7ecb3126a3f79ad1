//! Scheduled sign-out (`sign_out_at`, `timezone`): every browser session ends at the first
//! cut-off after its sign-in, on requests and in the sweep, across daylight-saving changes,
//! with an injected clock.

use crate::common::*;
use auto_logout::server::secret::hash_secret;
use serde_json::Value;
use std::time::Duration;

db_tests!(
    a_sign_in_just_before_the_cut_off_is_told_how_long_it_has_and_ends_at_it,
    the_sweep_ends_every_browser_session_at_the_cut_off_across_a_daylight_saving_change,
);

const SEC: Duration = Duration::from_secs(1);
const MIN: Duration = Duration::from_secs(60);

/// Milliseconds since the epoch of an RFC 3339 time.
fn utc(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

async fn app_at(db: TestDb, at: &str, env: &[(&'static str, &str)]) -> TestApp {
    spawn_app_with(
        db,
        Spawn {
            env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            manual_clock_at: Some(utc(at)),
            ..Spawn::default()
        },
    )
    .await
}

async fn a_sign_in_just_before_the_cut_off_is_told_how_long_it_has_and_ends_at_it(db: TestDb) {
    // 17:58 in Paris (winter, +01:00); everyone is signed out at 18:00.
    let app = app_at(
        db,
        "2026-01-15T16:58:00Z",
        &[
            ("AUTO_LOGOUT_SIGN_OUT_AT", "18:00,02:00"),
            ("AUTO_LOGOUT_TIMEZONE", "Europe/Paris"),
        ],
    )
    .await;
    let clock = app.clock.clone().unwrap();
    let client = browser();
    let id = session_cookie(&app.sign_in(&client, "alice", PASSWORD, "").await).unwrap();

    // Two minutes, not the hour of session_time; the page and the API both say so.
    let body = app.status_json(&client).await;
    assert_eq!(body["seconds_until_session_end"], 120);
    assert_eq!(body["milliseconds_until_session_end"], 120_000);
    assert_eq!(body["scheduled_sign_out"], true);
    assert_eq!(body["seconds_until_idle_end"], 600);
    let home = app.page(&client, "/home").await;
    assert!(home.contains("Scheduled sign-out in"), "{home}");
    assert!(
        home.contains(r#"data-testid="session-countdown" data-seconds="120""#),
        "{home}"
    );

    // Activity does not move it.
    clock.advance(MIN);
    assert_eq!(
        client.get(app.url("/home")).send().await.unwrap().status(),
        200
    );
    clock.advance(MIN - SEC);
    assert_eq!(
        app.status_json(&client).await["seconds_until_session_end"],
        1
    );
    clock.advance(SEC);
    let res = client.get(app.url("/home")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        location(&res),
        "/sign-in?next=%2Fhome&reason=scheduled_sign_out"
    );
    let row = app.session_row(&hash_secret(&id)).await;
    assert_eq!(row.end_reason.as_deref(), Some("scheduled_sign_out"));
    let event = app.audit_events(None).await.remove(0);
    assert_eq!(event.event, "scheduled_sign_out");
    assert_eq!(event.at, utc("2026-01-15T17:00:00Z"), "the cut-off itself");
    let page = app
        .page(&browser(), "/sign-in?reason=scheduled_sign_out")
        .await;
    assert!(page.contains("set time of day"), "{page}");

    // A sign-in at the cut-off or after it has until the next one (02:00), or its own limits.
    let later = browser();
    app.sign_in(&later, "alice", PASSWORD, "").await;
    let body = app.status_json(&later).await;
    assert_eq!(
        body["scheduled_sign_out"], false,
        "session_time comes first"
    );
    assert_eq!(body["seconds_until_session_end"], 3600);

    // API clients are not scheduled.
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["seconds_until_session_end"], 30 * 86_400);
}

async fn the_sweep_ends_every_browser_session_at_the_cut_off_across_a_daylight_saving_change(
    db: TestDb,
) {
    // 18:30 in Paris on 2026-03-28, the evening before clocks go from +01:00 to +02:00. No
    // idle or absolute limit: only the schedule ends these sessions.
    let app = app_at(
        db,
        "2026-03-28T17:30:00Z",
        &[
            ("AUTO_LOGOUT_SIGN_OUT_AT", "18:00"),
            ("AUTO_LOGOUT_TIMEZONE", "Europe/Paris"),
            ("AUTO_LOGOUT_ADMIN_SIGN_OUT_AT", "none"),
            ("AUTO_LOGOUT_IDLE_TIME", "0"),
            ("AUTO_LOGOUT_SESSION_TIME", "0"),
            ("AUTO_LOGOUT_REMEMBER_IDLE_TIME", "0"),
            ("AUTO_LOGOUT_REMEMBER_SESSION_TIME", "0"),
        ],
    )
    .await;
    let clock = app.clock.clone().unwrap();
    app.add_admin("root").await;
    let (plain, plain_id) = app.device("alice", CHROME_UA).await;
    let remembered = browser();
    let res = app.sign_in_remembered(&remembered).await;
    let remembered_id = hash_secret(&session_cookie(&res).unwrap());
    let (admin, _) = app.device("root", CHROME_UA).await;

    // The next 18:00 in Paris is 16:00 UTC: the day of the change lasts 23 hours.
    let cut_off = utc("2026-03-29T16:00:00Z");
    let body = app.status_json(&plain).await;
    assert_eq!(
        body["seconds_until_session_end"],
        (cut_off - utc("2026-03-28T17:30:00Z")) / 1000
    );
    assert_eq!(body["seconds_until_idle_end"], Value::Null);
    assert_eq!(
        app.status_json(&admin).await["seconds_until_session_end"],
        Value::Null
    );

    clock.advance(Duration::from_millis(
        (cut_off - utc("2026-03-28T17:30:00Z") - 1_000) as u64,
    ));
    let gate = app.state.engine.gate();
    assert_eq!(gate.sweep_once().await.unwrap(), 0, "one second early");
    clock.advance(SEC);
    assert_eq!(gate.sweep_once().await.unwrap(), 2, "alice's two sessions");
    assert_eq!(gate.sweep_once().await.unwrap(), 0, "ended once");
    for id in [&plain_id, &remembered_id] {
        let row = app.session_row(id).await;
        assert_eq!(row.end_reason.as_deref(), Some("scheduled_sign_out"));
        assert_eq!(row.ended_at, Some(cut_off), "ended at the cut-off");
    }
    let res = plain.get(app.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["reason"], "scheduled_sign_out");
    assert_eq!(
        admin.get(app.url("/home")).send().await.unwrap().status(),
        200,
        "admin_sign_out_at = none spares administrators"
    );
    let events = app.audit_events(None).await;
    let scheduled: Vec<_> = events
        .iter()
        .filter(|e| e.event == "scheduled_sign_out")
        .collect();
    assert_eq!(scheduled.len(), 2);
    assert!(scheduled.iter().all(|e| e.at == cut_off));
}
