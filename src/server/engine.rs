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
    keys::{SecretKey, JWT_KEY, SERVER_KEY},
    layer::{status, SessionLayer, SessionService},
    login_attempts::LoginAttempts,
    password::HashLimiter,
    session_start::{self, SessionError, SessionStart},
    sessions::{ClientInfo, Sessions},
    store::SqlSessionStore,
    tokens::{ApiAuth, JwtKeys, RefreshTokens},
    users::{ExternalSync, PasswordCheck, User, Users},
    Admission, SignInDecision,
};
use crate::{
    cookies::CookiePolicy,
    policy::TimeoutPolicy,
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
pub const DEFAULT_STATUS_PATH: &str = "/api/v1/session";

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
    /// The JWT signing secret is unusable.
    #[error("jwt_secret: {0}")]
    JwtKey(String),
}

/// A layer customisation applied to the engine's [`SessionLayer`] when it is built.
type LayerSetting = Box<dyn FnOnce(SessionLayer) -> SessionLayer + Send>;

/// Builds an [`Engine`]; every setting has a default, only the database must be named.
///
/// The defaults are the product's (SPEC §3): 10 minutes idle and 1 hour absolute for ordinary
/// sessions, 7 and 30 days with "Remember me", 1 and 30 days for API clients, administrators
/// as ordinary sessions; sessions bound to their user agent; at most 5 failed sign-ins per
/// account and 50 per address in 15 minutes; no session limit per person; the session cookie
/// without `Secure` (say [`EngineBuilder::secure_cookies`] behind HTTPS); keys generated and kept
/// in the database; the real clock.
#[must_use = "an engine builder does nothing until `build` is awaited"]
pub struct EngineBuilder {
    database_url: Option<String>,
    database: Option<Database>,
    migrate: bool,
    clock: SharedClock,
    limits: Limits,
    bind_user_agent: bool,
    throttle: ThrottlePolicy,
    session_limit: SessionLimit,
    cookies: CookiePolicy,
    trusted_proxies: Vec<IpNet>,
    secret_key: Option<SecretKey>,
    jwt_secret: Option<Vec<u8>>,
    jwt_ttl: Duration,
    hashing: Option<HashLimiter>,
    audit_retention: Duration,
    layer_settings: Vec<LayerSetting>,
    status_path: String,
    background: bool,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("limits", &self.limits)
            .field("bind_user_agent", &self.bind_user_agent)
            .field("throttle", &self.throttle)
            .field("session_limit", &self.session_limit)
            .field("cookies", &self.cookies)
            .finish_non_exhaustive()
    }
}

/// The product's default limits (SPEC §3).
pub fn default_limits() -> Limits {
    let warn = Duration::from_secs(60);
    let normal = TimeoutPolicy::new(
        Duration::from_secs(10 * 60),
        Duration::from_secs(3600),
        warn,
    );
    Limits {
        normal,
        remember: TimeoutPolicy::new(
            Duration::from_secs(7 * 86_400),
            Duration::from_secs(30 * 86_400),
            warn,
        ),
        admin: normal,
        api: TimeoutPolicy::new(
            Duration::from_secs(86_400),
            Duration::from_secs(30 * 86_400),
            warn,
        ),
    }
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self {
            database_url: None,
            database: None,
            migrate: true,
            clock: Arc::new(SystemClock),
            limits: default_limits(),
            bind_user_agent: true,
            throttle: ThrottlePolicy {
                max_per_user: 5,
                max_per_ip: 50,
                window: Duration::from_secs(15 * 60),
            },
            session_limit: SessionLimit {
                max: 0,
                on_max: OnMaxSessions::EndOldest,
            },
            cookies: CookiePolicy::default(),
            trusted_proxies: Vec::new(),
            secret_key: None,
            jwt_secret: None,
            jwt_ttl: Duration::from_secs(5 * 60),
            hashing: None,
            audit_retention: Duration::from_secs(400 * 86_400),
            layer_settings: Vec::new(),
            status_path: DEFAULT_STATUS_PATH.to_owned(),
            background: true,
        }
    }
}

