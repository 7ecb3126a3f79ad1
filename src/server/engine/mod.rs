//! The engine's front door: one [`Engine`], built by an [`EngineBuilder`] with secure defaults,
//! that owns the object graph (database, clock, keys, accounts, sessions, gate, store, sign-in
//! admission, API tokens, administration, audit), hands out the layers an axum application mounts,
//! runs the background work, and offers each use case as a method with a typed result.
//!
//! ```no_run
//! use auto_logout::server::Engine;
//! use axum::{routing::get, Router};
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::builder()
//!     .database_url("sqlite://data/app.db?mode=rwc")
//!     .idle_limit(Duration::from_secs(15 * 60))
//!     .build()
//!     .await?;
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .merge(engine.status_router())
//!     .layer(engine.layers());
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

mod background;
mod builder;
mod layers;
mod sign_in;

pub use background::{Background, RetentionReport};
pub use builder::{
    default_limits, EngineBuilder, DEFAULT_AUDIT_RETENTION, DEFAULT_IP_RETENTION, DEFAULT_JWT_TTL,
    DEFAULT_REAUTH_WINDOW, DEFAULT_REFRESH_REUSE_GRACE, DEFAULT_SESSION_LIMIT, DEFAULT_THROTTLE,
};
pub use layers::{EngineLayers, WithEngine};
pub use sign_in::SignIn;

use super::{
    account::{self, AccountServices, PasswordChange, PasswordForm},
    admin::Admin,
    adopt::{Account, AccountFollower, Adopted},
    audit::AuditLog,
    backend::{AuthSession, Backend},
    changes::{self, Caches, ChangeFollower},
    clock::{SharedClock, SystemClock},
    db::Database,
    error::StoreError,
    gate::{Limits, SessionGate},
    keys::{SecretKey, SERVER_KEY},
    layer::{status, SessionLayer, SessionService},
    login_attempts::LoginAttempts,
    password::HashLimiter,
    reauth::{Prover, Reauth, Reauthentication},
    rules::{
        account_activity::AccountActivity,
        retention::{Retention, Trimmed},
    },
    session_start::{self, SessionError, SessionStart},
    sessions::{ClientInfo, Sessions},
    storage::retention::RetentionStore,
    store::SqlSessionStore,
    tokens::{ApiAuth, JwtAlgorithm, JwtKeys, KeyRotation, RefreshTokens, RotateError},
    users::{ExternalSync, PasswordCheck, User, Users},
    Admission, SignInDecision,
};
use crate::{
    cookies::CookiePolicy,
    policy::TimeoutPolicy,
    privacy::IpRetention,
    session_limit::{OnMaxSessions, SessionLimit},
    throttle::{ThrottlePolicy, ThrottleScope},
    UnixMillis,
};
use axum::{
    extract::Request,
    routing::{get, post},
    Router,
};
use axum_login::{AuthManagerLayer, AuthManagerLayerBuilder, AuthnBackend};
use ipnet::IpNet;
use std::{
    ops::ControlFlow,
    sync::{Arc, OnceLock},
    time::Duration,
};
use tokio::task::JoinHandle;
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

/// Where [`Engine::status_router`] answers unless [`EngineBuilder::status_path`] says otherwise
/// (SPEC §7).
pub const DEFAULT_STATUS_PATH: &str = crate::forms::SESSION_STATUS;

/// Where the tabs of a status endpoint at `status_path` say what they are doing
/// (`{status_path}/tabs`).
pub fn tabs_path(status_path: &str) -> String {
    format!("{status_path}/tabs")
}

/// Where [`Engine::jwks_router`] publishes the keys that verify JWT access tokens (SPEC §7).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No database was named: call [`EngineBuilder::database_url`] or
    /// [`EngineBuilder::database`].
    #[error(
        "no database: name one with `database_url` (for example sqlite://data/app.db?mode=rwc)"
    )]
    NoDatabase,
    /// The database could not be opened, migrated or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The JWT signing secret is unusable, or contradicts the algorithm.
    #[error("jwt_secret: {0}")]
    JwtKey(String),
    /// The JWT signing keys could not be read or added.
    #[error("the JWT signing keys: {0}")]
    JwtKeys(#[from] RotateError),
}

#[derive(Debug)]
struct Parts {
    db: Database,
    clock: SharedClock,
    users: Users,
    sessions: Sessions,
    gate: SessionGate,
    audit: AuditLog,
    sign_in: Admission,
    store: SqlSessionStore,
    api: ApiAuth,
    admin: Admin,
    reauth: Reauth,
    cookies: CookiePolicy,
    layer: SessionLayer,
    follower: ChangeFollower,
    audit_retention: Duration,
    retention: Retention,
    account_activity: AccountActivity,
    status_path: String,
    /// The background work `build` started; it stops with the last clone of the engine.
    background: OnceLock<Background>,
}

