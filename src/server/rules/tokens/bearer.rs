//! Reading an API client's credential from `Authorization: Bearer <token>` (or
//! `Authorization: Token <token>`, as Django REST framework clients send it).

use axum::http::{header, HeaderMap};

/// The longest credential read; anything longer is refused unread.
pub const MAX_CREDENTIAL: usize = 4096;

/// What an `Authorization` header carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An opaque API token (its SHA-256 is the session's id hash).
    Token(String),
    /// A signed JWT access token (its `sid` claim names the session).
    Jwt(String),
    /// A `Bearer`/`Token` header that cannot be a credential (empty, too long, not ASCII).
    Malformed,
}

/// The request's API credential, if it sent `Authorization: Bearer …` or `Token …` (scheme
/// case-insensitive). Other schemes (`Basic`, …) are not ours: `None`.
pub fn credential_of(headers: &HeaderMap) -> Option<Credential> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let text = std::str::from_utf8(value).ok()?;
    let (scheme, rest) = text.trim().split_once(' ')?;
    if !(scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")) {
        return None;
    }
    let token = rest.trim();
    if token.is_empty()
        || token.len() > MAX_CREDENTIAL
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Some(Credential::Malformed);
    }
    Some(if token.bytes().filter(|&b| b == b'.').count() == 2 {
        Credential::Jwt(token.to_owned())
    } else {
        Credential::Token(token.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn bearer_and_token_schemes_are_read() {
        assert_eq!(
            credential_of(&with("Bearer abc")),
            Some(Credential::Token("abc".into()))
        );
        assert_eq!(
            credential_of(&with("token abc")),
            Some(Credential::Token("abc".into()))
        );
        assert_eq!(
            credential_of(&with("Bearer a.b.c")),
            Some(Credential::Jwt("a.b.c".into()))
        );
        assert_eq!(credential_of(&with("Basic dXNlcjpwYXNz")), None);
        assert_eq!(credential_of(&HeaderMap::new()), None);
        assert_eq!(
            credential_of(&with("Bearer ")),
            None,
            "no token part at all"
        );
        assert_eq!(
            credential_of(&with(&format!("Bearer {}", "x".repeat(5000)))),
            Some(Credential::Malformed)
        );
    }
}
