//! The session layer: the tower layer any axum + axum-login application mounts (outside
//! axum-login's own layer) so that every request's session obeys the rules before a handler
//! runs.
//!
//! Per request it
//! 1. reads the client's IP and user agent into a [`ClientInfo`](super::ClientInfo) extension;
//! 2. reads the session cookie exactly as tower-sessions will;
//! 3. asks the [`SessionGate`] about the session: limits, user-agent binding, activity
//!    (decided by the [`PassiveRule`]);
//! 4. a live session goes on with an [`ActiveSession`](super::ActiveSession) extension (read it with
//!    [`CurrentSession`]); an ended one makes the request anonymous (cookie stripped before
//!    axum-login sees it, [`SessionEnded`] extension, removal cookie on the answer), except
//!    that the JSON API and active RPC calls answer 401 `session_ended` at once.
//!
//! A request with `Authorization: Bearer …` (or `Token …`) is an API client's: its token or
//! JWT names an `api` session, checked by the same gate; anything but a live `api` session
//! answers 401 at once (`invalid_token` or `session_ended`), never an anonymous pass. The bearer
//! wins over a cookie sent alongside (which is then stripped).
//!
//! A storage failure fails closed: 503 with `Retry-After`, never an anonymous pass.
//!
//! ```no_run
//! # async fn demo(gate: auto_logout::server::SessionGate, app: axum::Router) {
//! use auto_logout::server::layer::{PassiveRule, SessionLayer};
//! let app = app.layer(
//!     SessionLayer::new(gate)
//!         .passive(PassiveRule::new().read("/api/session"))
//!         .json_api("/api/"),
//! );
//! # }
//! ```

pub mod client;
pub mod cookie;
pub mod csrf;
pub mod current;
pub mod device_forms;
pub mod element;
pub mod error;
pub mod passive;
pub mod reauth_form;
pub mod status;

pub use current::CurrentSession;
pub use passive::{PassiveRule, PASSIVE_HEADER};

use super::{
    gate::{Activity, SessionEnded, SessionGate, Verdict},
    secret::hash_secret,
    storage::store::id_hash,
    tokens::{credential_of, Credential, JwtError, JwtKeys},
};
use crate::{api_error::ErrorCode, cookies::CookiePolicy, SessionKind};
use axum::{
    extract::{ConnectInfo, Request},
    http::{header, HeaderValue},
    response::Response,
};
use cookie::{sets_session_cookie, strip_session_cookie, SessionCookie};
use ipnet::IpNet;
use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

/// What an ended session's API call is told unless [`SessionLayer::ended_message`] says
/// otherwise.
pub const DEFAULT_ENDED_MESSAGE: &str = "Your session has ended. Please sign in again.";

#[derive(Debug, Clone)]
struct Settings {
    gate: SessionGate,
    cookies: CookiePolicy,
    passive: PassiveRule,
    trusted_proxies: Vec<IpNet>,
    json_prefixes: Vec<String>,
    action_prefixes: Vec<String>,
    ended_message: String,
    jwt: Option<JwtKeys>,
    open_paths: Vec<String>,
    refuse_cross_site: bool,
}

impl Settings {
    fn is_json(&self, path: &str) -> bool {
        self.json_prefixes
            .iter()
            .any(|p| path.starts_with(p.as_str()))
    }

    fn is_action(&self, path: &str) -> bool {
        self.action_prefixes
            .iter()
            .any(|p| path.starts_with(p.as_str()))
    }
}

/// The tower layer enforcing the session rules; see the module documentation. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SessionLayer {
    settings: Arc<Settings>,
}

