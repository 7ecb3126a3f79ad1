//! The navigation bar: the product name, and who is signed in with a sign-out button.

use crate::{
    components::countdown::{announce_sign_out, SessionCountdown},
    AuthVersion, CurrentUser,
};
use leptos::prelude::*;
use leptos_router::components::{Form, A};
use std::sync::Arc;

/// The bar at the top of every page.
#[component]
pub fn NavBar() -> impl IntoView {
    let user = expect_context::<CurrentUser>().0;
    let version = expect_context::<AuthVersion>().0;
    view! {
        <header class="nav">
            <A href="/" attr:class="brand">"auto-logout"</A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(user)) => view! {
                            <SessionCountdown />
                            <span class="who" data-testid="signed-in-as">{user.username}</span>
                            <A href="/home">"Home"</A>
                            <A href="/sessions">"Sessions"</A>
                            <Form
                                method="post"
                                action="/logout"
                                version=version
                                on_response=Arc::new(|_: &_| announce_sign_out())
                                attr:class="inline"
                            >
                                <button type="submit" data-testid="sign-out">"Sign out"</button>
                            </Form>
                        }.into_any(),
                        _ => view! { <A href="/sign-in">"Sign in"</A> }.into_any(),
                    }
                })}
            </Transition>
        </header>
    }
}
