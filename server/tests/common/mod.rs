//! Test helpers: a real server on a free port, a fresh database per test (SQLite in a temp
//! folder, or a new PostgreSQL database when `TEST_POSTGRES_URL` is set), and an HTTP client
//! that keeps cookies and does not follow redirects.

#![allow(dead_code)]

use auto_logout::server::{Database, ManualClock, SharedClock, SystemClock};
use reqwest::{header, redirect::Policy, Client, Response};
use server::{config::Config, startup::Application, state::AppState};
use std::{sync::Arc, time::Duration};

/// The password of the account every test gets.
pub const PASSWORD: &str = "correct horse battery";
/// A desktop Chrome user agent.
pub const CHROME_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/// Firefox on Linux.
pub const FIREFOX_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
/// Safari on an iPhone.
pub const IPHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// A database made for one test.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    _dir: Option<std::sync::Arc<tempfile::TempDir>>,
}

impl TestDb {
    /// The same database again, for a second server instance.
    pub fn share(&self) -> Self {
        Self {
            url: self.url.clone(),
            _dir: self._dir.clone(),
        }
    }
}

impl TestDb {
    /// A new SQLite file in a temporary folder.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
        Self {
            url,
            _dir: Some(std::sync::Arc::new(dir)),
        }
    }

    /// A new, empty PostgreSQL database, or `None` when `TEST_POSTGRES_URL` is unset.
    /// The first call in a test process drops the databases of test processes that have
    /// ended, so that they do not pile up (hundreds of them made PostgreSQL's checkpoints
    /// take minutes and stall commits for tens of seconds).
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("TEST_POSTGRES_URL").ok()?;
        let name = format!("auto_logout_test_{}", rand_suffix());
        let admin = Database::connect(&admin_url)
            .await
            .expect("connect to TEST_POSTGRES_URL");
        drop_databases_of_ended_runs(&admin).await;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(admin.pool())
            .await
            .expect("create test database");
        admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Some(Self {
            url: url.to_string(),
            _dir: None,
        })
    }
}

/// Drops `auto_logout_test_<pid>_…` databases whose process is gone (once per process).
async fn drop_databases_of_ended_runs(admin: &Database) {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    use sqlx::Row;
    let Ok(rows) =
        sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE 'auto_logout_test_%'")
            .fetch_all(admin.pool())
            .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String, _>("datname") else {
            continue;
        };
        let pid = name.split('_').nth(3).unwrap_or_default();
        let ended = !pid.is_empty() && !std::path::Path::new(&format!("/proc/{pid}")).exists();
        if ended && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(admin.pool())
                .await;
        }
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000_000)
}

/// A running server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// Its state (database, clock).
    pub state: AppState,
    /// The clock, when the test controls it.
    pub clock: Option<ManualClock>,
    /// The account's username.
    pub username: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _db: TestDb,
}

/// Options for [`spawn_app_with`].
#[derive(Default)]
pub struct Spawn {
    /// Extra environment-style settings, e.g. `("AUTO_LOGOUT_IDLE_TIME", "2s")`.
    pub env: Vec<(&'static str, String)>,
    /// Use a hand-moved clock starting at this many ms.
    pub manual_clock_at: Option<i64>,
    /// Join a database another test server already set up (do not create `alice`).
    pub second_instance: bool,
}

/// A server on a free port with a fresh database and the account `alice`.
pub async fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_with(db, Spawn::default()).await
}

/// Two instances on one database: A as [`spawn_app`] starts it, B a second instance
/// (`Spawn::second_instance`).
pub async fn spawn_two_instances(db: TestDb) -> (TestApp, TestApp) {
    let shared = db.share();
    let a = spawn_app(db).await;
    let b = spawn_app_with(
        shared,
        Spawn {
            second_instance: true,
            ..Spawn::default()
        },
    )
    .await;
    (a, b)
}

