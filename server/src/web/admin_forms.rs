//! The form endpoints behind the admin pages and `/account/password`: plain HTML form posts
//! (they work without JavaScript; soft navigation sends them by fetch), each redirecting back to
//! its page with `done=…` or `error=…`. The engine decides; these only translate.

use super::{
    admin_api::{query_error, AdminOnly},
    error::AppError,
};
use crate::state::AppState;
use auto_logout::{
    api_error::ErrorCode,
    dto::ActivityQuery,
    export::spreadsheet_safe,
    forms::{PasswordOutcome, UserAction, UsersOutcome, ACCOUNT_PASSWORD},
    redirect::safe_next,
    server::{
        account::{PasswordChange, PasswordForm},
        AccountError, AuthSession, ClientInfo, CurrentSession,
    },
};
use axum::{
    extract::{Path, Query, State},
    http::header,
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;

/// `back` if it is a same-site path under `/admin`, else `fallback`.
fn back_to(back: &str, fallback: &str) -> String {
    safe_next(back)
        .filter(|p| p.starts_with("/admin/"))
        .unwrap_or_else(|| fallback.to_owned())
}

/// The form that ends one session.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EndSessionForm {
    id: String,
    back: String,
}

/// `POST /admin/sessions/end`: ends any session, back to the list it was on.
pub async fn end_session(
    State(state): State<AppState>,
    admin: AdminOnly,
    Form(form): Form<EndSessionForm>,
) -> Result<Redirect, AppError> {
    state
        .engine
        .admin()
        .end_session(&admin.actor, &form.id)
        .await?;
    Ok(Redirect::to(&back_to(&form.back, "/admin/sessions")))
}

/// The form that creates an account.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CreateUserForm {
    username: String,
    password: String,
    admin: Option<String>,
}

/// `POST /admin/users/create`: creates an account, back to `/admin/users`.
pub async fn create_user(
    State(state): State<AppState>,
    AdminOnly { actor }: AdminOnly,
    Form(form): Form<CreateUserForm>,
) -> Result<Redirect, AppError> {
    let target = match state
        .engine
        .admin()
        .create_user(&actor, &form.username, &form.password, form.admin.is_some())
        .await
    {
        Ok(_) => UsersOutcome::Created,
        Err(AccountError::Refused(refusal)) => UsersOutcome::from(&refusal),
        Err(AccountError::Store(err)) => return Err(err.into()),
    };
    Ok(Redirect::to(&target.target()))
}

/// The form naming an account.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountForm {
    name: String,
}

/// `POST /admin/users/{action}` with `name`: `disable`, `enable` or `sign-out`.
pub async fn user_action(
    State(state): State<AppState>,
    AdminOnly { actor }: AdminOnly,
    Path(action): Path<String>,
    Form(form): Form<AccountForm>,
) -> Result<Redirect, AppError> {
    let Some(action) = UserAction::from_segment(&action) else {
        return Err(AppError::new(ErrorCode::NotFound, "No such action."));
    };
    let admin = state.engine.admin();
    let result = match action {
        UserAction::Disable => admin.set_disabled(&actor, &form.name, true).await,
        UserAction::Enable => admin.set_disabled(&actor, &form.name, false).await,
        UserAction::SignOut => admin.sign_out_everywhere(&actor, &form.name).await,
    };
    match result {
        Ok(_) => Ok(Redirect::to(&UsersOutcome::Done(action).target())),
        Err(AccountError::Refused(refusal)) => {
            Ok(Redirect::to(&UsersOutcome::from(&refusal).target()))
        }
        Err(AccountError::Store(err)) => Err(err.into()),
    }
}

/// `GET /admin/activity.csv?…`: the filtered activity log (up to 1,000 entries, newest first)
/// as CSV, for an administrator.
pub async fn activity_csv(
    State(state): State<AppState>,
    _admin: AdminOnly,
    Query(mut query): Query<ActivityQuery>,
) -> Result<Response, AppError> {
    query.limit = Some(query.limit.unwrap_or(1_000).clamp(1, 1_000));
    let page = state
        .engine
        .admin()
        .activity_page(&query)
        .await
        .map_err(query_error)?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    let header = [
        "id",
        "at",
        "event",
        "username",
        "session",
        "ip",
        "user_agent",
        "actor_id",
        "detail",
        "count",
    ];
    let written = write_safe_record(&mut csv, header).and_then(|()| {
        page.entries.iter().try_for_each(|e| {
            write_safe_record(
                &mut csv,
                [
                    e.id.to_string().as_str(),
                    auto_logout::dto::format_utc(e.at).as_str(),
                    e.event.as_str(),
                    e.username.as_deref().unwrap_or_default(),
                    e.session_hash.as_deref().unwrap_or_default(),
                    e.ip.as_deref().unwrap_or_default(),
                    e.user_agent.as_deref().unwrap_or_default(),
                    e.actor_id
                        .map(|a| a.to_string())
                        .unwrap_or_default()
                        .as_str(),
                    e.detail.as_deref().unwrap_or_default(),
                    e.repeat_count.to_string().as_str(),
                ],
            )
        })
    });
    let bytes = written
        .map_err(|e| e.to_string())
        .and_then(|()| csv.into_inner().map_err(|e| e.to_string()))
        .map_err(|e| {
            tracing::error!(error = %e, "writing the activity CSV failed");
            AppError::unavailable(1)
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"activity.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Writes one CSV record, each cell made [`spreadsheet_safe`] first (SPEC §6: no cell of an
/// export starts like a formula). Every CSV export writes its records through this.
fn write_safe_record<'a, W: std::io::Write>(
    csv: &mut csv::Writer<W>,
    cells: impl IntoIterator<Item = &'a str>,
) -> csv::Result<()> {
    for cell in cells {
        csv.write_field(spreadsheet_safe(cell).as_bytes())?;
    }
    // An empty iterator ends the record whose fields were written one by one.
    csv.write_record(std::iter::empty::<&[u8]>())
}

/// The password change form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordChangeForm {
    current: String,
    new: String,
    confirm: String,
}

/// `POST /account/password`: changes the signed-in person's password; every other session
/// ends. Back to `/account/password` with `done=…` or `error=…`.
pub async fn change_password(
    State(state): State<AppState>,
    me: Option<CurrentSession>,
    Extension(client): Extension<ClientInfo>,
    mut auth: AuthSession,
    Form(form): Form<PasswordChangeForm>,
) -> Result<Redirect, AppError> {
    if me.is_none() {
        return Ok(Redirect::to(&auto_logout::redirect::sign_in_url(
            ACCOUNT_PASSWORD,
            None,
        )));
    }
    let outcome = state
        .engine
        .change_own_password(
            &mut auth,
            PasswordForm {
                current: &form.current,
                new: &form.new,
                confirm: &form.confirm,
            },
            &client,
        )
        .await?;
    let target = match outcome {
        PasswordChange::Changed { others_ended } => PasswordOutcome::Changed {
            others_ended: others_ended as u64,
        },
        PasswordChange::WrongPassword => PasswordOutcome::WrongCurrent,
        PasswordChange::Mismatch => PasswordOutcome::Mismatch,
        PasswordChange::Unacceptable(_) => PasswordOutcome::Weak,
        PasswordChange::Throttled { retry_after_secs } => {
            PasswordOutcome::Throttled { retry_after_secs }
        }
        PasswordChange::Busy { retry_after_secs } => PasswordOutcome::Busy { retry_after_secs },
    }
    .target();
    Ok(Redirect::to(&target))
}
