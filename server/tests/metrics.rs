//! `GET /metrics` (SPEC §7): Prometheus text with live sessions by kind, sign-ins by outcome,
//! session ends by reason, request latency by route and the database statement count; and
//! `AUTO_LOGOUT_LOG_FORMAT=json` logs as JSON lines. One server in this process, so the
//! process-wide counters are this test's alone.

mod common;

use common::*;
use serde_json::{json, Value};

/// The value of the sample `name{labels}` (labels as written, in order), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happened() {
    server::telemetry::init();
    let app = spawn_app(TestDb::sqlite()).await;
    let alice = app.signed_in().await;
    app.sign_in(&browser(), "alice", "wrong password", "").await;
    let bye = app.signed_in().await;
    assert_eq!(app.logout(&bye).await.status(), 303);
    let token = reqwest::Client::new()
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 201);
    assert_eq!(app.status_json(&alice).await["user"], "alice");
    // Made-up methods: each answers, none becomes a label of its own.
    for name in ["BREW", "PROPFIND", "X-ANYTHING"] {
        let method = reqwest::Method::from_bytes(name.as_bytes()).unwrap();
        let res = browser()
            .request(method, app.url("/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{name}");
    }

    let res = browser().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert_eq!(
        sample(&text, r#"auto_logout_active_sessions{kind="browser"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"auto_logout_active_sessions{kind="api"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"auto_logout_sign_ins_total{outcome="success"}"#),
        Some(3.0)
    );
    assert_eq!(
        sample(&text, r#"auto_logout_sign_ins_total{outcome="failed"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"auto_logout_session_ends_total{reason="logout"}"#),
        Some(1.0)
    );
    assert!(
        sample(&text, "auto_logout_db_queries_total").is_some_and(|n| n > 10.0),
        "{text}"
    );
    assert!(
        text.contains(r#"auto_logout_http_request_duration_seconds_bucket{route="/api/v1/session",method="GET",le="0.005"}"#),
        "latency by route template: {text}"
    );
    assert!(
        !text.contains("route=\"/api/v1/sessions/"),
        "no raw paths as labels"
    );
    assert_eq!(
        sample(
            &text,
            r#"auto_logout_http_request_duration_seconds_count{route="/healthz",method="OTHER"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert!(!text.contains("BREW") && !text.contains("PROPFIND"));
}

#[test]
fn json_logs_are_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .arg("migrate")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/x.db?mode=rwc", dir.path().display()),
        )
        .env("AUTO_LOGOUT_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let logs: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(!logs.is_empty(), "{stdout}");
    assert!(logs
        .iter()
        .all(|l| l["level"].is_string() && l["timestamp"].is_string()));
}