/// Reads with `read` until what it reads passes `done`, for 5 s at most (every 50 ms);
/// whether it did.
pub async fn eventually<T, F, Fut>(mut read: F, done: impl Fn(&T) -> bool) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if done(&read().await) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Like [`spawn_app`], with these settings (environment names and values).
pub async fn spawn_app_env(db: TestDb, env: &[(&'static str, &str)]) -> TestApp {
    let env = env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    spawn_app_with(
        db,
        Spawn {
            env,
            ..Spawn::default()
        },
    )
    .await
}

/// A server on a database that is already set up (another instance's, a restart's, or one
/// that must stay without accounts): no `alice` is created. `env` as in [`spawn_app_env`].
pub async fn spawn_joining(db: TestDb, env: &[(&'static str, &str)]) -> TestApp {
    spawn_app_with(
        db,
        Spawn {
            env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            second_instance: true,
            ..Spawn::default()
        },
    )
    .await
}

/// Posts `form` to `path` of `app` as a same-origin page would.
pub async fn post_form(
    app: &TestApp,
    client: &Client,
    path: &str,
    form: &[(&str, &str)],
) -> Response {
    client
        .post(app.url(path))
        .header("origin", &app.address)
        .form(form)
        .send()
        .await
        .expect("form post")
}

/// Posts the sign-in form to the server at `address` as a same-origin browser would (for
/// spawned tasks, which cannot borrow a [`TestApp`]).
pub async fn sign_in_to(
    address: &str,
    client: &Client,
    username: &str,
    password: &str,
    next: &str,
) -> Response {
    client
        .post(format!("{address}/sign-in"))
        .header("origin", address)
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("username", username),
            ("password", password),
            ("next", next),
        ])
        .send()
        .await
        .expect("sign-in request")
}

/// Like [`spawn_app`], with settings.
pub async fn spawn_app_with(db: TestDb, spawn: Spawn) -> TestApp {
    let mut env: Vec<(&'static str, String)> = vec![
        ("DATABASE_URL", db.url.clone()),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0".into()),
    ];
    env.extend(spawn.env);
    let config = Config::from_sources(None, |name| {
        env.iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("test configuration");
    let manual = spawn
        .manual_clock_at
        .map(|ms| ManualClock::new(auto_logout::UnixMillis(ms)));
    let clock: SharedClock = match &manual {
        Some(m) => Arc::new(m.clone()),
        None => Arc::new(SystemClock),
    };
    let app = Application::build(config, clock)
        .await
        .expect("server starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    if !spawn.second_instance {
        state
            .engine
            .users()
            .create("alice", PASSWORD, false)
            .await
            .expect("create alice");
    }
    let (shutdown, stop_signal) = tokio::sync::oneshot::channel::<()>();
    let stopped = tokio::spawn(app.run_until(async move {
        let _ = stop_signal.await;
    }));
    TestApp {
        address,
        state,
        clock: manual,
        username: "alice".into(),
        shutdown: Some(shutdown),
        stopped: Some(stopped),
        _db: db,
    }
}

/// A client with its own cookie jar that reports redirects instead of following them.
pub fn browser() -> Client {
    browser_with_ua(CHROME_UA)
}

/// Like [`browser`], sending `user_agent`.
pub fn browser_with_ua(user_agent: &str) -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .user_agent(user_agent)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

impl TestApp {
    /// Stops the server (finishing requests in flight) and closes its database pool, as a
    /// process exit would; returns the database for a restart.
    pub async fn stop(mut self) -> TestDb {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.await;
        }
        self.state.engine.database().close().await;
        self._db.share()
    }

    /// `address` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Posts the sign-in form as a same-origin browser would.
    pub async fn sign_in(
        &self,
        client: &Client,
        username: &str,
        password: &str,
        next: &str,
    ) -> Response {
        sign_in_to(&self.address, client, username, password, next).await
    }

    /// Creates another account with [`PASSWORD`].
    pub async fn add_user(&self, name: &str) {
        self.add_account(name, false).await;
    }

    /// Creates an administrator with [`PASSWORD`].
    pub async fn add_admin(&self, name: &str) {
        self.add_account(name, true).await;
    }

    async fn add_account(&self, name: &str, admin: bool) {
        self.state
            .engine
            .users()
            .create(name, PASSWORD, admin)
            .await
            .expect("create user");
    }

    /// Signs `username` in on a new client with this user agent; returns the client and the
    /// session's public id (the hash of the cookie).
    pub async fn device(&self, username: &str, user_agent: &str) -> (Client, String) {
        let client = browser_with_ua(user_agent);
        let res = self.sign_in(&client, username, PASSWORD, "").await;
        assert_eq!(res.status(), 303);
        let id = session_cookie(&res).expect("signed in");
        (client, auto_logout::server::secret::hash_secret(&id))
    }

    /// Signs `alice` in on `client` with "Remember me" ticked.
    pub async fn sign_in_remembered(&self, client: &Client) -> Response {
        client
            .post(self.url("/sign-in"))
            .header("origin", &self.address)
            .form(&[
                ("username", "alice"),
                ("password", PASSWORD),
                ("remember", "true"),
            ])
            .send()
            .await
            .expect("sign-in request")
    }

    /// A signed-in client for `alice`, with the raw value of its session cookie.
    pub async fn signed_in_with_cookie(&self) -> (Client, String) {
        let client = browser();
        let res = self.sign_in(&client, &self.username, PASSWORD, "").await;
        assert_eq!(location(&res), "/home");
        let id = session_cookie(&res).expect("signed in");
        (client, id)
    }

    /// A signed-in client for `alice`.
    pub async fn signed_in(&self) -> Client {
        let client = browser();
        let res = self.sign_in(&client, &self.username, PASSWORD, "").await;
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), "/home");
        client
    }

    /// The sessions-table row with this id hash (which must exist).
    pub async fn session_row(&self, id_hash: &str) -> auto_logout::server::SessionRow {
        self.state
            .engine
            .sessions()
            .find(id_hash)
            .await
            .expect("read session")
            .expect("session row exists")
    }

    /// Audit entries, newest first, optionally of one event only.
    pub async fn audit_events(
        &self,
        event: Option<auto_logout::AuditEvent>,
    ) -> Vec<auto_logout::server::AuditEntry> {
        let filter = auto_logout::server::audit::AuditFilter {
            event,
            ..Default::default()
        };
        self.state
            .engine
            .audit()
            .list(&filter)
            .await
            .expect("read audit log")
    }

    /// Posts to `path` (no body) as a same-origin page of this server would.
    pub async fn post(&self, client: &Client, path: &str) -> Response {
        client
            .post(self.url(path))
            .header("origin", &self.address)
            .send()
            .await
            .expect("POST request")
    }

    /// `GET path` from a fresh client that presents only the session cookie `id` (a stolen
    /// or replayed cookie).
    pub async fn get_with_cookie(&self, path: &str, id: &str) -> Response {
        browser()
            .get(self.url(path))
            .header("cookie", format!("auto_logout_session={id}"))
            .send()
            .await
            .expect("GET with a cookie")
    }

    /// `GET /api/v1/session` as `client`: the JSON body, whatever the status.
    pub async fn status_json(&self, client: &Client) -> serde_json::Value {
        client
            .get(self.url("/api/v1/session"))
            .send()
            .await
            .expect("status request")
            .json()
            .await
            .expect("a JSON body")
    }

    /// Posts to `path` as a page of another site would (`Origin: https://evil.example`).
    pub async fn post_cross_site(&self, client: &Client, path: &str) -> Response {
        client
            .post(self.url(path))
            .header("origin", "https://evil.example")
            .send()
            .await
            .expect("cross-site POST")
    }

    /// The text of the page at `path` as `client` sees it.
    pub async fn page(&self, client: &Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
            .text()
            .await
            .expect("a text body")
    }

    /// `DELETE path_and_query` as a same-origin page of this server would.
    pub async fn delete(&self, client: &Client, path_and_query: &str) -> Response {
        client
            .delete(self.url(path_and_query))
            .header("origin", &self.address)
            .send()
            .await
            .expect("DELETE request")
    }

    /// The account named `name` (it must exist).
    pub async fn user(&self, name: &str) -> auto_logout::server::User {
        self.state
            .engine
            .users()
            .find_by_username(name)
            .await
            .expect("read the users table")
            .expect("the account exists")
    }

    /// Posts `/logout` as a same-origin browser would.
    pub async fn logout(&self, client: &Client) -> Response {
        client
            .post(self.url("/logout"))
            .header("origin", &self.address)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .expect("logout request")
    }

    /// The caller's device list (`GET /api/v1/sessions`, which must answer 200).
    pub async fn device_list(&self, client: &Client) -> Vec<serde_json::Value> {
        let res = client
            .get(self.url("/api/v1/sessions"))
            .send()
            .await
            .expect("device list request");
        assert_eq!(res.status(), 200);
        res.json().await.expect("device list JSON")
    }
}

/// The `Location` header of a redirect.
pub fn location(res: &Response) -> String {
    res.headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Every `Set-Cookie` header of a response.
pub fn set_cookies(res: &Response) -> Vec<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The whole `Set-Cookie` header of the session cookie in `res` (attributes included).
pub fn session_set_cookie(res: &Response) -> Option<String> {
    set_cookies(res)
        .into_iter()
        .find(|c| c.starts_with("auto_logout_session="))
}

/// Runs the server binary with `args` on the database `url`, writing `stdin` to it.
pub fn run_cli(args: &[&str], url: &str, stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env("DATABASE_URL", url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the server binary");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("the command ends")
}

/// The value of the session cookie set by `res`, if any.
pub fn session_cookie(res: &Response) -> Option<String> {
    set_cookies(res).into_iter().find_map(|c| {
        let first = c.split(';').next()?.trim().to_owned();
        let (name, value) = first.split_once('=')?;
        (name == "auto_logout_session" && !value.is_empty()).then(|| value.to_owned())
    })
}

/// Generates one `#[tokio::test]` per database for each listed async test function
/// `fn(TestDb)`: always on SQLite, and on PostgreSQL when `TEST_POSTGRES_URL` is set (at build
/// time; see `build.rs`). Without it the PostgreSQL variants are ignored, and the runner says
/// so.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(postgres_tests), ignore = "TEST_POSTGRES_URL was not set")]
                async fn $name() {
                    let db = $crate::common::TestDb::postgres()
                        .await
                        .expect("TEST_POSTGRES_URL was set when the tests were built, not now");
                    super::$name(db).await;
                }
            )*
        }
    };
}
