//! Page access: anonymous visitors to protected pages go to sign-in, signed-in visitors to the
//! sign-in page go home, non-administrators get 403 on admin pages; and no response that may
//! hold personal content is cached.

use super::routes::{route_of, Access};
use auto_logout::{forms::HOME, server::SessionEnded};
use auto_logout::{redirect::sign_in_url, server::AuthSession};
use axum::{
    extract::Request,
    http::{Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

/// Paths only a signed-in person may see (see [`super::routes`]).
pub fn is_protected(path: &str) -> bool {
    matches!(route_of(path).access, Access::SignedIn | Access::Admin)
}

/// Sends visitors where they belong before any page renders.
pub async fn page_access(auth: AuthSession, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let is_page_read = matches!(*req.method(), Method::GET | Method::HEAD);
    let access = route_of(path).access;
    if is_page_read && matches!(access, Access::SignedIn | Access::Admin) {
        match &auth.user {
            None => {
                let here = req.uri().path_and_query().map_or(path, |pq| pq.as_str());
                let reason = req
                    .extensions()
                    .get::<SessionEnded>()
                    .map(|ended| ended.0.sign_in_reason());
                return Redirect::to(&sign_in_url(here, reason)).into_response();
            }
            Some(user) if access == Access::Admin && !user.is_admin => {
                return (StatusCode::FORBIDDEN, "Administrators only.").into_response();
            }
            Some(_) => {}
        }
    }
    if is_page_read && access == Access::SignedOut && auth.user.is_some() {
        return Redirect::to(HOME).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_paths() {
        assert!(is_protected("/home"));
        assert!(is_protected("/admin/sessions"));
        assert!(is_protected("/account"));
        assert!(!is_protected("/administrator"));
        assert!(!is_protected("/"));
        assert!(!is_protected("/sign-in"));
    }
}
