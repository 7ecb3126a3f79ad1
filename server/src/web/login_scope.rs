//! Who is signed in, and where axum-login and tower-sessions run.
//!
//! Pages, forms, server functions and the API's cookie sign-out need to know who is signed in:
//! they get the engine's [`SignedInUser`](auto_logout::server::SignedInUser), looked up from
//! the session the session layer admitted, after the page access rules
//! ([`super::page_access`]). Only those that may change who is signed in (forms, server
//! functions, the cookie sign-out) also pass axum-login and tower-sessions; a page read does
//! not: loading the session record and the account again would tell it nothing new. Every
//! other JSON API handler reads only the engine's `CurrentSession`, and the health and metrics
//! endpoints read neither.

pub use super::routes::API_COOKIE_SIGN_OUT;
use super::{
    page_access::{self, is_page_read},
    routes::{route_of, Route, Shape},
};
use auto_logout::server::Engine;
use axum::{extract::Request, response::Response, Router};
use futures_util::future::{BoxFuture, Either};
use std::{
    convert::Infallible,
    ops::ControlFlow,
    sync::Arc,
    task::{Context, Poll},
};
use tower::{Layer, ServiceExt};

/// How far a request goes before the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Straight to the router: its handler reads only what the session layer decided.
    Direct,
    /// The page access rules and the signed-in person, then the router: a page read.
    Person,
    /// The page access rules and the signed-in person, then axum-login and tower-sessions:
    /// its handler may sign someone in or out.
    Login,
}

/// The scope of a request with `method` for `path`.
pub fn scope_of(method: &axum::http::Method, path: &str) -> Scope {
    scope_of_route(is_page_read(method), route_of(path))
}

fn scope_of_route(read: bool, route: &Route) -> Scope {
    match (route.login, read && route.shape == Shape::Page) {
        (false, _) => Scope::Direct,
        (true, true) => Scope::Person,
        (true, false) => Scope::Login,
    }
}

/// Runs one request through the login layers in front of the router.
type ThroughLogin =
    Arc<dyn Fn(Router, Request) -> BoxFuture<'static, Result<Response, Infallible>> + Send + Sync>;

/// Sends each request to the router by its [`Scope`]. The login layers are put in front of the
/// router per request that needs them, so the others neither clone nor drop them
/// (tower-sessions' configuration holds owned strings): a clone of this service is a clone of
/// three `Arc`s.
#[derive(Clone)]
pub struct LoginScope {
    through_login: ThroughLogin,
    router: Router,
    engine: Engine,
}

impl std::fmt::Debug for LoginScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginScope").finish_non_exhaustive()
    }
}

impl LoginScope {
    /// Requests of [`Scope::Login`] pass `login` (axum-login, tower-sessions) before
    /// `router`; the signed-in person is `engine`'s.
    pub fn new<L>(login: L, router: Router, engine: Engine) -> Self
    where
        L: Layer<Router> + Send + Sync + 'static,
        L::Service:
            tower::Service<Request, Response = Response, Error = Infallible> + Send + 'static,
        <L::Service as tower::Service<Request>>::Future: Send + 'static,
    {
        Self {
            through_login: Arc::new(move |router, req| Box::pin(login.layer(router).oneshot(req))),
            router,
            engine,
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
        let route = route_of(req.uri().path());
        let login = match scope_of_route(is_page_read(req.method()), route) {
            Scope::Direct => return Either::Right(self.router.clone().oneshot(req)),
            Scope::Person => None,
            Scope::Login => Some(Arc::clone(&self.through_login)),
        };
        let (engine, router) = (self.engine.clone(), self.router.clone());
        Either::Left(Box::pin(async move {
            let req = match page_access::admit(&engine, route, req).await {
                ControlFlow::Continue(req) => req,
                ControlFlow::Break(refused) => return Ok(refused),
            };
            match login {
                Some(through_login) => through_login(router, req).await,
                None => router.oneshot(req).await,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_reads_know_the_person_and_changes_also_pass_the_login_layers() {
        use axum::http::Method;
        for path in [
            "/",
            "/home",
            "/sign-in",
            "/logout",
            "/admin/sessions",
            "/nowhere",
        ] {
            assert_eq!(scope_of(&Method::GET, path), Scope::Person, "{path}");
            assert_eq!(scope_of(&Method::HEAD, path), Scope::Person, "{path}");
        }
        for (method, path) in [
            (Method::POST, "/sign-in"),
            (Method::POST, "/logout"),
            (Method::POST, "/account"),
            (Method::POST, "/api/current_user"),
            (Method::GET, "/api/current_user"),
            (Method::POST, API_COOKIE_SIGN_OUT),
        ] {
            assert_eq!(scope_of(&method, path), Scope::Login, "{method} {path}");
        }
        for path in [
            "/healthz",
            "/metrics",
            "/api/v1/session",
            "/api/v1/sessions/x",
        ] {
            assert_eq!(scope_of(&Method::GET, path), Scope::Direct, "{path}");
            assert_eq!(scope_of(&Method::POST, path), Scope::Direct, "{path}");
        }
    }
}
