//! [`KeepDraftsOfUser`]: the library's [`KeepDrafts`] for whoever is signed in.

use crate::CurrentUser;
use auto_logout_leptos::KeepDrafts;
use leptos::either::Either;
use leptos::prelude::*;

/// [`KeepDrafts`] for whoever is signed in ([`CurrentUser`]); for an anonymous visitor the
/// children are shown as they are.
#[component]
pub fn KeepDraftsOfUser(
    /// The page confirms that its form was just saved.
    saved: bool,
    /// The area's content, holding the form(s).
    children: ChildrenFn,
) -> impl IntoView {
    match expect_context::<CurrentUser>().0 {
        Some(user) => Either::Left(view! {
            <KeepDrafts account=user.drafts saved>{children()}</KeepDrafts>
        }),
        None => Either::Right(children()),
    }
}
