//! Signing out: the form, what the browser does when one is sent, and the announcement to the
//! other tabs once the server has ended the session.

use leptos::prelude::*;

/// The attribute that marks a sign-out form, so that the browser can react when one is sent.
pub const SIGN_OUT_MARK: &str = "data-sign-out";

/// A plain form posting to `action` (default `/logout`). It works without WebAssembly; with
/// it, as it is sent, this tab's countdown stands down and this browser's drafts are deleted
/// ([`watch_sign_out_forms`]).
#[component]
pub fn SignOutForm<C: IntoView + 'static>(
    /// CSS class of the form.
    #[prop(optional, into)]
    class: String,
    /// Where it posts (default `/logout`).
    #[prop(optional, into)]
    action: Option<String>,
    /// The button(s). Typed, not erased: an erased view copies every attribute it holds.
    children: TypedChildren<C>,
) -> impl IntoView {
    let action = action.unwrap_or_else(|| auto_logout::forms::SIGN_OUT.to_owned());
    let children = children.into_inner();
    view! {
        <form method="post" action=action class=class data-sign-out="">
            {children()}
        </form>
    }
}

/// Put on the page that follows a sign-out: once hydrated it tells the other tabs of this
/// browser that the person signed out (they leave for the sign-in page), and deletes this
/// browser's drafts. It shows nothing.
#[leptos::island]
pub fn AnnounceSignOut() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        crate::drafts::browser::clear_all();
        auto_logout_countdown::browser::announce_signed_out(
            auto_logout_countdown::browser::DEFAULT_CHANNEL,
        );
    }
}

/// Once, for the whole page (see `go_live`): when a sign-out form is sent, this
/// tab's countdown must not race the form to the sign-in page, and a person who signs out
/// leaves no draft behind.
#[cfg(feature = "hydrate")]
pub fn watch_sign_out_forms() {
    use wasm_bindgen::{closure::Closure, JsCast};
    let on_submit = Closure::<dyn Fn(web_sys::Event)>::new(|event: web_sys::Event| {
        let is_sign_out = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|form| form.has_attribute(SIGN_OUT_MARK));
        if is_sign_out {
            crate::countdown::live::stand_down();
            crate::drafts::browser::clear_all();
        }
    });
    // Capture phase: this runs before anything else sends the form.
    let _ = document().add_event_listener_with_callback_and_bool(
        "submit",
        on_submit.as_ref().unchecked_ref(),
        true,
    );
    on_submit.forget();
}
