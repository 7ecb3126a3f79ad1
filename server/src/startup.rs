//! Building and running the server: database, migrations, router, listener.

use crate::{
    config::Config,
    state::{AppState, Shared},
    telemetry,
    web::{
        account_form, activity_form, admin_forms, api_doc,
        assets::{Bundle, BundleOrApp},
        auth_routes,
        compress::{Compress, CompressLayer},
        edge::EdgeLayer,
        login_scope::LoginScope,
        page_render,
        request_rules::{RequestRules, RequestRulesLayer},
        routes,
        security_headers::{self, SecurityHeadersLayer},
    },
};
use app::{routes::Page, shell, Shell};
use auto_logout::forms::{ACCOUNT_PASSWORD, ADMIN_SIGN_OUT_ALL, NOT_ME};
use auto_logout::server::{
    layer::{device_forms, SessionLayer, SessionService},
    telemetry::LiveSessionGauges,
    AccountError, Actor, Admin, Background, Database, Engine, EngineBuilder, EngineError,
    SharedClock, StoreError, Users,
};
use axum::{
    routing::{get, post},
    Extension, Router, ServiceExt,
};
use leptos_axum::LeptosRoutes;
use std::{
    net::SocketAddr,
    sync::{Arc, OnceLock},
};
use tokio::net::TcpListener;
use tower::{Layer, ServiceBuilder};

/// The demo account created on first start with `demo_account`.
pub const DEMO_USERNAME: &str = "demo";
/// Its password (printed at start-up and in the README).
pub const DEMO_PASSWORD: &str = "auto-logout-demo";

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source} (is another server running there?)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The engine could not be built (its keys, its change log).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The demo account could not be made, or its published password retired.
    #[error("the demo account: {0}")]
    Demo(#[from] AccountError),
    /// Leptos' settings are unusable.
    #[error("Leptos configuration error: {0}")]
    Leptos(String),
}

/// A server bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: AppService,
    state: AppState,
    sweeps: OnceLock<Background>,
}

/// Opens the database named in `config` and applies migrations.
pub async fn open_database(config: &Config) -> Result<Database, StoreError> {
    let db = Database::connect(&config.database_url).await?;
    db.migrate().await?;
    Ok(db)
}

/// The engine as `config` describes it (limits, throttle, session limit, cookies, proxies,
/// keys), over the database `db` and this clock; the session layer knows this server's
/// passive requests, JSON API, server functions and open paths.
pub fn engine_builder(config: &Config, db: Database, clock: SharedClock) -> EngineBuilder {
    let mut builder = Engine::builder()
        .database(db)
        .migrate(false)
        // The server starts its own: the change follower while it serves, the sweeps when told.
        .background(false)
        .clock(clock)
        .limits(config.limits())
        .bind_user_agent(config.bind_user_agent)
        .throttle(config.throttle())
        .max_sessions(config.session_limit())
        .secure_cookies(config.cookie_secure)
        .trusted_proxies(config.trusted_proxies.clone())
        .jwt_ttl(config.jwt_ttl)
        .jwt_algorithm(config.jwt_algorithm)
        .audit_retention(config.audit_retention)
        .ip_retention(config.ip_retention)
        .reauth_window(config.reauth_window)
        .refresh_reuse_grace(config.refresh_reuse_grace)
        .status_path(STATUS_PATH)
        .configure_layer({
            let message = config.message.clone();
            move |layer| configure_session_layer(layer, message)
        });
    if let Some(key) = &config.secret_key {
        builder = builder.secret_key(key.clone());
    }
    if let Some(secret) = &config.jwt_secret {
        builder = builder.jwt_secret(secret.as_bytes());
    }
    builder
}

