//! `GET /home`: the signed-in start page.

use crate::{routes::redirect_to, CurrentUser};
use auto_logout::redirect::sign_in_url;
use leptos::prelude::*;

/// Greets the signed-in user; anonymous visitors are sent to sign in.
#[component]
pub fn Home() -> impl IntoView {
    let Some(user) = expect_context::<CurrentUser>().0 else {
        redirect_to(&sign_in_url("/home", None));
        return None;
    };
    Some(view! {
            <section class="card" data-testid="home">
                <h1 data-testid="greeting">"Hello, " {user.greeting_name().to_owned()} "!"</h1>
                <p>"You are signed in. Your session ends after a spell of inactivity or at its fixed limit, whichever comes first."</p>
                <p><a href="/logout">"Sign out…"</a></p>
            </section>
    })
}
