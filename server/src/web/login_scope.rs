//! Where axum-login and tower-sessions run. Pages, forms, server functions and the API's
//! cookie sign-out read the signed-in user from axum-login's `AuthSession`; every other JSON
//! API handler reads only the engine's `CurrentSession`, which the session layer has already
//! decided, and the health and metrics endpoints read neither. Those skip the login layers:
//! loading the tower-sessions record and the user again would cost a third of such a request
//! and tell them nothing new.

use super::routes::route_of;
pub use super::routes::API_COOKIE_SIGN_OUT;
use axum::{extract::Request, response::Response, Router};
use futures_util::future::{BoxFuture, Either};
use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
};
use tower::{Layer, ServiceExt};

/// Whether a request for `path` goes through axum-login and tower-sessions.
pub fn uses_login_session(path: &str) -> bool {
    route_of(path).login
}

/// Runs one request through the login layers in front of the router.
type ThroughLogin =
    Arc<dyn Fn(Router, Request) -> BoxFuture<'static, Result<Response, Infallible>> + Send + Sync>;

/// Sends each request to the router, through the login layers or straight, by
/// [`uses_login_session`]. The layers are put in front of the router per request that needs
/// them, so the others neither clone nor drop them (tower-sessions' configuration holds
/// owned strings): a clone of this service is a clone of two `Arc`s.
#[derive(Clone)]
pub struct LoginScope {
    through_login: ThroughLogin,
    router: Router,
}

impl std::fmt::Debug for LoginScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginScope").finish_non_exhaustive()
    }
}

impl LoginScope {
    /// Requests that use the login session pass `login` (axum-login, tower-sessions, the page
    /// guard) before `router`; the others go to `router` directly.
    pub fn new<L>(login: L, router: Router) -> Self
    where
        L: Layer<Router> + Send + Sync + 'static,
        L::Service:
            tower::Service<Request, Response = Response, Error = Infallible> + Send + 'static,
        <L::Service as tower::Service<Request>>::Future: Send + 'static,
    {
        Self {
            through_login: Arc::new(move |router, req| Box::pin(login.layer(router).oneshot(req))),
            router,
        }
    }
}

impl tower::Service<Request> for LoginScope {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<
        BoxFuture<'static, Result<Response, Infallible>>,
        tower::util::Oneshot<Router, Request>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if uses_login_session(req.uri().path()) {
            Either::Left((self.through_login)(self.router.clone(), req))
        } else {
            Either::Right(self.router.clone().oneshot(req))
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
