//! The app's pages: the path of each, which one a request's path shows, and the request's
//! query values.
//!
//! Pages render once, on the server (islands: only the countdown and kept drafts hydrate, and
//! soft navigation swaps in the next page's HTML), so the request's path picks the page
//! directly. A client-side router would build its route matching, signals and outlets for
//! every render, and its outlet turns the whole page into an erased view, copying every
//! attribute; none of that buys anything here.

use leptos::prelude::*;
use leptos_router::params::ParamsMap;

/// One of the app's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `/`: the landing page.
    Landing,
    /// `/sign-in`.
    SignIn,
    /// `/home`: the signed-in start page.
    Home,
    /// `/logout`: "sign out?" for visitors without JavaScript.
    Logout,
    /// `/sessions`: the device list.
    Sessions,
    /// `/account`: display name and email.
    Account,
    /// `/account/password`.
    ChangePassword,
    /// `/account/activity`: "Was this you?".
    AccountActivity,
    /// `/admin/sessions`.
    AdminSessions,
    /// `/admin/activity`.
    AdminActivity,
    /// `/admin/users`.
    AdminUsers,
}

impl Page {
    /// Every page, each at its own path.
    pub const ALL: [Self; 11] = [
        Self::Landing,
        Self::SignIn,
        Self::Home,
        Self::Logout,
        Self::Sessions,
        Self::Account,
        Self::ChangePassword,
        Self::AccountActivity,
        Self::AdminSessions,
        Self::AdminActivity,
        Self::AdminUsers,
    ];

    /// The page's path (what the server answers `GET` on).
    pub const fn path(self) -> &'static str {
        match self {
            Self::Landing => "/",
            Self::SignIn => "/sign-in",
            Self::Home => "/home",
            Self::Logout => "/logout",
            Self::Sessions => "/sessions",
            Self::Account => auto_logout::forms::ACCOUNT,
            Self::ChangePassword => auto_logout::forms::ACCOUNT_PASSWORD,
            Self::AccountActivity => auto_logout::forms::ACCOUNT_ACTIVITY,
            Self::AdminSessions => "/admin/sessions",
            Self::AdminActivity => "/admin/activity",
            Self::AdminUsers => "/admin/users",
        }
    }

    /// The page at exactly `path`, if any.
    pub fn at(path: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|page| page.path() == path)
    }
}

/// The path of the request being rendered (`None` outside a server render).
pub fn request_path() -> Option<String> {
    #[cfg(feature = "ssr")]
    return with_context::<axum::http::request::Parts, _>(|parts| parts.uri.path().to_owned());
    #[cfg(not(feature = "ssr"))]
    None
}

/// The request's query values (`?name=value&…`), read once per render and shared by the page
/// through the context ([`use_query`]).
#[derive(Debug, Clone, Default)]
pub struct RequestQuery(ParamsMap);

impl RequestQuery {
    /// The query values of the request being rendered; none outside a server render.
    pub fn of_request() -> Self {
        #[cfg(feature = "ssr")]
        return with_context::<axum::http::request::Parts, _>(|parts| {
            Self::parse(parts.uri.query().unwrap_or_default())
        })
        .unwrap_or_default();
        #[cfg(not(feature = "ssr"))]
        Self::default()
    }

    /// The values of the query string `query` (form-encoded, without the `?`), decoded as
    /// leptos_router decodes a location's query.
    #[cfg(feature = "ssr")]
    pub fn parse(query: &str) -> Self {
        Self(
            form_urlencoded::parse(query.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The value of `name` (the last one, if the query names it more than once).
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name)
    }

    /// The value of `name`, if the query has it and it is not empty.
    pub fn non_empty(&self, name: &str) -> Option<String> {
        self.get(name).filter(|value| !value.is_empty())
    }
}

/// The request's query values, as the app provided them for this render.
pub fn use_query() -> RequestQuery {
    use_context::<RequestQuery>().unwrap_or_default()
}

/// Sends the browser to `path` instead of this page (302 with `Location`, as the router's
/// `<Redirect>` would on the server). Does nothing outside a server render.
pub fn redirect_to(path: &str) {
    #[cfg(feature = "ssr")]
    leptos_axum::redirect(path);
    #[cfg(not(feature = "ssr"))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_is_found_at_its_path_and_nothing_else_is() {
        for page in Page::ALL {
            assert_eq!(Page::at(page.path()), Some(page));
        }
        assert_eq!(Page::at("/home/"), None);
        assert_eq!(Page::at("/admin"), None);
        assert_eq!(Page::at("/HOME"), None);
        assert_eq!(Page::at(""), None);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn query_values_are_decoded_and_the_last_one_wins() {
        let query = RequestQuery::parse("next=%2Fhome%3Fa%3D1&state=&user=a+b&user=c");
        assert_eq!(query.get("next").as_deref(), Some("/home?a=1"));
        assert_eq!(query.get("state").as_deref(), Some(""));
        assert_eq!(query.non_empty("state"), None);
        assert_eq!(query.get("user").as_deref(), Some("c"));
        assert_eq!(query.get("missing"), None);
        assert_eq!(RequestQuery::parse("").get("x"), None);
    }
}
