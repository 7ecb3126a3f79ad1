//! The request policy: the rules every page, form, server function and API call obeys, in one
//! service with one boxed future per request (they were five `from_fn` layers, each boxing
//! its future and cloning the rest of the stack on every request):
//! - a state change sent by another site is refused with 403 ([`csrf`]);
//! - no answer that may hold personal content is cached: `Cache-Control: no-store`, so that
//!   neither a shared cache nor the Back button shows a page after sign-out (the client bundle
//!   under `/pkg/` is routed outside this service and cached; see `web::assets`);
//! - errors take the shape their path wants ([`error::shaped`]);
//! - each request's latency is recorded by route template ([`telemetry::record_latency`]).

use super::{
    csrf,
    error::{self, PathKind},
};
use crate::telemetry;
use axum::{
    extract::Request,
    http::{header, HeaderValue},
    response::Response,
};
use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

/// Wraps the application in [`Policy`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyLayer;

impl<S> tower::Layer<S> for PolicyLayer {
    type Service = Policy<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Policy { inner }
    }
}

/// The service of [`PolicyLayer`]; see the module documentation.
#[derive(Debug, Clone)]
pub struct Policy<S> {
    inner: S,
}

impl<S> tower::Service<Request> for Policy<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let started = Instant::now();
        let method = req.method().clone();
        let kind = PathKind::of(req.uri().path());
        let answer = match csrf::refusal(&req) {
            Some(refused) => Err(refused),
            None => Ok(self.inner.call(req)),
        };
        Box::pin(async move {
            let mut res = match answer {
                Ok(pending) => pending.await?,
                Err(refused) => refused,
            };
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            let res = error::shaped(kind, res).await;
            telemetry::record_latency(&method, &res, started);
            Ok(res)
        })
    }
}