impl EngineBuilder {
    /// Opens the database at `url` (`sqlite://…` or `postgres://…`) when built.
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// Uses an already open database.
    pub fn database(mut self, db: Database) -> Self {
        self.database = Some(db);
        self
    }

    /// Whether `build` applies the migrations first (default: yes).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// The clock every rule reads (tests inject a [`super::ManualClock`]).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Every limit at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The idle limit of ordinary browser sessions and of administrators'.
    pub fn idle_limit(mut self, idle: Duration) -> Self {
        self.limits.normal.idle = Some(idle).filter(|d| !d.is_zero());
        self.limits.admin.idle = self.limits.normal.idle;
        self
    }

    /// The absolute limit of ordinary browser sessions and of administrators'.
    pub fn session_limit_time(mut self, absolute: Duration) -> Self {
        self.limits.normal.absolute = Some(absolute).filter(|d| !d.is_zero());
        self.limits.admin.absolute = self.limits.normal.absolute;
        self
    }

    /// Whether a session presented by another user agent than its own is suspended (default:
    /// yes).
    pub fn bind_user_agent(mut self, bind: bool) -> Self {
        self.bind_user_agent = bind;
        self
    }

    /// How many failed sign-ins are allowed, per account and per address, in what window.
    pub fn throttle(mut self, policy: ThrottlePolicy) -> Self {
        self.throttle = policy;
        self
    }

    /// At most this many live sessions per person, and what a sign-in beyond does.
    pub fn max_sessions(mut self, limit: SessionLimit) -> Self {
        self.session_limit = limit;
        self
    }

