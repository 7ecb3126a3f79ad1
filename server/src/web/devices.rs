//! Every device a person is signed in on: the sessions API of SPEC §7 and the form endpoints
//! behind the `/sessions` page. The rules live in the engine's gate; these only translate.

use super::error::AppError;
use crate::state::AppState;
use auto_logout::{
    api_error::{ErrorBody, ErrorCode},
    server::{ClientInfo, CurrentSession, RevokeOutcome},
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Extension, Form, Json,
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
        (status = 404, description = "Not a live session of the caller's; nothing changed", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn delete_one(
    State(state): State<AppState>,
    CurrentSession(me): CurrentSession,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
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

/// The form on `/sessions` that signs out one device.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    id: String,
}

/// Where a form post without a live session goes.
const SIGN_IN_FOR_SESSIONS: &str = "/sign-in?next=%2Fsessions";

/// `POST /sessions/revoke`: signs out one of the caller's sessions, back to `/sessions`.
pub async fn revoke_form(
    State(state): State<AppState>,
    me: Option<CurrentSession>,
    Extension(client): Extension<ClientInfo>,
    Form(form): Form<RevokeForm>,
) -> Result<Redirect, AppError> {
    let Some(CurrentSession(me)) = me else {
        return Ok(Redirect::to(SIGN_IN_FOR_SESSIONS));
    };
    state
        .engine
        .gate()
        .revoke(me.user_id, &[form.id], me.user_id, &client)
        .await?;
    Ok(Redirect::to("/sessions"))
}

/// `POST /sessions/revoke-others`: signs out every other device, back to `/sessions`.
pub async fn revoke_others_form(
    State(state): State<AppState>,
    me: Option<CurrentSession>,
    Extension(client): Extension<ClientInfo>,
) -> Result<Redirect, AppError> {
    let Some(CurrentSession(me)) = me else {
        return Ok(Redirect::to(SIGN_IN_FOR_SESSIONS));
    };
    state
        .engine
        .gate()
        .revoke_all_except(me.user_id, Some(&me.id_hash), me.user_id, &client)
        .await?;
    Ok(Redirect::to("/sessions"))
}
