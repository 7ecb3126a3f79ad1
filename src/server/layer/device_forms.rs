//! The device list's form endpoints, for any application (the `DeviceList` of
//! `auto-logout-leptos`, or a server-rendered page of its own), served by
//! [`Engine::devices_router`](crate::server::Engine::devices_router): sign out one of the
//! caller's devices, or every other one, and go back to the page the form came from. They work
//! without JavaScript. Signing out another device is a sensitive action: outside the
//! re-authentication window the answer asks for the password first
//! ([`reauth_form`](super::reauth_form)). A form from another site, or one that does not say where it came from
//! while carrying the session cookie, is refused with 403 (the engine's CSRF rule,
//! [`csrf_verdict`]).

use super::{
    csrf::csrf_verdict,
    current::CurrentSession,
    reauth_form::{confirm_form, form_fields, Confirmed, Prompt},
};
use crate::server::sessions::ClientInfo;
use crate::{redirect::safe_next, server::Engine};
use axum::{
    body::Bytes,
    extract::{OriginalUri, Request},
    http::Method,
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::post,
    Extension, Router,
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

/// The form, once the person proved their password recently enough (signing out *other*
/// devices is a sensitive action; signing out this one is not), or the answer instead.
async fn confirmed(
    engine: &Engine,
    me: &crate::server::ActiveSession,
    client: &ClientInfo,
    action: &str,
    fields: Vec<(String, String)>,
) -> Confirmed<DeviceForm> {
    let plain: DeviceForm =
        serde_urlencoded::from_str(&serde_urlencoded::to_string(&fields).unwrap_or_default())
            .unwrap_or_default();
    if plain.id == me.id_hash {
        return Confirmed::Proceed(plain);
    }
    let cancel = safe_next(&plain.back).unwrap_or_else(|| "/".to_owned());
    let prompt = Prompt {
        action_name: "Signing out your other devices",
        action,
        cancel: &cancel,
    };
    confirm_form(engine, me, client, prompt, fields).await
}

/// Signs out the device `id` of the caller's, then back (the handler of [`REVOKE_PATH`]; an
/// application may route another path to it, with the [`Engine`] as an extension).
pub async fn revoke(
    Extension(engine): Extension<Engine>,
    OriginalUri(uri): OriginalUri,
    me: Option<CurrentSession>,
    client: Option<Extension<ClientInfo>>,
    body: Bytes,
) -> Response {
    let fields = form_fields(&body);
    let client = client.map(|Extension(c)| c).unwrap_or_default();
    let Some(CurrentSession(me)) = me else {
        return back_of(&fields).into_response();
    };
    let form = match confirmed(&engine, &me, &client, uri.path(), fields).await {
        Confirmed::Proceed(form) => form,
        Confirmed::Answer(answer) => return answer,
    };
    let back = form.back();
    let ids = [form.id];
    let done = engine.gate().revoke(me.user_id, &ids, me.user_id, &client);
    answer(done.await.map(|_| ()), back)
}

/// Signs out every device of the caller's but this one, then back (the handler of
/// [`REVOKE_OTHERS_PATH`]; routable elsewhere as [`revoke`]).
pub async fn revoke_others(
    Extension(engine): Extension<Engine>,
    OriginalUri(uri): OriginalUri,
    me: Option<CurrentSession>,
    client: Option<Extension<ClientInfo>>,
    body: Bytes,
) -> Response {
    let mut fields = form_fields(&body);
    let client = client.map(|Extension(c)| c).unwrap_or_default();
    let Some(CurrentSession(me)) = me else {
        return back_of(&fields).into_response();
    };
    // Not one device: every other one.
    fields.retain(|(name, _)| name != "id");
    let form = match confirmed(&engine, &me, &client, uri.path(), fields).await {
        Confirmed::Proceed(form) => form,
        Confirmed::Answer(answer) => return answer,
    };
    let back = form.back();
    let gate = engine.gate();
    let done = gate.revoke_all_except(me.user_id, Some(&me.id_hash), me.user_id, &client);
    answer(done.await.map(|_| ()), back)
}

/// Where the form in `fields` wants to go back to.
fn back_of(fields: &[(String, String)]) -> Redirect {
    let back = fields
        .iter()
        .rev()
        .find(|(name, _)| name == "back")
        .map_or("", |(_, value)| value.as_str());
    Redirect::to(&safe_next(back).unwrap_or_else(|| "/".to_owned()))
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
