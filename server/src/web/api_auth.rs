//! The API clients' sign-in, refresh and sign-out (SPEC §7): `POST /api/v1/auth/token`,
//! `/auth/jwt`, `/auth/jwt/refresh`, `/auth/logout`, and re-authentication, `/auth/reauth`. The engine's `ApiAuth` decides; these
//! only translate.

use super::error::AppError;
use crate::state::AppState;
use auto_logout::{
    api_error::{ErrorBody, ErrorCode},
    server::{
        sign_out, ApiRefresh, ApiSignIn, AuthSession, ClientInfo, CurrentSession, Grant, Issued,
        Reauthentication,
    },
    SessionKind, SessionStatus,
};
use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Extension, Json,
};
use serde::{Deserialize, Serialize};

/// The body of `POST /api/v1/auth/token` and `/auth/jwt`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignInBody {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
    /// Keep the session as a "Remember me" one (recorded; API sessions have the API limits).
    #[serde(default)]
    pub remember: bool,
}

/// What a signed-in API client is given.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GrantBody {
    /// The opaque bearer token (`/auth/token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The JWT access token (`/auth/jwt`, `/auth/jwt/refresh`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The single-use refresh token (`/auth/jwt`, `/auth/jwt/refresh`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires (JWT only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// The server session's public id.
    pub session_id: String,
    /// Seconds until the session's idle limit (null: none).
    pub seconds_until_idle_end: Option<u64>,
    /// Seconds until the session's absolute limit (null: none).
    pub seconds_until_session_end: Option<u64>,
}

impl GrantBody {
    fn new(session_id: String, status: SessionStatus) -> Self {
        Self {
            token: None,
            access_token: None,
            refresh_token: None,
            expires_in: None,
            token_type: "Bearer",
            session_id,
            seconds_until_idle_end: status.seconds_until_idle_end,
            seconds_until_session_end: status.seconds_until_session_end,
        }
    }
}

/// The body of `POST /api/v1/auth/jwt/refresh`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshBody {
    /// The refresh token last handed out.
    pub refresh_token: String,
}

async fn sign_in(
    state: &AppState,
    grant: Grant,
    client: &ClientInfo,
    body: SignInBody,
) -> Result<Response, AppError> {
    let outcome = state
        .engine
        .api()
        .sign_in(grant, &body.username, &body.password, body.remember, client)
        .await?;
    let body_username = body.username;
    let (session_id, issued, status) = match outcome {
        ApiSignIn::Started {
            session_id,
            issued,
            status,
        } => (session_id, issued, status),
        ApiSignIn::Rejected => {
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "Invalid username or password.",
            ))
        }
        ApiSignIn::Throttled { retry_after_secs } => {
            return Err(AppError {
                retry_after_secs: Some(retry_after_secs),
                ..AppError::new(
                    ErrorCode::TooManyRequests,
                    "Too many failed sign-in attempts; wait as long as Retry-After says.",
                )
            })
        }
        ApiSignIn::Busy { retry_after_secs } => {
            return Err(AppError::unavailable(retry_after_secs))
        }
        ApiSignIn::LimitReached => {
            return Err(AppError::new(
                ErrorCode::SessionLimit,
                "You are signed in on too many devices. Sign out on one of them first.",
            ))
        }
    };
    let mut body = GrantBody::new(session_id, status);
    match issued {
        Issued::Token { token } => body.token = Some(token),
        Issued::Jwt {
            access_token,
            refresh_token,
        } => {
            body.access_token = Some(access_token);
            body.refresh_token = Some(refresh_token);
            body.expires_in = Some(state.engine.api().jwt().ttl().as_secs());
        }
    }
    tracing::info!(user = %body_username, "API client signed in");
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `POST /api/v1/auth/token`: a session of kind `api` and its opaque bearer token (201).
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", security(),
    summary = "Sign in for an opaque bearer token (a session of kind api)",
    request_body = SignInBody,
    responses(
        (status = 201, description = "Signed in", body = GrantBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 415, description = "The body is not sent as application/json", body = ErrorBody),
        (status = 422, description = "The body lacks the expected fields", body = ErrorBody),
        (status = 401, description = "Invalid username or password", body = ErrorBody),
        (status = 403, description = "At the per-user session limit", body = ErrorBody),
        (status = 429, description = "Throttled; see Retry-After", body = ErrorBody),
        (status = 503, description = "Busy or unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn token(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Json(body): Json<SignInBody>,
) -> Result<Response, AppError> {
    sign_in(&state, Grant::Token, &client, body).await
}

/// `POST /api/v1/auth/jwt`: a session of kind `api`, a JWT access token and a refresh token
/// (201).
#[utoipa::path(post, path = "/api/v1/auth/jwt", tag = "auth", security(),
    summary = "Sign in for a JWT access token and a refresh token (a session of kind api)",
    request_body = SignInBody,
    responses(
        (status = 201, description = "Signed in", body = GrantBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 415, description = "The body is not sent as application/json", body = ErrorBody),
        (status = 422, description = "The body lacks the expected fields", body = ErrorBody),
        (status = 401, description = "Invalid username or password", body = ErrorBody),
        (status = 403, description = "At the per-user session limit", body = ErrorBody),
        (status = 429, description = "Throttled; see Retry-After", body = ErrorBody),
        (status = 503, description = "Busy or unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn jwt(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Json(body): Json<SignInBody>,
) -> Result<Response, AppError> {
    sign_in(&state, Grant::Jwt, &client, body).await
}

/// `POST /api/v1/auth/jwt/refresh`: the next access and refresh tokens (200); 401 for an
/// unknown, used or ended one (a used one ends its session).
#[utoipa::path(post, path = "/api/v1/auth/jwt/refresh", tag = "auth", security(),
    summary = "Trade a refresh token (once) for a new access token and the next refresh token",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "Refreshed", body = GrantBody),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 415, description = "The body is not sent as application/json", body = ErrorBody),
        (status = 422, description = "The body lacks the expected fields", body = ErrorBody),
        (status = 401, description = "Unknown, used (the session is then ended) or ended", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Json(body): Json<RefreshBody>,
) -> Result<Response, AppError> {
    match state
        .engine
        .api()
        .refresh(&body.refresh_token, &client)
        .await?
    {
        ApiRefresh::Refreshed {
            session_id,
            access_token,
            refresh_token,
            status,
        } => {
            let mut body = GrantBody::new(session_id, status);
            body.access_token = Some(access_token);
            body.refresh_token = Some(refresh_token);
            body.expires_in = Some(state.engine.api().jwt().ttl().as_secs());
            Ok(Json(body).into_response())
        }
        ApiRefresh::Reused => Err(AppError::new(
            ErrorCode::SessionEnded,
            "This refresh token was used before; the session has been signed out.",
        )),
        ApiRefresh::Refused => Err(AppError::new(
            ErrorCode::InvalidToken,
            "The refresh token is not valid; sign in again.",
        )),
    }
}

