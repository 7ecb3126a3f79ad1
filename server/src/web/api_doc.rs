//! The JSON API under `/api/v1` (SPEC §7), the JWK Set at `/.well-known/jwks.json`, and their
//! OpenAPI 3.1 description, built together: every route here is registered with its
//! description (utoipa-axum), so the two cannot drift.

use super::{admin_api, api_auth, devices};
use crate::state::AppState;
use auto_logout::{
    api_error::ErrorBody,
    server::{layer::status, CurrentSession},
};
use axum::{extract::State, response::Response, Json, Router};
use std::sync::LazyLock;
use utoipa::{
    openapi::{
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
        OpenApi as OpenApiDoc,
    },
    Modify, OpenApi,
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The document's frame: title, security schemes, shared schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "auto-logout",
        description = "Session management: idle and absolute limits, every device, API clients. \
                       Errors are `{\"error\": code, \"message\": text}`; 401 carries \
                       `WWW-Authenticate: Bearer`.",
    ),
    modifiers(&Security),
    security(("bearer" = []), ("cookie" = [])),
    components(schemas(ErrorBody, auto_logout::api_error::ErrorCode, auto_logout::SessionKind))
)]
struct ApiFrame;

/// The two ways in: `Authorization: Bearer` (an API token or a JWT) and the session cookie.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token from /auth/token or a JWT from /auth/jwt \
                         (`Authorization: Token …` is accepted too)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                auto_logout::cookies::SESSION_COOKIE,
            ))),
        );
    }
}

/// `GET /api/v1/session`: what is left of the caller's session. Passive.
#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    summary = "What is left of the caller's session (passive: never counts as activity)",
    responses(
        (status = 200, description = "The session's status", body = status::SessionBody),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
async fn session_status(current: CurrentSession) -> status::SessionBody {
    status::session_status(current).await
}

/// `POST /api/v1/session/extend`: activity; the new status.
#[utoipa::path(post, path = "/api/v1/session/extend", tag = "session",
    summary = "Count as activity (\"stay signed in\") and return the new status",
    responses(
        (status = 200, description = "The session's status", body = status::SessionBody),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
async fn extend_session(current: CurrentSession) -> status::SessionBody {
    status::extend_session(current).await
}

/// `POST /api/v1/session/tabs`: what a tab of the site says about itself. Passive.
#[utoipa::path(post, path = "/api/v1/session/tabs", tag = "session",
    summary = "What a tab of the site says about itself (end_with_last_tab; passive)",
    description = "The body is `visible` (a visible tab, every few seconds), `hidden` (the open \
                   tabs are hidden) or `closed` (the last tab closed), as text, the way \
                   `navigator.sendBeacon` sends it. With `end_with_last_tab`, a session whose \
                   last tab closed ends `last_tab_grace` later unless a tab speaks first; one \
                   whose visible tab went silent for four graces ends too; a hidden tab keeps \
                   it. Sessions whose tabs never speak are not ended by the rule. Answers the \
                   status, like `GET /api/v1/session`.",
    request_body(content = auto_logout::last_tab::TabSignal, content_type = "text/plain",
        description = "`visible`, `hidden` or `closed`"),
    responses(
        (status = 200, description = "Heard; the session's status", body = status::SessionBody),
        (status = 401, description = "No session, or it has ended", body = ErrorBody),
        (status = 422, description = "Not one of the signals", body = ErrorBody),
        (status = 503, description = "Temporarily unavailable; see Retry-After", body = ErrorBody),
    ))]
async fn session_tabs(
    State(state): State<AppState>,
    current: CurrentSession,
    body: axum::body::Bytes,
) -> Response {
    status::hear_tabs(&state.engine, current, body).await
}

/// `GET /api/v1/openapi.json`: this description.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(),
    summary = "This OpenAPI 3.1 description",
    responses((status = 200, description = "The description", content_type = "application/json")))]
async fn openapi_json() -> Json<&'static OpenApiDoc> {
    Json(&API.1)
}

/// `GET /.well-known/jwks.json`: the public keys that verify access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "meta", security(),
    summary = "The public keys that verify JWT access tokens (a JWK Set)",
    description = "`{\"keys\": [...]}`: each key that verifies access tokens now, with `kid`, \
                   `alg` (EdDSA or ES256) and `use: sig`, so that another service verifies our \
                   tokens without a shared secret. Empty with `jwt_algorithm` HS256: HMAC \
                   secrets are never published. A key retired by `server keys rotate` leaves \
                   the set when its tokens stop being accepted.",
    responses((status = 200, description = "The JWK Set", content_type = "application/json")))]
async fn jwks(State(state): State<AppState>) -> Response {
    state.engine.jwks_response().await
}

/// The `/api/v1` routes (and the JWK Set) and their description.
fn build() -> (Router<AppState>, OpenApiDoc) {
    OpenApiRouter::with_openapi(ApiFrame::openapi())
        .routes(routes!(session_status))
        .routes(routes!(extend_session))
        .routes(routes!(session_tabs))
        .routes(routes!(devices::list, devices::delete_many))
        .routes(routes!(devices::delete_one))
        .routes(routes!(api_auth::token))
        .routes(routes!(api_auth::jwt))
        .routes(routes!(api_auth::refresh))
        .routes(routes!(api_auth::logout))
        .routes(routes!(openapi_json))
        .routes(routes!(jwks))
        .routes(routes!(admin_api::sessions))
        .routes(routes!(admin_api::end_session))
        .routes(routes!(admin_api::activity))
        .routes(routes!(admin_api::users, admin_api::create_user))
        .routes(routes!(admin_api::disable_user))
        .routes(routes!(admin_api::enable_user))
        .routes(routes!(admin_api::sign_out_user))
        .routes(routes!(admin_api::sign_out_all))
        .routes(routes!(api_auth::reauth))
        .split_for_parts()
}

static API: LazyLock<(Router<AppState>, OpenApiDoc)> = LazyLock::new(build);

/// Every route under `/api/v1`, each with its description.
pub fn router() -> Router<AppState> {
    API.0.clone()
}

/// The OpenAPI description of [`router`].
pub fn description() -> &'static OpenApiDoc {
    &API.1
}
