//! `GET /sessions`: every device the person is signed in on, each revocable (the component
//! library's `DeviceList`, posting to this server's own form endpoints).

use auto_logout_leptos::DeviceList;
use leptos::prelude::*;

/// The sessions page.
#[component]
pub fn Sessions() -> impl IntoView {
    view! {
        <section class="card wide">
            <h1>"Where you are signed in"</h1>
            <DeviceList revoke_path="/sessions/revoke" revoke_others_path="/sessions/revoke-others" />
            <p><a href=auto_logout::forms::ACCOUNT_ACTIVITY>"Your account's activity: was this you?"</a></p>
        </section>
    }
}