    /// Send the session cookie with `Secure` and the `__Host-` name (the site is HTTPS).
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.cookies.secure = secure;
        self
    }

    /// Proxies whose `X-Forwarded-For` is believed for the client's address.
    pub fn trusted_proxies(mut self, nets: Vec<IpNet>) -> Self {
        self.trusted_proxies = nets;
        self
    }

    /// A root secret every key is derived from (nothing is then stored in the database).
    pub fn secret_key(mut self, key: SecretKey) -> Self {
        self.secret_key = Some(key);
        self
    }

    /// The HMAC secret JWTs are signed with (default: a key derived or stored like the others).
    pub fn jwt_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.jwt_secret = Some(secret.into());
        self
    }

    /// How long a JWT access token lives.
    pub fn jwt_ttl(mut self, ttl: Duration) -> Self {
        self.jwt_ttl = ttl;
        self
    }

    /// How many password hashes may run at once and wait (default: sized to this machine).
    pub fn password_hashing(mut self, limiter: HashLimiter) -> Self {
        self.hashing = Some(limiter);
        self
    }

    /// How long audit rows are kept (zero: for ever); pruned by the background work.
    pub fn audit_retention(mut self, retention: Duration) -> Self {
        self.audit_retention = retention;
        self
    }

    /// Adjusts the session layer the engine builds (passive paths, JSON API prefixes, open
    /// paths, the ended-session message); see [`SessionLayer`].
    pub fn configure_layer(
        mut self,
        setting: impl FnOnce(SessionLayer) -> SessionLayer + Send + 'static,
    ) -> Self {
        self.layer_settings.push(Box::new(setting));
        self
    }

    /// Where [`Engine::status_router`] answers (default [`DEFAULT_STATUS_PATH`]): `GET` there
    /// is a passive read, `POST {path}/extend` is activity, and both are JSON.
    pub fn status_path(mut self, path: impl Into<String>) -> Self {
        self.status_path = path.into();
        self
    }

    /// Whether `build` starts the background work (default: yes), for as long as the engine
    /// lives: see [`Engine::spawn_background`]. Without it, start it yourself.
    pub fn background(mut self, run: bool) -> Self {
        self.background = run;
        self
    }

    /// Opens (and migrates) the database, loads or creates the keys, wires every part and
    /// starts the background work. Call it inside a Tokio runtime.
    ///
    /// # Errors
    /// [`EngineError`] naming what failed.
    pub async fn build(self) -> Result<Engine, EngineError> {
        let db = match (self.database, self.database_url) {
            (Some(db), _) => db,
            (None, Some(url)) => Database::connect(&url).await?,
            (None, None) => return Err(EngineError::NoDatabase),
        };
        if self.migrate {
            db.migrate().await?;
        }
        let clock = self.clock;
        let root = self.secret_key.as_ref();
        let key = SecretKey::resolve(&db, root, SERVER_KEY, &clock).await?;
        let users = Users::new(
            db.clone(),
            clock.clone(),
            key.clone(),
            self.hashing.unwrap_or_else(HashLimiter::for_this_machine),
        );
        let sessions = Sessions::new(db.clone());
        let gate = SessionGate::new(
            sessions.clone(),
            self.limits,
            self.bind_user_agent,
            clock.clone(),
        );
        let audit = AuditLog::new(db.clone());
        let sign_in = Admission::new(
            users.clone(),
            LoginAttempts::new(db.clone(), key),
            audit.clone(),
            self.throttle,
            clock.clone(),
        );
        let store = SqlSessionStore::new(db.clone(), clock.clone()).with_session_limit(
            self.session_limit,
            gate.clone(),
            audit.clone(),
        );
        let jwt_secret = match self.jwt_secret {
            Some(secret) => secret,
            None => SecretKey::resolve(&db, root, JWT_KEY, &clock)
                .await?
                .as_bytes()
                .to_vec(),
        };
        let jwt = JwtKeys::new(&jwt_secret, self.jwt_ttl)
            .map_err(|e| EngineError::JwtKey(e.to_string()))?
            .with_registry(RefreshTokens::new(db.clone()));
        let api = ApiAuth::new(
            sign_in.clone(),
            store.clone(),
            gate.clone(),
            RefreshTokens::new(db.clone()),
            jwt.clone(),
        );
        let admin = Admin::new(users.clone(), sessions.clone(), gate.clone(), audit.clone());
        let mut layer = SessionLayer::new(gate.clone())
            .cookies(self.cookies)
            .trusted_proxies(self.trusted_proxies)
            .jwt(jwt);
        for setting in self.layer_settings {
            layer = setting(layer);
        }
        let layer = layer
            .passive_read(self.status_path.clone())
            .json_api(self.status_path.clone());
        let follower = ChangeFollower::start(
            db.clone(),
            Caches::new(gate.clone(), store.clone(), users.clone()),
        )
        .await?;
        let engine = Engine(Arc::new(Parts {
            db,
            clock,
            users,
            sessions,
            gate,
            audit,
            sign_in,
            store,
            api,
            admin,
            cookies: self.cookies,
            layer,
            follower,
            audit_retention: self.audit_retention,
            status_path: self.status_path,
            background: OnceLock::new(),
        }));
        if self.background {
            let tasks = engine.spawn_background();
            let _ = engine.0.background.set(tasks);
        }
        Ok(engine)
    }
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
    cookies: CookiePolicy,
    layer: SessionLayer,
    follower: ChangeFollower,
    audit_retention: Duration,
    status_path: String,
    /// The background work `build` started; it stops with the last clone of the engine.
    background: OnceLock<Background>,
}

/// The session engine of one application: see the module documentation. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine(Arc<Parts>);

