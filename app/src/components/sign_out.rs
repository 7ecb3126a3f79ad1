//! The sign-out form used everywhere (`POST /logout`).

use crate::AuthVersion;
use leptos::prelude::*;
use leptos_router::components::Form;
use std::sync::Arc;

/// Tells this tab's countdown that a sign-out is under way, so that it does not race the
/// form to the sign-in page, and deletes this browser's drafts: a person who signs out leaves
/// nothing behind (no-op on the server).
fn before_sign_out() {
    #[cfg(feature = "hydrate")]
    {
        super::countdown::live::suppress();
        crate::drafts::browser::clear_all();
    }
}

/// Tells the other tabs of this browser that this one signed out (no-op on the server).
fn after_sign_out() {
    #[cfg(feature = "hydrate")]
    super::countdown::live::announce("signed-out");
}

/// A form posting to `/logout`: a plain form without WebAssembly; once hydrated, a fetch that
/// updates who is signed in, and tells the other tabs once the server has ended the session.
#[component]
pub fn SignOutForm(
    /// CSS class of the form.
    #[prop(optional, into)]
    class: String,
    /// The button(s).
    children: Children,
) -> impl IntoView {
    let version = expect_context::<AuthVersion>().0;
    view! {
        <Form
            method="post"
            action="/logout"
            version=version
            on_form_data=Arc::new(|_: &_| before_sign_out())
            on_response=Arc::new(|_: &_| after_sign_out())
            attr:class=class
        >
            {children()}
        </Form>
    }
}