impl Application {
    /// Opens the database, applies migrations, creates the demo account when there are no
    /// users and `demo_account` is on (else says how to create the first administrator), and
    /// binds `config.site_addr` (port 0 picks a free port).
    ///
    /// # Errors
    /// [`StartError`] naming what failed.
    pub async fn build(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        telemetry::prometheus();
        let db = open_database(&config).await?;
        let engine = engine_builder(&config, db, clock).build().await?;
        let users = engine.users();
        if users.count().await? == 0 {
            if config.demo_account {
                users.create(DEMO_USERNAME, DEMO_PASSWORD, false).await?;
                tracing::info!(
                    "created the demo account: username `{DEMO_USERNAME}`, password `{DEMO_PASSWORD}`"
                );
                println!("Demo account: username `{DEMO_USERNAME}`, password `{DEMO_PASSWORD}`");
            } else {
                tracing::warn!(
                    "there are no accounts yet: create the first administrator with \
                     `server user add NAME --admin`"
                );
                println!(
                    "No accounts yet. Create the first administrator with: server user add NAME --admin"
                );
            }
        }
        if !config.demo_account {
            retire_demo_password(users, engine.admin()).await?;
        }
        let listener = TcpListener::bind(config.site_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.site_addr,
                source,
            })?;
        let mut leptos_options = leptos::config::get_configuration(None)
            .map_err(|e| StartError::Leptos(e.to_string()))?
            .leptos_options;
        leptos_options.site_addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.site_addr,
            source,
        })?;
        leptos_options.site_root = config.site_root.to_string_lossy().into();
        let bundle = Bundle::load(
            config.site_root.join(leptos_options.site_pkg_dir.as_ref()),
            leptos_options.output_name.to_string(),
        )
        .await;
        // Pages refer to the bundle by its content-hashed name (see `web::assets`).
        leptos_options.output_name = bundle.versioned_name().into();
        let live_sessions = LiveSessionGauges::new(
            engine.sessions().clone(),
            LiveSessionGauges::DEFAULT_MAX_AGE,
        );
        let state = AppState::new(Shared {
            engine,
            config: Arc::new(config),
            leptos_options,
            bundle,
            live_sessions,
        });
        let router = router(state.clone());
        Ok(Self {
            listener,
            router,
            state,
            sweeps: OnceLock::new(),
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The shared state (database, clock, configuration), e.g. for tests.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Starts the background expiry sweep (every second), the writing of throttled attempts'
    /// counts to their audit rows (every 5 seconds) and, every minute, the pruning of sign-in
    /// attempts that no longer count, of refresh tokens of ended sessions, of old change-log
    /// rows and of audit rows older than `audit_retention`, and the trimming of client details
    /// older than `ip_retention`, on the current runtime, for as long as the process runs.
    pub fn spawn_sweep(&self) {
        // Kept until the server stops (`run_until` returns); a second call starts nothing.
        self.sweeps.get_or_init(|| self.state.engine.spawn_sweeps());
    }

    /// Serves requests until `shutdown` completes, then finishes in-flight requests. Changes
    /// made elsewhere (other instances, the command line) reach this server's caches meanwhile.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The Host check comes first: a request for another host never reaches anything else.
        let app = EdgeLayer::new(self.state.config.allowed_hosts.clone()).layer(self.router);
        // Around everything, the security headers of every answer (see `web::security_headers`).
        let options = &self.state.leptos_options;
        let app = SecurityHeadersLayer::new(
            self.state.config.cookie_secure,
            options.reload_external_port.unwrap_or(options.reload_port),
        )
        .layer(app);
        let changes = self.state.engine.follow_changes();
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        changes.abort();
        served
    }
}

/// Without `demo_account`, an account `demo` that still has the published demo password (made
/// by an earlier version, or by `make dev` on this database) gets a random password instead:
/// no server answers to a password printed in the README unless asked to.
async fn retire_demo_password(users: &Users, admin: &Admin) -> Result<(), AccountError> {
    // Only an existing `demo` is worth a password check (an unknown name would still cost a
    // full hash against the dummy, at every start).
    if users.find_by_username(DEMO_USERNAME).await?.is_none()
        || !matches!(
            users.check(DEMO_USERNAME, DEMO_PASSWORD).await?,
            auto_logout::server::users::PasswordCheck::Correct(_)
        )
    {
        return Ok(());
    }
    let mut random = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
    // Like any password change: audited `password_changed` (the server itself as actor), and
    // every session of the account ends (SPEC §6), audited `revoked`.
    admin
        .change_password(&Actor::default(), DEMO_USERNAME, &hex::encode(random))
        .await?;
    tracing::warn!(
        "the account `{DEMO_USERNAME}` had the published demo password; it now has a random \
         one (set one with `server user passwd {DEMO_USERNAME}`, or start with \
         AUTO_LOGOUT_DEMO_ACCOUNT=true for the demo)"
    );
    Ok(())
}

/// The settings the browser is told (SPEC §3).
pub fn public_settings(config: &Config) -> auto_logout::PublicSettings {
    auto_logout::PublicSettings {
        message: config.message.clone(),
        warn_before_ms: i64::try_from(config.warn_before.as_millis()).unwrap_or(i64::MAX),
        redirect_to_login_immediately: config.redirect_to_login_immediately,
        client_activity: config.client_activity,
    }
}

/// What every page render gets in its context: the state, the public settings, the gate and
/// the cookie policy.
pub fn page_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let state = state.clone();
    let settings = public_settings(&state.config);
    move || {
        leptos::context::provide_context(state.clone());
        leptos::context::provide_context(settings.clone());
        leptos::context::provide_context(state.engine.clone());
        leptos::context::provide_context(state.engine.gate().clone());
        leptos::context::provide_context(state.config.cookies());
        leptos::context::provide_context(state.engine.admin().clone());
        // The page's inline scripts carry this render's nonce: its policy must allow it.
        security_headers::report_page_nonce();
    }
}

