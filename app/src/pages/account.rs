//! `GET /account/password`: change one's own password. The current one is asked again; on
//! success every other session of the account ends and this one stays signed in.

use crate::AuthVersion;
use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};

/// The password page.
#[component]
pub fn ChangePassword() -> impl IntoView {
    let query = use_query_map();
    let version = expect_context::<AuthVersion>().0;
    let message = move || {
        let q = query.read();
        if let Some(n) = q.get("done") {
            let others = n.parse::<u64>().unwrap_or(0);
            return Some((
                false,
                format!(
                    "Your password has been changed. {others} other session{} signed out.",
                    if others == 1 { " was" } else { "s were" }
                ),
            ));
        }
        q.get("error").map(|e| {
            let text = match e.as_str() {
                "current" => "The current password is not right.".to_owned(),
                "mismatch" => "The two new passwords differ.".to_owned(),
                "weak" => "The new password needs at least 8 characters.".to_owned(),
                "throttled" | "busy" => format!(
                    "Too many attempts. Please wait {} before trying again.",
                    crate::pages::sign_in::wait_in_words(
                        q.get("retry_after")
                            .and_then(|r| r.parse().ok())
                            .unwrap_or(60)
                    )
                ),
                _ => "That did not work.".to_owned(),
            };
            (true, text)
        })
    };
    view! {
        <section class="card narrow">
            <h1>"Change your password"</h1>
            {move || message().map(|(error, text)| if error {
                view! { <p class="error" role="alert" data-testid="password-error">{text}</p> }.into_any()
            } else {
                view! { <p class="notice" role="status" data-testid="password-changed">{text}</p> }.into_any()
            })}
            <Form method="post" action="/account/password" version=version>
                <label>"Current password"
                    <input type="password" name="current" required autocomplete="current-password" maxlength="1024" />
                </label>
                <label>"New password"
                    <input type="password" name="new" required minlength="8" autocomplete="new-password" maxlength="1024" />
                </label>
                <label>"New password, again"
                    <input type="password" name="confirm" required minlength="8" autocomplete="new-password" maxlength="1024" />
                </label>
                <button type="submit" data-testid="change-password">"Change password"</button>
            </Form>
        </section>
    }
}
