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
    users.get_enabled(session.user_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        dto::SessionStatus,
        policy::Deadlines,
        server::{Engine, ManualClock},
        UnixMillis,
    };
    use std::sync::Arc;

    const T0: UnixMillis = UnixMillis(1_800_000_000_000);

    /// What the session layer puts on a request for a live session of `kind` of `user_id`.
    fn admitted(user_id: i64, kind: SessionKind) -> Extensions {
        let mut extensions = Extensions::new();
        extensions.insert(ActiveSession {
            id_hash: "ab".repeat(32),
            user_id,
            username: "alice".to_owned(),
            kind,
            status: SessionStatus {
                seconds_until_idle_end: Some(600),
                seconds_until_session_end: Some(3_600),
                warn_before: 60,
                scheduled_sign_out: false,
            },
            deadlines: Deadlines {
                idle_end: Some(T0.plus(std::time::Duration::from_secs(600))),
                session_end: Some(T0.plus(std::time::Duration::from_secs(3_600))),
                scheduled: false,
                tabs_end: None,
            },
            checked_at: T0,
            idle_limit: Some(std::time::Duration::from_secs(600)),
            ends_with_last_tab: false,
        });
        extensions
    }

    #[tokio::test]
    async fn a_page_is_signed_in_for_a_browser_session_of_an_enabled_account_only() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::builder()
            .database_url(format!("sqlite://{}/e.db?mode=rwc", dir.path().display()))
            .clock(Arc::new(ManualClock::new(T0)))
            .background(false)
            .build()
            .await
            .unwrap();
        let alice = engine
            .users()
            .create("alice", "correct horse battery", false)
            .await
            .unwrap();
        let user_of = |extensions: Extensions| {
            let engine = engine.clone();
            async move { engine.signed_in_user(&extensions).await.unwrap() }
        };

        let signed_in = user_of(admitted(alice.id, SessionKind::Browser)).await;
        assert_eq!(signed_in.map(|u| u.username), Some("alice".to_owned()));
        assert_eq!(user_of(Extensions::new()).await, None, "anonymous");
        assert_eq!(
            user_of(admitted(alice.id, SessionKind::Api)).await,
            None,
            "an API credential signs no page in"
        );
        assert_eq!(
            user_of(admitted(alice.id + 1, SessionKind::Browser)).await,
            None,
            "an account that is gone"
        );
        engine.users().set_disabled("alice", true).await.unwrap();
        assert_eq!(
            user_of(admitted(alice.id, SessionKind::Browser)).await,
            None,
            "a disabled account is nobody"
        );
    }
}
