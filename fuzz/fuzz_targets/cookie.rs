//! The session cookie as the session layer reads it from any `Cookie` headers.
#![no_main]

use axum::http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use auto_logout::server::layer::cookie::{session_cookie_of, SessionCookie};

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for part in data.split(|b| *b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(part) {
            headers.append(header::COOKIE, value);
        }
    }
    for name in [
        auto_logout::cookies::SESSION_COOKIE,
        auto_logout::cookies::SECURE_SESSION_COOKIE,
    ] {
        if let SessionCookie::Id(id) = session_cookie_of(&headers, name) {
            // An id the layer accepts is one tower-sessions can parse back.
            assert_eq!(id.to_string().parse::<tower_sessions::session::Id>().ok(), Some(id));
        }
    }
});
