//! Why a session ends, and the events written to the audit log.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Every event the audit log records (SPEC §6), stored by its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    /// A successful sign-in that started a session.
    Login,
    /// The person signed out.
    Logout,
    /// The session ended after the idle limit passed without activity.
    IdleTimeout,
    /// The session ended at its absolute limit.
    AbsoluteTimeout,
    /// The session was ended by its owner from another device, an administrator or a password change.
    Revoked,
    /// The session was presented in a way it was not bound to (another user agent).
    Suspended,
    /// A sign-in attempt failed.
    LoginFailed,
    /// The session was ended, or refused, by the per-user session limit.
    SessionLimit,
    /// A sign-in attempt was refused unchecked: too many recent failures (SPEC §6).
    LoginThrottled,
    /// An account was created (by an administrator or the command line).
    UserCreated,
    /// An account was disabled: it cannot sign in, and its sessions were ended.
    UserDisabled,
    /// A disabled account was enabled again.
    UserEnabled,
    /// An account's password was changed.
    PasswordChanged,
    /// A signed-in person proved their password again, for sensitive actions (SPEC §6).
    Reauthenticated,
    /// An administrator (or the command line) ended every session at once; one entry, its
    /// count the number of sessions ended.
    SignedOutEveryone,
    /// The session ended at a scheduled cut-off (`sign_out_at`).
    ScheduledSignOut,
    /// The session ended because no tab of the site was open (`end_with_last_tab`).
    TabsClosed,
}

impl AuditEvent {
    /// All events, in the order the admin filters list them.
    pub const ALL: [AuditEvent; 17] = [
        AuditEvent::Login,
        AuditEvent::Logout,
        AuditEvent::IdleTimeout,
        AuditEvent::AbsoluteTimeout,
        AuditEvent::Revoked,
        AuditEvent::Suspended,
        AuditEvent::LoginFailed,
        AuditEvent::SessionLimit,
        AuditEvent::LoginThrottled,
        AuditEvent::UserCreated,
        AuditEvent::UserDisabled,
        AuditEvent::UserEnabled,
        AuditEvent::PasswordChanged,
        AuditEvent::Reauthenticated,
        AuditEvent::SignedOutEveryone,
        AuditEvent::ScheduledSignOut,
        AuditEvent::TabsClosed,
    ];

    /// The stored name, e.g. `"idle_timeout"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditEvent::Login => "login",
            AuditEvent::Logout => "logout",
            AuditEvent::IdleTimeout => "idle_timeout",
            AuditEvent::AbsoluteTimeout => "absolute_timeout",
            AuditEvent::Revoked => "revoked",
            AuditEvent::Suspended => "suspended",
            AuditEvent::LoginFailed => "login_failed",
            AuditEvent::SessionLimit => "session_limit",
            AuditEvent::LoginThrottled => "login_throttled",
            AuditEvent::UserCreated => "user_created",
            AuditEvent::UserDisabled => "user_disabled",
            AuditEvent::UserEnabled => "user_enabled",
            AuditEvent::PasswordChanged => "password_changed",
            AuditEvent::Reauthenticated => "reauthenticated",
            AuditEvent::SignedOutEveryone => "signed_out_everyone",
            AuditEvent::ScheduledSignOut => "scheduled_sign_out",
            AuditEvent::TabsClosed => "tabs_closed",
        }
    }
}

impl fmt::Display for AuditEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the audit events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit event `{0}`; expected one of login, logout, idle_timeout, absolute_timeout, revoked, suspended, login_failed, session_limit, login_throttled, user_created, user_disabled, user_enabled, password_changed, reauthenticated, signed_out_everyone, scheduled_sign_out, tabs_closed")]
pub struct UnknownEvent(pub String);

impl FromStr for AuditEvent {
    type Err = UnknownEvent;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditEvent::ALL
            .into_iter()
            .find(|event| event.as_str() == s)
            .ok_or_else(|| UnknownEvent(s.to_owned()))
    }
}

