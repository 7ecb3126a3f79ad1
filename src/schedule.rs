//! Scheduled sign-out (`sign_out_at`): daily cut-offs, in one time zone, at which every
//! session of a class ends — the end of a shift on a shared computer.
//!
//! A session ends at the first cut-off *after* its sign-in, so a sign-in at 17:59 with a cut-off
//! at 18:00 has one minute, and a sign-in at 18:00:00 exactly lasts until the next cut-off.
//! The cut-off is one more deadline beside the absolute limit: whichever comes first ends the
//! session (see [`crate::policy::TimeoutPolicy::deadlines`]).
//!
//! Cut-offs are wall-clock times in the schedule's zone, so they follow daylight-saving
//! changes: `18:00` in `Europe/Paris` is 17:00 UTC in winter and 16:00 UTC in summer. A cut-off
//! that a change skips (02:30 on the night clocks go from 02:00 to 03:00) falls at the instant
//! it would have been with the offset in force before the change (03:30 local); one that
//! happens twice (02:30 on the night clocks go back) falls the first time.
//!
//! Zones are looked up in the IANA database that the `server` feature bundles into the
//! engine; without it (the browser's build, which never makes a schedule) only `UTC` is known.
//!
//! ```
//! use auto_logout::schedule::SignOutSchedule;
//! use auto_logout::UnixMillis;
//!
//! let schedule = SignOutSchedule::parse("18:00, 02:00", "Europe/Paris").unwrap();
//! // 2026-01-15 16:30 UTC = 17:30 in Paris (winter): the next cut-off is 18:00 Paris = 17:00 UTC.
//! let signed_in = UnixMillis(1_768_494_600_000);
//! assert_eq!(schedule.next_after(signed_in), UnixMillis(1_768_496_400_000));
//! assert!(SignOutSchedule::parse("25:00", "UTC").is_err());
//! ```

use crate::clock::UnixMillis;
use jiff::{civil, tz::TimeZone, Timestamp, ToSpan};
use std::{fmt, str::FromStr, sync::Arc};

/// The most cut-offs one schedule may have: every question about it walks them all.
pub const MAX_CUT_OFFS: usize = 48;

/// One daily cut-off: a wall-clock time (to the second) in the schedule's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CutOff {
    hour: u8,
    minute: u8,
    second: u8,
}

impl CutOff {
    /// The cut-off at `hour:minute:second` (24-hour clock).
    ///
    /// # Errors
    /// [`ScheduleError::BadTime`] when a part is out of range.
    pub fn new(hour: u8, minute: u8, second: u8) -> Result<Self, ScheduleError> {
        if hour > 23 || minute > 59 || second > 59 {
            return Err(ScheduleError::BadTime(format!(
                "{hour:02}:{minute:02}:{second:02}"
            )));
        }
        Ok(Self {
            hour,
            minute,
            second,
        })
    }

    fn civil(self) -> civil::Time {
        // In range by construction.
        civil::Time::constant(self.hour as i8, self.minute as i8, self.second as i8, 0)
    }
}

impl FromStr for CutOff {
    type Err = ScheduleError;

    /// `HH:MM` or `HH:MM:SS`, 24-hour clock.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ScheduleError::BadTime(text.to_owned());
        let parts: Vec<&str> = text.trim().split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let mut numbers = [0u8; 3];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            *slot = part.parse().map_err(|_| bad())?;
        }
        CutOff::new(numbers[0], numbers[1], numbers[2]).map_err(|_| bad())
    }
}

impl fmt::Display for CutOff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)?;
        if self.second != 0 {
            write!(f, ":{:02}", self.second)?;
        }
        Ok(())
    }
}

/// Why a schedule could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// A cut-off is not a time of day.
    #[error("`{0}` is not a time of day: write cut-offs as HH:MM or HH:MM:SS (24-hour clock), separated by commas, e.g. `18:00,02:00`")]
    BadTime(String),
    /// No cut-off was given.
    #[error("a sign-out schedule needs at least one cut-off, e.g. `18:00`")]
    Empty,
    /// More cut-offs than [`MAX_CUT_OFFS`].
    #[error("a sign-out schedule has at most {MAX_CUT_OFFS} cut-offs a day, not {0}")]
    TooMany(usize),
    /// The time zone is not in the time zone database.
    #[error("unknown time zone `{0}`: use an IANA name such as `Europe/Paris`, `America/New_York` or `UTC`")]
    UnknownZone(String),
}

