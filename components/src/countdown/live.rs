//! The browser half of the countdown: one ticking loop over monotonic deadlines, re-reads of
//! the server's view, activity reports, and the BroadcastChannel that keeps tabs in step.

use super::CountdownSignals;
use crate::api::{countdown_state, report_activity};
use auto_logout::{
    dto::ceil_seconds, redirect::sign_in_url, CountdownState, PublicSettings, SignInReason,
};
use gloo_timers::callback::Interval;
use leptos::{ev, prelude::*, task::spawn_local};
use std::cell::RefCell;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

/// The name of the channel every tab of this site listens on.
const CHANNEL: &str = "auto-logout";
/// How often the loop looks at the deadlines, in milliseconds.
const TICK_MS: u32 = 200;
/// How often the server's view is re-read (passively) while the tab is open, in milliseconds.
const REFRESH_MS: u32 = 2_000;
/// Input is reported to the server at most this often (SPEC §3 `client_activity`).
const REPORT_EVERY_MS: f64 = 60_000.0;

/// Deadlines on the `performance.now()` clock of this page.
#[derive(Clone, Copy, Default)]
struct Deadlines {
    idle_at: Option<f64>,
    session_at: Option<f64>,
}

struct Live {
    deadlines: Deadlines,
    signals: CountdownSignals,
    settings: PublicSettings,
    /// The countdown's element; the loop stops once it has left the document.
    root: NodeRef<leptos::html::Div>,
    last_report: f64,
    input_since_report: bool,
    leaving: bool,
    channel: Option<BroadcastChannel>,
    /// The ticking loop and the re-reads (gloo-timers); dropping them stops both.
    timers: Vec<Interval>,
}

thread_local! {
    static LIVE: RefCell<Option<Live>> = const { RefCell::new(None) };
}

fn now() -> f64 {
    window().performance().map(|p| p.now()).unwrap_or(0.0)
}

fn with_live<R>(f: impl FnOnce(&mut Live) -> R) -> Option<R> {
    LIVE.with(|cell| cell.borrow_mut().as_mut().map(f))
}

