//! The Leptos application: the HTML shell, the routes and the pages.
//!
//! Pages render on the server (feature `ssr`) as plain HTML. Only the islands, the parts that
//! live in the browser, are compiled to WebAssembly (feature `hydrate`) and hydrated there: the
//! countdown, kept drafts and the sign-out announcement, all from the `auto-logout-leptos`
//! component library, which this app uses as any other app would. State changes go through plain HTML forms
//! (`POST /sign-in`, `POST /logout`); once WebAssembly has loaded, `navigation` turns links
//! and forms into fetches that swap the page in place, so every page works with and without
//! JavaScript and, with it, without full reloads.

pub mod api;
pub mod components;
pub mod error;
pub mod head;
#[cfg(feature = "hydrate")]
pub mod navigation;
pub mod pages;
pub mod routes;

use leptos::prelude::*;
use routes::{Page, RequestQuery};

/// The request header `navigation` sends with each page it fetches: the server treats such
/// a request as a page visit (a one-time notice is used up by it).
pub const SOFT_NAVIGATION_HEADER: &str = "x-soft-navigation";

/// The signed-in user (or `None`), taken once per page from what the login layer already read
/// for the request, and shared by the navigation bar and the pages. Nothing is awaited: the
/// pages that show only the person render in one pass.
#[derive(Clone, Debug, PartialEq)]
pub struct CurrentUser(pub Option<auto_logout::UserView>);

impl CurrentUser {
    /// The request's signed-in user. Pages render on the server only (islands): in the
    /// browser there is no request and nobody is signed in.
    pub fn of_request() -> Self {
        #[cfg(feature = "ssr")]
        return Self(with_context::<axum::http::request::Parts, _>(api::user_of).flatten());
        #[cfg(not(feature = "ssr"))]
        Self(None)
    }
}

/// The HTML document around the app, rendered on the server, its head rendered afresh (as
/// the not-found fallback does). Pages go through a [`Shell`], which keeps its head.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    html_document(head::head(options))
}

#[cfg(feature = "ssr")]
/// The document around the app for one set of options. Its head, the same on every page but
/// for the nonce, is rendered on the first page and then written out with each page's
/// nonce ([`head::KeptHead`]); the document is the one [`shell`] renders.
#[derive(Clone, Debug)]
pub struct Shell {
    options: LeptosOptions,
    head: head::KeptHead,
}

#[cfg(feature = "ssr")]
impl Shell {
    /// The shell of `options` (the server's: the bundle's names, the site's paths).
    pub fn new(options: LeptosOptions) -> Self {
        Self {
            options,
            head: head::KeptHead::default(),
        }
    }

    /// The document for the current render.
    pub fn view(&self) -> impl IntoView + use<> {
        html_document(self.head.view(&self.options))
    }
}

/// `<!DOCTYPE html><html lang="en">`, `head`, then the app in the body.
fn html_document(head: impl IntoView) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            {head}
            <body>
                <App />
            </body>
        </html>
    }
}

/// Called by the WebAssembly entry point before the page's islands hydrate: drafts older than
/// an hour are deleted, soft navigation takes over links and forms, sign-out forms are
/// watched, and once the islands are hydrated (the next task: Leptos
/// hydrates them in this one) `<body data-hydrated="true">` tells tests and CSS that the page
/// is live.
#[cfg(feature = "hydrate")]
pub fn go_live() {
    auto_logout_leptos::go_live();
    navigation::install();
    gloo_timers::callback::Timeout::new(0, || {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    })
    .forget();
}

/// The application: navigation bar and the page the request's path names ([`routes::Page`];
/// "Page not found", with status 404, for any other path).
///
/// The server renders every page whole (as `SsrMode::Async` would): it waits for the page's
/// data and sends complete HTML in one body, so pages are correct without JavaScript and the
/// first paint already holds the signed-in state.
#[component]
pub fn App() -> impl IntoView {
    provide_context(CurrentUser::of_request());
    provide_context(RequestQuery::of_request());
    let page = routes::request_path().as_deref().and_then(Page::at);

    view! {
        <components::nav::NavBar />
        <main>{page_view(page)}</main>
    }
}

/// The view of `page` (the not-found page for none). Each page keeps its own view type: no
/// erased view, whose conversion would copy every attribute of the page.
fn page_view(page: Option<Page>) -> impl IntoView {
    use leptos::either::EitherOf12 as P;
    match page {
        Some(Page::Landing) => P::A(view! { <pages::landing::Landing /> }),
        Some(Page::SignIn) => P::B(view! { <pages::sign_in::SignIn /> }),
        Some(Page::Home) => P::C(view! { <pages::home::Home /> }),
        Some(Page::Logout) => P::D(view! { <pages::logout::LogoutConfirm /> }),
        Some(Page::Sessions) => P::E(view! { <pages::sessions::Sessions /> }),
        Some(Page::Account) => P::F(view! { <pages::account::Account /> }),
        Some(Page::ChangePassword) => P::G(view! { <pages::account::ChangePassword /> }),
        Some(Page::AccountActivity) => P::H(view! { <pages::activity::AccountActivity /> }),
        Some(Page::AdminSessions) => P::I(view! { <pages::admin::AdminSessions /> }),
        Some(Page::AdminActivity) => P::J(view! { <pages::admin::AdminActivity /> }),
        Some(Page::AdminUsers) => P::K(view! { <pages::admin::AdminUsers /> }),
        None => P::L(view! { <pages::not_found::NotFound /> }),
    }
}
