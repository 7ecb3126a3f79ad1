//! The status endpoint of SPEC §7: what is left of the caller's session. Mount
//! [`session_status`] at a path the [`super::PassiveRule`] reads passively (`GET`),
//! [`extend_session`] at one it does not, so that calling it is activity, and
//! [`hear_tabs`] at a passive path (`POST`) for `end_with_last_tab`.

use super::{current::CurrentSession, error::json_error};
use crate::{
    api_error::ErrorCode,
    last_tab::TabSignal,
    server::{engine::Engine, StoreError},
};
use axum::{
    body::Bytes,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};

/// The longest body [`hear_tabs`] reads: a signal's name, with room for white space.
pub const MAX_TAB_SIGNAL_BYTES: usize = 32;

/// The body of `GET /api/v1/session` and `POST /api/v1/session/extend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionBody {
    /// Username.
    pub user: String,
    /// The public session id (the SHA-256 of the secret id).
    pub session_id: String,
    /// Seconds until the idle limit (null: disabled).
    pub seconds_until_idle_end: Option<u64>,
    /// Seconds until the absolute limit (null: disabled).
    pub seconds_until_session_end: Option<u64>,
    /// Seconds before the first limit at which to warn.
    pub warn_before: u64,
    /// Milliseconds until the idle limit (null: disabled), for countdowns that redirect on
    /// the exact moment rather than up to a second late.
    pub milliseconds_until_idle_end: Option<u64>,
    /// Milliseconds until the absolute limit (null: disabled).
    pub milliseconds_until_session_end: Option<u64>,
    /// Whether the session's end is a scheduled cut-off (`sign_out_at`) that comes before
    /// the absolute limit: `seconds_until_session_end` counts to it, and the session ends
    /// with the reason `scheduled_sign_out`.
    pub scheduled_sign_out: bool,
    /// Whether the session ends when no tab of the site is open (`end_with_last_tab`): a page
    /// that shows it says `visible` every few seconds, `hidden` when hidden and `closed` as
    /// the last tab goes, to `POST {status path}/tabs`.
    pub ends_with_last_tab: bool,
}

impl From<CurrentSession> for SessionBody {
    fn from(CurrentSession(a): CurrentSession) -> Self {
        let left = |end: Option<crate::clock::UnixMillis>| {
            end.map(|end| u64::try_from(a.checked_at.millis_until(end)).unwrap_or(0))
        };
        SessionBody {
            milliseconds_until_idle_end: left(a.deadlines.idle_end),
            milliseconds_until_session_end: left(a.deadlines.session_end),
            user: a.username,
            session_id: a.id_hash,
            seconds_until_idle_end: a.status.seconds_until_idle_end,
            seconds_until_session_end: a.status.seconds_until_session_end,
            warn_before: a.status.warn_before,
            scheduled_sign_out: a.deadlines.scheduled,
            ends_with_last_tab: a.ends_with_last_tab,
        }
    }
}

/// What is left of the caller's session; 401 JSON without one. Never activity by itself:
/// whether the request counted is the layer's decision.
pub async fn session_status(current: CurrentSession) -> Json<SessionBody> {
    Json(current.into())
}

/// The same answer, for a route that counts as activity ("stay signed in").
pub async fn extend_session(current: CurrentSession) -> Json<SessionBody> {
    Json(current.into())
}

/// What a tab of the site says about itself: the body is `visible`, `hidden` or `closed`
/// (`text/plain`, as `navigator.sendBeacon` sends it), for `end_with_last_tab` (see
/// [`crate::last_tab`]). Answers the session's status like [`session_status`]; 422
/// `invalid_body` for anything else. Mount it at a passive path: a tab's word is not the
/// person's activity. [`Engine::status_router`] mounts it.
pub async fn hear_tabs(engine: &Engine, current: CurrentSession, body: Bytes) -> Response {
    let signal = (body.len() <= MAX_TAB_SIGNAL_BYTES)
        .then(|| std::str::from_utf8(&body).ok())
        .flatten()
        .and_then(|text| text.parse::<TabSignal>().ok());
    let Some(signal) = signal else {
        return json_error(
            ErrorCode::InvalidBody,
            "the body must be one of visible, hidden or closed",
        );
    };
    match engine.hear_tabs(&current.0, signal).await {
        Ok(_) => Json(SessionBody::from(current)).into_response(),
        Err(err) => unavailable(&err),
    }
}

fn unavailable(err: &StoreError) -> Response {
    tracing::error!(error = %err, "recording what a tab said failed");
    super::error::unavailable(1, false)
}
