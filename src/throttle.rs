//! Sign-in throttling (SPEC §6): after too many failed sign-ins for one username (from any IP)
//! or from one client IP within a window, further attempts are refused until the oldest of
//! those failures leaves the window, whether or not the password is right.
//!
//! The rule is a pure function of the recent failures and the time; storage (so that every
//! server instance counts the same failures) lives in the `server` feature.

use crate::clock::UnixMillis;
use std::time::Duration;

/// How many failures are allowed in which window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures for one username within `window` before it is throttled (0: never).
    pub max_per_user: u32,
    /// Failures from one client IP within `window` before it is throttled (0: never).
    pub max_per_ip: u32,
    /// The window in which failures count; also the longest wait a client is told.
    pub window: Duration,
}

impl ThrottlePolicy {
    /// The window in milliseconds.
    pub fn window_millis(&self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX)
    }

    /// Whether the policy can throttle at all (a zero window or zero limits switch it off).
    pub fn is_enabled(&self) -> bool {
        !self.window.is_zero() && (self.max_per_user > 0 || self.max_per_ip > 0)
    }

    /// The start of the window that ends at `now`: failures at or before it no longer count.
    pub fn window_start(&self, now: UnixMillis) -> UnixMillis {
        UnixMillis(now.as_millis().saturating_sub(self.window_millis()))
    }
}

/// Which count made an attempt wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleScope {
    /// Too many failures for the username.
    Username,
    /// Too many failures from the client IP.
    ClientIp,
}

impl ThrottleScope {
    /// The name stored in the audit log's detail.
    pub const fn as_str(self) -> &'static str {
        match self {
            ThrottleScope::Username => "username",
            ThrottleScope::ClientIp => "client IP",
        }
    }
}

/// What the throttle says about one sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleDecision {
    /// The attempt may check its password.
    Allow,
    /// The attempt is refused without checking the password until `until`.
    Throttled {
        /// Which count is over its limit (the one that frees last, when both are).
        scope: ThrottleScope,
        /// When an attempt will be allowed again.
        until: UnixMillis,
    },
}

impl ThrottleDecision {
    /// Whole seconds to wait from `now` (at least 1), for `Retry-After`; `None` when allowed.
    pub fn retry_after_secs(&self, now: UnixMillis) -> Option<u64> {
        match self {
            ThrottleDecision::Allow => None,
            ThrottleDecision::Throttled { until, .. } => {
                let millis = u64::try_from(now.millis_until(*until).max(0)).unwrap_or(0);
                Some(millis.div_ceil(1000).max(1))
            }
        }
    }
}

/// When a count of `recent` failures (any order) stops being over `max`: the moment the
/// `max`-th newest failure leaves the window. `None` when it is not over the limit.
fn throttled_until(
    max: u32,
    recent: &[UnixMillis],
    policy: &ThrottlePolicy,
    now: UnixMillis,
) -> Option<UnixMillis> {
    if max == 0 {
        return None;
    }
    let start = policy.window_start(now);
    let mut in_window: Vec<UnixMillis> = recent.iter().copied().filter(|at| *at > start).collect();
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if in_window.len() < max {
        return None;
    }
    in_window.sort_unstable_by(|a, b| b.cmp(a));
    let frees_at = in_window[max - 1]
        .as_millis()
        .saturating_add(policy.window_millis());
    Some(UnixMillis(frees_at))
}

