//! Compression of the answers worth compressing (pages, large JSON, bundle files without a
//! pre-compressed copy), by tower-http's encoders, chosen by `Accept-Encoding`.
//!
//! tower-http's layer wraps every body, compressed or not, in its own body type, which the
//! server then boxes back into axum's: an allocation and a copy of a large value on every
//! answer. Most answers are small JSON (the countdown's status reads, the API) and are never
//! compressed, so this layer looks at the answer first: only one that tower-http would
//! compress (its predicate says yes; not already encoded, not a range) goes through
//! tower-http's compression; any other is handed on untouched. What reaches the client is the
//! same as with tower-http's layer around everything.

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    response::Response,
};
use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};
use tower::ServiceExt;
use tower_http::compression::{
    predicate::{And, DefaultPredicate, Predicate, SizeAbove},
    Compression, CompressionLevel,
};

/// Answers smaller than this are sent uncompressed (they fit in a packet either way).
pub const COMPRESS_FROM_BYTES: u16 = 1024;

/// How hard answers are compressed: each is compressed as it is sent, so the fastest level
/// (brotli's quality 0, gzip's level 1, as web servers compress on the fly by default): a
/// page compresses in a fraction of the time of the libraries' defaults, for a few hundred
/// bytes more.
pub const COMPRESSION_LEVEL: CompressionLevel = CompressionLevel::Fastest;

/// Which answers are compressed: at least [`COMPRESS_FROM_BYTES`], and tower-http's default
/// (not images other than SVG, not gRPC, not event streams). The size is looked at first:
/// most answers are small JSON, told apart by their length without parsing their type.
pub type CompressPredicate = And<SizeAbove, DefaultPredicate>;

/// The predicate this server compresses by.
pub fn compress_predicate() -> CompressPredicate {
    SizeAbove::new(COMPRESS_FROM_BYTES).and(DefaultPredicate::new())
}

/// Wraps a service in [`Compress`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CompressLayer;

impl<S> tower::Layer<S> for CompressLayer {
    type Service = Compress<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Compress { inner }
    }
}

/// The service of [`CompressLayer`]; see the module documentation.
#[derive(Debug, Clone)]
pub struct Compress<S> {
    inner: S,
}

impl<S> tower::Service<Request> for Compress<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = CompressFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let accept = accepted_encodings(&req);
        CompressFuture {
            state: State::Inner {
                inner: self.inner.call(req),
                accept,
            },
        }
    }
}

/// The request's `Accept-Encoding` as one value (several header lines are joined, as HTTP
/// allows); `None` without one. The usual single line is shared, not copied.
fn accepted_encodings(req: &Request) -> Option<HeaderValue> {
    let mut lines = req.headers().get_all(header::ACCEPT_ENCODING).iter();
    let first = lines.next()?;
    let rest: Vec<&HeaderValue> = lines.collect();
    if rest.is_empty() {
        return Some(first.clone());
    }
    let mut joined = first.as_bytes().to_vec();
    for line in rest {
        joined.extend_from_slice(b", ");
        joined.extend_from_slice(line.as_bytes());
    }
    HeaderValue::from_bytes(&joined).ok()
}

/// Whether tower-http would compress `res` (given an encoding the client accepts): the same
/// tests its response future makes.
fn worth_compressing(res: &Response) -> bool {
    !res.headers().contains_key(header::CONTENT_ENCODING)
        && !res.headers().contains_key(header::CONTENT_RANGE)
        && compress_predicate().should_compress(res)
}

