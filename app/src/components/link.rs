//! [`PageLink`]: a link to one of the app's pages, marked `aria-current="page"` while that
//! page (or one under it) is shown, as the router's `<A>` marks it. Pages render once, on the
//! server (soft navigation swaps in the next page's HTML), so the mark is decided once from
//! the request's path, without the per-link reactive state `<A>` builds for the browser.

use crate::routes::request_path;
use leptos::either::Either;
use leptos::prelude::*;

/// Whether a link to `href` is current at `path`: the same page, or one under it
/// (`/account` at `/account/password`); the root only at the root.
pub fn is_current(href: &str, path: &str) -> bool {
    let href = href.trim_end_matches('/');
    if href.is_empty() {
        return path == "/";
    }
    path.strip_prefix(href)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A link to the app's page `href`, with `class` if given.
#[component]
pub fn PageLink<C: IntoView + 'static>(
    /// The page's path.
    href: &'static str,
    /// The link's class attribute.
    #[prop(optional)]
    class: Option<&'static str>,
    /// The link's text (typed, not erased: an erased view copies what it holds).
    children: TypedChildren<C>,
) -> impl IntoView {
    let children = children.into_inner();
    let current = request_path()
        .is_some_and(|path| is_current(href, &path))
        .then_some("page");
    match class {
        Some(class) => Either::Left(view! {
            <a href=href aria-current=current class=class>{children()}</a>
        }),
        None => Either::Right(view! { <a href=href aria-current=current>{children()}</a> }),
    }
}

#[cfg(test)]
mod tests {
    use super::is_current;

    #[test]
    fn a_link_is_current_on_its_page_and_the_pages_under_it() {
        assert!(is_current("/account", "/account"));
        assert!(is_current("/account", "/account/password"));
        assert!(!is_current("/account", "/accounts"));
        assert!(!is_current("/account/password", "/account"));
        assert!(is_current("/", "/"));
        assert!(!is_current("/", "/home"));
        assert!(!is_current("/home", "/"));
    }
}
