//! The navigation bar: the product name, and who is signed in with a sign-out button.

use crate::{components::link::PageLink, CurrentUser};
use auto_logout::forms::ACCOUNT;
use auto_logout_leptos::{CountdownOptions, SessionCountdown, SignOutForm};
use leptos::either::Either;
use leptos::prelude::*;

/// The bar at the top of every page.
#[component]
pub fn NavBar() -> impl IntoView {
    let signed_in = expect_context::<CurrentUser>().0.map(|user| {
        view! {
            <SessionCountdown options=countdown_options() drafts=user.drafts />
            <span class="who" data-testid="signed-in-as">{user.username}</span>
            <PageLink href="/home">"Home"</PageLink>
            <PageLink href="/sessions">"Sessions"</PageLink>
            <PageLink href=ACCOUNT>"Account"</PageLink>
            {user.is_admin.then(|| view! { <PageLink href="/admin/sessions">"Admin"</PageLink> })}
            <SignOutForm class="inline">
                <button type="submit" data-testid="sign-out">"Sign out"</button>
            </SignOutForm>
        }
    });
    view! {
        <header class="nav">
            <PageLink href="/" class="brand">"auto-logout"</PageLink>
            {match signed_in {
                Some(signed_in) => Either::Left(signed_in),
                None => Either::Right(view! { <PageLink href="/sign-in">"Sign in"</PageLink> }),
            }}
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
