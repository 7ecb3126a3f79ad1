//! `POST /sign-in` and `POST /logout`: the two form endpoints behind the pages.

use super::error::{unavailable, AppError};
use crate::state::AppState;
use auto_logout::{
    redirect::safe_next,
    server::{
        sessions::{Ending, META_KEY},
        store::{id_hash, is_session_limit_refusal},
        AuthSession, ClientInfo, SessionMeta, SignInDecision,
    },
    EndReason,
};
use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderValue, Request, StatusCode},
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

/// The longest a refusal page may take to render.
const REFUSAL_RENDER_LIMIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The sign-in form in plain HTML with the refusal message (the fallback of `refusal_page`).
fn plain_refusal_page(error: &str, next: Option<&str>, retry_after_secs: u64) -> Response {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let message =
        app::pages::sign_in::refusal_message(error, Some(retry_after_secs)).unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign in - auto-logout</title><link rel=\"stylesheet\" href=\"/pkg/auto-logout.css\">\
         </head><body><main><section class=\"card narrow\"><h1>Sign in</h1>\
         <p class=\"error\" role=\"alert\" data-testid=\"sign-in-error\">{}</p>\
         <form method=\"post\" action=\"/sign-in\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label>Username <input name=\"username\" autocomplete=\"username\" required maxlength=\"64\"></label>\
         <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required maxlength=\"1024\"></label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"remember\" value=\"true\"> Remember me</label>\
         <button type=\"submit\" data-testid=\"sign-in-submit\">Sign in</button>\
         </form></section></main></body></html>",
        escape(&message),
        escape(next.unwrap_or_default()),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// The sign-in page saying how long to wait, with `status` and `Retry-After`: what a browser
/// without WebAssembly shows for a throttled (429) or turned-away (503) attempt.
async fn refusal_page(
    state: &AppState,
    auth: AuthSession,
    client: ClientInfo,
    status: StatusCode,
    error: &str,
    next: Option<&str>,
    retry_after_secs: u64,
) -> Response {
    let mut target = failure_target(error, next);
    target.push_str(&format!("&retry_after={retry_after_secs}"));
    let mut page_request = Request::get(target).body(Body::empty()).unwrap_or_default();
    page_request.extensions_mut().insert(auth);
    page_request.extensions_mut().insert(client);
    let render = leptos_axum::render_app_async_with_context(crate::startup::page_context(state), {
        let options = state.leptos_options.clone();
        move || app::shell(options.clone())
    });
    // Bounded: a render that does not finish in time gives way to the same form in plain HTML.
    let mut res = match tokio::time::timeout(REFUSAL_RENDER_LIMIT, render(page_request)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!("the sign-in page did not render in time; sent the plain form");
            plain_refusal_page(error, next, retry_after_secs)
        }
    };
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    res
}

/// Checks the credentials (throttled, bounded); on success starts a session with a fresh id
/// and redirects to `next` (same-site paths only, else `/home`); on failure redirects back to
/// the form; while throttled answers 429 with the page saying when to try again.
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    mut auth: AuthSession,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let next = safe_next(&form.next);
    let user = match state
        .sign_in
        .sign_in(&form.username, &form.password, &client)
        .await?
    {
        SignInDecision::Accepted(user) => user,
        SignInDecision::Rejected => {
            return Ok(Redirect::to(&failure_target("1", next.as_deref())).into_response())
        }
        SignInDecision::Throttled {
            retry_after_secs, ..
        } => {
            let page = refusal_page(
                &state,
                auth,
                client,
                StatusCode::TOO_MANY_REQUESTS,
                app::pages::sign_in::ERROR_THROTTLED,
                next.as_deref(),
                retry_after_secs,
            );
            return Ok(page.await);
        }
        SignInDecision::Busy { retry_after_secs } => return Ok(unavailable(retry_after_secs)),
    };
    let now = state.clock.now();

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
        username: user.username.clone(),
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
    // Storing the session applies `max_sessions_per_user` in the database (the store ends the
    // oldest, or refuses the sign-in and audits it) and records `login` in the same
    // transaction.
    if let Err(err) = auth.session.save().await {
        auth.session.clear().await;
        if is_session_limit_refusal(&err) {
            return Ok(Redirect::to(&failure_target("limit", next.as_deref())).into_response());
        }
        return Err(AppError::Session(err.to_string()));
    }
    tracing::info!(user = %user.username, "signed in");
    Ok(Redirect::to(next.as_deref().unwrap_or("/home")).into_response())
}

/// Ends the session on the server (final, audited), expires the cookie and sends the browser
/// to `/` with a one-time notice. When the end cannot be recorded the answer is 503 and the
/// session (and its cookie) stay as they were: nothing claims a sign-out that did not happen.
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
    let cookies = state.config.cookies();
    let mut response = Redirect::to("/").into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&cookies.session_removal()) {
        headers.append(header::SET_COOKIE, value);
    }
    if signed_in {
        if let Ok(value) =
            HeaderValue::from_str(&cookies.flash(auto_logout::cookies::FLASH_SIGNED_OUT))
        {
            headers.append(header::SET_COOKIE, value);
        }
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
