//! Reaching the person when the tab is not in front of them (SPEC §5): while the warning is
//! shown the tab's title counts down (and is put back afterwards), and, when they have allowed
//! it, one system notification is shown whose click counts as "Stay signed in".

use super::{format_clock, warning_title};
use std::cell::RefCell;
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{Notification, NotificationOptions, NotificationPermission, VisibilityState};

/// The tag of the warning's notification: a second one replaces the first.
const NOTIFICATION_TAG: &str = "auto-logout-warning";

#[derive(Default)]
struct Attention {
    /// The title before the warning began, while the warning shows.
    saved_title: Option<String>,
    /// The notification of this warning, once shown.
    notification: Option<Notification>,
    /// A notification was shown during this warning (at most one per warning).
    notified: bool,
}

thread_local! {
    static ATTENTION: RefCell<Attention> = RefCell::new(Attention::default());
}

/// Whether this browser can show notifications and has not been asked yet: the warning then
/// offers a button to allow them (never asked unprompted).
pub fn may_offer_notifications() -> bool {
    has_notifications() && Notification::permission() == NotificationPermission::Default
}

fn has_notifications() -> bool {
    js_sys::Reflect::has(&leptos::prelude::window(), &"Notification".into()).unwrap_or(false)
}

/// Asks for permission to notify (the person pressed the button); whether it was granted.
pub async fn ask_for_notifications() -> bool {
    if !has_notifications() {
        return false;
    }
    if let Ok(promise) = Notification::request_permission() {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
    Notification::permission() == NotificationPermission::Granted
}

/// What clicking the notification does when "Stay signed in" can help: report activity now.
pub type StaySignedIn = fn();

/// Brings the title and the notification in line with the warning: `Some` while it shows
/// (with the time left and, when "Stay signed in" can help, what staying does), `None` when
/// it is gone.
pub fn update(warning: Option<(u64, Option<StaySignedIn>)>) {
    let document = leptos::prelude::document();
    match warning {
        Some((left, stay)) => {
            let base = ATTENTION.with(|a| {
                a.borrow_mut()
                    .saved_title
                    .get_or_insert_with(|| document.title())
                    .clone()
            });
            document.set_title(&warning_title(left, &base));
            let hidden = document.visibility_state() != VisibilityState::Visible;
            if hidden {
                notify_once(left, stay);
            }
        }
        None => {
            let (title, notification) = ATTENTION.with(|a| {
                let mut a = a.borrow_mut();
                a.notified = false;
                (a.saved_title.take(), a.notification.take())
            });
            if let Some(title) = title {
                document.set_title(&title);
            }
            if let Some(notification) = notification {
                notification.close();
            }
        }
    }
}

/// Shows the warning's one notification, if allowed and not shown yet in this warning.
fn notify_once(left: u64, stay: Option<StaySignedIn>) {
    let can_stay = stay.is_some();
    let first = ATTENTION.with(|a| !std::mem::replace(&mut a.borrow_mut().notified, true));
    if !first
        || !has_notifications()
        || Notification::permission() != NotificationPermission::Granted
    {
        return;
    }
    let options = NotificationOptions::new();
    let body = if can_stay {
        format!(
            "You will be signed out for inactivity in {}. Click to stay signed in.",
            format_clock(left)
        )
    } else {
        format!(
            "Your session reaches its time limit in {}. Save your work.",
            format_clock(left)
        )
    };
    options.set_body(&body);
    options.set_tag(NOTIFICATION_TAG);
    options.set_require_interaction(true);
    let Ok(notification) = Notification::new_with_options("Your session is about to end", &options)
    else {
        return;
    };
    let on_click = Closure::<dyn Fn()>::new(move || {
        let _ = leptos::prelude::window().focus();
        if let Some(stay) = stay {
            stay();
        }
        let shown = ATTENTION.with(|a| a.borrow_mut().notification.take());
        if let Some(shown) = shown {
            shown.close();
        }
    });
    notification.set_onclick(Some(on_click.as_ref().unchecked_ref()));
    on_click.forget();
    ATTENTION.with(|a| a.borrow_mut().notification = Some(notification));
}
