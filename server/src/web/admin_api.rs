//! The administrators' API of SPEC §7 under `/api/v1/admin`: every session, the activity log,
//! and accounts. 403 for anyone but an administrator; every action is audited with the
//! administrator as actor (the engine's `Admin` does it).

use super::error::AppError;
use super::sensitive::SensitiveAdmin;
use crate::state::AppState;
use auto_logout::server::SignOutAll;
use auto_logout::{
    api_error::{ErrorBody, ErrorCode},
    dto::{ActivityPage, ActivityQuery, SessionsPage, SessionsQuery, UserSummary},
    server::{
        admin::AdminQueryError, AccountError, AccountRefusal, ActiveSession, Actor, ClientInfo,
    },
};
use axum::{
    extract::{FromRequestParts, Path, Query, State},
    http::{request::Parts, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;

/// The request of a signed-in administrator (401 without a session, 403 for anyone else).
pub struct AdminOnly {
    /// Who acts, for the audit log.
    pub actor: Actor,
}

impl FromRequestParts<AppState> for AdminOnly {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let me = parts
            .extensions
            .get::<ActiveSession>()
            .cloned()
            .ok_or_else(AppError::unauthenticated)?;
        if !state.engine.admin().is_admin(me.user_id).await? {
            return Err(AppError::new(ErrorCode::Forbidden, "Administrators only."));
        }
        let client = parts
            .extensions
            .get::<ClientInfo>()
            .cloned()
            .unwrap_or_default();
        Ok(Self {
            actor: Actor {
                id: Some(me.user_id),
                client,
            },
        })
    }
}

fn bad_request(message: &'static str) -> AppError {
    AppError::new(ErrorCode::BadRequest, message)
}

/// `GET /api/v1/admin/sessions`: every session matching the filters, newest first.
#[utoipa::path(get, path = "/api/v1/admin/sessions", tag = "admin",
    summary = "Every session, filtered, newest first, paginated",
    params(SessionsQuery),
    responses(
        (status = 200, description = "A page of sessions", body = SessionsPage),
        (status = 400, description = "A malformed filter or cursor", body = ErrorBody),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn sessions(
    State(state): State<AppState>,
    _admin: AdminOnly,
    Query(query): Query<SessionsQuery>,
) -> Result<Json<SessionsPage>, AppError> {
    Ok(Json(
        state
            .engine
            .admin()
            .sessions_page(&query)
            .await
            .map_err(query_error)?,
    ))
}

/// Maps a refused filter to 400 with what to fix, storage failures to 503.
pub(super) fn query_error(err: AdminQueryError) -> AppError {
    match err {
        AdminQueryError::Cursor => bad_request("The cursor is not one this server gave out."),
        AdminQueryError::Event(_) => {
            bad_request("Unknown event; see the audit event names in the API description.")
        }
        AdminQueryError::Store(err) => err.into(),
    }
}

/// `DELETE /api/v1/admin/sessions/{id}`: signs out any session (audit `revoked`).
#[utoipa::path(delete, path = "/api/v1/admin/sessions/{id}", tag = "admin",
    summary = "Sign out any session",
    params(("id" = String, Path, description = "The session's public id")),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 403, description = "Not an administrator (`forbidden`), or the password was last proved before `reauth_window` (`reauth_required`)", body = ErrorBody),
        (status = 404, description = "No live session has this id", body = ErrorBody),
        (status = 503, description = "Not recorded; see Retry-After", body = ErrorBody),
    ))]
pub async fn end_session(
    State(state): State<AppState>,
    SensitiveAdmin(admin): SensitiveAdmin,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    if state.engine.admin().end_session(&admin.actor, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::new(
            ErrorCode::NotFound,
            "No live session has this id; nothing was changed.",
        ))
    }
}

