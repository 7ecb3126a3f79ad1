//! The device list's form endpoints, for any application (the `DeviceList` of
//! `auto-logout-leptos`, or a server-rendered page of its own), served by
//! [`Engine::devices_router`](crate::server::Engine::devices_router): sign out one of the
//! caller's devices, or every other one, and go back to the page the form came from. They work
//! without JavaScript. A form from another site, or one that does not say where it came from
//! while carrying the session cookie, is refused with 403 (the engine's CSRF rule,
//! [`csrf_verdict`]).

use super::{csrf::csrf_verdict, current::CurrentSession};
use crate::server::sessions::ClientInfo;
use crate::{redirect::safe_next, server::Engine};
use axum::{
    extract::Request,
    http::Method,
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::post,
    Extension, Form, Router,
};
use serde::Deserialize;

/// Where a form signs out one device: fields `id` (the session's public id) and `back` (a
/// local path to return to; `/` otherwise).
pub const REVOKE_PATH: &str = crate::forms::DEVICE_REVOKE;
/// Where a form signs out every device but the caller's: field `back`.
pub const REVOKE_OTHERS_PATH: &str = crate::forms::DEVICE_REVOKE_OTHERS;

/// What the forms send.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeviceForm {
    /// The session to sign out (one device).
    pub id: String,
    /// Where to go afterwards.
    pub back: String,
}

impl DeviceForm {
    fn back(&self) -> Redirect {
        Redirect::to(&safe_next(&self.back).unwrap_or_else(|| "/".to_owned()))
    }
}

/// The router of both endpoints, with `engine` beside them.
pub fn router<S: Clone + Send + Sync + 'static>(engine: Engine) -> Router<S> {
    Router::new()
        .route(REVOKE_PATH, post(revoke))
        .route(REVOKE_OTHERS_PATH, post(revoke_others))
        .layer(middleware::from_fn(refuse_cross_site))
        .layer(Extension(engine))
}

/// 403 for a form the engine's CSRF rule refuses.
async fn refuse_cross_site(
    Extension(engine): Extension<Engine>,
    req: Request,
    next: Next,
) -> Response {
    if csrf_verdict(&Method::POST, req.headers(), engine.cookies()).is_refused() {
        return super::cross_site_refusal(false);
    }
    next.run(req).await
}

/// Signs out the device `id` of the caller's, then back.
async fn revoke(
    Extension(engine): Extension<Engine>,
    me: Option<CurrentSession>,
    client: Option<Extension<ClientInfo>>,
    Form(form): Form<DeviceForm>,
) -> Response {
    let back = form.back();
    let Some(CurrentSession(me)) = me else {
        return back.into_response();
    };
    let client = client.map(|Extension(c)| c).unwrap_or_default();
    let ids = [form.id];
    let done = engine.gate().revoke(me.user_id, &ids, me.user_id, &client);
    answer(done.await.map(|_| ()), back)
}

/// Signs out every device of the caller's but this one, then back.
async fn revoke_others(
    Extension(engine): Extension<Engine>,
    me: Option<CurrentSession>,
    client: Option<Extension<ClientInfo>>,
    Form(form): Form<DeviceForm>,
) -> Response {
    let back = form.back();
    let Some(CurrentSession(me)) = me else {
        return back.into_response();
    };
    let client = client.map(|Extension(c)| c).unwrap_or_default();
    let gate = engine.gate();
    let done = gate.revoke_all_except(me.user_id, Some(&me.id_hash), me.user_id, &client);
    answer(done.await.map(|_| ()), back)
}

/// Back to the page once done; 503 when the storage failed.
fn answer(done: Result<(), crate::server::StoreError>, back: Redirect) -> Response {
    match done {
        Ok(()) => back.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "signing out a device failed");
            super::error::unavailable(1, false)
        }
    }
}
