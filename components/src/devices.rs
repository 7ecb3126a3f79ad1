//! [`DeviceList`]: every device the signed-in person is signed in on, each with a button
//! that signs it out, and one that signs out all the others. Plain forms: it works without
//! JavaScript. On the server it lists the request's sessions through the engine.

use crate::sign_out::SignOutForm;
use auto_logout::{dto::format_utc, DeviceSession, SessionKind};
use leptos::either::Either;
use leptos::prelude::*;
use std::sync::Arc;

/// The request's session and the engine serving it (the one the application put in the
/// context, or the one the engine's layers put on the request); `None` without either.
#[cfg(feature = "ssr")]
fn session_of_request() -> Option<(
    auto_logout::server::ActiveSession,
    auto_logout::server::Engine,
)> {
    use auto_logout::server::{ActiveSession, Engine};
    with_context::<axum::http::request::Parts, _>(|parts| {
        let me = parts.extensions.get::<ActiveSession>()?.clone();
        let engine =
            use_context::<Engine>().or_else(|| parts.extensions.get::<Engine>().cloned())?;
        Some((me, engine))
    })?
}

/// The request's person's devices, newest first, if the engine keeps their list in memory:
/// the page then renders in one pass, with nothing to wait for.
#[cfg(feature = "ssr")]
fn kept_devices_of_request() -> Option<Vec<DeviceSession>> {
    let (me, engine) = session_of_request()?;
    engine.gate().kept_devices_of(me.user_id, Some(&me.id_hash))
}

/// The request's person's devices, newest first, read through the engine; `None` without a
/// live session or an engine.
#[cfg(feature = "ssr")]
async fn devices_of_request() -> Option<Vec<DeviceSession>> {
    let (me, engine) = session_of_request()?;
    engine
        .gate()
        .devices_of(me.user_id, Some(&me.id_hash))
        .await
        .ok()
}

/// The device list. `revoke_path`, `revoke_others_path` and `sign_out_path` are where its
/// forms post (defaults: the engine's `Engine::devices_router` and `/logout`); `back` is
/// where those endpoints return (default `/sessions`). Hooks: `[data-testid=sessions-table]`,
/// `session-row` (with `data-current`), `this-device`, `revoke`, `revoke-others`.
#[component]
pub fn DeviceList(
    /// Where one device is signed out (`id`, `back`).
    #[prop(optional, into)]
    revoke_path: Option<String>,
    /// Where all other devices are signed out (`back`).
    #[prop(optional, into)]
    revoke_others_path: Option<String>,
    /// Where this device signs out.
    #[prop(optional, into)]
    sign_out_path: Option<String>,
    /// The page the engine's endpoints return to.
    #[prop(optional, into)]
    back: Option<String>,
) -> impl IntoView {
    use auto_logout::forms::{DEVICE_REVOKE, DEVICE_REVOKE_OTHERS, SESSIONS, SIGN_OUT};
    let path = |given: Option<String>, default: &str| -> Arc<str> {
        given.as_deref().unwrap_or(default).into()
    };
    let paths = Paths {
        revoke: path(revoke_path, DEVICE_REVOKE),
        revoke_others: path(revoke_others_path, DEVICE_REVOKE_OTHERS),
        sign_out: path(sign_out_path, SIGN_OUT),
        back: path(back, SESSIONS),
    };
    // A list the engine keeps renders at once; any other is read, and waited for.
    #[cfg(feature = "ssr")]
    let kept = kept_devices_of_request();
    #[cfg(not(feature = "ssr"))]
    let kept = None::<Vec<DeviceSession>>;
    if let Some(devices) = kept {
        return Either::Left(view! { <DeviceTable devices paths /> });
    }
    let list = Resource::new(
        || (),
        |_| async move {
            #[cfg(feature = "ssr")]
            return devices_of_request().await;
            #[cfg(not(feature = "ssr"))]
            None::<Vec<DeviceSession>>
        },
    );
    Either::Right(view! {
        <Suspense fallback=|| ()>
            {move || {
                let paths = paths.clone();
                Suspend::new(async move {
                    list.await.map(|devices| view! { <DeviceTable devices paths /> })
                })
            }}
        </Suspense>
    })
}

