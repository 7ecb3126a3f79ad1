//! API clients (SPEC §7): bearer tokens and JWTs bound to server sessions of kind `api`, on
//! SQLite and PostgreSQL, with an injected clock for the API limits.

use crate::common::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

db_tests!(
    a_token_works_on_every_api_endpoint,
    a_jwt_works_on_every_api_endpoint,
    revoking_from_a_browser_cuts_the_client_off_at_once,
    api_limits_hold_with_the_injected_clock,
    another_user_agent_suspends_an_api_session,
    forged_expired_and_orphaned_jwts_are_refused,
    refresh_tokens_rotate_and_a_reused_one_ends_the_session,
    tokens_are_stored_only_as_hashes,
    api_sign_in_is_throttled_like_the_page,
    every_instance_on_a_database_accepts_its_jwts,
    an_api_credential_signs_no_page_in,
);

const APP_UA: &str = "auto-logout-test-client/1.0";
const MIN: Duration = Duration::from_secs(60);

fn real_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn manual_app(db: TestDb, env: &[(&'static str, &str)]) -> TestApp {
    spawn_app_with(
        db,
        Spawn {
            manual_clock_at: Some(real_now_ms()),
            env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            ..Spawn::default()
        },
    )
    .await
}

/// An API client: no cookies, its own user agent.
fn api_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(APP_UA)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    /// Signs in through `/api/v1/auth/{kind}` (`token` or `jwt`): status and body.
    async fn api_sign_in(&self, kind: &str, password: &str) -> (u16, Value) {
        let res = api_client()
            .post(self.url(&format!("/api/v1/auth/{kind}")))
            .json(&json!({"username": "alice", "password": password}))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A request with `Authorization: <scheme> <credential>`: status and JSON body (or null).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        scheme: &str,
        credential: &str,
    ) -> (u16, Value) {
        let res = api_client()
            .request(method, self.url(path))
            .header("authorization", format!("{scheme} {credential}"))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Moves the manual clock on.
    pub(crate) fn advance(&self, by: Duration) {
        self.clock.as_ref().expect("a manual clock").advance(by);
    }
}

use reqwest::Method;

/// Every `/api/v1` endpoint but issuance, with `credential`: each answers as for a cookie.
async fn every_endpoint_accepts(app: &TestApp, scheme: &str, credential: &str, session: &str) {
    let (status, body) = app
        .call(Method::GET, "/api/v1/session", scheme, credential)
        .await;
    assert_eq!((status, body["session_id"].as_str()), (200, Some(session)));
    assert_eq!(body["user"], "alice");
    let (status, _) = app
        .call(Method::POST, "/api/v1/session/extend", scheme, credential)
        .await;
    assert_eq!(status, 200);
    let (status, list) = app
        .call(Method::GET, "/api/v1/sessions", scheme, credential)
        .await;
    assert_eq!(status, 200);
    let me = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == session)
        .expect("listed");
    assert_eq!(
        (me["kind"].as_str(), me["current"].as_bool()),
        (Some("api"), Some(true))
    );
    // A browser session of the same user, revoked by the API client.
    let (browser, browser_id) = app.device("alice", CHROME_UA).await;
    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/sessions/{browser_id}"),
            scheme,
            credential,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.status_json(&browser).await["error"], "session_ended");
    let (other, _) = app.device("alice", CHROME_UA).await;
    let (status, _) = app
        .call(
            Method::DELETE,
            "/api/v1/sessions?scope=others",
            scheme,
            credential,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.status_json(&other).await["error"], "session_ended");
    let (status, _) = app
        .call(Method::POST, "/api/v1/auth/logout", scheme, credential)
        .await;
    assert_eq!(status, 204);
    let (status, body) = app
        .call(Method::GET, "/api/v1/session", scheme, credential)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("session_ended"))
    );
    let row = app.session_row(session).await;
    assert_eq!(row.end_reason.as_deref(), Some("logout"));
    assert_eq!(row.kind, auto_logout::SessionKind::Api);
}

async fn a_token_works_on_every_api_endpoint(db: TestDb) {
    let app = spawn_app(db).await;
    let (status, body) = app.api_sign_in("token", PASSWORD).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["seconds_until_idle_end"], 86_400, "api_idle_time");
    assert_eq!(
        body["seconds_until_session_end"],
        30 * 86_400,
        "api_session_time"
    );
    let token = body["token"].as_str().unwrap().to_owned();
    let session = body["session_id"].as_str().unwrap().to_owned();
    // `Token <token>` (Django REST framework style) works as well as `Bearer`.
    let (status, _) = app
        .call(Method::GET, "/api/v1/session", "Token", &token)
        .await;
    assert_eq!(status, 200);
    every_endpoint_accepts(&app, "Bearer", &token, &session).await;
    // A wrong password: 401, nothing issued.
    let (status, body) = app.api_sign_in("token", "wrong password").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_credentials"))
    );
}

