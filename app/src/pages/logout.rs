//! `GET /logout`: a one-button confirmation; it changes nothing by itself.

use auto_logout_leptos::SignOutForm;
use leptos::prelude::*;

/// Asks before signing out; the button posts to `POST /logout`.
#[component]
pub fn LogoutConfirm() -> impl IntoView {
    view! {
        <section class="card">
            <h1>"Sign out?"</h1>
            <p>"This ends your session on this device."</p>
            <SignOutForm>
                <button type="submit" data-testid="confirm-sign-out">"Sign out"</button>
            </SignOutForm>
        </section>
    }
}
