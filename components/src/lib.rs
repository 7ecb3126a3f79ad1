//! auto-logout in any Leptos 0.8 application: the live countdown of both limits with its
//! warning and "Stay signed in", the redirect to sign-in at zero (with `next` and `reason`),
//! agreement between tabs, kept drafts, and the sign-out form.
//!
//! The components read the engine's endpoints (`Engine::status_router`: a passive status
//! read and "stay signed in"), not an application's own server functions, so that the only
//! wiring is the engine's. They work in islands apps (the live parts are islands) and in
//! hydrated apps.
//!
//! ```ignore
//! use auto_logout_leptos::{CountdownOptions, SessionCountdown};
//!
//! // On every page of a signed-in person, e.g. in the navigation bar:
//! view! { <SessionCountdown options=CountdownOptions::default().sign_in_path("/login") /> }
//! ```
//!
//! In the browser (feature `hydrate`), call `go_live()` once from the hydration entry point.
//!
//! The pieces: [`countdown`] (the countdown, the warning dialog, the redirect), [`devices`]
//! (every device the person is signed in on, each revocable), [`sign_out`]
//! (the sign-out form, and the announcement to the other tabs), [`drafts`] (what is typed on a
//! page survives an automatic sign-out, encrypted for its account) and [`keep_drafts`] (the
//! area whose forms are kept). On the server, [`render_memo`] keeps the HTML of views of lists
//! shown lately, so that a list shown again unchanged is not rendered again.
// The countdown's view type is deep (an island of nested tachys types, turned into AnyView).
#![recursion_limit = "256"]

pub mod countdown;
pub mod devices;
pub mod drafts;
// The props struct `#[island]` adds beside `KeepDrafts` has no documentation of its own.
#[allow(missing_docs)]
pub mod keep_drafts;
pub mod options;
#[cfg(feature = "ssr")]
pub mod render_memo;
pub mod sign_out;

/// The engine (the `auto-logout` crate; its `server` half with this crate's feature `ssr`), so
/// that a Leptos app depends on one crate: `auto_logout_leptos::engine::server::Engine`.
pub use auto_logout as engine;
pub use countdown::SessionCountdown;
pub use devices::DeviceList;
pub use keep_drafts::KeepDrafts;
pub use options::CountdownOptions;
pub use sign_out::{AnnounceSignOut, SignOutForm};

/// Once per page load, in the browser, before the page's islands hydrate: drafts older than
/// an hour are deleted, and sign-out forms are watched (the countdown stands down and drafts
/// go when one is sent).
#[cfg(feature = "hydrate")]
pub fn go_live() {
    drafts::browser::purge_stale();
    sign_out::watch_sign_out_forms();
}
