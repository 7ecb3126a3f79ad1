//! The cookies the product sets: their names and attributes, defined once for the server and
//! the pages (SPEC §6).

/// The session cookie over plain HTTP (`cookie_secure = false`).
pub const SESSION_COOKIE: &str = "auto_logout_session";
/// The session cookie with `cookie_secure`: the `__Host-` prefix makes browsers insist on
/// `Secure`, `Path=/` and no `Domain`, so no other host or plain-HTTP page can set it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-auto_logout_session";
/// The one-time notice for the landing page (e.g. "You have been signed out.").
pub const FLASH_COOKIE: &str = "auto_logout_flash";
/// The flash value after a sign-out.
pub const FLASH_SIGNED_OUT: &str = "signed_out";

/// The longest lifetime browsers keep a cookie (RFC 6265bis caps `Max-Age` at 400 days).
pub const BROWSER_COOKIE_MAX: std::time::Duration = std::time::Duration::from_secs(400 * 86_400);

/// How long a "Remember me" session cookie lives after a sign-in at `now`: as long as the
/// remembered session's absolute limit (`None`: no absolute limit), and never past what
/// browsers keep. The idle limit is the server's to enforce.
pub fn remember_cookie_expiry(
    now: crate::UnixMillis,
    absolute: Option<std::time::Duration>,
) -> time::OffsetDateTime {
    let lifetime = absolute.map_or(BROWSER_COOKIE_MAX, |d| d.min(BROWSER_COOKIE_MAX));
    let lifetime_ms = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX);
    let until_ms = now.as_millis().saturating_add(lifetime_ms);
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(until_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// How cookies are sent on this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CookiePolicy {
    /// Add `Secure` (and use the `__Host-` session cookie name): the site is served over HTTPS.
    pub secure: bool,
}

impl CookiePolicy {
    /// The session cookie's name.
    pub const fn session_name(self) -> &'static str {
        if self.secure {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    fn attributes(self, max_age: u32) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
    }

    /// The `Set-Cookie` value that deletes the session cookie.
    pub fn session_removal(self) -> String {
        format!("{}=; {}", self.session_name(), self.attributes(0))
    }

    /// The `Set-Cookie` value that leaves `value` for the landing page for a minute.
    pub fn flash(self, value: &str) -> String {
        format!("{FLASH_COOKIE}={value}; {}", self.attributes(60))
    }

    /// The `Set-Cookie` value that consumes the flash notice.
    pub fn flash_removal(self) -> String {
        format!("{FLASH_COOKIE}=; {}", self.attributes(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_cookies_use_the_host_prefix_and_the_secure_attribute() {
        let secure = CookiePolicy { secure: true };
        assert_eq!(secure.session_name(), "__Host-auto_logout_session");
        let removal = secure.session_removal();
        assert!(
            removal.starts_with("__Host-auto_logout_session=;"),
            "{removal}"
        );
        assert!(
            removal.contains("Max-Age=0") && removal.contains("; Secure"),
            "{removal}"
        );
        assert!(
            removal.contains("Path=/") && !removal.contains("Domain"),
            "{removal}"
        );
        assert!(secure.flash(FLASH_SIGNED_OUT).ends_with("; Secure"));
        assert!(secure
            .flash_removal()
            .contains("Max-Age=0; HttpOnly; SameSite=Lax; Secure"));
    }

    #[test]
    fn remembered_cookies_last_the_absolute_limit_at_most_400_days() {
        let now = crate::UnixMillis(1_700_000_000_000);
        let day = std::time::Duration::from_secs(86_400);
        let at = |d| remember_cookie_expiry(now, d).unix_timestamp();
        assert_eq!(at(Some(30 * day)), 1_700_000_000 + 30 * 86_400);
        assert_eq!(at(Some(1000 * day)), 1_700_000_000 + 400 * 86_400);
        assert_eq!(at(None), 1_700_000_000 + 400 * 86_400, "no absolute limit");
    }

    #[test]
    fn plain_cookies_have_no_secure_attribute() {
        let plain = CookiePolicy::default();
        assert_eq!(plain.session_name(), "auto_logout_session");
        assert!(!plain.session_removal().contains("Secure"));
        assert_eq!(
            plain.flash(FLASH_SIGNED_OUT),
            "auto_logout_flash=signed_out; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
        );
    }
}
