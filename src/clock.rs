//! Time as the engine sees it: milliseconds since the Unix epoch, always passed in.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
///
/// The engine never reads a clock itself; callers pass `UnixMillis` in, so tests can move
/// time freely and the server and database agree on one clock.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant moved forward by `duration`, saturating instead of overflowing.
    pub fn plus(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(millis))
    }

    /// This instant moved back by `duration`, saturating instead of overflowing.
    pub fn minus(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_sub(millis))
    }

    /// Milliseconds from `self` until `later` (negative when `later` is in the past).
    pub fn millis_until(self, later: UnixMillis) -> i64 {
        later.0.saturating_sub(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_saturates_instead_of_overflowing() {
        let t = UnixMillis(i64::MAX - 5);
        assert_eq!(t.plus(Duration::from_secs(10)), UnixMillis(i64::MAX));
    }

    #[test]
    fn millis_until_is_signed() {
        assert_eq!(UnixMillis(1_000).millis_until(UnixMillis(400)), -600);
        assert_eq!(UnixMillis(400).millis_until(UnixMillis(1_000)), 600);
    }
}
