//! `POST /sign-in` and `POST /logout`: the two form endpoints behind the pages.

use super::error::AppError;
use crate::state::AppState;
use auto_logout::{
    forms::PASSWORD_CHANGE_REQUIRED,
    redirect::safe_next,
    server::{AuthSession, ClientInfo, SignIn},
    SignInError,
};
use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
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

/// Where a refused sign-in sends the browser: back to the form with `error`, keeping `next`.
fn failure_target(error: SignInError, next: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("error", error.as_str());
    if let Some(next) = next {
        query.append_pair("next", next);
    }
    format!("/sign-in?{}", query.finish())
}

/// The sign-in form in plain HTML saying how long to wait, with `status` and `Retry-After`:
/// what a throttled (429) or turned-away (503) attempt gets. Written directly rather than
/// rendered by Leptos: a flood of refused attempts must cost next to nothing (a render is a
/// few hundred microseconds). It refers to the release's stylesheet as every page does (the
/// soft navigation swaps it in like any page of the release) and needs no script.
fn refusal_page(
    state: &AppState,
    status: StatusCode,
    error: SignInError,
    next: Option<&str>,
    retry_after_secs: u64,
) -> Response {
    let escape = super::escape_html;
    let message =
        app::pages::sign_in::refusal_message(error, Some(retry_after_secs)).unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <link id=\"leptos\" rel=\"stylesheet\" href=\"/{pkg}/{bundle}.css\">\
         <title>Sign in - auto-logout</title></head><body><main><section class=\"card narrow\">\
         <h1>Sign in</h1>\
         <p class=\"error\" role=\"alert\" data-testid=\"sign-in-error\">{message}</p>\
         <form method=\"post\" action=\"/sign-in\">\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <label>Username <input name=\"username\" autocomplete=\"username\" required maxlength=\"64\"></label>\
         <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required maxlength=\"1024\"></label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"remember\" value=\"true\"> Remember me</label>\
         <button type=\"submit\" data-testid=\"sign-in-submit\">Sign in</button>\
         </form></section></main></body></html>",
        pkg = escape(&state.leptos_options.site_pkg_dir),
        bundle = escape(&state.leptos_options.output_name),
        message = escape(&message),
        next = escape(next.unwrap_or_default()),
    );
    let mut res = (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::RETRY_AFTER, HeaderValue::from(retry_after_secs)),
        ],
        html,
    )
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
    let remember = form.remember.is_some();
    let failure = |error| Redirect::to(&failure_target(error, next.as_deref())).into_response();
    match state
        .engine
        .sign_in(&mut auth, &form.username, &form.password, remember, &client)
        .await?
    {
        SignIn::Started(user) => {
            tracing::info!(user = %user.username, "signed in");
            // After "This wasn't me", a new password comes before anything else.
            let target = if state
                .engine
                .account_activity()
                .password_change_required(user.id)
                .await?
            {
                PASSWORD_CHANGE_REQUIRED
            } else {
                next.as_deref().unwrap_or("/home")
            };
            Ok(Redirect::to(target).into_response())
        }
        // A wrong password, an unknown name, or an account that changed while it was checked:
        // one answer.
        SignIn::Rejected => Ok(failure(SignInError::Failed)),
        SignIn::LimitReached => Ok(failure(SignInError::SessionLimit)),
        SignIn::Throttled {
            retry_after_secs, ..
        } => Ok(refusal_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            SignInError::Throttled,
            next.as_deref(),
            retry_after_secs,
        )),
        SignIn::Busy { retry_after_secs } => Err(AppError::unavailable(retry_after_secs)),
    }
}

/// Ends the session on the server (final, audited), expires the cookie and sends the browser
/// to `/` with a one-time notice. When the end cannot be recorded the answer is 503 and the
/// session (and its cookie) stay as they were: nothing claims a sign-out that did not happen.
pub async fn logout(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    mut auth: AuthSession,
) -> Result<Response, AppError> {
    let signed_in = state.engine.sign_out(&mut auth, &client).await?;
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
            failure_target(SignInError::Failed, Some("/home")),
            "/sign-in?error=1&next=%2Fhome"
        );
        assert_eq!(
            failure_target(SignInError::Failed, None),
            "/sign-in?error=1"
        );
    }
}
