//! `POST /account/activity/not-me`: "This wasn't me" (SPEC §4). The engine marks the account for
//! a new password and ends every one of its sessions, this one included; the browser goes to
//! the sign-in page, which says what happened and leads to the password page.

use super::error::AppError;
use crate::state::AppState;
use auto_logout::{
    forms::{ACCOUNT_ACTIVITY, ACCOUNT_PASSWORD},
    redirect::sign_in_url,
    server::{ClientInfo, CurrentSession, SessionEnded},
    SignInReason,
};
use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Redirect, Response},
    Extension,
};

/// Signs out every session of the signed-in account and sends the browser to sign in again
/// (then to a new password). Without a live session: to sign in, back to the activity page.
/// No password is asked first: this only takes access away, and whoever clicks it is sent to
/// prove the password anyway.
pub async fn not_me(
    State(state): State<AppState>,
    me: Option<CurrentSession>,
    client: Option<Extension<ClientInfo>>,
    ended: Option<Extension<SessionEnded>>,
) -> Result<Response, AppError> {
    let Some(CurrentSession(me)) = me else {
        let reason = ended.map(|Extension(e)| e.0.sign_in_reason());
        return Ok(Redirect::to(&sign_in_url(ACCOUNT_ACTIVITY, reason)).into_response());
    };
    let client = client.map(|Extension(c)| c).unwrap_or_default();
    let ended = state
        .engine
        .account_activity()
        .not_me(me.user_id, &client)
        .await?;
    tracing::info!(user = %me.username, ended, "\"this wasn't me\": every session signed out");
    let mut response =
        Redirect::to(&sign_in_url(ACCOUNT_PASSWORD, Some(SignInReason::NotMe))).into_response();
    if let Ok(removal) = HeaderValue::from_str(&state.config.cookies().session_removal()) {
        response.headers_mut().append(header::SET_COOKIE, removal);
    }
    Ok(response)
}
