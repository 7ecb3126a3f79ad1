//! Password hashing with Argon2id (the `argon2` crate's defaults: OWASP's m=19 MiB, t=2, p=1).

use super::error::StoreError;
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use std::sync::OnceLock;

/// The shortest password `user add` and `user passwd` accept.
pub const MIN_PASSWORD_LEN: usize = 8;
/// The longest password accepted anywhere; longer input is refused before hashing.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Hashes `password` into a PHC string (`$argon2id$v=19$…`). Runs on a blocking thread.
///
/// # Errors
/// [`StoreError::InvalidPassword`] when the length is outside
/// [`MIN_PASSWORD_LEN`]..=[`MAX_PASSWORD_LEN`].
pub async fn hash_password(password: String) -> Result<String, StoreError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(StoreError::InvalidPassword("use at least 8 characters"));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(StoreError::InvalidPassword("use at most 1024 bytes"));
    }
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// Checks `password` against `stored` (a PHC string), taking the same time whether or not
/// `stored` is `None`: an unknown user is checked against a dummy hash, so response times do
/// not tell which usernames exist.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, StoreError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Ok(false);
    }
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let parsed =
            PasswordHash::new(&hash).map_err(|e| StoreError::PasswordHash(e.to_string()))?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && ok)
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))?
}

fn hash_blocking(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::PasswordHash(e.to_string()))
}

/// A hash of a random password, made once per process, for unknown usernames.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = SaltString::generate(&mut OsRng);
        hash_blocking(random.as_str()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn right_password_verifies_and_wrong_does_not() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!verify_password("wrong horse".into(), Some(hash))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn unknown_user_never_verifies() {
        assert!(!verify_password("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn short_and_huge_passwords_are_refused() {
        assert!(matches!(
            hash_password("short".into()).await,
            Err(StoreError::InvalidPassword(_))
        ));
        assert!(matches!(
            hash_password("x".repeat(10_000)).await,
            Err(StoreError::InvalidPassword(_))
        ));
        let hash = hash_password("long enough".into()).await.unwrap();
        assert!(!verify_password("x".repeat(10_000), Some(hash))
            .await
            .unwrap());
    }
}
