//! `POST /sign-in` and `POST /logout`: the two form endpoints behind the pages.

use super::{enforce::removal_cookie, error::AppError};
use crate::{config::OnMaxSessions, state::AppState};
use auto_logout::{
    redirect::safe_next,
    server::{
        sessions::{Ending, META_KEY},
        store::id_hash,
        AuthSession, ClientInfo, Credentials, NewAuditEntry, SessionMeta,
    },
    AuditEvent, EndReason,
};
use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;

/// The sign-in form as posted. Every field is optional so that a malformed post is just a
/// failed sign-in, never a 4xx that tells something apart.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignInForm {
    username: String,
    password: String,
    next: String,
    remember: Option<String>,
}

/// Where a refused sign-in sends the browser: back to the form with `error` (`1` for the
/// generic message, `limit` for the session limit), keeping `next`.
fn failure_target(error: &str, next: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("error", error);
    if let Some(next) = next {
        query.append_pair("next", next);
    }
    format!("/sign-in?{}", query.finish())
}

/// Checks the credentials; on success starts a session with a fresh id and redirects to
/// `next` (same-site paths only, else `/home`); on failure records `login_failed` and
/// redirects back to the form.
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    mut auth: AuthSession,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let next = safe_next(&form.next);
    let now = state.clock.now();
    let creds = Credentials {
        username: form.username.clone(),
        password: form.password,
    };
    let user = auth
        .authenticate(creds)
        .await
        .map_err(|e| AppError::Session(e.to_string()))?;
    let Some(user) = user else {
        state
            .audit
            .record(NewAuditEntry {
                username: Some(form.username).filter(|u| !u.is_empty()),
                ip: client.ip.clone(),
                user_agent: client.user_agent.clone(),
                ..NewAuditEntry::new(AuditEvent::LoginFailed, now)
            })
            .await?;
        return Ok(Redirect::to(&failure_target("1", next.as_deref())).into_response());
    };

    // Signing in over a live session ends that one first: one sign-in, one session.
    if auth.user.is_some() {
        if let Some(old) = auth.session.id() {
            state
                .gate
                .end_session(
                    &id_hash(&old),
                    Ending {
                        reason: EndReason::Logout,
                        at: now,
                        actor_id: None,
                        detail: Some("replaced by a new sign-in".into()),
                        client: client.clone(),
                    },
                )
                .await?;
        }
    }
    // The per-user session limit (SPEC §3 `max_sessions_per_user`). Sign-ins of one user are
    // serialised from the count until the new session is stored, so two at once cannot both
    // slip under the limit (on this instance).
    let _one_at_a_time = state.sign_in_locks.lock(user.id).await;
    if let Some(refused) = apply_session_limit(&state, &user, &client, next.as_deref()).await? {
        return Ok(refused);
    }
    let remember = form.remember.is_some();
    if remember {
        // A persistent cookie that lasts as long as the absolute limit of a remembered session;
        // the server enforces the idle limit.
        // Zero disables the absolute limit: keep the cookie as long as browsers allow (400 days).
        let lifetime = match state.config.remember_session_time {
            d if d.is_zero() => std::time::Duration::from_secs(400 * 86_400),
            d => d.min(std::time::Duration::from_secs(400 * 86_400)),
        };
        let until = time::OffsetDateTime::now_utc()
            .checked_add(time::Duration::try_from(lifetime).unwrap_or(time::Duration::days(30)))
            .unwrap_or_else(time::OffsetDateTime::now_utc);
        auth.session
            .set_expiry(Some(tower_sessions::Expiry::AtDateTime(until)));
    }
    // A new id on every successful sign-in (axum-login only cycles it for anonymous sessions).
    auth.session
        .cycle_id()
        .await
        .map_err(|e| AppError::Session(e.to_string()))?;
    let meta = SessionMeta {
        user_id: user.id,
        kind: "browser".into(),
        remember,
        created_at: now,
        client: client.clone(),
    };
    auth.session
        .insert(META_KEY, &meta)
        .await
        .map_err(|e| AppError::Session(e.to_string()))?;
    auth.login(&user)
        .await
        .map_err(|e| AppError::Session(e.to_string()))?;
    auth.session
        .save()
        .await
        .map_err(|e| AppError::Session(e.to_string()))?;
    let session_hash = auth.session.id().map(|id| id_hash(&id));
    state
        .audit
        .record(NewAuditEntry {
            user_id: Some(user.id),
            username: Some(user.username.clone()),
            session_hash,
            ip: client.ip,
            user_agent: client.user_agent,
            ..NewAuditEntry::new(AuditEvent::Login, now)
        })
        .await?;
    tracing::info!(user = %user.username, "signed in");
    Ok(Redirect::to(next.as_deref().unwrap_or("/home")).into_response())
}

