//! What a countdown shows at one moment, from deadlines on the page's monotonic clock. Pure:
//! the rules are tested without a browser, and every way of showing the countdown (the Leptos
//! components, the custom element) reads them from here.

use auto_logout::{dto::ceil_seconds, SignInReason};

/// The attribute that marks the countdown's own dialogs (the warning, the end). Input inside
/// them is not activity: their buttons say what they do ("Stay signed in" extends by itself),
/// and extending on the press would close the warning under the pointer before its click
/// lands, so that "Sign out" or "Also warn me" would never be clicked.
pub const OWN_DIALOG_ATTRIBUTE: &str = "data-auto-logout-dialog";

/// How often the countdown looks at its deadlines, in milliseconds.
pub const TICK_MS: u32 = 200;
/// How often the server's view is read again (passively) while the page is open, in
/// milliseconds: a session ended elsewhere reaches the page within this.
pub const REFRESH_MS: u32 = 2_000;
/// Input on the page is reported as activity at most this often, in milliseconds.
pub const REPORT_EVERY_MS: f64 = 60_000.0;
/// Input this close to the warning (in milliseconds, beyond the warning's own lead) is
/// reported at once, so that typing never meets a warning it should have prevented.
pub const REPORT_NEAR_WARNING_MS: i64 = 2_000;

/// What the server said is left of the session, in milliseconds (`None`: that limit is off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Remaining {
    /// Until the idle limit.
    pub idle_ms: Option<i64>,
    /// Until the session's end whatever the activity (the absolute limit, or a scheduled
    /// cut-off when that comes first).
    pub session_ms: Option<i64>,
    /// `session_ms` counts to a scheduled cut-off (`sign_out_at`): the page says so, and
    /// leaves with the reason `scheduled_sign_out`.
    pub scheduled: bool,
}

/// When the limits fall, on the page's monotonic clock (`performance.now()`, in
/// milliseconds). Counting down from deadlines rather than counting ticks keeps a throttled
/// tab, a sleeping laptop or a wrong wall clock from drifting.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Deadlines {
    /// When the idle limit falls.
    pub idle_at: Option<f64>,
    /// When the absolute limit (or the scheduled cut-off) falls.
    pub session_at: Option<f64>,
    /// `session_at` is a scheduled cut-off.
    pub scheduled: bool,
}

impl Deadlines {
    /// The deadlines of `left`, read from the server at `now`.
    pub fn starting_at(now: f64, left: Remaining) -> Self {
        Self {
            idle_at: left.idle_ms.map(|ms| now + ms as f64),
            session_at: left.session_ms.map(|ms| now + ms as f64),
            scheduled: left.scheduled,
        }
    }

    /// What is left at `now`, in milliseconds (negative once passed).
    pub fn remaining(&self, now: f64) -> Remaining {
        let left = |at: Option<f64>| at.map(|at| (at - now).ceil() as i64);
        Remaining {
            idle_ms: left(self.idle_at),
            session_ms: left(self.session_at),
            scheduled: self.scheduled,
        }
    }

