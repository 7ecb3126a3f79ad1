//! Accounts: creation, lookup and password changes.

use crate::dto::{DraftKey, UserView};
use crate::profile::Profile;
use crate::server::{
    clock::SharedClock,
    db::Database,
    error::{AccountError, AccountRefusal, StoreError},
    keys::SecretKey,
    password::{check_new_password, hash_password, verify_password, HashLimiter, HashPermit},
};
use crate::username::username_key;
pub use crate::username::MAX_USERNAME_LEN;
use sqlx::Row;
use std::fmt;

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
    /// Disabled by an administrator: cannot sign in.
    pub disabled: bool,
    /// What the session remembers of the password (axum-login's session auth hash): a keyed
    /// hash of `password_hash`, so it changes with the password but reveals nothing about it.
    pub auth_hash: [u8; 32],
    /// The name they chose to be greeted by, if any.
    pub display_name: Option<String>,
    /// Their email address, if given.
    pub email: Option<String>,
    /// The key and scope their browser keeps drafts under (derived, never stored).
    pub drafts: DraftKey,
    /// How many credential changes (password, disabled or enabled) the account has seen: a
    /// session is stored only if this is still the epoch its password was checked under.
    pub credential_epoch: i64,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("is_admin", &self.is_admin)
            .field("disabled", &self.disabled)
            .field("auth_hash", &"[redacted]")
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("drafts", &self.drafts)
            .field("credential_epoch", &self.credential_epoch)
            .finish()
    }
}

/// How the password hash of an application's account begins (see [`Users::sync_external`]).
pub const EXTERNAL_HASH_PREFIX: &str = "external$";

impl User {
    /// Whether this account belongs to an application that keeps its own users (its
    /// password is not checked here).
    pub fn is_external(&self) -> bool {
        self.password_hash.starts_with(EXTERNAL_HASH_PREFIX)
    }

    /// The public view of this account.
    pub fn view(&self) -> UserView {
        UserView {
            username: self.username.clone(),
            is_admin: self.is_admin,
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            drafts: self.drafts.clone(),
        }
    }
}

/// What checking a username and password found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is right.
    Correct(User),
    /// The user exists; the password is wrong.
    Wrong(User),
    /// No such user (a dummy hash was checked so that this takes as long).
    NoSuchUser,
}

/// The longest a user looked up by id (the per-request lookup of the signed-in user) is served
/// from memory. Changes made here drop it at once, changes made elsewhere when
/// [`crate::server::changes`] reports them ([`Users::forget`]); the limit is only a backstop.
const USER_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1_800);
/// A user nobody looked up in this long is dropped from memory.
const USER_CACHE_IDLE: std::time::Duration = std::time::Duration::from_secs(600);

/// The accounts table.
#[derive(Clone)]
pub struct Users {
    inner: std::sync::Arc<UsersInner>,
}

/// What [`Users`] shares between its clones (one clone per request must cost one count).
struct UsersInner {
    db: Database,
    clock: SharedClock,
    key: SecretKey,
    hashing: HashLimiter,
    by_id: moka::sync::Cache<i64, User>,
    /// An application's account id to the id of the engine's row for it (never changes).
    by_external: moka::sync::Cache<String, i64>,
}

impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Users").finish_non_exhaustive()
    }
}

/// Checks a new username (see [`crate::username::check_username`]).
///
/// # Errors
/// [`AccountRefusal::InvalidUsername`] saying what is wrong.
pub fn validate_username(name: &str) -> Result<(), AccountRefusal> {
    crate::username::check_username(name).map_err(|e| AccountRefusal::InvalidUsername(e.message()))
}

pub use crate::server::db::{fill_username_keys, UsernameKeyFill};

/// The session auth hash of a password hash under `key` (see [`User::auth_hash`]).
pub fn derive_auth_hash(key: &SecretKey, password_hash: &str) -> [u8; 32] {
    key.mac(&[b"session-auth", password_hash.as_bytes()])
}

/// The draft key and scope of account `id` named `username` (see [`DraftKey`]): keyed hashes
/// under the server's secret, so that they are the same on every instance and after a restart,
/// differ between accounts (a reused name on a new account gets a new id), and reveal nothing.
pub fn derive_draft_key(key: &SecretKey, id: i64, username: &str) -> DraftKey {
    let id = id.to_be_bytes();
    let scope = key.mac(&[b"draft-scope", &id, username.as_bytes()]);
    DraftKey {
        scope: hex::encode(&scope[..8]),
        key: key.mac_hex(&[b"draft-key", &id, username.as_bytes()]),
    }
}

