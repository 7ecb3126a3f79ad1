//! The [`CurrentSession`] extractor: the live session the layer admitted for this request.

use super::{super::gate::ActiveSession, error::json_error};
use crate::api_error::{ErrorCode, UNAUTHENTICATED};
use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    http::request::Parts,
    response::Response,
};
use std::convert::Infallible;

/// The request's live session, as checked by the session layer (limits applied, activity
/// recorded). Extracting it from a request without one answers 401 with the JSON error
/// `unauthenticated`; use `Option<CurrentSession>` to handle that case yourself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentSession(pub ActiveSession);

impl<S: Send + Sync> FromRequestParts<S> for CurrentSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        parts
            .extensions
            .get::<ActiveSession>()
            .cloned()
            .map(CurrentSession)
            .ok_or_else(|| json_error(ErrorCode::Unauthenticated, UNAUTHENTICATED))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentSession {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts
            .extensions
            .get::<ActiveSession>()
            .cloned()
            .map(CurrentSession))
    }
}
