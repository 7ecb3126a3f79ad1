//! The query values of the sign-in page that other parts send it: why a session ended
//! (`reason`) and why a sign-in was refused (`error`). Defined once for the server, the
//! countdown and the page.

use serde::{Deserialize, Serialize};

/// Why the person is on the sign-in page after a session ended (`/sign-in?reason=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignInReason {
    /// They signed out (no notice is shown).
    Logout,
    /// The idle limit passed.
    Idle,
    /// The absolute limit passed.
    Expired,
    /// Signed out from elsewhere (another device, an administrator, a password change, the
    /// session limit).
    Revoked,
    /// Used from another browser than the one it signed in with.
    Suspended,
    /// A scheduled cut-off (`sign_out_at`) signed everyone out.
    ScheduledSignOut,
    /// No tab of the site was open for `last_tab_grace` (`end_with_last_tab`).
    TabsClosed,
    /// The person said a sign-in was not theirs: every session of the account ended, and a new
    /// password comes next.
    NotMe,
}

impl SignInReason {
    /// Every reason.
    pub const ALL: [SignInReason; 8] = [
        SignInReason::Logout,
        SignInReason::Idle,
        SignInReason::Expired,
        SignInReason::Revoked,
        SignInReason::Suspended,
        SignInReason::ScheduledSignOut,
        SignInReason::TabsClosed,
        SignInReason::NotMe,
    ];

    /// The query value.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignInReason::Logout => "logout",
            SignInReason::Idle => "idle",
            SignInReason::Expired => "expired",
            SignInReason::Revoked => "revoked",
            SignInReason::Suspended => "suspended",
            SignInReason::ScheduledSignOut => "scheduled_sign_out",
            SignInReason::TabsClosed => "tabs_closed",
            SignInReason::NotMe => "not_me",
        }
    }

    /// The reason a query value names, if any.
    pub fn parse(value: &str) -> Option<SignInReason> {
        SignInReason::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

/// Why a sign-in was refused (`/sign-in?error=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInError {
    /// Wrong username or password (never says which).
    Failed,
    /// `max_sessions_per_user` with `deny_new`.
    SessionLimit,
    /// Too many failed attempts (429).
    Throttled,
    /// Too many password checks under way (503).
    Busy,
}

impl SignInError {
    /// Every error.
    pub const ALL: [SignInError; 4] = [
        SignInError::Failed,
        SignInError::SessionLimit,
        SignInError::Throttled,
        SignInError::Busy,
    ];

    /// The query value.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignInError::Failed => "1",
            SignInError::SessionLimit => "limit",
            SignInError::Throttled => "throttled",
            SignInError::Busy => "busy",
        }
    }

    /// The error a query value names, if any.
    pub fn parse(value: &str) -> Option<SignInError> {
        SignInError::ALL.into_iter().find(|e| e.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_round_trip() {
        for reason in SignInReason::ALL {
            assert_eq!(SignInReason::parse(reason.as_str()), Some(reason));
        }
        for error in SignInError::ALL {
            assert_eq!(SignInError::parse(error.as_str()), Some(error));
        }
        assert_eq!(SignInReason::parse("nap"), None);
        assert_eq!(SignInError::parse("2"), None);
    }
}
