//! `GET /sign-in`: the sign-in form. It posts to `POST /sign-in`, which redirects to `next`
//! on success and back here with `error=…` ([`SignInError`]) on failure; a refusal that asks
//! the person to wait (429, 503) is this page, rendered with `error` and `retry_after`.

use crate::{api::public_settings, routes::use_query};
use auto_logout::{SignInError, SignInReason};
use leptos::prelude::*;

/// The one message for every failed sign-in: it never says whether the user exists.
pub const SIGN_IN_FAILED: &str = "Invalid username or password.";

/// "12 seconds", "1 minute", "15 minutes": a wait as people say it, rounded up.
pub fn wait_in_words(seconds: u64) -> String {
    let (n, unit) = if seconds < 60 {
        (seconds.max(1), "second")
    } else {
        (seconds.div_ceil(60), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// What the sign-in page says about a refusal that asks the person to wait (`error` and
/// `retry_after` query values); `None` for the other errors.
pub fn refusal_message(error: SignInError, retry_after: Option<u64>) -> Option<String> {
    let wait = retry_after.map_or_else(|| "a moment".to_owned(), wait_in_words);
    match error {
        SignInError::Throttled => Some(format!(
            "Too many failed sign-in attempts. Please wait {wait} before trying again."
        )),
        SignInError::Busy => Some(format!("The server is busy. Please try again in {wait}.")),
        SignInError::Failed | SignInError::SessionLimit => None,
    }
}

/// The sign-in page.
#[component]
pub fn SignIn() -> impl IntoView {
    let query = use_query();
    let next = query.get("next").unwrap_or_default();
    let error = query.get("error").and_then(|e| SignInError::parse(&e));
    let failed = error == Some(SignInError::Failed);
    let refusal = error.and_then(|e| {
        let retry = query.get("retry_after").and_then(|v| v.parse::<u64>().ok());
        refusal_message(e, retry)
    });
    let too_many = error == Some(SignInError::SessionLimit);
    let reason = query.get("reason").and_then(|r| SignInReason::parse(&r));
    let settings = Resource::new(|| (), |_| public_settings());
    let notice = move || {
        let reason = reason?;
        match reason {
            SignInReason::Idle | SignInReason::Expired => {
                settings.get().and_then(Result::ok).map(|s| s.message)
            }
            SignInReason::Revoked => {
                Some("Your session was signed out from another device.".to_owned())
            }
            SignInReason::Suspended => {
                Some("Your session was ended because it was used from another browser.".to_owned())
            }
            SignInReason::ScheduledSignOut => Some(
                "Everyone is signed out at a set time of day here, and that time came. Sign in \
                 again to go on."
                    .to_owned(),
            ),
            SignInReason::TabsClosed => Some(
                "You were signed out because every tab of this site was closed. Sign in again \
                 to go on."
                    .to_owned(),
            ),
            SignInReason::NotMe => Some(
                "Every session of your account has been signed out. Sign in, then choose a new \
                 password."
                    .to_owned(),
            ),
            SignInReason::Logout => None,
        }
    };
    view! {
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <Transition fallback=|| ()>
                {move || notice().map(|text| view! {
                    <p class="notice" role="status" data-testid="expiry-message">{text}</p>
                })}
            </Transition>
            {too_many.then(|| view! {
                <p class="error" role="alert" data-testid="sign-in-error">
                    "You are signed in on too many devices. Sign out on one of them first."
                </p>
            })}
            {failed.then(|| view! {
                <p class="error" role="alert" data-testid="sign-in-error">{SIGN_IN_FAILED}</p>
            })}
            {refusal.map(|text| view! {
                <p class="error" role="alert" data-testid="sign-in-error">{text}</p>
            })}
            <form method="post" action="/sign-in">
                <input type="hidden" name="next" value=next />
                <label>
                    "Username"
                    <input name="username" autocomplete="username" required maxlength="64" autofocus />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required maxlength=auto_logout::passwords::MAX_PASSWORD_LEN />
                </label>
                <label class="check">
                    <input type="checkbox" name="remember" value="true" />
                    " Remember me"
                </label>
                <button type="submit" data-testid="sign-in-submit">"Sign in"</button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_said_in_words() {
        assert_eq!(wait_in_words(0), "1 second");
        assert_eq!(wait_in_words(45), "45 seconds");
        assert_eq!(wait_in_words(60), "1 minute");
        assert_eq!(wait_in_words(61), "2 minutes");
        assert_eq!(wait_in_words(900), "15 minutes");
    }

    #[test]
    fn refusals_say_how_long_to_wait() {
        assert_eq!(
            refusal_message(SignInError::Throttled, Some(600)).unwrap(),
            "Too many failed sign-in attempts. Please wait 10 minutes before trying again."
        );
        assert!(refusal_message(SignInError::Busy, None)
            .unwrap()
            .contains("a moment"));
        assert_eq!(refusal_message(SignInError::Failed, Some(5)), None);
    }
}