async fn a_jwt_works_on_every_api_endpoint(db: TestDb) {
    let app = spawn_app(db).await;
    let (status, body) = app.api_sign_in("jwt", PASSWORD).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["expires_in"], 300, "jwt_ttl");
    assert!(body["refresh_token"]
        .as_str()
        .is_some_and(|t| t.len() == 64));
    let jwt = body["access_token"].as_str().unwrap().to_owned();
    let session = body["session_id"].as_str().unwrap().to_owned();
    every_endpoint_accepts(&app, "Bearer", &jwt, &session).await;
}

async fn revoking_from_a_browser_cuts_the_client_off_at_once(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, body) = app.api_sign_in("jwt", PASSWORD).await;
    let jwt = body["access_token"].as_str().unwrap().to_owned();
    let (_, body) = app.api_sign_in("token", PASSWORD).await;
    let token = body["token"].as_str().unwrap().to_owned();
    let (status, _) = app
        .call(Method::GET, "/api/v1/session", "Bearer", &jwt)
        .await;
    assert_eq!(status, 200);
    let (browser, _) = app.device("alice", CHROME_UA).await;
    // The API sessions are on the /sessions page, and signed out from there.
    let page = app.page(&browser, "/sessions").await;
    assert_eq!(
        page.matches(" (API)</td>").count(),
        2,
        "both listed: {page}"
    );
    let res = app.post(&browser, "/sessions/revoke-others").await;
    assert_eq!(res.status(), 303);
    for credential in [&jwt, &token] {
        let (status, body) = app
            .call(Method::GET, "/api/v1/session", "Bearer", credential)
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("session_ended"))
        );
    }
}

async fn api_limits_hold_with_the_injected_clock(db: TestDb) {
    let app = manual_app(
        db,
        &[
            ("AUTO_LOGOUT_API_IDLE_TIME", "1h"),
            ("AUTO_LOGOUT_API_SESSION_TIME", "3h"),
            ("AUTO_LOGOUT_JWT_TTL", "10h"),
        ],
    )
    .await;
    let (_, body) = app.api_sign_in("token", PASSWORD).await;
    let token = body["token"].as_str().unwrap().to_owned();
    let session = body["session_id"].as_str().unwrap().to_owned();
    // Activity every 50 minutes keeps it for 2.5 hours; status reads alone do not.
    for _ in 0..3 {
        app.advance(50 * MIN);
        let (status, _) = app
            .call(Method::POST, "/api/v1/session/extend", "Bearer", &token)
            .await;
        assert_eq!(status, 200);
    }
    app.advance(31 * MIN);
    let (status, body) = app
        .call(Method::GET, "/api/v1/session", "Bearer", &token)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("session_ended")),
        "3 hours after sign-in, whatever the activity"
    );
    assert_eq!(
        app.session_row(&session).await.end_reason.as_deref(),
        Some("absolute_timeout")
    );
    // Idle: a JWT session with no activity for an hour.
    let (_, body) = app.api_sign_in("jwt", PASSWORD).await;
    let jwt = body["access_token"].as_str().unwrap().to_owned();
    app.advance(59 * MIN);
    let (status, body) = app
        .call(Method::GET, "/api/v1/session", "Bearer", &jwt)
        .await;
    assert_eq!(
        (status, body["seconds_until_idle_end"].as_u64()),
        (200, Some(60))
    );
    app.advance(MIN);
    let (status, _) = app
        .call(Method::GET, "/api/v1/session", "Bearer", &jwt)
        .await;
    assert_eq!(
        status, 401,
        "an hour idle, and the JWT's own exp is hours away"
    );
}

async fn another_user_agent_suspends_an_api_session(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, body) = app.api_sign_in("token", PASSWORD).await;
    let token = body["token"].as_str().unwrap().to_owned();
    let session = body["session_id"].as_str().unwrap().to_owned();
    let res = reqwest::Client::builder()
        .user_agent("curl/8.5.0")
        .build()
        .unwrap()
        .get(app.url("/api/v1/session"))
        .header("authorization", format!("Bearer {token}"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let row = app.session_row(&session).await;
    assert_eq!(row.end_reason.as_deref(), Some("suspended"));
    assert!(row.detail.unwrap().contains("curl/8.5.0"));
    let (status, _) = app
        .call(Method::GET, "/api/v1/session", "Bearer", &token)
        .await;
    assert_eq!(status, 401, "final, also for the original client");
}

/// An unsigned JWT (`alg: none`) with these claims.
fn unsigned(claims: &Value) -> String {
    let head = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{head}.{body}.")
}

/// A JWT with these claims signed with `algorithm` and `key`, naming the configured
/// `jwt_secret`'s key in `kid`.
fn signed(algorithm: jsonwebtoken::Algorithm, claims: &Value, key: &[u8]) -> String {
    let mut header = jsonwebtoken::Header::new(algorithm);
    header.kid = Some(auto_logout::server::tokens::jwt::FIXED_SECRET_KID.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key).unwrap(),
    )
    .unwrap()
}