/// Daily cut-offs in one time zone (see the module documentation). Cheap to clone.
#[derive(Clone)]
pub struct SignOutSchedule {
    cut_offs: Arc<[CutOff]>,
    zone: TimeZone,
    zone_name: Arc<str>,
}

impl SignOutSchedule {
    /// A schedule of `cut_offs` (in any order; repeats are ignored) in the IANA time zone
    /// `zone` (`UTC`, `Europe/Paris`, …).
    ///
    /// # Errors
    /// [`ScheduleError::Empty`], [`ScheduleError::TooMany`] or [`ScheduleError::UnknownZone`].
    pub fn new(
        cut_offs: impl IntoIterator<Item = CutOff>,
        zone: &str,
    ) -> Result<Self, ScheduleError> {
        let mut cut_offs: Vec<CutOff> = cut_offs.into_iter().collect();
        cut_offs.sort_unstable();
        cut_offs.dedup();
        if cut_offs.is_empty() {
            return Err(ScheduleError::Empty);
        }
        if cut_offs.len() > MAX_CUT_OFFS {
            return Err(ScheduleError::TooMany(cut_offs.len()));
        }
        let zone_name = zone.trim();
        let tz = TimeZone::get(zone_name)
            .map_err(|_| ScheduleError::UnknownZone(zone_name.to_owned()))?;
        Ok(Self {
            cut_offs: cut_offs.into(),
            zone: tz,
            zone_name: zone_name.into(),
        })
    }

    /// A schedule from the configuration's text: cut-offs separated by commas (`18:00,02:00`)
    /// and an IANA zone name.
    ///
    /// # Errors
    /// As [`SignOutSchedule::new`], and [`ScheduleError::BadTime`] for a cut-off that is not
    /// `HH:MM` or `HH:MM:SS`.
    pub fn parse(cut_offs: &str, zone: &str) -> Result<Self, ScheduleError> {
        let parsed = cut_offs
            .split(',')
            .filter(|part| !part.trim().is_empty())
            .map(CutOff::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(parsed, zone)
    }

    /// Whether `zone` names a time zone of the IANA database (as [`SignOutSchedule::new`]
    /// needs), for checking configuration before any schedule is made.
    ///
    /// # Errors
    /// [`ScheduleError::UnknownZone`].
    pub fn check_zone(zone: &str) -> Result<(), ScheduleError> {
        TimeZone::get(zone.trim())
            .map(|_| ())
            .map_err(|_| ScheduleError::UnknownZone(zone.trim().to_owned()))
    }

    /// The cut-offs, earliest in the day first.
    pub fn cut_offs(&self) -> &[CutOff] {
        &self.cut_offs
    }

    /// The IANA name of the schedule's time zone.
    pub fn zone(&self) -> &str {
        &self.zone_name
    }

    /// The first cut-off strictly after `at`: when a session signed in at `at` ends.
    pub fn next_after(&self, at: UnixMillis) -> UnixMillis {
        self.instants_around(at)
            .filter(|instant| *instant > at)
            .min()
            // Only past the end of the calendar (year 9999) is there none.
            .unwrap_or(UnixMillis(i64::MAX))
    }

    /// The latest cut-off at or before `now`: every session signed in before it has ended.
    pub fn latest_at_or_before(&self, now: UnixMillis) -> UnixMillis {
        self.instants_around(now)
            .filter(|instant| *instant <= now)
            .max()
            .unwrap_or(UnixMillis(i64::MIN))
    }

    /// Whether a session signed in at `signed_in_at` has reached its cut-off at `now`.
    pub fn has_ended(&self, signed_in_at: UnixMillis, now: UnixMillis) -> bool {
        self.next_after(signed_in_at) <= now
    }

    /// Every cut-off instant from two days before the day of `at` (in the zone) to two days
    /// after. A day is at most 26 hours and a skipped cut-off moves by at most the size of the
    /// change, so the cut-offs nearest `at` on either side are always among them.
    fn instants_around(&self, at: UnixMillis) -> impl Iterator<Item = UnixMillis> + '_ {
        let day = Timestamp::from_millisecond(at.as_millis())
            .ok()
            .map(|ts| ts.to_zoned(self.zone.clone()).date());
        day.into_iter()
            .flat_map(|day| (-2i64..=2).filter_map(move |n| day.checked_add(n.days()).ok()))
            .flat_map(move |date| {
                self.cut_offs.iter().filter_map(move |cut_off| {
                    self.zone
                        .to_ambiguous_timestamp(date.to_datetime(cut_off.civil()))
                        .compatible()
                        .ok()
                        .map(|ts| UnixMillis(ts.as_millisecond()))
                })
            })
    }
}

