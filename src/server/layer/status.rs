//! The status endpoint of SPEC §7: what is left of the caller's session. Mount
//! [`session_status`] at a path the [`super::PassiveRule`] reads passively (`GET`), and
//! [`extend_session`] at one it does not, so that calling it is activity.

use super::current::CurrentSession;
use axum::Json;
use serde::{Deserialize, Serialize};

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
