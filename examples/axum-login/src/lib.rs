//! A small axum + axum-login application that is not Leptos, and the auto-logout engine mounted
//! into it: the engine's session store, its [`SessionLayer`] and its status endpoint. Idle and
//! absolute limits, revocation and the passive status read then hold here exactly as in the
//! auto-logout server.
//!
//! Routes: `POST /login` (JSON `{"username", "password"}`), `POST /logout`, `GET /me` (the
//! signed-in page of this application), `GET /api/session` (passive status read) and
//! `POST /api/session/extend`. The JSON bodies are the CSRF defence of this example: a
//! cross-site form cannot send `application/json` without a CORS preflight.

use auto_logout::{
    cookies::SESSION_COOKIE,
    policy::TimeoutPolicy,
    server::{
        keys::SERVER_KEY, layer::status, sign_out, start_session, AuditLog, AuthSession, Backend,
        ClientInfo, CurrentSession, Database, HashLimiter, Limits, LoginAttempts, PassiveRule,
        SecretKey, SessionGate, SessionLayer, SessionStart, Sessions, SharedClock, SignInDecision,
        SignInGuard, SqlSessionStore, StoreError, Users,
    },
    throttle::ThrottlePolicy,
};
use axum::{
    extract::State,
    http::StatusCode,
    routing::{get, post},
    Extension, Json, Router,
};
use axum_login::AuthManagerLayerBuilder;
use std::time::Duration;
use tower_sessions::{Expiry, SessionManagerLayer};

/// What the handlers share.
#[derive(Clone)]
struct AppState {
    sign_in: SignInGuard,
    gate: SessionGate,
}

/// The example application, ready to serve.
pub struct Example {
    /// The router with every layer.
    pub router: Router,
    /// The engine's gate (for revoking sessions, as an administrator screen would).
    pub gate: SessionGate,
    /// The accounts.
    pub users: Users,
}

/// The limits this example runs with: 15 minutes idle, 8 hours absolute, a warning 1 minute
/// before; the same for every kind of session.
pub fn default_limits() -> Limits {
    let policy = TimeoutPolicy::new(
        Duration::from_secs(15 * 60),
        Duration::from_secs(8 * 3600),
        Duration::from_secs(60),
    );
    Limits::uniform(policy)
}

/// Opens (and migrates) the database at `database_url` and builds the application with these
/// limits and clock.
///
/// # Errors
/// [`StoreError`] when the database cannot be opened or migrated.
pub async fn build(
    database_url: &str,
    limits: Limits,
    clock: SharedClock,
) -> Result<Example, StoreError> {
    let db = Database::connect(database_url).await?;
    db.migrate().await?;
    let key = SecretKey::load_or_create(&db, SERVER_KEY, &clock).await?;
    let users = Users::new(
        db.clone(),
        clock.clone(),
        key.clone(),
        HashLimiter::for_this_machine(),
    );
    let gate = SessionGate::new(Sessions::new(db.clone()), limits, false, clock.clone());
    let throttle = ThrottlePolicy {
        max_per_user: 5,
        max_per_ip: 50,
        window: Duration::from_secs(15 * 60),
    };
    let sign_in = SignInGuard::new(
        users.clone(),
        LoginAttempts::new(db.clone(), key),
        AuditLog::new(db.clone()),
        throttle,
        clock.clone(),
    );

    // axum-login as usual, over the engine's store...
    let sessions = SessionManagerLayer::new(SqlSessionStore::new(db, clock))
        .with_name(SESSION_COOKIE)
        .with_secure(false)
        .with_expiry(Expiry::OnSessionEnd);
    let auth = AuthManagerLayerBuilder::new(Backend::new(users.clone()), sessions).build();
    // ...and the engine's layer outside it: the only lines auto-logout adds to a router.
    let enforce = SessionLayer::new(gate.clone())
        .passive(PassiveRule::new().read("/api/session"))
        .json_api("/api/");

    let router = Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/api/session", get(status::session_status))
        .route("/api/session/extend", post(status::extend_session))
        .layer(auth)
        .layer(enforce)
        .with_state(AppState {
            sign_in,
            gate: gate.clone(),
        });
    Ok(Example {
        router,
        gate,
        users,
    })
}

/// The body of `POST /login`.
#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// `POST /login`: 204 with a session cookie, 401 for wrong credentials, 429 while throttled,
/// 403 at the session limit, 503 when busy or storage fails.
async fn login(
    State(app): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    mut auth: AuthSession,
    Json(login): Json<Login>,
) -> StatusCode {
    let user = match app
        .sign_in
        .sign_in(&login.username, &login.password, &client)
        .await
    {
        Ok(SignInDecision::Accepted(user)) => user,
        Ok(SignInDecision::Rejected) => return StatusCode::UNAUTHORIZED,
        Ok(SignInDecision::Throttled { .. }) => return StatusCode::TOO_MANY_REQUESTS,
        Ok(SignInDecision::Busy { .. }) | Err(_) => return StatusCode::SERVICE_UNAVAILABLE,
    };
    match start_session(&mut auth, &app.gate, &user, false, &client).await {
        Ok(SessionStart::Started) => StatusCode::NO_CONTENT,
        Ok(SessionStart::LimitReached) => StatusCode::FORBIDDEN,
        Ok(SessionStart::AccountChanged) => StatusCode::UNAUTHORIZED,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// `POST /logout`: ends the session (audited) and signs out; 503 if that cannot be recorded.
async fn logout(
    State(app): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    mut auth: AuthSession,
) -> StatusCode {
    match sign_out(&mut auth, &app.gate, &client).await {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// `GET /me`: a page of the application for signed-in people only (401 JSON otherwise).
async fn me(CurrentSession(session): CurrentSession) -> String {
    format!("Signed in as {}", session.username)
}
