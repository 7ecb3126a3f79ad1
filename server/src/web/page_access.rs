//! Page access: anonymous visitors to protected pages go to sign-in, signed-in visitors to the
//! sign-in page go home, non-administrators get 403 on admin pages. The signed-in person is the
//! engine's ([`Engine::signed_in_user`]): the account of the browser session the session layer
//! admitted, put on the request as a [`SignedInUser`] for the pages and server functions.

use super::routes::{route_of, Access, Route};
use auto_logout::{
    forms::HOME,
    redirect::sign_in_url,
    server::{Engine, SessionEnded, SignedInUser},
};
use axum::{
    extract::Request,
    http::{header, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use std::ops::ControlFlow;

/// Paths only a signed-in person may see (see [`super::routes`]).
pub fn is_protected(path: &str) -> bool {
    matches!(route_of(path).access, Access::SignedIn | Access::Admin)
}

/// Whether a request with `method` reads a page (`GET` or `HEAD`), where the page access
/// rules apply.
pub fn is_page_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// `req`, which `route` covers, with its signed-in person ([`SignedInUser`]) if it may go on
/// (`Continue`); else the answer that sends the visitor where they belong (sign-in, home,
/// 403), or 503 when the account could not be read (never an anonymous pass).
pub async fn admit(
    engine: &Engine,
    route: &Route,
    mut req: Request,
) -> ControlFlow<Response, Request> {
    let user = match engine.signed_in_user(req.extensions()).await {
        Ok(user) => user,
        Err(err) => {
            tracing::error!(error = %err, "reading the signed-in account failed; refusing the request");
            return ControlFlow::Break(unavailable());
        }
    };
    if is_page_read(req.method()) {
        if let Some(refusal) = refusal(route.access, user.as_ref().map(|u| u.is_admin), &req) {
            return ControlFlow::Break(refusal);
        }
    }
    if let Some(user) = user {
        req.extensions_mut().insert(SignedInUser(user));
    }
    ControlFlow::Continue(req)
}

/// Where a page read of a page with `access` goes instead, for a visitor who is an
/// administrator (`Some(true)`), someone else signed in (`Some(false)`) or nobody (`None`).
fn refusal(access: Access, admin: Option<bool>, req: &Request) -> Option<Response> {
    match (access, admin) {
        (Access::SignedIn | Access::Admin, None) => {
            let path = req.uri().path();
            let here = req.uri().path_and_query().map_or(path, |pq| pq.as_str());
            let reason = req
                .extensions()
                .get::<SessionEnded>()
                .map(|ended| ended.0.sign_in_reason());
            Some(Redirect::to(&sign_in_url(here, reason)).into_response())
        }
        (Access::Admin, Some(false)) => {
            Some((StatusCode::FORBIDDEN, "Administrators only.").into_response())
        }
        (Access::SignedOut, Some(_)) => Some(Redirect::to(HOME).into_response()),
        _ => None,
    }
}

/// 503 with `Retry-After: 1`: the database is unreachable for now.
fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
        "The service is unavailable; try again in a moment.",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[test]
    fn protected_paths() {
        assert!(is_protected("/home"));
        assert!(is_protected("/admin/sessions"));
        assert!(is_protected("/account"));
        assert!(!is_protected("/administrator"));
        assert!(!is_protected("/"));
        assert!(!is_protected("/sign-in"));
    }

    fn get(uri: &str) -> Request {
        Request::builder().uri(uri).body(Body::empty()).unwrap()
    }

    fn status_and_location(res: Option<Response>) -> Option<(u16, Option<String>)> {
        res.map(|res| {
            let location = res
                .headers()
                .get(header::LOCATION)
                .map(|l| l.to_str().unwrap().to_owned());
            (res.status().as_u16(), location)
        })
    }

    #[test]
    fn each_access_rule_sends_the_wrong_visitors_away() {
        let sign_in = Some((303, Some("/sign-in?next=%2Fhome%3Fx%3D1".to_owned())));
        let req = get("/home?x=1");
        for (access, admin, expected) in [
            (Access::SignedIn, None, sign_in.clone()),
            (Access::SignedIn, Some(false), None),
            (Access::Admin, None, sign_in.clone()),
            (Access::Admin, Some(false), Some((403, None))),
            (Access::Admin, Some(true), None),
            (
                Access::SignedOut,
                Some(false),
                Some((303, Some(HOME.to_owned()))),
            ),
            (
                Access::SignedOut,
                Some(true),
                Some((303, Some(HOME.to_owned()))),
            ),
            (Access::SignedOut, None, None),
            (Access::Anyone, None, None),
            (Access::Anyone, Some(true), None),
        ] {
            assert_eq!(
                status_and_location(refusal(access, admin, &req)),
                expected,
                "{access:?} {admin:?}"
            );
        }
    }
}
