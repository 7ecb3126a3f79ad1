//! Hardening, round two (SPEC §6, §7): what an attacker's second look found. The session id is
//! cycled on a password change; a sign-in checked before a password change or a disable never
//! yields a session; throttled floods are refused from memory with bounded audit rows; a
//! disabled account tells no right password apart; look-alike usernames are one name; a copy
//! of the database mints no JWT; requests are bounded (ids named, typed names, IPv6 networks).
//! SQLite and PostgreSQL.

use crate::common::*;
use auto_logout::{
    server::{
        secret::hash_secret,
        sessions::{ClientInfo, SessionMeta, META_KEY},
        store::refusal_of,
        Actor, SignInDecision,
    },
    AuditEvent, SessionKind,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::HashMap;
use tower_sessions::{
    session::{Id, Record},
    SessionStore,
};

db_tests!(
    a_password_change_cycles_the_session_id,
    a_sign_in_checked_before_a_password_change_stores_no_session,
    a_sign_in_checked_before_a_disable_stores_no_session,
    a_throttled_flood_is_refused_from_memory_with_one_audit_row,
    a_flood_from_one_address_leaves_other_addresses_signing_in,
    a_disabled_account_counts_right_passwords_like_wrong_ones,
    look_alike_usernames_are_one_name,
    old_look_alike_accounts_keep_signing_in_after_the_upgrade,
    a_copy_of_the_database_mints_no_jwt,
    a_secret_key_keeps_the_keys_out_of_the_database,
    named_sessions_are_deduplicated_and_capped,
    an_ipv6_site_cannot_spread_its_guesses_over_its_networks,
    a_huge_typed_username_is_a_plain_failure,
    old_audit_rows_are_pruned_in_batches,
    sessions_left_behind_by_a_cut_short_password_change_are_refused,
    sessions_left_behind_by_a_cut_short_disable_are_refused,
);

/// A sign-in attempt from `ip` (the server must trust 127.0.0.1 as a proxy).
async fn sign_in_from(app: &TestApp, ip: &str, username: &str, password: &str) -> u16 {
    browser()
        .post(app.url("/sign-in"))
        .header("origin", &app.address)
        .header("x-forwarded-for", ip)
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Stores a browser session for `user` as a sign-in whose password was checked against it
/// would: what the sign-in page does once the check has passed.
async fn store_session_for(
    app: &TestApp,
    user: &auto_logout::server::User,
) -> Result<(), tower_sessions::session_store::Error> {
    let now = app.state.engine.clock().now();
    let meta = SessionMeta {
        user_id: user.id,
        username: user.username.clone(),
        kind: SessionKind::Browser,
        remember: false,
        created_at: now,
        client: ClientInfo::default(),
        credential_epoch: user.credential_epoch,
        device: None,
    };
    let mut record = Record {
        id: Id::default(),
        data: HashMap::from([(META_KEY.to_owned(), serde_json::to_value(&meta).unwrap())]),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    app.state.engine.store().create(&mut record).await
}

async fn live_sessions_of(app: &TestApp, name: &str) -> usize {
    let user = app.user(name).await;
    app.state
        .engine
        .sessions()
        .active_for_user(user.id)
        .await
        .unwrap()
        .len()
}

async fn a_password_change_cycles_the_session_id(db: TestDb) {
    let app = spawn_app(db).await;
    let (laptop, old) = app.signed_in_with_cookie().await;
    let before = app.session_row(&hash_secret(&old)).await;
    let logins = app.audit_events(Some(AuditEvent::Login)).await.len();
    let res = post_form(
        &app,
        &laptop,
        "/account/password",
        &[
            ("reauth_password", PASSWORD),
            ("new", "a brand new password"),
            ("confirm", "a brand new password"),
        ],
    )
    .await;
    assert_eq!(location(&res), "/account/password?done=0");
    let new = session_cookie(&res).expect("the answer carries the new session id");
    assert_ne!(new, old);
    // The old value is refused at once; the new one (and the browser) stays signed in.
    let stolen = app.get_with_cookie("/home", &old).await;
    assert_eq!(
        stolen.status(),
        303,
        "a copy of the old cookie is worth nothing"
    );
    assert!(location(&stolen).starts_with("/sign-in"));
    assert_eq!(app.get_with_cookie("/home", &new).await.status(), 200);
    assert_eq!(
        laptop.get(app.url("/home")).send().await.unwrap().status(),
        200
    );
    // One session, one row: the same sign-in time and device under the new id, no new sign-in.
    let after = app.session_row(&hash_secret(&new)).await;
    assert_eq!(after.created_at, before.created_at);
    assert_eq!(after.ended_at, None);
    assert!(app
        .state
        .engine
        .sessions()
        .find(&hash_secret(&old))
        .await
        .unwrap()
        .is_none());
    assert_eq!(live_sessions_of(&app, "alice").await, 1);
    assert_eq!(
        app.audit_events(Some(AuditEvent::Login)).await.len(),
        logins
    );
}

/// A sign-in of `alice` whose password check has passed (its session not yet stored).
async fn checked_sign_in(app: &TestApp, password: &str) -> auto_logout::server::User {
    match app
        .state
        .engine
        .admission()
        .sign_in("alice", password, &ClientInfo::default())
        .await
        .unwrap()
    {
        SignInDecision::Accepted(user) => user,
        other => panic!("the right password is accepted, not {other:?}"),
    }
}

/// The command line as the actor of an administrator's change.
fn command_line() -> Actor {
    Actor {
        id: None,
        client: ClientInfo::default(),
    }
}

async fn a_sign_in_checked_before_a_password_change_stores_no_session(db: TestDb) {
    let app = spawn_app(db).await;
    // 1. The sign-in's password check passes.
    let checked = checked_sign_in(&app, PASSWORD).await;
    // 2. Meanwhile the password changes, which ends every session the account has.
    let actor = command_line();
    app.state
        .engine
        .admin()
        .change_password(&actor, "alice", "the password after the leak")
        .await
        .unwrap();
    // 3. The sign-in now stores its session: refused, nothing lives on.
    let err = store_session_for(&app, &checked)
        .await
        .expect_err("no session for a password that was changed");
    assert_eq!(
        refusal_of(&tower_sessions::session::Error::Store(err)),
        Some(auto_logout::session_limit::StoreRefusal::AccountChanged)
    );
    assert_eq!(live_sessions_of(&app, "alice").await, 0);
    let failed = app.audit_events(Some(AuditEvent::LoginFailed)).await;
    assert!(failed[0]
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("during the sign-in")));
    // A sign-in with the new password, checked after the change, works.
    let fresh = checked_sign_in(&app, "the password after the leak").await;
    store_session_for(&app, &fresh).await.unwrap();
    assert_eq!(live_sessions_of(&app, "alice").await, 1);
}

async fn a_sign_in_checked_before_a_disable_stores_no_session(db: TestDb) {
    let app = spawn_app(db).await;
    let checked = checked_sign_in(&app, PASSWORD).await;
    let actor = command_line();
    app.state
        .engine
        .admin()
        .set_disabled(&actor, "alice", true)
        .await
        .unwrap();
    assert!(store_session_for(&app, &checked).await.is_err());
    // Enabled again: the check made before still counts for nothing.
    app.state
        .engine
        .admin()
        .set_disabled(&actor, "alice", false)
        .await
        .unwrap();
    assert!(store_session_for(&app, &checked).await.is_err());
    assert_eq!(live_sessions_of(&app, "alice").await, 0);
}

/// How many `login_throttled` rows there are, and the attempts they stand for.
async fn throttled_rows(app: &TestApp) -> (usize, i64) {
    app.state
        .engine
        .admission()
        .flush_throttle_audit()
        .await
        .unwrap();
    let rows = app.audit_events(Some(AuditEvent::LoginThrottled)).await;
    (rows.len(), rows.iter().map(|r| r.repeat_count).sum())
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(app.state.engine.database().pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

async fn a_throttled_flood_is_refused_from_memory_with_one_audit_row(db: TestDb) {
    // A clock that stands still: every attempt falls in one minute.
    let app = spawn_app_with(
        db,
        Spawn {
            manual_clock_at: Some(1_800_000_000_000),
            env: vec![("AUTO_LOGOUT_LOGIN_MAX_FAILURES", "3".into())],
            ..Spawn::default()
        },
    )
    .await;
    for _ in 0..3 {
        let res = app.sign_in(&browser(), "alice", "a guess", "").await;
        assert!(location(&res).starts_with("/sign-in?error=1"));
    }
    let first = app.sign_in(&browser(), "alice", "a guess", "").await;
    assert_eq!(first.status(), 429);
    let attempts = count(&app, "login_attempts").await;
    // Every place among the password checks is taken: a throttled attempt needs none.
    let hashing = app.state.engine.users().hashing().clone();
    let held: Vec<_> = std::iter::from_fn(|| hashing.try_admit().ok()).collect();
    assert!(!held.is_empty());
    for _ in 0..200 {
        let res = app.sign_in(&browser(), "alice", PASSWORD, "").await;
        assert_eq!(res.status(), 429, "refused before a password check");
        assert!(res.headers().contains_key("retry-after"));
    }
    drop(held);
    assert_eq!(
        count(&app, "login_attempts").await,
        attempts,
        "nothing written per refusal"
    );
    assert_eq!(
        throttled_rows(&app).await,
        (1, 201),
        "one row for the minute, counting every refusal"
    );
    // Administrators see the count on the activity page and in its export.
    app.state
        .engine
        .users()
        .create("root", PASSWORD, true)
        .await
        .unwrap();
    let admin = browser();
    assert_eq!(
        app.sign_in(&admin, "root", PASSWORD, "").await.status(),
        303
    );
    let page = app
        .page(&admin, "/admin/activity?event=login_throttled")
        .await;
    assert!(page.contains("data-testid=\"repeat-count\""), "{page}");
    assert!(page.contains("(201 attempts)"), "{page}");
    let csv = admin
        .get(app.url("/admin/activity.csv?event=login_throttled"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rows.headers().unwrap().iter().next_back(), Some("count"));
    let counts: Vec<String> = rows
        .records()
        .map(|r| r.unwrap().iter().next_back().unwrap().to_owned())
        .collect();
    assert_eq!(counts, ["201"]);
    // The next minute gets its own row.
    app.clock
        .as_ref()
        .expect("a manual clock")
        .advance(std::time::Duration::from_secs(60));
    assert_eq!(
        app.sign_in(&browser(), "alice", PASSWORD, "")
            .await
            .status(),
        429
    );
    assert_eq!(throttled_rows(&app).await, (2, 202));
}

async fn a_flood_from_one_address_leaves_other_addresses_signing_in(db: TestDb) {
    let app = spawn_app_env(
        db,
        &[
            ("AUTO_LOGOUT_TRUSTED_PROXIES", "127.0.0.1"),
            ("AUTO_LOGOUT_LOGIN_MAX_FAILURES_PER_IP", "5"),
            ("AUTO_LOGOUT_LOGIN_MAX_FAILURES", "0"),
        ],
    )
    .await;
    for i in 0..5 {
        assert_eq!(
            sign_in_from(&app, "203.0.113.9", &format!("guess{i}"), "x").await,
            303
        );
    }
    for i in 0..100 {
        assert_eq!(
            sign_in_from(&app, "203.0.113.9", &format!("spray{i}"), "x").await,
            429
        );
    }
    assert_eq!(
        sign_in_from(&app, "198.51.100.7", "alice", PASSWORD).await,
        303
    );
    let res = browser()
        .post(app.url("/sign-in"))
        .header("origin", &app.address)
        .header("x-forwarded-for", "198.51.100.7")
        .form(&[("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/home", "another address signs in");
    let (rows, refused) = throttled_rows(&app).await;
    assert!(rows <= 2, "{rows} audit rows for one address");
    assert_eq!(refused, 100);
}

async fn a_disabled_account_counts_right_passwords_like_wrong_ones(db: TestDb) {
    let app = spawn_app_env(db, &[("AUTO_LOGOUT_LOGIN_MAX_FAILURES", "3")]).await;
    let actor = command_line();
    app.state
        .engine
        .admin()
        .set_disabled(&actor, "alice", true)
        .await
        .unwrap();
    // Two guesses and the right password: all three count, whichever was right.
    for password in ["guess one", PASSWORD, "guess two"] {
        let res = app.sign_in(&browser(), "alice", password, "").await;
        assert!(location(&res).starts_with("/sign-in?error=1"));
    }
    for password in [PASSWORD, "guess three"] {
        assert_eq!(
            app.sign_in(&browser(), "alice", password, "")
                .await
                .status(),
            429,
            "the throttle says nothing about which password was right"
        );
    }
}

async fn look_alike_usernames_are_one_name(db: TestDb) {
    let app = spawn_app(db).await;
    app.state
        .engine
        .users()
        .create("root", PASSWORD, true)
        .await
        .unwrap();
    let admin = browser();
    assert_eq!(
        app.sign_in(&admin, "root", PASSWORD, "").await.status(),
        303
    );
    let create = |name: &'static str| {
        let (admin, app) = (&admin, &app);
        async move {
            let res = admin
                .post(app.url("/api/v1/admin/users"))
                .header("origin", &app.address)
                .json(&json!({"username": name, "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    assert_eq!(create("frank").await.0, 201);
    for taken in ["FRANK", "Frank", "ｆｒａｎｋ"] {
        let (status, body) = create(taken).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("user_exists")),
            "{taken}"
        );
    }
    let (status, body) = create("fr\u{430}nk").await;
    assert_eq!(status, 422, "a Cyrillic look-alike");
    assert!(body["message"].as_str().unwrap().contains("one script"));
    // Sign-in matches the same way.
    for typed in ["FRANK", "ｆｒａｎｋ"] {
        let res = app.sign_in(&browser(), typed, PASSWORD, "").await;
        assert_eq!(location(&res), "/home", "{typed}");
    }
    let res = app.sign_in(&browser(), "fr\u{430}nk", PASSWORD, "").await;
    assert!(location(&res).starts_with("/sign-in?error=1"));
    // One account, named as it was created.
    let users = app.state.engine.users().list().await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["alice", "frank", "root"]);
}

async fn old_look_alike_accounts_keep_signing_in_after_the_upgrade(db: TestDb) {
    let app = spawn_app(db).await;
    let alice = app.user("alice").await;
    // Two accounts from before the upgrade, differing in case only (as the old rules allowed).
    for name in ["frank", "FRANK"] {
        sqlx::query(
            "INSERT INTO users (username, password_hash, is_admin, created_at) VALUES ($1, $2, 0, 0)",
        )
        .bind(name)
        .bind(&alice.password_hash)
        .execute(app.state.engine.database().pool())
        .await
        .unwrap();
    }
    let fill = auto_logout::server::users::fill_username_keys(app.state.engine.database())
        .await
        .unwrap();
    assert_eq!(fill.filled, 1);
    assert_eq!(fill.collisions, [("FRANK".to_owned(), "frank".to_owned())]);
    // Nobody is lost: each signs in by its exact name.
    for name in ["frank", "FRANK"] {
        let client = browser();
        let res = app.sign_in(&client, name, PASSWORD, "").await;
        assert_eq!(location(&res), "/home", "{name}");
        assert_eq!(app.status_json(&client).await["user"], name);
    }
    // Running it again changes nothing.
    let again = auto_logout::server::users::fill_username_keys(app.state.engine.database())
        .await
        .unwrap();
    assert_eq!(again.filled, 0);
}

/// Signs in for a JWT: (access token, session id).
async fn jwt_sign_in(app: &TestApp) -> (String, String) {
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/jwt"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["session_id"].as_str().unwrap().to_owned(),
    )
}

async fn status_with_bearer(app: &TestApp, token: &str) -> u16 {
    reqwest::Client::new()
        .get(app.url("/api/v1/session"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn a_copy_of_the_database_mints_no_jwt(db: TestDb) {
    let app = spawn_app(db).await;
    let (jwt, sid) = jwt_sign_in(&app).await;
    assert_eq!(status_with_bearer(&app, &jwt).await, 200);
    // Everything a backup holds: the signing key and the live session's public id.
    let row = sqlx::query("SELECT kid, material FROM jwt_keys WHERE retire_at IS NULL")
        .fetch_one(app.state.engine.database().pool())
        .await
        .unwrap();
    let kid: String = row.try_get("kid").unwrap();
    let key: String = row.try_get("material").unwrap();
    let key = hex::decode(key).unwrap();
    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let stored: Vec<String> = sqlx::query("SELECT access_hash FROM refresh_tokens")
        .fetch_all(app.state.engine.database().pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("access_hash").unwrap())
        .collect();
    let jti = payload["jti"].as_str().unwrap();
    assert_eq!(stored, [hash_secret(jti)], "only the jti's hash is stored");
    let now = app.state.engine.clock().now().as_millis() / 1000;
    for forged_jti in [None, Some("0".repeat(32)), Some(stored[0].clone())] {
        let mut claims = json!({"sub": payload["sub"], "sid": sid, "iat": now, "exp": now + 300});
        if let Some(forged) = forged_jti {
            claims["jti"] = json!(forged);
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(kid.clone());
        let minted = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&key).unwrap(),
        )
        .unwrap();
        assert_eq!(status_with_bearer(&app, &minted).await, 401, "{claims}");
    }
    // The holder's token still works, and a refreshed one too.
    assert_eq!(status_with_bearer(&app, &jwt).await, 200);
}

async fn a_secret_key_keeps_the_keys_out_of_the_database(db: TestDb) {
    const SECRET: &str = "an operator's root secret, at least 32 characters";
    let app = spawn_app_env(db, &[("AUTO_LOGOUT_SECRET_KEY", SECRET)]).await;
    assert_eq!(count(&app, "server_keys").await, 0, "nothing to copy");
    let stored_jwt_keys: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM jwt_keys WHERE material IS NOT NULL")
            .fetch_one(app.state.engine.database().pool())
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
    assert_eq!(
        stored_jwt_keys, 0,
        "JWT keys are derived: only their ids are stored"
    );
    let (jwt, _) = jwt_sign_in(&app).await;
    assert_eq!(status_with_bearer(&app, &jwt).await, 200);
    let (browser_client, cookie) = app.signed_in_with_cookie().await;
    assert_eq!(
        browser_client
            .get(app.url("/home"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // A restart with the same secret keeps everyone signed in.
    let db = app.stop().await;
    let again = spawn_joining(db, &[("AUTO_LOGOUT_SECRET_KEY", SECRET)]).await;
    assert_eq!(again.get_with_cookie("/home", &cookie).await.status(), 200);
    assert_eq!(status_with_bearer(&again, &jwt).await, 200);
    // A short secret stops start-up with a message that does not echo it.
    let err = server::config::Config::from_sources(None, |name| {
        (name == "AUTO_LOGOUT_SECRET_KEY").then(|| "hunter2-hunter2".to_owned())
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("secret_key") && !err.contains("hunter2"),
        "{err}"
    );
}

async fn named_sessions_are_deduplicated_and_capped(db: TestDb) {
    let app = spawn_app(db).await;
    let (laptop, _) = app.signed_in_with_cookie().await;
    let (_, phone) = app.signed_in_with_cookie().await;
    let phone = hash_secret(&phone);
    // The same id 300 times is one id.
    let repeated = vec![format!("token_id={phone}"); 300].join("&");
    let res = app
        .delete(&laptop, &format!("/api/v1/sessions?{repeated}"))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(live_sessions_of(&app, "alice").await, 1);
    // More than 100 distinct ids: refused, nothing read or changed.
    let many = (0..101)
        .map(|i| format!("token_id={i:064x}"))
        .collect::<Vec<_>>()
        .join("&");
    let res = app
        .delete(&laptop, &format!("/api/v1/sessions?{many}"))
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("at most 100"));
}

async fn an_ipv6_site_cannot_spread_its_guesses_over_its_networks(db: TestDb) {
    let app = spawn_app_env(
        db,
        &[
            ("AUTO_LOGOUT_TRUSTED_PROXIES", "127.0.0.1"),
            ("AUTO_LOGOUT_LOGIN_MAX_FAILURES_PER_IP", "2"),
            ("AUTO_LOGOUT_LOGIN_MAX_FAILURES", "0"),
        ],
    )
    .await;
    // One /48, a new /64 for every two guesses: each /64 stays under its limit of 2.
    for net in 0..4 {
        for guess in 0..2 {
            let ip = format!("2001:db8:7:{net:x}::{guess}");
            assert_eq!(
                sign_in_from(&app, &ip, &format!("u{net}{guess}"), "x").await,
                303,
                "{ip}"
            );
        }
    }
    // The site has used its budget (4 x 2): a fresh /64 in it waits.
    assert_eq!(
        sign_in_from(&app, "2001:db8:7:ffff::1", "alice", PASSWORD).await,
        429
    );
    // Another site is not affected.
    assert_eq!(
        sign_in_from(&app, "2001:db8:8::1", "alice", PASSWORD).await,
        303
    );
}

async fn a_huge_typed_username_is_a_plain_failure(db: TestDb) {
    let app = spawn_app(db).await;
    let huge = "ä".repeat(200_000);
    let res = app.sign_in(&browser(), &huge, PASSWORD, "").await;
    assert!(
        res.status() == 303 || res.status() == 413,
        "{}",
        res.status()
    );
    // A name no longer than allowed but padded past it does not sign in as the account.
    let padded = format!("alice{}", "e".repeat(80));
    let res = app.sign_in(&browser(), &padded, PASSWORD, "").await;
    assert!(location(&res).starts_with("/sign-in?error=1"));
}

async fn old_audit_rows_are_pruned_in_batches(db: TestDb) {
    let app = spawn_app(db).await;
    let now = app.state.engine.clock().now();
    let day = std::time::Duration::from_secs(86_400);
    for age in [500, 401, 399, 1] {
        app.state
            .engine
            .audit()
            .record(auto_logout::server::NewAuditEntry {
                detail: Some(format!("{age} days old")),
                ..auto_logout::server::NewAuditEntry::new(
                    AuditEvent::LoginFailed,
                    now.minus(day * age),
                )
            })
            .await
            .unwrap();
    }
    let before = count(&app, "audit_log").await;
    let pruned = app
        .state
        .engine
        .audit()
        .prune(now.minus(app.state.config.audit_retention))
        .await
        .unwrap();
    assert_eq!(pruned, 2, "older than the default 400 days");
    assert_eq!(count(&app, "audit_log").await, before - 2);
    let left: Vec<String> = app
        .audit_events(Some(AuditEvent::LoginFailed))
        .await
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    assert!(left.contains(&"399 days old".to_owned()));
    assert!(!left.contains(&"401 days old".to_owned()));
}

/// Signs in for an opaque API token: (token, session id).
async fn token_sign_in(app: &TestApp) -> (String, String) {
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    (
        body["token"].as_str().unwrap().to_owned(),
        body["session_id"].as_str().unwrap().to_owned(),
    )
}

async fn sessions_left_behind_by_a_cut_short_password_change_are_refused(db: TestDb) {
    let app = spawn_app(db).await;
    let (token, sid) = token_sign_in(&app).await;
    let (jwt, _) = jwt_sign_in(&app).await;
    let (laptop, _) = app.signed_in_with_cookie().await;
    assert_eq!(status_with_bearer(&app, &token).await, 200);
    assert_eq!(status_with_bearer(&app, &jwt).await, 200);
    // The password changes, and the request that changed it goes no further: nothing ended
    // the account's sessions (a client that disconnected, a proxy's timeout).
    app.state
        .engine
        .users()
        .set_password("alice", "the password after the leak")
        .await
        .unwrap();
    assert_eq!(live_sessions_of(&app, "alice").await, 3, "none was ended");
    // Each is refused when next presented (as soon as the change reaches the caches: at once
    // on PostgreSQL, within a quarter of a second on SQLite), and ended then, audited.
    refused_within_a_second(&app, &token).await;
    assert_eq!(status_with_bearer(&app, &jwt).await, 401);
    assert_eq!(app.status_json(&laptop).await["error"], "session_ended");
    let row = app.session_row(&sid).await;
    assert_eq!(row.end_reason.as_deref(), Some("revoked"));
    assert_eq!(row.detail.as_deref(), Some("password changed"));
    assert_eq!(live_sessions_of(&app, "alice").await, 0);
}

async fn sessions_left_behind_by_a_cut_short_disable_are_refused(db: TestDb) {
    let app = spawn_app(db).await;
    let (token, sid) = token_sign_in(&app).await;
    let (other, _) = token_sign_in(&app).await;
    app.state
        .engine
        .users()
        .set_disabled("alice", true)
        .await
        .unwrap();
    // Not listed as a device any more, and refused when presented.
    let user = app.user("alice").await;
    assert!(app
        .state
        .engine
        .gate()
        .devices_of(user.id, None)
        .await
        .unwrap()
        .is_empty());
    refused_within_a_second(&app, &token).await;
    let row = app.session_row(&sid).await;
    assert_eq!(row.detail.as_deref(), Some("the account was disabled"));
    // Enabled again: the sessions of before stay refused.
    app.state
        .engine
        .users()
        .set_disabled("alice", false)
        .await
        .unwrap();
    assert_eq!(status_with_bearer(&app, &other).await, 401);
}

/// Presents `token` until it is refused (401), for at most a second.
async fn refused_within_a_second(app: &TestApp, token: &str) {
    let started = std::time::Instant::now();
    while status_with_bearer(app, token).await != 401 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "still served a second after the change"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
