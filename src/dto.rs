//! Data exchanged between the server and the browser (and the JSON API).

use serde::{Deserialize, Serialize};

/// What is left of a session, in whole seconds (rounded up; `0` means it has ended).
///
/// The names follow django-auto-logout's `seconds_until_idle_end` / `seconds_until_session_end`.
/// `None` means that limit is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStatus {
    /// Seconds until the idle limit ends the session unless there is activity.
    pub seconds_until_idle_end: Option<u64>,
    /// Seconds until the absolute limit ends the session, whatever the activity.
    pub seconds_until_session_end: Option<u64>,
    /// Seconds before the first limit at which the warning appears.
    pub warn_before: u64,
}

/// The signed-in person as the pages show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// The account's username.
    pub username: String,
    /// Whether the account may use the admin console.
    pub is_admin: bool,
}

/// What the countdown needs to know about the current session, in milliseconds so that the
/// browser can redirect at the exact moment a limit falls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CountdownState {
    /// The session is live.
    Active {
        /// Milliseconds until the idle limit (None: disabled).
        idle_ms: Option<i64>,
        /// Milliseconds until the absolute limit (None: disabled).
        session_ms: Option<i64>,
    },
    /// The session has ended.
    Ended {
        /// Why, as the sign-in page is told.
        reason: crate::SignInReason,
    },
    /// Nobody is signed in.
    SignedOut,
}

impl CountdownState {
    /// Whole seconds left until the idle limit, rounded up (the `data-seconds` value).
    pub fn idle_seconds(&self) -> Option<u64> {
        match self {
            CountdownState::Active { idle_ms, .. } => idle_ms.map(ceil_seconds),
            _ => None,
        }
    }

    /// Whole seconds left until the absolute limit, rounded up.
    pub fn session_seconds(&self) -> Option<u64> {
        match self {
            CountdownState::Active { session_ms, .. } => session_ms.map(ceil_seconds),
            _ => None,
        }
    }
}

/// `ms` as whole seconds, rounded up, never negative.
pub fn ceil_seconds(ms: i64) -> u64 {
    if ms <= 0 {
        0
    } else {
        (ms as u64).div_ceil(1000)
    }
}

/// Settings the browser needs (SPEC §3), sent with the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSettings {
    /// Shown on the sign-in page after an automatic sign-out.
    pub message: String,
    /// Show the warning this many milliseconds before the first limit.
    pub warn_before_ms: i64,
    /// Leave the page at zero without waiting for a click.
    pub redirect_to_login_immediately: bool,
    /// Input in the page counts as activity.
    pub client_activity: bool,
}

/// One signed-in session as its owner sees it on `/sessions` and in `GET /api/v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceSession {
    /// The public session id (SHA-256 hex of the secret id).
    pub id: String,
    /// Whether this is the session making the request ("this device").
    pub current: bool,
    /// A browser or an API client.
    pub kind: crate::event::SessionKind,
    /// Sign-in time, ms since the epoch.
    pub created_at: i64,
    /// Last activity, ms since the epoch.
    pub last_seen_at: i64,
    /// Most recent client IP.
    pub last_ip: Option<String>,
    /// The user agent it signed in with.
    pub user_agent: Option<String>,
    /// Browser name parsed from the user agent, e.g. `Chrome`.
    pub browser: String,
    /// Operating system parsed from the user agent, e.g. `iPhone`.
    pub os: String,
    /// Device type: `desktop`, `mobile`, `tablet`, `bot` or `other`.
    pub device: String,
}

/// A session as an administrator sees it: the owner's view plus whose it is and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminSession {
    /// The owner's view (device, IP, times).
    #[serde(flatten)]
    pub device: DeviceSession,
    /// The account's username.
    pub user: Option<String>,
    /// When it ended (ms since the epoch), if it has.
    pub ended_at: Option<i64>,
    /// Why it ended (`logout`, `idle_timeout`, `revoked`, …).
    pub end_reason: Option<String>,
    /// The account id of who ended it, for `revoked`.
    pub ended_by: Option<i64>,
}

/// An account as the administrators' user list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSummary {
    /// Login name.
    pub username: String,
    /// May use the admin console.
    pub is_admin: bool,
    /// Cannot sign in.
    pub disabled: bool,
    /// Live sessions.
    pub active_sessions: i64,
    /// The latest sign-in (ms since the epoch), if any.
    pub last_sign_in: Option<i64>,
}

/// `ms` since the epoch as `YYYY-MM-DD HH:MM:SS UTC`, the same on server and browser.
pub fn format_utc(ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_format() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_795_414_976_104), "2026-11-23 06:22:56 UTC");
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(ceil_seconds(-5), 0);
        assert_eq!(ceil_seconds(0), 0);
        assert_eq!(ceil_seconds(1), 1);
        assert_eq!(ceil_seconds(1000), 1);
        assert_eq!(ceil_seconds(1001), 2);
        let s = CountdownState::Active {
            idle_ms: Some(4_500),
            session_ms: None,
        };
        assert_eq!(s.idle_seconds(), Some(5));
        assert_eq!(s.session_seconds(), None);
    }
}
