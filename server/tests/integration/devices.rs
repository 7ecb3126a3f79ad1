//! Every device, visible and revocable (SPEC §4 `/sessions`, §6, §7): listing, revoking,
//! remember me, user-agent binding, session limits, password changes, and a race between a
//! revoke and hundreds of requests in flight.

use crate::common::*;
use auto_logout::server::Clock;
use serde_json::Value;
use std::sync::Arc;

db_tests!(
    the_list_shows_only_the_callers_sessions_with_parsed_devices,
    each_delete_form_signs_out_exactly_what_it_names,
    another_users_session_is_404_and_nothing_changes,
    a_changed_user_agent_suspends_the_session,
    remember_me_gives_a_persistent_cookie_and_the_long_limits,
    session_limit_ends_the_oldest,
    session_limit_can_deny_the_new_sign_in,
    the_sessions_page_lists_and_revokes_without_javascript,
    a_revoke_racing_500_requests_stays_final,
    client_ip_comes_from_trusted_proxies_only,
    a_password_change_signs_out_every_session,
    simultaneous_sign_ins_respect_the_session_limit,
);

const CURL_UA: &str = "curl/8.5.0";

async fn delete(app: &TestApp, client: &reqwest::Client, path_and_query: &str) -> u16 {
    app.delete(client, path_and_query).await.status().as_u16()
}

async fn is_live(app: &TestApp, client: &reqwest::Client) -> bool {
    client
        .get(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap()
        .status()
        == 200
}

async fn the_list_shows_only_the_callers_sessions_with_parsed_devices(db: TestDb) {
    let app = spawn_app(db).await;
    app.add_user("bob").await;
    let (chrome, chrome_id) = app.device("alice", CHROME_UA).await;
    app.device("alice", FIREFOX_UA).await;
    app.device("alice", IPHONE_UA).await;
    app.device("alice", CURL_UA).await;
    app.device("bob", CHROME_UA).await;

    let sessions = app.device_list(&chrome).await;
    assert_eq!(sessions.len(), 4, "only alice's: {sessions:#?}");
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], chrome_id.as_str());
    let by_browser = |name: &str| sessions.iter().find(|s| s["browser"] == name).cloned();
    let chrome_row = by_browser("Chrome").expect("Chrome listed");
    assert_eq!(chrome_row["os"], "Linux");
    assert_eq!(chrome_row["device"], "desktop");
    assert_eq!(chrome_row["kind"], "browser");
    assert_eq!(chrome_row["last_ip"], "127.0.0.1");
    assert!(chrome_row["created_at"].as_i64().unwrap() > 0);
    assert!(
        chrome_row["last_seen_at"].as_i64().unwrap() >= chrome_row["created_at"].as_i64().unwrap()
    );
    assert_eq!(
        by_browser("Firefox").expect("Firefox listed")["os"],
        "Linux"
    );
    let safari = by_browser("Safari").expect("Safari listed");
    assert_eq!(
        (safari["os"].as_str(), safari["device"].as_str()),
        (Some("iPhone"), Some("mobile"))
    );
    assert!(by_browser("curl").is_some(), "curl listed");
}

async fn each_delete_form_signs_out_exactly_what_it_names(db: TestDb) {
    let app = spawn_app(db).await;
    let (me, _) = app.device("alice", CHROME_UA).await;
    let (a, a_id) = app.device("alice", FIREFOX_UA).await;
    let (b, b_id) = app.device("alice", IPHONE_UA).await;
    let (c, c_id) = app.device("alice", CURL_UA).await;
    let (d, _) = app.device("alice", FIREFOX_UA).await;

    // An empty list changes nothing (and is not mistaken for "this session").
    assert_eq!(delete(&app, &me, "/api/v1/sessions").await, 400);
    assert_eq!(delete(&app, &me, "/api/v1/sessions?token_id=").await, 400);
    assert!(is_live(&app, &me).await && is_live(&app, &a).await);
    assert_eq!(app.device_list(&me).await.len(), 5);

    // One by path.
    assert_eq!(
        delete(&app, &me, &format!("/api/v1/sessions/{a_id}")).await,
        204
    );
    assert!(
        !is_live(&app, &a).await,
        "a revoked cookie is refused on its next request"
    );
    // Several by query.
    let q = format!("/api/v1/sessions?token_id={b_id}&token_id={c_id}");
    assert_eq!(delete(&app, &me, &q).await, 204);
    assert!(!is_live(&app, &b).await && !is_live(&app, &c).await);
    assert!(is_live(&app, &d).await);
    // Everything but this one.
    assert_eq!(
        delete(&app, &me, "/api/v1/sessions?scope=others").await,
        204
    );
    assert!(!is_live(&app, &d).await);
    assert!(is_live(&app, &me).await, "the caller's own session stays");
    assert_eq!(app.device_list(&me).await.len(), 1);

    let revoked = app
        .audit_events(Some(auto_logout::AuditEvent::Revoked))
        .await;
    assert_eq!(revoked.len(), 4);
    let alice = app.user("alice").await;
    assert!(
        revoked.iter().all(|e| e.actor_id == Some(alice.id)),
        "who did it is recorded"
    );
}

