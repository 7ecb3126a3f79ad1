//! Error answers in the shape each kind of path wants. Handlers and server functions fail with
//! the one [`AppError`] (the JSON error of SPEC §7, codes in `auto_logout::api_error`); the
//! request rules (`web::request_rules`) makes the rest agree: every error under `/api/v1` is that JSON, a server
//! function's error gets the status of its code, and a page or form path shows an HTML page.

use super::routes::{route_of, Shape};
pub use app::error::AppError;
use auto_logout::{
    api_error::{ErrorBody, ErrorCode},
    server::layer::error as engine_error,
};
use axum::{
    body::Body,
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};

/// The most of an error body read back to reshape it.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Whether `path` is under the JSON API (see [`super::routes`]).
pub fn is_api_path(path: &str) -> bool {
    route_of(path).shape == Shape::Json
}

/// Which error shape a path wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// Under `/api/v1`: the JSON error of SPEC §7.
    Api,
    /// A server function (under `/api/`, not `/api/v1`): JSON with the status of its code.
    ServerFn,
    /// A page or form path: an HTML page.
    Page,
}

impl PathKind {
    /// The kind of `path`, as the route table says.
    pub fn of(path: &str) -> Self {
        match route_of(path).shape {
            Shape::Json => Self::Api,
            Shape::ServerFn => Self::ServerFn,
            Shape::Page => Self::Page,
        }
    }
}

/// Whether [`shaped`] would change `res`: an error whose shape differs from its path's (a
/// server function's: a 500 carrying our error). Every success answer is left as it is, so
/// callers can skip the (asynchronous) reshaping for them.
pub fn needs_shaping(kind: PathKind, res: &Response) -> bool {
    let status = res.status();
    if kind == PathKind::ServerFn {
        return status == StatusCode::INTERNAL_SERVER_ERROR
            && res.headers().contains_key("serverfnerror");
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    (status.is_client_error() || status.is_server_error()) && (kind == PathKind::Api) != is_json
}

/// Makes an error answer agree with its path's shape: under `/api/v1` every error that is not
/// already JSON (a refused cross-site request, a 503, an unknown path, a wrong method, a
/// malformed body) becomes the JSON error; a page or form path's JSON error becomes a short
/// HTML page with the same message; a server function's error gets the status of its code
/// (see `server_fn_status`). Status and headers such as `Retry-After` are kept. A success
/// answer is returned untouched.
pub async fn shaped(kind: PathKind, res: Response) -> Response {
    if !needs_shaping(kind, &res) {
        return res;
    }
    if kind == PathKind::ServerFn {
        return server_fn_status(res).await;
    }
    let api = kind == PathKind::Api;
    let status = res.status();
    let (mut parts, body) = res.into_parts();
    let reshaped = if api {
        let (code, message) = ErrorCode::for_status(status.as_u16());
        engine_error::json_error_with_status(status, code, message)
    } else {
        let bytes = axum::body::to_bytes(body, ERROR_BODY_LIMIT)
            .await
            .unwrap_or_default();
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|b| b.message)
            .unwrap_or_else(|_| ErrorCode::for_status(status.as_u16()).1.to_owned());
        error_page(status, &message)
    };
    let (new_parts, body) = reshaped.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in new_parts.headers.iter() {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

/// A short HTML page saying `message`.
fn error_page(status: StatusCode, message: &str) -> Response {
    let escaped = super::escape_html(message);
    let title = status.canonical_reason().unwrap_or("Error");
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title} - auto-logout</title>\
         <link rel=\"stylesheet\" href=\"/pkg/auto-logout.css\"></head>\
         <body><main><section class=\"card narrow\"><h1>{title}</h1>\
         <p role=\"alert\">{escaped}</p><p><a href=\"/\">Back to the start page</a></p>\
         </section></main></body></html>"
    ))
    .into_response()
}

/// Server functions answer every error with 500; this gives each the status of its
/// [`ErrorCode`] (400 for arguments that do not decode, 401, 503 with `Retry-After`…). A
/// 500 whose body is not our error stays, so that a real server fault is visible.
/// Only called for the answers [`needs_shaping`] picks.
async fn server_fn_status(res: Response) -> Response {
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, ERROR_BODY_LIMIT)
        .await
        .unwrap_or_default();
    if let Ok(error) = serde_json::from_slice::<ErrorBody>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.error.status()).unwrap_or(StatusCode::BAD_REQUEST);
        if error.error == ErrorCode::Unavailable {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(1u32));
        }
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
        assert_eq!(PathKind::of("/api/v1/session"), PathKind::Api);
        assert_eq!(PathKind::of("/api/countdown_state"), PathKind::ServerFn);
        assert_eq!(PathKind::of("/home"), PathKind::Page);
        assert_eq!(PathKind::of("/apis"), PathKind::Page);
    }
}
