//! Signing out when the last tab closes (`end_with_last_tab`, SPEC §3).
//!
//! The site's open tabs tell the server about themselves: a visible tab says so every few
//! seconds, a tab that is hidden says so once (browsers throttle hidden tabs' timers to about
//! once a minute, and suspend them on phones), and the last tab to close says so as it goes
//! (`navigator.sendBeacon` on `pagehide`; the tabs agree among themselves which one is last).
//! The server keeps only the last thing it heard, a [`TabPresence`], and [`LastTabRule`] says
//! when that ends the session:
//!
//! - the last tab closed: [`LastTabRule::grace`] later, unless a tab speaks first (a reload or
//!   a change of page is a close followed at once by a new tab);
//! - a visible tab went silent (the browser crashed or was killed, the machine lost power):
//!   [`LastTabRule::silence`] later, four graces, so that a slow network is not a closed tab;
//! - a tab is hidden: never by this rule. A hidden tab may not run for hours and is still
//!   open; the idle limit still applies.
//!
//! A session whose tabs never spoke (a script with the cookie, a browser without JavaScript)
//! has no presence and is never ended by this rule.
//!
//! ```
//! use auto_logout::last_tab::{LastTabRule, TabPresence, TabSignal};
//! use auto_logout::UnixMillis;
//! use std::time::Duration;
//!
//! let rule = LastTabRule::new(Duration::from_secs(15));
//! let closed = TabPresence { signal: TabSignal::Closed, at: UnixMillis(1_000) };
//! assert_eq!(rule.deadline(closed), Some(UnixMillis(16_000)));
//! // A reload: the closing page's beacon, then the new page says it is visible.
//! let reloaded = closed.then(TabPresence { signal: TabSignal::Visible, at: UnixMillis(2_000) });
//! assert_eq!(rule.deadline(reloaded), Some(UnixMillis(62_000)));
//! let hidden = reloaded.then(TabPresence { signal: TabSignal::Hidden, at: UnixMillis(3_000) });
//! assert_eq!(rule.deadline(hidden), None);
//! ```

use crate::clock::UnixMillis;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr, time::Duration};

/// The default of `last_tab_grace`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(15);

/// How many graces a visible tab may be silent before it is taken as gone.
pub const SILENCE_GRACES: u32 = 4;

/// What a tab of the site says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TabSignal {
    /// A tab is open and visible; it says so again every few seconds.
    Visible,
    /// The tabs that are open are hidden: they may not speak for a long time.
    Hidden,
    /// The last open tab closed (or left the site).
    Closed,
}

impl TabSignal {
    /// Every signal.
    pub const ALL: [TabSignal; 3] = [TabSignal::Visible, TabSignal::Hidden, TabSignal::Closed];

    /// The stored and sent name: `visible`, `hidden` or `closed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TabSignal::Visible => "visible",
            TabSignal::Hidden => "hidden",
            TabSignal::Closed => "closed",
        }
    }
}

