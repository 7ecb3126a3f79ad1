//! Where axum-login and tower-sessions run. Pages, forms, server functions and the API's
//! cookie sign-out read the signed-in user from axum-login's `AuthSession`; every other JSON
//! API handler reads only the engine's `CurrentSession`, which the session layer has already
//! decided, and the health and metrics endpoints read neither. Those skip the login layers:
//! loading the tower-sessions record and the user again would cost a third of such a request
//! and tell them nothing new.

use super::error::is_api_path;
use axum::{extract::Request, response::Response};
use futures_util::future::Either;
use std::{
    convert::Infallible,
    task::{Context, Poll},
};

/// The one JSON API path whose handler needs axum-login (to end a cookie session).
pub const API_COOKIE_SIGN_OUT: &str = "/api/v1/auth/logout";

/// Whether a request for `path` goes through axum-login and tower-sessions.
pub fn uses_login_session(path: &str) -> bool {
    if path == "/healthz" || path == "/metrics" {
        return false;
    }
    !is_api_path(path) || path == API_COOKIE_SIGN_OUT
}

/// Sends each request to `with_login` (the application under the login layers) or to
/// `without` (the same application without them), by [`uses_login_session`].
#[derive(Debug, Clone)]
pub struct LoginScope<L, P> {
    with_login: L,
    without: P,
}

impl<L, P> LoginScope<L, P> {
    /// Routes by path between the two services.
    pub fn new(with_login: L, without: P) -> Self {
        Self {
            with_login,
            without,
        }
    }
}

impl<L, P> tower::Service<Request> for LoginScope<L, P>
where
    L: tower::Service<Request, Response = Response, Error = Infallible> + Clone,
    P: tower::Service<Request, Response = Response, Error = Infallible> + Clone,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<tower::util::Oneshot<L, Request>, tower::util::Oneshot<P, Request>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each request is sent to a clone of the service it needs, readied then.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        use tower::ServiceExt;
        if uses_login_session(req.uri().path()) {
            Either::Left(self.with_login.clone().oneshot(req))
        } else {
            Either::Right(self.without.clone().oneshot(req))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_forms_server_functions_and_cookie_sign_out_use_the_login_session() {
        for path in [
            "/",
            "/home",
            "/sign-in",
            "/logout",
            "/api/current_user",
            API_COOKIE_SIGN_OUT,
        ] {
            assert!(uses_login_session(path), "{path}");
        }
        for path in [
            "/healthz",
            "/metrics",
            "/api/v1/session",
            "/api/v1/sessions/x",
        ] {
            assert!(!uses_login_session(path), "{path}");
        }
    }
}
