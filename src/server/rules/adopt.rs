//! Applications that keep their own users: the engine adopts an application's axum-login
//! backend (its users table, its password check) instead of its own `users` table.
//!
//! What the engine needs of an application's user is the small [`Account`] trait: axum-login's
//! [`AuthUser`] already gives an id and the session auth hash (which changes with the
//! password); the rest is a name to show and, optionally, whether the account is an
//! administrator (the administrators' limits) or disabled.
//!
//! The engine keeps one row per account it has seen in its own table, found by the
//! application's id: sessions, devices, the audit log and the limits refer to that row. The
//! row follows the application's account whenever axum-login loads it ([`Adopted::get_user`],
//! every request of a signed-in person) and at every sign-in: a new password or a disabled
//! account ends every session of it (audited, like a change made in the engine itself). Call
//! [`crate::server::Engine::account_changed`] to have that happen at once, without waiting for a request.

use crate::event::AuditEvent;
use crate::server::{
    admin::run_to_the_end,
    audit::AuditLog,
    audit::NewAuditEntry,
    error::StoreError,
    gate::SessionGate,
    sessions::ClientInfo,
    users::{ExternalAccount, ExternalSync, User, Users},
};
use axum_login::{AuthUser, AuthnBackend, UserId};

/// What the engine needs of an application's user, beyond axum-login's [`AuthUser`] (an id,
/// and a session auth hash that changes with the password).
///
/// ```
/// use auto_logout::server::{Account, AccountInfo};
///
/// #[derive(Clone, Debug)]
/// struct Member { id: i64, email: String, pw_hash: String, staff: bool, locked: bool }
///
/// impl axum_login::AuthUser for Member {
///     type Id = i64;
///     fn id(&self) -> i64 { self.id }
///     fn session_auth_hash(&self) -> &[u8] { self.pw_hash.as_bytes() }
/// }
///
/// impl Account for Member {
///     fn account(&self) -> AccountInfo<'_> {
///         AccountInfo::named(&self.email).admin(self.staff).disabled(self.locked)
///     }
/// }
/// ```
pub trait Account: AuthUser {
    /// The account's name and standing, as the engine should see them now.
    fn account(&self) -> AccountInfo<'_>;
}

/// What [`Account::account`] tells the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountInfo<'a> {
    /// The name shown for the account: on device lists, in the audit log and as the status
    /// endpoint's `user`. Unique names are best; a taken one gets the id appended.
    pub name: &'a str,
    /// The account gets the administrators' limits.
    pub admin: bool,
    /// The account may no longer be signed in: its sessions end.
    pub disabled: bool,
}

impl<'a> AccountInfo<'a> {
    /// The account called `name`, an administrator when `admin`, disabled when `disabled`.
    pub fn new(name: &'a str, admin: bool, disabled: bool) -> Self {
        Self {
            name,
            admin,
            disabled,
        }
    }

    /// An enabled account called `name`, not an administrator.
    pub fn named(name: &'a str) -> Self {
        Self {
            name,
            admin: false,
            disabled: false,
        }
    }

    /// With the administrators' limits when `admin`.
    #[must_use]
    pub fn admin(self, admin: bool) -> Self {
        Self { admin, ..self }
    }

    /// Disabled when `disabled`.
    #[must_use]
    pub fn disabled(self, disabled: bool) -> Self {
        Self { disabled, ..self }
    }
}

impl Account for User {
    fn account(&self) -> AccountInfo<'_> {
        AccountInfo::named(&self.username)
            .admin(self.is_admin)
            .disabled(self.disabled)
    }
}

/// An application's axum-login backend adopted by the engine: the same users and credentials,
/// with every loaded user kept in step with the engine (see the module documentation). Made by
/// [`crate::server::Engine::layers_with`].
#[derive(Debug, Clone)]
pub struct Adopted<B> {
    inner: B,
    follower: AccountFollower,
}

impl<B> Adopted<B> {
    /// `backend`, whose users `follower` keeps in step with the engine.
    pub fn new(backend: B, follower: AccountFollower) -> Self {
        Self {
            inner: backend,
            follower,
        }
    }

    /// The application's own backend.
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

/// Why an adopted backend failed.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError<E: std::error::Error> {
    /// The application's own backend failed.
    #[error(transparent)]
    Backend(E),
    /// The engine's storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<B> AuthnBackend for Adopted<B>
where
    B: AuthnBackend,
    B::User: Account,
{
    type User = B::User;
    type Credentials = B::Credentials;
    type Error = AdoptError<B::Error>;

    async fn authenticate(&self, creds: B::Credentials) -> Result<Option<B::User>, Self::Error> {
        self.inner
            .authenticate(creds)
            .await
            .map_err(AdoptError::Backend)
    }

    /// The application's user, once the engine's row follows it; `None` (nobody signed in)
    /// when the account is disabled or its password changed since this session began: every
    /// session of it has ended then.
    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<B::User>, Self::Error> {
        let Some(user) = self.inner.get_user(id).await.map_err(AdoptError::Backend)? else {
            return Ok(None);
        };
        Ok(match self.follower.follow(&user).await? {
            ExternalSync::Created(local) | ExternalSync::Unchanged(local) if !local.disabled => {
                Some(user)
            }
            _ => None,
        })
    }
}

/// Keeps the engine's rows for an application's accounts in step with them (see the module
/// documentation). Cheap to clone.
#[derive(Debug, Clone)]
pub struct AccountFollower {
    users: Users,
    gate: SessionGate,
    audit: AuditLog,
}

impl AccountFollower {
    /// A follower writing to `users`, ending sessions through `gate` and auditing in `audit`.
    pub fn new(users: Users, gate: SessionGate, audit: AuditLog) -> Self {
        Self { users, gate, audit }
    }

    /// Brings the engine's row for the application's account `user` up to date: when its
    /// password changed or it was disabled, every session of it ends (audited
    /// `password_changed` or `user_disabled`, then `revoked` per session) before this returns.
    /// Returns what was found.
    ///
    /// # Errors
    /// Storage errors; nothing ended then.
    pub async fn follow<U: Account>(&self, user: &U) -> Result<ExternalSync, StoreError> {
        let external_id = user.id().to_string();
        let info = user.account();
        let account = ExternalAccount {
            external_id: &external_id,
            username: info.name,
            is_admin: info.admin,
            disabled: info.disabled,
            auth_hash: user.session_auth_hash(),
        };
        let sync = self.users.sync_external(&account).await?;
        let (event, detail) = match &sync {
            ExternalSync::Created(_) | ExternalSync::Unchanged(_) => return Ok(sync),
            ExternalSync::PasswordChanged(_) => (AuditEvent::PasswordChanged, "password changed"),
            ExternalSync::Disabled(_) => (AuditEvent::UserDisabled, "the account was disabled"),
        };
        let local = sync.user().clone();
        // From here every session of the account is refused when presented.
        self.gate.forget_user(local.id);
        self.audit
            .record(NewAuditEntry {
                user_id: Some(local.id),
                username: Some(local.username.clone()),
                detail: Some("changed in the application".to_owned()),
                ..NewAuditEntry::new(event, self.gate.clock().now())
            })
            .await?;
        let gate = self.gate.clone();
        run_to_the_end(async move {
            gate.revoke_everywhere(local.id, None, detail, &ClientInfo::default())
                .await
        })
        .await?;
        Ok(sync)
    }
}
