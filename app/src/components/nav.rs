//! The navigation bar: the product name, and who is signed in with a sign-out button.

use crate::{
    components::{countdown::SessionCountdown, sign_out::SignOutForm},
    CurrentUser,
};
use auto_logout::forms::ACCOUNT;
use leptos::prelude::*;
use leptos_router::components::A;

/// The bar at the top of every page.
#[component]
pub fn NavBar() -> impl IntoView {
    let user = expect_context::<CurrentUser>().0;
    view! {
        <header class="nav">
            <A href="/" attr:class="brand">"auto-logout"</A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(user)) => view! {
                            <SessionCountdown account=user.drafts.clone() />
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
                })}
            </Transition>
        </header>
    }
}
