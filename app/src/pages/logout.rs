//! `GET /logout`: a one-button confirmation; it changes nothing by itself.

use crate::{components::countdown::announce_sign_out, AuthVersion};
use leptos::prelude::*;
use leptos_router::components::Form;

/// Asks before signing out; the button posts to `POST /logout`.
#[component]
pub fn LogoutConfirm() -> impl IntoView {
    let version = expect_context::<AuthVersion>().0;
    view! {
        <section class="card">
            <h1>"Sign out?"</h1>
            <p>"This ends your session on this device."</p>
            <Form method="post" action="/logout" on_response=std::sync::Arc::new(|_: &_| announce_sign_out()) version=version>
                <button type="submit" data-testid="confirm-sign-out">"Sign out"</button>
            </Form>
        </section>
    }
}
