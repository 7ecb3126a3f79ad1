//! The pages' paths, and what their forms report back: a form posts, the server answers with
//! a redirect to the page whose query says how it went (`?done=…`, `?error=…`, `?saved=1`),
//! and the page reads it. Both sides use these types, so the words on the wire are written
//! once.

/// The signed-in landing page.
pub const HOME: &str = "/home";
/// The sign-in page (and form).
pub const SIGN_IN: &str = "/sign-in";
/// The profile page (and its form).
pub const ACCOUNT: &str = "/account";
/// The password page (and its form).
pub const ACCOUNT_PASSWORD: &str = "/account/password";
/// The person's devices.
pub const SESSIONS: &str = "/sessions";
/// The person's own sign-ins, sign-outs and failed attempts ("Was this you?").
pub const ACCOUNT_ACTIVITY: &str = "/account/activity";
/// Where "This wasn't me" posts: every session of the account ends.
pub const NOT_ME: &str = "/account/activity/not-me";
/// Where a sign-in goes while the account must choose a new password ("This wasn't me"):
/// the password page, saying why.
pub const PASSWORD_CHANGE_REQUIRED: &str = "/account/password?required=1";
/// The administrators' account list.
pub const ADMIN_USERS: &str = "/admin/users";
/// Where sign-out forms post.
pub const SIGN_OUT: &str = "/logout";

/// The engine's passive status read (`GET`; SPEC §7), where the countdowns read what is left.
pub const SESSION_STATUS: &str = "/api/v1/session";
/// The engine's "stay signed in" (`POST`; activity).
pub const SESSION_EXTEND: &str = "/api/v1/session/extend";
/// Where the pages' tabs say what they are doing for `end_with_last_tab` (`POST`; passive).
pub const SESSION_TABS: &str = "/api/v1/session/tabs";
/// The engine's device-list form that signs out one device (`id`, `back`).
pub const DEVICE_REVOKE: &str = "/auto-logout/sessions/revoke";
/// The engine's device-list form that signs out every other device (`back`).
pub const DEVICE_REVOKE_OTHERS: &str = "/auto-logout/sessions/revoke-others";

/// The form field that carries the password of a re-authentication (SPEC §4: a sensitive
/// action outside `reauth_window` asks for it in place).
pub const REAUTH_FIELD: &str = "reauth_password";
/// The header on the answer that asks for the password again (value `required`): a page that
/// sent the form by script shows the prompt in place.
pub const REAUTH_HEADER: &str = "x-auto-logout-reauth";
/// Where the administrators' "Sign out everyone" form posts (`except_admins`, `except_self`).
pub const ADMIN_SIGN_OUT_ALL: &str = "/admin/sessions/sign-out-all";

/// How a change of one's own password went (`/account/password?…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordOutcome {
    /// Changed; this many other sessions were signed out.
    Changed {
        /// How many.
        others_ended: u64,
    },
    /// The current password was wrong.
    WrongCurrent,
    /// The two new passwords differ.
    Mismatch,
    /// The new password breaks the rule ([`crate::passwords`]).
    Weak,
    /// Too many wrong current passwords: wait.
    Throttled {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// Too many password checks under way: wait.
    Busy {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
}

impl PasswordOutcome {
    /// The page's query for this outcome (without `?`).
    pub fn query(&self) -> String {
        match self {
            Self::Changed { others_ended } => format!("done={others_ended}"),
            Self::WrongCurrent => "error=current".to_owned(),
            Self::Mismatch => "error=mismatch".to_owned(),
            Self::Weak => "error=weak".to_owned(),
            Self::Throttled { retry_after_secs } => {
                format!("error=throttled&retry_after={retry_after_secs}")
            }
            Self::Busy { retry_after_secs } => format!("error=busy&retry_after={retry_after_secs}"),
        }
    }

    /// Where the form's redirect goes.
    pub fn target(&self) -> String {
        format!("{ACCOUNT_PASSWORD}?{}", self.query())
    }

    /// The outcome a page's query (`get` reads one parameter) reports, if any. An unknown
    /// error is `None`; a missing or malformed wait is a minute.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        if let Some(done) = get("done") {
            return Some(Self::Changed {
                others_ended: done.parse().unwrap_or(0),
            });
        }
        let wait = || {
            get("retry_after")
                .and_then(|r| r.parse().ok())
                .unwrap_or(60)
        };
        Some(match get("error")?.as_str() {
            "current" => Self::WrongCurrent,
            "mismatch" => Self::Mismatch,
            "weak" => Self::Weak,
            "throttled" => Self::Throttled {
                retry_after_secs: wait(),
            },
            "busy" => Self::Busy {
                retry_after_secs: wait(),
            },
            _ => return None,
        })
    }
}

