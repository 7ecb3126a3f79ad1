//! The timeout policy: when a session's idle and absolute limits fall, and how much is left.
//!
//! Everything here is a pure function of the policy, the session's own times and `now`.

use crate::{
    clock::UnixMillis,
    dto::SessionStatus,
    event::EndReason,
    last_tab::{LastTabRule, TabPresence},
    schedule::SignOutSchedule,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The limits that apply to one session.
///
/// `None` (or a zero duration, see [`TimeoutPolicy::new`]) disables a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeoutPolicy {
    /// Sign out after this long without activity.
    pub idle: Option<Duration>,
    /// Sign out this long after sign-in, whatever the activity.
    pub absolute: Option<Duration>,
    /// Show the expiry warning this long before the first limit.
    pub warn_before: Duration,
    /// Daily cut-offs at which the session ends, whatever the activity (`sign_out_at`): one
    /// more deadline beside the absolute limit, the earlier of the two ending the session.
    pub sign_out_at: Option<SignOutSchedule>,
    /// The session ends when no tab of the site has been open for a while
    /// (`end_with_last_tab`, see [`crate::last_tab`]). Only sessions whose tabs have spoken
    /// are concerned.
    pub last_tab: Option<LastTabRule>,
}

impl TimeoutPolicy {
    /// A policy from the configured durations; a zero duration disables that limit (SPEC §3).
    pub fn new(idle: Duration, absolute: Duration, warn_before: Duration) -> Self {
        let enabled = |d: Duration| (!d.is_zero()).then_some(d);
        Self {
            idle: enabled(idle),
            absolute: enabled(absolute),
            warn_before,
            sign_out_at: None,
            last_tab: None,
        }
    }

    /// This policy with `end_with_last_tab`: a session whose tabs have spoken ends when none
    /// of them has been open for `grace` ([`crate::last_tab`]).
    ///
    /// ```
    /// use auto_logout::last_tab::{TabPresence, TabSignal};
    /// use auto_logout::{EndReason, SessionTimes, TimeoutPolicy, UnixMillis};
    /// use std::time::Duration;
    ///
    /// let policy = TimeoutPolicy::new(Duration::from_secs(600), Duration::ZERO, Duration::from_secs(60))
    ///     .with_last_tab(Duration::from_secs(15));
    /// let mut times = SessionTimes::started_at(UnixMillis(0));
    /// times.tabs = Some(TabPresence { signal: TabSignal::Closed, at: UnixMillis(1_000) });
    /// assert_eq!(policy.expiry(times, UnixMillis(16_000)), Some((EndReason::TabsClosed, UnixMillis(16_000))));
    /// ```
    pub fn with_last_tab(mut self, grace: Duration) -> Self {
        self.last_tab = Some(LastTabRule::new(grace));
        self
    }

    /// This policy with a scheduled sign-out: sessions also end at the first of `schedule`'s
    /// cut-offs after their sign-in.
    ///
    /// ```
    /// use auto_logout::{schedule::SignOutSchedule, SessionTimes, TimeoutPolicy, UnixMillis};
    /// use std::time::Duration;
    ///
    /// let hour = Duration::from_secs(3600);
    /// let policy = TimeoutPolicy::new(hour, 8 * hour, Duration::from_secs(60))
    ///     .with_sign_out_at(SignOutSchedule::parse("18:00", "UTC").unwrap());
    /// // Signed in at 17:00 UTC: the cut-off at 18:00 comes long before the 8-hour limit.
    /// let deadlines = policy.deadlines(SessionTimes::started_at(UnixMillis(17 * 3_600_000)));
    /// assert_eq!(deadlines.session_end, Some(UnixMillis(18 * 3_600_000)));
    /// assert!(deadlines.scheduled);
    /// ```
    pub fn with_sign_out_at(mut self, schedule: SignOutSchedule) -> Self {
        self.sign_out_at = Some(schedule);
        self
    }

