//! `allowed_hosts` (SPEC §3, §6): a request whose `Host` is not one this server answers to gets
//! 400 before anything else sees it. This stops DNS rebinding, where a page on another site
//! makes the browser send requests to a server on 127.0.0.1 under the attacker's host name.

use super::error::{is_api_path, AppError};
use crate::config::AllowedHosts;
use axum::{
    extract::Request,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

/// The host the request names: the URI's authority when it has one (absolute-form requests
/// and HTTP/2, where it wins over `Host`, RFC 9112 §3.2.2), else its single `Host` header.
/// `None` when it names none, or more than one `Host`.
pub fn requested_host(req: &Request) -> Option<&str> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => return None,
        (host, _) => host,
    };
    match req.uri().authority() {
        Some(authority) => Some(authority.host()),
        None => host.and_then(|h| h.to_str().ok()),
    }
}

/// The 400 answer for a request whose host is not in `allowed_hosts`; `None` when the host is
/// allowed and the request may go on.
pub fn refusal(req: &Request, allowed: &AllowedHosts) -> Option<Response> {
    let host = requested_host(req);
    if host.is_some_and(|host| allowed.allows(host)) {
        return None;
    }
    tracing::warn!(host = ?host, "refused a request for a host that is not allowed");
    const MESSAGE: &str = "This server does not answer to that host name.";
    if is_api_path(req.uri().path()) {
        return Some(
            AppError::new(auto_logout::api_error::ErrorCode::UnknownHost, MESSAGE).into_response(),
        );
    }
    Some(
        (
            StatusCode::BAD_REQUEST,
            [(header::CACHE_CONTROL, "no-store")],
            MESSAGE,
        )
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[test]
    fn one_host_header_or_the_authority_names_the_host() {
        let req = Request::builder()
            .uri("/")
            .header("host", "localhost:3000")
            .body(Body::empty())
            .unwrap();
        assert_eq!(requested_host(&req), Some("localhost:3000"));
        let req = Request::builder()
            .uri("http://example.com/x")
            .body(Body::empty())
            .unwrap();
        assert_eq!(requested_host(&req), Some("example.com"));
        // An absolute-form request names its host in the URI, whatever `Host` says.
        let req = Request::builder()
            .uri("http://evil.example/x")
            .header("host", "localhost")
            .body(Body::empty())
            .unwrap();
        assert_eq!(requested_host(&req), Some("evil.example"));
        let req = Request::builder()
            .uri("/")
            .header("host", "localhost")
            .header("host", "evil.example")
            .body(Body::empty())
            .unwrap();
        assert_eq!(requested_host(&req), None);
    }
}
