//! The navigation bar: the product name, and who is signed in with a sign-out button.

use crate::CurrentUser;
use auto_logout::forms::ACCOUNT;
use auto_logout_leptos::{CountdownOptions, SessionCountdown, SignOutForm};
use leptos::prelude::*;
use leptos_router::components::A;

/// The bar at the top of every page.
#[component]
pub fn NavBar() -> impl IntoView {
    let user = expect_context::<CurrentUser>().0;
    let options = countdown_options();
    view! {
        <header class="nav">
            <A href="/" attr:class="brand">"auto-logout"</A>
            <Transition fallback=|| ()>
                {move || {
                    let options = options.clone();
                    Suspend::new(async move {
                    match user.await {
                        Ok(Some(user)) => view! {
                            <SessionCountdown options drafts=user.drafts.clone() />
                            <span class="who" data-testid="signed-in-as">{user.username}</span>
                            <A href="/home">"Home"</A>
                            <A href="/sessions">"Sessions"</A>
                            <A href=ACCOUNT>"Account"</A>
                            {user.is_admin.then(|| view! { <A href="/admin/sessions">"Admin"</A> })}
                            <SignOutForm class="inline">
                                <button type="submit" data-testid="sign-out">"Sign out"</button>
                            </SignOutForm>
                        }.into_any(),
                        _ => view! { <A href="/sign-in">"Sign in"</A> }.into_any(),
                    }
                })}}
            </Transition>
        </header>
    }
}

/// The countdown as this server is configured (SPEC §3: `warn_before`,
/// `redirect_to_login_immediately`, `client_activity`); the paths are the engine's defaults,
/// which this server keeps. The settings are in the render context on the server.
fn countdown_options() -> CountdownOptions {
    let defaults = CountdownOptions::default();
    match use_context::<auto_logout::PublicSettings>() {
        Some(settings) => CountdownOptions {
            warn_before_ms: Some(settings.warn_before_ms),
            track_activity: settings.client_activity,
            redirect_immediately: settings.redirect_to_login_immediately,
            ..defaults
        },
        None => defaults,
    }
}