async fn another_users_session_is_404_and_nothing_changes(db: TestDb) {
    let app = spawn_app(db).await;
    app.add_user("bob").await;
    let (alice, alice_other) = {
        let (me, _) = app.device("alice", CHROME_UA).await;
        let (_, other) = app.device("alice", FIREFOX_UA).await;
        (me, other)
    };
    let (bob, bob_id) = app.device("bob", CHROME_UA).await;
    assert_eq!(
        delete(&app, &alice, &format!("/api/v1/sessions/{bob_id}")).await,
        404
    );
    assert_eq!(
        delete(&app, &alice, "/api/v1/sessions/not-a-session").await,
        404
    );
    // A list mixing an own and a foreign id changes nothing at all.
    let q = format!("/api/v1/sessions?token_id={alice_other}&token_id={bob_id}");
    assert_eq!(delete(&app, &alice, &q).await, 404);
    assert!(is_live(&app, &bob).await);
    assert_eq!(app.device_list(&alice).await.len(), 2);
    // Without a session, 401.
    assert_eq!(
        delete(&app, &browser(), &format!("/api/v1/sessions/{bob_id}")).await,
        401
    );
}

async fn a_changed_user_agent_suspends_the_session(db: TestDb) {
    let app = spawn_app(db).await;
    let (client, id) = app.device("alice", CHROME_UA).await;
    let res = client
        .get(app.url("/home"))
        .header("user-agent", FIREFOX_UA)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/sign-in?next=%2Fhome&reason=suspended");
    // Suspended for good: the original user agent is refused too.
    assert!(!is_live(&app, &client).await);
    let row = app.session_row(&id).await;
    assert_eq!(row.end_reason.as_deref(), Some("suspended"));
    assert!(
        row.detail.as_deref().unwrap_or("").contains("Firefox"),
        "{:?}",
        row.detail
    );
    let event = app.audit_events(None).await.remove(0);
    assert_eq!(event.event, "suspended");
    assert!(event.detail.unwrap_or_default().contains("user agent"));
}

async fn remember_me_gives_a_persistent_cookie_and_the_long_limits(db: TestDb) {
    let app = spawn_app(db).await;
    let client = browser();
    let res = app.sign_in_remembered(&client).await;
    let cookie = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("auto_logout_session="))
        .unwrap();
    let max_age: i64 = cookie
        .split(';')
        .find_map(|p| p.trim().strip_prefix("Max-Age="))
        .expect("a persistent cookie has Max-Age")
        .parse()
        .unwrap();
    assert!(
        (30 * 86_400 - 60..=30 * 86_400).contains(&max_age),
        "{cookie}"
    );
    let body: Value = app.status_json(&client).await;
    assert_eq!(body["seconds_until_idle_end"], 7 * 86_400);
    assert_eq!(body["seconds_until_session_end"], 30 * 86_400);
    // Without it: the ordinary limits.
    let plain = app.signed_in().await;
    let body: Value = app.status_json(&plain).await;
    assert_eq!(body["seconds_until_idle_end"], 600);
}

async fn session_limit_ends_the_oldest(db: TestDb) {
    let app = spawn_app_env(db, &[("AUTO_LOGOUT_MAX_SESSIONS", "2")]).await;
    let (first, first_id) = app.device("alice", CHROME_UA).await;
    let (second, _) = app.device("alice", FIREFOX_UA).await;
    let (third, _) = app.device("alice", IPHONE_UA).await;
    assert!(!is_live(&app, &first).await, "the oldest made room");
    assert!(is_live(&app, &second).await && is_live(&app, &third).await);
    let row = app.session_row(&first_id).await;
    assert_eq!(row.end_reason.as_deref(), Some("session_limit"));
    let events: Vec<String> = app
        .audit_events(None)
        .await
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(events.contains(&"session_limit".to_owned()), "{events:?}");
}