impl fmt::Debug for SignOutSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignOutSchedule({self})")
    }
}

impl fmt::Display for SignOutSchedule {
    /// `18:00,02:00 Europe/Paris` (earliest first).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, cut_off) in self.cut_offs.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{cut_off}")?;
        }
        write!(f, " {}", self.zone_name)
    }
}

impl PartialEq for SignOutSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.cut_offs == other.cut_offs && self.zone_name == other.zone_name
    }
}

impl Eq for SignOutSchedule {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The instant of an RFC 3339 timestamp.
    fn at(text: &str) -> UnixMillis {
        UnixMillis(text.parse::<Timestamp>().unwrap().as_millisecond())
    }

    #[test]
    fn cut_offs_parse_with_and_without_seconds() {
        assert_eq!("18:00".parse(), CutOff::new(18, 0, 0));
        assert_eq!(" 02:30:15 ".parse(), CutOff::new(2, 30, 15));
        for bad in [
            "",
            "18",
            "6:00",
            "18:0",
            "24:00",
            "12:60",
            "12:00:60",
            "-1:00",
            "18:00:00:00",
            "１８:００",
        ] {
            assert!(
                matches!(bad.parse::<CutOff>(), Err(ScheduleError::BadTime(_))),
                "{bad:?}"
            );
        }
        assert_eq!(CutOff::new(18, 0, 0).unwrap().to_string(), "18:00");
        assert_eq!(CutOff::new(2, 30, 15).unwrap().to_string(), "02:30:15");
    }

    #[test]
    fn schedules_are_checked_and_ordered() {
        let s = SignOutSchedule::parse("18:00, 02:00,18:00", "Europe/Paris").unwrap();
        assert_eq!(s.to_string(), "02:00,18:00 Europe/Paris");
        assert_eq!(
            SignOutSchedule::parse(" , ", "UTC"),
            Err(ScheduleError::Empty)
        );
        assert_eq!(
            SignOutSchedule::parse("18:00", "Mars/Olympus"),
            Err(ScheduleError::UnknownZone("Mars/Olympus".into()))
        );
        let many: Vec<String> = (0..49).map(|m| format!("00:{m:02}")).collect();
        assert_eq!(
            SignOutSchedule::parse(&many.join(","), "UTC"),
            Err(ScheduleError::TooMany(49))
        );
        assert!(ScheduleError::UnknownZone("x".into())
            .to_string()
            .contains("Europe/Paris"));
    }

    #[test]
    fn a_session_ends_at_the_first_cut_off_after_its_sign_in() {
        let s = SignOutSchedule::parse("18:00,02:00", "UTC").unwrap();
        assert_eq!(
            s.next_after(at("2026-03-02T17:59:00Z")),
            at("2026-03-02T18:00:00Z")
        );
        // Signed in exactly at a cut-off: the next one.
        assert_eq!(
            s.next_after(at("2026-03-02T18:00:00Z")),
            at("2026-03-03T02:00:00Z")
        );
        assert_eq!(
            s.next_after(at("2026-03-02T23:00:00Z")),
            at("2026-03-03T02:00:00Z")
        );
        assert_eq!(
            s.latest_at_or_before(at("2026-03-03T01:59:59Z")),
            at("2026-03-02T18:00:00Z")
        );
        assert_eq!(
            s.latest_at_or_before(at("2026-03-03T02:00:00Z")),
            at("2026-03-03T02:00:00Z")
        );
        assert!(!s.has_ended(at("2026-03-02T17:00:00Z"), at("2026-03-02T17:59:59.999Z")));
        assert!(s.has_ended(at("2026-03-02T17:00:00Z"), at("2026-03-02T18:00:00Z")));
    }

