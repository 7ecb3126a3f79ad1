//! The server's one error type for handlers, and the one JSON error shape of `/api/v1`
//! (SPEC §7, codes in `auto_logout::api_error`): `{"error": "<code>", "message": "<text>"}`,
//! with `WWW-Authenticate: Bearer` on 401.

use auto_logout::{
    api_error::ErrorCode,
    server::{layer::error as engine_error, SessionError, StoreError},
};
use axum::{
    body::Body,
    extract::Request,
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// What a handler can fail with. Internals are logged, never shown: storage and session
/// failures answer a generic 503 with `Retry-After`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Storage failed.
    #[error("storage is unavailable: {0}")]
    Store(#[from] StoreError),
    /// Starting or ending a session failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A refusal the caller can act on, answered as the API's JSON error.
    #[error("{message}")]
    Refused {
        /// The code (and so the status).
        code: ErrorCode,
        /// What to do.
        message: &'static str,
    },
}

impl AppError {
    /// A refusal with `code` and `message`.
    pub const fn refused(code: ErrorCode, message: &'static str) -> Self {
        AppError::Refused { code, message }
    }
}

/// A JSON error as SPEC §7 describes, with `WWW-Authenticate: Bearer` on 401.
pub fn api_error(code: ErrorCode, message: &str) -> Response {
    engine_error::json_error(code, message)
}

/// A 503 with `Retry-After` (seconds) and the generic message (JSON under `/api/v1`, by
/// [`api_json_errors`]).
pub fn unavailable(retry_after_secs: u64) -> Response {
    engine_error::unavailable(retry_after_secs, false)
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Store(StoreError::Busy { retry_after_secs }) => {
                tracing::warn!("refused a request: password hashing is at its bound");
                unavailable(retry_after_secs)
            }
            AppError::Refused { code, message } => api_error(code, message),
            other => {
                tracing::error!(error = %other, "request failed");
                unavailable(1)
            }
        }
    }
}

/// Whether `path` is under the JSON API.
pub fn is_api_path(path: &str) -> bool {
    path == "/api/v1" || path.starts_with("/api/v1/")
}

/// Turns every error answer under `/api/v1` that is not already JSON (a refused cross-site
/// request, a 503, an unknown path, a wrong method, a malformed body) into the JSON error
/// shape, keeping the status and headers such as `Retry-After`.
pub async fn api_json_errors(req: Request, next: Next) -> Response {
    if !is_api_path(req.uri().path()) {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (code, message) = ErrorCode::for_status(status.as_u16());
    let (mut parts, _) = res.into_parts();
    let json = engine_error::json_error_with_status(status, code, message);
    let (json_parts, body) = json.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in json_parts.headers.iter() {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, Body::new(body))
}

/// Kinds of server-function error that mean the request was malformed (its arguments did not
/// decode), not that the server failed.
const CLIENT_FAULTS: &[&str] = &["Args|", "Deserialization|", "MissingArg|"];

/// Server functions answer every error with 500 unless they set a status; a request whose
/// arguments do not even decode is the client's fault: 400 instead. Any other 500 stays, so
/// that a real server fault is visible.
pub async fn server_fn_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !path.starts_with("/api/") || is_api_path(path) {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key("serverfnerror")
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    if CLIENT_FAULTS
        .iter()
        .any(|kind| bytes.starts_with(kind.as_bytes()))
    {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths() {
        assert!(is_api_path("/api/v1/x") && is_api_path("/api/v1"));
        assert!(!is_api_path("/api/v10") && !is_api_path("/api/session_status"));
    }
}
