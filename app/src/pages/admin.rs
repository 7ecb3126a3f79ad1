//! The admin console (administrators only; the server answers 403 to anyone else):
//! `/admin/sessions`, `/admin/activity` and `/admin/users`. Filters are plain GET forms,
//! actions plain POST forms, so every page works without JavaScript; once WebAssembly has
//! loaded, `crate::navigation` does both without full reloads.

use crate::components::drafts::KeepDraftsOfUser;
use crate::{
    api::{admin_activity, admin_sessions, admin_users},
    error::AppError,
    routes::use_query,
};
use auto_logout::{
    dto::{
        format_utc, ActivityQuery, AdminSession, SessionState, SessionsPage, SessionsQuery,
        UserSummary,
    },
    forms::{UserAction, UsersOutcome},
    AuditEvent, SessionKind,
};
use leptos::either::Either;
use leptos::prelude::*;

/// The console's own navigation.
#[component]
fn AdminNav() -> impl IntoView {
    view! {
        <nav class="subnav" aria-label="Admin">
            <a href="/admin/sessions">"Sessions"</a>
            <a href="/admin/activity">"Activity"</a>
            <a href="/admin/users">"Users"</a>
        </nav>
    }
}

/// What a failed load says.
fn load_error(err: &AppError) -> impl IntoView {
    view! { <p class="error" role="alert">{err.to_string()}</p> }
}

/// The query value `name` of the current URL, if not empty.
fn query_value(name: &'static str) -> impl Fn() -> Option<String> + Copy {
    let query = StoredValue::new(use_query());
    move || query.with_value(|query| query.non_empty(name))
}

/// `GET /admin/sessions?state=&user=&kind=&cursor=`.
#[component]
pub fn AdminSessions() -> impl IntoView {
    let (state, user, kind, cursor) = (
        query_value("state"),
        query_value("user"),
        query_value("kind"),
        query_value("cursor"),
    );
    let query = move || SessionsQuery {
        state: state().and_then(|s| match s.as_str() {
            "active" => Some(SessionState::Active),
            "ended" => Some(SessionState::Ended),
            _ => None,
        }),
        user: user(),
        kind: kind().and_then(|k| match k.as_str() {
            "browser" => Some(SessionKind::Browser),
            "api" => Some(SessionKind::Api),
            _ => None,
        }),
        cursor: cursor(),
        limit: Some(50),
    };
    #[cfg(feature = "ssr")]
    let kept = kept_sessions_page(&query());
    #[cfg(not(feature = "ssr"))]
    let kept = None::<std::sync::Arc<SessionsPage>>;
    let here = move || {
        format!(
            "/admin/sessions?state={}&user={}&kind={}",
            state().unwrap_or_default(),
            user().unwrap_or_default(),
            kind().unwrap_or_default()
        )
    };
    let ended = query_value("ended");
    view! {
        <section class="card wide">
            <AdminNav />
            <h1>"Every session"</h1>
            {move || ended().and_then(|n| n.parse::<u64>().ok()).map(|n| view! {
                <p class="notice" role="status" data-testid="signed-out-everyone">
                    {format!("Signed out everyone: {n} session{} ended.", if n == 1 { "" } else { "s" })}
                </p>
            })}
            <form method="post" action=auto_logout::forms::ADMIN_SIGN_OUT_ALL class="filters sign-out-all">
                <label><input type="checkbox" name="except_admins" value="1" />" except administrators"</label>
                <label><input type="checkbox" name="except_self" value="1" checked />" except me"</label>
                <button type="submit" class="danger" data-testid="sign-out-all">"Sign out everyone"</button>
            </form>
            <form method="get" action="/admin/sessions" class="filters">
                <label>"State "
                    <select name="state">
                        <option value="" selected=move || state().is_none()>"Any"</option>
                        <option value="active" selected=move || state().as_deref() == Some("active")>"Active"</option>
                        <option value="ended" selected=move || state().as_deref() == Some("ended")>"Ended"</option>
                    </select>
                </label>
                <label>"User " <input name="user" value=move || user().unwrap_or_default() /></label>
                <label>"Kind "
                    <select name="kind">
                        <option value="" selected=move || kind().is_none()>"Any"</option>
                        <option value="browser" selected=move || kind().as_deref() == Some("browser")>"Browser"</option>
                        <option value="api" selected=move || kind().as_deref() == Some("api")>"API"</option>
                    </select>
                </label>
                <button type="submit" data-testid="filter">"Filter"</button>
            </form>
            {match kept {
                // A page the engine keeps renders at once; any other is read, and waited for.
                Some(page) => Either::Left(sessions_table(page, here())),
                None => Either::Right({
                    let page = Resource::new(query, admin_sessions);
                    view! {
                    <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match page.await {
                                Ok(page) => sessions_table(page.into(), here()).into_any(),
                                Err(err) => load_error(&err).into_any(),
                            }
                        })}
                    </Transition>
                    }
                }),
            }}
        </section>
    }
}

