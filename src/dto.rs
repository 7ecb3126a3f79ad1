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
    /// Whether `seconds_until_session_end` counts to a scheduled cut-off (`sign_out_at`)
    /// rather than the absolute limit.
    #[serde(default)]
    pub scheduled_sign_out: bool,
}

/// The signed-in person as the pages show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// The account's username.
    pub username: String,
    /// Whether the account may use the admin console.
    pub is_admin: bool,
    /// The name they chose to be greeted by, if any.
    pub display_name: Option<String>,
    /// Their email address, if given.
    pub email: Option<String>,
    /// What this browser needs to keep their unsaved form input (SPEC §5, "No lost work").
    pub drafts: DraftKey,
}

impl UserView {
    /// The name to greet them by: the display name, else the username.
    pub fn greeting_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.username)
    }
}

/// The per-account secret a browser keeps drafts under. Drafts are encrypted with `key`
/// (AES-256-GCM, in the browser) and filed under `scope`, so that what is left in a browser's
/// storage after an automatic sign-out can be read back only by signing in as that account
/// again, and names neither the account nor its content. Both are derived on the server from
/// its secret key and the account; a page receives them only while signed in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftKey {
    /// An opaque name for the account's drafts (16 hex digits).
    pub scope: String,
    /// The AES-256 key, 64 hex digits.
    pub key: String,
}

impl std::fmt::Debug for DraftKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DraftKey")
            .field("scope", &self.scope)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// What the countdown needs to know about the current session, in milliseconds so that the
/// browser can redirect at the exact moment a limit falls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CountdownState {
    /// The session is live.
    Active {
        /// Milliseconds until the idle limit (None: disabled).
        idle_ms: Option<i64>,
        /// Milliseconds until the session's end whatever the activity: the absolute limit, or
        /// a scheduled cut-off when that comes first (None: neither).
        session_ms: Option<i64>,
        /// `session_ms` counts to a scheduled cut-off (`sign_out_at`), not the absolute limit.
        scheduled: bool,
        /// The whole idle limit in milliseconds (None: disabled), for showing what is left as
        /// a share of it.
        idle_limit_ms: Option<i64>,
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
    /// It signed in from a device (browser, system and type) its account had never used.
    #[serde(default)]
    pub new_device: bool,
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
    /// That account's username.
    pub ended_by_user: Option<String>,
}

/// Which sessions an administrator lists: `active` or `ended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Live sessions.
    Active,
    /// Ended sessions.
    Ended,
}

/// The filters of the administrators' session list (query of `GET /api/v1/admin/sessions`
/// and of the `/admin/sessions` page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct SessionsQuery {
    /// `active` or `ended` (both when absent).
    pub state: Option<SessionState>,
    /// Only this account's.
    pub user: Option<String>,
    /// `browser` or `api`.
    pub kind: Option<crate::SessionKind>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// At most this many (1 to 500, default 50).
    pub limit: Option<i64>,
}

/// The filters of the activity log (query of `GET /api/v1/admin/activity` and of the
/// `/admin/activity` page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct ActivityQuery {
    /// Only this username.
    pub user: Option<String>,
    /// Only this event (`login`, `logout`, `revoked`, …).
    pub event: Option<String>,
    /// Only at or after this time (ms since the epoch).
    pub since: Option<i64>,
    /// Only at or before this time (ms since the epoch).
    pub until: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// At most this many (1 to 1,000, default 100).
    pub limit: Option<i64>,
}

/// A page of sessions for administrators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionsPage {
    /// Newest first.
    pub sessions: Vec<AdminSession>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// A page of the activity log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityPage {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<i64>,
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

/// A recorded event of the audit log, as the activity log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Row id, increasing.
    pub id: i64,
    /// The event's name, e.g. `login`.
    pub event: String,
    /// When it happened, ms since the epoch.
    pub at: i64,
    /// Account id, if known.
    pub user_id: Option<i64>,
    /// Username as given.
    pub username: Option<String>,
    /// Session id hash.
    pub session_hash: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Who caused it.
    pub actor_id: Option<i64>,
    /// Free text.
    pub detail: Option<String>,
    /// How many events this row stands for: refused sign-in attempts of one username or
    /// address within one minute share one `login_throttled` row; 1 for every other event.
    #[serde(default = "one")]
    pub repeat_count: i64,
}

/// The default of [`AuditEntry::repeat_count`].
fn one() -> i64 {
    1
}

/// `ms` since the epoch as `YYYY-MM-DD HH:MM:SS UTC`, the same on server and browser
/// ("unknown" outside the years 1-9999). The calendar comes from `time`; the text is written
/// here, which keeps `time`'s formatting engine out of the browser's bundle.
pub fn format_utc(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) if t.year() >= 1 => {
            // Digit by digit (lists format two of these per row; `format!` costs several
            // times as much). The year is 1-9999: `time` knows no other.
            let mut text = String::with_capacity(23);
            push_digits(&mut text, t.year().unsigned_abs(), 4);
            text.push('-');
            push_digits(&mut text, u32::from(u8::from(t.month())), 2);
            text.push('-');
            push_digits(&mut text, u32::from(t.day()), 2);
            text.push(' ');
            push_digits(&mut text, u32::from(t.hour()), 2);
            text.push(':');
            push_digits(&mut text, u32::from(t.minute()), 2);
            text.push(':');
            push_digits(&mut text, u32::from(t.second()), 2);
            text.push_str(" UTC");
            text
        }
        _ => "unknown".to_owned(),
    }
}

/// Appends the last `width` decimal digits of `value`, with leading zeros.
fn push_digits(text: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10u32.pow(place)) % 10;
        text.push(char::from(b'0' + digit as u8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_format() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_795_414_976_104), "2026-11-23 06:22:56 UTC");
        assert_eq!(format_utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(format_utc(253_402_300_799_000), "9999-12-31 23:59:59 UTC");
        assert_eq!(format_utc(i64::MAX), "unknown");
        assert_eq!(format_utc(i64::MIN), "unknown");
        assert_eq!(format_utc(-62_135_596_800_000), "0001-01-01 00:00:00 UTC");
    }

    proptest::proptest! {
        #[test]
        fn utc_format_matches_time_s_own_fields(ms in -62_135_596_800_000i64..253_402_300_800_000) {
            let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap();
            let expected = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second()
            );
            proptest::prop_assert_eq!(format_utc(ms), expected);
        }
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
            idle_limit_ms: Some(10_000),
            scheduled: false,
        };
        assert_eq!(s.idle_seconds(), Some(5));
        assert_eq!(s.session_seconds(), None);
    }
}