/// The app's pages, each at its path for `GET`, rendered by [`page_render`] once their data is
/// ready. The app picks the page from the path itself ([`app::routes::Page`]), so the list
/// is not generated by walking a router (which also raised a process-wide flag that could
/// hang renders running meanwhile, leptos#4773).
fn with_pages(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    let context = page_context(state);
    // One shell for every page: the head is rendered once.
    let shell = Shell::new(state.leptos_options.clone());
    Page::ALL.into_iter().fold(router, |router, page| {
        let shell = shell.clone();
        let render = page_render::handler(context.clone(), move || shell.view());
        router.route(page.path(), get(render))
    })
}

pub use crate::web::routes::{passive_rule, STATUS_PATH};

/// The engine's session layer as this server configures it: the route table's passive
/// requests, JSON API, server functions and paths that ignore credentials, and the
/// ended-session message (cookie, proxies and JWT keys come from the engine).
fn configure_session_layer(layer: SessionLayer, ended_message: String) -> SessionLayer {
    routes::configure_session_layer(layer).ended_message(ended_message)
}

/// The complete router: pages, form endpoints, health, with the session and security layers.
pub fn router(state: AppState) -> AppService {
    let auth_layer = state.engine.auth_layer();

    // The not-found page renders with the pages' context (its nonce; see `page_context`).
    let not_found = leptos_axum::file_and_error_handler_with_context::<AppState, _>(
        page_context(&state),
        shell,
    );
    let pages_and_api = with_pages(Router::new(), &state)
        .route("/sign-in", post(auth_routes::sign_in))
        .route("/logout", post(auth_routes::logout))
        .route("/healthz", get(|| async { "ok" }))
        // The console's first page (its guard, like every admin page's, ran before).
        .route(
            "/admin",
            get(|| async { axum::response::Redirect::to("/admin/sessions") }),
        )
        .route("/metrics", get(telemetry::metrics_text))
        .merge(api_doc::router())
        // <auto-logout-countdown>, for pages of other applications on this host.
        .merge(state.engine.countdown_router())
        // The device list's forms: the engine's handlers (a sensitive action asks for the
        // password in place), at this server's own paths.
        .route(
            "/sessions/revoke",
            post(device_forms::revoke).layer(Extension(state.engine.clone())),
        )
        .route(
            "/sessions/revoke-others",
            post(device_forms::revoke_others).layer(Extension(state.engine.clone())),
        )
        .route(ADMIN_SIGN_OUT_ALL, post(admin_forms::sign_out_all))
        .route("/admin/sessions/end", post(admin_forms::end_session))
        .route("/admin/users/create", post(admin_forms::create_user))
        .route("/admin/users/{action}", post(admin_forms::user_action))
        .route("/admin/activity.csv", get(admin_forms::activity_csv))
        .route(ACCOUNT_PASSWORD, post(admin_forms::change_password))
        .route(NOT_ME, post(activity_form::not_me))
        .route(
            account_form::ACCOUNT_PAGE,
            post(account_form::update_profile),
        )
        // The server functions the pages call, with the pages' context (no page routes:
        // `with_pages` registered those).
        .leptos_routes_with_context(&state, Vec::new(), page_context(&state), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(not_found)
        // The layers below wrap the router once, not each route: they see the route it
        // matched on the answer.
        .layer(telemetry::RouteOnAnswerLayer)
        .with_state(state.clone());

    // The layers, outermost first: a request passes them top-down, its answer bottom-up.
    // They wrap the router once (not each route). `web::edge` (allowed hosts, trailing
    // slashes) wraps all of this; see `run_until`.
    let app = ServiceBuilder::new()
        // CSRF, no-store, error shapes, the request's log span, latency (see `web::request_rules`).
        .layer(RequestRulesLayer::new(state.config.cookies()))
        // The engine's session rules: limits, activity, ended sessions made anonymous.
        .layer(state.engine.session_layer())
        // The page access rules and the engine's signed-in person for pages, forms and server
        // functions; axum-login over tower-sessions and the engine's store only for those that
        // may sign someone in or out (see `web::login_scope`).
        .service(LoginScope::new(
            auth_layer,
            pages_and_api,
            state.engine.clone(),
        ));
    // Pages, JSON and a bundle without pre-compressed files, compressed when the client
    // accepts it (brotli or gzip; small answers are not worth it; see `web::compress`).
    // The client bundle needs no session and may be cached (see `web::assets`).
    CompressLayer.layer(BundleOrApp::new(state.bundle.router(), app))
}

/// The application as one service: compression around the bundle's files beside the session
/// and security layers over the router (see [`router`]).
pub type AppService = Compress<BundleOrApp<RequestRules<SessionService<LoginScope>>>>;
