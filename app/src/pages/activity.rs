//! `GET /account/activity?before=`: "Was this you?" (SPEC §4). The person's own sign-ins,
//! sign-outs and failed attempts, newest first, a page at a time, with the device and roughly
//! where each came from; "This wasn't me" signs out everywhere and leads to a new password.

use crate::{api::account_activity, routes::use_query};
use auto_logout::{dto::format_utc, forms::NOT_ME};
use leptos::prelude::*;

/// The activity page.
#[component]
pub fn AccountActivity() -> impl IntoView {
    let before = use_query().non_empty("before");
    let page = Resource::new(move || before.clone(), account_activity);
    view! {
        <section class="card wide">
            <h1>"Your account's activity"</h1>
            <p>
                "Sign-ins, sign-outs and failed attempts on your account, newest first. If one \
                 was not you, sign out everywhere: you will sign in again and choose a new password."
            </p>
            <form method="post" action=NOT_ME>
                <button type="submit" class="danger" data-testid="not-me">"This wasn't me"</button>
            </form>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => {
                            let older = page
                                .older
                                .map(|cursor| format!("/account/activity?before={cursor}"));
                            view! {
                                <div class="table-scroll">
                                    <table class="sessions" data-testid="account-activity">
                                        <thead><tr>
                                            <th scope="col">"When"</th>
                                            <th scope="col">"What"</th>
                                            <th scope="col">"Device"</th>
                                            <th scope="col">"From (network)"</th>
                                        </tr></thead>
                                        <tbody>
                                            {page.entries.into_iter().map(|e| view! {
                                                <tr data-testid="activity-row" data-event=e.event.clone()>
                                                    <td>{format_utc(e.at)}</td>
                                                    <td>{e.what.clone()}</td>
                                                    <td>
                                                        {e.device.clone()}
                                                        {e.new_device.then(|| view! {
                                                            " "
                                                            <span class="badge" data-testid="new-device" title="The first sign-in from this kind of device">"New device"</span>
                                                        })}
                                                    </td>
                                                    <td>{e.place.clone().unwrap_or_else(|| "unknown".to_owned())}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                {older.map(|href| view! { <p><a href=href data-testid="next-page">"Older entries"</a></p> })}
                            }.into_any()
                        }
                        Err(err) => view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
