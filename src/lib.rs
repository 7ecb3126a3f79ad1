//! # auto-logout — the session engine
//!
//! The rules that decide when a signed-in session ends, written as pure functions of
//! (policy, session times, now) so that every rule is a plain unit test:
//!
//! - [`policy`]: idle and absolute limits, deadlines and [`SessionStatus`].
//! - [`limits`]: which limits apply to a session (the one table of limit classes).
//! - [`event`]: why a session ended and the audit events we record.
//! - [`export`]: CSV export cells that no spreadsheet runs as a formula.
//! - [`passwords`]: which new passwords are acceptable.
//! - [`profile`]: what a person may say about themselves (display name, email).
//! - [`redirect`]: which `next` targets are safe to send a browser to.
//! - [`session_limit`]: which sessions a sign-in ends, or whether it is refused, at the limit.
//! - [`sign_in_query`]: why the sign-in page is shown (`reason`, `error`).
//! - [`throttle`]: when failed sign-ins make further attempts wait.
//! - [`username`]: which usernames are acceptable, and when two are the same name.
//! - [`dto`]: the data that the server and the browser exchange.
//! - [`api_error`]: the API's error codes and the JSON shape of its errors.
//! - [`cookies`]: the cookies' names and attributes.
//! - [`clock`]: the one notion of time ([`UnixMillis`]) every rule is given.
//!
//! With the feature `server`, the module `server` adds storage (sqlx, SQLite and PostgreSQL),
//! the axum-login backend, the tower-sessions store and the audit log. Without it, the crate
//! is free of I/O and builds for `wasm32-unknown-unknown`.

pub mod api_error;
pub mod clock;
pub mod cookies;
pub mod dto;
pub mod event;
pub mod export;
pub mod limits;
pub mod passwords;
pub mod policy;
pub mod profile;
pub mod redirect;
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