/// What an administrator may do to an account from `/admin/users` (`POST
/// /admin/users/{action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// Disable it (its sessions end).
    Disable,
    /// Enable it again.
    Enable,
    /// Sign it out everywhere.
    SignOut,
}

impl UserAction {
    /// Every action.
    pub const ALL: [UserAction; 3] = [UserAction::Disable, UserAction::Enable, UserAction::SignOut];

    /// The action's path segment.
    pub const fn as_str(self) -> &'static str {
        match self {
            UserAction::Disable => "disable",
            UserAction::Enable => "enable",
            UserAction::SignOut => "sign-out",
        }
    }

    /// The action named `segment`, if any.
    pub fn from_segment(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == segment)
    }
}

/// How an administrator's account form went (`/admin/users?…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsersOutcome {
    /// An account was created.
    Created,
    /// An action was done.
    Done(UserAction),
    /// The name is taken.
    Exists,
    /// The name breaks the rules.
    InvalidUsername,
    /// The password breaks the rule.
    InvalidPassword,
    /// No such account.
    Unknown,
}

impl UsersOutcome {
    /// The page's query for this outcome (without `?`).
    pub fn query(&self) -> String {
        match self {
            Self::Created => "done=created".to_owned(),
            Self::Done(action) => format!("done={}", action.as_str()),
            Self::Exists => "error=exists".to_owned(),
            Self::InvalidUsername => "error=username".to_owned(),
            Self::InvalidPassword => "error=password".to_owned(),
            Self::Unknown => "error=unknown".to_owned(),
        }
    }

    /// Where the form's redirect goes.
    pub fn target(&self) -> String {
        format!("{ADMIN_USERS}?{}", self.query())
    }

    /// The outcome a page's query reports, if any (`None` also for unknown words).
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        if let Some(error) = get("error") {
            return match error.as_str() {
                "exists" => Some(Self::Exists),
                "username" => Some(Self::InvalidUsername),
                "password" => Some(Self::InvalidPassword),
                "unknown" => Some(Self::Unknown),
                _ => None,
            };
        }
        match get("done")?.as_str() {
            "created" => Some(Self::Created),
            other => UserAction::from_segment(other).map(Self::Done),
        }
    }

    /// Whether it reports a failure.
    pub fn is_error(&self) -> bool {
        !matches!(self, Self::Created | Self::Done(_))
    }
}

impl From<&crate::accounts::AccountRefusal> for UsersOutcome {
    fn from(refusal: &crate::accounts::AccountRefusal) -> Self {
        use crate::accounts::AccountRefusal;
        match refusal {
            AccountRefusal::Exists(_) => Self::Exists,
            AccountRefusal::NoSuchUser(_) => Self::Unknown,
            AccountRefusal::InvalidUsername(_) => Self::InvalidUsername,
            AccountRefusal::InvalidPassword(_) => Self::InvalidPassword,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse<T>(
        query: &str,
        from: impl Fn(&dyn Fn(&str) -> Option<String>) -> Option<T>,
    ) -> Option<T> {
        let map: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        from(&|name| map.get(name).cloned())
    }

    #[test]
    fn every_password_outcome_reads_back_as_itself() {
        for outcome in [
            PasswordOutcome::Changed { others_ended: 3 },
            PasswordOutcome::WrongCurrent,
            PasswordOutcome::Mismatch,
            PasswordOutcome::Weak,
            PasswordOutcome::Throttled {
                retry_after_secs: 42,
            },
            PasswordOutcome::Busy {
                retry_after_secs: 2,
            },
        ] {
            let read = parse(&outcome.query(), |get| PasswordOutcome::from_query(get));
            assert_eq!(read, Some(outcome));
            assert!(outcome.target().starts_with("/account/password?"));
        }
        assert_eq!(
            parse("error=nonsense", |g| PasswordOutcome::from_query(g)),
            None
        );
        assert_eq!(
            parse("error=busy", |g| PasswordOutcome::from_query(g)),
            Some(PasswordOutcome::Busy {
                retry_after_secs: 60
            })
        );
    }

    #[test]
    fn every_users_outcome_reads_back_as_itself() {
        let mut all = vec![
            UsersOutcome::Created,
            UsersOutcome::Exists,
            UsersOutcome::InvalidUsername,
            UsersOutcome::InvalidPassword,
            UsersOutcome::Unknown,
        ];
        all.extend(UserAction::ALL.map(UsersOutcome::Done));
        for outcome in all {
            assert_eq!(
                parse(&outcome.query(), |g| UsersOutcome::from_query(g)),
                Some(outcome)
            );
        }
        assert_eq!(UserAction::from_segment("delete"), None);
    }
}