async fn session_limit_can_deny_the_new_sign_in(db: TestDb) {
    let app = spawn_app_env(
        db,
        &[
            ("AUTO_LOGOUT_MAX_SESSIONS", "2"),
            ("AUTO_LOGOUT_ON_MAX_SESSIONS", "deny_new"),
        ],
    )
    .await;
    let (first, _) = app.device("alice", CHROME_UA).await;
    let (second, _) = app.device("alice", FIREFOX_UA).await;
    let res = app.sign_in(&browser(), "alice", PASSWORD, "/home").await;
    assert_eq!(location(&res), "/sign-in?error=limit&next=%2Fhome");
    assert!(session_cookie(&res).is_none());
    assert!(is_live(&app, &first).await && is_live(&app, &second).await);
    let event = app.audit_events(None).await.remove(0);
    assert_eq!(event.event, "session_limit");
    // A wrong password still gets the generic answer, not a hint about the limit.
    let res = app.sign_in(&browser(), "alice", "wrong password", "").await;
    assert_eq!(location(&res), "/sign-in?error=1");
}

async fn the_sessions_page_lists_and_revokes_without_javascript(db: TestDb) {
    let app = spawn_app(db).await;
    let (me, my_id) = app.device("alice", CHROME_UA).await;
    let (other, other_id) = app.device("alice", IPHONE_UA).await;
    let page = app.page(&me, "/sessions").await;
    assert!(page.contains("This device"));
    assert!(page.contains(&format!("data-session-id=\"{other_id}\"")));
    assert!(page.contains(&format!("data-session-id=\"{my_id}\"")));
    assert!(page.contains("Safari on iPhone"));
    let res = me
        .post(app.url("/sessions/revoke"))
        .header("origin", &app.address)
        .form(&[("id", other_id.as_str()), ("back", "/sessions")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/sessions");
    assert!(!is_live(&app, &other).await);
    // The other device, opening any page, is sent to sign in and told why.
    let res = other.get(app.url("/home")).send().await.unwrap();
    assert!(location(&res).starts_with("/sign-in"));
    // Cross-site revocation is refused.
    let res = app.post_cross_site(&me, "/sessions/revoke-others").await;
    assert_eq!(res.status(), 403);
}

async fn a_revoke_racing_500_requests_stays_final(db: TestDb) {
    let app = Arc::new(spawn_app(db).await);
    let (victim, victim_id) = app.device("alice", CHROME_UA).await;
    let (owner, _) = app.device("alice", FIREFOX_UA).await;
    let clock = auto_logout::server::SystemClock;
    // 20 concurrent workers send requests; the revoke goes out once 250 are done, and each
    // worker goes on until it has sent 5 requests after the revoke's commit (100 at most),
    // so the burst straddles the revoke however long the revoke itself takes.
    use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::SeqCst};
    let done = Arc::new(AtomicUsize::new(0));
    let committed_at = Arc::new(AtomicI64::new(i64::MAX));
    let mut workers = Vec::new();
    for _ in 0..20 {
        let (app, victim, done, committed_at) = (
            app.clone(),
            victim.clone(),
            done.clone(),
            committed_at.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut after = 0;
            while after < 5 && seen.len() < 100 {
                let sent = clock.now().as_millis();
                let res = app.post(&victim, "/api/v1/session/extend").await;
                seen.push((sent, res.status().as_u16()));
                done.fetch_add(1, SeqCst);
                if sent > committed_at.load(SeqCst) {
                    after += 1;
                }
            }
            seen
        }));
    }
    while done.load(SeqCst) < 250 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let status = delete(&app, &owner, &format!("/api/v1/sessions/{victim_id}")).await;
    // The revoke has committed by the time its answer arrives.
    let committed_by = clock.now().as_millis();
    committed_at.store(committed_by, SeqCst);
    assert_eq!(status, 204);
    let mut results = Vec::new();
    for worker in workers {
        results.extend(worker.await.unwrap());
    }
    let total = results.len();
    let ok = results.iter().filter(|(_, s)| *s == 200).count();
    let refused = results.iter().filter(|(_, s)| *s == 401).count();
    let after: Vec<_> = results
        .iter()
        .filter(|(sent, _)| *sent > committed_by)
        .collect();
    let after_ok = after.iter().filter(|(_, s)| *s == 200).count();
    println!(
        "race: {total} requests around a revoke: {ok} served, {refused} refused; {} sent after the revoke's commit, {after_ok} of those served",
        after.len()
    );
    assert_eq!(ok + refused, total, "no other outcome");
    assert!(
        !after.is_empty() && ok > 0,
        "the burst must straddle the revoke"
    );
    assert_eq!(
        after_ok, 0,
        "every request after the revoke's commit was refused"
    );
    let row = app.session_row(&victim_id).await;
    assert_eq!(row.end_reason.as_deref(), Some("revoked"));
    let ended_at = row.ended_at;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let row = app.session_row(&victim_id).await;
    assert_eq!(
        row.ended_at, ended_at,
        "ended once, never rewritten or revived"
    );
    assert!(!is_live(&app, &victim).await);
}