    #[test]
    fn cut_offs_follow_the_wall_clock_across_daylight_saving_changes() {
        // Paris moves from +01:00 to +02:00 at 2026-03-29 01:00 UTC, and back at 2026-10-25
        // 01:00 UTC.
        let s = SignOutSchedule::parse("18:00", "Europe/Paris").unwrap();
        assert_eq!(
            s.next_after(at("2026-03-28T12:00:00Z")),
            at("2026-03-28T17:00:00Z"),
            "winter: 18:00 is 17:00 UTC"
        );
        // Signed in on the evening before the change: the next 18:00 is one hour earlier in UTC.
        assert_eq!(
            s.next_after(at("2026-03-28T17:30:00Z")),
            at("2026-03-29T16:00:00Z"),
            "the day of the change lasts 23 hours"
        );
        assert_eq!(
            s.next_after(at("2026-10-24T16:30:00Z")),
            at("2026-10-25T17:00:00Z"),
            "the day clocks go back lasts 25 hours"
        );
    }

    #[test]
    fn a_skipped_cut_off_falls_once_the_clock_has_passed_it_and_a_repeated_one_falls_once() {
        let s = SignOutSchedule::parse("02:30", "Europe/Paris").unwrap();
        // 2026-03-29: 02:00 → 03:00, so 02:30 never shows; it falls at 01:30 UTC (03:30 local).
        assert_eq!(
            s.next_after(at("2026-03-28T12:00:00Z")),
            at("2026-03-29T01:30:00Z")
        );
        // 2026-10-25: 03:00 → 02:00, so 02:30 shows twice; it falls the first time (+02:00).
        assert_eq!(
            s.next_after(at("2026-10-24T12:00:00Z")),
            at("2026-10-25T00:30:00Z")
        );
        // Signed in between the two 02:30s: the next one is tomorrow's, not the repeat.
        assert_eq!(
            s.next_after(at("2026-10-25T01:00:00Z")),
            at("2026-10-26T01:30:00Z")
        );
    }

    #[test]
    fn instants_outside_the_calendar_never_panic() {
        let s = SignOutSchedule::parse("18:00", "Pacific/Kiritimati").unwrap();
        assert_eq!(s.next_after(UnixMillis(i64::MAX)), UnixMillis(i64::MAX));
        assert_eq!(
            s.latest_at_or_before(UnixMillis(i64::MIN)),
            UnixMillis(i64::MIN)
        );
    }

    proptest! {
        #[test]
        fn the_next_cut_off_is_the_first_one_after_the_sign_in(
            start in 1_700_000_000_000i64..1_900_000_000_000,
            minutes in proptest::collection::vec(0u32..1440, 1..4),
            zone in prop::sample::select(vec!["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]),
        ) {
            let cut_offs = minutes.iter().map(|m| CutOff::new((m / 60) as u8, (m % 60) as u8, 0).unwrap());
            let s = SignOutSchedule::new(cut_offs, zone).unwrap();
            let next = s.next_after(UnixMillis(start));
            prop_assert!(next > UnixMillis(start));
            prop_assert!(next.millis_until(UnixMillis(start)).abs() <= 26 * 3_600_000 + 3_600_000);
            // Nothing falls in between: the latest cut-off just before `next` is at or before
            // the sign-in.
            prop_assert!(s.latest_at_or_before(UnixMillis(next.0 - 1)) <= UnixMillis(start));
            prop_assert_eq!(s.latest_at_or_before(next), next);
            // The sweep's question and the request's agree.
            for later in [next.0 - 1, next.0, next.0 + 1] {
                let later = UnixMillis(later);
                prop_assert_eq!(s.has_ended(UnixMillis(start), later), UnixMillis(start) < s.latest_at_or_before(later));
            }
        }
    }
}
