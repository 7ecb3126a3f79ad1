//! # auto-logout — the session engine
//!
//! The rules that decide when a signed-in session ends, written as pure functions of
//! (policy, session times, now) so that every rule is a plain unit test:
//!
//! - [`policy`]: idle and absolute limits, deadlines and [`SessionStatus`].
//! - [`last_tab`]: when a browser session ends because no tab of the site is open.
//! - [`limits`]: which limits apply to a session (the one table of limit classes).
//! - [`event`]: why a session ended and the audit events we record.
//! - [`forms`]: the pages' paths and what their forms report back (`?done=`, `?error=`).
//! - [`export`]: CSV export cells that no spreadsheet runs as a formula.
//! - [`passwords`]: which new passwords are acceptable.
//! - [`profile`]: what a person may say about themselves (display name, email).
//! - [`redirect`]: which `next` targets are safe to send a browser to.
//! - [`session_limit`]: which sessions a sign-in ends, or whether it is refused, at the limit.
//! - [`sign_in_query`]: why the sign-in page is shown (`reason`, `error`).
//! - [`throttle`]: when failed sign-ins make further attempts wait.
//! - [`username`]: which usernames are acceptable, and when two are the same name.
//! - [`accounts`]: why an account could not be created or changed.
//! - [`dto`]: the data that the server and the browser exchange.
//! - [`api_error`]: the API's error codes and the JSON shape of its errors.
//! - [`cookies`]: the cookies' names and attributes.
//! - [`clock`]: the one notion of time ([`UnixMillis`]) every rule is given.
//!
//! With the feature `server`, the module `server` adds storage (sqlx, SQLite and PostgreSQL),
//! the axum-login backend, the tower-sessions store and the audit log, behind one front door,
//! `server::Engine`. Without it, the crate is free of I/O and builds for
//! `wasm32-unknown-unknown`.
#![cfg_attr(
    feature = "server",
    doc = r#"
## Mounting the engine

An axum application with axum-login adopts the engine with its own users and backend: the
engine's layers go around the routes, sign-ins go through it, and its status endpoint feeds a
countdown. `Member` is the application's user, `Accounts` its `AuthnBackend`:

```no_run
use auto_logout::server::{Account, AccountInfo, AdoptedSession, Engine, SessionError, SignIn};
use axum::{routing::{get, post}, Json, Router};
# #[derive(Clone, Debug)] struct Member { id: i64, name: String, hash: String }
# impl axum_login::AuthUser for Member {
#     type Id = i64;
#     fn id(&self) -> i64 { self.id }
#     fn session_auth_hash(&self) -> &[u8] { self.hash.as_bytes() }
# }
# #[derive(Clone, serde::Deserialize)] struct Credentials { username: String, password: String }
# #[derive(Clone)] struct Accounts;
# impl axum_login::AuthnBackend for Accounts {
#     type User = Member; type Credentials = Credentials; type Error = std::io::Error;
#     async fn authenticate(&self, _: Credentials) -> Result<Option<Member>, Self::Error> { Ok(None) }
#     async fn get_user(&self, _: &i64) -> Result<Option<Member>, Self::Error> { Ok(None) }
# }

impl Account for Member {
    fn account(&self) -> AccountInfo<'_> {
        AccountInfo::named(&self.name)
    }
}

async fn login(
    mut auth: AdoptedSession<Accounts>,
    Json(creds): Json<Credentials>,
) -> Result<SignIn, SessionError> {
    auth.sign_in(creds.username.clone(), creds).await
}

# async fn run() -> Result<(), Box<dyn std::error::Error>> {
let engine = Engine::open("sqlite://data/app.db?mode=rwc").await?;
let app: Router = Router::new()
    .route("/login", post(login))
    .route("/me", get(|auth: AdoptedSession<Accounts>| async move {
        auth.user.as_ref().map(|m| m.name.clone()).unwrap_or_default()
    }))
    .merge(engine.status_router())
    .layer(engine.layers_with(Accounts));
# let _ = app; Ok(()) }
```
"#
)]

pub mod account_activity;
pub mod accounts;
pub mod api_error;
pub mod clock;
pub mod cookies;
pub mod device_history;
pub mod dto;
pub mod event;
pub mod export;
pub mod forms;
pub mod last_tab;
pub mod limits;
pub mod passwords;
pub mod policy;
pub mod privacy;
pub mod profile;
pub mod reauth;
pub mod redirect;
pub mod schedule;
pub mod session_limit;
pub mod sign_in_query;
pub mod throttle;
pub mod username;

#[cfg(feature = "server")]
pub mod server;

pub use clock::UnixMillis;
pub use dto::{CountdownState, DeviceSession, DraftKey, PublicSettings, SessionStatus, UserView};
pub use event::{AuditEvent, EndReason, SessionKind};
pub use policy::{Deadlines, SessionTimes, TimeoutPolicy};
pub use redirect::safe_next;
pub use sign_in_query::{SignInError, SignInReason};