impl SessionLayer {
    /// A layer checking sessions with `gate`; the cookie is `auto_logout_session` (not
    /// Secure), only [`PASSIVE_HEADER`] marks passive requests, no proxy is trusted and no
    /// path is the JSON API.
    pub fn new(gate: SessionGate) -> Self {
        Self {
            settings: Arc::new(Settings {
                gate,
                cookies: CookiePolicy::default(),
                passive: PassiveRule::new(),
                trusted_proxies: Vec::new(),
                json_prefixes: Vec::new(),
                action_prefixes: Vec::new(),
                ended_message: DEFAULT_ENDED_MESSAGE.to_owned(),
                jwt: None,
                open_paths: Vec::new(),
                refuse_cross_site: false,
            }),
        }
    }

    /// The layer with `change` made (to a copy of the settings when they are shared: a
    /// layer already handed out keeps its own).
    fn with(mut self, change: impl FnOnce(&mut Settings)) -> Self {
        change(Arc::make_mut(&mut self.settings));
        self
    }

    /// The session cookie's name and attributes (must match the session manager's).
    #[must_use]
    pub fn cookies(self, cookies: CookiePolicy) -> Self {
        self.with(|s| s.cookies = cookies)
    }

    /// Which requests are passive.
    #[must_use]
    pub fn passive(self, rule: PassiveRule) -> Self {
        self.with(|s| s.passive = rule)
    }

    /// Adds `GET`/`HEAD` of exactly `path` to the passive requests (see [`PassiveRule::read`]),
    /// keeping the rule's others.
    #[must_use]
    pub fn passive_read(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.with(|s| s.passive = std::mem::take(&mut s.passive).read(path))
    }

    /// Adds every request to exactly `path` to the passive requests (see
    /// [`PassiveRule::path`]), keeping the rule's others.
    #[must_use]
    pub fn passive_path(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.with(|s| s.passive = std::mem::take(&mut s.passive).path(path))
    }

    /// Adds every path under `prefix` to the passive requests (see [`PassiveRule::prefix`]),
    /// keeping the rule's others.
    #[must_use]
    pub fn passive_prefix(self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.with(|s| s.passive = std::mem::take(&mut s.passive).prefix(prefix))
    }

    /// Refuses with 403 every state change that [`csrf::csrf_verdict`] refuses (sent by
    /// another site, or carrying the session cookie without saying where it came from),
    /// before anything else happens. [`crate::server::Engine::layers`] turns it on, so that
    /// an application's own forms are safe from cross-site requests (login CSRF included).
    #[must_use]
    pub fn refuse_cross_site(self) -> Self {
        self.with(|s| s.refuse_cross_site = true)
    }

    /// Proxies whose `X-Forwarded-For` is believed for the client IP.
    #[must_use]
    pub fn trusted_proxies(self, nets: Vec<IpNet>) -> Self {
        self.with(|s| s.trusted_proxies = nets)
    }

    /// Paths under `prefix` are a JSON API: a request there with an ended session answers
    /// 401 `session_ended` at once, and failures answer JSON.
    #[must_use]
    pub fn json_api(self, prefix: impl Into<String>) -> Self {
        self.with(|s| s.json_prefixes.push(prefix.into()))
    }

    /// Paths under `prefix` are calls that act for the person (RPC such as server functions):
    /// an active one with an ended session answers 401 `session_ended`; a passive one goes on
    /// anonymous, so that it can report why the session ended.
    #[must_use]
    pub fn actions(self, prefix: impl Into<String>) -> Self {
        self.with(|s| s.action_prefixes.push(prefix.into()))
    }

    /// Accept JWT access tokens signed with `keys` (opaque bearer tokens are always accepted).
    #[must_use]
    pub fn jwt(self, keys: JwtKeys) -> Self {
        self.with(|s| s.jwt = Some(keys))
    }

    /// `path` needs no credential and ignores `Authorization` (sign-in, refresh, the API
    /// description): a stale token sent along must not stop a client from signing in again.
    #[must_use]
    pub fn open_path(self, path: impl Into<String>) -> Self {
        self.with(|s| s.open_paths.push(path.into()))
    }