    /// The moments the limits fall for a session with these times.
    ///
    /// Activity moves only the idle deadline; the session's end (the absolute limit, or the
    /// first scheduled cut-off after sign-in when that is earlier) depends on the sign-in time
    /// alone, so no activity can ever extend it.
    pub fn deadlines(&self, times: SessionTimes) -> Deadlines {
        let absolute = self.absolute.map(|abs| times.created_at.plus(abs));
        let cut_off = self
            .sign_out_at
            .as_ref()
            .map(|schedule| schedule.next_after(times.created_at));
        let (session_end, scheduled) = match (absolute, cut_off) {
            (Some(absolute), Some(cut_off)) if cut_off < absolute => (Some(cut_off), true),
            (None, Some(cut_off)) => (Some(cut_off), true),
            (absolute, _) => (absolute, false),
        };
        Deadlines {
            idle_end: self.idle.map(|idle| times.last_activity_at.plus(idle)),
            session_end,
            scheduled,
            tabs_end: self
                .last_tab
                .zip(times.tabs)
                .and_then(|(rule, presence)| rule.deadline(presence)),
        }
    }

    /// The latest sign-in that has reached the session's end at `now` (the absolute limit or
    /// a scheduled cut-off), for finding ended sessions by their sign-in time; `None` when
    /// neither is set.
    pub fn signed_in_too_early(&self, now: UnixMillis) -> Option<UnixMillis> {
        let absolute = self.absolute.map(|abs| now.minus(abs));
        // Signed in strictly before the latest cut-off.
        let scheduled = self
            .sign_out_at
            .as_ref()
            .map(|schedule| UnixMillis(schedule.latest_at_or_before(now).0.saturating_sub(1)));
        absolute.max(scheduled)
    }

    /// The limit that has passed at `now`, with the moment it passed; `None` while the session
    /// is still valid. When both have passed, the earlier one is the reason.
    pub fn expiry(&self, times: SessionTimes, now: UnixMillis) -> Option<(EndReason, UnixMillis)> {
        self.deadlines(times).expiry(now)
    }

    /// What is left of the session at `now`, for the countdown and the status API.
    pub fn status(&self, times: SessionTimes, now: UnixMillis) -> SessionStatus {
        self.status_of(&self.deadlines(times), now)
    }

    /// [`TimeoutPolicy::status`] of a session whose [`TimeoutPolicy::deadlines`] are already
    /// at hand (finding a scheduled cut-off is not free).
    pub fn status_of(&self, deadlines: &Deadlines, now: UnixMillis) -> SessionStatus {
        SessionStatus {
            seconds_until_idle_end: deadlines.idle_end.map(|d| seconds_left(now, d)),
            seconds_until_session_end: deadlines.session_end.map(|d| seconds_left(now, d)),
            warn_before: self.warn_before.as_secs(),
            scheduled_sign_out: deadlines.scheduled,
        }
    }
}

/// The times of one session that the policy looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTimes {
    /// When the person signed in; fixes the absolute deadline.
    pub created_at: UnixMillis,
    /// The last request that counted as activity.
    pub last_activity_at: UnixMillis,
    /// The last thing the session's tabs said (`None`: they never spoke).
    #[serde(default)]
    pub tabs: Option<TabPresence>,
}

impl SessionTimes {
    /// A session that starts (and was last active) at `now`.
    pub fn started_at(now: UnixMillis) -> Self {
        Self {
            created_at: now,
            last_activity_at: now,
            tabs: None,
        }
    }

    /// The times after activity at `now`. Time never runs backwards here: a `now` earlier than
    /// the last activity (a clock step back) leaves the times unchanged.
    pub fn touched(self, now: UnixMillis) -> Self {
        Self {
            last_activity_at: self.last_activity_at.max(now),
            ..self
        }
    }
}

/// The moments a session's limits fall; `None` where that limit is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// When the idle limit falls unless there is activity first.
    pub idle_end: Option<UnixMillis>,
    /// When the session ends whatever the activity: the absolute limit, or the scheduled
    /// cut-off when that comes first.
    pub session_end: Option<UnixMillis>,
    /// Whether `session_end` is a scheduled cut-off (`sign_out_at`) rather than the absolute
    /// limit.
    pub scheduled: bool,
    /// When the session ends for want of an open tab (`end_with_last_tab`), unless a tab
    /// speaks first. Not a countdown: no open tab shows it.
    #[serde(default)]
    pub tabs_end: Option<UnixMillis>,
}

