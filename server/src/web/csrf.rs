//! CSRF protection for every state-changing request (forms, server functions, the API): the
//! engine decides ([`csrf_verdict`]: a cross-site label, or no label at all on a request that
//! carries the session cookie, is refused); this answers its refusal with 403.

use auto_logout::{
    cookies::CookiePolicy,
    server::csrf::{csrf_verdict, CsrfVerdict},
};
use axum::{
    extract::Request,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

/// The 403 answer for a state change the engine refuses (sent by another site, or carrying
/// the session cookie without saying where it came from); `None` when the request may go on.
/// `cookies` names this server's session cookie.
pub fn refusal(req: &Request, cookies: CookiePolicy) -> Option<Response> {
    let verdict = csrf_verdict(req.method(), req.headers(), cookies);
    if !verdict.is_refused() {
        return None;
    }
    let message = match verdict {
        CsrfVerdict::UnlabelledWithCookie => {
            tracing::warn!(path = %req.uri().path(), "refused a state change without Origin, Referer or Sec-Fetch-Site");
            "Request refused: it does not say which page sent it. Reload the page and try again."
        }
        _ => {
            tracing::warn!(path = %req.uri().path(), "refused cross-site request");
            "Cross-site request refused. Reload the page and try again."
        }
    };
    Some(
        (
            StatusCode::FORBIDDEN,
            [(header::CACHE_CONTROL, "no-store")],
            message,
        )
            .into_response(),
    )
}
