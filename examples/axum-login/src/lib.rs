//! A small axum + axum-login application (not Leptos) with its own accounts: an `accounts`
//! table, its own password hashing and its own axum-login backend. It adopts auto-logout in the
//! lines README shows ("Add auto-logout to your axum-login app"): idle and absolute limits,
//! revocation, throttling and an audit log then hold for its own users, and the engine's
//! `GET /api/v1/session` (a passive status read) and `POST /api/v1/session/extend` answer.
//!
//! Routes: `POST /login` (JSON `{"username", "password"}`), `POST /logout`, `GET /login` (the
//! page an ended session is sent to) and `GET /me` (the signed-in page, server-rendered
//! HTML that shows the live countdown with the engine's `<auto-logout-countdown>` element),
//! and the engine's device-list forms (`POST /auto-logout/sessions/revoke`, `…/revoke-others`).
//! The engine's layers refuse every state change another site sends (and one that carries the
//! session cookie without saying where it came from), login CSRF included; the JSON bodies
//! would need a CORS preflight from another site anyway.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use auto_logout::server::{Account, AccountInfo, Engine, SessionError, SignIn};
use axum::{
    extract::Query,
    http::StatusCode,
    response::Html,
    routing::{get, post},
    Json, Router,
};
use axum_login::{AuthUser, AuthnBackend, UserId};
use sqlx::{sqlite::SqlitePool, FromRow};

/// A row of the `accounts` table.
#[derive(Clone, FromRow)]
pub struct Member {
    id: i64,
    /// The name people sign in with.
    pub name: String,
    password_hash: String,
    /// Staff may see everyone's sessions.
    pub staff: bool,
    /// A locked account cannot sign in.
    pub locked: bool,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish()
    }
}

impl AuthUser for Member {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        self.password_hash.as_bytes()
    }
}

impl Account for Member {
    fn account(&self) -> AccountInfo<'_> {
        AccountInfo::new(&self.name, self.staff, self.locked)
    }
}

/// What `POST /login` takes.
#[derive(Clone, serde::Deserialize)]
pub struct Credentials {
    /// The account's name.
    pub username: String,
    /// Its password.
    pub password: String,
}

/// Why the accounts could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// Hashing a password failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// The application's accounts and its axum-login backend.
#[derive(Clone, Debug)]
pub struct Accounts {
    db: SqlitePool,
}

impl Accounts {
    /// Opens the `accounts` table in the SQLite database `url`, creating it when missing.
    ///
    /// # Errors
    /// Database errors.
    pub async fn open(url: &str) -> Result<Self, AccountsError> {
        let db = SqlitePool::connect(url).await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, \
             name TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, \
             staff BOOLEAN NOT NULL DEFAULT FALSE, locked BOOLEAN NOT NULL DEFAULT FALSE)",
        )
        .execute(&db)
        .await?;
        Ok(Self { db })
    }

    /// Adds an account.
    ///
    /// # Errors
    /// Database errors (a taken name among them).
    pub async fn add(&self, name: &str, password: &str, staff: bool) -> Result<(), AccountsError> {
        sqlx::query("INSERT INTO accounts (name, password_hash, staff) VALUES (?, ?, ?)")
            .bind(name)
            .bind(hash(password).await?)
            .bind(staff)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// Whether `password` is right for the account whose id is `id` (and it is not locked):
    /// the check the engine asks for when someone re-authenticates for a sensitive action.
    ///
    /// # Errors
    /// Database errors.
    pub async fn password_is_right(
        &self,
        id: String,
        password: String,
    ) -> Result<bool, AccountsError> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(false);
        };
        let Some(member) = self.get_user(&id).await? else {
            return Ok(false);
        };
        let creds = Credentials {
            username: member.name,
            password,
        };
        Ok(self.authenticate(creds).await?.is_some())
    }

    /// Gives the account `name` a new password.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<(), AccountsError> {
        sqlx::query("UPDATE accounts SET password_hash = ? WHERE name = ?")
            .bind(hash(password).await?)
            .bind(name)
            .execute(&self.db)
            .await?;
        Ok(())
    }

    /// Locks (`true`) or unlocks the account `name`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_locked(&self, name: &str, locked: bool) -> Result<(), AccountsError> {
        sqlx::query("UPDATE accounts SET locked = ? WHERE name = ?")
            .bind(locked)
            .bind(name)
            .execute(&self.db)
            .await?;
        Ok(())
    }
}

