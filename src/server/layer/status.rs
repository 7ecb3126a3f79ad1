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
    body::{Body, Bytes},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

/// The longest body [`hear_tabs`] reads: a signal's name, with room for white space.
pub const MAX_TAB_SIGNAL_BYTES: usize = 32;

/// The body of `GET /api/v1/session` and `POST /api/v1/session/extend`. As a response it is
/// this JSON (`application/json`), written without going through a generic serializer: the
/// status read is the path every open page calls.
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

impl SessionBody {
    /// The body as JSON: byte for byte what `serde_json::to_vec` writes for it (the same keys
    /// in the same order, the strings escaped the same way), in one buffer of the right size.
    ///
    /// ```
    /// # use auto_logout::server::layer::status::SessionBody;
    /// let body = SessionBody {
    ///     user: "ada".into(),
    ///     session_id: "ab12".into(),
    ///     seconds_until_idle_end: Some(90),
    ///     seconds_until_session_end: None,
    ///     warn_before: 60,
    ///     milliseconds_until_idle_end: Some(89_500),
    ///     milliseconds_until_session_end: None,
    ///     scheduled_sign_out: false,
    ///     ends_with_last_tab: false,
    /// };
    /// assert_eq!(body.to_json(), serde_json::to_vec(&body).unwrap());
    /// ```
    pub fn to_json(&self) -> Vec<u8> {
        // The keys and punctuation (about 250 bytes), the two strings (escaping may lengthen
        // them; the buffer then grows once), five numbers of at most 20 digits.
        let mut out = Vec::with_capacity(256 + self.user.len() + self.session_id.len() + 100);
        out.extend_from_slice(br#"{"user":"#);
        json_value(&mut out, &self.user);
        out.extend_from_slice(br#","session_id":"#);
        json_value(&mut out, &self.session_id);
        out.extend_from_slice(br#","seconds_until_idle_end":"#);
        json_value(&mut out, &self.seconds_until_idle_end);
        out.extend_from_slice(br#","seconds_until_session_end":"#);
        json_value(&mut out, &self.seconds_until_session_end);
        out.extend_from_slice(br#","warn_before":"#);
        json_value(&mut out, &self.warn_before);
        out.extend_from_slice(br#","milliseconds_until_idle_end":"#);
        json_value(&mut out, &self.milliseconds_until_idle_end);
        out.extend_from_slice(br#","milliseconds_until_session_end":"#);
        json_value(&mut out, &self.milliseconds_until_session_end);
        out.extend_from_slice(br#","scheduled_sign_out":"#);
        json_value(&mut out, &self.scheduled_sign_out);
        out.extend_from_slice(br#","ends_with_last_tab":"#);
        json_value(&mut out, &self.ends_with_last_tab);
        out.push(b'}');
        out
    }
}

/// Appends `value` as serde_json writes it. Strings, numbers, booleans and `null` cannot fail
/// to serialise, and writing to a `Vec` cannot fail.
fn json_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let written = serde_json::to_writer(&mut *out, value);
    debug_assert!(written.is_ok(), "a plain JSON value always serialises");
}

impl IntoResponse for SessionBody {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::from(self.to_json()));
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    }
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
pub async fn session_status(current: CurrentSession) -> SessionBody {
    current.into()
}

/// The same answer, for a route that counts as activity ("stay signed in").
pub async fn extend_session(current: CurrentSession) -> SessionBody {
    current.into()
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
        Ok(_) => SessionBody::from(current).into_response(),
        Err(err) => unavailable(&err),
    }
}

fn unavailable(err: &StoreError) -> Response {
    tracing::error!(error = %err, "recording what a tab said failed");
    super::error::unavailable(1, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn body() -> impl Strategy<Value = SessionBody> {
        (
            (
                any::<String>(),
                "[ -~\\\\\"\\u{0}-\\u{1f}\\u{7f}-\\u{2029}]{0,40}",
            ),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            any::<u64>(),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |((user, session_id), idle, end, warn, idle_ms, end_ms, sched, tab)| SessionBody {
                    user,
                    session_id,
                    seconds_until_idle_end: idle,
                    seconds_until_session_end: end,
                    warn_before: warn,
                    milliseconds_until_idle_end: idle_ms,
                    milliseconds_until_session_end: end_ms,
                    scheduled_sign_out: sched,
                    ends_with_last_tab: tab,
                },
            )
    }

    proptest! {
        #[test]
        fn the_body_is_what_serde_json_writes(body in body()) {
            let written = body.to_json();
            prop_assert_eq!(&written, &serde_json::to_vec(&body).unwrap());
            let read: SessionBody = serde_json::from_slice(&written).unwrap();
            prop_assert_eq!(read, body);
        }
    }

    #[tokio::test]
    async fn the_answer_is_json() {
        let body = SessionBody {
            user: "ada \"the\" admin".into(),
            session_id: "0f".repeat(32),
            seconds_until_idle_end: Some(5),
            seconds_until_session_end: None,
            warn_before: 60,
            milliseconds_until_idle_end: Some(4_321),
            milliseconds_until_session_end: None,
            scheduled_sign_out: true,
            ends_with_last_tab: false,
        };
        let res = body.clone().into_response();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(serde_json::from_slice::<SessionBody>(&bytes).unwrap(), body);
    }
}
