//! Sensitive form posts (SPEC §4): a form whose action needs the password proved within
//! `reauth_window` goes through [`confirm_form`]. Inside the window the action goes ahead.
//! Outside it, the answer is a small page holding a password prompt (`[data-testid=reauth]`)
//! with every field that was posted, as hidden inputs, posting back to the same action: typing
//! the password performs the action with what was typed, without JavaScript. The answer
//! carries [`REAUTH_HEADER`], so that a page which sent the form by script can show the prompt
//! in place instead (the application's soft navigation does: the form stays as it was typed).
//!
//! The password arrives in the field [`REAUTH_FIELD`], is checked like a sign-in (throttled,
//! audited `reauthenticated` when right) and never travels further than this function.

use crate::server::{
    engine::Engine,
    gate::ActiveSession,
    reauth::{Prover, Reauthentication},
    sessions::ClientInfo,
};
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

/// The form field that carries the password of a re-authentication.
pub const REAUTH_FIELD: &str = crate::forms::REAUTH_FIELD;
/// The header on a prompt's answer (value `required`), for pages that sent the form by script.
pub const REAUTH_HEADER: &str = crate::forms::REAUTH_HEADER;
/// The most fields a sensitive form may post (a prompt repeats each one).
pub const MAX_FIELDS: usize = 32;
/// The longest value a field of a sensitive form may have, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;

/// How the prompt describes the action it guards.
#[derive(Debug, Clone, Copy)]
pub struct Prompt<'a> {
    /// What the person is doing, as the end of "… needs your password again", e.g.
    /// "Changing your email address".
    pub action_name: &'a str,
    /// Where the form posts (the prompt posts there too).
    pub action: &'a str,
    /// Where "Cancel" leads (a local path).
    pub cancel: &'a str,
}

/// What a sensitive form may do.
#[derive(Debug)]
pub enum Confirmed<T> {
    /// Go ahead with the form's fields (the password field taken out).
    Proceed(T),
    /// Answer this instead: the prompt, a refusal of a malformed form (400), or 503.
    Answer(Response),
}

/// Lets `fields`, posted to a sensitive action by the person of `me`, through when they proved
/// their password recently enough or do so now (in [`REAUTH_FIELD`]); otherwise answers with
/// the prompt (see the module documentation), saying why when a password was wrong or too
/// many were.
pub async fn confirm_form<T: DeserializeOwned>(
    engine: &Engine,
    me: &ActiveSession,
    client: &ClientInfo,
    prompt: Prompt<'_>,
    mut fields: Vec<(String, String)>,
) -> Confirmed<T> {
    if fields.len() > MAX_FIELDS || fields.iter().any(|(_, v)| v.len() > MAX_VALUE_BYTES) {
        return Confirmed::Answer(
            (StatusCode::BAD_REQUEST, "This form is too large.").into_response(),
        );
    }
    let password = take_field(&mut fields, REAUTH_FIELD);
    let error = match password.as_deref() {
        Some(password) if !password.is_empty() => {
            match engine
                .reauth()
                .reauthenticate(Prover::from(me), password, client)
                .await
            {
                Ok(Reauthentication::Renewed { .. }) => None,
                Ok(Reauthentication::Rejected) => Some("That password is not right.".to_owned()),
                Ok(Reauthentication::Throttled { retry_after_secs })
                | Ok(Reauthentication::Busy { retry_after_secs }) => Some(format!(
                    "Too many attempts. Try again in {retry_after_secs} seconds."
                )),
                Ok(Reauthentication::Ended) => return Confirmed::Answer(signed_out(prompt)),
                Err(err) => return Confirmed::Answer(unavailable(&err)),
            }
        }
        _ => match engine.sensitive_action(me).await {
            Ok(proof) if proof.allows() => None,
            Ok(_) => Some(String::new()),
            Err(err) => return Confirmed::Answer(unavailable(&err)),
        },
    };
    match error {
        None => match serde_urlencoded::from_str::<T>(
            &serde_urlencoded::to_string(&fields).unwrap_or_default(),
        ) {
            Ok(form) => Confirmed::Proceed(form),
            Err(_) => Confirmed::Answer(
                (StatusCode::BAD_REQUEST, "This form is not one of ours.").into_response(),
            ),
        },
        Some(error) => Confirmed::Answer(prompt_page(engine, prompt, &fields, &error)),
    }
}