    /// The message of the 401 `session_ended` answer.
    #[must_use]
    pub fn ended_message(self, message: impl Into<String>) -> Self {
        self.with(|s| s.ended_message = message.into())
    }
}

impl<S> tower::Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            settings: self.settings.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around an application.
#[derive(Debug, Clone)]
pub struct SessionService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> tower::Service<Request> for SessionService<S>
where
    S: tower::Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    /// A request without a credential goes on at once (nothing boxed, nothing cloned); one
    /// with a session cookie or a bearer credential is checked first.
    type Future = futures_util::future::Either<
        S::Future,
        Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        use futures_util::future::Either;
        if self.settings.refuse_cross_site
            && csrf::csrf_verdict(req.method(), req.headers(), self.settings.cookies).is_refused()
        {
            let refusal = cross_site_refusal(self.settings.is_json(req.uri().path()));
            return Either::Right(Box::pin(async move { Ok(refusal) }));
        }
        let Some((presented, client)) = presented(&self.settings, &mut req) else {
            return Either::Left(self.inner.call(req));
        };
        // The clone that was polled ready serves this request; a fresh clone stays behind.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let settings = self.settings.clone();
        Either::Right(Box::pin(async move {
            match presented {
                Presented::Bearer(credential) => {
                    enforce_bearer(&settings, inner, req, credential, client).await
                }
                Presented::Cookie(id) => enforce_cookie(&settings, inner, req, id, client).await,
            }
        }))
    }
}

/// The message of a refused cross-site request.
const CROSS_SITE: &str = "Cross-site request refused. Reload the page and try again.";

/// 403 for a state change another site sent: JSON on the JSON API, plain text elsewhere.
fn cross_site_refusal(json: bool) -> Response {
    if json {
        error::json_error(ErrorCode::Forbidden, CROSS_SITE)
    } else {
        axum::response::IntoResponse::into_response((axum::http::StatusCode::FORBIDDEN, CROSS_SITE))
    }
}

/// What a request presents to be checked.
enum Presented {
    /// A bearer token or JWT (an API session).
    Bearer(Credential),
    /// A well-formed session cookie (a browser session).
    Cookie(tower_sessions::session::Id),
}

/// Says what `req` presents, with its client: a bearer credential (outside the open paths) or
/// a session cookie. `None`: nothing, and it goes on anonymous, the client recorded on it (a
/// malformed session cookie is removed first so that nothing downstream reads it). A request
/// that presents something gets its client once it is checked.
fn presented(
    settings: &Settings,
    req: &mut Request,
) -> Option<(Presented, super::sessions::ClientInfo)> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = client::client_info(peer, req.headers(), &settings.trusted_proxies);
    let name = settings.cookies.session_name();
    let open = settings
        .open_paths
        .iter()
        .any(|p| p.as_str() == req.uri().path());
    let presented = match credential_of(req.headers()).filter(|_| !open) {
        Some(credential) => Some(Presented::Bearer(credential)),
        None => match cookie::session_cookie_of(req.headers(), name) {
            SessionCookie::Absent => None,
            SessionCookie::Malformed => {
                strip_session_cookie(req.headers_mut(), name);
                None
            }
            SessionCookie::Id(id) => Some(Presented::Cookie(id)),
        },
    };
    match presented {
        Some(presented) => Some((presented, client)),
        None => {
            req.extensions_mut().insert(client);
            None
        }
    }
}

