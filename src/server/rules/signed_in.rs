//! Who is signed in on a page: the account of the browser session the session layer admitted,
//! read from what the engine already knows about the request.
//!
//! A page that only shows the person (a greeting, the navigation bar, a guard that sends
//! anonymous visitors to sign in) needs no more than that. Loading the tower-sessions record
//! and deserializing axum-login's data for it again, as axum-login's `AuthSession` does, tells
//! it nothing new: the session layer has already checked the session against the database's
//! row (ended, revoked, made before the account's password changed or while it is disabled:
//! see [`crate::server::SessionGate`]). Handlers that change who is signed in (signing in and
//! out) still use `AuthSession`.

use super::super::{
    error::StoreError,
    gate::ActiveSession,
    users::{User, Users},
};
use crate::event::SessionKind;
use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::{request::Parts, Extensions},
};
use std::convert::Infallible;

/// The account signed in on a request's browser session, put on the request by whoever looked
/// it up ([`signed_in_user`]) for the handlers and pages after it. Its absence means nobody is
/// signed in on a page.
///
/// ```
/// use auto_logout::server::rules::signed_in::SignedInUser;
/// async fn greeting(user: Option<SignedInUser>) -> String {
///     match user {
///         Some(SignedInUser(user)) => format!("Hello, {}!", user.username),
///         None => "Hello, stranger!".to_owned(),
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInUser(pub User);

impl<S: Send + Sync> OptionalFromRequestParts<S> for SignedInUser {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<SignedInUser>().cloned())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedInUser {
    type Rejection = axum::http::StatusCode;

    /// 401 without a signed-in account (nobody looked one up, or nobody is signed in).
    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Self, axum::http::StatusCode> {
        parts
            .extensions
            .get::<SignedInUser>()
            .cloned()
            .ok_or(axum::http::StatusCode::UNAUTHORIZED)
    }
}

/// The session a page may show as signed in: the request's live session if it is a browser's
/// (a cookie). An API client's bearer token or JWT signs no page in, as axum-login, which
/// reads only the cookie, would not.
pub fn page_session(extensions: &Extensions) -> Option<&ActiveSession> {
    extensions
        .get::<ActiveSession>()
        .filter(|active| active.kind == SessionKind::Browser)
}

/// The account signed in on the request's browser session ([`page_session`]), from the
/// accounts' cache: `None` for an anonymous request, an API client's, or an account deleted
/// or disabled since (a disabled account is nobody, as for axum-login's backend).
///
/// # Errors
/// Database errors reading an account the cache does not hold: fail the request (never an
/// anonymous pass).
pub async fn signed_in_user(
    users: &Users,
    extensions: &Extensions,
) -> Result<Option<User>, StoreError> {
    let Some(session) = page_session(extensions) else {
        return Ok(None);
    };
    Ok(users
        .get(session.user_id)
        .await?
        .filter(|user| !user.disabled))
}
