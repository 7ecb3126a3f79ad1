//! API error answers in the one JSON shape of [`crate::api_error`].

use crate::api_error::{ErrorBody, ErrorCode};
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

/// `{"error": code, "message": message}` with the code's status, and
/// `WWW-Authenticate: Bearer` on 401.
pub fn json_error(code: ErrorCode, message: &str) -> Response {
    json_error_with_status(
        StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST),
        code,
        message,
    )
}

/// Like [`json_error`] with another status than the code's own (a bare status converted).
pub fn json_error_with_status(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    error_response(
        status,
        ErrorBody {
            error: code,
            message: message.to_owned(),
            reason: None,
        },
    )
}

/// 401 `session_ended` with `message` and why the session ended.
pub fn session_ended(message: &str, reason: crate::event::EndReason) -> Response {
    error_response(
        StatusCode::UNAUTHORIZED,
        ErrorBody {
            error: ErrorCode::SessionEnded,
            message: message.to_owned(),
            reason: Some(reason.sign_in_reason()),
        },
    )
}

fn error_response(status: StatusCode, body: ErrorBody) -> Response {
    let mut res = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

/// A 503 with `Retry-After` (seconds): JSON when `json`, else plain text.
pub fn unavailable(retry_after_secs: u64, json: bool) -> Response {
    let mut res = if json {
        json_error(ErrorCode::Unavailable, crate::api_error::UNAVAILABLE)
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            crate::api_error::UNAVAILABLE,
        )
            .into_response()
    };
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    res
}