/// The session list kept by the engine for `query`, if the request is an administrator's
/// (as the page's guard found) and the page was read lately with nothing changed since.
#[cfg(feature = "ssr")]
fn kept_sessions_page(query: &SessionsQuery) -> Option<std::sync::Arc<SessionsPage>> {
    let is_admin = with_context::<axum::http::request::Parts, _>(|parts| {
        parts
            .extensions
            .get::<auto_logout::server::SignedInUser>()
            .is_some_and(|signed_in| signed_in.0.is_admin && !signed_in.0.disabled)
    })?;
    if !is_admin {
        return None;
    }
    use_context::<auto_logout::server::Admin>()?.kept_sessions_page(query)
}

/// One page of sessions as a table, with the link to the next; `here` is the list with its
/// filters (where a row's "Sign out" returns).
fn sessions_table(page: std::sync::Arc<SessionsPage>, here: String) -> impl IntoView {
    let next = page
        .next_cursor
        .as_ref()
        .map(|c| format!("{here}&cursor={c}"));
    #[cfg(feature = "ssr")]
    let table = TABLES.render((page, here), |(page, here)| sessions_rows(page, here));
    #[cfg(not(feature = "ssr"))]
    let table = sessions_rows(&page, &here);
    view! {
        {table}
        {next.map(|href| view! { <p><a href=href data-testid="next-page">"Older sessions"</a></p> })}
    }
}

/// The tables of the pages shown lately (with the list each row returns to), kept with their
/// pages: a page the engine keeps, shown again unchanged, is written out as it was rendered.
#[cfg(feature = "ssr")]
static TABLES: auto_logout_leptos::render_memo::RenderMemo<(std::sync::Arc<SessionsPage>, String)> =
    auto_logout_leptos::render_memo::RenderMemo::new(8);