/// An account query: the columns [`Users::user_from_row`] reads, then `$rest`.
macro_rules! select_users {
    ($rest:literal) => {
        concat!(
            "SELECT id, username, password_hash, is_admin, disabled_at, display_name, email, \
             credential_epoch FROM users ",
            $rest
        )
    };
}

impl Users {
    /// The accounts stored in `db`, with `clock` for creation times, `key` for deriving the
    /// session auth hash, and `hashing` bounding the password hashes run at once.
    pub fn new(db: Database, clock: SharedClock, key: SecretKey, hashing: HashLimiter) -> Self {
        Self {
            inner: std::sync::Arc::new(UsersInner {
                db,
                clock,
                key,
                hashing,
                by_id: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(USER_CACHE_TTL)
                    .time_to_idle(USER_CACHE_IDLE)
                    .build(),
                by_external: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_idle(USER_CACHE_IDLE)
                    .build(),
            }),
        }
    }

    fn user_from_row(&self, row: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
        let password_hash: String = row.try_get("password_hash")?;
        let id: i64 = row.try_get("id")?;
        let username: String = row.try_get("username")?;
        Ok(User {
            id,
            auth_hash: derive_auth_hash(&self.inner.key, &password_hash),
            drafts: derive_draft_key(&self.inner.key, id, &username),
            username,
            password_hash,
            is_admin: row.try_get::<i64, _>("is_admin")? != 0,
            disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
            display_name: row.try_get("display_name")?,
            email: row.try_get("email")?,
            credential_epoch: row.try_get("credential_epoch")?,
        })
    }

    /// Drops the cached account `id` (it changed elsewhere).
    pub fn forget(&self, id: i64) {
        self.inner.by_id.invalidate(&id);
    }

    /// Drops every cached account.
    pub fn forget_all(&self) {
        self.inner.by_id.invalidate_all();
    }

    /// The bound on password hashing these accounts use.
    pub fn hashing(&self) -> &HashLimiter {
        &self.inner.hashing
    }

