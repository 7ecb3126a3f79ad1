//! The session cookie as tower-sessions reads it: the layer must see exactly the id that
//! axum-login will use, or a crafted cookie could slip past the limits.

use axum::http::{header, HeaderMap, HeaderValue};
use std::{borrow::Cow, str::FromStr};
use tower_sessions::{cookie::Cookie, session::Id};

/// A cookie's name and value, borrowed from the header unless decoding changed them.
type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// One `;`-separated piece of a `Cookie` header as tower-cookies reads it: `name=value`, both
/// trimmed and percent-decoded; `None` when the piece is not a cookie (no `=`, an empty name,
/// or decoding that makes invalid UTF-8). A piece without `%` decodes to itself, so it is
/// split in place; one with `%` goes through the `cookie` crate, as tower-cookies' does.
fn parse_pair(raw: &str) -> Option<Pair<'_>> {
    if raw.contains('%') {
        let cookie = Cookie::parse_encoded(raw).ok()?;
        let (name, value) = cookie.name_value();
        return Some((Cow::Owned(name.to_owned()), Cow::Owned(value.to_owned())));
    }
    let (name, value) = raw.split_once('=')?;
    let name = name.trim();
    (!name.is_empty()).then(|| (Cow::Borrowed(name), Cow::Borrowed(value.trim())))
}

/// Every piece of the request's `Cookie` headers with the cookie it holds, if any (see
/// [`parse_pair`]). The pieces borrow from the headers; only percent-decoding copies.
fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, Option<Pair<'_>>)> + '_ {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
        .flat_map(|v| v.split(';'))
        .map(|raw| (raw, parse_pair(raw)))
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
        .filter_map(|(_, pair)| pair)
        .filter(|(cookie, _)| cookie == name)
        .last()
    {
        None => SessionCookie::Absent,
        Some((_, value)) => {
            Id::from_str(&value).map_or(SessionCookie::Malformed, SessionCookie::Id)
        }
    }
}

/// Removes every cookie `name` (however encoded) from the request, keeping any others.
pub fn strip_session_cookie(headers: &mut HeaderMap, name: &str) {
    let kept: Vec<String> = cookie_pairs(headers)
        .filter(|(_, pair)| pair.as_ref().is_none_or(|(cookie, _)| cookie != name))
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

    proptest::proptest! {
        /// Every piece of a header is read as the `cookie` crate reads it for tower-cookies.
        #[test]
        fn pieces_are_read_as_the_cookie_crate_reads_them(
            header in "[a-z_ =;%0-9A-Fg\t\u{a0}\u{3000}\"é]{0,24}"
        ) {
            for raw in header.split(';') {
                let ours = parse_pair(raw).map(|(n, v)| (n.into_owned(), v.into_owned()));
                let theirs = Cookie::parse_encoded(raw)
                    .ok()
                    .map(|c| (c.name().to_owned(), c.value().to_owned()));
                proptest::prop_assert_eq!(ours, theirs, "{:?}", raw);
            }
        }
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
