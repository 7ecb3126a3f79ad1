//! Server functions: thin wrappers that read the request's session and call the engine. Each
//! answers [`AppError`] on failure (the API's JSON error shape; the server sets the status from
//! its code).

use crate::error::AppError;
use auto_logout::UserView;
use leptos::prelude::*;

/// The request's head, or an internal error when there is no request (never in a server
/// function).
#[cfg(feature = "ssr")]
async fn request_parts() -> Result<axum::http::request::Parts, AppError> {
    leptos_axum::extract().await.map_err(|e| {
        tracing::error!(error = %e, "a server function ran without its request");
        AppError::new(
            auto_logout::api_error::ErrorCode::Internal,
            "The server failed; try again later.",
        )
    })
}

/// The signed-in user of the request `parts`: the engine's, as the server's page access check
/// put it on the request, if anyone.
#[cfg(feature = "ssr")]
pub fn user_of(parts: &axum::http::request::Parts) -> Option<UserView> {
    parts
        .extensions
        .get::<auto_logout::server::SignedInUser>()
        .map(|signed_in| signed_in.0.view())
}

/// The signed-in user of this request, or `None` for an anonymous visitor.
#[server]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    Ok(user_of(&request_parts().await?))
}

/// The one-time notice for the landing page (e.g. after signing out), consumed when shown.
///
/// A page visit consumes it: the browser's own, or one fetched by `crate::navigation` (which
/// says so with [`crate::SOFT_NAVIGATION_HEADER`]). Any other `fetch` of the page does not.
#[server]
pub async fn take_flash() -> Result<Option<String>, AppError> {
    use axum::http::{header, HeaderValue};
    use axum_extra::extract::CookieJar;
    let parts = request_parts().await?;
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(flash) = jar
        .get(auto_logout::cookies::FLASH_COOKIE)
        .map(|c| c.value().to_owned())
    else {
        return Ok(None);
    };
    let fetch_mode = parts
        .headers
        .get("sec-fetch-mode")
        .and_then(|v| v.to_str().ok());
    let is_server_fn_call = parts.uri.path().starts_with("/api/");
    let is_navigation = matches!(fetch_mode, None | Some("navigate"))
        || parts.headers.contains_key(crate::SOFT_NAVIGATION_HEADER);
    if is_server_fn_call || is_navigation {
        let response = expect_context::<leptos_axum::ResponseOptions>();
        let cookies = use_context::<auto_logout::cookies::CookiePolicy>().unwrap_or_default();
        if let Ok(removal) = HeaderValue::from_str(&cookies.flash_removal()) {
            response.append_header(header::SET_COOKIE, removal);
        }
    }
    Ok(match flash.as_str() {
        auto_logout::cookies::FLASH_SIGNED_OUT => Some("You have been signed out.".to_owned()),
        _ => None,
    })
}

/// The settings the sign-in page needs (the message after an automatic sign-out).
#[server(endpoint = "public_settings")]
pub async fn public_settings() -> Result<auto_logout::PublicSettings, AppError> {
    use_context::<auto_logout::PublicSettings>().ok_or_else(|| {
        tracing::error!("the public settings are not in the render context");
        AppError::new(
            auto_logout::api_error::ErrorCode::Internal,
            "The server failed; try again later.",
        )
    })
}

/// The request's live session, as the engine's layer found it (401 without one).
#[cfg(feature = "ssr")]
async fn signed_in() -> Result<auto_logout::server::ActiveSession, AppError> {
    request_parts()
        .await?
        .extensions
        .get::<auto_logout::server::ActiveSession>()
        .cloned()
        .ok_or_else(AppError::unauthenticated)
}

/// The request's session and the administrator operations, if the caller is an administrator
/// (401 without a session, 403 for anyone else).
#[cfg(feature = "ssr")]
async fn administrator() -> Result<auto_logout::server::Admin, AppError> {
    use auto_logout::api_error::ErrorCode;
    let me = signed_in().await?;
    let admin = use_context::<auto_logout::server::Admin>().ok_or_else(|| {
        tracing::error!("the admin operations are not in the render context");
        AppError::unavailable(1)
    })?;
    if !admin.is_admin(me.user_id).await? {
        return Err(AppError::new(ErrorCode::Forbidden, "Administrators only."));
    }
    Ok(admin)
}

/// Maps a refused admin filter to 400, storage failures to 503.
#[cfg(feature = "ssr")]
fn admin_query_error(err: auto_logout::server::admin::AdminQueryError) -> AppError {
    use auto_logout::{api_error::ErrorCode, server::admin::AdminQueryError};
    match err {
        AdminQueryError::Store(err) => err.into(),
        other => AppError::new(ErrorCode::BadRequest, other.to_string()),
    }
}

/// One page of the signed-in person's own activity ("Was this you?"), newest first; `before`
/// is the "Older entries" cursor.
#[server(endpoint = "account_activity")]
pub async fn account_activity(
    /// The cursor of the page, when it is not the first.
    before: Option<String>,
) -> Result<auto_logout::account_activity::AccountActivityPage, AppError> {
    use auto_logout::{account_activity::ActivityCursor, api_error::ErrorCode};
    let me = signed_in().await?;
    let before = before
        .as_deref()
        .filter(|b| !b.is_empty())
        .map(str::parse::<ActivityCursor>)
        .transpose()
        .map_err(|err| AppError::new(ErrorCode::BadRequest, err.to_string()))?;
    let engine = use_context::<auto_logout::server::Engine>().ok_or_else(|| {
        tracing::error!("the engine is not in the render context");
        AppError::unavailable(1)
    })?;
    Ok(engine.account_activity().page(me.user_id, before).await?)
}

/// Every session matching the filters, newest first (administrators only).
#[server(endpoint = "admin_sessions")]
pub async fn admin_sessions(
    /// The filters and the page cursor.
    query: auto_logout::dto::SessionsQuery,
) -> Result<auto_logout::dto::SessionsPage, AppError> {
    let admin = administrator().await?;
    admin.sessions_page(&query).await.map_err(admin_query_error)
}

/// The activity log matching the filters, newest first (administrators only).
#[server(endpoint = "admin_activity")]
pub async fn admin_activity(
    /// The filters and the page cursor.
    query: auto_logout::dto::ActivityQuery,
) -> Result<auto_logout::dto::ActivityPage, AppError> {
    let admin = administrator().await?;
    admin.activity_page(&query).await.map_err(admin_query_error)
}

/// Every account with its live sessions and latest sign-in (administrators only).
#[server(endpoint = "admin_users")]
pub async fn admin_users() -> Result<Vec<auto_logout::dto::UserSummary>, AppError> {
    let admin = administrator().await?;
    Ok(admin.users().await?)
}