/// The fields of a form body (`application/x-www-form-urlencoded`; an empty or absent body has
/// none), for [`confirm_form`].
pub fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Removes every `name` field from `fields`; the last one's value.
pub fn take_field(fields: &mut Vec<(String, String)>, name: &str) -> Option<String> {
    let mut found = None;
    fields.retain(|(key, value)| {
        if key == name {
            found = Some(value.clone());
            false
        } else {
            true
        }
    });
    found
}

fn unavailable(err: &crate::server::StoreError) -> Response {
    tracing::error!(error = %err, "checking a re-authentication failed");
    super::error::unavailable(1, false)
}

/// The session ended while the prompt was open: sign in again.
fn signed_out(prompt: Prompt<'_>) -> Response {
    // Back to the page the form was on (the action itself may take only posts).
    axum::response::Redirect::to(&crate::redirect::sign_in_url(prompt.cancel, None)).into_response()
}

/// `text` with the five HTML-significant characters escaped (for text and attribute values).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How long the window is, for people ("10 minutes").
fn window_words(engine: &Engine) -> String {
    let secs = engine.reauth().window().map_or(0, |w| w.as_secs());
    match secs {
        s if s % 3600 == 0 && s >= 3600 => plural(s / 3600, "hour"),
        s if s % 60 == 0 && s >= 60 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// The prompt's page (see the module documentation) for `fields` (the password field taken
/// out), posting back to `prompt.action`; `error` says what went wrong with the last password
/// typed (empty: none was). For an action that checks the password itself (a password
/// change, which always asks).
pub fn prompt_page(
    engine: &Engine,
    prompt: Prompt<'_>,
    fields: &[(String, String)],
    error: &str,
) -> Response {
    let hidden: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect();
    let error = if error.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"error\" role=\"alert\" data-testid=\"reauth-error\">{}</p>",
            escape(error)
        )
    };
    let cancel = crate::redirect::safe_next(prompt.cancel).unwrap_or_else(|| "/".to_owned());
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Confirm it is you</title></head><body><main>\
         <form method=\"post\" action=\"{action}\" class=\"reauth\" data-testid=\"reauth\">\
         <h2>Confirm it is you</h2>\
         <p>{what} needs your password again: you last entered it more than {window} ago.</p>\
         {error}{hidden}\
         <label>Password <input type=\"password\" name=\"{field}\" \
         autocomplete=\"current-password\" required autofocus maxlength=\"{max}\"></label>\
         <div class=\"actions\"><button type=\"submit\">Confirm</button> \
         <a href=\"{cancel}\" data-reauth-cancel>Cancel</a></div>\
         </form></main></body></html>",
        action = escape(prompt.action),
        what = escape(prompt.action_name),
        window = window_words(engine),
        field = REAUTH_FIELD,
        max = crate::passwords::MAX_PASSWORD_LEN,
        cancel = escape(&cancel),
    );
    let mut res = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    res.headers_mut()
        .insert(REAUTH_HEADER, HeaderValue::from_static("required"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_field_is_taken_out_and_the_rest_kept_in_order() {
        let mut fields = vec![
            ("email".to_owned(), "a@b.c".to_owned()),
            (REAUTH_FIELD.to_owned(), "first".to_owned()),
            ("display_name".to_owned(), "Ada".to_owned()),
            (REAUTH_FIELD.to_owned(), "second".to_owned()),
        ];
        assert_eq!(
            take_field(&mut fields, REAUTH_FIELD).as_deref(),
            Some("second")
        );
        assert_eq!(
            fields,
            vec![
                ("email".to_owned(), "a@b.c".to_owned()),
                ("display_name".to_owned(), "Ada".to_owned())
            ]
        );
        assert_eq!(take_field(&mut fields, REAUTH_FIELD), None);
    }

    #[test]
    fn values_are_escaped_for_attributes() {
        assert_eq!(
            escape(r#""><script>alert('x')</script>&"#),
            "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
    }
}