/// The table of `page`'s sessions; each row's "Sign out" returns to `here`.
fn sessions_rows(page: &SessionsPage, here: &str) -> impl IntoView {
    // Every row returns here: one shared copy.
    let back: std::sync::Arc<str> = here.into();
    view! {
        <div class="table-scroll">
            <table class="sessions" data-testid="admin-sessions">
                <thead><tr>
                    <th scope="col">"User"</th>
                    <th scope="col">"Browser"</th>
                    <th scope="col">"IP"</th>
                    <th scope="col">"Last seen"</th>
                    <th scope="col">"Ended"</th>
                    <th scope="col"><span class="sr-only">"Action"</span></th>
                </tr></thead>
                <tbody>
                    {page.sessions.iter().map(|s| session_row(s, back.clone())).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// One session's row; its "Sign out" returns to `back`.
fn session_row(session: &AdminSession, back: std::sync::Arc<str>) -> impl IntoView {
    let d = &session.device;
    let live = session.ended_at.is_none();
    let ended = session.ended_at.map(|at| {
        let by = session
            .ended_by_user
            .as_deref()
            .map(|who| format!(" by {who}"))
            .unwrap_or_default();
        format!(
            "{} ({}{by})",
            format_utc(at),
            session.end_reason.clone().unwrap_or_default()
        )
    });
    let id = d.id.clone();
    view! {
        <tr data-testid="admin-session-row" data-session-id=d.id.clone() data-user=session.user.clone()>
            <td>{session.user.clone().unwrap_or_default()}</td>
            <td>{format!("{} on {}", d.browser, d.os)}{(d.kind == SessionKind::Api).then_some(" (API)")}</td>
            <td>{d.last_ip.clone().unwrap_or_else(|| "unknown".into())}</td>
            <td>{format_utc(d.last_seen_at)}</td>
            <td>{ended.unwrap_or_else(|| "live".into())}</td>
            <td>
                {live.then(|| view! {
                    <form method="post" action="/admin/sessions/end" class="inline">
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="back" value=back />
                        <button type="submit" data-testid="admin-end-session">"Sign out"</button>
                    </form>
                })}
            </td>
        </tr>
    }
}

/// `GET /admin/activity?user=&event=&since=&until=&cursor=` (dates as YYYY-MM-DD, UTC).
#[component]
pub fn AdminActivity() -> impl IntoView {
    let (user, event, since, until, cursor) = (
        query_value("user"),
        query_value("event"),
        query_value("since"),
        query_value("until"),
        query_value("cursor"),
    );
    let query = move || ActivityQuery {
        user: user(),
        event: event(),
        since: since().and_then(|d| day_start_ms(&d)),
        until: until()
            .and_then(|d| day_start_ms(&d))
            .map(|ms| ms + 86_400_000 - 1),
        cursor: cursor().and_then(|c| c.parse().ok()),
        limit: Some(100),
    };
    let page = Resource::new(query, admin_activity);
    let filters = move || {
        format!(
            "user={}&event={}&since={}&until={}",
            user().unwrap_or_default(),
            event().unwrap_or_default(),
            since().unwrap_or_default(),
            until().unwrap_or_default()
        )
    };
    let csv = move || {
        let q = query();
        format!(
            "/admin/activity.csv?user={}&event={}{}{}",
            q.user.unwrap_or_default(),
            q.event.unwrap_or_default(),
            q.since.map(|s| format!("&since={s}")).unwrap_or_default(),
            q.until.map(|u| format!("&until={u}")).unwrap_or_default(),
        )
    };
    view! {
        <section class="card wide">
            <AdminNav />
            <h1>"Activity"</h1>
            <form method="get" action="/admin/activity" class="filters">
                <label>"User " <input name="user" value=move || user().unwrap_or_default() /></label>
                <label>"Event "
                    <select name="event" data-testid="event-filter">
                        <option value="" selected=move || event().is_none()>"Any"</option>
                        {AuditEvent::ALL.into_iter().map(|e| view! {
                            <option value=e.as_str() selected=move || event().as_deref() == Some(e.as_str())>{e.as_str()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"From " <input type="date" name="since" value=move || since().unwrap_or_default() /></label>
                <label>"To " <input type="date" name="until" value=move || until().unwrap_or_default() /></label>
                <button type="submit" data-testid="filter">"Filter"</button>
            </form>
            <p><a href=csv data-testid="csv" rel="external" download="activity.csv">"Download as CSV"</a></p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => {
                            let next = page.next_cursor.map(|c| format!("/admin/activity?{}&cursor={c}", filters()));
                            view! {
                                <div class="table-scroll">
                                    <table class="sessions" data-testid="activity">
                                        <thead><tr>
                                            <th scope="col">"When"</th>
                                            <th scope="col">"Event"</th>
                                            <th scope="col">"User"</th>
                                            <th scope="col">"IP"</th>
                                            <th scope="col">"Detail"</th>
                                        </tr></thead>
                                        <tbody>
                                            {page.entries.into_iter().map(|e| view! {
                                                <tr data-testid="activity-row" data-event=e.event.clone()>
                                                    <td>{format_utc(e.at)}</td>
                                                    <td>{e.event.clone()}</td>
                                                    <td>{e.username.clone().unwrap_or_default()}</td>
                                                    <td>{e.ip.clone().unwrap_or_default()}</td>
                                                    <td>
                                                        {e.detail.clone().unwrap_or_default()}
                                                        {(e.repeat_count > 1).then(|| view! {
                                                            <span class="repeats" data-testid="repeat-count">
                                                                {format!(" ({} attempts)", e.repeat_count)}
                                                            </span>
                                                        })}
                                                    </td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                {next.map(|href| view! { <p><a href=href data-testid="next-page">"Older entries"</a></p> })}
                            }.into_any()
                        }
                        Err(err) => load_error(&err).into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// `YYYY-MM-DD` as the first millisecond of that day, UTC.
fn day_start_ms(day: &str) -> Option<i64> {
    let mut parts = day.splitn(3, '-').map(str::parse::<i32>);
    let (year, month, day) = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// `GET /admin/users`: accounts, with create, disable/enable and sign-out-everywhere.
#[component]
pub fn AdminUsers() -> impl IntoView {
    let query = StoredValue::new(use_query());
    let list = Resource::new(|| (), |_| admin_users());
    let message = move || {
        let q = query.read_value();
        let outcome = UsersOutcome::from_query(|name| q.get(name).filter(|v| !v.is_empty()));
        let text = |outcome: UsersOutcome| match outcome {
            UsersOutcome::Exists => "An account with that name exists already.",
            UsersOutcome::InvalidUsername => {
                "Usernames are 1 to 64 letters, digits, dots, dashes or underscores."
            }
            UsersOutcome::InvalidPassword => "Passwords need at least 8 characters.",
            UsersOutcome::Unknown => "No such account.",
            UsersOutcome::Created => "Account created.",
            UsersOutcome::Done(UserAction::Disable) => "Account disabled; its sessions have ended.",
            UsersOutcome::Done(UserAction::Enable) => "Account enabled.",
            UsersOutcome::Done(UserAction::SignOut) => "Signed out everywhere.",
        };
        match outcome {
            Some(o) if o.is_error() => (Some(text(o)), None),
            Some(o) => (None, Some(text(o))),
            None if q.get("error").is_some_and(|v| !v.is_empty()) => {
                (Some("That did not work."), None)
            }
            None if q.get("done").is_some_and(|v| !v.is_empty()) => (None, Some("Done.")),
            None => (None, None),
        }
    };
    view! {
        <section class="card wide">
            <AdminNav />
            <h1>"Users"</h1>
            {move || {
                let (error, done) = message();
                view! {
                    {error.map(|m| view! { <p class="error" role="alert" data-testid="admin-error">{m}</p> })}
                    {done.map(|m| view! { <p class="notice" role="status" data-testid="admin-done">{m}</p> })}
                }
            }}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(users) => view! {
                            <div class="table-scroll">
                                <table class="sessions" data-testid="admin-users">
                                    <thead><tr>
                                        <th scope="col">"User"</th>
                                        <th scope="col">"Role"</th>
                                        <th scope="col">"Active sessions"</th>
                                        <th scope="col">"Last sign-in"</th>
                                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                                    </tr></thead>
                                    <tbody>
                                        {users.into_iter().map(|u| view! { <UserRow user=u /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                        Err(err) => load_error(&err).into_any(),
                    }
                })}
            </Transition>
            <h2>"New account"</h2>
            <KeepDraftsOfUser saved={
                UsersOutcome::from_query(|name| query.read_value().get(name)) == Some(UsersOutcome::Created)
            }>
                <form method="post" action="/admin/users/create" class="filters">
                    <label>"Username " <input name="username" required maxlength="64" autocomplete="off" /></label>
                    <label>"Password " <input type="password" name="password" required minlength=auto_logout::passwords::MIN_PASSWORD_LEN autocomplete="new-password" /></label>
                    <label class="check"><input type="checkbox" name="admin" value="true" />" Administrator"</label>
                    <button type="submit" data-testid="create-user">"Create"</button>
                </form>
            </KeepDraftsOfUser>
        </section>
    }
}

#[component]
fn UserRow(user: UserSummary) -> impl IntoView {
    let (name, name_too) = (user.username.clone(), user.username.clone());
    let (toggle, label) = if user.disabled {
        ("/admin/users/enable", "Enable")
    } else {
        ("/admin/users/disable", "Disable")
    };
    let role = match (user.is_admin, user.disabled) {
        (_, true) => "disabled",
        (true, false) => "administrator",
        (false, false) => "user",
    };
    view! {
        <tr data-testid="admin-user-row" data-user=user.username.clone()>
            <td>{user.username.clone()}</td>
            <td>{role}</td>
            <td>{user.active_sessions}</td>
            <td>{user.last_sign_in.map(format_utc).unwrap_or_else(|| "never".into())}</td>
            <td class="actions">
                <form method="post" action=toggle class="inline">
                    <input type="hidden" name="name" value=name />
                    <button type="submit" data-testid=format!("{}-user", label.to_lowercase())>{label}</button>
                </form>
                <form method="post" action="/admin/users/sign-out" class="inline">
                    <input type="hidden" name="name" value=name_too />
                    <button type="submit" class="secondary" data-testid="sign-out-user">"Sign out everywhere"</button>
                </form>
            </td>
        </tr>
    }
}
