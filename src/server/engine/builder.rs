//! Building an [`Engine`]: its settings, their defaults, and the wiring of its parts.

use super::*;

/// A layer customisation applied to the engine's [`SessionLayer`] when it is built.
type LayerSetting = Box<dyn FnOnce(SessionLayer) -> SessionLayer + Send>;

/// Builds an [`Engine`]; every setting has a default, only the database must be named.
///
/// The defaults are the product's (SPEC §3): 10 minutes idle and 1 hour absolute for ordinary
/// sessions, 7 and 30 days with "Remember me", 1 and 30 days for API clients, administrators
/// as ordinary sessions; sessions bound to their user agent; at most 5 failed sign-ins per
/// account and 50 per address in 15 minutes; no session limit per person; the session cookie
/// without `Secure` (say [`EngineBuilder::secure_cookies`] behind HTTPS); keys generated and kept
/// in the database; JWTs signed with HS256 keys that rotate; the real clock.
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
    jwt_algorithm: JwtAlgorithm,
    jwt_ttl: Duration,
    hashing: Option<HashLimiter>,
    audit_retention: Duration,
    ip_retention: Duration,
    reauth_window: Duration,
    provision_jwt_keys: bool,
    app_password_check: Option<crate::server::reauth::AppPasswordCheck>,
    refresh_reuse_grace: Duration,
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

/// The product's default sign-in throttle (SPEC §3): 5 failures per account and 50 per
/// address in 15 minutes.
pub const DEFAULT_THROTTLE: ThrottlePolicy = ThrottlePolicy {
    max_per_user: 5,
    max_per_ip: 50,
    window: Duration::from_secs(15 * 60),
};

/// The product's default session limit per person (SPEC §3): none.
pub const DEFAULT_SESSION_LIMIT: SessionLimit = SessionLimit {
    max: 0,
    on_max: OnMaxSessions::EndOldest,
};

/// How long a JWT access token lives unless said otherwise (SPEC §3 `jwt_ttl`).
pub const DEFAULT_JWT_TTL: Duration = Duration::from_secs(5 * 60);

/// How long audit rows are kept unless said otherwise (SPEC §3 `audit_retention`).
pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(400 * 86_400);

/// How long whole IP addresses and user agents are kept unless said otherwise (SPEC §3
/// `ip_retention`).
pub const DEFAULT_IP_RETENTION: Duration = Duration::from_secs(30 * 86_400);

/// How recently a person must have proved their password for a sensitive action unless said
/// otherwise (SPEC §3 `reauth_window`).
pub const DEFAULT_REAUTH_WINDOW: Duration = Duration::from_secs(10 * 60);

/// How long a used refresh token still gets the same successor unless said otherwise (SPEC §3
/// `refresh_reuse_grace`).
pub const DEFAULT_REFRESH_REUSE_GRACE: Duration =
    crate::server::tokens::refresh::DEFAULT_REUSE_GRACE;

