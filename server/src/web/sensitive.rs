//! Sensitive actions of the JSON API (SPEC §6, §7): signing out another of one's sessions and
//! every administrator action need the password proved within `reauth_window`; outside it they
//! answer 403 `reauth_required`, and `POST /api/v1/auth/reauth` renews the proof. The rule is
//! the engine's ([`auto_logout::server::reauth`]); these extractors only ask it.

use super::{admin_api::AdminOnly, error::AppError};
use crate::state::AppState;
use auto_logout::{api_error::ErrorCode, server::ActiveSession};
use axum::{extract::FromRequestParts, http::request::Parts};

/// The message of 403 `reauth_required`.
pub const REAUTH_REQUIRED: &str = "This action needs your password again: send it to \
     POST /api/v1/auth/reauth {\"password\": …}, then repeat the request.";

/// Refuses with 403 `reauth_required` unless `me` proved the password within the window.
///
/// # Errors
/// [`AppError`]: `reauth_required`, or 503 when the proof could not be read.
pub async fn require_recent_proof(state: &AppState, me: &ActiveSession) -> Result<(), AppError> {
    if state.engine.sensitive_action(me).await?.allows() {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::ReauthRequired, REAUTH_REQUIRED))
    }
}

/// An administrator whose password was proved within the window: 401 without a session, 403
/// `forbidden` for anyone but an administrator, 403 `reauth_required` outside the window.
pub struct SensitiveAdmin(pub AdminOnly);

impl FromRequestParts<AppState> for SensitiveAdmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let admin = AdminOnly::from_request_parts(parts, state).await?;
        let me = parts
            .extensions
            .get::<ActiveSession>()
            .cloned()
            .ok_or_else(AppError::unauthenticated)?;
        require_recent_proof(state, &me).await?;
        Ok(Self(admin))
    }
}
