//! Cross-site request forgery (SPEC §6): which state-changing requests are refused.
//!
//! Browsers label each request with where it came from: `Sec-Fetch-Site` in current browsers,
//! `Origin` on every cross-origin request with an unsafe method (and on same-origin ones in
//! current browsers), `Referer` unless a policy strips it. A request with an unsafe method is
//! refused when a label says it came from another site. A request with no label at all did not
//! come from a current browser page, but an old or privacy-hardened browser could still attach
//! a visitor's cookie to it: so an unlabelled request that carries the session cookie is refused
//! too. Without that cookie (a first sign-in, a script) or with a bearer credential (which a
//! browser never attaches by itself, and never to another site's request without CORS), it has
//! no ambient credential to abuse, and passes.

use crate::cookies::CookiePolicy;
use crate::server::{
    layer::cookie::{session_cookie_of, SessionCookie},
    tokens::credential_of,
};
use axum::http::{
    header,
    uri::{Authority, Uri},
    HeaderMap, Method,
};

/// What [`csrf_verdict`] decided about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfVerdict {
    /// `GET`, `HEAD`, `OPTIONS` or `TRACE`: changes nothing, passes.
    SafeMethod,
    /// `Sec-Fetch-Site` is `same-origin` or `none`, or `Origin` (else `Referer`) names this
    /// host and port: passes.
    SameOrigin,
    /// No label, and no ambient credential (no session cookie, or a bearer credential, which
    /// the session layer prefers to the cookie): passes.
    NoAmbientCredential,
    /// A label says another site (or a malformed or `null` origin): refused.
    CrossSite,
    /// No label, but the session cookie: refused.
    UnlabelledWithCookie,
}

impl CsrfVerdict {
    /// Whether the request must be refused (403) before it reaches a handler.
    pub const fn is_refused(self) -> bool {
        matches!(self, Self::CrossSite | Self::UnlabelledWithCookie)
    }
}

/// Whether a request with this method and these headers may change state, for a server
/// whose session cookie is sent as `cookies` says (its name decides what "carries the session
/// cookie" means, read exactly as the session layer reads it).
pub fn csrf_verdict(method: &Method, headers: &HeaderMap, cookies: CookiePolicy) -> CsrfVerdict {
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return CsrfVerdict::SafeMethod;
    }
    let same_origin = if let Some(site) = headers.get("sec-fetch-site") {
        Some(matches!(site.as_bytes(), b"same-origin" | b"none"))
    } else if let Some(origin) = headers.get(header::ORIGIN) {
        Some(origin.to_str().is_ok_and(|o| names_this_host(o, headers)))
    } else {
        headers
            .get(header::REFERER)
            .map(|referer| referer.to_str().is_ok_and(|r| names_this_host(r, headers)))
    };
    match same_origin {
        Some(true) => CsrfVerdict::SameOrigin,
        Some(false) => CsrfVerdict::CrossSite,
        None if credential_of(headers).is_some()
            || session_cookie_of(headers, cookies.session_name()) == SessionCookie::Absent =>
        {
            CsrfVerdict::NoAmbientCredential
        }
        None => CsrfVerdict::UnlabelledWithCookie,
    }
}

/// Whether the origin (or referrer) `value` names the request's `Host` and port. A port that
/// is its scheme's default is not written in `Origin`; `Host` carries it only when it is not
/// the default either. Host names compare without regard to case.
fn names_this_host(value: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    is_plain_origin_of(value, host) || parsed_names_this_host(value, host)
}

/// The usual case, decided without parsing either value: `value` is exactly
/// `http://{host}` or `https://{host}`, for a `host` of letters, digits, dots and dashes with
/// at most a port that is not the scheme's default. Such a pair always passes
/// [`parsed_names_this_host`]; anything else is left to it.
fn is_plain_origin_of(value: &str, host: &str) -> bool {
    let (default_port, rest) = if let Some(rest) = value.strip_prefix("https://") {
        ("443", rest)
    } else if let Some(rest) = value.strip_prefix("http://") {
        ("80", rest)
    } else {
        return false;
    };
    if rest != host {
        return false;
    }
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let plain_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
    let plain_port = port.is_none_or(|port| {
        port != default_port
            && (1..=5).contains(&port.len())
            && !port.starts_with('0')
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok()
    });
    plain_name && plain_port
}