/// The session engine of one application: see the module documentation. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine(Arc<Parts>);

impl Engine {
    /// A builder with the product's defaults.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// An engine with the product's defaults over the database at `url`, migrated, its
    /// background work running: `Engine::builder().database_url(url).build()`.
    ///
    /// # Errors
    /// As [`EngineBuilder::build`].
    pub async fn open(url: &str) -> Result<Self, EngineError> {
        Self::builder().database_url(url).build().await
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.0.db
    }

    /// The clock every rule reads.
    pub fn clock(&self) -> &SharedClock {
        &self.0.clock
    }

    /// The accounts.
    pub fn users(&self) -> &Users {
        &self.0.users
    }

    /// The sessions table.
    pub fn sessions(&self) -> &Sessions {
        &self.0.sessions
    }

    /// Limits, activity and endings of live sessions.
    pub fn gate(&self) -> &SessionGate {
        &self.0.gate
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.0.audit
    }

    /// Who may sign in: password checks, throttling, bounded hashing.
    pub fn admission(&self) -> &Admission {
        &self.0.sign_in
    }

    /// The tower-sessions store (hashed ids, the session limit applied on create).
    pub fn store(&self) -> &SqlSessionStore {
        &self.0.store
    }

    /// API clients: bearer tokens, JWTs and refresh tokens.
    pub fn api(&self) -> &ApiAuth {
        &self.0.api
    }

    /// What administrators may do.
    pub fn admin(&self) -> &Admin {
        &self.0.admin
    }

    /// The re-authentication window for sensitive actions (see [`crate::server::reauth`]).
    pub fn reauth(&self) -> &Reauth {
        &self.0.reauth
    }

    /// A person's own history and "This wasn't me" (see
    /// [`crate::server::rules::account_activity`]).
    pub fn account_activity(&self) -> &AccountActivity {
        &self.0.account_activity
    }

    /// Whether the live session `session` may perform a sensitive action now (its person
    /// proved their password within the window), or must be asked for it first.
    ///
    /// ```no_run
    /// # async fn demo(engine: auto_logout::server::Engine, me: auto_logout::server::ActiveSession)
    /// # -> Result<(), auto_logout::server::StoreError> {
    /// if !engine.sensitive_action(&me).await?.allows() {
    ///     // answer 403 `reauth_required`, or ask for the password in place
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Database errors: refuse the action.
    pub async fn sensitive_action(
        &self,
        session: &super::gate::ActiveSession,
    ) -> Result<crate::reauth::Proof, StoreError> {
        self.0.reauth.check(&session.id_hash).await
    }

