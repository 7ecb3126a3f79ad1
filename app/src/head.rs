//! The document's `<head>`. It is the same on every page but for the nonce of its scripts, so
//! a [`Shell`](crate::Shell) renders it once and writes it out with each page's nonce.

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use leptos::{
    either::Either,
    nonce::{use_nonce, Nonce},
    tachys::html::InertElement,
};
use leptos_meta::HashedStylesheet;
#[cfg(feature = "ssr")]
use std::sync::{Arc, OnceLock};

#[cfg(feature = "ssr")]
/// Stands for the nonce while the head is rendered once; the kept head is cut at each one.
/// Nothing else in the head contains it (the tests check a head rendered with a real nonce).
const NONCE_MARK: &str = "AutoLogoutNonceMark";

/// The head as Leptos renders it for `options`.
pub fn head(options: LeptosOptions) -> impl IntoView {
    view! {
        <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <AutoReload options=options.clone() />
            // The bundle's names come from `options.output_name`, which the server sets to
            // the content-hashed name (cached for a year).
            <HashedStylesheet options=options.clone() id="leptos" />
            <HydrationScripts options islands=true />
            // One title for every page, written here: no page sets its own, so nothing
            // needs leptos_meta's injection into the head after the render.
            <title>"auto-logout"</title>
        </head>
    }
}

#[cfg(feature = "ssr")]
/// The head of one set of options, rendered on first use: its HTML cut where the nonce goes.
#[derive(Clone, Debug, Default)]
pub struct KeptHead(Arc<OnceLock<Vec<String>>>);

#[cfg(feature = "ssr")]
impl KeptHead {
    /// The head for `options` with the render's nonce: what [`head`] renders, written out
    /// from the kept HTML. Without a nonce in the context, [`head`] itself.
    ///
    /// The kept head is `options`' for the life of this value: use one per set of options.
    /// `options` are copied only to render the head, not for the pages that write it out.
    pub fn view(&self, options: &LeptosOptions) -> impl IntoView + use<> {
        let Some(nonce) = use_nonce() else {
            return Either::Right(head(options.clone()));
        };
        let parts = self.0.get_or_init(|| render_with_mark(options.clone()));
        // What `HydrationScripts` does beside its HTML, in an islands app: what follows is
        // rendered as not hydrating, but for the islands.
        if let Some(context) = Owner::current_shared_context() {
            context.set_is_hydrating(false);
        }
        let mut html = String::with_capacity(
            parts.iter().map(String::len).sum::<usize>() + parts.len() * nonce.len(),
        );
        for (at, part) in parts.iter().enumerate() {
            if at > 0 {
                html.push_str(&nonce);
            }
            html.push_str(part);
        }
        Either::Left(InertElement::new(html))
    }
}

#[cfg(feature = "ssr")]
/// [`head`] rendered with [`NONCE_MARK`] for its nonce (in an owner of its own under the
/// current one, whose render context it shares), cut at each mark.
fn render_with_mark(options: LeptosOptions) -> Vec<String> {
    let owner = Owner::current().map_or_else(Owner::new, |parent| parent.child());
    let html = owner.with(|| {
        provide_context(Nonce::from_value(NONCE_MARK));
        head(options).to_html()
    });
    html.split(NONCE_MARK).map(str::to_owned).collect()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn options() -> LeptosOptions {
        LeptosOptions::builder()
            .output_name("auto-logout.0123abcd")
            .build()
    }

    /// The head of a render whose nonce is `nonce`, through `kept`.
    fn kept_head_with(kept: &KeptHead, nonce: &str) -> String {
        Owner::new().with(|| {
            provide_context(Nonce::from_value(nonce));
            kept.view(&options()).to_html()
        })
    }

    #[test]
    fn the_kept_head_is_the_head_with_each_pages_nonce() {
        let kept = KeptHead::default();
        for nonce in ["firstNonce0", "secondNonce1"] {
            let plain = Owner::new().with(|| {
                provide_context(Nonce::from_value(nonce));
                head(options()).to_html()
            });
            assert_eq!(kept_head_with(&kept, nonce), plain);
            assert!(plain.matches(nonce).count() >= 3, "{plain}");
            assert!(!plain.contains(NONCE_MARK));
        }
    }

    #[test]
    fn without_a_nonce_the_head_is_rendered_as_is() {
        let kept = KeptHead::default();
        let html = Owner::new().with(|| kept.view(&options()).to_html());
        assert_eq!(html, Owner::new().with(|| head(options()).to_html()));
        assert!(kept.0.get().is_none());
    }
}
