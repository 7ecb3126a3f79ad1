//! The JSON error shape of the API (SPEC §7): `{"error": "<code>", "message": "<text>"}`.
//! The codes are a closed set, defined here once for the server, its layers and its clients.

use serde::{Deserialize, Serialize};

/// What went wrong, as a stable machine-readable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed.
    BadRequest,
    /// No session or credentials came with the request.
    Unauthenticated,
    /// The session came with the request but has ended (limit, revocation, sign-out).
    SessionEnded,
    /// The bearer token or JWT is not one of ours, or has expired.
    InvalidToken,
    /// Wrong username or password (never says which).
    InvalidCredentials,
    /// `max_sessions_per_user` with `deny_new` refused a new session.
    SessionLimit,
    /// The request is not allowed (cross-site, not an administrator).
    Forbidden,
    /// A sensitive action, and the caller last proved their password before the
    /// re-authentication window: `POST /api/v1/auth/reauth` with it, then try again.
    ReauthRequired,
    /// The request named a host this server does not serve.
    UnknownHost,
    /// No such endpoint, or no such resource of the caller's.
    NotFound,
    /// The endpoint does not accept that method.
    MethodNotAllowed,
    /// The body is larger than the endpoint accepts.
    PayloadTooLarge,
    /// The body is not JSON.
    UnsupportedMediaType,
    /// The body does not have the expected fields.
    InvalidBody,
    /// Too many attempts; the answer's `Retry-After` says how long to wait.
    TooManyRequests,
    /// An account with that name exists already.
    UserExists,
    /// A revocation named no session.
    NoSessionsNamed,
    /// A revocation's `scope` is not `others`, or was combined with ids.
    BadScope,
    /// Temporarily unavailable (storage, or every password-hashing slot busy).
    Unavailable,
    /// The server failed.
    Internal,
}

impl ErrorCode {
    /// The code as it appears in the JSON body.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::SessionEnded => "session_ended",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::SessionLimit => "session_limit",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::ReauthRequired => "reauth_required",
            ErrorCode::UnknownHost => "unknown_host",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::UserExists => "user_exists",
            ErrorCode::NoSessionsNamed => "no_sessions_named",
            ErrorCode::BadScope => "bad_scope",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status that goes with the code.
    pub const fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::UnknownHost
            | ErrorCode::NoSessionsNamed
            | ErrorCode::BadScope => 400,
            ErrorCode::Unauthenticated
            | ErrorCode::SessionEnded
            | ErrorCode::InvalidToken
            | ErrorCode::InvalidCredentials => 401,
            ErrorCode::Forbidden | ErrorCode::SessionLimit | ErrorCode::ReauthRequired => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::InvalidBody => 422,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::UserExists => 409,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// The code and a message a person can act on for a bare status (an answer that came
    /// without its own code).
    pub const fn for_status(status: u16) -> (ErrorCode, &'static str) {
        match status {
            400 => (ErrorCode::BadRequest, "The request is malformed."),
            401 => (ErrorCode::Unauthenticated, UNAUTHENTICATED),
            403 => (ErrorCode::Forbidden, "This request is not allowed."),
            404 => (ErrorCode::NotFound, "No such endpoint or resource."),
            405 => (
                ErrorCode::MethodNotAllowed,
                "This endpoint does not accept that method.",
            ),
            413 => (ErrorCode::PayloadTooLarge, "The request body is too large."),
            415 => (
                ErrorCode::UnsupportedMediaType,
                "Send the body as application/json.",
            ),
            422 => (
                ErrorCode::InvalidBody,
                "The request body does not have the expected fields.",
            ),
            429 => (
                ErrorCode::TooManyRequests,
                "Too many attempts; wait as long as Retry-After says.",
            ),
            503 => (ErrorCode::Unavailable, UNAVAILABLE),
            500..=599 => (ErrorCode::Internal, "The server failed; try again later."),
            _ => (ErrorCode::BadRequest, "The request failed."),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The message of every 503: nothing about the cause, something to do.
pub const UNAVAILABLE: &str =
    "The service is temporarily unavailable. Please try again in a moment.";

/// The message of a 401 without a session.
pub const UNAUTHENTICATED: &str = "Sign in to use this endpoint.";

/// The body of every API error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The code.
    pub error: ErrorCode,
    /// What happened and what to do, for a person.
    pub message: String,
    /// With `session_ended`: why it ended (`idle`, `expired`, `revoked`, `suspended`,
    /// `logout`), so that a page can send the person to sign-in with that reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<crate::SignInReason>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_names_are_the_serde_names() {
        for status in [
            400u16, 401, 403, 404, 405, 413, 415, 422, 429, 500, 503, 418,
        ] {
            let (code, message) = ErrorCode::for_status(status);
            assert!(!message.is_empty());
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
        assert_eq!(ErrorCode::for_status(503).0.status(), 503);
        assert_eq!(ErrorCode::SessionEnded.status(), 401);
    }
}