    /// What the countdown shows at `now` when the warning comes `warn_before_ms` ahead of the
    /// first limit.
    ///
    /// # Examples
    /// ```
    /// use auto_logout_countdown::rules::{Deadlines, Phase, Remaining};
    /// let deadlines = Deadlines::starting_at(0.0, Remaining { idle_ms: Some(90_000), session_ms: Some(3_600_000), scheduled: false });
    /// assert_eq!(deadlines.reading(0.0, 60_000).phase, Phase::Counting);
    /// assert_eq!(deadlines.reading(30_500.0, 60_000).idle, Some(60));
    /// assert!(matches!(deadlines.reading(31_000.0, 60_000).phase, Phase::Warning { seconds_left: 59, absolute_first: false }));
    /// ```
    pub fn reading(&self, now: f64, warn_before_ms: i64) -> Reading {
        let left = self.remaining(now);
        let idle = left.idle_ms.map(ceil_seconds);
        let session = left.session_ms.map(ceil_seconds);
        let phase = if left.session_ms.is_some_and(|ms| ms <= 0) {
            Phase::Ended(if self.scheduled {
                SignInReason::ScheduledSignOut
            } else {
                SignInReason::Expired
            })
        } else if left.idle_ms.is_some_and(|ms| ms <= 0) {
            Phase::Ended(SignInReason::Idle)
        } else {
            let absolute_first = match (idle, session) {
                (Some(i), Some(s)) => s <= i,
                (None, Some(_)) => true,
                _ => false,
            };
            match idle.into_iter().chain(session).min() {
                Some(first) if first <= ceil_seconds(warn_before_ms) => Phase::Warning {
                    seconds_left: first,
                    absolute_first,
                },
                _ => Phase::Counting,
            }
        };
        Reading {
            idle,
            session,
            scheduled: self.scheduled,
            phase,
        }
    }

    /// Whether input seen now should be reported at once rather than within the minute: the
    /// idle limit is within the warning's lead plus [`REPORT_NEAR_WARNING_MS`].
    pub fn input_is_urgent(&self, now: f64, warn_before_ms: i64) -> bool {
        self.remaining(now)
            .idle_ms
            .is_some_and(|ms| ms <= warn_before_ms.saturating_add(REPORT_NEAR_WARNING_MS))
    }
}

/// What the countdown shows at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Whole seconds until the idle limit (`data-seconds` of the idle countdown).
    pub idle: Option<u64>,
    /// Whole seconds until the absolute limit (or the scheduled cut-off).
    pub session: Option<u64>,
    /// `session` counts to a scheduled cut-off (`sign_out_at`).
    pub scheduled: bool,
    /// Counting, warning, or ended.
    pub phase: Phase,
}

/// Where the countdown is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No limit is near.
    Counting,
    /// The first limit is within the warning's lead.
    Warning {
        /// Whole seconds until it.
        seconds_left: u64,
        /// The absolute limit comes first: "Stay signed in" cannot help, so it is not offered.
        absolute_first: bool,
    },
    /// A limit passed, or the server said the session ended: the page leaves for sign-in
    /// with this reason.
    Ended(SignInReason),
}

/// `seconds` as `m:ss` (or `h:mm:ss` from an hour up).
///
/// # Examples
/// ```
/// assert_eq!(auto_logout_countdown::rules::format_clock(65), "1:05");
/// assert_eq!(auto_logout_countdown::rules::format_clock(5407), "1:30:07");
/// ```
pub fn format_clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// The words before the session's clock: its end is the absolute limit, or a scheduled
/// cut-off (`scheduled`).
pub fn session_label_text(scheduled: bool) -> &'static str {
    if scheduled {
        "Scheduled sign-out in "
    } else {
        "Session ends in "
    }
}

/// What the warning says, in words a screen reader reads once when it opens. `scheduled`:
/// the session's end is a scheduled cut-off.
pub fn warning_sentence(seconds_left: u64, absolute_first: bool, scheduled: bool) -> String {
    let left = format_clock(seconds_left);
    if absolute_first && scheduled {
        format!("Everyone is signed out at the set time of day in {left}. Save your work; signing in again will be needed.")
    } else if absolute_first {
        format!("Your session reaches its time limit in {left}. Save your work; signing in again will be needed.")
    } else {
        format!("You will be signed out for inactivity in {left}.")
    }
}

