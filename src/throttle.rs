//! Sign-in throttling (SPEC §6): after too many failed sign-ins for one username (from any IP)
//! or from one client IP within a window, further attempts are refused until the oldest of
//! those failures leaves the window, whether or not the password is right.
//!
//! Attempts whose password is still being checked count too, so that a burst cannot check more
//! passwords than the limit allows; but they only make others wait briefly
//! ([`PENDING_WAIT`]), never the whole window: a person whose tabs sign in at once is not
//! locked out by their own correct passwords.
//!
//! The rule is a pure function of the recent failures and the time; storage (so that every
//! server instance counts the same failures) lives in the `server` feature.

use crate::clock::UnixMillis;
use std::time::Duration;

/// How long an attempt refused only because of attempts still being checked is told to wait.
pub const PENDING_WAIT: Duration = Duration::from_secs(2);
/// An attempt still "being checked" after this long was abandoned (its client went away or the
/// server stopped mid-check): it counts as a failure from then on, since its password may well
/// have been checked. (Ignoring it instead would let abandoned attempts push real failures out
/// of the rows the rule is shown.)
pub const PENDING_TTL: Duration = Duration::from_secs(30);

/// Another sign-in attempt for the same username or from the same IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// When it started.
    pub at: UnixMillis,
    /// `true`: its password was wrong (a failure); `false`: still being checked.
    pub failed: bool,
}

impl Attempt {
    /// A failed attempt at `at`.
    pub const fn failure(at: UnixMillis) -> Self {
        Self { at, failed: true }
    }

    /// An attempt at `at` whose password is still being checked.
    pub const fn pending(at: UnixMillis) -> Self {
        Self { at, failed: false }
    }
}

