//! What an application's handlers take from the engine and give back: the [`AutoLogout`]
//! extractor (axum-login's session handle, with the engine and the request's client that
//! [`Engine::layers`] put beside it) and the HTTP answers of a sign-in for JSON APIs.

use super::{
    adopt::{Account, Adopted},
    backend::Backend,
    engine::{Engine, SignIn},
    session_start::SessionError,
    sessions::ClientInfo,
};
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use axum_login::AuthnBackend;

/// axum-login's session handle with the engine and the request's client beside it, for a
/// handler behind [`Engine::layers`] or [`Engine::layers_with`]. It dereferences to axum-login's
/// [`axum_login::AuthSession`] (`auth.user`, `auth.session`), and its own [`AutoLogout::sign_in`]
/// and [`AutoLogout::logout`] go through the engine (throttled, audited, limits applied).
///
/// ```no_run
/// # use auto_logout::server::{AutoLogout, SignIn, SessionError};
/// # #[derive(serde::Deserialize)] struct Form { username: String, password: String }
/// async fn login(
///     mut auth: AutoLogout,
///     axum::Json(form): axum::Json<Form>,
/// ) -> Result<SignIn, SessionError> {
///     auth.sign_in_password(&form.username, &form.password, false).await
/// }
/// ```
#[derive(Debug, Clone)]
pub struct AutoLogout<B: AuthnBackend = Backend> {
    /// The engine.
    pub engine: Engine,
    /// Where the request comes from (address, user agent).
    pub client: ClientInfo,
    /// axum-login's session handle.
    pub auth: axum_login::AuthSession<B>,
}

/// The session handle of an application whose own axum-login backend `B` the engine adopted
/// (see [`super::adopt`]).
pub type AdoptedSession<B> = AutoLogout<Adopted<B>>;

impl<B: AuthnBackend> std::ops::Deref for AutoLogout<B> {
    type Target = axum_login::AuthSession<B>;

    fn deref(&self) -> &Self::Target {
        &self.auth
    }
}

impl<B: AuthnBackend> std::ops::DerefMut for AutoLogout<B> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.auth
    }
}

impl AutoLogout<Backend> {
    /// [`Engine::sign_in`] (the engine's own accounts) for this request.
    ///
    /// # Errors
    /// As [`Engine::sign_in`].
    pub async fn sign_in_password(
        &mut self,
        username: &str,
        password: &str,
        remember: bool,
    ) -> Result<SignIn, SessionError> {
        self.engine
            .sign_in(&mut self.auth, username, password, remember, &self.client)
            .await
    }
}

impl<B> AutoLogout<Adopted<B>>
where
    B: AuthnBackend,
    B::User: Account,
{
    /// [`Engine::sign_in_with`] for this request: the application's backend checks
    /// `credentials`; `username` is what the throttle counts failures by.
    ///
    /// # Errors
    /// As [`Engine::sign_in_with`].
    pub async fn sign_in(
        &mut self,
        username: String,
        credentials: B::Credentials,
    ) -> Result<SignIn, SessionError> {
        self.engine
            .sign_in_with(&mut self.auth, username, credentials, false, &self.client)
            .await
    }

    /// [`AutoLogout::sign_in`] for a "Remember me" session (the remembered limits, a
    /// persistent cookie).
    ///
    /// # Errors
    /// As [`Engine::sign_in_with`].
    pub async fn sign_in_remembered(
        &mut self,
        username: String,
        credentials: B::Credentials,
    ) -> Result<SignIn, SessionError> {
        self.engine
            .sign_in_with(&mut self.auth, username, credentials, true, &self.client)
            .await
    }
}

impl<B: AuthnBackend> AutoLogout<B> {
    /// Ends this request's session in the engine (audited `logout` with the client, final)
    /// and signs out of axum-login; `Ok(false)` when nobody was signed in. Use it instead of
    /// axum-login's own `logout`, which it hides.
    ///
    /// # Errors
    /// [`SessionError`] when the end could not be recorded; the session stays as it was.
    pub async fn logout(&mut self) -> Result<bool, SessionError> {
        self.engine.sign_out(&mut self.auth, &self.client).await
    }
}

impl<S, B> FromRequestParts<S> for AutoLogout<B>
where
    S: Send + Sync,
    B: AuthnBackend + Send + Sync + 'static,
{
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let engine = parts.extensions.get::<Engine>().cloned().ok_or((
            StatusCode::INTERNAL_SERVER_ERROR,
            "the route is not behind the auto-logout engine's layers (Engine::layers)",
        ))?;
        let client = parts
            .extensions
            .get::<ClientInfo>()
            .cloned()
            .unwrap_or_default();
        let auth = axum_login::AuthSession::<B>::from_request_parts(parts, state).await?;
        Ok(Self {
            engine,
            client,
            auth,
        })
    }
}

/// The answer of a JSON API's sign-in: 204 with the session cookie, 401 for wrong
/// credentials, 429 (with `Retry-After`) while throttled, 403 at the session limit, 503 (with
/// `Retry-After`) when too many sign-ins are being checked.
impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        let (status, retry_after) = match self {
            SignIn::Started(_) => (StatusCode::NO_CONTENT, None),
            SignIn::Rejected => (StatusCode::UNAUTHORIZED, None),
            SignIn::LimitReached => (StatusCode::FORBIDDEN, None),
            SignIn::Throttled {
                retry_after_secs, ..
            } => (StatusCode::TOO_MANY_REQUESTS, Some(retry_after_secs)),
            SignIn::Busy { retry_after_secs } => {
                (StatusCode::SERVICE_UNAVAILABLE, Some(retry_after_secs))
            }
        };
        let mut response = status.into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A sign-in or sign-out that could not be recorded: 503, nobody's state changed.
impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        tracing::warn!(error = %self, "a sign-in or sign-out could not be recorded");
        let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    }
}