async fn forged_expired_and_orphaned_jwts_are_refused(db: TestDb) {
    const SECRET: &str = "a test secret of at least thirty-two characters";
    let app = manual_app(db, &[("AUTO_LOGOUT_JWT_SECRET", SECRET)]).await;
    let (_, body) = app.api_sign_in("jwt", PASSWORD).await;
    let jwt = body["access_token"].as_str().unwrap().to_owned();
    let sid = body["session_id"].as_str().unwrap().to_owned();
    let alice = app.user("alice").await.id.to_string();
    let now = app.state.engine.clock().now().as_millis() / 1000;
    // The issued token's own random id: only its holder knows it (the database has its hash).
    let payload = jwt.split('.').nth(1).unwrap();
    let issued: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let jti = issued["jti"].as_str().expect("a jti").to_owned();
    let claims = json!({"sub": alice, "sid": sid, "jti": jti, "iat": now, "exp": now + 300});
    use jsonwebtoken::Algorithm::{HS256, HS512};
    let key = SECRET.as_bytes();
    // The server's own algorithm and key over these claims are accepted: each forgery below
    // differs in one thing only.
    let genuine = signed(HS256, &claims, key);
    assert_eq!(
        app.call(Method::GET, "/api/v1/session", "Bearer", &genuine)
            .await
            .0,
        200
    );
    let cases = [
        ("alg none", unsigned(&claims)),
        ("another algorithm", signed(HS512, &claims, key)),
        (
            "wrong signature",
            signed(HS256, &claims, b"another secret of thirty-two chars!"),
        ),
        (
            "unknown sid",
            signed(
                HS256,
                &json!({"sub": alice, "sid": "0".repeat(64), "jti": jti, "iat": now, "exp": now + 300}),
                key,
            ),
        ),
        (
            "another user's sub",
            signed(
                HS256,
                &json!({"sub": "999", "sid": sid, "jti": jti, "iat": now, "exp": now + 300}),
                key,
            ),
        ),
        // What a copy of the database and the key could make: a live sid, but no jti that
        // was ever issued for it.
        (
            "no jti",
            signed(
                HS256,
                &json!({"sub": alice, "sid": sid, "iat": now, "exp": now + 300}),
                key,
            ),
        ),
        (
            "a jti never issued",
            signed(
                HS256,
                &json!({"sub": alice, "sid": sid, "jti": "0".repeat(32), "iat": now, "exp": now + 300}),
                key,
            ),
        ),
        // The right key and algorithm, but no `kid` (as earlier versions signed them).
        (
            "no kid",
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(HS256),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(key).unwrap(),
            )
            .unwrap(),
        ),
        ("garbage", "a.b.c".to_owned()),
    ];
    for (name, token) in &cases {
        let (status, body) = app
            .call(Method::GET, "/api/v1/session", "Bearer", token)
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_token")),
            "{name}"
        );
    }
    // Past its exp (5 minutes), while the session itself is live.
    app.advance(Duration::from_secs(301));
    let (status, body) = app
        .call(Method::GET, "/api/v1/session", "Bearer", &jwt)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token")),
        "expired"
    );
    // An ended sid: a fresh JWT of a session that was signed out.
    let (_, body) = app.api_sign_in("jwt", PASSWORD).await;
    let jwt = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.call(Method::POST, "/api/v1/auth/logout", "Bearer", &jwt)
            .await
            .0,
        204
    );
    let (status, body) = app
        .call(Method::GET, "/api/v1/session", "Bearer", &jwt)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("session_ended")),
        "ended sid"
    );
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    let res = api_client()
        .post(app.url("/api/v1/auth/jwt/refresh"))
        .json(&json!({"refresh_token": token}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn refresh_tokens_rotate_and_a_reused_one_ends_the_session(db: TestDb) {
    let app = manual_app(db, &[]).await;
    let (_, body) = app.api_sign_in("jwt", PASSWORD).await;
    let first = body["refresh_token"].as_str().unwrap().to_owned();
    let session = body["session_id"].as_str().unwrap().to_owned();
    app.advance(Duration::from_secs(301));
    let (status, body) = refresh(&app, &first).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session_id"], session.as_str(), "the same session");
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first, "rotated");
    let jwt = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.call(Method::GET, "/api/v1/session", "Bearer", &jwt)
            .await
            .0,
        200
    );
    // The first one again, after `refresh_reuse_grace`: someone copied it. The whole session
    // ends.
    app.advance(Duration::from_secs(11));
    let (status, body) = refresh(&app, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("session_ended"))
    );
    let row = app.session_row(&session).await;
    assert_eq!(row.end_reason.as_deref(), Some("revoked"));
    assert_eq!(row.detail.as_deref(), Some("refresh token reused"));
    assert_eq!(
        app.call(Method::GET, "/api/v1/session", "Bearer", &jwt)
            .await
            .0,
        401
    );
    let (status, _) = refresh(&app, &second).await;
    assert_eq!(status, 401, "the rotated one dies with its session");
    let (status, body) = refresh(&app, "not-a-token").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    // The ended session's refresh tokens (used and unused) are pruned.
    assert_eq!(app.state.engine.api().prune().await.unwrap(), 2);
    assert_eq!(app.state.engine.api().prune().await.unwrap(), 0);
}

