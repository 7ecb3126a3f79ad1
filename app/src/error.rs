//! The one error of the server's handlers and of the server functions: a code from the engine's
//! closed set ([`ErrorCode`]) and a message a person can act on, sent as the JSON error shape of
//! SPEC §7 (`{"error": "<code>", "message": "<text>"}`). Internals are logged where they happen
//! and never sent.

use auto_logout::api_error::{ErrorBody, ErrorCode, UNAUTHENTICATED, UNAVAILABLE};
use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// A refused or failed request, as its caller is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    /// The wire body.
    #[serde(flatten)]
    pub body: ErrorBody,
    /// How long to wait before trying again (`Retry-After`), when that helps.
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.body.message)
    }
}

impl std::error::Error for AppError {}

impl AppError {
    /// An error with `code` (which sets the status) and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            body: ErrorBody {
                error: code,
                message: message.into(),
                reason: None,
            },
            retry_after_secs: None,
        }
    }

    /// No session came with the request.
    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, UNAUTHENTICATED)
    }

    /// Temporarily unavailable; try again after `retry_after_secs`.
    pub fn unavailable(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(ErrorCode::Unavailable, UNAVAILABLE)
        }
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.body.error
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => {
                Self::new(ErrorCode::BadRequest, "The request is malformed.")
            }
            // The browser could not reach the server, or read its answer.
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => Self::unavailable(1),
            other => {
                leptos::logging::error!("server function failed: {other}");
                Self::new(ErrorCode::Internal, "The server failed; try again later.")
            }
        }
    }
}

#[cfg(feature = "ssr")]
mod server {
    use super::AppError;
    use auto_logout::server::{SessionError, StoreError};
    use axum::{
        http::{header, HeaderValue, StatusCode},
        response::{IntoResponse, Response},
        Json,
    };

    impl From<StoreError> for AppError {
        fn from(err: StoreError) -> Self {
            match err {
                StoreError::Busy { retry_after_secs } => {
                    tracing::warn!("refused a request: password hashing is at its bound");
                    AppError::unavailable(retry_after_secs)
                }
                other => {
                    tracing::error!(error = %other, "storage failed");
                    AppError::unavailable(1)
                }
            }
        }
    }

    impl From<SessionError> for AppError {
        fn from(err: SessionError) -> Self {
            match err {
                SessionError::Store(store) => store.into(),
                other => {
                    tracing::error!(error = %other, "the session could not be saved");
                    AppError::unavailable(1)
                }
            }
        }
    }

    /// The JSON error with the code's status, `Retry-After` when set, and
    /// `WWW-Authenticate: Bearer` on 401. (Outside the API, the server turns it into a page.)
    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status =
                StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::BAD_REQUEST);
            let retry = self.retry_after_secs;
            let mut res = (status, Json(self.body)).into_response();
            if let Some(secs) = retry {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            if status == StatusCode::UNAUTHORIZED {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_shape_is_the_api_error_shape() {
        let err = AppError::unavailable(3);
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": "unavailable", "message": UNAVAILABLE})
        );
        let back: AppError = serde_json::from_value(json).unwrap();
        assert_eq!(back.code(), ErrorCode::Unavailable);
        assert_eq!(
            AppError::from_server_fn_error(ServerFnErrorErr::Args("x".into())).code(),
            ErrorCode::BadRequest
        );
    }
}
