//! The edge of the server: what every request passes before anything else, in one service
//! (no boxed future, no per-request clone of the application):
//! 1. a request for a host that is not in `allowed_hosts` answers 400 ([`hosts`]);
//! 2. a path with a trailing slash is redirected or rewritten ([`slash`]).

use super::{hosts, slash};
use crate::config::AllowedHosts;
use axum::{extract::Request, response::Response};
use futures_util::future::{Either, Ready};
use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
};

/// Wraps the application in [`Edge`].
#[derive(Debug, Clone)]
pub struct EdgeLayer {
    allowed: Arc<AllowedHosts>,
}

impl EdgeLayer {
    /// An edge answering only to `allowed` hosts.
    pub fn new(allowed: AllowedHosts) -> Self {
        Self {
            allowed: Arc::new(allowed),
        }
    }
}

impl<S> tower::Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Edge {
            inner,
            allowed: self.allowed.clone(),
        }
    }
}

/// The service of [`EdgeLayer`]: the host check and the trailing-slash rule around `S`.
#[derive(Debug, Clone)]
pub struct Edge<S> {
    inner: S,
    allowed: Arc<AllowedHosts>,
}

impl<S> tower::Service<Request> for Edge<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let answer =
            hosts::refusal(&req, &self.allowed).or_else(|| slash::without_trailing_slash(&mut req));
        match answer {
            Some(answer) => Either::Left(futures_util::future::ready(Ok(answer))),
            None => Either::Right(self.inner.call(req)),
        }
    }
}
