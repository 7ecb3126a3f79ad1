//! The rule for new passwords, shared by the server's checks and the pages' form fields.

/// The shortest new password accepted (characters).
pub const MIN_PASSWORD_LEN: usize = 8;
/// The longest password accepted anywhere (bytes); longer input is refused before hashing.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Why a new password is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRuleError {
    /// Fewer than [`MIN_PASSWORD_LEN`] characters.
    #[error("use at least 8 characters")]
    TooShort,
    /// More than [`MAX_PASSWORD_LEN`] bytes.
    #[error("use at most 1024 bytes")]
    TooLong,
}

impl PasswordRuleError {
    /// What to tell the person.
    pub const fn message(self) -> &'static str {
        match self {
            PasswordRuleError::TooShort => "use at least 8 characters",
            PasswordRuleError::TooLong => "use at most 1024 bytes",
        }
    }
}

/// Checks that `password` is an acceptable new password.
///
/// # Errors
/// [`PasswordRuleError`] when its length is outside the bounds.
pub fn check_new_password(password: &str) -> Result<(), PasswordRuleError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordRuleError::TooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordRuleError::TooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_are_inclusive_and_their_messages_name_them() {
        assert_eq!(
            check_new_password("1234567"),
            Err(PasswordRuleError::TooShort)
        );
        assert_eq!(check_new_password("12345678"), Ok(()));
        assert_eq!(check_new_password(&"x".repeat(1024)), Ok(()));
        assert_eq!(
            check_new_password(&"x".repeat(1025)),
            Err(PasswordRuleError::TooLong)
        );
        assert!(PasswordRuleError::TooShort
            .to_string()
            .contains(&MIN_PASSWORD_LEN.to_string()));
        assert!(PasswordRuleError::TooLong
            .to_string()
            .contains(&MAX_PASSWORD_LEN.to_string()));
    }
}