/// Enforces `max_sessions_per_user` before a new session starts: ends the oldest sessions
/// (`end_oldest`) or refuses the sign-in (`deny_new`), recording `session_limit` either way.
/// Returns the response to send when the sign-in is refused.
async fn apply_session_limit(
    state: &AppState,
    user: &auto_logout::server::User,
    client: &ClientInfo,
    next: Option<&str>,
) -> Result<Option<Response>, AppError> {
    let max = state.config.max_sessions_per_user as usize;
    if max == 0 {
        return Ok(None);
    }
    let mut live = state.gate.devices_of(user.id, None).await?;
    if live.len() < max {
        return Ok(None);
    }
    let now = state.clock.now();
    match state.config.on_max_sessions {
        OnMaxSessions::DenyNew => {
            state
                .audit
                .record(NewAuditEntry {
                    user_id: Some(user.id),
                    username: Some(user.username.clone()),
                    ip: client.ip.clone(),
                    user_agent: client.user_agent.clone(),
                    detail: Some(format!(
                        "sign-in refused: {} active sessions (limit {max})",
                        live.len()
                    )),
                    ..NewAuditEntry::new(AuditEvent::SessionLimit, now)
                })
                .await?;
            Ok(Some(
                Redirect::to(&failure_target("limit", next)).into_response(),
            ))
        }
        OnMaxSessions::EndOldest => {
            live.sort_by_key(|s| s.created_at);
            let excess = live.len() + 1 - max;
            for oldest in live.iter().take(excess) {
                state
                    .gate
                    .end_session(
                        &oldest.id,
                        Ending {
                            reason: EndReason::SessionLimit,
                            at: now,
                            actor_id: None,
                            detail: Some(format!(
                                "ended to make room for a new sign-in (limit {max})"
                            )),
                            client: client.clone(),
                        },
                    )
                    .await?;
            }
            Ok(None)
        }
    }
}

/// Ends the session on the server (final, audited), expires the cookie and sends the browser
/// to `/` with a one-time notice.
pub async fn logout(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    mut auth: AuthSession,
) -> Result<Response, AppError> {
    let signed_in = auth.user.is_some();
    if let (true, Some(id)) = (signed_in, auth.session.id()) {
        state
            .gate
            .end_session(
                &id_hash(&id),
                Ending {
                    reason: EndReason::Logout,
                    at: state.clock.now(),
                    actor_id: None,
                    detail: None,
                    client,
                },
            )
            .await?;
    }
    auth.logout()
        .await
        .map_err(|e| AppError::Session(e.to_string()))?;
    let mut response = Redirect::to("/").into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&removal_cookie(state.config.cookie_secure)) {
        headers.append(header::SET_COOKIE, value);
    }
    if signed_in {
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "auto_logout_flash=signed_out; Path=/; Max-Age=60; HttpOnly; SameSite=Lax",
            ),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keeps_a_safe_next_and_flags_the_error() {
        assert_eq!(
            failure_target("1", Some("/home")),
            "/sign-in?error=1&next=%2Fhome"
        );
        assert_eq!(failure_target("1", None), "/sign-in?error=1");
    }
}
