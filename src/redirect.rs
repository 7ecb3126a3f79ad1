//! Which `next` targets a browser may be sent to after sign-in: same-site paths only.

/// The longest `next` we follow; anything longer is not a path a person typed.
const MAX_NEXT_LEN: usize = 2048;
/// A base that cannot be a real host, used only to resolve `next` and check it stays put.
const PROBE_BASE: &str = "http://auto-logout.invalid/";

/// Returns `next` as a same-site path (`/path?query`) when it is safe to redirect to, else `None`.
///
/// Accepted: a path that starts with a single `/`. Refused: absolute and scheme-relative URLs
/// (`https://x`, `//x`), backslash tricks (`/\x`, `\\x`), `javascript:` and other schemes,
/// control characters and whitespace (browsers strip some of them, turning `/\t/x` into `//x`),
/// and percent-encoded forms of the same (`/%2F%2Fx`, `/%5Cx`). The fragment is dropped.
///
/// # Examples
/// ```
/// use auto_logout::safe_next;
/// assert_eq!(safe_next("/home?tab=2").as_deref(), Some("/home?tab=2"));
/// assert_eq!(safe_next("//evil.example"), None);
/// assert_eq!(safe_next("https://evil.example"), None);
/// ```
pub fn safe_next(next: &str) -> Option<String> {
    // What comes out must pass the same checks again unchanged: resolving can turn an
    // accepted input into something the checks refuse (`/%2E%2E/%2F%2E/` resolves to
    // `/%2F%2E/`, which decodes to `//./`), and such an output is not followed either.
    check_next(next).filter(|out| check_next(out).as_deref() == Some(out.as_str()))
}

/// Whether `next` passes the syntactic checks of [`safe_next`]: a path starting with a single
/// `/`, printable ASCII, no backslash, and no decoded form that starts with `//` or holds
/// control characters or whitespace. Resolving it (dot segments) is left to [`safe_next`].
fn looks_local(next: &str) -> bool {
    if next.is_empty() || next.len() > MAX_NEXT_LEN {
        return false;
    }
    if !next.bytes().all(|b| b.is_ascii_graphic()) || next.contains('\\') {
        return false;
    }
    let Some(decoded) = percent_decode(next) else {
        return false;
    };
    decoded.starts_with('/')
        && !decoded.starts_with("//")
        && !decoded.contains('\\')
        && !decoded.chars().any(|c| c.is_control() || c.is_whitespace())
        && next.starts_with('/')
        && !next.starts_with("//")
}

/// One pass of [`safe_next`]'s checks and normalisation.
fn check_next(next: &str) -> Option<String> {
    if !looks_local(next) {
        return None;
    }
    let base = url::Url::parse(PROBE_BASE).ok()?;
    let resolved = base.join(next).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let mut out = resolved.path().to_owned();
    if out.starts_with("//") {
        return None;
    }
    if let Some(query) = resolved.query() {
        out.push('?');
        out.push_str(query);
    }
    // Resolving percent-encodes some characters (`` ` `` becomes `%60`): a path that grew past
    // the limit would not pass this check again, so it does not pass now either.
    (out.len() <= MAX_NEXT_LEN).then_some(out)
}

/// The sign-in URL that returns to `next` afterwards: `/sign-in?next=<next>` plus
/// `&reason=<reason>` when given. `next` is percent-encoded; a `next` that is not a local path
/// by [`safe_next`]'s syntactic checks is left out. (The sign-in handler resolves `next` with
/// [`safe_next`] before following it; this function runs in the browser too, where the URL
/// parser that resolving needs would cost more bytes than the rest of the engine.)
///
/// # Examples
/// ```
/// use auto_logout::redirect::sign_in_url;
/// use auto_logout::SignInReason;
/// assert_eq!(sign_in_url("/home?a=1", Some(SignInReason::Idle)), "/sign-in?next=%2Fhome%3Fa%3D1&reason=idle");
/// assert_eq!(sign_in_url("//evil.example", None), "/sign-in");
/// ```
pub fn sign_in_url(next: &str, reason: Option<crate::SignInReason>) -> String {
    sign_in_url_at("/sign-in", next, reason)
}