    /// Creates an account with an Argon2id hash of `password`.
    ///
    /// # Errors
    /// [`AccountRefusal::Exists`], [`AccountRefusal::InvalidUsername`],
    /// [`AccountRefusal::InvalidPassword`], or a storage failure.
    pub async fn create(
        &self,
        username: &str,
        password: &str,
        is_admin: bool,
    ) -> Result<User, AccountError> {
        validate_username(username)?;
        if self.find_by_username(username).await?.is_some() {
            return Err(AccountRefusal::Exists(username.to_owned()).into());
        }
        let hash = hash_password(&self.inner.hashing, password.to_owned()).await?;
        let result = sqlx::query(
            "INSERT INTO users (username, username_key, password_hash, is_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(username)
        .bind(username_key(username))
        .bind(&hash)
        .bind(i64::from(is_admin))
        .bind(self.inner.clock.now().as_millis())
        .fetch_one(self.inner.db.pool())
        .await;
        match result {
            Ok(row) => {
                let id: i64 = row.try_get("id")?;
                Ok(User {
                    id,
                    username: username.to_owned(),
                    auth_hash: derive_auth_hash(&self.inner.key, &hash),
                    drafts: derive_draft_key(&self.inner.key, id, username),
                    password_hash: hash,
                    is_admin,
                    disabled: false,
                    display_name: None,
                    email: None,
                    credential_epoch: 0,
                })
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(AccountRefusal::Exists(username.to_owned()).into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The account named `username`, if any: the one with exactly this name, else the one
    /// whose name is the same after NFKC and case folding ([`username_key`]). (Only old
    /// accounts can share a key, see [`fill_username_keys`]; each keeps its exact name.)
    /// Text that no name can be ([`crate::username::could_be_username`]) finds nobody,
    /// without a lookup.
    pub async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        if !crate::username::could_be_username(username) {
            return Ok(None);
        }
        // The exact name first: of two old look-alike accounts, each keeps its own name.
        let row = sqlx::query(select_users!(
            "WHERE username_key = $1 OR username = $2 \
             ORDER BY CASE WHEN username = $2 THEN 0 ELSE 1 END LIMIT 1"
        ))
        .bind(username_key(username))
        .bind(username)
        .fetch_optional(self.inner.db.pool())
        .await?;
        Ok(row.as_ref().map(|r| self.user_from_row(r)).transpose()?)
    }

    /// The application's own id of the adopted account `id` (see [`crate::server::adopt`]);
    /// `None` for the engine's own accounts.
    pub async fn external_id_of(&self, id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT external_id FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.inner.db.pool())
            .await?;
        Ok(row
            .map(|row| row.try_get::<Option<String>, _>("external_id"))
            .transpose()?
            .flatten())
    }

    /// The account `id` unless it is disabled: a disabled account is nobody, whatever session
    /// still names it ([`Users::get`] otherwise).
    ///
    /// # Errors
    /// As [`Users::get`].
    pub async fn get_enabled(&self, id: i64) -> Result<Option<User>, StoreError> {
        Ok(self.get(id).await?.filter(|user| !user.disabled))
    }

    /// The account with database id `id`, if any.
    pub async fn get(&self, id: i64) -> Result<Option<User>, StoreError> {
        if let Some(user) = self.inner.by_id.get(&id) {
            return Ok(Some(user));
        }
        let row = sqlx::query(select_users!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.inner.db.pool())
            .await?;
        let user = row.as_ref().map(|r| self.user_from_row(r)).transpose()?;
        if let Some(user) = &user {
            self.inner.by_id.insert(id, user.clone());
        }
        Ok(user)
    }

    /// Every account, by username.
    pub async fn list(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(select_users!("ORDER BY username"))
            .fetch_all(self.inner.db.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| self.user_from_row(r))
            .collect::<Result<_, _>>()?)
    }

    /// Every account with its live-session count and latest sign-in, by username.
    pub async fn summaries(&self) -> Result<Vec<crate::dto::UserSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.username, u.is_admin, u.disabled_at, \
             (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.ended_at IS NULL) \
               AS active_sessions, \
             (SELECT MAX(s.created_at) FROM sessions s WHERE s.user_id = u.id) AS last_sign_in \
             FROM users u ORDER BY u.username",
        )
        .fetch_all(self.inner.db.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(crate::dto::UserSummary {
                    username: row.try_get("username")?,
                    is_admin: row.try_get::<i64, _>("is_admin")? != 0,
                    disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
                    active_sessions: row.try_get("active_sessions")?,
                    last_sign_in: row.try_get("last_sign_in")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// How many accounts exist.
    pub async fn count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.inner.db.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Checks a username and password, taking the same time whether or not the user exists.
    ///
    /// # Errors
    /// [`StoreError::Busy`] when too many password checks are under way; database errors.
    pub async fn check(&self, username: &str, password: &str) -> Result<PasswordCheck, StoreError> {
        let permit = self.inner.hashing.try_admit()?;
        self.check_admitted(permit, username, password).await
    }

    /// [`Users::check`] with a place among the password hashes already taken.
    ///
    /// # Errors
    /// [`StoreError::Busy`] when no core came free in time; database errors.
    pub async fn check_admitted(
        &self,
        permit: HashPermit,
        username: &str,
        password: &str,
    ) -> Result<PasswordCheck, StoreError> {
        // Any text may be looked up (old accounts may predate today's rules); only what no
        // name can be is not.
        let user = self.find_by_username(username).await?;
        // An application's account has no password here: the dummy is checked instead.
        let stored = user
            .as_ref()
            .filter(|u| !u.is_external())
            .map(|u| u.password_hash.clone());
        let ok = verify_password(permit, password.to_owned(), stored).await?;
        Ok(match user {
            Some(user) if ok => PasswordCheck::Correct(user),
            Some(user) => PasswordCheck::Wrong(user),
            None => PasswordCheck::NoSuchUser,
        })
    }

    /// Checks a username and password; `Ok(None)` for an unknown user or a wrong password
    /// alike, taking the same time for both.
    pub async fn verify(&self, username: &str, password: &str) -> Result<Option<User>, StoreError> {
        Ok(match self.check(username, password).await? {
            PasswordCheck::Correct(user) => Some(user),
            PasswordCheck::Wrong(_) | PasswordCheck::NoSuchUser => None,
        })
    }

    /// Disables (`true`) or enables the account `username`; returns it.
    ///
    /// # Errors
    /// [`AccountRefusal::NoSuchUser`], or a database error.
    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<User, AccountError> {
        let mut user = self
            .find_by_username(username)
            .await?
            .ok_or_else(|| AccountRefusal::NoSuchUser(username.to_owned()))?;
        // A new credential epoch: a sign-in checked before this never stores its session.
        let row = sqlx::query(
            "UPDATE users SET disabled_at = $1, credential_epoch = credential_epoch + 1 \
             WHERE id = $2 RETURNING credential_epoch",
        )
        .bind(disabled.then(|| self.inner.clock.now().as_millis()))
        .bind(user.id)
        .fetch_one(self.inner.db.pool())
        .await?;
        user.credential_epoch = row.try_get("credential_epoch")?;
        user.disabled = disabled;
        self.inner.by_id.invalidate(&user.id);
        Ok(user)
    }

    /// Stores the display name and email of account `id` (already checked by
    /// [`crate::profile::parse_profile`]).
    ///
    /// # Errors
    /// [`AccountRefusal::NoSuchUser`] when the account is gone, or a database error.
    pub async fn set_profile(&self, id: i64, profile: &Profile) -> Result<(), AccountError> {
        let updated = sqlx::query("UPDATE users SET display_name = $1, email = $2 WHERE id = $3")
            .bind(profile.display_name.as_deref())
            .bind(profile.email.as_deref())
            .bind(id)
            .execute(self.inner.db.pool())
            .await?;
        self.inner.by_id.invalidate(&id);
        if updated.rows_affected() == 0 {
            return Err(AccountRefusal::NoSuchUser(format!("#{id}")).into());
        }
        Ok(())
    }

    /// Marks the account `user_id` to be sent to a new password after its next sign-in
    /// ("This wasn't me"); the next password change clears the mark.
    ///
    /// # Errors
    /// Database errors.
    pub async fn require_password_change(&self, user_id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_change_required = 1 WHERE id = $1")
            .bind(user_id)
            .execute(self.inner.db.pool())
            .await?;
        Ok(())
    }

    /// Whether the account `user_id` must choose a new password before anything else (see
    /// [`Users::require_password_change`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn password_change_required(&self, user_id: i64) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("SELECT password_change_required FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(self.inner.db.pool())
                .await?
                .map(|row| row.try_get::<i64, _>("password_change_required"))
                .transpose()?
                .is_some_and(|flag| flag != 0),
        )
    }

    /// Replaces the password of `username`. Every session made before is no longer good (a new
    /// credential epoch), and no sign-in checked before stores one.
    ///
    /// # Errors
    /// [`AccountRefusal::NoSuchUser`], [`AccountRefusal::InvalidPassword`], or a database error.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<User, AccountError> {
        self.set_password_keeping(username, password, None).await
    }

    /// [`Users::set_password`], keeping the session `keep` good (the one whose person proved
    /// the current password to make the change): it moves to the new epoch in the same
    /// transaction, so that no moment exists in which it is refused, nor one in which the
    /// password changed and the other sessions are still good.
    ///
    /// # Errors
    /// As [`Users::set_password`].
    pub async fn set_password_keeping(
        &self,
        username: &str,
        password: &str,
        keep: Option<&str>,
    ) -> Result<User, AccountError> {
        let mut user = self
            .find_by_username(username)
            .await?
            .ok_or_else(|| AccountRefusal::NoSuchUser(username.to_owned()))?;
        check_new_password(password)?;
        let hash = hash_password(&self.inner.hashing, password.to_owned()).await?;
        let mut tx = self.inner.db.pool().begin().await?;
        let row = sqlx::query(
            "UPDATE users SET password_hash = $1, credential_epoch = credential_epoch + 1, \
             password_change_required = 0 WHERE id = $2 RETURNING credential_epoch",
        )
        .bind(&hash)
        .bind(user.id)
        .fetch_one(&mut *tx)
        .await?;
        user.credential_epoch = row.try_get("credential_epoch")?;
        if let Some(keep) = keep {
            sqlx::query(
                "UPDATE sessions SET credential_epoch = $1 \
                 WHERE id_hash = $2 AND user_id = $3 AND ended_at IS NULL",
            )
            .bind(user.credential_epoch)
            .bind(keep)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        user.auth_hash = derive_auth_hash(&self.inner.key, &hash);
        user.password_hash = hash;
        self.inner.by_id.invalidate(&user.id);
        Ok(user)
    }
}

/// An application's account as it stands now (see [`Users::sync_external`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalAccount<'a> {
    /// The application's id of the account.
    pub external_id: &'a str,
    /// Its name (shown on device lists and in the audit log).
    pub username: &'a str,
    /// Whether it gets the administrators' limits.
    pub is_admin: bool,
    /// Whether it may no longer be signed in.
    pub disabled: bool,
    /// What the application's session auth hash is now (its password).
    pub auth_hash: &'a [u8],
}

/// Whether the engine's row `known` says what `account` says now (its fingerprint `hash`).
fn matches_external(known: &User, account: &ExternalAccount<'_>, hash: &str) -> bool {
    known.password_hash == hash
        && known.disabled == account.disabled
        && known.is_admin == account.is_admin
        && (known.username == account.username || known.username == suffixed_name(account))
}

/// The name an application's account gets when its own is taken: the name and its id.
fn suffixed_name(account: &ExternalAccount<'_>) -> String {
    format!("{} ({})", account.username, account.external_id)
}

/// What [`Users::sync_external`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalSync {
    /// Seen for the first time: a row was made.
    Created(User),
    /// Nothing that ends sessions changed (its name or administrator flag may have).
    Unchanged(User),
    /// Its password changed since the engine last saw it: a new credential epoch.
    PasswordChanged(User),
    /// It was disabled since: a new credential epoch.
    Disabled(User),
}

