//! `ip_retention`: once it has passed, ended sessions and audit rows keep only the network of
//! their IP addresses and the parsed device of their user agent; live sessions keep all.
//! Injected clock; both databases; the command line's `server retention`.

use crate::common::*;
use auto_logout::server::{audit::AuditFilter, SessionSearch};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

db_tests!(
    past_the_retention_only_networks_and_devices_are_kept,
    the_command_line_applies_the_retention_now,
);

const DAY: Duration = Duration::from_secs(86_400);
const CHROME_ON_LINUX: &str = "device only: Chrome; Linux; desktop";

fn real_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn past_the_retention_only_networks_and_devices_are_kept(db: TestDb) {
    // No idle or absolute limit, so that a session can stay live for a month.
    let app = spawn_app_with(
        db,
        Spawn {
            env: vec![
                ("AUTO_LOGOUT_IDLE_TIME", "0".into()),
                ("AUTO_LOGOUT_SESSION_TIME", "0".into()),
            ],
            manual_clock_at: Some(real_now_ms()),
            ..Spawn::default()
        },
    )
    .await;
    let clock = app.clock.clone().unwrap();
    let engine = &app.state.engine;
    let (gone, gone_id) = app.device("alice", CHROME_UA).await;
    app.logout(&gone).await;
    let (_live, live_id) = app.device("alice", CHROME_UA).await;
    let before = app.session_row(&live_id).await;
    assert_eq!(before.ip.as_deref(), Some("127.0.0.1"));

    clock.advance(29 * DAY);
    let report = engine.apply_retention().await.unwrap();
    assert_eq!(
        (report.trimmed.sessions, report.trimmed.audit_rows),
        (0, 0),
        "within ip_retention (30 days) everything is kept"
    );

    clock.advance(2 * DAY);
    let report = engine.apply_retention().await.unwrap();
    assert_eq!(
        report.trimmed.sessions, 1,
        "the ended session, not the live one"
    );
    let audit_rows = engine.audit().list(&AuditFilter::default()).await.unwrap();
    assert_eq!(report.trimmed.audit_rows as usize, audit_rows.len());
    assert_eq!(report.deleted_audit_rows, 0, "audit_retention is 400 days");

    let trimmed = app.session_row(&gone_id).await;
    assert_eq!(trimmed.ip.as_deref(), Some("127.0.0.0/24"));
    assert_eq!(trimmed.last_ip.as_deref(), Some("127.0.0.0/24"));
    assert_eq!(trimmed.user_agent.as_deref(), Some(CHROME_ON_LINUX));
    let live = app.session_row(&live_id).await;
    assert_eq!(live, before, "a live session keeps everything");
    for entry in &audit_rows {
        assert_eq!(entry.ip.as_deref(), Some("127.0.0.0/24"), "{entry:?}");
        assert_eq!(
            entry.user_agent.as_deref(),
            Some(CHROME_ON_LINUX),
            "{entry:?}"
        );
    }
    // What the pages show still reads: the device, and the network as the place.
    let listed = engine
        .admin()
        .sessions(&SessionSearch {
            active: Some(false),
            limit: 10,
            ..SessionSearch::default()
        })
        .await
        .unwrap();
    let shown = listed.iter().find(|s| s.device.id == gone_id).unwrap();
    assert_eq!(
        (shown.device.browser.as_str(), shown.device.os.as_str()),
        ("Chrome", "Linux")
    );
    assert_eq!(shown.device.last_ip.as_deref(), Some("127.0.0.0/24"));

    // Done once: the next runs find nothing.
    let again = engine.apply_retention().await.unwrap();
    assert_eq!((again.trimmed.sessions, again.trimmed.audit_rows), (0, 0));
}

async fn the_command_line_applies_the_retention_now(db: TestDb) {
    let url = db.url.clone();
    let app = spawn_app(db).await;
    let pool = app.state.engine.database().pool();
    // A sign-in recorded 31 days ago, and one a minute ago.
    for (ago, ip) in [
        (31 * DAY, "198.51.100.23"),
        (Duration::from_secs(60), "198.51.100.24"),
    ] {
        sqlx::query(
            "INSERT INTO audit_log (event, at, username, ip, user_agent) \
             VALUES ('login', $1, 'alice', $2, $3)",
        )
        .bind(real_now_ms() - ago.as_millis() as i64)
        .bind(ip)
        .bind(CHROME_UA)
        .execute(pool)
        .await
        .unwrap();
    }
    let out = run_cli(&["retention"], &url, "");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("trimmed 0 ended session(s) and 1 audit row(s)"),
        "{printed}"
    );
    let ips: Vec<Option<String>> = app
        .state
        .engine
        .audit()
        .list(&AuditFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| {
            e.ip.as_deref()
                .is_some_and(|ip| ip.starts_with("198.51.100."))
        })
        .map(|e| e.ip)
        .collect();
    assert_eq!(
        ips,
        vec![Some("198.51.100.24".into()), Some("198.51.100.0/24".into())],
        "newest first: the recent one whole, the old one cut to its network"
    );
}