/// How many times the failures of one client IP its wider network may have (an IPv6 /48
/// holds 65,536 /64 networks, each counted as one client IP): more than one client's share,
/// far fewer than 65,536 clients' worth.
pub const NETWORK_FACTOR: u32 = 4;

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

    /// Failures from one client network (an IPv6 /48) within `window` before it is throttled
    /// (0: never): [`NETWORK_FACTOR`] times `max_per_ip`.
    pub fn max_per_network(&self) -> u32 {
        self.max_per_ip.saturating_mul(NETWORK_FACTOR)
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleScope {
    /// Too many failures for the username.
    Username,
    /// Too many failures from the client IP.
    ClientIp,
    /// Too many failures from the client's wider network (an IPv6 /48).
    ClientNetwork,
}

impl ThrottleScope {
    /// The name stored in the audit log's detail.
    pub const fn as_str(self) -> &'static str {
        match self {
            ThrottleScope::Username => "username",
            ThrottleScope::ClientIp => "client IP",
            ThrottleScope::ClientNetwork => "client network",
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

/// When a count of `recent` attempts (any order) stops being over `max`: for failures alone,
/// the moment the `max`-th newest failure leaves the window; when only attempts still being
/// checked push it over, [`PENDING_WAIT`] from `now`. `None` when it is not over the limit.
fn throttled_until(
    max: u32,
    recent: &[Attempt],
    policy: &ThrottlePolicy,
    now: UnixMillis,
) -> Option<UnixMillis> {
    if max == 0 {
        return None;
    }
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let start = policy.window_start(now);
    let pending_since = UnixMillis(
        now.as_millis()
            .saturating_sub(i64::try_from(PENDING_TTL.as_millis()).unwrap_or(i64::MAX)),
    );
    let abandoned = |a: &Attempt| !a.failed && a.at <= pending_since;
    let mut failures: Vec<UnixMillis> = recent
        .iter()
        .filter(|a| (a.failed || abandoned(a)) && a.at > start)
        .map(|a| a.at)
        .collect();
    if failures.len() >= max {
        failures.sort_unstable_by(|a, b| b.cmp(a));
        let frees_at = failures[max - 1]
            .as_millis()
            .saturating_add(policy.window_millis());
        return Some(UnixMillis(frees_at));
    }
    let pending = recent
        .iter()
        .filter(|a| !a.failed && a.at > pending_since)
        .count();
    (failures.len() + pending >= max).then(|| now.plus(PENDING_WAIT))
}

/// Decides whether a sign-in attempt at `now` may check its password, given the other
/// attempts (failed, or still being checked) for the same username and from the same client
/// IP. Attempts outside the window are ignored, so callers may pass more than the window.
///
/// Refused attempts are not failures: callers do not record them, so a person locked out by
/// someone else's guessing gets in as soon as the window has passed.
pub fn decide(
    policy: &ThrottlePolicy,
    user_attempts: &[Attempt],
    ip_attempts: &[Attempt],
    now: UnixMillis,
) -> ThrottleDecision {
    decide_with_network(policy, user_attempts, ip_attempts, &[], now)
}

/// [`decide`], also counting the attempts from the client's wider network (an IPv6 /48;
/// none for IPv4) against [`ThrottlePolicy::max_per_network`]. When several counts are over
/// their limit, the one that frees last is named.
pub fn decide_with_network(
    policy: &ThrottlePolicy,
    user_attempts: &[Attempt],
    ip_attempts: &[Attempt],
    network_attempts: &[Attempt],
    now: UnixMillis,
) -> ThrottleDecision {
    if !policy.is_enabled() {
        return ThrottleDecision::Allow;
    }
    let by_user = throttled_until(policy.max_per_user, user_attempts, policy, now)
        .map(|until| (ThrottleScope::Username, until));
    let by_ip = throttled_until(policy.max_per_ip, ip_attempts, policy, now)
        .map(|until| (ThrottleScope::ClientIp, until));
    let by_network = throttled_until(policy.max_per_network(), network_attempts, policy, now)
        .map(|until| (ThrottleScope::ClientNetwork, until));
    // The later release wins; on a tie the narrower count is named.
    [by_user, by_ip, by_network]
        .into_iter()
        .flatten()
        .reduce(|a, b| if b.1 > a.1 { b } else { a })
        .map_or(ThrottleDecision::Allow, |(scope, until)| {
            ThrottleDecision::Throttled { scope, until }
        })
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

    fn failed(times: impl IntoIterator<Item = UnixMillis>) -> Vec<Attempt> {
        times.into_iter().map(Attempt::failure).collect()
    }

    #[test]
    fn fewer_failures_than_the_limit_are_allowed() {
        let failures = failed((0..4).map(at));
        assert_eq!(
            decide(&policy(), &failures, &[], at(5)),
            ThrottleDecision::Allow
        );
    }

    #[test]
    fn the_limit_throttles_until_the_oldest_counted_failure_leaves_the_window() {
        let failures = failed((0..5).map(at));
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
        let failures = failed(vec![at(0); 40]);
        let decision = decide(&policy(), &failures, &[], at(0));
        assert_eq!(decision.retry_after_secs(at(0)), Some(15 * 60));
    }

    #[test]
    fn old_failures_do_not_count() {
        let failures = failed((-40..-15).map(at));
        assert_eq!(
            decide(&policy(), &failures, &[], at(0)),
            ThrottleDecision::Allow
        );
    }

    #[test]
    fn the_client_ip_has_its_own_limit() {
        let ip = failed((0..50).map(|i| UnixMillis(at(0).as_millis() + i)));
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
        let user = failed((0..5).map(at));
        let ip = failed(vec![at(3); 50]);
        assert_eq!(
            decide(&policy(), &user, &ip, at(4)),
            ThrottleDecision::Throttled {
                scope: ThrottleScope::ClientIp,
                until: at(18),
            }
        );
    }

    #[test]
    fn a_network_is_throttled_at_four_times_one_clients_limit() {
        // 199 failures spread over many /64s of one /48: each /64 is under its limit.
        let network = failed((0..199).map(|_| at(1)));
        assert_eq!(
            decide_with_network(&policy(), &[], &[], &network, at(2)),
            ThrottleDecision::Allow
        );
        let network = failed((0..200).map(|_| at(1)));
        assert_eq!(
            decide_with_network(&policy(), &[], &[], &network, at(2)),
            ThrottleDecision::Throttled {
                scope: ThrottleScope::ClientNetwork,
                until: at(16)
            }
        );
        // Without network attempts (IPv4) the rule is `decide`'s.
        assert_eq!(
            decide_with_network(&policy(), &[], &failed(vec![at(1); 50]), &[], at(2)),
            decide(&policy(), &[], &failed(vec![at(1); 50]), at(2))
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
            decide(
                &off,
                &failed(vec![at(0); 100]),
                &failed(vec![at(0); 100]),
                at(0)
            ),
            ThrottleDecision::Allow
        );
        let no_window = ThrottlePolicy {
            window: Duration::ZERO,
            ..policy()
        };
        assert_eq!(
            decide(&no_window, &failed(vec![at(0); 100]), &[], at(0)),
            ThrottleDecision::Allow
        );
    }

    #[test]
    fn attempts_still_being_checked_make_others_wait_briefly() {
        // Five correct sign-ins at once (tabs restoring): the sixth waits two seconds, not
        // fifteen minutes.
        let pending: Vec<_> = (0..5).map(|_| Attempt::pending(at(0))).collect();
        let decision = decide(&policy(), &pending, &[], at(0));
        assert_eq!(
            decision,
            ThrottleDecision::Throttled {
                scope: ThrottleScope::Username,
                until: at(0).plus(PENDING_WAIT),
            }
        );
        assert_eq!(decision.retry_after_secs(at(0)), Some(2));
        // Failures and pending attempts add up.
        let pending_now: Vec<_> = (0..2).map(|_| Attempt::pending(at(3))).collect();
        let mixed = [failed((0..3).map(at)), pending_now].concat();
        assert!(matches!(
            decide(&policy(), &mixed, &[], at(3)),
            ThrottleDecision::Throttled { .. }
        ));
        assert_eq!(
            decide(&policy(), &mixed[..4], &[], at(3)),
            ThrottleDecision::Allow
        );
    }

    #[test]
    fn abandoned_attempts_count_as_failures() {
        // Five checks whose clients went away: after 30 s they are failures, with the full wait.
        let stale: Vec<_> = (0..5).map(|_| Attempt::pending(at(0))).collect();
        assert_eq!(
            decide(&policy(), &stale, &[], at(1)),
            ThrottleDecision::Throttled {
                scope: ThrottleScope::Username,
                until: at(15),
            }
        );
    }
}
