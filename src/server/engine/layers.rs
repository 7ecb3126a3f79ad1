//! The layers the engine hands an application's router.

use super::*;

/// The layers [`Engine::layers`] and [`Engine::layers_with`] hand out: the engine's session
/// layer around axum-login's (which holds tower-sessions' manager over the engine's store),
/// authenticating with `B`.
#[derive(Debug, Clone)]
pub struct EngineLayers<B: AuthnBackend = Backend> {
    pub(super) enforce: SessionLayer,
    pub(super) engine: Engine,
    pub(super) auth: AuthManagerLayer<B, SqlSessionStore>,
}

impl<S, B: AuthnBackend> tower::Layer<S> for EngineLayers<B> {
    type Service = SessionService<
        WithEngine<<AuthManagerLayer<B, SqlSessionStore> as tower::Layer<S>>::Service>,
    >;

    fn layer(&self, inner: S) -> Self::Service {
        self.enforce.layer(WithEngine {
            inner: self.auth.layer(inner),
            engine: self.engine.clone(),
        })
    }
}

/// Puts the engine into every request's extensions (for [`crate::server::AutoLogout`]).
#[derive(Debug, Clone)]
pub struct WithEngine<S> {
    inner: S,
    pub(super) engine: Engine,
}

impl<S, B> tower::Service<Request<B>> for WithEngine<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.engine.clone());
        self.inner.call(req)
    }
}
