//! The countdown of SPEC §5: time left until the idle and the absolute limit, the warning
//! dialog with "Stay signed in", and the redirect to sign-in at zero.
//!
//! On the server it renders the request's session as it is (correct values in the HTML);
//! in the browser `live` runs the framework-free countdown of `auto-logout-countdown` over
//! monotonic deadlines, so that a throttled tab or a wrong client clock cannot make it drift,
//! and re-reads the engine's status on focus, `pageshow`, `visibilitychange`, a message from
//! another tab, and every few seconds.

use crate::{options::CountdownOptions, sign_out::SignOutForm};
use auto_logout::{CountdownState, DraftKey, SignInReason};
use auto_logout_countdown::rules::{
    format_clock, session_label_text, warning_sentence, Deadlines, Phase, Reading, Remaining,
};
use leptos::either::Either;
use leptos::prelude::*;

#[cfg(feature = "hydrate")]
pub mod attention;
#[cfg(feature = "hydrate")]
pub mod live;

/// The tab's title while the warning shows, e.g. `(0:45) Session ending - auto-logout`.
pub fn warning_title(seconds_left: u64, title: &str) -> String {
    format!("({}) Session ending - {title}", format_clock(seconds_left))
}

/// What is left of the idle limit as a whole percentage (0 to 100), for the progress bar.
pub fn idle_percent(seconds_left: u64, limit_ms: i64) -> u64 {
    let limit_secs = u64::try_from(limit_ms).unwrap_or(0).div_ceil(1_000);
    if limit_secs == 0 {
        return 0;
    }
    (seconds_left.min(limit_secs) * 100).div_ceil(limit_secs)
}

/// What a server-rendered countdown shows for `state`.
fn first_reading(state: &CountdownState, options: &CountdownOptions) -> Option<Reading> {
    let CountdownState::Active {
        idle_ms,
        session_ms,
        scheduled,
        ..
    } = *state
    else {
        return None;
    };
    let left = Remaining {
        idle_ms,
        session_ms,
        scheduled,
    };
    // Without a lead in the options, the engine's `warn_before` is not at hand on the server:
    // no warning is rendered, and the browser opens it as soon as it has read the status.
    let warn = options.warn_before_ms.unwrap_or(0);
    Some(Deadlines::starting_at(0.0, left).reading(0.0, warn))
}

/// The request's session as the countdown sees it (on the server: what the engine's session
/// layer decided for this request; in the browser there is no request).
fn request_state() -> Option<CountdownState> {
    #[cfg(feature = "ssr")]
    {
        use auto_logout::server::{ActiveSession, SessionEnded};
        with_context::<axum::http::request::Parts, _>(|parts| {
            if let Some(active) = parts.extensions.get::<ActiveSession>() {
                return active.countdown();
            }
            match parts.extensions.get::<SessionEnded>() {
                Some(ended) => CountdownState::Ended {
                    reason: ended.0.sign_in_reason(),
                },
                None => CountdownState::SignedOut,
            }
        })
    }
    #[cfg(not(feature = "ssr"))]
    None
}

/// The countdown bar for a signed-in page: renders nothing when the request's session is not
/// active. Mount it where it should show (a navigation bar), inside the engine's layers.
///
/// - `options`: paths and behaviour; else a [`CountdownOptions`] from the context; else the
///   defaults.
/// - `state`: the session as the page saw it; else read from the request on the server.
/// - `drafts`: the signed-in account's draft key, to keep what is typed on the page through
///   an automatic sign-out ([`crate::KeepDrafts`] marks the forms).
#[component]
pub fn SessionCountdown(
    /// Paths and behaviour.
    #[prop(optional)]
    options: Option<CountdownOptions>,
    /// The session as the page saw it.
    #[prop(optional)]
    state: Option<CountdownState>,
    /// The signed-in account's draft key.
    #[prop(optional)]
    drafts: Option<DraftKey>,
) -> impl IntoView {
    let options = options
        .or_else(use_context::<CountdownOptions>)
        .unwrap_or_default();
    let initial = state.or_else(request_state);
    let live = |state: Option<CountdownState>, options, drafts| match state {
        Some(state @ CountdownState::Active { .. }) => {
            Some(view! { <LiveCountdown state options drafts /> })
        }
        _ => None,
    };
    if !is_hydrating() {
        // Rendered once, on the server or in the browser: nothing to carry over.
        return Either::Left(live(initial, options, drafts));
    }
    // A hydrated (not islands) app: a resource carries the server's view to the browser.
    let state = Resource::new(
        || (),
        move |_| {
            let initial = initial.clone();
            async move { initial }
        },
    );
    Either::Right(view! {
        <Suspense fallback=|| ()>
            {move || {
                let (options, drafts) = (options.clone(), drafts.clone());
                Suspend::new(async move { live(state.await, options, drafts) })
            }}
        </Suspense>
    })
}

