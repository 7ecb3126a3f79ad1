//! The countdown of SPEC §5: time left until the idle and the absolute limit, the warning
//! dialog, and the redirect to sign-in at zero.
//!
//! The server renders correct values; once hydrated, `live` ticks them from monotonic
//! deadlines (`performance.now()`), so a throttled tab or a wrong client clock cannot make
//! them drift, and re-reads the server's view on focus, `pageshow`, `visibilitychange`, a
//! message from another tab, and every few seconds.

use super::sign_out::SignOutForm;
use crate::api::{countdown_state, public_settings};
use auto_logout::{dto::ceil_seconds, CountdownState, DraftKey, PublicSettings};
use leptos::prelude::*;

#[cfg(feature = "hydrate")]
pub mod attention;
#[cfg(feature = "hydrate")]
pub mod live;

pub use auto_logout_countdown::rules::{format_clock, warning_sentence};

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

/// The countdown bar shown on every signed-in page, rendered on the server with the session's
/// state and made live in the browser by the [`LiveCountdown`] island; renders nothing when
/// the session is not active. `account` is the signed-in account's draft key.
#[component]
pub fn SessionCountdown(
    /// The signed-in account's draft key.
    account: DraftKey,
) -> impl IntoView {
    let state = Resource::new(|| (), |_| countdown_state());
    let settings = Resource::new(|| (), |_| public_settings());
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let account = account.clone();
                Suspend::new(async move {
                    match (state.await, settings.await) {
                        (Ok(state @ CountdownState::Active { .. }), Ok(settings)) => {
                            view! { <LiveCountdown state settings account /> }.into_any()
                        }
                        _ => ().into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The signals the ticking loop writes and the view reads.
#[derive(Clone, Copy)]
pub struct CountdownSignals {
    /// Whole seconds until the idle limit.
    pub idle: RwSignal<Option<u64>>,
    /// Whole seconds until the absolute limit.
    pub session: RwSignal<Option<u64>>,
    /// Set when the session has ended and the page stays (redirect not immediate).
    pub ended: RwSignal<Option<auto_logout::SignInReason>>,
}

/// The live countdown: an island, hydrated in the browser with the state the server rendered.
/// `account` tells the drafts whose page this is.
#[leptos::island]
fn LiveCountdown(
    state: CountdownState,
    settings: PublicSettings,
    account: DraftKey,
) -> impl IntoView {
    let signals = CountdownSignals {
        idle: RwSignal::new(state.idle_seconds()),
        session: RwSignal::new(state.session_seconds()),
        ended: RwSignal::new(None),
    };
    let root = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    {
        crate::drafts::browser::set_account(Some(&account));
        live::start(state.clone(), settings.clone(), signals, root);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = account;
    let CountdownSignals {
        idle,
        session,
        ended,
    } = signals;
    let idle_limit_ms = match state {
        CountdownState::Active { idle_limit_ms, .. } => idle_limit_ms,
        _ => None,
    };
    let warn_secs = ceil_seconds(settings.warn_before_ms);
    let first_left = move || match (idle.get(), session.get()) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let absolute_first = move || match (idle.get(), session.get()) {
        (Some(i), Some(s)) => s <= i,
        (None, Some(_)) => true,
        _ => false,
    };
    let warning = move || ended.get().is_none() && first_left().is_some_and(|s| s <= warn_secs);
    let stay_button = NodeRef::<leptos::html::Button>::new();
    // What the dialog announces: fixed when it opens, so that a screen reader reads it once
    // (the ticking clock beside it is hidden from assistive technology).
    let announcement = RwSignal::new(String::new());
    let offer_notifications = RwSignal::new(false);
    Effect::new(move |was_warning: Option<bool>| {
        let now_warning = warning();
        if now_warning && was_warning != Some(true) {
            announcement.set(warning_sentence(
                first_left().unwrap_or(0),
                absolute_first(),
            ));
            #[cfg(feature = "hydrate")]
            offer_notifications.set(attention::may_offer_notifications());
        }
        now_warning
    });
    Effect::new(move |_| {
        if warning() {
            if let Some(button) = stay_button.get() {
                let _ = button.focus();
            }
        }
    });
    // The tab's title (and a notification, when allowed) while the warning shows.
    Effect::new(move |_| {
        let shown = warning().then(|| (first_left().unwrap_or(0), !absolute_first()));
        #[cfg(feature = "hydrate")]
        attention::update(shown.map(|(left, can_stay)| {
            (
                left,
                can_stay.then_some(live::report_now as attention::StaySignedIn),
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
        live::report_now();
    };
    // Only the browser ends a countdown, so only the browser builds this link.
    let sign_in_again = move || {
        ended.get().map(|reason| {
            #[cfg(feature = "hydrate")]
            let here = crate::navigation::here();
            #[cfg(not(feature = "hydrate"))]
            let here = String::new();
            auto_logout::redirect::sign_in_url(&here, Some(reason))
        })
    };
    view! {
        <div class="countdown" role="timer" aria-label="Time left in this session" node_ref=root>
            {move || idle.get().map(|s| view! {
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
            {move || session.get().map(|s| view! {
                <span class="limit">
                    "Session ends in "
                    <strong data-testid="session-countdown" data-seconds=s>{format_clock(s)}</strong>
                </span>
            })}
        </div>
        <Show when=warning>
            <div class="dialog-backdrop">
                <div
                    class="dialog"
                    role="alertdialog"
                    aria-modal="true"
                    aria-labelledby="expiry-title"
                    aria-describedby="expiry-text"
                    data-testid="expiry-warning"
                >
                    <h2 id="expiry-title">"Your session is about to end"</h2>
                    <p id="expiry-text" class="sr-only">{move || announcement.get()}</p>
                    <p aria-hidden="true" data-testid="expiry-clock">
                        {move || warning_sentence(first_left().unwrap_or(0), absolute_first())}
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
                        <SignOutForm class="inline">
                            <button type="submit" class="secondary" data-testid="warning-sign-out">"Sign out"</button>
                        </SignOutForm>
                    </div>
                </div>
            </div>
        </Show>
        {move || sign_in_again().map(|href| view! {
            <div class="dialog-backdrop">
                <div class="dialog" role="alertdialog" aria-modal="true" data-testid="session-ended">
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
}
