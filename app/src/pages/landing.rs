//! `GET /`: the public landing page, with the notice left by a sign-out.

use crate::api::take_flash;
use crate::components::link::PageLink;
use auto_logout_leptos::AnnounceSignOut;
use leptos::prelude::*;

/// The landing page.
#[component]
pub fn Landing() -> impl IntoView {
    let flash = Resource::new(|| (), |_| take_flash());
    view! {
        <section class="card">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    // The only notice is the one a sign-out leaves.
                    flash.await.ok().flatten().map(|message| view! {
                        <p class="flash" role="status" data-testid="flash">{message}</p>
                        <AnnounceSignOut />
                    })
                })}
            </Suspense>
            <h1>"auto-logout"</h1>
            <p>
                "Sessions that end on time: after a spell of inactivity, and at a fixed limit after sign-in, "
                "whichever comes first, with a live countdown so nobody loses work to a surprise."
            </p>
            <p><PageLink href="/home">"Go to your home page"</PageLink></p>
        </section>
    }
}
