//! The session cookie as tower-sessions reads it: the layer must see exactly the id that
//! axum-login will use, or a crafted cookie could slip past the limits.

use axum::http::{header, HeaderMap, HeaderValue};
use std::str::FromStr;
use tower_sessions::{cookie::Cookie, session::Id};

/// Every `name=value` pair of the request's `Cookie` headers, parsed exactly as tower-cookies
/// (and so tower-sessions) parses them: split on `;`, trimmed, percent-decoded. The pairs
/// borrow from the headers (nothing is copied unless percent-decoding changes it).
fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, Option<Cookie<'_>>)> + '_ {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
        .flat_map(|v| v.split(';'))
        .map(|raw| (raw, Cookie::parse_encoded(raw).ok()))
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
pub fn strip_session_cookie(headers: &mut HeaderMap, name: &str) {
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

/// Whether a response sets the session cookie `name` (a sign-in answering it).
pub fn sets_session_cookie(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(format!("{name}=").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = crate::cookies::SESSION_COOKIE;

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