/// `GET /api/v1/admin/activity`: the audit log, filtered, newest first, paginated.
#[utoipa::path(get, path = "/api/v1/admin/activity", tag = "admin",
    summary = "The activity log, filtered, newest first, paginated",
    params(ActivityQuery),
    responses(
        (status = 200, description = "A page of entries", body = ActivityPage),
        (status = 400, description = "A malformed filter", body = ErrorBody),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn activity(
    State(state): State<AppState>,
    _admin: AdminOnly,
    Query(query): Query<ActivityQuery>,
) -> Result<Json<ActivityPage>, AppError> {
    Ok(Json(
        state
            .engine
            .admin()
            .activity_page(&query)
            .await
            .map_err(query_error)?,
    ))
}

/// `GET /api/v1/admin/users`: every account.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin",
    summary = "Every account with its live sessions and latest sign-in",
    responses(
        (status = 200, description = "The accounts, by username", body = [UserSummary]),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 403, description = "Not an administrator", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn users(
    State(state): State<AppState>,
    _admin: AdminOnly,
) -> Result<Json<Vec<UserSummary>>, AppError> {
    Ok(Json(state.engine.admin().users().await?))
}

/// The body of `POST /api/v1/admin/users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    /// Login name (1 to 64 letters, digits, `.`, `_`, `-`).
    pub username: String,
    /// The password (at least 8 characters).
    pub password: String,
    /// May use the admin console.
    #[serde(default)]
    pub admin: bool,
}

/// Maps account errors to what the administrator can act on.
fn account_error(err: AccountError) -> AppError {
    match err {
        AccountError::Refused(AccountRefusal::NoSuchUser(_)) => {
            AppError::new(ErrorCode::NotFound, "No such account.")
        }
        AccountError::Refused(AccountRefusal::Exists(_)) => AppError::new(
            ErrorCode::UserExists,
            "An account with this name exists already.",
        ),
        AccountError::Refused(
            AccountRefusal::InvalidUsername(why) | AccountRefusal::InvalidPassword(why),
        ) => AppError::new(ErrorCode::InvalidBody, why),
        AccountError::Store(err) => err.into(),
    }
}

/// `POST /api/v1/admin/users`: creates an account (audit `user_created`).
#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin",
    summary = "Create an account",
    request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = UserSummary),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 403, description = "Not an administrator (`forbidden`), or the password was last proved before `reauth_window` (`reauth_required`)", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 415, description = "The body is not sent as application/json", body = ErrorBody),
        (status = 422, description = "An unacceptable name or password", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    SensitiveAdmin(admin): SensitiveAdmin,
    Json(body): Json<NewUser>,
) -> Result<Response, AppError> {
    let user = state
        .engine
        .admin()
        .create_user(&admin.actor, &body.username, &body.password, body.admin)
        .await
        .map_err(account_error)?;
    let summary = UserSummary {
        username: user.username,
        is_admin: user.is_admin,
        disabled: false,
        active_sessions: 0,
        last_sign_in: None,
    };
    Ok((StatusCode::CREATED, Json(summary)).into_response())
}

/// `POST /api/v1/admin/users/{name}/disable`: the account cannot sign in; its sessions end.
#[utoipa::path(post, path = "/api/v1/admin/users/{name}/disable", tag = "admin",
    summary = "Disable an account (its sessions end)",
    params(("name" = String, Path, description = "The username")),
    responses(
        (status = 204, description = "Disabled"),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 403, description = "Not an administrator (`forbidden`), or the password was last proved before `reauth_window` (`reauth_required`)", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn disable_user(
    State(state): State<AppState>,
    SensitiveAdmin(admin): SensitiveAdmin,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    state
        .engine
        .admin()
        .set_disabled(&admin.actor, &name, true)
        .await
        .map_err(account_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/admin/users/{name}/enable`: a disabled account may sign in again.
#[utoipa::path(post, path = "/api/v1/admin/users/{name}/enable", tag = "admin",
    summary = "Enable a disabled account",
    params(("name" = String, Path, description = "The username")),
    responses(
        (status = 204, description = "Enabled"),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 403, description = "Not an administrator (`forbidden`), or the password was last proved before `reauth_window` (`reauth_required`)", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn enable_user(
    State(state): State<AppState>,
    SensitiveAdmin(admin): SensitiveAdmin,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    state
        .engine
        .admin()
        .set_disabled(&admin.actor, &name, false)
        .await
        .map_err(account_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/admin/users/{name}/sign-out`: ends every session of the account.
#[utoipa::path(post, path = "/api/v1/admin/users/{name}/sign-out", tag = "admin",
    summary = "Sign an account out everywhere",
    params(("name" = String, Path, description = "The username")),
    responses(
        (status = 204, description = "Signed out everywhere"),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 403, description = "Not an administrator (`forbidden`), or the password was last proved before `reauth_window` (`reauth_required`)", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn sign_out_user(
    State(state): State<AppState>,
    SensitiveAdmin(admin): SensitiveAdmin,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    state
        .engine
        .admin()
        .sign_out_everywhere(&admin.actor, &name)
        .await
        .map_err(account_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `POST /api/v1/admin/sessions/sign-out-all`: whom to spare.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SignOutAllBody {
    /// Keep administrators signed in.
    pub except_admins: bool,
    /// Keep the calling administrator's own sessions.
    pub except_self: bool,
}

/// What `POST /api/v1/admin/sessions/sign-out-all` did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SignedOutAll {
    /// How many sessions ended.
    pub ended: usize,
}

/// `POST /api/v1/admin/sessions/sign-out-all`: ends every session (but those spared), audited
/// once (`signed_out_everyone`, with the count and the administrator).
#[utoipa::path(post, path = "/api/v1/admin/sessions/sign-out-all", tag = "admin",
    summary = "Sign out everyone (optionally except administrators, except the caller)",
    request_body(content = Option<SignOutAllBody>, description = "Whom to spare (both default to false)"),
    responses(
        (status = 200, description = "How many sessions ended", body = SignedOutAll),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 415, description = "A body not sent as application/json", body = ErrorBody),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 403, description = "Not an administrator (`forbidden`), or the password was last proved before `reauth_window` (`reauth_required`)", body = ErrorBody),
        (status = 422, description = "Unknown fields in the body", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn sign_out_all(
    State(state): State<AppState>,
    SensitiveAdmin(admin): SensitiveAdmin,
    body: Option<Json<SignOutAllBody>>,
) -> Result<Json<SignedOutAll>, AppError> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let ended = state
        .engine
        .admin()
        .sign_out_everyone(
            &admin.actor,
            SignOutAll {
                except_admins: body.except_admins,
                except_self: body.except_self,
            },
        )
        .await?;
    Ok(Json(SignedOutAll { ended }))
}
