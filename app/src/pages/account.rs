//! The account pages.
//!
//! - `GET /account`: one's display name and email, saved by `POST /account`. The form is kept
//!   as a draft while typing (SPEC §5, "No lost work").
//! - `GET /account/password`: change one's own password. The current one is asked again; on
//!   success every other session of the account ends and this one stays signed in.

use crate::{
    components::{drafts::KeepDraftsOfUser, link::PageLink},
    routes::{redirect_to, use_query},
    CurrentUser,
};
use auto_logout::{
    forms::{PasswordOutcome, ACCOUNT, ACCOUNT_PASSWORD},
    passwords::MIN_PASSWORD_LEN,
};
use auto_logout::{
    profile::{ProfileError, DISPLAY_NAME_MAX_CHARS, EMAIL_MAX_BYTES},
    redirect::sign_in_url,
};
use leptos::either::Either;
use leptos::prelude::*;

/// The profile page: display name and email.
#[component]
pub fn Account() -> impl IntoView {
    let query = use_query();
    let Some(user) = expect_context::<CurrentUser>().0 else {
        redirect_to(&sign_in_url(ACCOUNT, None));
        return None;
    };
    let saved = query.get("saved").is_some();
    let error = query.get("error").map(|code| {
        ProfileError::from_code(&code).map_or_else(
            || "That did not work; please try again.".to_owned(),
            ProfileError::message,
        )
    });
    Some(view! {
            <section class="card narrow" data-testid="account">
                <h1>"Your account"</h1>
                {saved.then(|| view! {
                    <p class="notice" role="status" data-testid="account-saved">"Your changes are saved."</p>
                })}
                {error.map(|text| view! {
                    <p class="error" role="alert" data-testid="account-error">{text}</p>
                })}
                <KeepDraftsOfUser saved=saved>
                    <form method="post" action=ACCOUNT>
                        <label>"Display name"
                            <input
                                name="display_name"
                                value=user.display_name.clone().unwrap_or_default()
                                autocomplete="name"
                                maxlength=DISPLAY_NAME_MAX_CHARS.to_string()
                            />
                        </label>
                        <label>"Email"
                            <input
                                type="email"
                                name="email"
                                value=user.email.clone().unwrap_or_default()
                                autocomplete="email"
                                maxlength=EMAIL_MAX_BYTES.to_string()
                            />
                        </label>
                        <button type="submit" data-testid="save-account">"Save"</button>
                    </form>
                </KeepDraftsOfUser>
                <p><PageLink href=ACCOUNT_PASSWORD>"Change your password"</PageLink></p>
                <p><PageLink href=auto_logout::forms::ACCOUNT_ACTIVITY>"Your account's activity: was this you?"</PageLink></p>
            </section>
    })
}

/// What the password page says after a try (`Some((is_error, text))`): the outcome the query
/// names, or a generic failure when it names only an error.
fn password_message(outcome: Option<&PasswordOutcome>, failed: bool) -> Option<(bool, String)> {
    let wait = crate::pages::sign_in::wait_in_words;
    let text = match outcome {
        Some(PasswordOutcome::Changed { others_ended }) => {
            return Some((
                false,
                format!(
                    "Your password has been changed. {others_ended} other session{} signed out.",
                    if *others_ended == 1 { " was" } else { "s were" }
                ),
            ))
        }
        Some(PasswordOutcome::WrongCurrent) => "The current password is not right.".to_owned(),
        Some(PasswordOutcome::Mismatch) => "The two new passwords differ.".to_owned(),
        Some(PasswordOutcome::Weak) => {
            format!("The new password needs at least {MIN_PASSWORD_LEN} characters.")
        }
        Some(
            PasswordOutcome::Throttled { retry_after_secs }
            | PasswordOutcome::Busy { retry_after_secs },
        ) => format!(
            "Too many attempts. Please wait {} before trying again.",
            wait(*retry_after_secs)
        ),
        None if failed => "That did not work.".to_owned(),
        None => return None,
    };
    Some((true, text))
}

/// The password page.
#[component]
pub fn ChangePassword() -> impl IntoView {
    let query = use_query();
    let outcome = PasswordOutcome::from_query(|name| query.get(name));
    let message = password_message(outcome.as_ref(), query.get("error").is_some());
    let required = query.get("required").is_some();
    view! {
        <section class="card narrow">
            <h1>"Change your password"</h1>
            {required.then(|| view! {
                <p class="notice" role="status" data-testid="password-change-required">
                    "You said a sign-in to your account was not yours. Choose a new password \
                     that nobody else knows."
                </p>
            })}
            {message.map(|(error, text)| if error {
                Either::Left(view! { <p class="error" role="alert" data-testid="password-error">{text}</p> })
            } else {
                Either::Right(view! { <p class="notice" role="status" data-testid="password-changed">{text}</p> })
            })}
            // Kept like every form of a signed-in page; it holds only password fields, which are
            // never kept, so it leaves nothing in the browser.
            <KeepDraftsOfUser saved=matches!(outcome, Some(PasswordOutcome::Changed { .. }))>
                <form method="post" action=ACCOUNT_PASSWORD>
                    // Always asked; it is the re-authentication field (SPEC §4), so a right one
                    // also renews the window for the other sensitive actions.
                    <label>"Current password"
                        <input type="password" name=auto_logout::forms::REAUTH_FIELD required autocomplete="current-password" maxlength=auto_logout::passwords::MAX_PASSWORD_LEN />
                    </label>
                    <label>"New password"
                        <input type="password" name="new" required minlength=auto_logout::passwords::MIN_PASSWORD_LEN autocomplete="new-password" maxlength=auto_logout::passwords::MAX_PASSWORD_LEN />
                    </label>
                    <label>"New password, again"
                        <input type="password" name="confirm" required minlength=auto_logout::passwords::MIN_PASSWORD_LEN autocomplete="new-password" maxlength=auto_logout::passwords::MAX_PASSWORD_LEN />
                    </label>
                    <button type="submit" data-testid="change-password">"Change password"</button>
                </form>
            </KeepDraftsOfUser>
        </section>
    }
}
