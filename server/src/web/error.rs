//! The server's one error type for handlers, and the one JSON error shape of `/api/v1`
//! (SPEC §7): `{"error": "<code>", "message": "<text>"}`, with `WWW-Authenticate: Bearer` on 401.

use auto_logout::server::StoreError;
use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Storage failed; the person sees a generic 503 and the log has the details.
    #[error("storage is unavailable")]
    Store(#[from] StoreError),
    /// The session layer failed.
    #[error("session error: {0}")]
    Session(String),
}

/// The message of every 503: nothing about the cause, something to do.
pub const UNAVAILABLE: &str =
    "The service is temporarily unavailable. Please try again in a moment.";

/// A JSON error as SPEC §7 describes, with `WWW-Authenticate: Bearer` on 401.
pub fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut res = (
        status,
        Json(serde_json::json!({ "error": code, "message": message })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

/// A 503 with `Retry-After` (seconds) and the generic message.
pub fn unavailable(retry_after_secs: u64) -> Response {
    let mut res = (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CACHE_CONTROL, "no-store")],
        UNAVAILABLE,
    )
        .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    res
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Store(StoreError::Busy { retry_after_secs }) => {
                tracing::warn!("refused a request: password hashing is at its bound");
                unavailable(*retry_after_secs)
            }
            _ => {
                tracing::error!(error = %self, "request failed");
                unavailable(1)
            }
        }
    }
}

/// The error code and message `/api/v1` uses for a bare status.
fn code_for(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("bad_request", "The request is malformed."),
        StatusCode::UNAUTHORIZED => ("unauthenticated", "Sign in to use this endpoint."),
        StatusCode::FORBIDDEN => ("forbidden", "This request is not allowed."),
        StatusCode::NOT_FOUND => ("not_found", "No such endpoint or resource."),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This endpoint does not accept that method.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "Send the body as application/json.",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => (
            "invalid_body",
            "The request body does not have the expected fields.",
        ),
        StatusCode::TOO_MANY_REQUESTS => (
            "too_many_requests",
            "Too many attempts; wait as long as Retry-After says.",
        ),
        StatusCode::SERVICE_UNAVAILABLE => ("unavailable", UNAVAILABLE),
        s if s.is_server_error() => ("internal", "The server failed; try again later."),
        _ => ("error", "The request failed."),
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
    let (code, message) = code_for(status);
    let (mut parts, _) = res.into_parts();
    let json = api_error(status, code, message);
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
    fn every_status_has_a_code() {
        for status in [
            400u16, 401, 403, 404, 405, 413, 415, 422, 429, 500, 503, 418,
        ] {
            let (code, message) = code_for(StatusCode::from_u16(status).unwrap());
            assert!(!code.is_empty() && !message.is_empty());
        }
        assert!(is_api_path("/api/v1/x") && is_api_path("/api/v1"));
        assert!(!is_api_path("/api/v10") && !is_api_path("/api/session_status"));
    }
}