impl Deadlines {
    /// The first deadline that is at or before `now`, with its reason.
    pub fn expiry(&self, now: UnixMillis) -> Option<(EndReason, UnixMillis)> {
        let idle = self
            .idle_end
            .filter(|d| *d <= now)
            .map(|d| (EndReason::IdleTimeout, d));
        let absolute = self
            .session_end
            .filter(|d| *d <= now)
            .map(|d| (self.session_end_reason(), d));
        let tabs = self
            .tabs_end
            .filter(|d| *d <= now)
            .map(|d| (EndReason::TabsClosed, d));
        // The earliest passed deadline; on a tie the session's end, then idleness, come first.
        [absolute, idle, tabs]
            .into_iter()
            .flatten()
            .reduce(|first, next| if next.1 < first.1 { next } else { first })
    }

    /// Why the session ends at `session_end`.
    pub fn session_end_reason(&self) -> EndReason {
        if self.scheduled {
            EndReason::ScheduledSignOut
        } else {
            EndReason::AbsoluteTimeout
        }
    }

    /// The earlier of the two deadlines, if any limit is enabled.
    pub fn first(&self) -> Option<UnixMillis> {
        match (self.idle_end, self.session_end) {
            (Some(i), Some(s)) => Some(i.min(s)),
            (one, other) => one.or(other),
        }
    }
}

/// How long before the first limit the expiry warning shows when the operator sets no
/// `warn_before` and every limit is long enough (SPEC §3).
pub const DEFAULT_WARN_BEFORE: Duration = Duration::from_secs(60);

/// The `warn_before` to use when the operator set none: [`DEFAULT_WARN_BEFORE`], or half of
/// the shortest of `limits` when that is shorter, so that a default never contradicts a short
/// limit (`idle_time = 30s` alone warns 15 s before the end instead of refusing to start).
/// Zero durations are disabled limits and are ignored; with none left, the default stands.
///
/// `limits` are the limits of the sessions that show the warning: the ordinary, "Remember
/// me" and administrators' idle and absolute limits (API clients show no dialog).
///
/// ```
/// use auto_logout::policy::{default_warn_before, DEFAULT_WARN_BEFORE};
/// use std::time::Duration;
/// let secs = Duration::from_secs;
/// assert_eq!(default_warn_before([secs(600), secs(3600)]), DEFAULT_WARN_BEFORE);
/// assert_eq!(default_warn_before([secs(30), secs(3600)]), secs(15));
/// assert_eq!(default_warn_before([secs(0), secs(90)]), secs(45));
/// ```
pub fn default_warn_before(limits: impl IntoIterator<Item = Duration>) -> Duration {
    limits
        .into_iter()
        .filter(|limit| !limit.is_zero())
        .map(|limit| limit / 2)
        .fold(DEFAULT_WARN_BEFORE, Duration::min)
}