async fn tokens_are_stored_only_as_hashes(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, token) = app.api_sign_in("token", PASSWORD).await;
    let (_, jwt) = app.api_sign_in("jwt", PASSWORD).await;
    let secrets = [
        token["token"].as_str().unwrap(),
        jwt["access_token"].as_str().unwrap(),
        jwt["refresh_token"].as_str().unwrap(),
    ];
    let mut stored = String::new();
    for table in ["sessions", "refresh_tokens", "audit_log"] {
        let rows = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(app.state.engine.database().pool())
            .await
            .unwrap();
        for row in rows {
            use sqlx::{Column, Row};
            for column in row.columns() {
                if let Ok(Some(text)) = row.try_get::<Option<String>, _>(column.ordinal()) {
                    stored.push_str(&text);
                    stored.push('\n');
                }
            }
        }
    }
    assert!(stored.contains(&auto_logout::server::secret::hash_secret(secrets[0])));
    for secret in secrets {
        assert!(!stored.contains(secret), "a raw token is in the database");
    }
}

async fn api_sign_in_is_throttled_like_the_page(db: TestDb) {
    let app = spawn_app_env(db, &[("AUTO_LOGOUT_LOGIN_MAX_FAILURES", "3")]).await;
    for _ in 0..3 {
        assert_eq!(app.api_sign_in("token", "wrong password").await.0, 401);
    }
    let res = api_client()
        .post(app.url("/api/v1/auth/jwt"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429, "the right password, throttled");
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
    let throttled = app
        .audit_events(Some(auto_logout::AuditEvent::LoginThrottled))
        .await;
    assert_eq!(throttled.len(), 1);
}

async fn every_instance_on_a_database_accepts_its_jwts(db: TestDb) {
    let shared = db.share();
    let a = spawn_app(db).await;
    let b = spawn_joining(shared, &[]).await;
    let (_, body) = a.api_sign_in("jwt", PASSWORD).await;
    let jwt = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = b.call(Method::GET, "/api/v1/session", "Bearer", &jwt).await;
    assert_eq!(
        (status, body["user"].as_str()),
        (200, Some("alice")),
        "the generated key is shared"
    );
    assert_eq!(
        b.call(Method::POST, "/api/v1/auth/logout", "Bearer", &jwt)
            .await
            .0,
        204
    );
    let (status, _) = a.call(Method::GET, "/api/v1/session", "Bearer", &jwt).await;
    assert_eq!(status, 401, "ended on B, refused on A");
}

/// A page shows the person of a browser session only: with an API client's live token or JWT
/// (and no cookie) every page is an anonymous visitor's, as axum-login, which reads only the
/// cookie, would have it.
async fn an_api_credential_signs_no_page_in(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, token) = app.api_sign_in("token", PASSWORD).await;
    let (_, jwt) = app.api_sign_in("jwt", PASSWORD).await;
    for credential in [&token["token"], &jwt["access_token"]] {
        let credential = credential.as_str().unwrap();
        let page = |path: &str| {
            api_client()
                .get(app.url(path))
                .header("authorization", format!("Bearer {credential}"))
                .send()
        };
        // The credential is live: the API answers for it.
        let (status, _) = app
            .call(Method::GET, "/api/v1/session", "Bearer", credential)
            .await;
        assert_eq!(status, 200);
        let res = page("/home").await.unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), "/sign-in?next=%2Fhome");
        let res = page("/admin/sessions").await.unwrap();
        assert_eq!(res.status(), 303, "sent to sign in, not told 403");
        let res = page("/sign-in").await.unwrap();
        assert_eq!(res.status(), 200, "not sent home");
        let landing = page("/").await.unwrap().text().await.unwrap();
        assert!(landing.contains(r#"href="/sign-in""#), "{landing}");
        assert!(!landing.contains("signed-in-as"), "{landing}");
    }
}