/// The product's default limits (SPEC §3).
pub fn default_limits() -> Limits {
    let warn = Duration::from_secs(60);
    let normal = TimeoutPolicy::new(
        Duration::from_secs(10 * 60),
        Duration::from_secs(3600),
        warn,
    );
    Limits {
        normal: normal.clone(),
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
            throttle: DEFAULT_THROTTLE,
            session_limit: DEFAULT_SESSION_LIMIT,
            cookies: CookiePolicy::default(),
            trusted_proxies: Vec::new(),
            secret_key: None,
            jwt_secret: None,
            jwt_algorithm: JwtAlgorithm::default(),
            jwt_ttl: DEFAULT_JWT_TTL,
            hashing: None,
            audit_retention: DEFAULT_AUDIT_RETENTION,
            ip_retention: DEFAULT_IP_RETENTION,
            reauth_window: DEFAULT_REAUTH_WINDOW,
            provision_jwt_keys: true,
            app_password_check: None,
            refresh_reuse_grace: DEFAULT_REFRESH_REUSE_GRACE,
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

    /// The clock every rule reads (tests inject a [`crate::server::ManualClock`]).
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

    /// How long before the first limit of a browser session the countdown warns (every
    /// browser class; API sessions have no countdown).
    pub fn warn_before(mut self, lead: Duration) -> Self {
        for policy in [
            &mut self.limits.normal,
            &mut self.limits.remember,
            &mut self.limits.admin,
        ] {
            policy.warn_before = lead;
        }
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

    /// One fixed HMAC secret that signs every JWT (HS256), instead of the keys the engine
    /// keeps in its `jwt_keys` table and rotates (the default). It is never published and
    /// cannot be rotated by [`Engine::rotate_jwt_keys`]: change it on every instance instead.
    /// It works only with [`JwtAlgorithm::Hs256`] (see [`EngineBuilder::jwt_algorithm`]).
    pub fn jwt_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.jwt_secret = Some(secret.into());
        self
    }

    /// The algorithm of the JWT signing keys the engine adds (default
    /// [`JwtAlgorithm::Hs256`]). With an asymmetric one ([`JwtAlgorithm::EdDsa`],
    /// [`JwtAlgorithm::Es256`]) the public keys are published by [`Engine::jwks_router`], so
    /// that another service verifies access tokens without sharing a secret. Changing it
    /// adds a key of the new algorithm when the engine is built; the previous key retires
    /// one `jwt_ttl` later. Each key keeps its own algorithm: a token is checked only against
    /// the algorithm of the key its `kid` names.
    pub fn jwt_algorithm(mut self, algorithm: JwtAlgorithm) -> Self {
        self.jwt_algorithm = algorithm;
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

    /// How long ended sessions and audit rows keep whole IP addresses and user agents (zero:
    /// for ever); after it, the background work keeps only their networks (/24, /48) and
    /// parsed devices ([`crate::server::rules::retention`]). Default [`DEFAULT_IP_RETENTION`].
    pub fn ip_retention(mut self, retention: Duration) -> Self {
        self.ip_retention = retention;
        self
    }

    /// How recently a person must have proved their password (at sign-in, or again through
    /// [`Engine::reauthenticate`]) for a sensitive action: changing their password or email,
    /// signing out their other devices, any administrator action. Zero turns the check off.
    pub fn reauth_window(mut self, window: Duration) -> Self {
        self.reauth_window = window;
        self
    }

    /// Whether `build` adds a JWT signing key when none of the configured algorithm is usable
    /// (default: yes). A tool that signs no token (a command line sharing the servers'
    /// database) says no, so that a configuration of its own never rotates the servers' keys;
    /// [`Engine::rotate_jwt_keys`] still rotates when asked.
    pub fn provision_jwt_keys(mut self, provision: bool) -> Self {
        self.provision_jwt_keys = provision;
        self
    }

    /// How the engine checks the password of an application's own accounts when their person
    /// re-authenticates for a sensitive action (see [`crate::server::adopt`]): `check(id,
    /// password)` says whether it is right, `id` being the application's own id of the account
    /// (its `AuthUser::id`, as text). Throttled and audited like the engine's own checks.
    /// Without it, adopted accounts are never asked for their password again.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), auto_logout::server::EngineError> {
    /// use auto_logout::server::Engine;
    /// let engine = Engine::builder()
    ///     .database_url("sqlite://data/app.db?mode=rwc")
    ///     .app_password_check(|id: String, password: String| async move {
    ///         // look the account up in the application's own table and verify its hash
    ///         Ok::<bool, String>(id == "42" && password == "correct horse")
    ///     })
    ///     .build()
    ///     .await?;
    /// # let _ = engine; Ok(()) }
    /// ```
    pub fn app_password_check<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn(String, String) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<bool, String>> + Send + 'static,
    {
        self.app_password_check = Some(std::sync::Arc::new(move |username, password| {
            Box::pin(check(username, password))
        }));
        self
    }

    /// How long after its first use a refresh token presented again (a mobile client's
    /// parallel requests) gets the same successor instead of ending its session as stolen.
    /// Zero: every repeat ends the session.
    pub fn refresh_reuse_grace(mut self, grace: Duration) -> Self {
        self.refresh_reuse_grace = grace;
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
    /// is a passive read, `POST {path}/extend` is activity, `POST {path}/tabs` is passive, and
    /// all are JSON.
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
        let refresh = RefreshTokens::new(db.clone(), &key, self.refresh_reuse_grace);
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
        let jwt = match self.jwt_secret {
            Some(_) if self.jwt_algorithm != JwtAlgorithm::Hs256 => {
                return Err(EngineError::JwtKey(format!(
                    "a `jwt_secret` is an HMAC secret and signs HS256 only, not {alg}: unset \
                     `jwt_secret` to sign with {alg} keys (generated, or derived from \
                     `secret_key`), or use HS256",
                    alg = self.jwt_algorithm
                )))
            }
            Some(secret) => JwtKeys::new(&secret, self.jwt_ttl)
                .map_err(|e| EngineError::JwtKey(e.to_string()))?,
            None => {
                JwtKeys::open_with(
                    db.clone(),
                    self.secret_key.clone(),
                    self.jwt_algorithm,
                    self.jwt_ttl,
                    clock.now(),
                    self.provision_jwt_keys,
                )
                .await?
            }
        }
        .with_registry(refresh.clone());
        let api = ApiAuth::new(
            sign_in.clone(),
            store.clone(),
            gate.clone(),
            refresh,
            jwt.clone(),
        );
        let admin = Admin::new(users.clone(), sessions.clone(), gate.clone(), audit.clone());
        let mut reauth = Reauth::new(
            self.reauth_window,
            sessions.clone(),
            users.clone(),
            sign_in.clone(),
            clock.clone(),
        );
        if let Some(check) = self.app_password_check {
            reauth = reauth.with_app_check(check);
        }
        let mut layer = SessionLayer::new(gate.clone())
            .cookies(self.cookies)
            .trusted_proxies(self.trusted_proxies)
            .jwt(jwt.clone());
        for setting in self.layer_settings {
            layer = setting(layer);
        }
        let layer = layer
            .passive_read(self.status_path.clone())
            .passive_path(super::tabs_path(&self.status_path))
            .passive_prefix(crate::server::layer::element::ELEMENT_FILES)
            .json_api(self.status_path.clone());
        let follower = ChangeFollower::start(
            db.clone(),
            Caches::new(gate.clone(), store.clone(), users.clone()).with_jwt(jwt.clone()),
        )
        .await?;
        let db_for_retention = db.clone();
        let account_activity = AccountActivity::new(audit.clone(), users.clone(), gate.clone());
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
            reauth,
            cookies: self.cookies,
            layer,
            follower,
            audit_retention: self.audit_retention,
            retention: Retention::new(
                RetentionStore::new(db_for_retention),
                IpRetention(self.ip_retention),
            ),
            account_activity,
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