/// Why a session ended; stored in the session row and mirrored by an [`AuditEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The person signed out.
    Logout,
    /// No activity for the idle limit.
    IdleTimeout,
    /// The absolute limit since sign-in passed.
    AbsoluteTimeout,
    /// Ended from elsewhere: another device, an administrator, a password change.
    Revoked,
    /// Presented by a user agent it was not bound to.
    Suspended,
    /// Ended to make room under the per-user session limit.
    SessionLimit,
    /// A scheduled cut-off (`sign_out_at`) came.
    ScheduledSignOut,
    /// No tab of the site was open for `last_tab_grace` (`end_with_last_tab`).
    TabsClosed,
}

impl EndReason {
    /// The audit event that records this ending.
    pub const fn audit_event(self) -> AuditEvent {
        match self {
            EndReason::Logout => AuditEvent::Logout,
            EndReason::IdleTimeout => AuditEvent::IdleTimeout,
            EndReason::AbsoluteTimeout => AuditEvent::AbsoluteTimeout,
            EndReason::Revoked => AuditEvent::Revoked,
            EndReason::Suspended => AuditEvent::Suspended,
            EndReason::SessionLimit => AuditEvent::SessionLimit,
            EndReason::ScheduledSignOut => AuditEvent::ScheduledSignOut,
            EndReason::TabsClosed => AuditEvent::TabsClosed,
        }
    }

    /// The stored name, the same as the audit event's.
    pub const fn as_str(self) -> &'static str {
        self.audit_event().as_str()
    }

    /// What the sign-in page is told about this ending.
    pub const fn sign_in_reason(self) -> crate::SignInReason {
        use crate::SignInReason;
        match self {
            EndReason::Logout => SignInReason::Logout,
            EndReason::IdleTimeout => SignInReason::Idle,
            EndReason::AbsoluteTimeout => SignInReason::Expired,
            EndReason::Revoked | EndReason::SessionLimit => SignInReason::Revoked,
            EndReason::Suspended => SignInReason::Suspended,
            EndReason::ScheduledSignOut => SignInReason::ScheduledSignOut,
            EndReason::TabsClosed => SignInReason::TabsClosed,
        }
    }
}

impl EndReason {
    /// Every reason.
    pub const ALL: [EndReason; 8] = [
        EndReason::Logout,
        EndReason::IdleTimeout,
        EndReason::AbsoluteTimeout,
        EndReason::Revoked,
        EndReason::Suspended,
        EndReason::SessionLimit,
        EndReason::ScheduledSignOut,
        EndReason::TabsClosed,
    ];

    /// The reason stored as `name` (see [`EndReason::as_str`]), if it is one.
    pub fn from_stored(name: &str) -> Option<EndReason> {
        EndReason::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of client holds a session: a browser with a cookie, or an API client with a
/// bearer token. Stored in the session row as [`SessionKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// A browser session (cookie).
    #[default]
    Browser,
    /// An API client's session (bearer token or JWT).
    Api,
}

impl SessionKind {
    /// The stored and wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            SessionKind::Browser => "browser",
            SessionKind::Api => "api",
        }
    }

    /// The kind stored as `name`; anything unknown is a browser session (the only kind that
    /// existed before kinds were stored).
    pub fn from_stored(name: &str) -> SessionKind {
        match name {
            "api" => SessionKind::Api,
            _ => SessionKind::Browser,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips_through_its_name() {
        for event in AuditEvent::ALL {
            assert_eq!(event.as_str().parse::<AuditEvent>(), Ok(event));
        }
    }

    #[test]
    fn every_end_reason_round_trips_through_its_name() {
        for reason in EndReason::ALL {
            assert_eq!(EndReason::from_stored(reason.as_str()), Some(reason));
        }
        assert_eq!(EndReason::from_stored("nap"), None);
    }

    #[test]
    fn session_kinds_round_trip() {
        for kind in [SessionKind::Browser, SessionKind::Api] {
            assert_eq!(SessionKind::from_stored(kind.as_str()), kind);
        }
    }

    #[test]
    fn unknown_event_names_the_choices() {
        let err = "nap".parse::<AuditEvent>().unwrap_err();
        assert!(err.to_string().contains("idle_timeout"));
    }
}
