//! [`KeepDrafts`]: the area of a page whose forms are kept as drafts (see [`crate::drafts`]),
//! with the note that says a draft was restored and the button that discards it.

use auto_logout::DraftKey;
use leptos::prelude::*;

/// Marks its children's forms as keepable for the signed-in `account` (its draft key comes
/// from the server with the page: `UserView::drafts`). An island: once the page is live in
/// the browser, a draft of this page kept for that account is filled in and
/// `[data-testid=draft-restored]` says so, holding `[data-testid=discard-draft]`.
///
/// `saved` is true when the page confirms that the form was saved: the draft is deleted
/// instead of restored.
#[leptos::island]
pub fn KeepDrafts(
    /// The signed-in account's draft key.
    account: DraftKey,
    /// The page confirms that its form was just saved.
    saved: bool,
    /// The area's content, holding the form(s).
    children: Children,
) -> impl IntoView {
    let restored = RwSignal::new(false);
    // Effects run only in the browser, after the forms are in the document.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            use crate::drafts::browser;
            browser::set_account(Some(&account));
            if saved {
                browser::discard_page();
                restored.set(false);
            } else {
                leptos::task::spawn_local(async move {
                    if browser::restore().await {
                        restored.set(true);
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (saved, &account);
    });
    let discard = move |_| {
        #[cfg(feature = "hydrate")]
        {
            crate::drafts::browser::discard_page();
            crate::drafts::browser::reset_forms();
        }
        restored.set(false);
    };
    view! {
        <div data-keep-drafts="">
            <Show when=move || restored.get()>
                <p class="notice draft-note" role="status" data-testid="draft-restored">
                    "Restored your unsaved changes. "
                    <button type="button" class="secondary" data-testid="discard-draft" on:click=discard>
                        "Discard them"
                    </button>
                </p>
            </Show>
            {children()}
        </div>
    }
}