    /// Checks `password` for the person of `session` (throttled like a sign-in) and renews the
    /// session's proof when it is right (audit `reauthenticated`).
    ///
    /// # Errors
    /// Database errors: nothing was renewed.
    pub async fn reauthenticate(
        &self,
        session: &super::gate::ActiveSession,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Reauthentication, StoreError> {
        self.0
            .reauth
            .reauthenticate(Prover::from(session), password, client)
            .await
    }

    /// The account signed in on a request's browser session, as the session layer admitted it
    /// (its extensions): what axum-login's `AuthSession` would load, without loading the
    /// session record again. `None` for an anonymous request, an API client's, or an account
    /// deleted or disabled since (see [`crate::server::rules::signed_in`]).
    ///
    /// ```no_run
    /// # async fn demo(engine: auto_logout::server::Engine, req: axum::extract::Request) {
    /// match engine.signed_in_user(req.extensions()).await {
    ///     Ok(Some(user)) => println!("{} is signed in", user.username),
    ///     Ok(None) => println!("nobody is signed in"),
    ///     Err(_) => println!("refuse the request: the database failed"),
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    /// Database errors: refuse the request.
    pub async fn signed_in_user(
        &self,
        extensions: &axum::http::Extensions,
    ) -> Result<Option<User>, StoreError> {
        super::rules::signed_in::signed_in_user(&self.0.users, extensions).await
    }

    /// How the session cookie is sent.
    pub fn cookies(&self) -> CookiePolicy {
        self.0.cookies
    }

    /// tower-sessions' manager over the engine's store, its cookie set from the cookie policy.
    pub fn session_manager(&self) -> SessionManagerLayer<SqlSessionStore> {
        SessionManagerLayer::new(self.0.store.clone())
            .with_name(self.0.cookies.session_name())
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_path("/")
            .with_secure(self.0.cookies.secure)
            .with_expiry(Expiry::OnSessionEnd)
    }

    /// axum-login's layer over [`Engine::session_manager`], authenticating against the
    /// engine's accounts.
    pub fn auth_layer(&self) -> AuthManagerLayer<Backend, SqlSessionStore> {
        AuthManagerLayerBuilder::new(Backend::new(self.0.users.clone()), self.session_manager())
            .build()
    }

    /// The engine's session layer (limits, activity, ended sessions, API credentials), which
    /// goes outside [`Engine::auth_layer`].
    pub fn session_layer(&self) -> SessionLayer {
        self.0.layer.clone()
    }

    /// Everything a router needs, in the right order: the session layer outside axum-login's,
    /// which holds tower-sessions' manager. State changes from another site (or carrying the
    /// session cookie without saying where they came from) are refused with 403 first (see
    /// [`SessionLayer::refuse_cross_site`]). Handlers can take the engine as an
    /// [`crate::server::AutoLogout`] (with the request's client) or `Extension<Engine>`.
    pub fn layers(&self) -> EngineLayers {
        EngineLayers {
            enforce: self.session_layer().refuse_cross_site(),
            engine: self.clone(),
            auth: self.auth_layer(),
        }
    }

    /// [`Engine::layers`] for an application that keeps its own users: axum-login
    /// authenticates with the application's `backend`, adopted by the engine (see
    /// [`crate::server::adopt`]). Handlers then take an [`crate::server::AdoptedSession<B>`] and sign people in
    /// with its `sign_in` ([`Engine::sign_in_with`]).
    pub fn layers_with<B>(&self, backend: B) -> EngineLayers<Adopted<B>>
    where
        B: AuthnBackend,
        B::User: Account,
    {
        EngineLayers {
            enforce: self.session_layer().refuse_cross_site(),
            engine: self.clone(),
            auth: AuthManagerLayerBuilder::new(
                Adopted::new(backend, self.account_follower()),
                self.session_manager(),
            )
            .build(),
        }
    }

    /// The files of the `<auto-logout-countdown>` custom element under `/auto-logout/`, for
    /// pages without Leptos: `<script type="module" src="/auto-logout/countdown.js">` and
    /// `<auto-logout-countdown sign-in="/login"></auto-logout-countdown>`. The element reads
    /// [`Engine::status_router`]'s endpoints, so mount both. Loading the files is passive.
    /// See [`layer::element`](crate::server::layer::element).
    pub fn countdown_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        crate::server::layer::element::router()
    }