/// Where the list's forms post (shared by every row: a clone counts a reference).
#[derive(Clone, PartialEq)]
struct Paths {
    revoke: Arc<str>,
    revoke_others: Arc<str>,
    sign_out: Arc<str>,
    back: Arc<str>,
}

/// The tables of lists shown lately, kept with their lists: a list shown again unchanged
/// (the engine keeps it, and nothing happened since) is written out as it was rendered.
#[cfg(feature = "ssr")]
static TABLES: crate::render_memo::RenderMemo<(Vec<DeviceSession>, Paths)> =
    crate::render_memo::RenderMemo::new(64);

#[component]
fn DeviceTable(devices: Vec<DeviceSession>, paths: Paths) -> impl IntoView {
    let others = devices.iter().filter(|d| !d.current).count();
    let revoke_others = (others > 0).then(|| {
        view! {
            <form method="post" action=paths.revoke_others.clone()>
                <input type="hidden" name="back" value=paths.back.clone() />
                <button type="submit" data-testid="revoke-others">"Sign out all other sessions"</button>
            </form>
        }
    });
    #[cfg(feature = "ssr")]
    let table = TABLES.render((devices, paths), |(devices, paths)| {
        device_table(devices, paths)
    });
    #[cfg(not(feature = "ssr"))]
    let table = device_table(&devices, &paths);
    view! { {table} {revoke_others} }
}

/// The table of `devices`, one row each.
fn device_table(devices: &[DeviceSession], paths: &Paths) -> impl IntoView {
    let rows = devices
        .iter()
        .map(|device| view! { <DeviceRow device=device.clone() paths=paths.clone() /> })
        .collect_view();
    view! {
        <div class="table-scroll">
        <table class="sessions" data-testid="sessions-table">
            <thead>
                <tr>
                    <th scope="col">"Browser"</th>
                    <th scope="col">"Device"</th>
                    <th scope="col">"IP"</th>
                    <th scope="col">"Signed in"</th>
                    <th scope="col">"Last seen"</th>
                    <th scope="col"><span class="sr-only">"Action"</span></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        </div>
    }
}

#[component]
fn DeviceRow(device: DeviceSession, paths: Paths) -> impl IntoView {
    let action = if device.current {
        Either::Left(view! {
            <span class="this-device" data-testid="this-device">"This device"</span>
            <SignOutForm class="inline" action=paths.sign_out.to_string()>
                <button type="submit" class="secondary">"Sign out"</button>
            </SignOutForm>
        })
    } else {
        Either::Right(view! {
            <form method="post" action=paths.revoke.clone() class="inline">
                <input type="hidden" name="id" value=device.id.clone() />
                <input type="hidden" name="back" value=paths.back.clone() />
                <button type="submit" data-testid="revoke">"Sign out"</button>
            </form>
        })
    };
    view! {
        <tr data-testid="session-row" data-session-id=device.id.clone() data-current=if device.current { "true" } else { "false" }>
            <td data-testid="browser">
                {format!("{} on {}", device.browser, device.os)}
                {device.new_device.then(|| view! {
                    " "
                    <span class="badge" data-testid="new-device" title="The first sign-in from this kind of device">"New device"</span>
                })}
            </td>
            <td>{device.device}{(device.kind == SessionKind::Api).then_some(" (API)")}</td>
            <td>{device.last_ip.unwrap_or_else(|| "unknown".into())}</td>
            <td>{format_utc(device.created_at)}</td>
            <td>{format_utc(device.last_seen_at)}</td>
            <td>{action}</td>
        </tr>
    }
}