impl ExternalSync {
    /// The account as it is now.
    pub fn user(&self) -> &User {
        match self {
            Self::Created(u)
            | Self::Unchanged(u)
            | Self::PasswordChanged(u)
            | Self::Disabled(u) => u,
        }
    }
}

impl Users {
    /// Brings the engine's row for an application's account up to date (creating it the first
    /// time): name, administrator flag, disabled, and a keyed fingerprint of its session auth
    /// hash. A new password or a disabling moves the account to a new credential epoch, so
    /// that every session made before is refused from then on. A name already taken by another
    /// account gets the application's id appended.
    ///
    /// # Errors
    /// Database errors.
    pub async fn sync_external(
        &self,
        account: &ExternalAccount<'_>,
    ) -> Result<ExternalSync, StoreError> {
        let hash = format!(
            "{EXTERNAL_HASH_PREFIX}{}",
            self.inner
                .key
                .mac_hex(&[b"external account", account.auth_hash])
        );
        // The per-request case: the account as this instance knows it (kept current by the
        // change log) still matches; no database read. Anything else is read afresh.
        if let Some(id) = self.inner.by_external.get(account.external_id) {
            if let Some(known) = self.get(id).await? {
                if matches_external(&known, account, &hash) {
                    return Ok(ExternalSync::Unchanged(known));
                }
            }
        }
        let now = self.inner.clock.now().as_millis();
        let disabled_at = account.disabled.then_some(now);
        let row = sqlx::query(select_users!("WHERE external_id = $1"))
            .bind(account.external_id)
            .fetch_optional(self.inner.db.pool())
            .await?;
        let Some(row) = row else {
            let created = self.create_external(account, &hash, disabled_at).await?;
            self.inner
                .by_external
                .insert(account.external_id.to_owned(), created.user().id);
            return Ok(created);
        };
        let known = self.user_from_row(&row)?;
        self.inner
            .by_external
            .insert(account.external_id.to_owned(), known.id);
        if matches_external(&known, account, &hash) {
            return Ok(ExternalSync::Unchanged(known));
        }
        let same_name =
            known.username == account.username || known.username == suffixed_name(account);
        let password_changed = known.password_hash != hash;
        let newly_disabled = account.disabled && !known.disabled;
        let credentials_changed = password_changed || account.disabled != known.disabled;
        // The new name first; when another account has it, the old one stays.
        let names = if same_name {
            vec![known.username.as_str()]
        } else {
            vec![account.username, known.username.as_str()]
        };
        for (i, username) in names.iter().enumerate() {
            let updated = sqlx::query(
                "UPDATE users SET username = $1, username_key = $2, password_hash = $3, \
                 is_admin = $4, disabled_at = CASE WHEN $5 THEN COALESCE(disabled_at, $6) END, \
                 credential_epoch = credential_epoch + $7 WHERE id = $8",
            )
            .bind(*username)
            .bind(username_key(username))
            .bind(&hash)
            .bind(i64::from(account.is_admin))
            .bind(account.disabled)
            .bind(now)
            .bind(i64::from(credentials_changed))
            .bind(known.id)
            .execute(self.inner.db.pool())
            .await;
            match updated {
                Ok(_) => break,
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() && i + 1 < names.len() => {
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.inner.by_id.invalidate(&known.id);
        let user = self
            .get(known.id)
            .await?
            .ok_or_else(|| StoreError::Vanished(account.username.to_owned()))?;
        Ok(if newly_disabled {
            ExternalSync::Disabled(user)
        } else if password_changed {
            ExternalSync::PasswordChanged(user)
        } else {
            ExternalSync::Unchanged(user)
        })
    }

    async fn create_external(
        &self,
        account: &ExternalAccount<'_>,
        hash: &str,
        disabled_at: Option<i64>,
    ) -> Result<ExternalSync, StoreError> {
        let suffixed = suffixed_name(account);
        for username in [account.username, suffixed.as_str()] {
            let inserted = sqlx::query(
                "INSERT INTO users (username, username_key, password_hash, is_admin, \
                 disabled_at, created_at, external_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(username)
            .bind(username_key(username))
            .bind(hash)
            .bind(i64::from(account.is_admin))
            .bind(disabled_at)
            .bind(self.inner.clock.now().as_millis())
            .bind(account.external_id)
            .fetch_optional(self.inner.db.pool())
            .await?;
            if inserted.is_some() {
                break;
            }
        }
        // Made here, or by a racing request for the same account.
        let row = sqlx::query(select_users!("WHERE external_id = $1"))
            .bind(account.external_id)
            .fetch_optional(self.inner.db.pool())
            .await?
            .ok_or_else(|| StoreError::Vanished(account.username.to_owned()))?;
        Ok(ExternalSync::Created(self.user_from_row(&row)?))
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
        assert!(validate_username("fr\u{430}nk").is_err(), "mixed scripts");
    }

    #[test]
    fn debug_hides_the_hash() {
        let user = User {
            id: 1,
            username: "a".into(),
            password_hash: "$argon2id$secret".into(),
            is_admin: false,
            disabled: false,
            auth_hash: [7; 32],
            display_name: None,
            email: None,
            drafts: DraftKey {
                scope: "00".into(),
                key: "feedface".into(),
            },
            credential_epoch: 0,
        };
        let debug = format!("{user:?}");
        assert!(!debug.contains("secret"));
        assert!(!debug.contains("feedface"));
    }
}

#[cfg(test)]
mod auth_hash_tests {
    use super::*;

    #[test]
    fn the_auth_hash_follows_the_password_but_does_not_reveal_it() {
        let key = SecretKey::from_bytes(vec![9; 32]);
        let a = derive_auth_hash(&key, "$argon2id$v=19$m=19456,t=2,p=1$salt$aaaa");
        let b = derive_auth_hash(&key, "$argon2id$v=19$m=19456,t=2,p=1$salt$bbbb");
        assert_ne!(a, b, "a new password hash gives a new auth hash");
        let other_key = SecretKey::from_bytes(vec![8; 32]);
        assert_ne!(
            a,
            derive_auth_hash(&other_key, "$argon2id$v=19$m=19456,t=2,p=1$salt$aaaa")
        );
        assert!(!String::from_utf8_lossy(&a).contains("argon2"));
    }
}

#[cfg(test)]
mod draft_key_tests {
    use super::*;

    #[test]
    fn draft_keys_differ_per_account_and_server_and_hide_both() {
        let server = SecretKey::from_bytes(vec![1; 32]);
        let other_server = SecretKey::from_bytes(vec![2; 32]);
        let alice = derive_draft_key(&server, 1, "alice");
        assert_eq!(alice, derive_draft_key(&server, 1, "alice"), "stable");
        assert_eq!(alice.scope.len(), 16);
        assert_eq!(alice.key.len(), 64);
        assert!(alice.scope.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(
            !alice.key.contains(&alice.scope),
            "the scope does not reveal the key"
        );
        for other in [
            derive_draft_key(&server, 2, "alice"),
            derive_draft_key(&server, 1, "bob"),
            derive_draft_key(&other_server, 1, "alice"),
        ] {
            assert_ne!(alice.scope, other.scope);
            assert_ne!(alice.key, other.key);
        }
    }
}
