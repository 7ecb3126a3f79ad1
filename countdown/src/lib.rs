//! The countdown of auto-logout in the browser, without a framework.
//!
//! - [`rules`]: what a countdown shows at a moment (seconds left, the warning, the end), from
//!   deadlines on a monotonic clock. Pure and tested natively.
//! - [`tabs`]: how the site's tabs agree which one is the last open (`end_with_last_tab`).
//! - `browser` (feature `browser`): `browser::Countdown`, which reads the engine's status
//!   endpoint passively, ticks, reports "Stay signed in", keeps tabs in step and leaves for
//!   the sign-in page at zero, calling back with each [`rules::Reading`] to draw.
//! - `element` (feature `element`): the `<auto-logout-countdown>` custom element
//!   that the engine serves under `/auto-logout/` for pages without Leptos.

pub mod rules;
pub mod tabs;

#[cfg(feature = "browser")]
pub mod browser;

#[cfg(feature = "element")]
pub mod element;
