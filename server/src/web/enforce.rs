//! The session layer of DESIGN.md's request flow: cookie -> gate (cached load, limits,
//! coalesced activity) -> handler. An expired or ended session makes the request anonymous
//! (its cookie is removed before tower-sessions sees it); API calls get 401 JSON instead.

use super::error::api_error;
use crate::state::AppState;
use auto_logout::server::{secret::hash_secret, Activity, ClientInfo, SessionEnded, Verdict};
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::str::FromStr;
use tower_sessions::{cookie::Cookie, session::Id};

/// Server-function paths that only read status and so never count as activity.
const PASSIVE_SERVER_FNS: &[&str] = &["/api/session_status", "/api/public_settings"];

/// Whether a request is passive (SPEC §6): status reads, static assets, and anything sent
/// with `X-Session-Passive: 1`.
pub fn is_passive(method: &axum::http::Method, path: &str, headers: &HeaderMap) -> bool {
    let marked = headers
        .get("x-session-passive")
        .is_some_and(|v| v.as_bytes() == b"1");
    let status_read = (method == axum::http::Method::GET && path == "/api/v1/session")
        || PASSIVE_SERVER_FNS.iter().any(|p| path.starts_with(p));
    let asset =
        path.starts_with("/pkg/") || matches!(path, "/favicon.ico" | "/robots.txt" | "/healthz");
    marked || status_read || asset
}

/// Every `name=value` pair of the request's `Cookie` headers, parsed exactly as tower-cookies
/// (and so tower-sessions) parses them: split on `;`, trimmed, percent-decoded.
fn cookie_pairs(
    headers: &HeaderMap,
) -> impl Iterator<Item = (String, Option<Cookie<'static>>)> + '_ {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
        .flat_map(|v| v.split(';'))
        .map(|raw| (raw.to_owned(), Cookie::parse_encoded(raw.to_owned()).ok()))
}

/// What the request's session cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCookie {
    /// No session cookie.
    Absent,
    /// The id tower-sessions will use (the last cookie of that name, as its jar keeps).
    Id(Id),
    /// A session cookie that is not a valid id.
    Malformed,
}

/// The session cookie `name` as tower-sessions will read it.
pub fn session_cookie_of(headers: &HeaderMap, name: &str) -> SessionCookie {
    match cookie_pairs(headers)
        .filter_map(|(_, cookie)| cookie)
        .filter(|cookie| cookie.name() == name)
        .last()
    {
        None => SessionCookie::Absent,
        Some(cookie) => {
            Id::from_str(cookie.value()).map_or(SessionCookie::Malformed, SessionCookie::Id)
        }
    }
}

/// Removes every cookie `name` (however encoded) from the request, keeping any others.
fn strip_session_cookie(headers: &mut HeaderMap, name: &str) {
    let kept: Vec<String> = cookie_pairs(headers)
        .filter(|(_, cookie)| cookie.as_ref().is_none_or(|c| c.name() != name))
        .map(|(raw, _)| raw.trim().to_owned())
        .filter(|raw| !raw.is_empty())
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&kept.join("; ")) {
            headers.insert(header::COOKIE, value);
        }
    }
}

/// Runs the gate for requests that carry a session cookie.
pub async fn enforce_session(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let cookies = state.config.cookies();
    let name = cookies.session_name();
    let id = match session_cookie_of(req.headers(), name) {
        SessionCookie::Absent => return next.run(req).await,
        SessionCookie::Malformed => {
            // Nothing to check: make sure nothing downstream reads it either.
            strip_session_cookie(req.headers_mut(), name);
            return next.run(req).await;
        }
        SessionCookie::Id(id) => id,
    };
    let id_hash = hash_secret(&id.to_string());
    let path = req.uri().path().to_owned();
    let activity = if is_passive(req.method(), &path, req.headers()) {
        Activity::Passive
    } else {
        Activity::Active
    };
    let client = req
        .extensions()
        .get::<ClientInfo>()
        .cloned()
        .unwrap_or_default();
    let verdict = match state.gate.check(&id_hash, activity, &client).await {
        Ok(verdict) => verdict,
        Err(err) => {
            tracing::error!(error = %err, "session check failed; refusing the request");
            return super::error::AppError::from(err).into_response();
        }
    };
    match verdict {
        Verdict::Active(active) => {
            req.extensions_mut().insert(active);
            next.run(req).await
        }
        Verdict::Unknown | Verdict::Ended(_) => {
            let ended = match verdict {
                Verdict::Ended(reason) => Some(reason),
                _ => None,
            };
            // The JSON API, and server functions that would act for the person, answer 401; passive
            // status reads go on as anonymous so that they can report why the session ended.
            let refuse = path.starts_with("/api/v1/")
                || (path.starts_with("/api/") && activity == Activity::Active);
            let mut res = if refuse && ended.is_some() {
                api_error(
                    StatusCode::UNAUTHORIZED,
                    "session_ended",
                    &state.config.message,
                )
            } else {
                strip_session_cookie(req.headers_mut(), name);
                if let Some(reason) = ended {
                    req.extensions_mut().insert(SessionEnded(reason));
                }
                next.run(req).await
            };
            // Remove the dead cookie, unless this very response sets a new session (a sign-in
            // over a stale cookie): deleting after setting would sign the person out again.
            let sets_session = res
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .any(|v| v.as_bytes().starts_with(format!("{name}=").as_bytes()));
            if !sets_session {
                if let Ok(value) = HeaderValue::from_str(&cookies.session_removal()) {
                    res.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    const NAME: &str = auto_logout::cookies::SESSION_COOKIE;

    #[test]
    fn passive_requests() {
        let none = HeaderMap::new();
        assert!(is_passive(&Method::GET, "/api/v1/session", &none));
        assert!(!is_passive(&Method::POST, "/api/v1/session/extend", &none));
        assert!(is_passive(&Method::GET, "/pkg/auto-logout.js", &none));
        assert!(!is_passive(&Method::GET, "/home", &none));
        let mut marked = HeaderMap::new();
        marked.insert("x-session-passive", "1".parse().unwrap());
        assert!(is_passive(&Method::GET, "/home", &marked));
    }

    #[test]
    fn the_cookie_is_read_as_tower_sessions_reads_it() {
        let id = Id::default();
        let mut h = HeaderMap::new();
        for raw in [
            format!("auto_logout_session =junk; auto_logout_session={id}"),
            format!("auto_logout%5Fsession={id}"),
            format!("a=1; auto_logout_session=junk;auto_logout_session={id}"),
        ] {
            h.insert(header::COOKIE, raw.parse().unwrap());
            assert_eq!(session_cookie_of(&h, NAME), SessionCookie::Id(id), "{raw}");
            let mut stripped = h.clone();
            strip_session_cookie(&mut stripped, NAME);
            assert_eq!(
                session_cookie_of(&stripped, NAME),
                SessionCookie::Absent,
                "{raw}"
            );
        }
        h.insert(
            header::COOKIE,
            "auto_logout_session=not-an-id".parse().unwrap(),
        );
        assert_eq!(session_cookie_of(&h, NAME), SessionCookie::Malformed);
    }

    #[test]
    fn other_cookies_survive_stripping() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; auto_logout_session=xyz; b=2".parse().unwrap(),
        );
        strip_session_cookie(&mut h, NAME);
        assert_eq!(h.get(header::COOKIE).unwrap(), "a=1; b=2");
    }
}