/// A page's own warning text with `{time}` replaced by the time left as `m:ss`.
///
/// # Examples
/// ```
/// use auto_logout_countdown::rules::fill_time;
/// assert_eq!(fill_time("Signing out in {time}", 75), "Signing out in 1:15");
/// ```
pub fn fill_time(template: &str, seconds_left: u64) -> String {
    template.replace("{time}", &format_clock(seconds_left))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(idle: Option<i64>, session: Option<i64>) -> Deadlines {
        Deadlines::starting_at(
            1_000.0,
            Remaining {
                idle_ms: idle,
                session_ms: session,
                scheduled: false,
            },
        )
    }

    #[test]
    fn seconds_are_rounded_up_so_zero_means_passed() {
        let d = at(Some(10_000), None);
        assert_eq!(d.reading(1_000.0, 0).idle, Some(10));
        assert_eq!(d.reading(1_001.0, 0).idle, Some(10));
        assert_eq!(d.reading(2_000.0, 0).idle, Some(9));
        assert_eq!(d.reading(10_999.0, 0).idle, Some(1));
        assert_eq!(d.reading(10_999.0, 0).phase, Phase::Counting);
        assert_eq!(
            d.reading(11_000.0, 0).phase,
            Phase::Ended(SignInReason::Idle)
        );
    }

    #[test]
    fn a_scheduled_cut_off_ends_with_its_own_reason_and_says_so() {
        let d = Deadlines::starting_at(
            0.0,
            Remaining {
                idle_ms: Some(600_000),
                session_ms: Some(30_000),
                scheduled: true,
            },
        );
        let warning = d.reading(5_000.0, 60_000);
        assert!(warning.scheduled);
        assert_eq!(
            warning.phase,
            Phase::Warning {
                seconds_left: 25,
                absolute_first: true
            }
        );
        assert!(warning_sentence(25, true, true).contains("set time of day"));
        assert_eq!(
            d.reading(30_000.0, 60_000).phase,
            Phase::Ended(SignInReason::ScheduledSignOut)
        );
    }

    #[test]
    fn the_absolute_limit_wins_when_both_have_passed() {
        let d = at(Some(5_000), Some(5_000));
        assert_eq!(
            d.reading(7_000.0, 0).phase,
            Phase::Ended(SignInReason::Expired)
        );
        let d = at(Some(5_000), Some(60_000));
        assert_eq!(
            d.reading(7_000.0, 0).phase,
            Phase::Ended(SignInReason::Idle)
        );
    }

    #[test]
    fn the_warning_names_the_first_limit() {
        let d = at(Some(50_000), Some(200_000));
        assert_eq!(d.reading(1_000.0, 30_000).phase, Phase::Counting);
        assert_eq!(
            d.reading(21_000.0, 30_000).phase,
            Phase::Warning {
                seconds_left: 30,
                absolute_first: false
            }
        );
        let d = at(Some(50_000), Some(20_000));
        assert_eq!(
            d.reading(1_000.0, 30_000).phase,
            Phase::Warning {
                seconds_left: 20,
                absolute_first: true
            },
            "the absolute limit first: staying cannot help"
        );
        let d = at(None, Some(10_000));
        assert!(matches!(
            d.reading(1_000.0, 30_000).phase,
            Phase::Warning {
                absolute_first: true,
                ..
            }
        ));
        let d = at(None, None);
        assert_eq!(d.reading(1e12, 30_000).phase, Phase::Counting, "no limits");
    }

    #[test]
    fn input_is_urgent_only_near_the_warning() {
        let d = at(Some(100_000), None);
        assert!(!d.input_is_urgent(1_000.0, 60_000));
        assert!(d.input_is_urgent(40_000.0, 60_000));
        assert!(!at(None, Some(1_000)).input_is_urgent(1_000.0, 60_000));
    }

    #[test]
    fn sentences() {
        assert_eq!(
            warning_sentence(45, false, false),
            "You will be signed out for inactivity in 0:45."
        );
        assert!(
            warning_sentence(45, true, false).starts_with("Your session reaches its time limit")
        );
        assert_eq!(format_clock(0), "0:00");
        assert_eq!(format_clock(3600), "1:00:00");
        assert_eq!(fill_time("no placeholder", 5), "no placeholder");
    }
}
