//! Every device a person is signed in on: the sessions API of SPEC §7 (the form endpoints
//! behind the `/sessions` page are the engine's, see `startup::router`). The rules live in the
//! engine's gate; these only translate. Signing out *another* session is a sensitive action:
//! outside the re-authentication window it is refused with 403 `reauth_required`.

use super::{error::AppError, sensitive::require_recent_proof};
use crate::state::AppState;
use auto_logout::{
    api_error::{ErrorBody, ErrorCode},
    server::{ClientInfo, CurrentSession, RevokeOutcome},
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Extension, Json,
};
use axum_extra::extract::Query;
use serde::Deserialize;

/// `GET /api/v1/sessions`: the caller's live sessions.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions",
    summary = "The caller's live sessions, newest first",
    responses(
        (status = 200, description = "The live sessions; `current` marks the caller's", body = [auto_logout::DeviceSession]),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    CurrentSession(me): CurrentSession,
) -> Result<Response, AppError> {
    let devices = state
        .engine
        .gate()
        .devices_of(me.user_id, Some(&me.id_hash))
        .await?;
    Ok(Json(devices).into_response())
}

/// The answer of a revocation through the API.
fn outcome(outcome: RevokeOutcome) -> Result<Response, AppError> {
    match outcome {
        RevokeOutcome::Ended(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        RevokeOutcome::NotFound => Err(AppError::new(
            ErrorCode::NotFound,
            "No such active session of yours; nothing was changed.",
        )),
        RevokeOutcome::NothingNamed => Err(AppError::new(
            ErrorCode::NoSessionsNamed,
            "Name the sessions to sign out with token_id=ID (repeatable), or use scope=others.",
        )),
        RevokeOutcome::TooMany { .. } => Err(AppError::new(
            ErrorCode::BadRequest,
            "Too many sessions named at once (at most 100); nothing was changed. Use scope=others to sign out every other session.",
        )),
    }
}

/// `DELETE /api/v1/sessions/{id}`: signs out one of the caller's sessions; 404 for any other id.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions",
    summary = "Sign out one of the caller's sessions",
    params(("id" = String, Path, description = "The session's public id")),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 403, description = "Another session named, and the password was last proved before `reauth_window` (`reauth_required`)", body = ErrorBody),
        (status = 404, description = "Not a live session of the caller's; nothing changed", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn delete_one(
    State(state): State<AppState>,
    CurrentSession(me): CurrentSession,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    if id != me.id_hash {
        require_recent_proof(&state, &me).await?;
    }
    outcome(
        state
            .engine
            .gate()
            .revoke(me.user_id, &[id], me.user_id, &client)
            .await?,
    )
}

/// The query of `DELETE /api/v1/sessions`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeleteQuery {
    /// Sessions to sign out (repeatable).
    token_id: Vec<String>,
    /// `others`: every session but the caller's.
    scope: Option<String>,
}

/// `DELETE /api/v1/sessions?token_id=ID&token_id=ID` or `?scope=others`.
#[utoipa::path(delete, path = "/api/v1/sessions", tag = "sessions",
    summary = "Sign out several of the caller's sessions (all or nothing), or all others",
    params(
        ("token_id" = Option<Vec<String>>, Query, description = "A session's public id (repeatable)"),
        ("scope" = Option<String>, Query, description = "`others`: every session but the caller's"),
    ),
    responses(
        (status = 204, description = "Signed out"),
        (status = 400, description = "No session named, more than 100 named, or a bad scope", body = ErrorBody),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 403, description = "Another session named, and the password was last proved before `reauth_window` (`reauth_required`)", body = ErrorBody),
        (status = 404, description = "An id is not a live session of the caller's; nothing changed", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn delete_many(
    State(state): State<AppState>,
    CurrentSession(me): CurrentSession,
    Extension(client): Extension<ClientInfo>,
    Query(query): Query<DeleteQuery>,
) -> Result<Response, AppError> {
    let ids: Vec<String> = query
        .token_id
        .into_iter()
        .filter(|id| !id.is_empty())
        .collect();
    if query.scope.is_some() || ids.iter().any(|id| *id != me.id_hash) {
        require_recent_proof(&state, &me).await?;
    }
    match query.scope.as_deref() {
        Some("others") if ids.is_empty() => {
            state
                .engine
                .gate()
                .revoke_all_except(me.user_id, Some(&me.id_hash), me.user_id, &client)
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Some(_) => Err(AppError::new(
            ErrorCode::BadScope,
            "scope must be `others`, and cannot be combined with token_id.",
        )),
        None => outcome(
            state
                .engine
                .gate()
                .revoke(me.user_id, &ids, me.user_id, &client)
                .await?,
        ),
    }
}
