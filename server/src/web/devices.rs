//! Every device a person is signed in on: the sessions API of SPEC §7 and the form endpoints
//! behind the `/sessions` page. The rules live in the engine's gate; these only translate.

use super::error::api_error;
use crate::state::AppState;
use auto_logout::server::{ActiveSession, ClientInfo, RevokeOutcome};
use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    Extension, Form, Json,
};
use serde::Deserialize;

fn unauthenticated() -> Response {
    api_error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "Sign in to use this endpoint.",
    )
}

fn unavailable(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "sessions request failed");
    api_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "The service is temporarily unavailable. Please try again in a moment.",
    )
}

/// `GET /api/v1/sessions`: the caller's live sessions.
pub async fn list(
    State(state): State<AppState>,
    active: Option<Extension<ActiveSession>>,
) -> Response {
    let Some(Extension(me)) = active else {
        return unauthenticated();
    };
    match state.gate.devices_of(me.user_id, Some(&me.id_hash)).await {
        Ok(devices) => Json(devices).into_response(),
        Err(err) => unavailable(err),
    }
}

fn outcome(result: Result<RevokeOutcome, auto_logout::server::StoreError>) -> Response {
    match result {
        Ok(RevokeOutcome::Ended(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(RevokeOutcome::NotFound) => api_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such active session of yours; nothing was changed.",
        ),
        Ok(RevokeOutcome::NothingNamed) => api_error(
            StatusCode::BAD_REQUEST,
            "no_sessions_named",
            "Name the sessions to sign out with token_id=ID (repeatable), or use scope=others.",
        ),
        Err(err) => unavailable(err),
    }
}

/// `DELETE /api/v1/sessions/{id}`: signs out one of the caller's sessions; 404 for any other id.
pub async fn delete_one(
    State(state): State<AppState>,
    active: Option<Extension<ActiveSession>>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
) -> Response {
    let Some(Extension(me)) = active else {
        return unauthenticated();
    };
    outcome(
        state
            .gate
            .revoke(me.user_id, &[id], me.user_id, &client)
            .await,
    )
}

/// `DELETE /api/v1/sessions?token_id=ID&token_id=ID` or `?scope=others`.
pub async fn delete_many(
    State(state): State<AppState>,
    active: Option<Extension<ActiveSession>>,
    Extension(client): Extension<ClientInfo>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(Extension(me)) = active else {
        return unauthenticated();
    };
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let scope = pairs
        .iter()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.as_str());
    let ids: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "token_id" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    match scope {
        Some("others") if ids.is_empty() => {
            match state
                .gate
                .revoke_all_except(me.user_id, Some(&me.id_hash), me.user_id, &client)
                .await
            {
                Ok(_) => StatusCode::NO_CONTENT.into_response(),
                Err(err) => unavailable(err),
            }
        }
        Some(_) => api_error(
            StatusCode::BAD_REQUEST,
            "bad_scope",
            "scope must be `others`, and cannot be combined with token_id.",
        ),
        None => outcome(
            state
                .gate
                .revoke(me.user_id, &ids, me.user_id, &client)
                .await,
        ),
    }
}

/// The form on `/sessions` that signs out one device.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevokeForm {
    id: String,
}

/// `POST /sessions/revoke`: signs out one of the caller's sessions, back to `/sessions`.
pub async fn revoke_form(
    State(state): State<AppState>,
    active: Option<Extension<ActiveSession>>,
    Extension(client): Extension<ClientInfo>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let Some(Extension(me)) = active else {
        return Redirect::to("/sign-in?next=%2Fsessions").into_response();
    };
    match state
        .gate
        .revoke(me.user_id, &[form.id], me.user_id, &client)
        .await
    {
        Ok(_) => Redirect::to("/sessions").into_response(),
        Err(err) => unavailable(err),
    }
}

/// `POST /sessions/revoke-others`: signs out every other device, back to `/sessions`.
pub async fn revoke_others_form(
    State(state): State<AppState>,
    active: Option<Extension<ActiveSession>>,
    Extension(client): Extension<ClientInfo>,
) -> Response {
    let Some(Extension(me)) = active else {
        return Redirect::to("/sign-in?next=%2Fsessions").into_response();
    };
    match state
        .gate
        .revoke_all_except(me.user_id, Some(&me.id_hash), me.user_id, &client)
        .await
    {
        Ok(_) => Redirect::to("/sessions").into_response(),
        Err(err) => unavailable(err),
    }
}