async fn client_ip_comes_from_trusted_proxies_only(db: TestDb) {
    let app = spawn_app_env(db, &[("AUTO_LOGOUT_TRUSTED_PROXIES", "127.0.0.0/8")]).await;
    let (client, id) = app.device("alice", CHROME_UA).await;
    client
        .post(app.url("/api/v1/session/extend"))
        .header("origin", &app.address)
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    let row = app.session_row(&id).await;
    assert_eq!(row.ip.as_deref(), Some("127.0.0.1"), "IP at sign-in");
    assert_eq!(
        row.last_ip.as_deref(),
        Some("203.0.113.7"),
        "a changed IP is recorded"
    );
    // Also by a passive status read, which does not count as activity.
    client
        .get(app.url("/api/v1/session"))
        .header("x-forwarded-for", "198.51.100.9")
        .send()
        .await
        .unwrap();
    let after = app.session_row(&id).await;
    assert_eq!(after.last_ip.as_deref(), Some("198.51.100.9"));
    assert_eq!(after.last_seen_at, row.last_seen_at);
}

async fn a_password_change_signs_out_every_session(db: TestDb) {
    let url = db.url.clone();
    let app = spawn_app(db).await;
    let (laptop, _) = app.device("alice", CHROME_UA).await;
    let (phone, _) = app.device("alice", IPHONE_UA).await;
    let (tablet, tablet_id) = app.device("alice", FIREFOX_UA).await;
    // `session list` shows them; `session revoke` ends one (another process: seen within 1 s).
    let list = run_cli(&["session", "list", "--user", "alice"], &url, "");
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(listed.contains(&tablet_id) && listed.contains("Firefox on Linux"));
    assert!(run_cli(&["session", "revoke", &tablet_id], &url, "")
        .status
        .success());
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert!(!is_live(&app, &tablet).await);
    let out = run_cli(&["user", "passwd", "alice"], &url, "a brand new password\n");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 session(s) signed out"));
    // Another process ended them: this server notices within a second (its caches expire).
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert!(!is_live(&app, &laptop).await && !is_live(&app, &phone).await);
    let alice = app.user("alice").await;
    let revoked = app
        .audit_events(Some(auto_logout::AuditEvent::Revoked))
        .await;
    let (by_password, by_command): (Vec<_>, Vec<_>) = revoked
        .iter()
        .partition(|e| e.detail.as_deref() == Some("password changed"));
    assert_eq!(by_password.len(), 2);
    assert!(by_password.iter().all(|e| e.actor_id == Some(alice.id)));
    assert_eq!(by_command.len(), 1, "the `session revoke`");
    assert_eq!(
        by_command[0].actor_id, None,
        "the command line has no account"
    );
    let changed = app
        .audit_events(Some(auto_logout::AuditEvent::PasswordChanged))
        .await;
    assert_eq!(changed.len(), 1);
    // The new password works, the old one does not.
    let res = app
        .sign_in(&browser(), "alice", "a brand new password", "")
        .await;
    assert_eq!(location(&res), "/home");
    let res = app.sign_in(&browser(), "alice", PASSWORD, "").await;
    assert!(location(&res).starts_with("/sign-in?error=1"));
}

async fn simultaneous_sign_ins_respect_the_session_limit(db: TestDb) {
    let app = Arc::new(
        spawn_app_env(
            db,
            &[
                ("AUTO_LOGOUT_MAX_SESSIONS", "1"),
                ("AUTO_LOGOUT_ON_MAX_SESSIONS", "deny_new"),
                // Attempts still being checked count against the throttle; let all 8 through.
                ("AUTO_LOGOUT_LOGIN_MAX_FAILURES", "20"),
            ],
        )
        .await,
    );
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(
                async move { location(&app.sign_in(&browser(), "alice", PASSWORD, "").await) },
            )
        })
        .collect();
    let mut admitted = 0;
    for attempt in attempts {
        if attempt.await.unwrap() == "/home" {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 1, "eight sign-ins at once, limit one");
    let alice = app.user("alice").await;
    assert_eq!(
        app.state
            .engine
            .sessions()
            .active_for_user(alice.id)
            .await
            .unwrap()
            .len(),
        1
    );
}