/// An Argon2id PHC string of `password`.
async fn hash(password: &str) -> Result<String, AccountsError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .map(|h| h.to_string())
            .map_err(|e| AccountsError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| AccountsError::Hash(e.to_string()))?
}

impl AuthnBackend for Accounts {
    type User = Member;
    type Credentials = Credentials;
    type Error = AccountsError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<Member>, AccountsError> {
        let member: Option<Member> = sqlx::query_as("SELECT * FROM accounts WHERE name = ?")
            .bind(&creds.username)
            .fetch_optional(&self.db)
            .await?;
        tokio::task::spawn_blocking(move || {
            Ok(member.filter(|m| {
                let parsed = PasswordHash::new(&m.password_hash);
                !m.locked
                    && parsed.is_ok_and(|hash| {
                        Argon2::default()
                            .verify_password(creds.password.as_bytes(), &hash)
                            .is_ok()
                    })
            }))
        })
        .await
        .map_err(|e| AccountsError::Hash(e.to_string()))?
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<Member>, AccountsError> {
        Ok(sqlx::query_as("SELECT * FROM accounts WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.db)
            .await?)
    }
}

/// axum-login's session handle in this application.
type Auth = auto_logout::server::AdoptedSession<Accounts>;

/// The application: its routes behind axum-login.
pub fn app(accounts: Accounts, engine: Engine) -> Router {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .merge(engine.status_router())
        .merge(engine.countdown_router())
        .merge(engine.devices_router())
        .layer(engine.layers_with(accounts))
}

/// `POST /login`: 204 with a session cookie, 401 for wrong credentials, 503 on failure.
async fn login(mut auth: Auth, Json(creds): Json<Credentials>) -> Result<SignIn, SessionError> {
    auth.sign_in(creds.username.clone(), creds).await
}

/// `POST /logout`: signs out.
async fn logout(mut auth: Auth) -> StatusCode {
    match auth.logout().await {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// `GET /me`: the signed-in page with the live countdown (401 for anybody else).
async fn me(auth: Auth) -> Result<Html<String>, StatusCode> {
    let member = auth.user.as_ref().ok_or(StatusCode::UNAUTHORIZED)?;
    Ok(Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Members</title>
  <script type="module" src="/auto-logout/countdown.js"></script>
</head>
<body>
  <auto-logout-countdown sign-in="/login"></auto-logout-countdown>
  <h1>Signed in as {}</h1>
  <p>Leave this page alone and the countdown sends you to <a href="/login">/login</a>.</p>
</body>
</html>
"#,
        escape_html(&member.name)
    )))
}

/// `GET /login`: where an ended session's page lands (`?next=/me&reason=idle`). Signing in is
/// `POST /login` with JSON.
async fn login_page(Query(query): Query<SignInQuery>) -> Html<String> {
    let notice = match query.reason.as_deref() {
        Some("idle") => "You were signed out after a period of inactivity.",
        Some("expired") => "Your session reached its time limit.",
        Some("revoked") => "Your session was ended from elsewhere.",
        _ => "",
    };
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title></head>
<body><h1>Sign in</h1><p id="notice">{notice}</p></body>
</html>
"#
    ))
}

/// The query of `GET /login`.
#[derive(serde::Deserialize)]
struct SignInQuery {
    reason: Option<String>,
}

/// `text` with the characters that mean something in HTML escaped.
fn escape_html(text: &str) -> String {
    text.chars()
        .fold(String::with_capacity(text.len()), |mut out, c| {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
            out
        })
}
