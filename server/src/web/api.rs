//! The JSON API of SPEC §7 that this part of the product serves: the session status.

use super::error::api_error;
use auto_logout::server::ActiveSession;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Extension, Json,
};
use serde::Serialize;

/// The body of `GET /api/v1/session` and `POST /api/v1/session/extend`.
#[derive(Debug, Serialize)]
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
}

fn body(active: Option<Extension<ActiveSession>>) -> Response {
    match active {
        Some(Extension(a)) => Json(SessionBody {
            user: a.username,
            session_id: a.id_hash,
            seconds_until_idle_end: a.status.seconds_until_idle_end,
            seconds_until_session_end: a.status.seconds_until_session_end,
            warn_before: a.status.warn_before,
        })
        .into_response(),
        None => api_error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Sign in to use this endpoint.",
        ),
    }
}

/// `GET /api/v1/session`: what is left of the caller's session. Passive: never activity.
pub async fn session_status(active: Option<Extension<ActiveSession>>) -> Response {
    body(active)
}

/// `POST /api/v1/session/extend`: counts as activity (the session layer recorded it) and
/// answers with the new status; 401 when the session is gone.
pub async fn extend_session(active: Option<Extension<ActiveSession>>) -> Response {
    body(active)
}
