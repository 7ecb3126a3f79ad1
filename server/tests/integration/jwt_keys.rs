//! Signing keys that rotate (SPEC §7, §8): every JWT names its key in `kid`; `server keys
//! rotate` adds a key that every instance on the database uses, and retires the old one one
//! `jwt_ttl` later, after which its tokens are refused; with EdDSA or ES256 the public keys are
//! published at `/.well-known/jwks.json`, where a JWKS client crate verifies our access tokens
//! without any shared secret. On SQLite and PostgreSQL, with hand-moved clocks for the
//! retirement (only the change log's propagation between instances is waited for, briefly).

use crate::common::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use std::{
    process::{Command, Output},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

db_tests!(
    the_default_hs256_keys_carry_a_kid_and_publish_nothing,
    a_jwks_client_verifies_our_eddsa_tokens,
    a_jwks_client_verifies_our_es256_tokens,
    a_rotation_reaches_every_instance_and_a_retired_key_stops_verifying,
    keys_rotate_reports_what_it_did_and_refuses_a_fixed_secret,
    with_a_secret_key_the_database_holds_no_jwt_key,
    unknown_kids_cost_no_database_read_per_request,
    a_command_run_with_another_configuration_leaves_the_keys_alone,
);

const APP_UA: &str = "auto-logout-jwks-test/1.0";

fn real_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A server with a hand-moved clock (starting now) and these settings.
async fn manual(db: TestDb, env: &[(&'static str, &str)], second_instance: bool) -> TestApp {
    spawn_app_with(
        db,
        Spawn {
            manual_clock_at: Some(real_now_ms()),
            env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            second_instance,
        },
    )
    .await
}

fn api_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(APP_UA)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs `alice` in for a JWT on `app`: the access token and the session's id.
async fn jwt_sign_in(app: &TestApp) -> (String, String) {
    let res = api_client()
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

/// Signs `alice` in for a JWT on `app`: the access token.
async fn jwt_of(app: &TestApp) -> String {
    jwt_sign_in(app).await.0
}

/// `GET /api/v1/session` with the bearer `token`: the status and the error code, if any.
async fn status_with(app: &TestApp, token: &str) -> (u16, Option<String>) {
    let res = api_client()
        .get(app.url("/api/v1/session"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body["error"].as_str().map(str::to_owned))
}

/// A JWT's header, decoded.
fn header_of(token: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap()
}

fn kid_of(token: &str) -> String {
    header_of(token)["kid"].as_str().expect("a kid").to_owned()
}

/// `GET /.well-known/jwks.json` from a client without cookies or credentials.
async fn jwks_of(app: &TestApp) -> Value {
    let res = api_client()
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    // Never kept by a cache: a client must see a rotation at once (the engine says
    // `no-cache`; this server marks every answer of its router `no-store`).
    let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cache == "no-cache" || cache == "no-store", "{cache}");
    res.json().await.unwrap()
}

fn published_kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits (at most 5 s) until `app` publishes exactly `kids`: another writer's change reaches
/// a running server through the change log.
async fn until_published(app: &TestApp, kids: &[&str]) {
    let start = Instant::now();
    loop {
        let published = published_kids(&jwks_of(app).await);
        if published == kids {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{} still publishes {published:?}, not {kids:?}",
            app.address
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `server keys rotate` on the database `url`, with these settings.
fn keys_rotate(url: &str, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["keys", "rotate"])
        .env("DATABASE_URL", url)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the server binary")
}

/// Verifies `token` as another service would: fetches our JWKS with a JWKS client crate, takes
/// the key the token's `kid` names, and checks the signature and `exp` with it.
async fn verified_by_a_jwks_client(app: &TestApp, token: &str) -> Value {
    let jwks = jwks::Jwks::from_jwks_url(app.url("/.well-known/jwks.json"))
        .await
        .expect("the JWKS client reads our JWK Set");
    let header = jsonwebtoken_jwks::decode_header(token).unwrap();
    let key = jwks
        .keys
        .get(header.kid.as_deref().expect("a kid"))
        .expect("the token's key is published");
    let alg = key.alg.expect("the key says its algorithm");
    let mut validation = jsonwebtoken_jwks::Validation::new(alg.to_string().parse().unwrap());
    validation.set_required_spec_claims(&["exp", "sub"]);
    jsonwebtoken_jwks::decode::<Value>(token, &key.decoding_key, &validation)
        .expect("the JWKS client accepts our token")
        .claims
}

async fn the_default_hs256_keys_carry_a_kid_and_publish_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let token = jwt_of(&app).await;
    let header = header_of(&token);
    assert_eq!(header["alg"], "HS256");
    assert_eq!(kid_of(&token).len(), 16, "{header}");
    assert_eq!(status_with(&app, &token).await.0, 200);
    // The HMAC secret is never published.
    assert_eq!(jwks_of(&app).await, json!({"keys": []}));
    // Reading it needs no credential, and a bad one sent along does not matter.
    let res = api_client()
        .get(app.url("/.well-known/jwks.json"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Our tokens of `algorithm` pass a JWKS client; its key is published as `kty`/`crv`; an
/// HS256 token keyed with that public key is refused.
async fn a_jwks_client_verifies_tokens_of(db: TestDb, algorithm: &str, kty: &str, crv: &str) {
    let app = manual(db, &[("AUTO_LOGOUT_JWT_ALGORITHM", algorithm)], false).await;
    let (token, sid) = jwt_sign_in(&app).await;
    assert_eq!(header_of(&token)["alg"], algorithm);
    assert_eq!(status_with(&app, &token).await.0, 200);
    let jwks = jwks_of(&app).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{jwks}");
    let key = &keys[0];
    assert_eq!(
        (&key["kty"], &key["crv"], &key["alg"], &key["use"]),
        (&json!(kty), &json!(crv), &json!(algorithm), &json!("sig")),
        "{key}"
    );
    assert_eq!(key["kid"], kid_of(&token));
    assert!(
        key.get("d").is_none(),
        "no private part is published: {key}"
    );

    let claims = verified_by_a_jwks_client(&app, &token).await;
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["sub"], app.user("alice").await.id.to_string());

    // The same claims as an HS256 token keyed with the published public key, naming it.
    let x = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap();
    let payload = token.split('.').nth(1).unwrap();
    for secret in [x, key.to_string().into_bytes()] {
        let head = URL_SAFE_NO_PAD
            .encode(json!({"alg": "HS256", "typ": "JWT", "kid": key["kid"]}).to_string());
        let message = format!("{head}.{payload}");
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &jsonwebtoken::EncodingKey::from_secret(&secret).unwrap(),
            jsonwebtoken::Algorithm::HS256,
        )
        .unwrap();
        let forged = format!("{message}.{signature}");
        assert_eq!(
            status_with(&app, &forged).await,
            (401, Some("invalid_token".to_owned())),
            "alg confusion"
        );
        let none = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": key["kid"]}).to_string())
        );
        assert_eq!(status_with(&app, &none).await.0, 401, "alg none");
    }
    // The genuine token still works.
    assert_eq!(status_with(&app, &token).await.0, 200);
}

async fn a_jwks_client_verifies_our_eddsa_tokens(db: TestDb) {
    a_jwks_client_verifies_tokens_of(db, "EdDSA", "OKP", "Ed25519").await;
}

async fn a_jwks_client_verifies_our_es256_tokens(db: TestDb) {
    a_jwks_client_verifies_tokens_of(db, "ES256", "EC", "P-256").await;
}

async fn a_rotation_reaches_every_instance_and_a_retired_key_stops_verifying(db: TestDb) {
    let url = db.url.clone();
    let shared = db.share();
    // Tokens live 10 minutes here; the command line below retires keys after 5.
    let env = [
        ("AUTO_LOGOUT_JWT_ALGORITHM", "EdDSA"),
        ("AUTO_LOGOUT_JWT_TTL", "10m"),
    ];
    let a = manual(db, &env, false).await;
    let b = manual(shared, &env, true).await;
    let advance = |by: Duration| {
        a.clock.as_ref().unwrap().advance(by);
        b.clock.as_ref().unwrap().advance(by);
    };
    let old = jwt_of(&a).await;
    let first = kid_of(&old);
    assert_eq!(status_with(&b, &old).await.0, 200, "the key is shared");
    assert_eq!(
        published_kids(&jwks_of(&b).await),
        std::slice::from_ref(&first)
    );

    let out = keys_rotate(
        &url,
        &[
            ("AUTO_LOGOUT_JWT_ALGORITHM", "EdDSA"),
            ("AUTO_LOGOUT_JWT_TTL", "5m"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = stdout
        .lines()
        .find_map(|line| line.strip_prefix("new JWT signing key "))
        .and_then(|rest| rest.strip_suffix(" (EdDSA)"))
        .unwrap_or_else(|| panic!("no new key in {stdout:?}"))
        .to_owned();
    assert!(
        stdout.contains(&format!("key {first} retires at "))
            && stdout.contains("(after jwt_ttl, 5m)"),
        "{stdout}"
    );

    // Both servers read the change and publish both keys; new tokens name the new key.
    until_published(&a, &[&first, &second]).await;
    until_published(&b, &[&first, &second]).await;
    let new = jwt_of(&a).await;
    assert_eq!(kid_of(&new), second);
    let from_b = jwt_of(&b).await;
    assert_eq!(kid_of(&from_b), second);
    for app in [&a, &b] {
        for token in [&old, &new, &from_b] {
            assert_eq!(status_with(app, token).await.0, 200);
        }
    }

    // Past the old key's retirement (5 minutes after the rotation, give or take the seconds
    // this test took), but before the old token's own `exp` (10 minutes): refused everywhere.
    advance(Duration::from_secs(400));
    for app in [&a, &b] {
        assert_eq!(
            status_with(app, &old).await,
            (401, Some("invalid_token".to_owned())),
            "a retired key's token on {}",
            app.address
        );
        assert_eq!(status_with(app, &new).await.0, 200);
        assert_eq!(
            published_kids(&jwks_of(app).await),
            std::slice::from_ref(&second)
        );
    }
}

async fn keys_rotate_reports_what_it_did_and_refuses_a_fixed_secret(db: TestDb) {
    let app = spawn_app(db).await;
    let url = app.state.engine.database().url().to_owned();
    let before = jwt_of(&app).await;
    let out = keys_rotate(&url, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("new JWT signing key "), "{stdout}");
    assert!(stdout.contains("(HS256)"), "{stdout}");
    assert!(
        stdout.contains(&format!("key {} retires at ", kid_of(&before))) && stdout.contains("UTC"),
        "{stdout}"
    );
    // With a fixed `jwt_secret` there is nothing the server can rotate: it says so, and fails.
    let out = keys_rotate(
        &url,
        &[(
            "AUTO_LOGOUT_JWT_SECRET",
            "a test secret of at least thirty-two characters",
        )],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("jwt_secret") && stderr.contains("cannot rotate"),
        "{stderr}"
    );
    assert!(!stderr.contains("thirty-two"), "the secret is not echoed");
    // A configuration that contradicts itself fails before touching anything.
    let out = keys_rotate(
        &url,
        &[
            (
                "AUTO_LOGOUT_JWT_SECRET",
                "a test secret of at least thirty-two characters",
            ),
            ("AUTO_LOGOUT_JWT_ALGORITHM", "EdDSA"),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("jwt_algorithm"));
    let out = keys_rotate(&url, &[("AUTO_LOGOUT_JWT_ALGORITHM", "RS256")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("AUTO_LOGOUT_JWT_ALGORITHM") && stderr.contains("RS256"),
        "{stderr}"
    );
}

async fn with_a_secret_key_the_database_holds_no_jwt_key(db: TestDb) {
    const ROOT: &str = "an operator's root secret, at least 32 characters";
    let shared = db.share();
    let env = [
        ("AUTO_LOGOUT_SECRET_KEY", ROOT),
        ("AUTO_LOGOUT_JWT_ALGORITHM", "ES256"),
    ];
    let a = manual(db, &env, false).await;
    a.state.engine.rotate_jwt_keys().await.unwrap();
    let token = jwt_of(&a).await;
    use sqlx::Row;
    let rows = sqlx::query("SELECT kid, material FROM jwt_keys")
        .fetch_all(a.state.engine.database().pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert!(
            row.try_get::<Option<String>, _>("material")
                .unwrap()
                .is_none(),
            "only the key's id is stored"
        );
    }
    // Another instance with the same root secret derives the same keys.
    let b = manual(shared, &env, true).await;
    assert_eq!(status_with(&b, &token).await.0, 200);
    assert_eq!(jwks_of(&a).await, jwks_of(&b).await);
    verified_by_a_jwks_client(&b, &token).await;
}

async fn unknown_kids_cost_no_database_read_per_request(db: TestDb) {
    let app = manual(db, &[("AUTO_LOGOUT_JWT_ALGORITHM", "EdDSA")], false).await;
    let token = jwt_of(&app).await;
    let payload = token.split('.').nth(1).unwrap().to_owned();
    let signature = token.split('.').nth(2).unwrap().to_owned();
    let keys = app.state.engine.api().jwt().clone();
    let loads = keys.loads();
    for i in 0..100 {
        let head = URL_SAFE_NO_PAD
            .encode(json!({"alg": "EdDSA", "kid": format!("random-{i}")}).to_string());
        let forged = format!("{head}.{payload}.{signature}");
        assert_eq!(
            status_with(&app, &forged).await,
            (401, Some("invalid_token".to_owned()))
        );
    }
    // One read for the first unknown kid; on PostgreSQL perhaps one more, when the change
    // listener's connection made every cache stale at start. Not one per request.
    assert!(
        keys.loads() <= loads + 2,
        "{} reads of the key table for 100 unknown kids",
        keys.loads() - loads
    );
    assert_eq!(status_with(&app, &token).await.0, 200);
}

/// The command line signs no JWT: run from a shell without the servers' `jwt_algorithm`, it
/// must not turn their EdDSA keys into HS256 ones (nor add a key of its own).
async fn a_command_run_with_another_configuration_leaves_the_keys_alone(db: TestDb) {
    let app = manual(db, &[("AUTO_LOGOUT_JWT_ALGORITHM", "EdDSA")], false).await;
    let (token, _) = jwt_sign_in(&app).await;
    let before = jwks_of(&app).await;
    let out = run_cli(&["user", "list"], &app.state.config.database_url, "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.state
        .engine
        .api()
        .jwt()
        .reload(app.state.engine.clock().now())
        .await
        .unwrap();
    assert_eq!(jwks_of(&app).await, before);
    assert_eq!(status_with(&app, &token).await.0, 200);
    let (fresh, _) = jwt_sign_in(&app).await;
    assert_eq!(header_of(&fresh)["alg"], "EdDSA");
}
