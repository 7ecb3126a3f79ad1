//! Which requests count as the person's activity (SPEC §6). A passive request (a status read,
//! a static asset, a poller) never moves the idle deadline.

use super::super::gate::Activity;
use axum::http::{HeaderMap, HeaderName, Method};

/// The header a client sets (to `1`) to make any request passive.
pub const PASSIVE_HEADER: &str = "x-session-passive";

/// [`PASSIVE_HEADER`] as a header name (looked up without parsing it on every request).
const PASSIVE_HEADER_NAME: HeaderName = HeaderName::from_static(PASSIVE_HEADER);

/// The passive requests of an application: exact reads, exact paths (any method), path
/// prefixes, and anything sent with [`PASSIVE_HEADER`]`: 1`. Everything else is activity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassiveRule {
    reads: Vec<String>,
    paths: Vec<String>,
    prefixes: Vec<String>,
}

impl PassiveRule {
    /// Only requests marked with [`PASSIVE_HEADER`] are passive.
    pub fn new() -> Self {
        Self::default()
    }

    /// `GET` and `HEAD` of exactly `path` are passive (a status endpoint).
    #[must_use]
    pub fn read(mut self, path: impl Into<String>) -> Self {
        self.reads.push(path.into());
        self
    }

    /// Any request to exactly `path` is passive (a status-reading RPC endpoint such as a
    /// server function; pass its path from the function itself, not as a literal).
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Every path starting with `prefix` is passive (static assets).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefixes.push(prefix.into());
        self
    }

    /// Whether a request with this method, path and headers is the person's activity.
    pub fn activity(&self, method: &Method, path: &str, headers: &HeaderMap) -> Activity {
        let marked = headers
            .get(PASSIVE_HEADER_NAME)
            .is_some_and(|v| v.as_bytes() == b"1");
        let is_read = *method == Method::GET || *method == Method::HEAD;
        let passive = marked
            || (is_read && self.reads.iter().any(|p| p == path))
            || self.paths.iter().any(|p| p == path)
            || self.prefixes.iter().any(|p| path.starts_with(p.as_str()));
        if passive {
            Activity::Passive
        } else {
            Activity::Active
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> PassiveRule {
        PassiveRule::new()
            .read("/api/v1/session")
            .path("/api/session_status")
            .prefix("/pkg/")
    }

    #[test]
    fn reads_paths_prefixes_and_the_header_are_passive() {
        let none = HeaderMap::new();
        let r = rule();
        assert_eq!(
            r.activity(&Method::GET, "/api/v1/session", &none),
            Activity::Passive
        );
        assert_eq!(
            r.activity(&Method::POST, "/api/v1/session", &none),
            Activity::Active
        );
        assert_eq!(
            r.activity(&Method::POST, "/api/session_status", &none),
            Activity::Passive
        );
        assert_eq!(
            r.activity(&Method::POST, "/api/session_status_and_more", &none),
            Activity::Active,
            "exact paths, not prefixes"
        );
        assert_eq!(
            r.activity(&Method::GET, "/pkg/app.js", &none),
            Activity::Passive
        );
        assert_eq!(r.activity(&Method::GET, "/home", &none), Activity::Active);
        let mut marked = HeaderMap::new();
        marked.insert(PASSIVE_HEADER, "1".parse().unwrap());
        assert_eq!(
            r.activity(&Method::POST, "/home", &marked),
            Activity::Passive
        );
        marked.insert(PASSIVE_HEADER, "yes".parse().unwrap());
        assert_eq!(
            r.activity(&Method::POST, "/home", &marked),
            Activity::Active
        );
    }
}
