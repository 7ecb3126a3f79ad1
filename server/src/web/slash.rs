//! Trailing slashes: `/sign-in/` means `/sign-in` (SPEC §4).

use axum::{
    extract::Request,
    http::{Method, Uri},
    response::{IntoResponse, Redirect, Response},
};

/// `path` without trailing slashes, and with leading slashes collapsed to one so that the
/// result can never be read as `//other.host`.
pub fn trimmed_path(path: &str) -> Option<String> {
    if path == "/" || !path.ends_with('/') {
        return None;
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = trimmed.trim_start_matches('/');
    Some(format!("/{trimmed}"))
}

/// A request whose path ends in a slash: `GET`/`HEAD` get a redirect to the path without it
/// (308, keeping the query: returned); other methods are rewritten in place to go on as if the
/// slash were absent (`None`). Any other request goes on unchanged (`None`).
pub fn without_trailing_slash(req: &mut Request) -> Option<Response> {
    let path = trimmed_path(req.uri().path())?;
    let target = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        // Only ever to a same-site path (a raw `/\\host/` must not become `/\\host`).
        auto_logout::safe_next(&target)?;
        return Some(Redirect::permanent(&target).into_response());
    }
    if let Ok(uri) = target.parse::<Uri>() {
        *req.uri_mut() = uri;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_slashes_are_removed_and_hosts_cannot_appear() {
        assert_eq!(trimmed_path("/sign-in/").as_deref(), Some("/sign-in"));
        assert_eq!(trimmed_path("/a/b//").as_deref(), Some("/a/b"));
        assert_eq!(
            trimmed_path("//evil.example/").as_deref(),
            Some("/evil.example")
        );
        assert_eq!(trimmed_path("/"), None);
        assert_eq!(trimmed_path("/home"), None);
        assert!(auto_logout::safe_next(&trimmed_path("/\\evil.example/").unwrap()).is_none());
    }
}
