//! `GET /home`: the signed-in start page.

use crate::CurrentUser;
use auto_logout::redirect::sign_in_url;
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Greets the signed-in user; anonymous visitors are sent to sign in.
#[component]
pub fn Home() -> impl IntoView {
    match expect_context::<CurrentUser>().0 {
        Some(user) => view! {
            <section class="card" data-testid="home">
                <h1 data-testid="greeting">"Hello, " {user.greeting_name().to_owned()} "!"</h1>
                <p>"You are signed in. Your session ends after a spell of inactivity or at its fixed limit, whichever comes first."</p>
                <p><a href="/logout">"Sign out…"</a></p>
            </section>
        }
        .into_any(),
        None => view! { <Redirect path=sign_in_url("/home", None) /> }.into_any(),
    }
}