/// Decides whether a sign-in attempt at `now` may check its password, given the times of the
/// other failed (or still undecided) attempts for the same username and from the same client
/// IP. Attempts outside the window are ignored, so callers may pass more than the window.
///
/// Refused attempts are not failures: callers do not record them, so a person locked out by
/// someone else's guessing gets in as soon as the window has passed.
pub fn decide(
    policy: &ThrottlePolicy,
    user_failures: &[UnixMillis],
    ip_failures: &[UnixMillis],
    now: UnixMillis,
) -> ThrottleDecision {
    if !policy.is_enabled() {
        return ThrottleDecision::Allow;
    }
    let by_user = throttled_until(policy.max_per_user, user_failures, policy, now)
        .map(|until| (ThrottleScope::Username, until));
    let by_ip = throttled_until(policy.max_per_ip, ip_failures, policy, now)
        .map(|until| (ThrottleScope::ClientIp, until));
    match (by_user, by_ip) {
        (None, None) => ThrottleDecision::Allow,
        (Some((scope, until)), None) | (None, Some((scope, until))) => {
            ThrottleDecision::Throttled { scope, until }
        }
        (Some(user), Some(ip)) => {
            let (scope, until) = if ip.1 > user.1 { ip } else { user };
            ThrottleDecision::Throttled { scope, until }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            max_per_user: 5,
            max_per_ip: 50,
            window: Duration::from_secs(15 * 60),
        }
    }

    fn at(minutes: i64) -> UnixMillis {
        UnixMillis(1_000_000_000_000 + minutes * MIN)
    }

    #[test]
    fn fewer_failures_than_the_limit_are_allowed() {
        let failures: Vec<_> = (0..4).map(at).collect();
        assert_eq!(
            decide(&policy(), &failures, &[], at(5)),
            ThrottleDecision::Allow
        );
    }

    #[test]
    fn the_limit_throttles_until_the_oldest_counted_failure_leaves_the_window() {
        let failures: Vec<_> = (0..5).map(at).collect();
        let decision = decide(&policy(), &failures, &[], at(5));
        assert_eq!(
            decision,
            ThrottleDecision::Throttled {
                scope: ThrottleScope::Username,
                until: at(15),
            }
        );
        assert_eq!(decision.retry_after_secs(at(5)), Some(600));
        // One millisecond before the first failure leaves the window: still throttled.
        let just_before = UnixMillis(at(15).as_millis() - 1);
        assert!(matches!(
            decide(&policy(), &failures, &[], just_before),
            ThrottleDecision::Throttled { .. }
        ));
        assert_eq!(
            decide(&policy(), &failures, &[], at(15)),
            ThrottleDecision::Allow
        );
    }

    #[test]
    fn the_wait_never_exceeds_the_window() {
        // Many failures at the same moment: the wait is one window, not one per failure.
        let failures = vec![at(0); 40];
        let decision = decide(&policy(), &failures, &[], at(0));
        assert_eq!(decision.retry_after_secs(at(0)), Some(15 * 60));
    }

    #[test]
    fn old_failures_do_not_count() {
        let failures: Vec<_> = (-40..-15).map(at).collect();
        assert_eq!(
            decide(&policy(), &failures, &[], at(0)),
            ThrottleDecision::Allow
        );
    }

    #[test]
    fn the_client_ip_has_its_own_limit() {
        let ip: Vec<_> = (0..50).map(|i| UnixMillis(at(0).as_millis() + i)).collect();
        assert_eq!(
            decide(&policy(), &[], &ip, at(1)),
            ThrottleDecision::Throttled {
                scope: ThrottleScope::ClientIp,
                until: at(15),
            }
        );
        assert_eq!(
            decide(&policy(), &[], &ip[..49], at(1)),
            ThrottleDecision::Allow
        );
    }

    #[test]
    fn when_both_are_over_the_later_release_wins() {
        let user: Vec<_> = (0..5).map(at).collect();
        let ip: Vec<_> = (0..50).map(|_| at(3)).collect();
        assert_eq!(
            decide(&policy(), &user, &ip, at(4)),
            ThrottleDecision::Throttled {
                scope: ThrottleScope::ClientIp,
                until: at(18),
            }
        );
    }

    #[test]
    fn zero_switches_a_limit_off() {
        let off = ThrottlePolicy {
            max_per_user: 0,
            max_per_ip: 0,
            ..policy()
        };
        assert_eq!(
            decide(&off, &[at(0); 100], &[at(0); 100], at(0)),
            ThrottleDecision::Allow
        );
        let no_window = ThrottlePolicy {
            window: Duration::ZERO,
            ..policy()
        };
        assert_eq!(
            decide(&no_window, &[at(0); 100], &[], at(0)),
            ThrottleDecision::Allow
        );
    }
}
