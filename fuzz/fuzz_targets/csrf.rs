//! The CSRF rule over any headers: it never panics, and a state change that carries the
//! session cookie is let through only with a same-origin label.
#![no_main]

use auto_logout::{
    cookies::CookiePolicy,
    server::{
        csrf::{csrf_verdict, CsrfVerdict},
        layer::cookie::{session_cookie_of, SessionCookie},
    },
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(&line[colon + 1..]),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    for secure in [false, true] {
        let verdict = csrf_verdict(&Method::POST, &headers, CookiePolicy { secure });
        let labelled = ["origin", "referer", "sec-fetch-site"]
            .iter()
            .any(|name| headers.contains_key(*name));
        let policy = CookiePolicy { secure };
        let with_cookie = session_cookie_of(&headers, policy.session_name()) != SessionCookie::Absent;
        if !labelled && with_cookie && !headers.contains_key("authorization") {
            // The session cookie without any label is refused, like a cross-site request.
            assert_eq!(verdict, CsrfVerdict::UnlabelledWithCookie, "{headers:?}");
        }
        if verdict == CsrfVerdict::NoAmbientCredential {
            assert!(!labelled, "{headers:?}");
        }
        assert_eq!(
            csrf_verdict(&Method::GET, &headers, CookiePolicy { secure }),
            CsrfVerdict::SafeMethod
        );
    }
});
