//! CSRF protection for every state-changing request (forms, server functions, the API).
//!
//! Browsers label each request with where it came from: `Sec-Fetch-Site` in current browsers,
//! `Origin` on every cross-origin POST for years. A request with an unsafe method is refused
//! when either says it came from another site. A request with neither header (and no
//! `Referer` from another site) does not come from a browser acting for a visitor, so it cannot
//! carry a victim's cookie against their will, and passes.

use axum::{
    extract::Request,
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Whether a request with these headers may change state.
pub fn is_same_origin_request(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let origin_matches = |value: &str| -> bool {
        let Ok(url) = url::Url::parse(value) else {
            return false;
        };
        let Some(origin_host) = url.host_str() else {
            return false;
        };
        let authority = match url.port() {
            Some(port) => format!("{origin_host}:{port}"),
            None => origin_host.to_owned(),
        };
        host.as_deref() == Some(authority.to_ascii_lowercase().as_str())
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.to_str().is_ok_and(origin_matches);
    }
    if let Some(referer) = headers.get(header::REFERER) {
        return referer.to_str().is_ok_and(origin_matches);
    }
    true
}

/// Refuses cross-site state-changing requests with 403 before they reach any handler.
pub async fn csrf_guard(req: Request, next: Next) -> Response {
    if is_same_origin_request(req.method(), req.headers()) {
        return next.run(req).await;
    }
    tracing::warn!(path = %req.uri().path(), "refused cross-site request");
    (
        StatusCode::FORBIDDEN,
        [(header::CACHE_CONTROL, "no-store")],
        "Cross-site request refused. Reload the page and try again.",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(header::HOST, "127.0.0.1:3000".parse().unwrap());
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn safe_methods_always_pass() {
        assert!(is_same_origin_request(
            &Method::GET,
            &h(&[("sec-fetch-site", "cross-site")])
        ));
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(is_same_origin_request(
            &Method::POST,
            &h(&[("sec-fetch-site", "same-origin")])
        ));
        assert!(is_same_origin_request(
            &Method::POST,
            &h(&[("sec-fetch-site", "none")])
        ));
        assert!(!is_same_origin_request(
            &Method::POST,
            &h(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(!is_same_origin_request(
            &Method::POST,
            &h(&[("sec-fetch-site", "same-site")])
        ));
    }

    #[test]
    fn origin_must_name_this_host() {
        assert!(is_same_origin_request(
            &Method::POST,
            &h(&[("origin", "http://127.0.0.1:3000")])
        ));
        assert!(!is_same_origin_request(
            &Method::POST,
            &h(&[("origin", "https://evil.example")])
        ));
        assert!(!is_same_origin_request(
            &Method::POST,
            &h(&[("origin", "null")])
        ));
        assert!(!is_same_origin_request(
            &Method::DELETE,
            &h(&[("referer", "https://evil.example/x")])
        ));
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert!(is_same_origin_request(&Method::POST, &h(&[])));
    }
}
