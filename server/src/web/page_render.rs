//! The pages' handler: renders the app for one request and answers with the complete
//! document as one body (with its length), once every resource the page awaits is ready.
//!
//! This is what Leptos' axum integration does in `SsrMode::Async`, without the parts of it
//! this server has no use for on every page: a copy of the request's parts (headers and every
//! extension the session layers added), a `<head>` injection through `leptos_meta` (which
//! spawns a task per page to wait one tick), and a streamed, chunked body of one chunk. What
//! reaches the browser is the same document: the rendered HTML, then the scripts that carry
//! the page's resources to its islands, then the status and headers the page set.

use axum::{
    body::Body,
    extract::Request,
    http::{header, request::Parts, HeaderValue},
    response::Response,
};
use futures_util::StreamExt;
use hydration_context::{SharedContext, SsrSharedContext};
use leptos::{
    context::provide_context,
    nonce::use_nonce,
    reactive::owner::{Owner, Sandboxed},
    IntoView,
};
use leptos_axum::ResponseOptions;
use std::sync::Arc;

/// The type of the HTML this handler answers with, unless the page set another.
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");

/// Renders `app` for the request `parts` describe and answers with the whole document.
///
/// The render's context holds, as with Leptos' integration: the request's [`Parts`] (moved,
/// not copied), the [`ResponseOptions`] the page may set a status or headers on, a nonce
/// for its inline scripts, `leptos_axum::redirect` as the server redirect, and whatever
/// `context` provides. The reactive owner of the render is cleaned up before the answer
/// leaves. A page that redirects (`leptos_axum::redirect`) answers with its status and
/// `Location`.
pub async fn render<IV>(
    parts: Parts,
    context: impl FnOnce() + Send,
    app: impl FnOnce() -> IV + Send,
) -> Response
where
    IV: IntoView + 'static,
{
    let shared: Arc<dyn SharedContext + Send + Sync> = Arc::new(SsrSharedContext::new());
    let owner = Owner::new_root(Some(Arc::clone(&shared)));
    let answer = ResponseOptions::default();
    let (html, nonce) = owner.with(|| {
        provide_context(parts);
        provide_context(answer.clone());
        leptos_router::components::provide_server_redirect(leptos_axum::redirect);
        leptos::nonce::provide_nonce();
        context();
        let html = app().to_html_stream_in_order().collect::<String>();
        // Polled under this render's arena, as the render's own futures expect.
        (Sandboxed::new(html), use_nonce())
    });
    let mut document = html.await;
    wait_for_deferred(shared.as_ref()).await;
    if let Some(mut scripts) = shared.pending_data() {
        while let Some(script) = scripts.next().await {
            push_script(&mut document, nonce.as_deref(), &script);
        }
    }
    owner.unset_with_forced_cleanup();
    answer_with(document, &answer)
}

/// Waits for what the page deferred (resources marked to complete before the answer).
async fn wait_for_deferred(shared: &(dyn SharedContext + Send + Sync)) {
    while let Some(pending) = shared.await_deferred() {
        pending.await;
    }
}

/// Appends `<script nonce="…">text</script>`, as Leptos writes the data its islands read.
fn push_script(document: &mut String, nonce: Option<&str>, text: &str) {
    document.push_str("<script");
    if let Some(nonce) = nonce {
        document.push_str(" nonce=\"");
        document.push_str(nonce);
        document.push('"');
    }
    document.push('>');
    document.push_str(text);
    document.push_str("</script>");
}

/// The answer: `document` as the body, with the status and headers the page set, and
/// `text/html` unless it set another type.
fn answer_with(document: String, answer: &ResponseOptions) -> Response {
    let mut response = Response::new(Body::from(document));
    let mut set = answer
        .0
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(status) = set.status {
        *response.status_mut() = status;
    }
    response
        .headers_mut()
        .extend(std::mem::take(&mut set.headers));
    response
        .headers_mut()
        .entry(header::CONTENT_TYPE)
        .or_insert(HTML);
    response
}

/// The handler for one page path: `render` with `context` and `app`, for any request.
pub fn handler<IV>(
    context: impl Fn() + Clone + Send + Sync + 'static,
    app: impl Fn() -> IV + Clone + Send + Sync + 'static,
) -> impl Fn(Request) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>
       + Clone
       + Send
       + Sync
       + 'static
where
    IV: IntoView + 'static,
{
    move |request: Request| {
        let (context, app) = (context.clone(), app.clone());
        let (parts, _body) = request.into_parts();
        Box::pin(render(parts, context, app))
    }
}