    /// The device list's form endpoints (`POST /auto-logout/sessions/revoke` with `id` and
    /// `back`, `POST /auto-logout/sessions/revoke-others` with `back`): sign out one of the
    /// caller's devices, or all others, and go back. CSRF-checked; they work without
    /// JavaScript. See [`layer::device_forms`](crate::server::layer::device_forms).
    pub fn devices_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        crate::server::layer::device_forms::router(self.clone())
    }

    /// Adds a new JWT signing key of the configured algorithm and retires the previous one
    /// one `jwt_ttl` from now, when every token it signed has expired; from then on its tokens
    /// are refused (SPEC §8 `server keys rotate`). Every instance on the database uses the
    /// new key within about a second. With a root secret the new key is derived from it and
    /// the database stores only its id.
    ///
    /// # Errors
    /// [`RotateError::FixedSecret`] when JWTs are signed with a configured `jwt_secret`;
    /// [`RotateError::Store`] when the database fails (nothing changed then).
    pub async fn rotate_jwt_keys(&self) -> Result<KeyRotation, RotateError> {
        self.0.api.jwt().rotate(self.0.clock.now()).await
    }

    /// The algorithm of the JWT signing keys this engine adds.
    pub fn jwt_algorithm(&self) -> JwtAlgorithm {
        self.0.api.jwt().algorithm()
    }

    /// The JWK Set of the public keys that verify access tokens now (each with `kid`, `alg`
    /// and `use: sig`): empty with HS256, whose secrets are never published.
    pub async fn jwks(&self) -> crate::server::tokens::JwkSet {
        self.0.api.jwt().jwks(self.0.clock.now()).await
    }

    /// The answer of `GET` [`JWKS_PATH`]: [`Engine::jwks`] as JSON, `Cache-Control:
    /// no-cache` (a client must see a rotation at once).
    pub async fn jwks_response(&self) -> axum::response::Response {
        use axum::response::IntoResponse;
        (
            [(axum::http::header::CACHE_CONTROL, "no-cache")],
            axum::Json(self.jwks().await),
        )
            .into_response()
    }

    /// `GET` [`JWKS_PATH`] (`/.well-known/jwks.json`): the public keys that verify this
    /// engine's access tokens ([`Engine::jwks_response`]), so that another service checks
    /// them without sharing a secret. Needs no credential; mount it where the session layer
    /// treats it as passive.
    pub fn jwks_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let engine = self.clone();
        Router::new().route(
            JWKS_PATH,
            get(move || {
                let engine = engine.clone();
                async move { engine.jwks_response().await }
            }),
        )
    }

    /// `GET {status_path}`, the caller's session status (a passive read: it never moves the
    /// idle deadline), `POST {status_path}/extend`, "stay signed in" (activity), and `POST
    /// {status_path}/tabs`, what a tab says for `end_with_last_tab` (passive,
    /// [`status::hear_tabs`]); 401 JSON without a live session. See
    /// [`EngineBuilder::status_path`].
    pub fn status_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let path = self.0.status_path.as_str();
        let engine = self.clone();
        Router::new()
            .route(path, get(status::session_status))
            .route(&format!("{path}/extend"), post(status::extend_session))
            .route(
                &tabs_path(path),
                post(
                    move |current: crate::server::CurrentSession, body: axum::body::Bytes| async move {
                        status::hear_tabs(&engine, current, body).await
                    },
                ),
            )
    }

    /// Takes in what a tab of `session` said about itself (`end_with_last_tab`, see
    /// [`crate::last_tab`]). Returns whether the rule applies to the session; a session it
    /// does not apply to ignores its tabs.
    ///
    /// # Errors
    /// Database errors.
    pub async fn hear_tabs(
        &self,
        session: &crate::server::gate::ActiveSession,
        signal: crate::last_tab::TabSignal,
    ) -> Result<bool, StoreError> {
        self.0.gate.hear_tabs(&session.id_hash, signal).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ManualClock;
    use axum::body::Body;
    use tower::ServiceExt;

    const T0: UnixMillis = UnixMillis(1_800_000_000_000);

    async fn engine(
        dir: &tempfile::TempDir,
        clock: &ManualClock,
        builder: EngineBuilder,
    ) -> Result<Engine, EngineError> {
        builder
            .database_url(format!(
                "sqlite://{}/engine.db?mode=rwc",
                dir.path().display()
            ))
            .clock(Arc::new(clock.clone()))
            .background(false)
            .build()
            .await
    }

    /// `GET /.well-known/jwks.json` from the engine's router: the `Cache-Control` and the kids.
    async fn published(engine: &Engine) -> (String, Vec<String>) {
        let res = engine
            .jwks_router::<()>()
            .oneshot(Request::get(JWKS_PATH).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let set: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let kids = set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect();
        (cache, kids)
    }

    #[tokio::test]
    async fn the_jwks_router_publishes_the_keys_a_rotation_leaves_verifying() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let builder = Engine::builder().jwt_algorithm(JwtAlgorithm::EdDsa);
        let engine = engine(&dir, &clock, builder).await.unwrap();
        assert_eq!(engine.jwt_algorithm(), JwtAlgorithm::EdDsa);
        let (cache, before) = published(&engine).await;
        assert_eq!((cache.as_str(), before.len()), ("no-cache", 1));
        let rotation = engine.rotate_jwt_keys().await.unwrap();
        assert_eq!(rotation.retiring[0].kid, before[0]);
        assert_eq!(rotation.retiring[0].retire_at, T0.plus(DEFAULT_JWT_TTL));
        let (_, mut both) = published(&engine).await;
        both.sort();
        let mut expected = vec![before[0].clone(), rotation.kid.clone()];
        expected.sort();
        assert_eq!(
            both, expected,
            "both verify (made in the same millisecond: any order)"
        );
        clock.advance(DEFAULT_JWT_TTL);
        assert_eq!(published(&engine).await.1, [rotation.kid]);
    }

    #[tokio::test]
    async fn a_jwt_secret_signs_hs256_only_and_cannot_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let secret = "a jwt secret of at least thirty-two characters";
        let err = engine(
            &dir,
            &clock,
            Engine::builder()
                .jwt_secret(secret)
                .jwt_algorithm(JwtAlgorithm::Es256),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("HS256") && err.contains("ES256"), "{err}");
        let engine = engine(&dir, &clock, Engine::builder().jwt_secret(secret))
            .await
            .unwrap();
        assert!(matches!(
            engine.rotate_jwt_keys().await,
            Err(RotateError::FixedSecret)
        ));
        assert!(published(&engine).await.1.is_empty(), "never published");
    }
}
