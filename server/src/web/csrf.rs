//! CSRF protection for every state-changing request (forms, server functions, the API).
//!
//! Browsers label each request with where it came from: `Sec-Fetch-Site` in current browsers,
//! `Origin` on every cross-origin POST for years. A request with an unsafe method is refused
//! when either says it came from another site. A request with neither header (and no
//! `Referer` from another site) does not come from a browser acting for a visitor, so it cannot
//! carry a victim's cookie against their will, and passes.

use axum::{
    extract::Request,
    http::{
        header,
        uri::{Authority, Uri},
        HeaderMap, Method, StatusCode,
    },
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
        .and_then(|v| v.parse::<Authority>().ok());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    // The origin (or referrer) names this host and port. A port that is its scheme's default
    // is not written in `Origin`; `Host` carries it only when it is not the default either.
    let origin_matches = |value: &str| -> bool {
        let Ok(uri) = value.parse::<Uri>() else {
            return false;
        };
        let (Some(scheme), Some(origin)) = (uri.scheme_str(), uri.authority()) else {
            return false;
        };
        let default_port = match scheme {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        };
        let Some(host) = host.as_ref() else {
            return false;
        };
        origin.host().eq_ignore_ascii_case(host.host())
            && origin.port_u16().filter(|p| Some(*p) != default_port) == host.port_u16()
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.to_str().is_ok_and(origin_matches);
    }
    if let Some(referer) = headers.get(header::REFERER) {
        return referer.to_str().is_ok_and(origin_matches);
    }
    true
}

/// The 403 answer for a state change sent by another site; `None` when the request may go on.
pub fn refusal(req: &Request) -> Option<Response> {
    if is_same_origin_request(req.method(), req.headers()) {
        return None;
    }
    tracing::warn!(path = %req.uri().path(), "refused cross-site request");
    Some(
        (
            StatusCode::FORBIDDEN,
            [(header::CACHE_CONTROL, "no-store")],
            "Cross-site request refused. Reload the page and try again.",
        )
            .into_response(),
    )
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
        // Letter case does not matter; port and user info do.
        assert!(is_same_origin_request(
            &Method::POST,
            &h(&[("referer", "HTTP://127.0.0.1:3000/home?x=1")])
        ));
        assert!(!is_same_origin_request(
            &Method::POST,
            &h(&[("origin", "http://127.0.0.1:3001")])
        ));
        assert!(!is_same_origin_request(
            &Method::POST,
            &h(&[("origin", "http://127.0.0.1")])
        ));
        assert!(!is_same_origin_request(
            &Method::POST,
            &h(&[("referer", "http://127.0.0.1:3000@evil.example/")])
        ));
        assert!(!is_same_origin_request(
            &Method::DELETE,
            &h(&[("referer", "https://evil.example/x")])
        ));
    }

    #[test]
    fn a_default_port_is_the_same_origin_written_or_not() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "sessions.example".parse().unwrap());
        for origin in ["https://sessions.example", "https://sessions.example:443"] {
            headers.insert(header::ORIGIN, origin.parse().unwrap());
            assert!(is_same_origin_request(&Method::POST, &headers), "{origin}");
        }
        headers.insert(
            header::ORIGIN,
            "https://sessions.example:8443".parse().unwrap(),
        );
        assert!(!is_same_origin_request(&Method::POST, &headers));
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert!(is_same_origin_request(&Method::POST, &h(&[])));
    }
}