/// Checks the browser session `id` of the cookie: a live one goes on with its
/// [`ActiveSession`](super::ActiveSession); an ended or unknown one goes on anonymous (its
/// cookie removed) or, for JSON and actions, is refused.
async fn enforce_cookie<S>(
    settings: &Settings,
    mut inner: S,
    mut req: Request,
    id: tower_sessions::session::Id,
    client: super::sessions::ClientInfo,
) -> Result<Response, S::Error>
where
    S: tower::Service<Request, Response = Response>,
{
    let name = settings.cookies.session_name();
    let path = req.uri().path();
    let activity = settings.passive.activity(req.method(), path, req.headers());
    let json = settings.is_json(path);
    let action = settings.is_action(path);
    let verdict = match settings.gate.check(&id_hash(&id), activity, &client).await {
        Ok(verdict) => verdict,
        Err(err) => {
            tracing::error!(error = %err, "session check failed; refusing the request");
            return Ok(error::unavailable(1, json));
        }
    };
    req.extensions_mut().insert(client);
    let ended = match verdict {
        // A cookie carries only browser sessions; an API session's secret is not a cookie.
        Verdict::Active(active) if active.kind == SessionKind::Browser => {
            req.extensions_mut().insert(active);
            return inner.call(req).await;
        }
        Verdict::Active(_) | Verdict::Unknown => None,
        Verdict::Ended(reason) => Some(reason),
    };
    let refuse = json || (action && activity == Activity::Active);
    let mut res = if let Some(reason) = ended.filter(|_| refuse) {
        error::session_ended(&settings.ended_message, reason)
    } else {
        strip_session_cookie(req.headers_mut(), name);
        if let Some(reason) = ended {
            req.extensions_mut().insert(SessionEnded(reason));
        }
        inner.call(req).await?
    };
    // Remove the dead cookie, unless this very response sets a new session (a sign-in over a
    // stale cookie): deleting after setting would sign the person out again.
    if !sets_session_cookie(res.headers(), name) {
        if let Ok(value) = HeaderValue::from_str(&settings.cookies.session_removal()) {
            res.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(res)
}

/// The message of a 401 `invalid_token`.
const INVALID_TOKEN: &str = "The token is not valid; sign in again for a new one.";

/// Authenticates an API client by its bearer token or JWT: a live `api` session goes on with
/// its [`ActiveSession`](super::ActiveSession); anything else answers 401 JSON.
async fn enforce_bearer<S>(
    settings: &Settings,
    mut inner: S,
    mut req: Request,
    credential: Credential,
    client: super::sessions::ClientInfo,
) -> Result<Response, S::Error>
where
    S: tower::Service<Request, Response = Response>,
{
    let invalid = || Ok(error::json_error(ErrorCode::InvalidToken, INVALID_TOKEN));
    let now = settings.gate.clock().now();
    let (id_hash, subject) = match credential {
        Credential::Malformed => return invalid(),
        Credential::Token(token) => (hash_secret(&token), None),
        Credential::Jwt(token) => {
            let Some(keys) = &settings.jwt else {
                return invalid();
            };
            match keys.verify(&token, now).await {
                Ok(claims) => (claims.sid, Some(claims.sub)),
                Err(JwtError::Unavailable) => return Ok(error::unavailable(1, true)),
                Err(JwtError::Expired) => {
                    return Ok(error::json_error(
                        ErrorCode::InvalidToken,
                        "The access token has expired; refresh it.",
                    ))
                }
                Err(_) => return invalid(),
            }
        }
    };
    let activity = settings
        .passive
        .activity(req.method(), req.uri().path(), req.headers());
    let verdict = match settings.gate.check(&id_hash, activity, &client).await {
        Ok(verdict) => verdict,
        Err(err) => {
            tracing::error!(error = %err, "session check failed; refusing the request");
            return Ok(error::unavailable(1, true));
        }
    };
    match verdict {
        Verdict::Active(active)
            if active.kind == SessionKind::Api
                && subject
                    .as_ref()
                    .is_none_or(|sub| *sub == active.user_id.to_string()) =>
        {
            // The bearer speaks for this request; a cookie sent too is not read.
            strip_session_cookie(req.headers_mut(), settings.cookies.session_name());
            req.extensions_mut().insert(client);
            req.extensions_mut().insert(active);
            inner.call(req).await
        }
        Verdict::Ended(reason) => Ok(error::session_ended(&settings.ended_message, reason)),
        Verdict::Active(_) | Verdict::Unknown => invalid(),
    }
}