/// Starts the loop for this page's countdown (replacing any earlier one). `root` is the
/// countdown's element: once it has left the document (the page was swapped for one without a
/// countdown), the loop stops.
pub fn start(
    state: CountdownState,
    settings: PublicSettings,
    signals: CountdownSignals,
    root: NodeRef<leptos::html::Div>,
) {
    let channel = BroadcastChannel::new(CHANNEL).ok();
    if let Some(channel) = &channel {
        let on_message = Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| {
            match event.data().as_string().as_deref() {
                Some("activity") => refresh(),
                Some("signed-out") => {
                    // The person signed out in another tab: their drafts go too.
                    crate::drafts::browser::clear_all();
                    leave(SignInReason::Logout);
                }
                _ => {}
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
    }
    stop();
    LIVE.with(|cell| {
        *cell.borrow_mut() = Some(Live {
            deadlines: Deadlines::default(),
            signals,
            settings,
            root,
            last_report: now(),
            input_since_report: false,
            leaving: false,
            channel,
            timers: Vec::new(),
        });
    });
    apply(&state);
    // The server rendered this state a moment ago: correct it right away.
    refresh();

    let timers = vec![
        Interval::new(TICK_MS, tick),
        Interval::new(REFRESH_MS, refresh),
    ];
    with_live(|live| live.timers = timers);
    listen_once();
}

/// Stops the loop, if one runs: its timers and channel close, and the tab's title is its own
/// again.
fn stop() {
    let old = LIVE.with(|cell| cell.borrow_mut().take());
    if let Some(old) = old {
        if let Some(channel) = old.channel {
            channel.close();
        }
        super::attention::update(None);
    }
}

/// The page's listeners, put in place once: they act on whichever loop runs, if any.
fn listen_once() {
    thread_local! {
        static LISTENING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if LISTENING.with(|l| l.replace(true)) {
        return;
    }
    // A handle that is dropped leaves its listener in place, for the life of the page.
    let _ = window_event_listener(ev::focus, |_| refresh());
    let _ = window_event_listener(ev::pageshow, |_| refresh());
    let _ = window_event_listener_untyped("online", |_| refresh());
    let _ = window_event_listener(ev::keydown, |_| note_input());
    let _ = window_event_listener(ev::pointerdown, |_| note_input());
    let _ = window_event_listener(ev::scroll, |_| note_input());
    let _ = window_event_listener(ev::touchstart, |_| note_input());
    let on_visible = Closure::<dyn Fn()>::new(|| {
        if document().visibility_state() == web_sys::VisibilityState::Visible {
            refresh();
        }
    });
    let _ = document()
        .add_event_listener_with_callback("visibilitychange", on_visible.as_ref().unchecked_ref());
    on_visible.forget();
}

/// Takes the server's view as the new deadlines, or leaves the page if the session ended.
fn apply(state: &CountdownState) {
    match state {
        CountdownState::Active {
            idle_ms,
            session_ms,
            ..
        } => {
            let t = now();
            with_live(|live| {
                live.deadlines = Deadlines {
                    idle_at: idle_ms.map(|ms| t + ms as f64),
                    session_at: session_ms.map(|ms| t + ms as f64),
                };
            });
            tick();
        }
        CountdownState::Ended { reason } => leave(*reason),
        CountdownState::SignedOut => leave(SignInReason::Logout),
    }
}

/// One look at the clock: updates the visible seconds and leaves at zero.
fn tick() {
    let t = now();
    let Some((deadlines, signals, root)) =
        with_live(|live| (live.deadlines, live.signals, live.root))
    else {
        return;
    };
    if root.get_untracked().is_some_and(|el| !el.is_connected()) {
        stop();
        return;
    }
    let left = |at: Option<f64>| at.map(|at| (at - t).ceil() as i64);
    let (idle_ms, session_ms) = (left(deadlines.idle_at), left(deadlines.session_at));
    let idle = idle_ms.map(ceil_seconds);
    let session = session_ms.map(ceil_seconds);
    if signals.idle.get_untracked() != idle {
        signals.idle.set(idle);
    }
    if signals.session.get_untracked() != session {
        signals.session.set(session);
    }
    if session_ms.is_some_and(|ms| ms <= 0) {
        leave(SignInReason::Expired);
    } else if idle_ms.is_some_and(|ms| ms <= 0) {
        leave(SignInReason::Idle);
    } else if let Some(ms) = idle_ms {
        // Input seen while the warning is near is reported at once, so typing is never
        // interrupted by a warning it should have prevented.
        let warn = with_live(|live| live.settings.warn_before_ms).unwrap_or(0);
        let pending = with_live(|live| live.input_since_report).unwrap_or(false);
        if pending && ms <= warn.saturating_add(2_000) {
            report_now();
        }
    }
}

/// Re-reads the server's view (passively: never counts as activity).
pub fn refresh() {
    spawn_local(async {
        if let Ok(state) = countdown_state().await {
            apply(&state);
        }
    });
}

fn note_input() {
    let t = now();
    let due = with_live(|live| {
        if !live.settings.client_activity {
            return false;
        }
        live.input_since_report = true;
        t - live.last_report >= REPORT_EVERY_MS
    })
    .unwrap_or(false);
    if due {
        report_now();
    }
}

/// Reports activity to the server now ("Stay signed in", or input), then tells other tabs.
pub fn report_now() {
    let t = now();
    with_live(|live| {
        live.last_report = t;
        live.input_since_report = false;
    });
    spawn_local(async {
        if let Ok(state) = report_activity().await {
            apply(&state);
            announce("activity");
        }
    });
}

/// This tab is signing out by itself: the loop must not race the form to the sign-in page.
pub fn suppress() {
    with_live(|live| live.leaving = true);
}

/// Posts `message` to the other tabs.
pub fn announce(message: &str) {
    let channel = with_live(|live| live.channel.clone()).flatten();
    let channel = channel.or_else(|| BroadcastChannel::new(CHANNEL).ok());
    if let Some(channel) = channel {
        let _ = channel.post_message(&JsValue::from_str(message));
    }
}

/// Leaves for the sign-in page with `reason` (or shows the "session ended" dialog when
/// `redirect_to_login_immediately` is off), once any typing on the page is kept as a draft.
/// `location.replace`, so Back does not return here and no form is re-posted.
fn leave(reason: SignInReason) {
    let Some((already, immediate, signals)) = with_live(|live| {
        let already = live.leaving;
        live.leaving = true;
        (
            already,
            live.settings.redirect_to_login_immediately,
            live.signals,
        )
    }) else {
        return;
    };
    if already {
        return;
    }
    if !immediate {
        signals.ended.set(Some(reason));
        return;
    }
    let location = window().location();
    let here = crate::navigation::here();
    let automatic = reason != SignInReason::Logout;
    let target = sign_in_url(&here, automatic.then_some(reason));
    // After an automatic sign-out, what was typed on this page is kept first (a few
    // milliseconds of encryption; nothing to wait for when nothing was typed). A sign-out by
    // the person keeps nothing.
    spawn_local(async move {
        if automatic {
            crate::drafts::browser::flush().await;
        }
        let _ = location.replace(&target);
    });
}