/// `res` with `Vary: accept-encoding` unless a `Vary` already names it, as tower-http marks
/// an answer it could have compressed.
fn varying_by_encoding(mut res: Response) -> Response {
    let named = res.headers().get_all(header::VARY).iter().any(|value| {
        value
            .as_bytes()
            .windows(header::ACCEPT_ENCODING.as_str().len())
            .any(|part| part.eq_ignore_ascii_case(header::ACCEPT_ENCODING.as_str().as_bytes()))
    });
    if !named {
        res.headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// `res` through tower-http's compression, as if it had answered a request that accepts
/// `accept`.
async fn compressed(res: Response, accept: HeaderValue) -> Response {
    let mut request = Request::new(axum::body::Body::empty());
    request
        .headers_mut()
        .insert(header::ACCEPT_ENCODING, accept);
    // `oneshot` calls the service once: the answer is always there to take.
    let mut res = Some(res);
    let answer = tower::service_fn(move |_: Request| {
        std::future::ready(Ok::<_, Infallible>(res.take().unwrap_or_default()))
    });
    match Compression::new(answer)
        .quality(COMPRESSION_LEVEL)
        .compress_when(compress_predicate())
        .oneshot(request)
        .await
    {
        Ok(res) => super::with_axum_body(res),
        Err(never) => match never {},
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`Compress`]: the application's, compressed when worth it. Nothing is
    /// boxed unless the answer is compressed.
    pub struct CompressFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        /// The application is answering.
        Inner { #[pin] inner: F, accept: Option<HeaderValue> },
        /// The answer is being compressed.
        Compressing { compressing: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F> Future for CompressFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let this = self.as_mut().project();
            match this.state.project() {
                StateProj::Inner { inner, accept } => {
                    let res = match ready!(inner.poll(cx)) {
                        Ok(res) => res,
                        Err(never) => match never {},
                    };
                    if !worth_compressing(&res) {
                        return Poll::Ready(Ok(res));
                    }
                    let Some(accept) = accept.take() else {
                        // No `Accept-Encoding`: tower-http would send it as it is, only
                        // saying that it varies by that header.
                        return Poll::Ready(Ok(varying_by_encoding(res)));
                    };
                    let compressing = Box::pin(compressed(res, accept));
                    self.as_mut()
                        .project()
                        .state
                        .set(State::Compressing { compressing });
                }
                StateProj::Compressing { compressing } => {
                    return compressing.as_mut().poll(cx).map(Ok);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::Body, http::StatusCode, routing::get, Router};
    use tower::Layer;

    fn app() -> Compress<Router> {
        CompressLayer.layer(
            Router::new()
                .route("/small", get(|| async { "ok" }))
                .route("/large", get(|| async { "x".repeat(4096) }))
                .route(
                    "/varies",
                    get(|| async {
                        (
                            [(header::VARY, "Origin, Accept-Encoding")],
                            "y".repeat(4096),
                        )
                    }),
                )
                .route(
                    "/encoded",
                    get(|| async {
                        (
                            [(header::CONTENT_ENCODING, "gzip")],
                            "already gzip ".repeat(200),
                        )
                    }),
                ),
        )
    }

    async fn get_with(path: &str, accept: &[&str]) -> Response {
        let mut req = Request::get(path).body(Body::empty()).unwrap();
        for value in accept {
            req.headers_mut().append(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
        }
        app().oneshot(req).await.unwrap()
    }

    fn encoding(res: &Response) -> Option<&str> {
        res.headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn a_large_answer_is_compressed_as_the_client_asks() {
        let res = get_with("/large", &["gzip"]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(encoding(&res), Some("gzip"));
        assert_eq!(
            res.headers().get(header::VARY).unwrap(),
            "accept-encoding",
            "caches must key on Accept-Encoding"
        );
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        assert!(body.len() < 4096, "compressed: {} bytes", body.len());
        assert_eq!(
            encoding(&get_with("/large", &["br;q=1.0, gzip;q=0.5"]).await),
            Some("br")
        );
    }

    #[tokio::test]
    async fn several_accept_encoding_lines_count_together() {
        let res = get_with("/large", &["identity;q=0.1", "br"]).await;
        assert_eq!(encoding(&res), Some("br"));
    }

    #[tokio::test]
    async fn a_large_answer_to_a_client_without_encodings_is_plain_but_varies() {
        let res = get_with("/large", &[]).await;
        assert_eq!(encoding(&res), None);
        assert_eq!(res.headers().get(header::VARY).unwrap(), "accept-encoding");
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        assert_eq!(body.len(), 4096);
        let varies = get_with("/varies", &[]).await;
        let vary: Vec<_> = varies.headers().get_all(header::VARY).iter().collect();
        assert_eq!(vary, ["Origin, Accept-Encoding"], "named once, in any case");
    }

    #[tokio::test]
    async fn small_and_already_encoded_answers_pass_untouched() {
        let small = get_with("/small", &["br, gzip"]).await;
        assert_eq!(encoding(&small), None);
        assert!(small.headers().get(header::VARY).is_none());
        assert_eq!(
            axum::body::to_bytes(small.into_body(), 64).await.unwrap(),
            "ok"
        );
        let encoded = get_with("/encoded", &["br"]).await;
        assert_eq!(encoding(&encoded), Some("gzip"), "never encoded twice");
    }
}