/// `POST /api/v1/auth/logout`: ends the calling session (bearer, JWT or cookie) and answers
/// 204.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    summary = "End the calling session",
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 503, description = "Not recorded; the session is unchanged. See Retry-After", body = ErrorBody),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    CurrentSession(me): CurrentSession,
    Extension(client): Extension<ClientInfo>,
    mut auth: AuthSession,
) -> Result<Response, AppError> {
    match me.kind {
        SessionKind::Api => state.engine.api().sign_out(&me.id_hash, &client).await?,
        SessionKind::Browser => {
            sign_out(&mut auth, state.engine.gate(), &client).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of `POST /api/v1/auth/reauth`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReauthBody {
    /// The signed-in person's password.
    pub password: String,
}

/// `POST /api/v1/auth/reauth`: the calling session's person proves their password again;
/// sensitive actions are allowed for `reauth_window` from now (204). Throttled like a sign-in
/// (a wrong password counts as a failed one); audited `reauthenticated`.
#[utoipa::path(post, path = "/api/v1/auth/reauth", tag = "auth",
    summary = "Prove the password again, for sensitive actions",
    request_body = ReauthBody,
    responses(
        (status = 204, description = "Renewed: sensitive actions are allowed for reauth_window"),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 415, description = "The body is not sent as application/json", body = ErrorBody),
        (status = 422, description = "The body lacks the expected fields", body = ErrorBody),
        (status = 401, description = "No session, it has ended, or the password is wrong (`invalid_credentials`)", body = ErrorBody),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
pub async fn reauth(
    State(state): State<AppState>,
    CurrentSession(me): CurrentSession,
    Extension(client): Extension<ClientInfo>,
    Json(body): Json<ReauthBody>,
) -> Result<StatusCode, AppError> {
    match state
        .engine
        .reauthenticate(&me, &body.password, &client)
        .await?
    {
        Reauthentication::Renewed { .. } => Ok(StatusCode::NO_CONTENT),
        Reauthentication::Rejected => Err(AppError::new(
            ErrorCode::InvalidCredentials,
            "The password is not right.",
        )),
        Reauthentication::Throttled { retry_after_secs } => Err(AppError {
            retry_after_secs: Some(retry_after_secs),
            ..AppError::new(
                ErrorCode::TooManyRequests,
                "Too many failed attempts; wait as long as Retry-After says.",
            )
        }),
        Reauthentication::Busy { retry_after_secs } => Err(AppError::unavailable(retry_after_secs)),
        Reauthentication::Ended => Err(AppError::new(
            ErrorCode::SessionEnded,
            "The session has ended; sign in again.",
        )),
    }
}
