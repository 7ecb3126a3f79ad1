//! The server's one error type for handlers: logs server faults, shows people something useful.

use auto_logout::server::StoreError;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
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

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "request failed");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [("cache-control", "no-store")],
            "The service is temporarily unavailable. Please try again in a moment.",
        )
            .into_response()
    }
}
