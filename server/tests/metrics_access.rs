//! Who may read `/metrics` (SPEC §3 `metrics_token`): with a token configured, only
//! `Authorization: Bearer <token>` (401 with `WWW-Authenticate: Bearer` otherwise); without
//! one, only clients on this machine, where "the client" is the one the session layer computes
//! (a request a trusted local proxy forwards for a distant client is not local). And the
//! live-session gauges are not counted again on every read. SQLite and PostgreSQL.

mod common;

use common::*;

db_tests!(
    with_a_token_only_its_bearer_reads_the_metrics,
    without_a_token_only_loopback_clients_read_the_metrics,
    reading_the_metrics_does_not_count_the_sessions_every_time,
);

const TOKEN: &str = "a-long-random-metrics-token-0123456789";

async fn get_metrics(app: &TestApp, authorization: Option<&str>) -> reqwest::Response {
    let mut req = browser().get(app.url("/metrics"));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    req.send().await.expect("GET /metrics")
}

async fn with_a_token_only_its_bearer_reads_the_metrics(db: TestDb) {
    let app = spawn_app_env(db, &[("AUTO_LOGOUT_METRICS_TOKEN", TOKEN)]).await;
    for wrong in [
        None,
        Some("Bearer wrong-token"),
        Some("Bearer a-long-random-metrics-token-012345678"),
        Some("Basic YTpi"),
        Some(TOKEN),
    ] {
        let res = get_metrics(&app, wrong).await;
        assert_eq!(res.status(), 401, "{wrong:?}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer", "{wrong:?}");
        let body = res.text().await.unwrap();
        assert!(!body.contains("auto_logout_"), "{body}");
    }
    // A signed-in person's session is not the token either.
    let alice = app.signed_in().await;
    let res = alice.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 401);

    let res = get_metrics(&app, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(
        text.contains("auto_logout_active_sessions{kind=\"browser\"}"),
        "{text}"
    );
}

async fn without_a_token_only_loopback_clients_read_the_metrics(db: TestDb) {
    let app = spawn_app_env(db, &[]).await;
    // The tests connect from 127.0.0.1.
    let res = get_metrics(&app, None).await;
    assert_eq!(res.status(), 200);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("auto_logout_active_sessions"));
    // From an untrusted peer, X-Forwarded-For is not believed: the peer is loopback.
    let res = browser()
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let db = app.stop().await;

    // Behind a trusted proxy on this machine, the client is the one it forwards for.
    let app = spawn_joining(db, &[("AUTO_LOGOUT_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let res = browser()
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a distant client behind a local proxy");
    assert!(!res.text().await.unwrap().contains("auto_logout_"));
    let res = browser()
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "127.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a local client behind a local proxy");
}

async fn reading_the_metrics_does_not_count_the_sessions_every_time(db: TestDb) {
    let app = spawn_app(db).await;
    let _alice = app.signed_in().await;
    for _ in 0..5 {
        assert_eq!(get_metrics(&app, None).await.status(), 200);
    }
    // The reads above counted once at most; the count is still fresh.
    assert!(
        !app.state.live_sessions.refresh().await.unwrap(),
        "no new count within the gauges' maximum age"
    );
}
