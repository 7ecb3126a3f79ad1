//! The request rules: what every page, form, server function and API call obeys, in one
//! service whose future boxes nothing unless an error must be reshaped (they were five
//! `from_fn` layers, each boxing its future and cloning the rest of the stack on every
//! request):
//! - a state change sent by another site, or one carrying the session cookie but no sign of
//!   where it came from, is refused with 403 ([`csrf`]);
//! - no answer that may hold personal content is cached: `Cache-Control: no-store`, so that
//!   neither a shared cache nor the Back button shows a page after sign-out (the client bundle
//!   under `/pkg/` is routed outside this service and cached; see `web::assets`);
//! - errors take the shape their path wants ([`error::shaped`]);
//! - each request's latency is recorded by route template ([`telemetry::record_latency`]);
//! - each request has a `request` span (method, URI, version) at `debug`, entered while the
//!   application answers, and its answer is logged: `debug` with status and latency, `error`
//!   for a server error (what tower-http's trace layer did, without wrapping the body).

use super::{
    csrf,
    error::{self, PathKind},
};
use crate::telemetry;
use auto_logout::cookies::CookiePolicy;
use axum::{
    extract::Request,
    http::{header, HeaderValue, Method},
    response::Response,
};
use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};
use tracing::Span;

/// Wraps the application in [`RequestRules`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestRulesLayer {
    cookies: CookiePolicy,
}

impl RequestRulesLayer {
    /// The rules for a server whose session cookie is sent as `cookies` says (the CSRF check
    /// looks for that cookie).
    pub fn new(cookies: CookiePolicy) -> Self {
        Self { cookies }
    }
}

impl<S> tower::Layer<S> for RequestRulesLayer {
    type Service = RequestRules<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestRules {
            inner,
            cookies: self.cookies,
        }
    }
}

/// The service of [`RequestRulesLayer`]; see the module documentation.
#[derive(Debug, Clone)]
pub struct RequestRules<S> {
    inner: S,
    cookies: CookiePolicy,
}

impl<S> tower::Service<Request> for RequestRules<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RequestRulesFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let started = Instant::now();
        let method = req.method().clone();
        let kind = PathKind::of(req.uri().path());
        let span = tracing::debug_span!(
            "request",
            method = %req.method(),
            uri = %req.uri(),
            version = ?req.version(),
        );
        let state = match csrf::refusal(&req, self.cookies) {
            Some(refused) => State::Refused {
                answer: Some(refused),
            },
            None => State::Inner {
                inner: self.inner.call(req),
            },
        };
        RequestRulesFuture {
            state,
            kind,
            method,
            started,
            span,
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`RequestRules`]: the application's (or the CSRF refusal), marked `no-store`,
    /// reshaped when it is an error of the wrong shape, its latency recorded. Nothing is boxed
    /// unless an error needs reshaping.
    pub struct RequestRulesFuture<F> {
        #[pin]
        state: State<F>,
        kind: PathKind,
        method: Method,
        started: Instant,
        span: Span,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        /// Refused before the application saw it.
        Refused { answer: Option<Response> },
        /// The application is answering.
        Inner { #[pin] inner: F },
        /// An error answer is being reshaped (its body may have to be read).
        Shaping { shaping: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F> Future for RequestRulesFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let this = self.as_mut().project();
            let _entered = this.span.enter();
            let mut res = match this.state.project() {
                StateProj::Refused { answer } => answer
                    .take()
                    .expect("RequestRulesFuture polled after it completed"),
                StateProj::Inner { inner } => match inner.poll(cx) {
                    Poll::Ready(Ok(res)) => res,
                    Poll::Ready(Err(never)) => match never {},
                    Poll::Pending => return Poll::Pending,
                },
                StateProj::Shaping { shaping } => match shaping.as_mut().poll(cx) {
                    Poll::Ready(res) => {
                        answered(this.method, &res, this.started.elapsed());
                        return Poll::Ready(Ok(res));
                    }
                    Poll::Pending => return Poll::Pending,
                },
            };
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if error::needs_shaping(*this.kind, &res) {
                let shaping = Box::pin(error::shaped(*this.kind, res));
                drop(_entered);
                self.as_mut()
                    .project()
                    .state
                    .set(State::Shaping { shaping });
                continue;
            }
            answered(this.method, &res, this.started.elapsed());
            return Poll::Ready(Ok(res));
        }
    }
}

/// Records the answer's latency and logs it (inside the request's span).
fn answered(method: &Method, res: &Response, latency: Duration) {
    telemetry::record_latency(method, res, latency);
    let status = res.status();
    if status.is_server_error() {
        tracing::error!(
            status = status.as_u16(),
            latency_ms = latency.as_secs_f64() * 1e3,
            "answered with a server error"
        );
    } else {
        tracing::debug!(
            status = status.as_u16(),
            latency_ms = latency.as_secs_f64() * 1e3,
            "answered"
        );
    }
}
