//! `GET /sign-in`: the sign-in form. It posts to `POST /sign-in`, which redirects to `next`
//! on success and back here with `error=1` on failure.

use crate::{api::public_settings, AuthVersion};
use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};

/// The one message for every failed sign-in: it never says whether the user exists.
pub const SIGN_IN_FAILED: &str = "Invalid username or password.";

/// The sign-in page.
#[component]
pub fn SignIn() -> impl IntoView {
    let query = use_query_map();
    let version = expect_context::<AuthVersion>().0;
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || query.read().get("error");
    let failed = move || error().is_some_and(|e| e != "limit");
    let too_many = move || error().is_some_and(|e| e == "limit");
    let reason = move || query.read().get("reason");
    let settings = Resource::new(|| (), |_| public_settings());
    let notice = move || {
        let reason = reason()?;
        match reason.as_str() {
            "idle" | "expired" => settings.get().and_then(Result::ok).map(|s| s.message),
            "revoked" => Some("Your session was signed out from another device.".to_owned()),
            "suspended" => {
                Some("Your session was ended because it was used from another browser.".to_owned())
            }
            _ => None,
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
            <Show when=too_many>
                <p class="error" role="alert" data-testid="sign-in-error">
                    "You are signed in on too many devices. Sign out on one of them first."
                </p>
            </Show>
            <Show when=failed>
                <p class="error" role="alert" data-testid="sign-in-error">{SIGN_IN_FAILED}</p>
            </Show>
            <Form method="post" action="/sign-in" version=version>
                <input type="hidden" name="next" value=next />
                <label>
                    "Username"
                    <input name="username" autocomplete="username" required maxlength="64" autofocus />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required maxlength="1024" />
                </label>
                <label class="check">
                    <input type="checkbox" name="remember" value="true" />
                    " Remember me"
                </label>
                <button type="submit" data-testid="sign-in-submit">"Sign in"</button>
            </Form>
        </section>
    }
}
