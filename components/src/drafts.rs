//! No lost work (SPEC §5): what a person types into a keepable form on a signed-in page is kept
//! in this browser's `localStorage` as they type, so that an automatic sign-out does not take
//! it away. After signing in again as the same account, the page opens with it filled in.
//!
//! What is kept, and how:
//! - Only forms inside a [`crate::KeepDrafts`] area, and in them
//!   every field but password fields (by type or by `autocomplete`), hidden fields, files and
//!   buttons.
//! - One record per account and page path, under `auto-logout.draft.<scope>.<path>`, holding the
//!   time it was written and the fields encrypted with AES-256-GCM (WebCrypto) under the
//!   account's draft key ([`auto_logout::DraftKey`]), with the record's name as associated data.
//!   The key comes from the server with the signed-in page and is never stored in the browser:
//!   what stays behind after an automatic sign-out is unreadable until that account signs in
//!   again, and `scope` names no one.
//! - A record goes away when the page confirms the form was saved, on "Discard", when the
//!   person signs out (in any tab), when another account signs in on this browser, and one hour
//!   after it was last written (looked at whenever the client loads, and on signed-in pages).
//!
//! The rules that need no browser are here; the browser half is `browser`.

#[cfg(feature = "hydrate")]
pub mod browser;

/// Every draft record's name starts with this.
pub const PREFIX: &str = "auto-logout.draft.";
/// A draft older than this is deleted unread (milliseconds).
pub const MAX_AGE_MS: f64 = 3_600_000.0;
/// The selector of the forms whose fields are kept.
pub const KEEP_SELECTOR: &str = "[data-keep-drafts] form";

/// The name of the record keeping account `scope`'s draft of the page at `path`.
pub fn record_name(scope: &str, path: &str) -> String {
    format!("{PREFIX}{scope}.{path}")
}

/// The account scope a record name belongs to, if it is a draft record at all.
pub fn scope_of(record_name: &str) -> Option<&str> {
    record_name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('.'))
        .map(|(scope, _)| scope)
}

/// Whether a record written at `written_at` is too old at `now` (both ms since the epoch).
/// A record from the future (a clock set back) counts as old too: it cannot be dated.
pub fn is_expired(written_at: f64, now: f64) -> bool {
    !(now - written_at < MAX_AGE_MS && written_at <= now + 60_000.0)
}

/// Whether an `<input>` of this `type` and `autocomplete` holds something worth keeping:
/// never a password (a password field shown as text still says so in `autocomplete`), a
/// hidden field (the server set it), a file, or a button.
pub fn keeps_input(input_type: &str, autocomplete: &str) -> bool {
    let input_type = input_type.to_ascii_lowercase();
    let autocomplete = autocomplete.to_ascii_lowercase();
    !matches!(
        input_type.as_str(),
        "password" | "hidden" | "file" | "submit" | "button" | "reset" | "image"
    ) && !autocomplete.contains("password")
        && !autocomplete.contains("one-time-code")
}

/// What one record keeps (before encryption): by form (its `action`), the fields by name.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// The kept forms of the page.
    pub forms: Vec<FormDraft>,
}

/// The kept fields of one form.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FormDraft {
    /// The form's `action`, which tells the page's forms apart.
    pub action: String,
    /// Its fields in document order.
    pub fields: Vec<FieldDraft>,
}

/// One kept field.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldDraft {
    /// The field's `name`.
    pub name: String,
    /// Its value (for a checkbox or radio button, the value it stands for).
    pub value: String,
    /// For a checkbox or radio button, whether it was ticked.
    pub checked: Option<bool>,
}

/// The stored form of a record: when it was written, and the encrypted [`Snapshot`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// When it was written, ms since the epoch (the browser's clock).
    pub at: f64,
    /// The AES-GCM nonce, hex.
    pub iv: String,
    /// The ciphertext with its tag, hex.
    pub data: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_named_by_scope_and_path() {
        let name = record_name("0123456789abcdef", "/account");
        assert_eq!(name, "auto-logout.draft.0123456789abcdef./account");
        assert_eq!(scope_of(&name), Some("0123456789abcdef"));
        assert_eq!(scope_of("auto-logout.other"), None);
        assert_eq!(scope_of("something.else"), None);
    }

    #[test]
    fn an_hour_is_the_limit() {
        let now = 10_000_000.0;
        assert!(!is_expired(now, now));
        assert!(!is_expired(now - MAX_AGE_MS + 1.0, now));
        assert!(is_expired(now - MAX_AGE_MS, now));
        assert!(is_expired(now + 3_600_000.0, now), "from the future");
        assert!(is_expired(f64::NAN, now), "undatable");
    }

    #[test]
    fn passwords_and_server_fields_are_never_kept() {
        for (t, a) in [
            ("text", "name"),
            ("email", "email"),
            ("search", ""),
            ("checkbox", ""),
            ("", ""),
        ] {
            assert!(keeps_input(t, a), "{t} {a}");
        }
        for (t, a) in [
            ("password", ""),
            ("PASSWORD", ""),
            ("text", "current-password"),
            ("text", "new-password"),
            ("text", "one-time-code"),
            ("hidden", ""),
            ("file", ""),
            ("submit", ""),
        ] {
            assert!(!keeps_input(t, a), "{t} {a}");
        }
    }
}