impl fmt::Display for TabSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`TabSignal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tab signal `{0}`; expected visible, hidden or closed")]
pub struct UnknownTabSignal(pub String);

impl FromStr for TabSignal {
    type Err = UnknownTabSignal;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        TabSignal::ALL
            .into_iter()
            .find(|signal| signal.as_str() == s)
            .ok_or_else(|| UnknownTabSignal(s.chars().take(32).collect()))
    }
}

/// The last thing a session's tabs said, and when the server heard it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TabPresence {
    /// What they said.
    pub signal: TabSignal,
    /// When.
    pub at: UnixMillis,
}

impl TabPresence {
    /// The presence after hearing `next`. Whatever a tab says replaces what was said before
    /// (a tab that speaks after the last one closed is a tab open again), except that a second
    /// `closed` keeps the first one's time (no tab spoke between them), and news older than
    /// what is known (heard out of order, a clock step back) changes nothing.
    pub fn then(self, next: TabPresence) -> TabPresence {
        if next.at < self.at {
            return self;
        }
        match (self.signal, next.signal) {
            (TabSignal::Closed, TabSignal::Closed) => self,
            _ => next,
        }
    }

    /// [`TabPresence::then`] where either side may be unknown.
    pub fn merge(known: Option<TabPresence>, next: Option<TabPresence>) -> Option<TabPresence> {
        match (known, next) {
            (Some(known), Some(next)) => Some(known.then(next)),
            (one, other) => one.or(other),
        }
    }
}

/// When a session ends for want of an open tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastTabRule {
    /// How long no tab may be open before the session ends (`last_tab_grace`).
    pub grace: Duration,
}

impl Default for LastTabRule {
    fn default() -> Self {
        Self::new(DEFAULT_GRACE)
    }
}

impl LastTabRule {
    /// The rule with this grace.
    pub const fn new(grace: Duration) -> Self {
        Self { grace }
    }

    /// How long a visible tab may be silent before it is taken as gone:
    /// [`SILENCE_GRACES`] graces.
    pub fn silence(&self) -> Duration {
        self.grace.saturating_mul(SILENCE_GRACES)
    }

    /// When the session ends, given the last thing its tabs said; `None` while a hidden tab
    /// is open.
    pub fn deadline(&self, presence: TabPresence) -> Option<UnixMillis> {
        match presence.signal {
            TabSignal::Closed => Some(presence.at.plus(self.grace)),
            TabSignal::Visible => Some(presence.at.plus(self.silence())),
            TabSignal::Hidden => None,
        }
    }

    /// The latest `closed` and `visible` times that have ended a session at `now`, for
    /// finding such sessions in the database: `(closed_before, visible_before)`.
    pub fn ended_if_heard_before(&self, now: UnixMillis) -> (UnixMillis, UnixMillis) {
        (now.minus(self.grace), now.minus(self.silence()))
    }

    /// Whether hearing `heard` must be written to the database, when `written` is what the
    /// database holds: a new signal always; the same `visible` again once a grace has passed
    /// since the one written (so that the database is never more than a grace behind, well
    /// within the silence); the same `hidden` or `closed` again never.
    pub fn write_due(&self, written: Option<TabPresence>, heard: TabPresence) -> bool {
        match written {
            None => true,
            Some(written) if written.signal != heard.signal => true,
            Some(written) => {
                heard.signal == TabSignal::Visible
                    && written.at.millis_until(heard.at)
                        >= i64::try_from(self.grace.as_millis()).unwrap_or(i64::MAX)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GRACE: Duration = Duration::from_secs(15);

    fn heard(signal: TabSignal, secs: i64) -> TabPresence {
        TabPresence {
            signal,
            at: UnixMillis(secs * 1_000),
        }
    }

    #[test]
    fn the_last_tab_closing_ends_the_session_a_grace_later() {
        let rule = LastTabRule::new(GRACE);
        let closed = heard(TabSignal::Visible, 0).then(heard(TabSignal::Closed, 10));
        assert_eq!(rule.deadline(closed), Some(UnixMillis(25_000)));
    }

    #[test]
    fn a_reload_or_a_change_of_page_never_ends_it() {
        let rule = LastTabRule::new(GRACE);
        let mut presence = heard(TabSignal::Visible, 0);
        // Ten reloads, each a close and a visible tab a second later.
        for s in (2..40).step_by(4) {
            presence = presence.then(heard(TabSignal::Closed, s));
            presence = presence.then(heard(TabSignal::Visible, s + 1));
            assert_eq!(presence.signal, TabSignal::Visible);
            assert!(rule.deadline(presence).unwrap() > UnixMillis((s + 2) * 1_000));
        }
    }

    #[test]
    fn a_hidden_tab_is_never_taken_as_closed() {
        let rule = LastTabRule::new(GRACE);
        let hidden = heard(TabSignal::Visible, 0).then(heard(TabSignal::Hidden, 5));
        assert_eq!(rule.deadline(hidden), None, "silent for hours, still open");
        // Closing it is a close.
        let closed = hidden.then(heard(TabSignal::Closed, 9_000));
        assert_eq!(rule.deadline(closed), Some(UnixMillis(9_015_000)));
    }

    #[test]
    fn a_silent_visible_tab_is_taken_as_gone_after_four_graces() {
        let rule = LastTabRule::new(GRACE);
        assert_eq!(rule.silence(), Duration::from_secs(60));
        assert_eq!(
            rule.deadline(heard(TabSignal::Visible, 100)),
            Some(UnixMillis(160_000))
        );
    }

    #[test]
    fn a_second_close_keeps_the_first_ones_time_and_old_news_changes_nothing() {
        let first = heard(TabSignal::Closed, 10);
        assert_eq!(first.then(heard(TabSignal::Closed, 12)), first);
        let visible = heard(TabSignal::Visible, 20);
        assert_eq!(visible.then(heard(TabSignal::Closed, 19)), visible);
        assert_eq!(
            TabPresence::merge(Some(visible), Some(first)),
            Some(visible)
        );
        assert_eq!(TabPresence::merge(None, Some(first)), Some(first));
        assert_eq!(TabPresence::merge(Some(first), None), Some(first));
    }

    #[test]
    fn visible_beats_are_written_once_a_grace_and_changes_at_once() {
        let rule = LastTabRule::new(GRACE);
        let written = heard(TabSignal::Visible, 0);
        assert!(rule.write_due(None, written));
        assert!(!rule.write_due(Some(written), heard(TabSignal::Visible, 14)));
        assert!(rule.write_due(Some(written), heard(TabSignal::Visible, 15)));
        assert!(rule.write_due(Some(written), heard(TabSignal::Hidden, 1)));
        assert!(rule.write_due(Some(written), heard(TabSignal::Closed, 1)));
        let hidden = heard(TabSignal::Hidden, 0);
        assert!(!rule.write_due(Some(hidden), heard(TabSignal::Hidden, 900)));
    }

    #[test]
    fn signals_read_their_names() {
        for signal in TabSignal::ALL {
            assert_eq!(signal.as_str().parse::<TabSignal>(), Ok(signal));
        }
        assert_eq!(" closed\n".parse::<TabSignal>(), Ok(TabSignal::Closed));
        assert!("open".parse::<TabSignal>().is_err());
    }

    fn signal() -> impl Strategy<Value = TabSignal> {
        prop::sample::select(TabSignal::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn the_sweeps_bounds_find_exactly_the_ended_sessions(
            grace in 1u64..100, s in signal(), at in 0i64..1_000_000, after in 0i64..1_000_000,
        ) {
            let rule = LastTabRule::new(Duration::from_secs(grace));
            let presence = TabPresence { signal: s, at: UnixMillis(at) };
            let now = UnixMillis(at + after);
            let (closed_before, visible_before) = rule.ended_if_heard_before(now);
            let found = match s {
                TabSignal::Closed => presence.at <= closed_before,
                TabSignal::Visible => presence.at <= visible_before,
                TabSignal::Hidden => false,
            };
            prop_assert_eq!(rule.deadline(presence).is_some_and(|d| d <= now), found);
        }

        #[test]
        fn the_database_is_never_a_grace_behind_a_visible_tab(
            beats in proptest::collection::vec(0i64..5_000, 1..50),
        ) {
            let rule = LastTabRule::new(GRACE);
            let mut t = 0;
            let mut written: Option<TabPresence> = None;
            for step in beats {
                t += step;
                let beat = heard(TabSignal::Visible, 0).then(TabPresence { signal: TabSignal::Visible, at: UnixMillis(t) });
                if rule.write_due(written, beat) {
                    written = Some(beat);
                }
                let lag = t - written.unwrap().at.as_millis();
                prop_assert!(lag < 15_000, "{lag}");
            }
        }
    }
}
