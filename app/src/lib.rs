//! The Leptos application: the HTML shell, the routes and the pages.
//!
//! Pages render on the server (feature `ssr`) and hydrate in the browser (feature `hydrate`).
//! State changes go through plain HTML forms (`POST /sign-in`, `POST /logout`) that the router's
//! `<Form>` upgrades to fetch + client-side navigation once WebAssembly has loaded, so every page
//! works with and without JavaScript.

pub mod api;
pub mod components;
pub mod drafts;
pub mod error;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// Counts sign-ins and sign-outs made in this tab; resources that depend on who is signed in
/// refetch when it changes.
#[derive(Clone, Copy)]
pub struct AuthVersion(pub RwSignal<usize>);

/// The signed-in user (or `None`), shared by the navigation bar and the pages.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<auto_logout::UserView>, error::AppError>>);

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                // The bundle's names come from `options.output_name`, which the server sets to
                // the content-hashed name (cached for a year).
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: navigation bar and routes.
///
/// Every route renders in `SsrMode::Async`: the server waits for the page's data and sends
/// complete HTML, so pages are correct without JavaScript and the first paint already holds
/// the signed-in state.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let version = RwSignal::new(0usize);
    provide_context(AuthVersion(version));
    let user = Resource::new(move || version.get(), |_| api::current_user());
    provide_context(CurrentUser(user));
    // Effects run only in the browser: mark <body> once the app is live, for tests and CSS.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    // Whoever is signed in (or nobody): drafts of other accounts and old drafts go.
    Effect::new(move |_| {
        if let Some(who) = user.get() {
            let key = who.ok().flatten().map(|u| u.drafts);
            #[cfg(feature = "hydrate")]
            drafts::browser::set_account(key.as_ref());
            #[cfg(not(feature = "hydrate"))]
            let _ = key;
        }
    });

    view! {
        <Title text="auto-logout" />
        <Router>
            <components::nav::NavBar />
            <main>
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=path!("/") view=pages::landing::Landing ssr=SsrMode::Async />
                    <Route path=path!("/sign-in") view=pages::sign_in::SignIn ssr=SsrMode::Async />
                    <Route path=path!("/home") view=pages::home::Home ssr=SsrMode::Async />
                    <Route path=path!("/logout") view=pages::logout::LogoutConfirm ssr=SsrMode::Async />
                    <Route path=path!("/sessions") view=pages::sessions::Sessions ssr=SsrMode::Async />
                    <Route path=path!("/account") view=pages::account::Account ssr=SsrMode::Async />
                    <Route path=path!("/account/password") view=pages::account::ChangePassword ssr=SsrMode::Async />
                    <Route path=path!("/admin/sessions") view=pages::admin::AdminSessions ssr=SsrMode::Async />
                    <Route path=path!("/admin/activity") view=pages::admin::AdminActivity ssr=SsrMode::Async />
                    <Route path=path!("/admin/users") view=pages::admin::AdminUsers ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
