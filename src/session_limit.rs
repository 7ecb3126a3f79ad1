//! The per-user session limit (SPEC §3 `max_sessions_per_user`): which sessions a new sign-in
//! ends to make room, or whether it is refused. Pure: storage serialises one user's
//! admissions and applies the decision.

use crate::clock::UnixMillis;
use serde::{Deserialize, Serialize};

/// Why the session store refused to store a new signed-in session. tower-sessions' store
/// errors carry only a message, so the refusal travels as [`StoreRefusal::message`] and is
/// read back with [`StoreRefusal::from_message`]: the one place the text is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreRefusal {
    /// The person is at `max_sessions_per_user` and `on_max_sessions = deny_new`.
    SessionLimit,
    /// The account changed (password, disabled) after its password was checked.
    AccountChanged,
}

impl StoreRefusal {
    /// Every refusal.
    pub const ALL: [StoreRefusal; 2] = [StoreRefusal::SessionLimit, StoreRefusal::AccountChanged];

    /// The store error's message for this refusal.
    pub const fn message(self) -> &'static str {
        match self {
            StoreRefusal::SessionLimit => "session limit reached: sign-in refused",
            StoreRefusal::AccountChanged => {
                "the account changed after the password was checked: sign-in refused"
            }
        }
    }

    /// The refusal whose message is `message`, if any.
    pub fn from_message(message: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.message() == message)
    }
}

/// What happens when a user with the maximum number of live sessions signs in again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnMaxSessions {
    /// End the oldest sessions to make room (the default).
    EndOldest,
    /// Refuse the new sign-in.
    DenyNew,
}

/// The limit in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimit {
    /// At most this many live sessions per user; 0 means no limit.
    pub max: u32,
    /// What to do at the limit.
    pub on_max: OnMaxSessions,
}

/// A live (not expired, not ended) session of the user signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// Its public id (hash).
    pub id: String,
    /// When it signed in.
    pub created_at: UnixMillis,
}

/// What the limit says about one more session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitDecision {
    /// Start the new session after ending these (oldest first; often none).
    Admit {
        /// Sessions to end with reason `session_limit`.
        end: Vec<String>,
    },
    /// Refuse the new session; `active` sessions are live.
    Deny {
        /// How many live sessions the user has.
        active: usize,
    },
}

/// Decides whether a user with the live sessions `live` may start one more.
pub fn admit(limit: &SessionLimit, live: &[LiveSession]) -> LimitDecision {
    let max = usize::try_from(limit.max).unwrap_or(usize::MAX);
    if max == 0 || live.len() < max {
        return LimitDecision::Admit { end: Vec::new() };
    }
    match limit.on_max {
        OnMaxSessions::DenyNew => LimitDecision::Deny { active: live.len() },
        OnMaxSessions::EndOldest => {
            let mut oldest_first: Vec<&LiveSession> = live.iter().collect();
            oldest_first.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
            let excess = live.len() + 1 - max;
            LimitDecision::Admit {
                end: oldest_first
                    .into_iter()
                    .take(excess)
                    .map(|s| s.id.clone())
                    .collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_read_back_from_its_message_only() {
        for refusal in StoreRefusal::ALL {
            assert_eq!(StoreRefusal::from_message(refusal.message()), Some(refusal));
        }
        assert_eq!(StoreRefusal::from_message("database is locked"), None);
    }

    fn live(n: usize) -> Vec<LiveSession> {
        // Listed newest first, as the sessions page shows them.
        (0..n)
            .rev()
            .map(|i| LiveSession {
                id: format!("s{i}"),
                created_at: UnixMillis(1_000 + i as i64),
            })
            .collect()
    }

    fn limit(max: u32, on_max: OnMaxSessions) -> SessionLimit {
        SessionLimit { max, on_max }
    }

    #[test]
    fn under_the_limit_nothing_ends() {
        assert_eq!(
            admit(&limit(3, OnMaxSessions::EndOldest), &live(2)),
            LimitDecision::Admit { end: vec![] }
        );
    }

    #[test]
    fn zero_means_no_limit() {
        assert_eq!(
            admit(&limit(0, OnMaxSessions::DenyNew), &live(50)),
            LimitDecision::Admit { end: vec![] }
        );
    }

    #[test]
    fn at_the_limit_the_oldest_make_room() {
        assert_eq!(
            admit(&limit(2, OnMaxSessions::EndOldest), &live(2)),
            LimitDecision::Admit {
                end: vec!["s0".into()]
            }
        );
        // Over the limit (it was lowered): end enough that the new one fits.
        assert_eq!(
            admit(&limit(2, OnMaxSessions::EndOldest), &live(4)),
            LimitDecision::Admit {
                end: vec!["s0".into(), "s1".into(), "s2".into()]
            }
        );
    }

    #[test]
    fn deny_new_refuses_at_the_limit() {
        assert_eq!(
            admit(&limit(1, OnMaxSessions::DenyNew), &live(1)),
            LimitDecision::Deny { active: 1 }
        );
    }
}
