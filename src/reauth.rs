//! The re-authentication window (SPEC §3 `reauth_window`): a sensitive action — changing one's
//! password or email, signing out one's other devices, any administrator action — needs the
//! person to have proved their password (at sign-in, or again) within the window. A stolen
//! session cookie or token alone then cannot lock its owner out or take over the account.
//!
//! Pure: the moment of the last proof and the clock's reading are passed in.
//!
//! ```
//! use auto_logout::{reauth::{proof, Proof}, UnixMillis};
//! use std::time::Duration;
//!
//! let signed_in = UnixMillis(1_000_000);
//! let window = Some(Duration::from_secs(600));
//! assert_eq!(
//!     proof(window, signed_in, UnixMillis(1_000_000 + 599_999)),
//!     Proof::Recent { until: UnixMillis(1_600_000) }
//! );
//! assert_eq!(proof(window, signed_in, UnixMillis(1_600_000)), Proof::Required);
//! assert_eq!(proof(None, signed_in, UnixMillis(i64::MAX)), Proof::NotRequired);
//! ```

use crate::clock::UnixMillis;
use std::time::Duration;

/// Whether a sensitive action may go ahead without asking for the password again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The password was proved recently enough; the window closes at `until`.
    Recent {
        /// The first moment at which the password is asked again.
        until: UnixMillis,
    },
    /// The last proof is too old: ask for the password before going on.
    Required,
    /// The window is off (`reauth_window = 0`): sensitive actions never ask.
    NotRequired,
}

impl Proof {
    /// Whether the action may go ahead now.
    pub fn allows(self) -> bool {
        !matches!(self, Proof::Required)
    }
}

/// The proof state at `now` of a session whose person last proved their password at
/// `proven_at`, with `window` (`None` or zero: off). The window is half-open: a proof made
/// at `t` holds from `t` until just before `t + window`.
pub fn proof(window: Option<Duration>, proven_at: UnixMillis, now: UnixMillis) -> Proof {
    let Some(window) = window.filter(|w| !w.is_zero()) else {
        return Proof::NotRequired;
    };
    let window = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let until = UnixMillis(proven_at.as_millis().saturating_add(window));
    if now.as_millis() < until.as_millis() {
        Proof::Recent { until }
    } else {
        Proof::Required
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: UnixMillis = UnixMillis(1_800_000_000_000);
    const TEN_MINUTES: Option<Duration> = Some(Duration::from_secs(600));

    fn at(offset_ms: i64) -> UnixMillis {
        UnixMillis(T.as_millis() + offset_ms)
    }

    #[test]
    fn a_proof_holds_for_the_window_and_not_a_millisecond_more() {
        let until = at(600_000);
        assert_eq!(proof(TEN_MINUTES, T, T), Proof::Recent { until });
        assert_eq!(proof(TEN_MINUTES, T, at(599_999)), Proof::Recent { until });
        assert_eq!(proof(TEN_MINUTES, T, at(600_000)), Proof::Required);
        assert!(!proof(TEN_MINUTES, T, at(86_400_000)).allows());
    }

    #[test]
    fn a_zero_window_never_asks() {
        assert_eq!(
            proof(Some(Duration::ZERO), T, at(86_400_000)),
            Proof::NotRequired
        );
        assert!(proof(None, UnixMillis(0), T).allows());
    }

    #[test]
    fn extreme_moments_do_not_overflow() {
        assert_eq!(
            proof(Some(Duration::MAX), T, UnixMillis(i64::MAX)),
            Proof::Required
        );
        assert!(proof(Some(Duration::MAX), T, T).allows());
        assert_eq!(proof(TEN_MINUTES, UnixMillis(i64::MIN), T), Proof::Required);
    }
}