/// Whole seconds from `now` until `deadline`, rounded up and never negative: a countdown shows
/// `0` exactly when the deadline has been reached.
fn seconds_left(now: UnixMillis, deadline: UnixMillis) -> u64 {
    let millis = now.millis_until(deadline);
    if millis <= 0 {
        0
    } else {
        (millis as u64).div_ceil(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = 60_000;

    fn policy(idle_min: u64, abs_min: u64) -> TimeoutPolicy {
        TimeoutPolicy::new(
            Duration::from_secs(idle_min * 60),
            Duration::from_secs(abs_min * 60),
            Duration::from_secs(60),
        )
    }

    fn at(ms: i64) -> UnixMillis {
        UnixMillis(ms)
    }

    #[test]
    fn fresh_session_has_the_full_limits_left() {
        let s = policy(10, 60).status(SessionTimes::started_at(at(0)), at(0));
        assert_eq!(s.seconds_until_idle_end, Some(600));
        assert_eq!(s.seconds_until_session_end, Some(3600));
        assert_eq!(s.warn_before, 60);
    }

    #[test]
    fn idle_limit_ends_the_session_at_its_deadline() {
        let p = policy(10, 60);
        let t = SessionTimes::started_at(at(0));
        assert_eq!(p.expiry(t, at(10 * MIN - 1)), None);
        assert_eq!(
            p.expiry(t, at(10 * MIN)),
            Some((EndReason::IdleTimeout, at(10 * MIN)))
        );
    }

    #[test]
    fn activity_moves_the_idle_deadline_but_never_the_absolute_one() {
        let p = policy(10, 60);
        let mut t = SessionTimes::started_at(at(0));
        for minute in (5..=55).step_by(5) {
            t = t.touched(at(minute * MIN));
            assert_eq!(p.expiry(t, at(minute * MIN + 1)), None);
        }
        assert_eq!(
            p.expiry(t, at(60 * MIN)),
            Some((EndReason::AbsoluteTimeout, at(60 * MIN)))
        );
    }

    #[test]
    fn earlier_deadline_is_the_reason_when_both_passed() {
        let p = policy(10, 15);
        let t = SessionTimes::started_at(at(0));
        assert_eq!(
            p.expiry(t, at(100 * MIN)),
            Some((EndReason::IdleTimeout, at(10 * MIN)))
        );
        let t = t.touched(at(9 * MIN));
        assert_eq!(
            p.expiry(t, at(100 * MIN)),
            Some((EndReason::AbsoluteTimeout, at(15 * MIN)))
        );
    }

    #[test]
    fn a_cut_off_before_the_absolute_limit_ends_the_session_as_scheduled() {
        let p = policy(10, 60).with_sign_out_at(SignOutSchedule::parse("00:30", "UTC").unwrap());
        // Signed in at 1970-01-01 00:00 UTC; active until just before the cut-off.
        let t = SessionTimes::started_at(at(0)).touched(at(25 * MIN));
        let d = p.deadlines(t);
        assert_eq!(d.session_end, Some(at(30 * MIN)));
        assert!(d.scheduled);
        assert_eq!(
            p.status(t, at(29 * MIN)).seconds_until_session_end,
            Some(60)
        );
        assert!(p.status(t, at(29 * MIN)).scheduled_sign_out);
        assert_eq!(
            p.expiry(t, at(30 * MIN)),
            Some((EndReason::ScheduledSignOut, at(30 * MIN)))
        );
        // Signed in after the cut-off: the next one is tomorrow, the absolute limit first.
        let t = SessionTimes::started_at(at(31 * MIN)).touched(at(90 * MIN));
        assert!(!p.deadlines(t).scheduled);
        assert_eq!(
            p.expiry(t, at(91 * MIN)),
            Some((EndReason::AbsoluteTimeout, at(91 * MIN)))
        );
        // With no absolute limit, the cut-off alone ends it.
        let p = policy(0, 0).with_sign_out_at(SignOutSchedule::parse("00:30", "UTC").unwrap());
        let d = p.deadlines(SessionTimes::started_at(at(31 * MIN)));
        assert_eq!(d.session_end, Some(at(24 * 60 * MIN + 30 * MIN)));
        assert_eq!(d.session_end_reason(), EndReason::ScheduledSignOut);
    }

    #[test]
    fn zero_disables_a_limit() {
        let p = policy(0, 0);
        let t = SessionTimes::started_at(at(0));
        assert_eq!(p.expiry(t, at(i64::MAX / 2)), None);
        let s = p.status(t, at(5));
        assert_eq!(s.seconds_until_idle_end, None);
        assert_eq!(s.seconds_until_session_end, None);
    }

    #[test]
    fn seconds_round_up_and_reach_zero_at_the_deadline() {
        let p = policy(1, 0);
        let t = SessionTimes::started_at(at(0));
        assert_eq!(p.status(t, at(59_001)).seconds_until_idle_end, Some(1));
        assert_eq!(p.status(t, at(60_000)).seconds_until_idle_end, Some(0));
        assert_eq!(p.status(t, at(90_000)).seconds_until_idle_end, Some(0));
    }

    #[test]
    fn a_clock_step_back_does_not_rewind_activity() {
        let t = SessionTimes::started_at(at(10 * MIN)).touched(at(MIN));
        assert_eq!(t.last_activity_at, at(10 * MIN));
    }

    #[test]
    fn the_default_warning_fits_the_shortest_limit() {
        let secs = Duration::from_secs;
        assert_eq!(default_warn_before([]), DEFAULT_WARN_BEFORE);
        assert_eq!(default_warn_before([secs(0), secs(0)]), DEFAULT_WARN_BEFORE);
        assert_eq!(default_warn_before([secs(120), secs(3600)]), secs(60));
        assert_eq!(default_warn_before([secs(600), secs(30)]), secs(15));
        assert_eq!(
            default_warn_before([secs(3600), secs(0), secs(20)]),
            secs(10)
        );
        assert_eq!(
            default_warn_before([Duration::from_millis(1)]),
            Duration::from_micros(500)
        );
    }

    proptest! {
        #[test]
        fn the_default_warning_shows_before_every_limit(
            limits in proptest::collection::vec(0u64..10_000_000, 0..8),
        ) {
            let limits: Vec<Duration> = limits.into_iter().map(Duration::from_millis).collect();
            let warn = default_warn_before(limits.iter().copied());
            prop_assert!(warn <= DEFAULT_WARN_BEFORE);
            for limit in limits.iter().filter(|l| !l.is_zero()) {
                prop_assert!(warn < *limit, "{warn:?} vs {limit:?}");
            }
        }

        #[test]
        fn remaining_seconds_never_grow_without_activity(
            idle in 0u64..10_000, abs in 0u64..100_000,
            start in 0i64..1_000_000_000, a in 0i64..200_000_000, b in 0i64..200_000_000,
        ) {
            let p = TimeoutPolicy::new(Duration::from_secs(idle), Duration::from_secs(abs), Duration::ZERO);
            let t = SessionTimes::started_at(at(start));
            let (early, late) = (at(start + a.min(b)), at(start + a.max(b)));
            let (s1, s2) = (p.status(t, early), p.status(t, late));
            prop_assert!(s2.seconds_until_idle_end <= s1.seconds_until_idle_end);
            prop_assert!(s2.seconds_until_session_end <= s1.seconds_until_session_end);
        }

        #[test]
        fn absolute_deadline_is_never_extended(
            abs in 1u64..100_000, touches in proptest::collection::vec(0i64..200_000_000, 0..20),
        ) {
            let p = TimeoutPolicy::new(Duration::from_secs(60), Duration::from_secs(abs), Duration::ZERO);
            let start = SessionTimes::started_at(at(0));
            let touched = touches.iter().fold(start, |t, ms| t.touched(at(*ms)));
            prop_assert_eq!(p.deadlines(touched).session_end, p.deadlines(start).session_end);
        }

        #[test]
        fn the_sweeps_sign_in_bound_finds_exactly_the_ended_sessions(
            abs in 0u64..200_000, start in 0i64..400_000_000, after in 0i64..400_000_000,
            cut_off in prop::option::of(0u32..86_400),
        ) {
            let mut p = TimeoutPolicy::new(Duration::ZERO, Duration::from_secs(abs), Duration::ZERO);
            if let Some(c) = cut_off {
                let c = crate::schedule::CutOff::new((c / 3600) as u8, (c / 60 % 60) as u8, (c % 60) as u8).unwrap();
                p = p.with_sign_out_at(SignOutSchedule::new([c], "Europe/Paris").unwrap());
            }
            let t = SessionTimes::started_at(at(start));
            let now = at(start + after);
            let found = p.signed_in_too_early(now).is_some_and(|bound| t.created_at <= bound);
            prop_assert_eq!(p.expiry(t, now).is_some(), found);
        }

        #[test]
        fn a_session_is_expired_exactly_when_a_countdown_shows_zero(
            idle in 1u64..10_000, abs in 1u64..100_000, now in 0i64..200_000_000,
        ) {
            let p = TimeoutPolicy::new(Duration::from_secs(idle), Duration::from_secs(abs), Duration::ZERO);
            let t = SessionTimes::started_at(at(0));
            let s = p.status(t, at(now));
            let shows_zero = s.seconds_until_idle_end == Some(0) || s.seconds_until_session_end == Some(0);
            prop_assert_eq!(p.expiry(t, at(now)).is_some(), shows_zero);
        }
    }
}
