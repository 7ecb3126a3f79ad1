//! `GET /sessions`: every device the person is signed in on, each revocable.

use crate::api::my_sessions;
use auto_logout::{dto::format_utc, redirect::sign_in_url, DeviceSession};
use auto_logout_leptos::SignOutForm;
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// The sessions page.
#[component]
pub fn Sessions() -> impl IntoView {
    let list = Resource::new(|| (), |_| my_sessions());
    view! {
        <section class="card wide">
            <h1>"Where you are signed in"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(devices) => view! { <DeviceTable devices /> }.into_any(),
                        Err(_) => view! { <Redirect path=sign_in_url("/sessions", None) /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DeviceTable(devices: Vec<DeviceSession>) -> impl IntoView {
    let others = devices.iter().filter(|d| !d.current).count();
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
            <tbody>
                {devices.into_iter().map(|d| view! { <DeviceRow device=d /> }).collect_view()}
            </tbody>
        </table>
        </div>
        {(others > 0).then(|| view! {
            <form method="post" action="/sessions/revoke-others">
                <button type="submit" data-testid="revoke-others">"Sign out all other sessions"</button>
            </form>
        })}
    }
}

#[component]
fn DeviceRow(device: DeviceSession) -> impl IntoView {
    let id = device.id.clone();
    let action = if device.current {
        view! {
            <span class="this-device" data-testid="this-device">"This device"</span>
            <SignOutForm class="inline">
                <button type="submit" class="secondary">"Sign out"</button>
            </SignOutForm>
        }
        .into_any()
    } else {
        view! {
            <form method="post" action="/sessions/revoke" class="inline">
                <input type="hidden" name="id" value=id />
                <button type="submit" data-testid="revoke">"Sign out"</button>
            </form>
        }
        .into_any()
    };
    view! {
        <tr data-testid="session-row" data-session-id=device.id.clone() data-current=device.current.to_string()>
            <td data-testid="browser">{format!("{} on {}", device.browser, device.os)}</td>
            <td>{device.device}{(device.kind == auto_logout::SessionKind::Api).then_some(" (API)")}</td>
            <td>{device.last_ip.unwrap_or_else(|| "unknown".into())}</td>
            <td>{format_utc(device.created_at)}</td>
            <td>{format_utc(device.last_seen_at)}</td>
            <td>{action}</td>
        </tr>
    }
}
