//! The browser half of the countdown: one framework-free countdown
//! (`auto_logout_countdown::browser::Countdown`) per page, whose readings the island's signals
//! show, and the way out at zero (after keeping what was typed as a draft).

use super::CountdownSignals;
use crate::options::CountdownOptions;
use auto_logout::{redirect::sign_in_url_at, CountdownState, SignInReason};
use auto_logout_countdown::{
    browser::Countdown,
    rules::{Phase, Reading, Remaining},
};
use leptos::{prelude::*, task::spawn_local};
use std::cell::RefCell;

thread_local! {
    /// The page's countdown; a new one (a page swapped in place) replaces it.
    static CURRENT: RefCell<Option<Countdown>> = const { RefCell::new(None) };
}

/// The path and query of this page, the `next` of the sign-in page.
pub fn here() -> String {
    let location = window().location();
    format!(
        "{}{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default()
    )
}

/// Starts this page's countdown from the server's `state` (replacing any earlier one). Once
/// `root` has left the document (the page was swapped for one without a countdown), it stops.
pub fn start(
    state: &CountdownState,
    options: &CountdownOptions,
    signals: CountdownSignals,
    root: NodeRef<leptos::html::Div>,
) {
    stop();
    let sign_in_path = options.sign_in_path.clone();
    let immediately = options.redirect_immediately;
    let countdown = Countdown::start(options.browser(), move |reading: &Reading| {
        if root.get_untracked().is_some_and(|el| !el.is_connected()) {
            stop();
            return;
        }
        if let Phase::Ended(reason) = reading.phase {
            leave(reason, &sign_in_path, immediately, signals);
            return;
        }
        if signals.reading.get_untracked() != Some(*reading) {
            signals.reading.set(Some(*reading));
        }
    });
    CURRENT.with(|current| *current.borrow_mut() = Some(countdown));
    if let CountdownState::Active {
        idle_ms,
        session_ms,
        scheduled,
        ..
    } = *state
    {
        // The server rendered this a moment ago: tick on from it until the first read. Once
        // the island is hydrated (the next task): a change before would not match the HTML.
        spawn_local(async move {
            CURRENT.with(|current| {
                if let Some(countdown) = current.borrow().as_ref() {
                    countdown.assume(Remaining {
                        idle_ms,
                        session_ms,
                        scheduled,
                    });
                }
            });
        });
    }
}

/// Stops the page's countdown, if one runs: the tab's title is its own again.
fn stop() {
    let old = CURRENT.with(|current| current.borrow_mut().take());
    if old.is_some() {
        super::attention::update(None);
    }
}

/// "Stay signed in" (the button, or a click on the warning's notification).
pub fn stay_signed_in() {
    CURRENT.with(|current| {
        if let Some(countdown) = current.borrow().as_ref() {
            countdown.stay_signed_in();
        }
    });
}

/// This tab is signing out by itself: the countdown must not race the form to the sign-in
/// page.
pub fn stand_down() {
    CURRENT.with(|current| {
        if let Some(countdown) = current.borrow().as_ref() {
            countdown.stand_down();
        }
    });
}

/// Leaves for the sign-in page with `reason` (or shows the "session ended" dialog when the
/// redirect is not immediate), once any typing on the page is kept as a draft.
/// `location.replace`, so Back does not return here and no form is re-posted.
fn leave(reason: SignInReason, sign_in_path: &str, immediately: bool, signals: CountdownSignals) {
    super::attention::update(None);
    let automatic = reason != SignInReason::Logout;
    if !automatic {
        // The person signed out (in another tab): their drafts go too.
        crate::drafts::browser::clear_all();
    }
    if !immediately {
        signals.ended.set(Some(reason));
        return;
    }
    let target = sign_in_url_at(sign_in_path, &here(), automatic.then_some(reason));
    // After an automatic sign-out, what was typed on this page is kept first (a few
    // milliseconds of encryption; nothing to wait for when nothing was typed).
    spawn_local(async move {
        if automatic {
            crate::drafts::browser::flush().await;
        }
        let _ = window().location().replace(&target);
    });
}
