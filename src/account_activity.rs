//! "Was this you?" (SPEC §4 `/account/activity`): what a person is shown of their own account's
//! history, and the page cursor that walks it.
//!
//! ```
//! use auto_logout::account_activity::{what_happened, ActivityCursor, ACCOUNT_EVENTS};
//! use auto_logout::AuditEvent;
//!
//! assert!(ACCOUNT_EVENTS.contains(&AuditEvent::LoginFailed));
//! assert_eq!(what_happened(AuditEvent::Login), "Signed in");
//! let cursor = ActivityCursor { at: 1_700_000_000_000, id: 42 };
//! assert_eq!(cursor.to_string().parse(), Ok(cursor));
//! assert!("42; DROP TABLE".parse::<ActivityCursor>().is_err());
//! ```

use crate::event::AuditEvent;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Entries per page.
pub const ACTIVITY_PAGE_SIZE: usize = 25;

/// The events a person sees about their own account: sign-ins, sign-outs (by them, by a limit
/// or by someone else) and failed or refused attempts.
pub const ACCOUNT_EVENTS: [AuditEvent; 12] = [
    AuditEvent::Login,
    AuditEvent::Logout,
    AuditEvent::LoginFailed,
    AuditEvent::LoginThrottled,
    AuditEvent::IdleTimeout,
    AuditEvent::AbsoluteTimeout,
    AuditEvent::ScheduledSignOut,
    AuditEvent::TabsClosed,
    AuditEvent::Revoked,
    AuditEvent::Suspended,
    AuditEvent::SessionLimit,
    AuditEvent::PasswordChanged,
];

/// What `event` means to the person whose account it is, in a few words.
pub fn what_happened(event: AuditEvent) -> &'static str {
    match event {
        AuditEvent::Login => "Signed in",
        AuditEvent::Logout => "Signed out",
        AuditEvent::LoginFailed => "Failed sign-in (wrong password)",
        AuditEvent::LoginThrottled => "Sign-in refused (too many failures)",
        AuditEvent::IdleTimeout => "Signed out after inactivity",
        AuditEvent::AbsoluteTimeout => "Signed out at the session's time limit",
        AuditEvent::ScheduledSignOut => "Signed out at the scheduled time",
        AuditEvent::TabsClosed => "Signed out: every tab was closed",
        AuditEvent::Revoked => "Signed out from elsewhere",
        AuditEvent::Suspended => "Signed out: used from another browser",
        AuditEvent::SessionLimit => "Signed out: too many devices",
        AuditEvent::PasswordChanged => "Password changed",
        AuditEvent::UserCreated => "Account created",
        AuditEvent::UserDisabled => "Account disabled",
        AuditEvent::UserEnabled => "Account enabled",
        AuditEvent::Reauthenticated => "Password confirmed",
        AuditEvent::SignedOutEveryone => "Everyone signed out",
    }
}

/// Where a page of activity starts: entries strictly older than this one (by time, then id).
/// Written `at-id` in the page's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityCursor {
    /// The last shown entry's time, ms since the epoch.
    pub at: i64,
    /// Its id.
    pub id: i64,
}

impl fmt::Display for ActivityCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.at, self.id)
    }
}

/// A page address that is not a cursor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a page of activity: expected two numbers joined by `-`, as the \"Older\" link gives")]
pub struct BadCursor;

impl FromStr for ActivityCursor {
    type Err = BadCursor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (at, id) = text.split_once('-').ok_or(BadCursor)?;
        let number = |s: &str| {
            (!s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<i64>().ok())
                .flatten()
                .ok_or(BadCursor)
        };
        Ok(Self {
            at: number(at)?,
            id: number(id)?,
        })
    }
}

/// One entry of a person's activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountActivityEntry {
    /// The event's stored name (`login`, `login_failed`, …).
    pub event: String,
    /// What it means ([`what_happened`]).
    pub what: String,
    /// When, ms since the epoch.
    pub at: i64,
    /// Browser and system, e.g. `Firefox on Windows 10` (`Unknown on Unknown` without a user
    /// agent).
    pub device: String,
    /// Roughly where: the network of the address (`203.0.113.0/24`), never the address itself.
    pub place: Option<String>,
    /// A sign-in from a device the account had never used.
    pub new_device: bool,
}

/// A page of a person's activity, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountActivityPage {
    /// The entries.
    pub entries: Vec<AccountActivityEntry>,
    /// The cursor of the next (older) page, when there is one.
    pub older: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_says_what_happened() {
        for event in AuditEvent::ALL {
            assert!(!what_happened(event).is_empty());
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        for bad in [
            "",
            "1",
            "-1",
            "1-",
            "a-b",
            "1-2-3",
            "+1-2",
            "99999999999999999999-1",
        ] {
            assert_eq!(bad.parse::<ActivityCursor>(), Err(BadCursor), "{bad:?}");
        }
        assert_eq!(
            "5-7".parse::<ActivityCursor>(),
            Ok(ActivityCursor { at: 5, id: 7 })
        );
    }
}