/// Whether this render is hydrated in the browser: a whole hydrated app, not islands (whose
/// pages render on the server alone and hydrate only the islands) nor a client-side render.
fn is_hydrating() -> bool {
    Owner::current_shared_context().is_some_and(|context| context.get_is_hydrating())
}

/// The signals the browser's countdown writes and the view reads.
#[derive(Clone, Copy)]
pub struct CountdownSignals {
    /// What the countdown shows.
    pub reading: RwSignal<Option<Reading>>,
    /// Set when the session has ended and the page stays (redirect not immediate).
    pub ended: RwSignal<Option<SignInReason>>,
}

/// The live countdown: an island, hydrated in the browser with the state the server rendered.
#[leptos::island]
fn LiveCountdown(
    /// The session as the server saw it.
    state: CountdownState,
    /// Paths and behaviour.
    options: CountdownOptions,
    /// The signed-in account's draft key, if drafts are kept.
    drafts: Option<DraftKey>,
) -> impl IntoView {
    let signals = CountdownSignals {
        reading: RwSignal::new(first_reading(&state, &options)),
        ended: RwSignal::new(None),
    };
    let root = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    {
        crate::drafts::browser::set_account(drafts.as_ref());
        live::start(&state, &options, signals, root);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = &drafts;
    let CountdownSignals { reading, ended } = signals;
    let idle_limit_ms = match state {
        CountdownState::Active { idle_limit_ms, .. } => idle_limit_ms,
        _ => None,
    };
    let idle = move || reading.get().and_then(|r| r.idle);
    let session = move || reading.get().and_then(|r| r.session);
    let scheduled = move || reading.get().is_some_and(|r| r.scheduled);
    let warning = move || match reading.get().map(|r| r.phase) {
        Some(Phase::Warning {
            seconds_left,
            absolute_first,
        }) if ended.get().is_none() => Some((seconds_left, absolute_first)),
        _ => None,
    };
    let warning_shown = move || warning().is_some();
    let absolute_first = move || warning().is_some_and(|(_, absolute)| absolute);
    let stay_button = NodeRef::<leptos::html::Button>::new();
    // What the dialog announces: fixed when it opens, so that a screen reader reads it once
    // (the ticking clock beside it is hidden from assistive technology).
    let announcement = RwSignal::new(String::new());
    let offer_notifications = RwSignal::new(false);
    Effect::new(move |was_warning: Option<bool>| {
        let now = warning();
        if let Some((left, absolute)) = now {
            if was_warning != Some(true) {
                announcement.set(warning_sentence(left, absolute, scheduled()));
                #[cfg(feature = "hydrate")]
                offer_notifications.set(attention::may_offer_notifications());
            }
        }
        now.is_some()
    });
    Effect::new(move |_| {
        if warning_shown() {
            if let Some(button) = stay_button.get() {
                let _ = button.focus();
            }
        }
    });
    // The tab's title (and a notification, when allowed) while the warning shows.
    Effect::new(move |_| {
        let shown = warning();
        #[cfg(feature = "hydrate")]
        attention::update(shown.map(|(left, absolute)| {
            (
                left,
                (!absolute).then_some(live::stay_signed_in as attention::StaySignedIn),
            )
        }));
        #[cfg(not(feature = "hydrate"))]
        let _ = shown;
    });
    let allow_notifications = move |_| {
        offer_notifications.set(false);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async {
            attention::ask_for_notifications().await;
        });
    };
    let stay = move |_| {
        #[cfg(feature = "hydrate")]
        live::stay_signed_in();
    };
    let sign_in_path = options.sign_in_path.clone();
    // Only the browser ends a countdown, so only the browser builds this link.
    let sign_in_again = move || {
        ended.get().map(|reason| {
            #[cfg(feature = "hydrate")]
            let here = live::here();
            #[cfg(not(feature = "hydrate"))]
            let here = String::new();
            auto_logout::redirect::sign_in_url_at(&sign_in_path, &here, Some(reason))
        })
    };
    let sign_out_path = options.sign_out_path.clone();
    view! {
        <div class="countdown" role="timer" aria-label="Time left in this session" node_ref=root>
            {move || idle().map(|s| view! {
                <span class="limit">
                    "Inactivity sign-out in "
                    <strong data-testid="idle-countdown" data-seconds=s>{format_clock(s)}</strong>
                    {idle_limit_ms.map(|limit| {
                        let percent = idle_percent(s, limit);
                        // A <progress> element: its value is an attribute, where a bar
                        // drawn with an inline style would need `'unsafe-inline'` in the
                        // pages' Content-Security-Policy.
                        view! {
                            <progress
                                class="idle-bar"
                                max="100"
                                value=percent
                                aria-hidden="true"
                                data-testid="idle-progress"
                                data-percent=percent
                            ></progress>
                        }
                    })}
                </span>
            })}
            {move || session().map(|s| view! {
                <span class="limit">
                    {session_label_text(scheduled())}
                    <strong data-testid="session-countdown" data-seconds=s>{format_clock(s)}</strong>
                </span>
            })}
        </div>
        // `data-auto-logout-dialog` is `rules::OWN_DIALOG_ATTRIBUTE`: input inside is not activity.
        <Show when=warning_shown>
            <div class="dialog-backdrop">
                <div
                    class="dialog"
                    role="alertdialog"
                    data-auto-logout-dialog=""
                    aria-modal="true"
                    aria-labelledby="expiry-title"
                    aria-describedby="expiry-text"
                    data-testid="expiry-warning"
                >
                    <h2 id="expiry-title">"Your session is about to end"</h2>
                    <p id="expiry-text" class="sr-only">{move || announcement.get()}</p>
                    <p aria-hidden="true" data-testid="expiry-clock">
                        {move || warning().map(|(left, absolute)| warning_sentence(left, absolute, scheduled()))}
                    </p>
                    <Show when=move || offer_notifications.get()>
                        <p class="muted">
                            <button type="button" class="link" data-testid="allow-notifications" on:click=allow_notifications>
                                "Also warn me with a notification when this tab is in the background"
                            </button>
                        </p>
                    </Show>
                    <div class="actions">
                        <Show when=move || !absolute_first()>
                            <button type="button" node_ref=stay_button data-testid="stay-signed-in" on:click=stay>
                                "Stay signed in"
                            </button>
                        </Show>
                        <SignOutForm class="inline" action=sign_out_path.clone()>
                            <button type="submit" class="secondary" data-testid="warning-sign-out">"Sign out"</button>
                        </SignOutForm>
                    </div>
                </div>
            </div>
        </Show>
        {move || sign_in_again().map(|href| view! {
            <div class="dialog-backdrop">
                <div class="dialog" role="alertdialog" data-auto-logout-dialog="" aria-modal="true" data-testid="session-ended">
                    <h2>"Your session has ended"</h2>
                    <p><a href=href>"Sign in again"</a></p>
                </div>
            </div>
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_counts_down() {
        assert_eq!(
            warning_title(45, "auto-logout"),
            "(0:45) Session ending - auto-logout"
        );
    }

    #[test]
    fn idle_share_is_rounded_up_and_bounded() {
        assert_eq!(idle_percent(600, 600_000), 100);
        assert_eq!(idle_percent(300, 600_000), 50);
        assert_eq!(idle_percent(1, 600_000), 1);
        assert_eq!(idle_percent(0, 600_000), 0);
        assert_eq!(idle_percent(700, 600_000), 100, "never over 100");
        assert_eq!(idle_percent(5, 0), 0, "no limit, no bar");
        assert_eq!(idle_percent(2, 4_000), 50);
    }

    #[test]
    fn the_server_renders_what_is_left() {
        let state = CountdownState::Active {
            idle_ms: Some(599_001),
            session_ms: Some(3_600_000),
            idle_limit_ms: Some(600_000),
            scheduled: false,
        };
        let reading = first_reading(&state, &CountdownOptions::default()).unwrap();
        assert_eq!((reading.idle, reading.session), (Some(600), Some(3600)));
        assert_eq!(reading.phase, Phase::Counting);
        assert_eq!(
            first_reading(&CountdownState::SignedOut, &CountdownOptions::default()),
            None
        );
    }
}