/// The outcome of [`Engine::sign_in`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in: the session is stored and the response carries its new cookie.
    Started(User),
    /// Wrong username or password, or the account changed while it was checked; audited.
    /// Never says which.
    Rejected,
    /// Refused unchecked after too many failures; audited `login_throttled`.
    Throttled {
        /// Which count is over its limit.
        scope: ThrottleScope,
        /// When an attempt will be allowed again.
        until: UnixMillis,
        /// Whole seconds to wait, for `Retry-After`.
        retry_after_secs: u64,
    },
    /// Too many password checks are under way; nothing was checked or counted.
    Busy {
        /// Whole seconds to wait, for `Retry-After`.
        retry_after_secs: u64,
    },
    /// The person is at the session limit and new sessions are refused (audited).
    LimitReached,
}

/// The layers [`Engine::layers`] and [`Engine::layers_with`] hand out: the engine's session
/// layer around axum-login's (which holds tower-sessions' manager over the engine's store),
/// authenticating with `B`.
#[derive(Debug, Clone)]
pub struct EngineLayers<B: AuthnBackend = Backend> {
    enforce: SessionLayer,
    engine: Engine,
    auth: AuthManagerLayer<B, SqlSessionStore>,
}

impl<S, B: AuthnBackend> tower::Layer<S> for EngineLayers<B> {
    type Service = SessionService<
        WithEngine<<AuthManagerLayer<B, SqlSessionStore> as tower::Layer<S>>::Service>,
    >;

    fn layer(&self, inner: S) -> Self::Service {
        self.enforce.layer(WithEngine {
            inner: self.auth.layer(inner),
            engine: self.engine.clone(),
        })
    }
}

/// Puts the engine into every request's extensions (for [`super::AutoLogout`]).
#[derive(Debug, Clone)]
pub struct WithEngine<S> {
    inner: S,
    engine: Engine,
}

impl<S, B> tower::Service<Request<B>> for WithEngine<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.engine.clone());
        self.inner.call(req)
    }
}

