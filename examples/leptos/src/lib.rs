//! A minimal Leptos 0.8 application of its own: its router and two pages, `/` (sign in) and
//! `/notes` (for signed-in people). It mounts the auto-logout engine (`main.rs`) and shows the
//! live countdown with the `auto-logout-leptos` components, in the lines README counts ("Add
//! the countdown to your pages", "A Leptos app").

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    hooks::use_query_map,
    path,
};

/// Where the countdown sends an ended session: this app signs in on its home page.
pub const SIGN_IN: &str = "/";

/// The HTML document, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <title>"Notes"</title>
                <HydrationScripts options islands=true />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: its router and its pages.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <main>
                <Routes fallback=|| "Not found.">
                    <Route path=path!("/") view=SignInPage />
                    <Route path=path!("/notes") view=NotesPage />
                </Routes>
            </main>
        </Router>
    }
}

/// `/`: the sign-in form (posting to `/login`), with a word on why a session ended.
#[component]
fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let notice = move || match query.read().get("reason").as_deref() {
        Some("idle") => "You were signed out after a period of inactivity.",
        Some("expired") => "Your session reached its time limit.",
        Some("revoked") => "Your session was ended from elsewhere.",
        _ => "",
    };
    view! {
        <h1>"Sign in"</h1>
        <p id="notice">{notice}</p>
        <form method="post" action="/login">
            <label>"Username " <input name="username" autocomplete="username" /></label>
            <label>"Password " <input name="password" type="password" autocomplete="current-password" /></label>
            <button type="submit">"Sign in"</button>
        </form>
    }
}

/// `/notes`: the page of signed-in people, with the live countdown.
#[component]
fn NotesPage() -> impl IntoView {
    let options = auto_logout_leptos::CountdownOptions::default().sign_in_path(SIGN_IN);
    view! {
        <auto_logout_leptos::SessionCountdown options />
        <h1>"Notes"</h1>
        <p>"Leave this page alone and the countdown sends you back to sign in."</p>
        <auto_logout_leptos::SignOutForm>
            <button type="submit" data-testid="sign-out">"Sign out"</button>
        </auto_logout_leptos::SignOutForm>
    }
}

/// The WebAssembly entry point: hydrates the page's islands (the countdown).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_islands();
    auto_logout_leptos::go_live();
}
