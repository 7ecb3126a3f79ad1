//! What a person may say about themselves on `/account` (SPEC §4): a display name and an email
//! address, both optional. [`parse_profile`] turns the typed form into a [`Profile`] or says
//! exactly what is wrong with it.

use serde::{Deserialize, Serialize};

/// The longest display name, in characters.
pub const DISPLAY_NAME_MAX_CHARS: usize = 64;
/// The longest email address, in bytes (RFC 5321's limit on a path).
pub const EMAIL_MAX_BYTES: usize = 254;

/// A person's own details, as stored. `None` means not given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// How the pages greet them; the username when `None`.
    pub display_name: Option<String>,
    /// Where they can be reached.
    pub email: Option<String>,
}

/// Why a typed profile was not saved. Each has a stable [`ProfileError::code`] (the form's
/// answer carries it in `?error=`) and a [`ProfileError::message`] the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The display name is longer than [`DISPLAY_NAME_MAX_CHARS`].
    #[error("the display name is longer than {DISPLAY_NAME_MAX_CHARS} characters")]
    DisplayNameTooLong,
    /// The display name holds a control character (a line break, a tab, ...).
    #[error("the display name holds a line break or another control character")]
    DisplayNameControl,
    /// The email address is longer than [`EMAIL_MAX_BYTES`].
    #[error("the email address is longer than {EMAIL_MAX_BYTES} characters")]
    EmailTooLong,
    /// The email address is not of the form `name@example.org`.
    #[error("the email address is not of the form name@example.org")]
    EmailInvalid,
}

impl ProfileError {
    /// Every error, for mapping a code back.
    pub const ALL: [ProfileError; 4] = [
        ProfileError::DisplayNameTooLong,
        ProfileError::DisplayNameControl,
        ProfileError::EmailTooLong,
        ProfileError::EmailInvalid,
    ];

    /// The stable code in the form's answer (`/account?error=<code>`).
    pub fn code(self) -> &'static str {
        match self {
            ProfileError::DisplayNameTooLong => "name-length",
            ProfileError::DisplayNameControl => "name-characters",
            ProfileError::EmailTooLong => "email-length",
            ProfileError::EmailInvalid => "email",
        }
    }

    /// The error with this [`ProfileError::code`], if any.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }

    /// What the page tells the person, saying what to change.
    pub fn message(self) -> String {
        match self {
            ProfileError::DisplayNameTooLong => {
                format!("The display name can have at most {DISPLAY_NAME_MAX_CHARS} characters.")
            }
            ProfileError::DisplayNameControl => {
                "The display name must fit on one line, without tabs or other control characters."
                    .to_owned()
            }
            ProfileError::EmailTooLong => {
                format!("The email address can have at most {EMAIL_MAX_BYTES} characters.")
            }
            ProfileError::EmailInvalid => {
                "The email address should look like name@example.org.".to_owned()
            }
        }
    }
}

/// Checks the typed form: surrounding spaces are dropped, an empty field means "not given".
///
/// # Errors
/// The first [`ProfileError`] found, display name first.
pub fn parse_profile(display_name: &str, email: &str) -> Result<Profile, ProfileError> {
    let display_name = display_name.trim();
    if display_name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(ProfileError::DisplayNameTooLong);
    }
    if display_name.chars().any(char::is_control) {
        return Err(ProfileError::DisplayNameControl);
    }
    let email = email.trim();
    if email.len() > EMAIL_MAX_BYTES {
        return Err(ProfileError::EmailTooLong);
    }
    if !email.is_empty() && !is_plain_address(email) {
        return Err(ProfileError::EmailInvalid);
    }
    let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Ok(Profile {
        display_name: given(display_name),
        email: given(email),
    })
}

/// An address a person would type: valid by RFC 5322 (the `email_address` crate), without a
/// display-name part or a quoted local part, and with a dotted domain.
fn is_plain_address(email: &str) -> bool {
    let options = email_address::Options::default()
        .without_display_text()
        .without_domain_literal();
    let Ok(address) = email_address::EmailAddress::parse_with_options(email, options) else {
        return false;
    };
    let domain = address.domain();
    address.as_str() == email
        && !address.local_part().starts_with('"')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_mean_not_given() {
        assert_eq!(parse_profile("  ", ""), Ok(Profile::default()));
    }

    #[test]
    fn values_are_trimmed() {
        let p = parse_profile("  Alice Liddell ", " alice@example.org ").unwrap();
        assert_eq!(p.display_name.as_deref(), Some("Alice Liddell"));
        assert_eq!(p.email.as_deref(), Some("alice@example.org"));
    }

    #[test]
    fn display_names_are_bounded_and_on_one_line() {
        let longest = "é".repeat(DISPLAY_NAME_MAX_CHARS);
        assert!(parse_profile(&longest, "").is_ok());
        assert_eq!(
            parse_profile(&format!("{longest}x"), ""),
            Err(ProfileError::DisplayNameTooLong)
        );
        assert_eq!(
            parse_profile("two\nlines", ""),
            Err(ProfileError::DisplayNameControl)
        );
        assert_eq!(
            parse_profile("a\u{7}b", ""),
            Err(ProfileError::DisplayNameControl)
        );
        assert!(parse_profile("Zoë <3 Ünicode 名前", "").is_ok());
    }

    #[test]
    fn emails_must_look_like_addresses() {
        for good in ["a@example.org", "first.last+tag@sub.example.co.uk"] {
            assert!(parse_profile("", good).is_ok(), "{good}");
        }
        for bad in [
            "alice",
            "@example.org",
            "alice@",
            "alice@localhost",
            "alice@@example.org",
            "Alice <alice@example.org>",
            "alice@[127.0.0.1]",
            "\"a b\"@example.org",
            "a b@example.org",
            "alice@example.org.",
        ] {
            assert_eq!(
                parse_profile("", bad),
                Err(ProfileError::EmailInvalid),
                "{bad}"
            );
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(parse_profile("", &long), Err(ProfileError::EmailTooLong));
    }

    #[test]
    fn codes_round_trip() {
        for error in ProfileError::ALL {
            assert_eq!(ProfileError::from_code(error.code()), Some(error));
            assert!(!error.message().is_empty());
        }
        assert_eq!(ProfileError::from_code("nonsense"), None);
    }
}