/// [`sign_in_url`] for an application whose sign-in page is at `sign_in_path` (for example
/// `/login`). A `sign_in_path` that is not a local path (another site, a scheme, `//host`)
/// is replaced by `/sign-in`, so that a page's configuration cannot make the countdown an
/// open redirect.
///
/// # Examples
/// ```
/// use auto_logout::redirect::sign_in_url_at;
/// use auto_logout::SignInReason;
/// assert_eq!(sign_in_url_at("/login", "/me", Some(SignInReason::Idle)), "/login?next=%2Fme&reason=idle");
/// assert_eq!(sign_in_url_at("https://evil.example/", "/me", None), "/sign-in?next=%2Fme");
/// ```
pub fn sign_in_url_at(
    sign_in_path: &str,
    next: &str,
    reason: Option<crate::SignInReason>,
) -> String {
    let path = if looks_local(sign_in_path) && !sign_in_path.contains(['?', '#']) {
        sign_in_path
    } else {
        "/sign-in"
    };
    let mut query = form_urlencoded::Serializer::new(String::new());
    if looks_local(next) {
        query.append_pair("next", next);
    }
    if let Some(reason) = reason {
        query.append_pair("reason", reason.as_str());
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Decodes `%XX` escapes (repeatedly, up to a few rounds, to catch double encoding).
/// Returns `None` for invalid UTF-8 after decoding.
fn percent_decode(input: &str) -> Option<String> {
    let mut current = input.to_owned();
    for _ in 0..3 {
        let next = percent_encoding::percent_decode_str(&current)
            .decode_utf8()
            .ok()?
            .into_owned();
        if next == current {
            break;
        }
        current = next;
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_url_keeps_only_local_paths() {
        assert_eq!(
            sign_in_url("/sessions?x=1", None),
            "/sign-in?next=%2Fsessions%3Fx%3D1"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "/%2F%2Fevil",
            "home",
            "/a b",
        ] {
            assert_eq!(sign_in_url(bad, None), "/sign-in", "{bad}");
        }
    }

    #[test]
    fn same_site_paths_are_kept() {
        assert_eq!(safe_next("/home").as_deref(), Some("/home"));
        assert_eq!(safe_next("/sessions?x=1").as_deref(), Some("/sessions?x=1"));
        assert_eq!(safe_next("/a/b#frag").as_deref(), Some("/a/b"));
        assert_eq!(safe_next("/caf%C3%A9").as_deref(), Some("/caf%C3%A9"));
    }

    #[test]
    fn other_sites_and_schemes_are_refused() {
        for bad in [
            "",
            "home",
            "https://evil.example",
            "http://evil.example/home",
            "//evil.example",
            "///evil.example",
            "\\\\evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "https:evil.example",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "/%2F%2Fevil.example",
            "/%2f/evil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%255Cevil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            " /home",
            "/home page",
            "data:text/html,hi",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn a_safe_path_is_still_safe_when_checked_again() {
        // Found by fuzzing: resolving encodes `` ` `` as `%60`, so a path just under the limit
        // came out over it, and the second check (after a failed sign-in) dropped it.
        let grows = format!("/{}", "`".repeat(1000));
        assert_eq!(safe_next(&grows), None);
        let fits = format!("/{}", "`".repeat(600));
        let once = safe_next(&fits).unwrap();
        assert_eq!(safe_next(&once).as_deref(), Some(once.as_str()));
        // Also found by fuzzing: dot segments that resolve into an encoded `//`.
        assert_eq!(safe_next("/%2E%2E/%2F%2E/"), None);
    }

    #[test]
    fn oversized_input_is_refused() {
        let long = format!("/{}", "a".repeat(MAX_NEXT_LEN));
        assert_eq!(safe_next(&long), None);
    }

    #[test]
    fn dot_segments_cannot_climb_to_another_host() {
        assert_eq!(
            safe_next("/../../evil.example").as_deref(),
            Some("/evil.example")
        );
        assert_eq!(safe_next("/./home").as_deref(), Some("/home"));
    }
}
