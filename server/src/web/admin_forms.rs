//! The form endpoints behind the admin pages and `/account/password`: plain HTML form posts
//! (they work without JavaScript; soft navigation sends them by fetch), each redirecting back to
//! its page with `done=…` or `error=…`. The engine decides; these only translate. Each but the
//! CSV export is a sensitive action: outside the re-authentication window it answers with the
//! password prompt instead (`auto_logout::server::layer::reauth_form`).

use super::{
    admin_api::{query_error, AdminOnly},
    error::AppError,
};
use crate::state::AppState;
use auto_logout::{
    api_error::ErrorCode,
    dto::ActivityQuery,
    export::spreadsheet_safe,
    forms::{PasswordOutcome, UserAction, UsersOutcome, ACCOUNT_PASSWORD, ADMIN_USERS},
    redirect::safe_next,
    server::{
        account::{PasswordChange, PasswordForm},
        layer::reauth_form::{
            confirm_form, prompt_page, take_field, Confirmed, Prompt, REAUTH_FIELD,
        },
        AccountError, ActiveSession, AuthSession, ClientInfo, CurrentSession, SignOutAll,
    },
};
use axum::{
    extract::{Path, Query, State},
    http::header,
    http::Uri,
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;

/// The fields of a sensitive form once the person proved their password recently enough (or
/// now, in the prompt's field), or the answer instead: the prompt, in place of the action
/// (see `auto_logout::server::layer::reauth_form`).
async fn confirmed<T: serde::de::DeserializeOwned>(
    state: &AppState,
    me: &ActiveSession,
    client: &ClientInfo,
    prompt: Prompt<'_>,
    fields: Vec<(String, String)>,
) -> Confirmed<T> {
    confirm_form(&state.engine, me, client, prompt, fields).await
}

/// The prompt of an administrator's action posted to `action`, cancelled back to `cancel`.
fn admin_prompt<'a>(action: &'a str, cancel: &'a str) -> Prompt<'a> {
    Prompt {
        action_name: "This administrator action",
        action,
        cancel,
    }
}

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
    CurrentSession(me): CurrentSession,
    uri: Uri,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let prompt = admin_prompt(uri.path(), "/admin/sessions");
    let form: EndSessionForm =
        match confirmed(&state, &me, &admin.actor.client, prompt, fields).await {
            Confirmed::Proceed(form) => form,
            Confirmed::Answer(answer) => return Ok(answer),
        };
    state
        .engine
        .admin()
        .end_session(&admin.actor, &form.id)
        .await?;
    Ok(Redirect::to(&back_to(&form.back, "/admin/sessions")).into_response())
}

/// The "Sign out everyone" form: checkboxes `except_admins` and `except_self`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SignOutAllForm {
    except_admins: Option<String>,
    except_self: Option<String>,
}

/// `POST /admin/sessions/sign-out-all`: ends every session but those spared, back to
/// `/admin/sessions?done=signed-out-everyone-N`.
pub async fn sign_out_all(
    State(state): State<AppState>,
    admin: AdminOnly,
    CurrentSession(me): CurrentSession,
    uri: Uri,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let prompt = admin_prompt(uri.path(), "/admin/sessions");
    let form: SignOutAllForm =
        match confirmed(&state, &me, &admin.actor.client, prompt, fields).await {
            Confirmed::Proceed(form) => form,
            Confirmed::Answer(answer) => return Ok(answer),
        };
    let ended = state
        .engine
        .admin()
        .sign_out_everyone(
            &admin.actor,
            SignOutAll {
                except_admins: form.except_admins.is_some(),
                except_self: form.except_self.is_some(),
            },
        )
        .await?;
    Ok(Redirect::to(&format!("/admin/sessions?ended={ended}")).into_response())
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
    CurrentSession(me): CurrentSession,
    uri: Uri,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let prompt = admin_prompt(uri.path(), ADMIN_USERS);
    let form: CreateUserForm = match confirmed(&state, &me, &actor.client, prompt, fields).await {
        Confirmed::Proceed(form) => form,
        Confirmed::Answer(answer) => return Ok(answer),
    };
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
    Ok(Redirect::to(&target.target()).into_response())
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
    CurrentSession(me): CurrentSession,
    Path(action): Path<String>,
    uri: Uri,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let Some(action) = UserAction::from_segment(&action) else {
        return Err(AppError::new(ErrorCode::NotFound, "No such action."));
    };
    let prompt = admin_prompt(uri.path(), ADMIN_USERS);
    let form: AccountForm = match confirmed(&state, &me, &actor.client, prompt, fields).await {
        Confirmed::Proceed(form) => form,
        Confirmed::Answer(answer) => return Ok(answer),
    };
    let admin = state.engine.admin();
    let result = match action {
        UserAction::Disable => admin.set_disabled(&actor, &form.name, true).await,
        UserAction::Enable => admin.set_disabled(&actor, &form.name, false).await,
        UserAction::SignOut => admin.sign_out_everywhere(&actor, &form.name).await,
    };
    match result {
        Ok(_) => Ok(Redirect::to(&UsersOutcome::Done(action).target()).into_response()),
        Err(AccountError::Refused(refusal)) => {
            Ok(Redirect::to(&UsersOutcome::from(&refusal).target()).into_response())
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

/// The password change form (its "Current password" is the prompt's field, taken out before
/// this is read).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordChangeForm {
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
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    if me.is_none() {
        return Ok(
            Redirect::to(&auto_logout::redirect::sign_in_url(ACCOUNT_PASSWORD, None))
                .into_response(),
        );
    }
    let prompt = Prompt {
        action_name: "Changing your password",
        action: ACCOUNT_PASSWORD,
        cancel: ACCOUNT_PASSWORD,
    };
    // The current password is always asked (in the page's field, or the prompt's).
    let mut fields = fields;
    let current = take_field(&mut fields, REAUTH_FIELD).unwrap_or_default();
    let form: PasswordChangeForm =
        serde_urlencoded::from_str(&serde_urlencoded::to_string(&fields).unwrap_or_default())
            .unwrap_or_default();
    let outcome = state
        .engine
        .change_own_password(
            &mut auth,
            PasswordForm {
                current: &current,
                new: &form.new,
                confirm: &form.confirm,
            },
            &client,
        )
        .await?;
    let error = match outcome {
        PasswordChange::ReauthRequired => Some(""),
        PasswordChange::WrongPassword => Some("That password is not right."),
        _ => None,
    };
    if let Some(error) = error {
        return Ok(prompt_page(&state.engine, prompt, &fields, error));
    }
    let target = match outcome {
        PasswordChange::Changed { others_ended } => PasswordOutcome::Changed {
            others_ended: others_ended as u64,
        },
        PasswordChange::WrongPassword | PasswordChange::ReauthRequired => {
            PasswordOutcome::WrongCurrent
        }
        PasswordChange::Mismatch => PasswordOutcome::Mismatch,
        PasswordChange::Unacceptable(_) => PasswordOutcome::Weak,
        PasswordChange::Throttled { retry_after_secs } => {
            PasswordOutcome::Throttled { retry_after_secs }
        }
        PasswordChange::Busy { retry_after_secs } => PasswordOutcome::Busy { retry_after_secs },
    }
    .target();
    Ok(Redirect::to(&target).into_response())
}