/// [`names_this_host`] by parsing `value` as a URI and `host` as an authority.
fn parsed_names_this_host(value: &str, host: &str) -> bool {
    let Ok(host) = host.parse::<Authority>() else {
        return false;
    };
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
    origin.host().eq_ignore_ascii_case(host.host())
        && origin.port_u16().filter(|p| Some(*p) != default_port) == host.port_u16()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The shortcut only ever says yes where parsing says yes.
        #[test]
        fn a_plain_origin_is_one_that_parsing_accepts(
            scheme in "https?|ftp|HTTP",
            host in "[a-zA-Z0-9.\\-@\\[\\]:_]{0,12}(:[0-9]{0,6})?",
            other in proptest::option::of("[a-z0-9.:/]{0,12}"),
        ) {
            let value = other.unwrap_or_else(|| format!("{scheme}://{host}"));
            if is_plain_origin_of(&value, &host) {
                proptest::prop_assert!(parsed_names_this_host(&value, &host), "{} {}", value, host);
            }
        }
    }

    #[test]
    fn plain_origins_are_recognised_without_parsing() {
        for (origin, host) in [
            ("http://127.0.0.1:3000", "127.0.0.1:3000"),
            ("https://example.com", "example.com"),
            ("http://localhost", "localhost"),
        ] {
            assert!(is_plain_origin_of(origin, host), "{origin} {host}");
        }
        // Left to the parser: a default port written out, case differences, other schemes.
        for (origin, host) in [
            ("http://example.com:80", "example.com:80"),
            ("https://example.com:443", "example.com:443"),
            ("http://Example.com", "example.com"),
            ("ftp://example.com", "example.com"),
            ("http://[::1]:3000", "[::1]:3000"),
            ("http://example.com:03000", "example.com:03000"),
            ("http://example.com/", "example.com"),
        ] {
            assert!(!is_plain_origin_of(origin, host), "{origin} {host}");
        }
    }

    const COOKIES: CookiePolicy = CookiePolicy { secure: false };
    const SESSION: &str = "auto_logout_session=AAAAAAAAAAAAAAAAAAAAAA";

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(header::HOST, "127.0.0.1:3000".parse().unwrap());
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    fn verdict(method: Method, pairs: &[(&'static str, &str)]) -> CsrfVerdict {
        csrf_verdict(&method, &h(pairs), COOKIES)
    }

    #[test]
    fn safe_methods_always_pass() {
        assert_eq!(
            verdict(
                Method::GET,
                &[("sec-fetch-site", "cross-site"), ("cookie", SESSION)]
            ),
            CsrfVerdict::SafeMethod
        );
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        for site in ["same-origin", "none"] {
            assert_eq!(
                verdict(Method::POST, &[("sec-fetch-site", site)]),
                CsrfVerdict::SameOrigin
            );
        }
        for site in ["cross-site", "same-site", "anything"] {
            assert_eq!(
                verdict(Method::POST, &[("sec-fetch-site", site)]),
                CsrfVerdict::CrossSite,
                "{site}"
            );
        }
        // Fetch metadata wins over an origin that would pass.
        assert_eq!(
            verdict(
                Method::POST,
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "http://127.0.0.1:3000")
                ]
            ),
            CsrfVerdict::CrossSite
        );
    }

    #[test]
    fn origin_must_name_this_host() {
        let passes = |pairs: &[(&'static str, &str)]| !verdict(Method::POST, pairs).is_refused();
        assert!(passes(&[("origin", "http://127.0.0.1:3000")]));
        assert!(!passes(&[("origin", "https://evil.example")]));
        assert!(!passes(&[("origin", "null")]));
        // Letter case does not matter; port and user info do.
        assert!(passes(&[("referer", "HTTP://127.0.0.1:3000/home?x=1")]));
        assert!(!passes(&[("origin", "http://127.0.0.1:3001")]));
        assert!(!passes(&[("origin", "http://127.0.0.1")]));
        assert!(!passes(&[(
            "referer",
            "http://127.0.0.1:3000@evil.example/"
        )]));
        assert_eq!(
            verdict(Method::DELETE, &[("referer", "https://evil.example/x")]),
            CsrfVerdict::CrossSite
        );
    }

    #[test]
    fn a_default_port_is_the_same_origin_written_or_not() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "sessions.example".parse().unwrap());
        for origin in ["https://sessions.example", "https://sessions.example:443"] {
            headers.insert(header::ORIGIN, origin.parse().unwrap());
            assert_eq!(
                csrf_verdict(&Method::POST, &headers, COOKIES),
                CsrfVerdict::SameOrigin,
                "{origin}"
            );
        }
        headers.insert(
            header::ORIGIN,
            "https://sessions.example:8443".parse().unwrap(),
        );
        assert!(csrf_verdict(&Method::POST, &headers, COOKIES).is_refused());
    }

    #[test]
    fn unlabelled_requests_pass_only_without_the_session_cookie() {
        assert_eq!(verdict(Method::POST, &[]), CsrfVerdict::NoAmbientCredential);
        assert_eq!(
            verdict(Method::POST, &[("cookie", "theme=dark")]),
            CsrfVerdict::NoAmbientCredential,
            "another cookie is no credential"
        );
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert_eq!(
                verdict(method.clone(), &[("cookie", SESSION)]),
                CsrfVerdict::UnlabelledWithCookie,
                "{method}"
            );
        }
        // Among other cookies, percent-encoded, or malformed: still the session cookie.
        for cookie in [
            "theme=dark; auto_logout_session=AAAAAAAAAAAAAAAAAAAAAA",
            "auto_logout%5Fsession=AAAAAAAAAAAAAAAAAAAAAA",
            "auto_logout_session=not-an-id",
        ] {
            assert!(
                verdict(Method::POST, &[("cookie", cookie)]).is_refused(),
                "{cookie}"
            );
        }
        // With a label, the cookie is fine.
        assert_eq!(
            verdict(
                Method::POST,
                &[("cookie", SESSION), ("origin", "http://127.0.0.1:3000")]
            ),
            CsrfVerdict::SameOrigin
        );
    }

    #[test]
    fn the_cookie_name_follows_the_cookie_policy() {
        let secure = CookiePolicy { secure: true };
        let mut headers = h(&[(
            "cookie",
            "__Host-auto_logout_session=AAAAAAAAAAAAAAAAAAAAAA",
        )]);
        assert_eq!(
            csrf_verdict(&Method::POST, &headers, secure),
            CsrfVerdict::UnlabelledWithCookie
        );
        headers.insert(header::COOKIE, SESSION.parse().unwrap());
        assert_eq!(
            csrf_verdict(&Method::POST, &headers, secure),
            CsrfVerdict::NoAmbientCredential,
            "the plain name is not this server's session cookie"
        );
    }

    #[test]
    fn a_bearer_credential_is_not_ambient() {
        for auth in ["Bearer abcdef", "Token abcdef", "bearer a.b.c"] {
            assert_eq!(
                verdict(
                    Method::POST,
                    &[("authorization", auth), ("cookie", SESSION)]
                ),
                CsrfVerdict::NoAmbientCredential,
                "{auth}"
            );
        }
        // Basic credentials are ambient (browsers resend them): the cookie decides.
        assert!(verdict(
            Method::POST,
            &[("authorization", "Basic YTpi"), ("cookie", SESSION)]
        )
        .is_refused());
        // A cross-site label still refuses a bearer request from a browser page.
        assert!(verdict(
            Method::POST,
            &[
                ("authorization", "Bearer abcdef"),
                ("origin", "https://evil.example")
            ]
        )
        .is_refused());
    }
}
