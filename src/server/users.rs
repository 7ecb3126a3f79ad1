//! Accounts: creation, lookup and password changes.

use super::{
    clock::SharedClock,
    db::Database,
    error::StoreError,
    password::{hash_password, verify_password},
};
use crate::dto::UserView;
use sqlx::Row;
use std::fmt;

/// The longest username accepted.
pub const MAX_USERNAME_LEN: usize = 64;

/// A stored account. `Debug` never prints the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Unique login name.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// May use the admin console.
    pub is_admin: bool,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("is_admin", &self.is_admin)
            .finish()
    }
}

impl User {
    /// The public view of this account.
    pub fn view(&self) -> UserView {
        UserView {
            username: self.username.clone(),
            is_admin: self.is_admin,
        }
    }
}

/// How long a user looked up by id is served from memory (the per-request lookup of the
/// signed-in user). A password changed through another process takes effect after this.
const USER_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The accounts table.
#[derive(Clone)]
pub struct Users {
    db: Database,
    clock: SharedClock,
    by_id: moka::sync::Cache<i64, User>,
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Users").finish_non_exhaustive()
    }
}

/// Checks a username: 1 to 64 characters of letters, digits, `.`, `_`, `-` and `@`.
///
/// # Errors
/// [`StoreError::InvalidUsername`] saying what is wrong.
pub fn validate_username(name: &str) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(StoreError::InvalidUsername("it is empty"));
    }
    if name.len() > MAX_USERNAME_LEN {
        return Err(StoreError::InvalidUsername("use at most 64 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(StoreError::InvalidUsername(
            "use letters, digits, '.', '_', '-' and '@' only",
        ));
    }
    Ok(())
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
    })
}

impl Users {
    /// The accounts stored in `db`, with `clock` for creation times.
    pub fn new(db: Database, clock: SharedClock) -> Self {
        Self {
            db,
            clock,
            by_id: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(USER_CACHE_TTL)
                .build(),
        }
    }

    /// Creates an account with an Argon2id hash of `password`.
    ///
    /// # Errors
    /// [`StoreError::UserExists`], [`StoreError::InvalidUsername`],
    /// [`StoreError::InvalidPassword`], or a database error.
    pub async fn create(
        &self,
        username: &str,
        password: &str,
        is_admin: bool,
    ) -> Result<User, StoreError> {
        validate_username(username)?;
        if self.find_by_username(username).await?.is_some() {
            return Err(StoreError::UserExists(username.to_owned()));
        }
        let hash = hash_password(password.to_owned()).await?;
        let result = sqlx::query(
            "INSERT INTO users (username, password_hash, is_admin, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(username)
        .bind(&hash)
        .bind(i64::from(is_admin))
        .bind(self.clock.now().as_millis())
        .fetch_one(self.db.pool())
        .await;
        match result {
            Ok(row) => Ok(User {
                id: row.try_get("id")?,
                username: username.to_owned(),
                password_hash: hash,
                is_admin,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::UserExists(username.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The account named `username`, if any.
    pub async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT id, username, password_hash, is_admin FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    /// The account with database id `id`, if any.
    pub async fn get(&self, id: i64) -> Result<Option<User>, StoreError> {
        if let Some(user) = self.by_id.get(&id) {
            return Ok(Some(user));
        }
        let row =
            sqlx::query("SELECT id, username, password_hash, is_admin FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?;
        let user = row.as_ref().map(user_from_row).transpose()?;
        if let Some(user) = &user {
            self.by_id.insert(id, user.clone());
        }
        Ok(user)
    }

    /// Every account, by username.
    pub async fn list(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, username, password_hash, is_admin FROM users ORDER BY username",
        )
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    /// How many accounts exist.
    pub async fn count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Checks a username and password; `Ok(None)` for an unknown user or a wrong password
    /// alike, taking the same time for both.
    pub async fn verify(&self, username: &str, password: &str) -> Result<Option<User>, StoreError> {
        let user = if validate_username(username).is_ok() {
            self.find_by_username(username).await?
        } else {
            None
        };
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let ok = verify_password(password.to_owned(), stored).await?;
        Ok(user.filter(|_| ok))
    }

    /// Replaces the password of `username`.
    ///
    /// # Errors
    /// [`StoreError::NoSuchUser`], [`StoreError::InvalidPassword`], or a database error.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<User, StoreError> {
        let mut user = self
            .find_by_username(username)
            .await?
            .ok_or_else(|| StoreError::NoSuchUser(username.to_owned()))?;
        let hash = hash_password(password.to_owned()).await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(&hash)
            .bind(user.id)
            .execute(self.db.pool())
            .await?;
        user.password_hash = hash;
        self.by_id.invalidate(&user.id);
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_checked() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("a.b-c_d@e").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("x'; DROP TABLE users; --").is_err());
        assert!(validate_username(&"a".repeat(65)).is_err());
    }

    #[test]
    fn debug_hides_the_hash() {
        let user = User {
            id: 1,
            username: "a".into(),
            password_hash: "$argon2id$secret".into(),
            is_admin: false,
        };
        assert!(!format!("{user:?}").contains("secret"));
    }
}
