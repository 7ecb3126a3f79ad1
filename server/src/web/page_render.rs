//! The pages' handler: renders the app for one request and answers with the complete
//! document as one body (with its length), once every resource the page awaits is ready.
//!
//! This is what Leptos' axum integration does in `SsrMode::Async`, without the parts of it
//! this server has no use for on every page: a copy of the request's parts (headers and every
//! extension the session layers added), a `<head>` injection through `leptos_meta` (which
//! spawns a task per page to wait one tick), and a streamed, chunked body of one chunk. What
//! reaches the browser is the same document: the rendered HTML, then the scripts that carry
//! the page's resources to its islands, then the status and headers the page set.
//!
//! A page that waits for nothing (no resource, `Suspense`, `Transition` or error boundary was
//! made while its view was built) is written in one synchronous pass. In such a page a bare
//! `Suspend`, outside any `Suspense`, renders only if it is ready at once: wrap one that
//! awaits in a `Suspense` (as every page of this app does).

use axum::{
    body::Body,
    extract::Request,
    http::{header, request::Parts, HeaderValue},
    response::Response,
};
use futures_util::StreamExt;
use hydration_context::{
    PinnedFuture, PinnedStream, SerializedDataId, SharedContext, SsrSharedContext,
};
use leptos::{
    context::provide_context,
    error::{Error, ErrorId},
    nonce::use_nonce,
    reactive::owner::{Owner, Sandboxed},
    tachys::{ssr::StreamBuilder, view::Position},
    IntoView,
};
use leptos_axum::ResponseOptions;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

/// The type of the HTML this handler answers with, unless the page set another.
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");

/// The length of the last document rendered at one path, from which the next one's buffer
/// starts (with an eighth more): a page is written into a buffer of about its size at once,
/// not into one that doubles, and is copied, several times as it grows.
#[derive(Debug, Default)]
pub struct DocumentSize(AtomicUsize);

impl DocumentSize {
    /// The capacity to start the next document with.
    fn next_capacity(&self) -> usize {
        let last = self.0.load(Ordering::Relaxed);
        (last + last / 8).clamp(4096, 1 << 20)
    }

    /// Remembers a document's length.
    fn record(&self, length: usize) {
        self.0.store(length, Ordering::Relaxed);
    }
}

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
    size: &DocumentSize,
    context: impl FnOnce() + Send,
    app: impl FnOnce() -> IV + Send,
) -> Response
where
    IV: IntoView + 'static,
{
    let counted = Arc::new(CountedIds::new());
    let shared: Arc<dyn SharedContext + Send + Sync> = counted.clone();
    let owner = Owner::new_root(Some(Arc::clone(&shared)));
    let answer = ResponseOptions::default();
    let (html, nonce) = owner.with(|| {
        provide_context(parts);
        provide_context(answer.clone());
        leptos_router::components::provide_server_redirect(leptos_axum::redirect);
        leptos::nonce::provide_nonce();
        context();
        let view = app();
        let capacity = size.next_capacity();
        let html = if counted.any_issued() {
            // Something on the page waits (a resource, a Suspense): in order, as
            // `to_html_stream_in_order` writes it, polled under this render's arena as the
            // render's own futures expect.
            let mut html = StreamBuilder::with_capacity(capacity, None);
            view.to_html_async_with_buf::<false>(
                &mut html,
                &mut Position::FirstChild,
                true,
                false,
                Vec::new(),
            );
            Err(Sandboxed::new(html.finish().collect::<String>()))
        } else {
            // Nothing waits: written at once, straight into one buffer (the in-order writer
            // makes two strings per element, and copies both).
            let mut html = String::with_capacity(capacity);
            view.to_html_with_buf(
                &mut html,
                &mut Position::FirstChild,
                true,
                false,
                Vec::new(),
            );
            Ok(html)
        };
        (html, use_nonce())
    });
    let mut document = match html {
        Ok(document) => document,
        Err(waiting) => waiting.await,
    };
    wait_for_deferred(shared.as_ref()).await;
    if let Some(mut scripts) = shared.pending_data() {
        while let Some(script) = scripts.next().await {
            push_script(&mut document, nonce.as_deref(), &script);
        }
    }
    owner.unset_with_forced_cleanup();
    size.record(document.len());
    answer_with(document, &answer)
}

/// The server's shared context of one render, counting the ids it hands out: every
/// resource, `Suspense`, `Transition` and error boundary asks for one as it is made, so a page
/// that asked for none has nothing to wait for and can be written in one synchronous pass.
#[derive(Debug)]
struct CountedIds {
    inner: SsrSharedContext,
    issued: AtomicUsize,
}

impl CountedIds {
    /// A server render's context (`SsrSharedContext::new`), none issued.
    fn new() -> Self {
        Self {
            inner: SsrSharedContext::new(),
            issued: AtomicUsize::new(0),
        }
    }