/// The engine's background tasks; dropping this stops them.
#[derive(Debug)]
pub struct Background(Vec<JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

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
    /// which holds tower-sessions' manager; handlers can take the engine as an
    /// [`super::AutoLogout`] (with the request's client) or `Extension<Engine>`.
    pub fn layers(&self) -> EngineLayers {
        EngineLayers {
            enforce: self.session_layer(),
            engine: self.clone(),
            auth: self.auth_layer(),
        }
    }

    /// [`Engine::layers`] for an application that keeps its own users: axum-login
    /// authenticates with the application's `backend`, adopted by the engine (see
    /// [`super::adopt`]). Handlers then take an [`super::AdoptedSession<B>`] and sign people in
    /// with its `sign_in` ([`Engine::sign_in_with`]).
    pub fn layers_with<B>(&self, backend: B) -> EngineLayers<Adopted<B>>
    where
        B: AuthnBackend,
        B::User: Account,
    {
        EngineLayers {
            enforce: self.session_layer(),
            engine: self.clone(),
            auth: AuthManagerLayerBuilder::new(
                Adopted::new(backend, self.account_follower()),
                self.session_manager(),
            )
            .build(),
        }
    }

    /// What keeps the engine's rows for an application's accounts in step (see
    /// [`super::adopt`]).
    pub fn account_follower(&self) -> AccountFollower {
        AccountFollower::new(
            self.0.users.clone(),
            self.0.gate.clone(),
            self.0.audit.clone(),
        )
    }

    /// Brings the engine's row for the application's account `user` up to date at once
    /// (see [`AccountFollower::follow`]): call it when the application changes a password or
    /// disables an account, to end its sessions without waiting for its next request.
    ///
    /// # Errors
    /// Storage errors; nothing ended then.
    pub async fn account_changed<U: Account>(&self, user: &U) -> Result<ExternalSync, StoreError> {
        self.account_follower().follow(user).await
    }

    /// [`Engine::sign_in`] for an application that keeps its own users: `credentials` are
    /// checked by the application's backend (throttled by `username` and the client's address,
    /// bounded like the engine's own password checks, audited), and a session is started for
    /// the account it names.
    ///
    /// # Errors
    /// [`SessionError`] when storage or the application's backend fails: nobody is signed in.
    pub async fn sign_in_with<B>(
        &self,
        auth: &mut axum_login::AuthSession<Adopted<B>>,
        username: String,
        credentials: B::Credentials,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<SignIn, SessionError>
    where
        B: AuthnBackend,
        B::User: Account,
    {
        let backend = auth.backend.inner().clone();
        let mut checked: Option<B::User> = None;
        let found = &mut checked;
        let decision = self
            .0
            .sign_in
            .sign_in_checked(&username, client, |permit| async {
                let user = backend
                    .authenticate(credentials)
                    .await
                    .map_err(|e| StoreError::Application(e.to_string()))?;
                drop(permit);
                Ok(match user {
                    Some(user) => {
                        let local = self.account_changed(&user).await?.user().clone();
                        *found = Some(user);
                        PasswordCheck::Correct(local)
                    }
                    None => match self.0.users.find_by_username(&username).await? {
                        Some(local) if local.is_external() => PasswordCheck::Wrong(local),
                        _ => PasswordCheck::NoSuchUser,
                    },
                })
            })
            .await?;
        let (local, user) = match (self.decided(decision), checked) {
            (ControlFlow::Continue(local), Some(user)) => (local, user),
            (ControlFlow::Continue(_), None) => return Ok(SignIn::Rejected),
            (ControlFlow::Break(refused), _) => return Ok(refused),
        };
        self.start(auth, &local, &user, remember, client).await
    }

    /// The accepted account of `decision` to go on with, or what to answer instead.
    fn decided(&self, decision: SignInDecision) -> ControlFlow<SignIn, User> {
        match decision {
            SignInDecision::Accepted(user) => ControlFlow::Continue(user),
            SignInDecision::Rejected => ControlFlow::Break(SignIn::Rejected),
            SignInDecision::Throttled {
                scope,
                until,
                retry_after_secs,
            } => ControlFlow::Break(SignIn::Throttled {
                scope,
                until,
                retry_after_secs,
            }),
            SignInDecision::Busy { retry_after_secs } => {
                ControlFlow::Break(SignIn::Busy { retry_after_secs })
            }
        }
    }

    /// Starts the session of an accepted sign-in of `local` (axum-login remembers `login_as`).
    async fn start<B: AuthnBackend>(
        &self,
        auth: &mut axum_login::AuthSession<B>,
        local: &User,
        login_as: &B::User,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<SignIn, SessionError> {
        Ok(
            match session_start::start_session_as(
                auth,
                &self.0.gate,
                local,
                login_as,
                remember,
                client,
            )
            .await?
            {
                SessionStart::Started => SignIn::Started(local.clone()),
                SessionStart::LimitReached => SignIn::LimitReached,
                SessionStart::AccountChanged => SignIn::Rejected,
            },
        )
    }

    /// `GET {status_path}`, the caller's session status (a passive read: it never moves the
    /// idle deadline), and `POST {status_path}/extend`, "stay signed in" (activity); 401 JSON
    /// without a live session. See [`EngineBuilder::status_path`].
    pub fn status_router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let path = self.0.status_path.as_str();
        Router::new()
            .route(path, get(status::session_status))
            .route(&format!("{path}/extend"), post(status::extend_session))
    }

    /// Checks `username` and `password` (throttled, bounded, audited) and, when they are
    /// right, starts a session on `auth` with a fresh id ("Remember me" with `remember`).
    ///
    /// # Errors
    /// [`SessionError`] when storage fails: nobody is signed in, answer 503.
    pub async fn sign_in(
        &self,
        auth: &mut AuthSession,
        username: &str,
        password: &str,
        remember: bool,
        client: &ClientInfo,
    ) -> Result<SignIn, SessionError> {
        let decision = self.0.sign_in.sign_in(username, password, client).await?;
        match self.decided(decision) {
            ControlFlow::Continue(user) => self.start(auth, &user, &user, remember, client).await,
            ControlFlow::Break(refused) => Ok(refused),
        }
    }

    /// Changes the signed-in person's own password after checking the current one (throttled
    /// like a sign-in); see [`super::account`]. Audited `password_changed` (and `revoked` for
    /// each other session); this session stays signed in under a new id.
    ///
    /// # Errors
    /// [`SessionError`] when storage fails (nothing is reported as changed then).
    pub async fn change_own_password(
        &self,
        auth: &mut AuthSession,
        form: PasswordForm<'_>,
        client: &ClientInfo,
    ) -> Result<PasswordChange, SessionError> {
        let services = AccountServices {
            admission: &self.0.sign_in,
            admin: &self.0.admin,
            gate: &self.0.gate,
            store: &self.0.store,
        };
        account::change_own_password(auth, services, form, client).await
    }

    /// Ends the caller's session (audited `logout`) and signs it out; `Ok(false)` when nobody
    /// was signed in.
    ///
    /// # Errors
    /// [`SessionError`] when the end could not be recorded; the session stays as it was.
    pub async fn sign_out<B: AuthnBackend>(
        &self,
        auth: &mut axum_login::AuthSession<B>,
        client: &ClientInfo,
    ) -> Result<bool, SessionError> {
        session_start::sign_out(auth, &self.0.gate, client).await
    }

    /// Starts the background work on the current runtime (what [`EngineBuilder::build`] does
    /// unless told [`EngineBuilder::background`]`(false)`): the change follower (changes made
    /// by other instances and the command line reach this one's caches), the expiry sweep
    /// (every second), the writing of throttled attempts' counts (every 5 seconds) and, every
    /// minute, the pruning of old sign-in attempts, of refresh tokens of ended sessions, of the
    /// change log and of audit rows past the retention. Dropping the handle stops it all.
    pub fn spawn_background(&self) -> Background {
        let mut tasks = vec![self.follow_changes()];
        tasks.append(&mut self.spawn_sweeps().0);
        Background(tasks)
    }

    /// Only the change follower of [`Engine::spawn_background`].
    pub fn follow_changes(&self) -> JoinHandle<()> {
        tokio::spawn(self.0.follower.clone().run())
    }

    /// [`Engine::spawn_background`] without the change follower.
    pub fn spawn_sweeps(&self) -> Background {
        let sweep = tokio::spawn(self.0.gate.clone().sweep_forever(Duration::from_secs(1)));
        let counts = self.0.sign_in.clone();
        let flush = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                if let Err(err) = counts.flush_throttle_audit().await {
                    tracing::warn!(error = %err, "writing throttled attempts' counts failed");
                }
            }
        });
        // Not a clone of the engine: the engine's own background work must not keep it alive.
        let parts = Arc::downgrade(&self.0);
        let prune = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                let Some(parts) = parts.upgrade() else { return };
                Engine(parts).prune_once().await;
            }
        });
        Background(vec![sweep, flush, prune])
    }

    /// One round of the minute's pruning (see [`Engine::spawn_background`]); failures are
    /// logged and retried next round.
    pub async fn prune_once(&self) {
        let parts = &self.0;
        let now = parts.clock.now();
        if !parts.audit_retention.is_zero() {
            match parts.audit.prune(now.minus(parts.audit_retention)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "pruned audit rows past audit_retention"),
                Err(err) => tracing::warn!(error = %err, "pruning the audit log failed"),
            }
        }
        if let Err(err) = parts.sign_in.prune().await {
            tracing::warn!(error = %err, "pruning old sign-in attempts failed");
        }
        if let Err(err) = parts.api.prune().await {
            tracing::warn!(error = %err, "pruning refresh tokens of ended sessions failed");
        }
        if let Err(err) = changes::prune(&parts.db, now).await {
            tracing::warn!(error = %err, "pruning the change log failed");
        }
    }
}
