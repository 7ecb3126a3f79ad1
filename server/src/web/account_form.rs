//! `POST /account`: saves the signed-in person's display name and email (a plain HTML form
//! post; soft navigation sends it by fetch). The engine checks and stores; this only translates
//! its answer into where the browser goes next.

use super::error::AppError;
use crate::state::AppState;
use auto_logout::{
    profile::parse_profile,
    redirect::sign_in_url,
    server::{
        account::{update_own_profile, ProfileForm, ProfileUpdate},
        layer::reauth_form::{confirm_form, Confirmed, Prompt},
        AuthSession, ClientInfo, CurrentSession, SessionEnded,
    },
};
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
    Extension, Form,
};
use serde::Deserialize;

/// The account page's path: the form's page, and where its answer leads.
pub use auto_logout::forms::ACCOUNT as ACCOUNT_PAGE;

/// The account form as posted. Missing fields are empty (an empty field clears that detail).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountForm {
    display_name: String,
    email: String,
}

/// Where the browser goes after a profile post.
fn target(update: &ProfileUpdate, ended: Option<SessionEnded>) -> String {
    match update {
        ProfileUpdate::Saved(_) => format!("{ACCOUNT_PAGE}?saved=1"),
        ProfileUpdate::Rejected(error) => format!("{ACCOUNT_PAGE}?error={}", error.code()),
        // The session ended before the post arrived: sign in again and come back here (the
        // browser keeps what was typed as a draft, SPEC §5).
        ProfileUpdate::NotSignedIn => {
            sign_in_url(ACCOUNT_PAGE, ended.map(|e| e.0.sign_in_reason()))
        }
    }
}

/// `POST /account`: back to `/account?saved=1`, or `/account?error=<code>` saying what to
/// change, or to sign-in when the session is over. Changing the email address is a sensitive
/// action (it is where account mail goes): outside the re-authentication window the answer
/// asks for the password first, keeping what was typed.
pub async fn update_profile(
    State(state): State<AppState>,
    auth: AuthSession,
    me: Option<CurrentSession>,
    client: Option<Extension<ClientInfo>>,
    ended: Option<Extension<SessionEnded>>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let posted: AccountForm =
        serde_urlencoded::from_str(&serde_urlencoded::to_string(&fields).unwrap_or_default())
            .unwrap_or_default();
    // Only a valid new address needs the proof (an invalid one is refused anyway).
    let email_changes = auth.user.as_ref().is_some_and(|user| {
        parse_profile(&posted.display_name, &posted.email)
            .is_ok_and(|profile| profile.email != user.email)
    });
    let form = match (me, email_changes) {
        (Some(CurrentSession(me)), true) => {
            let client = client.map(|Extension(c)| c).unwrap_or_default();
            let prompt = Prompt {
                action_name: "Changing your email address",
                action: ACCOUNT_PAGE,
                cancel: ACCOUNT_PAGE,
            };
            match confirm_form(&state.engine, &me, &client, prompt, fields).await {
                Confirmed::Proceed(form) => form,
                Confirmed::Answer(answer) => return Ok(answer),
            }
        }
        // A change of address without a live session to prove it with: sign in again.
        (None, true) => {
            return Ok(Redirect::to(&sign_in_url(ACCOUNT_PAGE, None)).into_response());
        }
        (_, false) => posted,
    };
    let update = update_own_profile(
        &auth,
        state.engine.users(),
        ProfileForm {
            display_name: &form.display_name,
            email: &form.email,
        },
    )
    .await?;
    Ok(Redirect::to(&target(&update, ended.map(|e| e.0))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use auto_logout::{profile::ProfileError, EndReason};

    #[test]
    fn each_outcome_has_its_target() {
        assert_eq!(
            target(&ProfileUpdate::Saved(Default::default()), None),
            "/account?saved=1"
        );
        assert_eq!(
            target(&ProfileUpdate::Rejected(ProfileError::EmailInvalid), None),
            "/account?error=email"
        );
        assert_eq!(
            target(
                &ProfileUpdate::NotSignedIn,
                Some(SessionEnded(EndReason::IdleTimeout))
            ),
            "/sign-in?next=%2Faccount&reason=idle"
        );
    }
}