    /// Whether anything asked for an id so far.
    fn any_issued(&self) -> bool {
        self.issued.load(Ordering::Relaxed) > 0
    }
}

impl SharedContext for CountedIds {
    fn is_browser(&self) -> bool {
        self.inner.is_browser()
    }

    fn next_id(&self) -> SerializedDataId {
        self.issued.fetch_add(1, Ordering::Relaxed);
        self.inner.next_id()
    }

    fn write_async(&self, id: SerializedDataId, fut: PinnedFuture<String>) {
        self.inner.write_async(id, fut);
    }

    fn read_data(&self, id: &SerializedDataId) -> Option<String> {
        self.inner.read_data(id)
    }

    fn await_data(&self, id: &SerializedDataId) -> Option<String> {
        self.inner.await_data(id)
    }

    fn pending_data(&self) -> Option<PinnedStream<String>> {
        self.inner.pending_data()
    }

    fn during_hydration(&self) -> bool {
        self.inner.during_hydration()
    }

    fn hydration_complete(&self) {
        self.inner.hydration_complete();
    }

    fn get_is_hydrating(&self) -> bool {
        self.inner.get_is_hydrating()
    }

    fn set_is_hydrating(&self, is_hydrating: bool) {
        self.inner.set_is_hydrating(is_hydrating);
    }

    fn take_errors(&self) -> Vec<(SerializedDataId, ErrorId, Error)> {
        self.inner.take_errors()
    }

    fn errors(&self, boundary_id: &SerializedDataId) -> Vec<(ErrorId, Error)> {
        self.inner.errors(boundary_id)
    }

    fn seal_errors(&self, boundary_id: &SerializedDataId) {
        self.inner.seal_errors(boundary_id);
    }

    fn register_error(&self, boundary: SerializedDataId, error_id: ErrorId, error: Error) {
        self.inner.register_error(boundary, error_id, error);
    }

    fn defer_stream(&self, wait_for: PinnedFuture<()>) {
        self.inner.defer_stream(wait_for);
    }

    fn await_deferred(&self) -> Option<PinnedFuture<()>> {
        self.inner.await_deferred()
    }

    fn set_incomplete_chunk(&self, id: SerializedDataId) {
        self.inner.set_incomplete_chunk(id);
    }

    fn get_incomplete_chunk(&self, id: &SerializedDataId) -> bool {
        self.inner.get_incomplete_chunk(id)
    }
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

/// The handler for one page path: `render` with `context` and `app`, for any request, each
/// document's buffer sized after the last one's.
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
    let size = Arc::new(DocumentSize::default());
    move |request: Request| {
        let (context, app, size) = (context.clone(), app.clone(), Arc::clone(&size));
        let (parts, _body) = request.into_parts();
        Box::pin(async move { render(parts, &size, context, app).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use leptos::prelude::*;

    fn request_parts() -> Parts {
        Request::builder()
            .uri("/page")
            .body(())
            .expect("a request")
            .into_parts()
            .0
    }

    async fn body_of(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[tokio::test]
    async fn a_page_that_waits_for_data_is_sent_with_the_data() {
        let _ = any_spawner::Executor::init_tokio();
        let size = DocumentSize::default();
        let response = render(
            request_parts(),
            &size,
            || {},
            || {
                let data = Resource::new(
                    || (),
                    |_| async {
                        tokio::task::yield_now().await;
                        "the data".to_owned()
                    },
                );
                view! {
                    <main>
                        <Suspense fallback=|| "waiting">
                            {move || Suspend::new(async move { data.await })}
                        </Suspense>
                    </main>
                }
            },
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = body_of(response).await;
        assert!(body.contains("the data"), "{body}");
        assert!(!body.contains("waiting"), "{body}");
    }

    #[tokio::test]
    async fn a_page_that_waits_for_nothing_is_written_whole_with_its_status_and_headers() {
        let _ = any_spawner::Executor::init_tokio();
        let size = DocumentSize::default();
        let response = render(
            request_parts(),
            &size,
            || provide_context("from the context"),
            || {
                let answer = expect_context::<ResponseOptions>();
                answer.set_status(StatusCode::NOT_FOUND);
                answer.insert_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                let path = with_context::<Parts, _>(|parts| parts.uri.path().to_owned())
                    .unwrap_or_default();
                let text = format!("{} at {path}", expect_context::<&'static str>());
                view! { <main>{text}</main> }
            },
        )
        .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::CONTENT_TYPE], HTML);
        let body = body_of(response).await;
        assert!(
            body.starts_with("<main>from the context at /page</main>"),
            "{body}"
        );
        // The next document's buffer starts from this one's length.
        assert_eq!(size.0.load(Ordering::Relaxed), body.len());
    }

    #[test]
    fn ids_are_counted_as_they_are_handed_out() {
        let context = CountedIds::new();
        assert!(!context.any_issued());
        let first = context.next_id();
        assert!(context.any_issued());
        assert_ne!(context.next_id(), first);
    }
}
