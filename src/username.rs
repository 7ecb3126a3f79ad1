//! Usernames: which are acceptable, and when two are the same name.
//!
//! Two names are the same when they are equal after Unicode NFKC normalisation and case
//! folding ([`username_key`]): `frank`, `FRANK` and `ｆｒａｎｋ` (full width) are one name, so
//! only one account can have it and signing in as any of them finds that account. A name that
//! mixes letters of different scripts (`frаnk` with a Cyrillic `а`) is refused outright: it
//! exists only to look like another name. Digits and `.`, `_`, `-`, `@` go with any script.
//!
//! ```
//! use auto_logout::username::{check_username, username_key, UsernameError};
//!
//! assert_eq!(username_key("FRANK"), username_key("frank"));
//! assert_eq!(username_key("ｆｒａｎｋ"), "frank");
//! assert_eq!(check_username("frank.2"), Ok(()));
//! assert_eq!(check_username("fr\u{430}nk"), Err(UsernameError::MixedScripts));
//! ```

use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;

/// The longest username accepted, in bytes of UTF-8.
pub const MAX_USERNAME_LEN: usize = 64;

/// Why a username is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub enum UsernameError {
    /// Nothing was given.
    Empty,
    /// Longer than [`MAX_USERNAME_LEN`] bytes.
    TooLong,
    /// A character other than a letter, a digit, `.`, `_`, `-` or `@`.
    Characters,
    /// Letters of more than one script (a look-alike of another name).
    MixedScripts,
}

impl UsernameError {
    /// The message for a person choosing a name.
    pub fn message(self) -> &'static str {
        match self {
            UsernameError::Empty => "it is empty",
            UsernameError::TooLong => "use at most 64 characters",
            UsernameError::Characters => "use letters, digits, '.', '_', '-' and '@' only",
            UsernameError::MixedScripts => {
                "use letters of one script only (it mixes scripts, as look-alikes of other names do)"
            }
        }
    }
}

/// Checks a new username: 1 to [`MAX_USERNAME_LEN`] bytes of letters, digits, `.`, `_`, `-`
/// and `@`, all letters of one script (as Unicode's UTS #39 counts them: Japanese kana and
/// kanji together are one).
///
/// # Errors
/// [`UsernameError`] saying what is wrong.
pub fn check_username(name: &str) -> Result<(), UsernameError> {
    if name.is_empty() {
        return Err(UsernameError::Empty);
    }
    if name.len() > MAX_USERNAME_LEN {
        return Err(UsernameError::TooLong);
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(UsernameError::Characters);
    }
    if !name.is_single_script() || !username_key(name).as_str().is_single_script() {
        return Err(UsernameError::MixedScripts);
    }
    Ok(())
}

/// Whether `typed` could name an account at all: not empty, no longer in bytes than the
/// longest name could be typed (four bytes per character, full-width forms included), and
/// only letters, digits, `.`, `_`, `-` and `@` (accounts made before the one-script rule
/// included). Anything else finds nobody without a lookup.
pub fn could_be_username(typed: &str) -> bool {
    !typed.is_empty()
        && typed.len() <= 4 * MAX_USERNAME_LEN
        && typed
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// The form two names are compared in: NFKC, case folded, NFKC again (Unicode's
/// `NFKC_Casefold` without the removal of ignorable characters, which names cannot hold).
pub fn username_key(name: &str) -> String {
    let folded = caseless::default_case_fold_str(&name.nfkc().collect::<String>());
    folded.nfkc().collect()
}

/// The part of a typed username that sign-in looks at: its first [`MAX_USERNAME_LEN`]
/// characters (no acceptable name is longer), so that the work done for one attempt does not
/// grow with what was sent.
pub fn truncate_typed(typed: &str) -> &str {
    match typed.char_indices().nth(MAX_USERNAME_LEN) {
        Some((end, _)) => &typed[..end],
        None => typed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn case_and_width_variants_are_one_name() {
        let frank = username_key("frank");
        for variant in ["FRANK", "Frank", "ｆｒａｎｋ", "ＦＲＡＮＫ"] {
            assert_eq!(username_key(variant), frank, "{variant}");
        }
        assert_eq!(username_key("straße"), username_key("STRASSE"));
        assert_ne!(username_key("frank"), username_key("franc"));
    }

    #[test]
    fn look_alikes_of_mixed_scripts_are_refused() {
        assert_eq!(check_username("frank"), Ok(()));
        assert_eq!(
            check_username("fr\u{430}nk"),
            Err(UsernameError::MixedScripts)
        );
        assert_eq!(
            check_username("\u{440}aypal"),
            Err(UsernameError::MixedScripts)
        );
        // One script, with digits and punctuation, is fine in any script.
        for name in ["иван", "иван.2", "山田たろう", "ελένη_1", "a.b-c_d@e"] {
            assert_eq!(check_username(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn other_rules_still_hold() {
        assert_eq!(check_username(""), Err(UsernameError::Empty));
        assert_eq!(check_username(&"a".repeat(65)), Err(UsernameError::TooLong));
        assert_eq!(check_username(&"a".repeat(64)), Ok(()));
        assert_eq!(
            check_username("x'; DROP TABLE users; --"),
            Err(UsernameError::Characters)
        );
        assert_eq!(check_username("a b"), Err(UsernameError::Characters));
    }

    #[test]
    fn only_plausible_text_is_looked_up() {
        assert!(could_be_username("alice"));
        assert!(could_be_username("ＦＲＡＮＫ"));
        assert!(
            could_be_username("fr\u{430}nk"),
            "old accounts may mix scripts"
        );
        for typed in ["", "a\u{0}b", "alice' OR '1'='1", "a b"] {
            assert!(!could_be_username(typed), "{typed:?}");
        }
        assert!(!could_be_username(&"a".repeat(257)));
    }

    #[test]
    fn what_is_typed_is_cut_to_the_longest_name() {
        assert_eq!(truncate_typed("alice"), "alice");
        let long = "я".repeat(10_000);
        assert_eq!(truncate_typed(&long).chars().count(), MAX_USERNAME_LEN);
    }

    proptest! {
        #[test]
        fn the_key_is_stable(name in "\\PC{0,40}") {
            let key = username_key(&name);
            prop_assert_eq!(username_key(&key), key);
        }

        #[test]
        fn checking_never_panics(name in "\\PC{0,80}") {
            let _ = check_username(&name);
            prop_assert!(truncate_typed(&name).chars().count() <= MAX_USERNAME_LEN);
        }
    }
}
